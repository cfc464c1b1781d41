/**
 * `gauge dump --subprocesses` (issue 4): a multiprocessing.Pool's workers and
 * a shell script's two Python children are dumped with their own process
 * headers; without the flag children are left alone.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { findPythons, requirePythons, type Python } from './helpers/pythons.js';
import { listDescendants } from '../src/process/children.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');
const fixtures = join(root, 'test', 'fixtures');

interface Frame {
  name: string;
  file: string;
  line: number;
}
interface Proc {
  pid: number;
  ppid?: number;
  python_version: string;
  command_line: string;
  threads: { thread_id: number; name: string; frames: Frame[] }[];
  subprocesses?: Proc[];
}

const started = new Set<number>();
after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** Kill a fixture and everything it started (pool workers, a script's children). */
function killTree(pid: number): void {
  for (const p of [...listDescendants(pid), pid]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
    started.delete(p);
  }
}

/** Start a command and collect stdout lines until `done` says enough. */
function startUntil(
  cmd: string,
  args: string[],
  done: (lines: string[]) => boolean,
): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child.pid!);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')}: not ready in 30 s; got ${JSON.stringify(lines)}; stderr: ${stderr}`)),
      30000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (done(lines)) {
        clearTimeout(timer);
        resolve({ child, lines });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}

function gauge(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [gaugeBin, ...args], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Oldest and newest interpreters keep the run short; the reader itself is covered on all by dump.test.
const all = requirePythons();
const pick: Python[] = [all[0]!, ...(all.length > 1 ? [all[all.length - 1]!] : [])];
for (const p of findPythons()) {
  if (!pick.includes(p)) {
    test(
      `dump --subprocesses shows a Pool(2)'s workers on ${p.label}`,
      { skip: 'oldest and newest only, to keep the suite short' },
      () => undefined,
    );
  }
}

for (const py of pick) {
  test(`dump --subprocesses shows a Pool(2)'s workers on ${py.label}`, async () => {
    const { child, lines } = await startUntil(
      py.exe,
      [join(fixtures, 'dump_pool.py')],
      (ls) => ls.filter((l) => l.startsWith('WORKER ')).length === 2 && ls.some((l) => l.startsWith('MAIN ')),
    );
    try {
      const main = child.pid!;
      const workers = lines
        .filter((l) => l.startsWith('WORKER '))
        .map((l) => Number(l.split(' ')[1]))
        .sort((a, b) => a - b);
      assert.equal(Number(lines.find((l) => l.startsWith('MAIN '))!.split(' ')[1]), main);

      // Without the flag: the parent only.
      const alone = gauge(['dump', '--pid', String(main), '--json']);
      assert.equal(alone.status, 0, alone.stderr);
      const aloneJson = JSON.parse(alone.stdout) as Proc;
      assert.equal(aloneJson.subprocesses, undefined);
      assert.equal(aloneJson.ppid, undefined);

      const r = gauge(['dump', '--pid', String(main), '--subprocesses', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const d = JSON.parse(r.stdout) as Proc;
      assert.equal(d.pid, main);
      assert.equal(d.python_version, py.version);
      assert.equal(d.ppid, process.pid);
      const subs = d.subprocesses!;
      // Every Python descendant is there (a pool may also start a helper process, e.g. a resource tracker).
      const subPids = subs.map((s) => s.pid);
      for (const w of workers) assert.ok(subPids.includes(w), `worker ${w} in ${JSON.stringify(subPids)}`);
      for (const s of subs) {
        assert.equal(s.python_version, py.version);
        assert.match(s.command_line, /python/);
        assert.ok(s.ppid! > 0);
      }
      for (const w of workers) {
        const s = subs.find((x) => x.pid === w)!;
        // Forked by the main process, or (3.14+ on Linux defaults to forkserver) by a server that main started.
        const server = subs.find((x) => x.pid === s.ppid);
        assert.ok(
          s.ppid === main || server?.ppid === main,
          `worker ${w}'s parent ${s.ppid} is neither ${main} nor its child`,
        );
        assert.equal(s.threads.length, 1);
        const names = s.threads[0]!.frames.map((f) => f.name);
        assert.equal(names[0], 'park_worker', JSON.stringify(names));
        assert.equal(s.threads[0]!.frames[0]!.file, join(fixtures, 'dump_pool.py'));
      }

      const text = gauge(['dump', '--pid', String(main), '-s']);
      assert.equal(text.status, 0, text.stderr);
      for (const p of [main, ...workers]) assert.match(text.stdout, new RegExp(`^Process ${p}: .*python`, 'm'));
      assert.equal(text.stdout.match(/^Python v/gm)!.length, 1 + subs.length);
      assert.equal(text.stdout.match(/^ {4}park_worker \(/gm)!.length, 2);
    } finally {
      killTree(child.pid!);
    }
  });
}

test('dump --subprocesses through a bash script that starts two Pythons', async () => {
  const py = all[all.length - 1]!;
  const sleeper = join(fixtures, 'dump_sleeper.py');
  const script = `"$1" "$2" & "$1" "$2" & wait`;
  const { child, lines } = await startUntil('bash', ['-c', script, 'bash', py.exe, sleeper], (ls) => ls.length === 2);
  try {
    const bashPid = child.pid!;
    const kids = lines.map((l) => Number(l.split(' ')[1])).sort((a, b) => a - b);

    // bash is not Python: alone it is an error, with -s its children are the answer.
    const plain = gauge(['dump', '--pid', String(bashPid)]);
    assert.equal(plain.status, 5);
    assert.match(plain.stderr, /not a Python process/);

    const r = gauge(['dump', '--pid', String(bashPid), '-s', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout) as Proc;
    assert.equal(d.pid, bashPid);
    assert.equal(d.python_version, '');
    assert.deepEqual(d.threads, []);
    assert.deepEqual(
      d.subprocesses!.map((s) => s.pid).sort((a, b) => a - b),
      kids,
    );
    for (const s of d.subprocesses!) {
      assert.equal(s.ppid, bashPid);
      assert.equal(s.python_version, py.version);
      assert.equal(s.threads.length, 1);
      assert.equal(s.threads[0]!.name, 'MainThread');
      // Parked in time.sleep, a C call: the Python stack is exactly nap under the module.
      assert.deepEqual(
        s.threads[0]!.frames.map((f) => f.name),
        ['nap', '<module>'],
      );
    }
    const text = gauge(['dump', '--pid', String(bashPid), '-s']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /Not Python; its Python descendants follow/);
    assert.equal(text.stdout.match(/^Python v/gm)!.length, 2);
  } finally {
    killTree(child.pid!);
  }
});

test('dump --subprocesses of a process with no Python anywhere fails with one line', () => {
  const r = spawnSync('bash', ['-c', `sleep 30 & node "$1" dump -s --pid $$; kill %1`, 'bash', gaugeBin], {
    encoding: 'utf8',
    timeout: 60000,
  });
  assert.match(r.stderr, /^gauge: .*not a Python process.*none of its descendants is either\n$/);
});
