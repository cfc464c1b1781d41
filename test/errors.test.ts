/**
 * Wrong targets: `gauge dump --pid X` and `gauge top --pid X --duration 1`
 * against things that are not a readable Python process. Each must end with
 * one line on stderr (no stack trace) and the exit code README documents.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exit } from '../src/cli/exit-codes.js';
import { pythonsOrSkip, requirePythons } from './helpers/pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');
const fixtures = join(root, 'test', 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'gauge-errors-'));
const children: ChildProcess[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function gauge(args: string[]): Run {
  const r = spawnSync(process.execPath, [gaugeBin, ...args], {
    encoding: 'utf8',
    timeout: 60000,
    env: { ...process.env, CI: 'true', GAUGE_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One clear line on stderr, the expected code, no stack trace. */
function expectOneLine(r: Run, code: number, pattern: RegExp, what: string): void {
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(r.status, code, `${what}: exit ${r.status}, expected ${code}; stderr:\n${r.stderr}`);
  assert.equal(lines.length, 1, `${what}: expected one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^gauge: /, what);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:|TypeError|koffi/, `${what}: looks like a stack trace:\n${r.stderr}`);
  assert.match(lines[0]!, pattern, `${what}: ${lines[0]}`);
}

/** Both commands against the same target. */
function bothCommands(pid: number): Array<[string, Run]> {
  return [
    ['dump', gauge(['dump', '--pid', String(pid)])],
    ['top', gauge(['top', '--pid', String(pid), '--duration', '1'])],
  ];
}

function lineFrom(c: ChildProcess, pattern: RegExp, ms = 20000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} from the fixture; got ${JSON.stringify(buf)}`)), ms);
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited (${code}) before ${pattern}: ${buf}`));
    });
  });
}

function procState(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0]!;
  } catch {
    return '';
  }
}

test('garbage and out-of-range --pid values are usage errors, one line, exit 2', () => {
  for (const bad of ['-5', 'abc', '0', '1.5', '99999999999']) {
    for (const cmd of [['dump'], ['top', '--duration', '1']]) {
      expectOneLine(
        gauge([...cmd, '--pid', bad]),
        Exit.USAGE,
        /--pid must be a positive process id/,
        `${cmd[0]} --pid ${bad}`,
      );
    }
  }
});

test('unknown flags are usage errors on every command: one line naming the flag, exit 2', () => {
  for (const cmd of [
    ['dump', '--pid', '1'],
    ['top', '--pid', '1'],
    ['record', '--pid', '1', '-o', 'x.folded'],
  ]) {
    expectOneLine(
      gauge([...cmd, '--bogus-flag']),
      Exit.USAGE,
      /unknown option --bogus-flag \(see/,
      `${cmd[0]} --bogus-flag`,
    );
  }
});

test('shared options mean the same on top and record: --rate 0.5 is accepted by both, --rate 0 refused by both', () => {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  let pid = max - 1;
  while (existsSync(`/proc/${pid}`)) pid--;
  const commands = [
    ['top', '--duration', '1'],
    ['record', '-o', join(tmp, 'x.folded')],
  ];
  // Past validation, so it fails on the (missing) process instead.
  for (const cmd of commands) {
    expectOneLine(
      gauge([...cmd, '--pid', String(pid), '--rate', '0.5']),
      Exit.NO_PROCESS,
      /no process with pid/,
      `${cmd[0]} --rate 0.5`,
    );
  }
  const refusals = commands.map((cmd) => gauge([...cmd, '--pid', String(pid), '--rate', '0']));
  for (const [i, r] of refusals.entries())
    expectOneLine(r, Exit.USAGE, /--rate must be more than 0/, `${commands[i]![0]} --rate 0`);
  // The same words from both, each pointing at its own command's help.
  const words = (r: Run): string => r.stderr.replace(/ \(see gauge \w+ --help\)/, '');
  assert.equal(words(refusals[0]!), words(refusals[1]!), 'the same words from both commands');
});

test('a non-existent pid: "no process", exit 3', () => {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  let pid = max - 1;
  while (existsSync(`/proc/${pid}`)) pid--;
  for (const [cmd, r] of bothCommands(pid)) expectOneLine(r, Exit.NO_PROCESS, /no process with pid/, cmd);
});

test('non-Python programs (node itself, sleep, bash): "not a Python process", exit 5', async () => {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const shell = spawn('bash', ['-c', 'read -t 60 x'], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(sleeper, shell);
  for (const [label, pid] of [
    ['node', process.pid],
    ['sleep', sleeper.pid!],
    ['bash', shell.pid!],
  ] as const) {
    for (const [cmd, r] of bothCommands(pid))
      expectOneLine(r, Exit.NOT_PYTHON, /is not a Python process/, `${cmd} ${label}`);
  }
  sleeper.kill('SIGKILL');
  shell.kill('SIGKILL');
});

test('a kernel thread (kthreadd): "kernel thread", exit 5', (t) => {
  // PF_KTHREAD in /proc/PID/stat flags; in a container pid 2 may be an ordinary process.
  let stat = '';
  try {
    stat = readFileSync('/proc/2/stat', 'latin1');
  } catch {
    /* none */
  }
  const flags = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]) : 0;
  if (!(flags & 0x00200000)) {
    t.skip('pid 2 is not a kernel thread here (container?)');
    return;
  }
  for (const [cmd, r] of bothCommands(2)) expectOneLine(r, Exit.NOT_PYTHON, /kernel thread/, cmd);
});

test('pid 1: one line and a documented code (whatever init is here)', () => {
  for (const [cmd, r] of bothCommands(1)) {
    if (cmd === 'dump' && r.status === 0) continue; // a container whose init is Python
    if (cmd === 'top' && r.status === 0) continue;
    const expected: Record<number, RegExp> = {
      [Exit.PERMISSION]: /permission denied.*(sudo|CAP_SYS_PTRACE)/,
      [Exit.NOT_PYTHON]: /not a Python process|not ready/,
    };
    assert.ok(r.status !== null && r.status in expected, `${cmd} pid 1: exit ${r.status}\n${r.stderr}`);
    expectOneLine(r, r.status!, expected[r.status!]!, `${cmd} pid 1`);
  }
});

test('a zombie: "exited (zombie)", exit 7', async () => {
  const py = requirePythons().at(-1)!;
  const parent = spawn(py.exe, [join(fixtures, 'hard_zombie.py')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(parent);
  const zombie = Number(await lineFrom(parent, /\d+\n/));
  for (let i = 0; i < 200 && procState(zombie) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(procState(zombie), 'Z', 'the fixture child should be a zombie');
  for (const [cmd, r] of bothCommands(zombie)) expectOneLine(r, Exit.EXITED, /exited \(zombie/, cmd);
  parent.kill('SIGKILL');
});

describe('a Python starting up or shutting down: "not ready ... retry", exit 5', () => {
  // A preloaded library whose constructor runs before Python's main() and whose
  // destructor runs after Py_Finalize: each says so on stdout, then naps.
  const lib = join(tmp, 'nap.so');
  let noLib: string | undefined = 'not built yet';
  before(() => {
    const src = join(tmp, 'nap.c');
    writeFileSync(
      src,
      `#include <stdlib.h>
