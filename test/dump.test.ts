/**
 * Acceptance of `gauge dump` (issue 2) against every CPython found: the
 * fixture's own sys._current_frames() is the truth and the dump must match
 * it exactly (threads, names, files, lines, order); a CPU-busy target dumps
 * cleanly with the GIL holder marked (on a free-threaded build: no holder,
 * and the dump says there is no GIL); bad pids fail with one line.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requirePythons, type Python } from './helpers/pythons.js';
import { startFixture as startPyFixture } from './helpers/fixture.js';
import { dump as dumpInProcess } from '../src/cli/dump.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');
const fixtures = join(root, 'test', 'fixtures');

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Frame {
  name: string;
  file: string;
  line: number;
}
interface TruthThread {
  thread_id: number | string;
  native_id: number;
  frames: Frame[];
}
interface Truth {
  pid: number;
  version: string;
  threads: TruthThread[];
}

/** Starts a fixture and resolves with its first stdout line. */
const startFixture = (py: Python, script: string, env: NodeJS.ProcessEnv = {}) =>
  startPyFixture(py, script, { children, env });

function stop(child: ChildProcess): void {
  child.kill('SIGKILL');
  children.delete(child);
}

function gauge(args: string[], opts: { uid?: number } = {}): { status: number | null; stdout: string; stderr: string } {
  const cmd = opts.uid !== undefined ? 'setpriv' : process.execPath;
  const full =
    opts.uid !== undefined
      ? [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', process.execPath, gaugeBin, ...args]
      : [gaugeBin, ...args];
  // A bound for a hang, not a speed requirement: under load a node start plus a dump can take long.
  const r = spawnSync(cmd, full, { encoding: 'utf8', timeout: 180000, env: { ...process.env, CI: 'true' } });
  const killed = r.error ? `\n(gauge did not finish: ${r.error.message})` : '';
  return { status: r.status, stdout: r.stdout, stderr: r.stderr + killed };
}

/** The reporter thread prints the truth and then exits: wait until the OS agrees. */
async function waitForTaskCount(pid: number, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (readdirSync(`/proc/${pid}/task`).length === n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`pid ${pid} never settled at ${n} threads (has ${readdirSync(`/proc/${pid}/task`).length})`);
}

function textDump(pid: number): { stdout: string } {
  let stdout = '';
  dumpInProcess({ pid, json: false, subprocesses: false }, (s) => (stdout += s));
  return { stdout };
}

const norm = (f: Frame): Frame => ({ name: f.name, file: f.file, line: f.line });

/** The text dump's Python line: the version, and on a free-threaded build that there is no GIL. */
const pythonLine = (py: Python): RegExp =>
  new RegExp(
    `^Python v${py.version.replace(/\./g, '\\.')}${py.freeThreaded ? ' \\(free-threaded: no GIL, so no thread holds one\\)' : ''}$`,
    'm',
  );

const pythons = requirePythons();

for (const py of pythons) {
  test(`dump --json equals sys._current_frames() on ${py.label}`, async () => {
    const { child, line } = await startFixture(py, 'dump_target.py');
    try {
      const truth = JSON.parse(line) as Truth;
      assert.equal(truth.version, py.version);
      await waitForTaskCount(child.pid!, truth.threads.length);
      const r = gauge(['dump', '--pid', String(child.pid), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const dump = JSON.parse(r.stdout) as {
        pid: number;
        python_version: string;
        no_gil: boolean;
        threads: {
          thread_id: number;
          native_id: number;
          name: string;
          gil: boolean;
          error_reason: string | null;
          frames: Frame[];
        }[];
      };
      assert.equal(dump.pid, child.pid);
      assert.equal(dump.python_version, py.version);
      assert.equal(dump.no_gil, py.freeThreaded);

      // Schema of every thread and frame.
      for (const t of dump.threads) {
        assert.equal(typeof t.thread_id, 'number');
        assert.equal(typeof t.native_id, 'number');
        assert.equal(typeof t.gil, 'boolean');
        assert.equal(typeof t.name, 'string');
        assert.equal(t.error_reason, null, 'every parked stack read whole');
        if (py.freeThreaded) assert.equal(t.gil, false, 'no GIL holder on a free-threaded build');
        assert.ok(Array.isArray(t.frames));
        for (const f of t.frames) assert.deepEqual(Object.keys(f).sort(), ['file', 'line', 'name']);
      }

      // Same threads: 7 call chains (+3 Python 3 ones), 50 idle, main.
      const expectedCount = 7 + (py.mm[0] >= 3 ? 3 : 0) + 50 + 1;
      assert.equal(truth.threads.length, expectedCount);
      const ids = (xs: { thread_id: number | string }[]) => xs.map((t) => String(t.thread_id));
      assert.deepEqual([...ids(dump.threads)].sort(), [...ids(truth.threads)].sort());
      // Same order too where the truth has one (3.6+ dicts keep the interpreter's thread order).
      if (py.mm[0] >= 3) assert.deepEqual(ids(dump.threads), ids(truth.threads));

      const byId = new Map(dump.threads.map((t) => [String(t.thread_id), t]));
      const tasks = new Set(readdirSync(`/proc/${child.pid}/task`).map(Number));
      const natives = new Set<number>();
      for (const want of truth.threads) {
        const got = byId.get(String(want.thread_id))!;
        // Exact frames, innermost first, names qualified on 3.11+.
        assert.deepEqual(got.frames.map(norm), want.frames.map(norm), `thread ${want.thread_id} on ${py.label}`);
        if (want.native_id) assert.equal(got.native_id, want.native_id, `native id of ${want.thread_id}`);
        assert.ok(tasks.has(got.native_id), `native id ${got.native_id} is not a task of ${child.pid}`);
        natives.add(got.native_id);
      }
      assert.equal(natives.size, truth.threads.length, 'native ids are distinct');

      // The chains the issue names are all there.
      const allNames = new Set(truth.threads.flatMap((t) => t.frames.map((f) => f.name)));
      const q = py.mm[0] > 3 || (py.mm[0] === 3 && py.mm[1] >= 11);
      for (const n of q
        ? [
            'Worker.method',
            'Worker.helper',
            'Worker.static_park',
            'Worker.class_park',
            'closure_chain.<locals>.inner',
            'lambda_chain.<locals>.<lambda>',
            'generator_chain.<locals>.gen',
            'recurse',
            'main_park',
          ]
        : ['method', 'helper', 'static_park', 'class_park', 'inner', '<lambda>', 'gen', 'recurse', 'main_park']) {
        assert.ok(allNames.has(n), `${n} in the truth`);
      }
      if (py.mm[0] >= 3) {
        for (const n of ['coro_leaf', 'coro_outer', 'legacy'])
          assert.ok(
            [...allNames].some((x) => x.endsWith(n)),
            `${n} in the truth`,
          );
        assert.ok(
          [...allNames].some((x) => x.endsWith('données_chaînées')),
          'non-ASCII name in the truth',
        );
      }
      const deepest = Math.max(...truth.threads.map((t) => t.frames.filter((f) => f.name === 'recurse').length));
      assert.equal(deepest, 301);

      // Text form (rendered in-process: the CLI path is covered above and costs a node start per call).
      const text = textDump(child.pid!);
      assert.match(text.stdout, new RegExp(`^Process ${child.pid}: `, 'm'));
      assert.match(text.stdout, pythonLine(py));
      assert.equal(text.stdout.match(/^Thread /gm)?.length, truth.threads.length);
      const main = truth.threads.find((t) => t.frames.some((f) => f.name === 'main_park'))!;
      const mainText = main.frames.map((f) => `    ${f.name} (${f.file}:${f.line})`).join('\n');
      assert.ok(text.stdout.includes(mainText), `main thread's stack in text output:\n${mainText}`);
    } finally {
      stop(child);
    }
  });

  test(`dump of a CPU-busy target on ${py.label}: no errors, ${py.freeThreaded ? 'no GIL holder (there is no GIL)' : 'GIL holder marked'}`, async () => {
    const { child } = await startFixture(py, 'dump_busy.py');
    try {
      const declared = new Set(['<module>', 'spin', 'compute']);
      const r = gauge(['dump', '--pid', String(child.pid), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const d = JSON.parse(r.stdout) as {
        no_gil: boolean;
        threads: { gil: boolean; error: boolean; error_reason: string | null; frames: Frame[] }[];
      };
      assert.equal(d.no_gil, py.freeThreaded);
      assert.equal(d.threads.length, 1);
      const t = d.threads[0]!;
      assert.equal(t.error, false, String(t.error_reason));
      assert.equal(t.error_reason, null);
      assert.ok(t.frames.length >= 2 && t.frames.length <= 3, JSON.stringify(t.frames));
      for (const f of t.frames) {
        assert.ok(declared.has(f.name), `${f.name} not declared by the fixture`);
        assert.equal(f.file, join(fixtures, 'dump_busy.py'));
      }
      const first = gauge(['dump', '--pid', String(child.pid)]);
      assert.equal(first.status, 0, first.stderr);
      const holder = /^Thread \d+ \([a-z]*\+?gil\)/m;
      if (py.freeThreaded) {
        // No GIL: no dump may mark a holder, however busy the thread, and each says why.
        for (let i = 0; i < 10; i++) {
          const text = i === 0 ? first : textDump(child.pid!);
          assert.match(text.stdout, pythonLine(py));
          assert.doesNotMatch(text.stdout, holder);
        }
        return;
      }
      // The spinning thread holds the GIL in almost every instant: retry a few dumps for the marker.
      let marked = false;
      for (let i = 0; i < 20 && !marked; i++) {
        const text = i === 0 ? first : textDump(child.pid!);
        assert.match(text.stdout, pythonLine(py));
        marked = holder.test(text.stdout);
      }
      assert.ok(marked, 'no dump marked the busy thread as the GIL holder');
    } finally {
      stop(child);
    }
  });
}

test('dump --help states the thread and frame order', () => {
  const r = gauge(['dump', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout.replace(/\s+/g, ' '), /newest first/);
  assert.match(r.stdout.replace(/\s+/g, ' '), /innermost first/);
});

function oneLine(r: { status: number | null; stdout: string; stderr: string }, code: number, re: RegExp): void {
  assert.equal(r.status, code, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/);
}

test('dump of a dead pid, a non-Python pid and a garbage pid: one line, non-zero exit', async () => {
  // Dead: a child that has been reaped.
  const dead = spawnSync('sh', ['-c', 'echo $$']);
  oneLine(gauge(['dump', '--pid', dead.stdout.toString().trim()]), 3, /^gauge: no process with pid \d+/);

  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.add(sleeper);
  try {
    oneLine(gauge(['dump', '--pid', String(sleeper.pid)]), 5, /not a Python process/);
  } finally {
    stop(sleeper);
  }

  oneLine(gauge(['dump', '--pid', 'abc']), 2, /^gauge: --pid must be a positive process id/);
});

const cannotForbid =
  process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0
    ? 'needs root to start a root-owned target and setpriv to drop to nobody'
    : false;

test('dump of a forbidden pid: one line, exit 4', { skip: cannotForbid }, async () => {
  const py = pythons[pythons.length - 1]!;
  const { child } = await startFixture(py, 'dump_busy.py');
  try {
    oneLine(gauge(['dump', '--pid', String(child.pid)], { uid: 65534 }), 4, /permission denied/);
  } finally {
    stop(child);
  }
});