#include <unistd.h>
static void nap(const char *tag, const char *var) {
  const char *v = getenv(var);
  if (!v) return;
  (void)!write(1, tag, 2);
  usleep((useconds_t)atoi(v) * 1000);
}
__attribute__((constructor)) static void before_main(void) { nap("<\\n", "HARD_START_NAP_MS"); }
__attribute__((destructor)) static void after_exit(void) { nap(">\\n", "HARD_EXIT_NAP_MS"); }
`,
    );
    try {
      execFileSync('cc', ['-shared', '-fPIC', '-o', lib, src], { stdio: 'pipe' });
      noLib = undefined;
    } catch (err) {
      noLib = `cannot build the preload helper with cc: ${String(err).split('\n')[0]}`;
    }
  });
  for (const { wanted, py, skip } of pythonsOrSkip(['2.7', '3.6', '3.11', '3.12', '3.13'])) {
    for (const phase of ['starting', 'exiting'] as const) {
      test(`${py?.label ?? wanted} ${phase}`, { skip }, async (t) => {
        if (!py) return;
        if (noLib) return t.skip(noLib);
        const env = {
          ...process.env,
          LD_PRELOAD: lib,
          [phase === 'starting' ? 'HARD_START_NAP_MS' : 'HARD_EXIT_NAP_MS']: '20000',
        };
        const c = spawn(py.exe, ['-c', 'pass'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(c);
        try {
          await lineFrom(c, phase === 'starting' ? /</ : />/);
          for (const [cmd, r] of bothCommands(c.pid!))
            expectOneLine(r, Exit.NOT_PYTHON, /not ready.*retry/, `${cmd} ${phase}`);
        } finally {
          c.kill('SIGKILL');
        }
      });
    }
  }
});

test(
  'top --batch into a reader that goes away (| head -1): stops at once, no stack trace, the launched program ends',
  { timeout: 90000 },
  async () => {
    const py = requirePythons().at(-1)!;
    const pidFile = join(tmp, 'epipe.pid');
    // The fixture records its pid, so the test can tell whether the launched program outlived gauge.
    const prog = `import os, time\nopen(${JSON.stringify(pidFile)}, "w").write(str(os.getpid()))\nwhile True:\n    sum(range(1000))\n`;
    const script = join(tmp, 'epipe.py');
    writeFileSync(script, prog);
    const started = Date.now();
    const sh = spawn(
      'sh',
      [
        '-c',
        `"${process.execPath}" "${gaugeBin}" top --batch --delay 0.5 --duration 60 -- "${py.exe}" "${script}" | head -1`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } },
    );
    children.push(sh);
    let stderr = '';
    sh.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((r) => sh.once('exit', r));
    const elapsed = Date.now() - started;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        alive = false; // ESRCH: gone, as it should be
      }
    }
    if (alive) process.kill(pid, 'SIGKILL'); // never leave it spinning (it holds our stderr pipe open)
    sh.stderr!.destroy();
    assert.equal(code, 0);
    assert.ok(elapsed < 45000, 'gauge kept running after its reader left');
    assert.doesNotMatch(stderr, /EPIPE|node:events|\n\s+at /, `stack trace on stderr:\n${stderr}`);
    assert.equal(alive, false, 'the launched program outlived gauge');
  },
);
