/**
 * Permissions and harmlessness: an unprivileged gauge refused by a root-owned
 * Python says why and how to fix it (exit 4); launch mode works unprivileged
 * (tracing one's own children); gauge never writes the target's memory and
 * never stops it while sampling.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exit } from '../src/cli/exit-codes.js';
import { SamplingSession } from '../src/sampling/session.js';
import { findPythons, requirePythons, type Python } from './helpers/pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');
const fixtures = join(root, 'test', 'fixtures');
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function run(cmd: string, args: string[], timeout = 60000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Why gauge cannot run as nobody here, or undefined when it can. */
function nobodyProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (cannot switch to nobody)';
  if (run('setpriv', ['--version']).status !== 0) return 'setpriv not installed';
  // bin/, dist/, native/build and node_modules must be reachable by nobody, and node itself.
  const r = run('setpriv', [...NOBODY, process.execPath, gaugeBin, '--version']);
  if (r.status !== 0)
    return `gauge does not run as nobody here (checkout or node not readable by others?): ${r.stderr.split('\n')[0]}`;
  return undefined;
}

/** An interpreter nobody can execute (pyenv under a private home often is not). */
function pythonForNobody(): Python | undefined {
  return [...findPythons()].reverse().find((p) => run(...unprivileged([p.exe, '-c', 'pass'])).status === 0);
}

/** A command line that runs argv without privileges: as nobody when we are root, else as ourselves. */
function unprivileged(argv: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['setpriv', [...NOBODY, ...argv]] : [argv[0]!, argv.slice(1)];
}

function lineFrom(c: ChildProcess, pattern: RegExp, ms = 30000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} from the fixture; got ${JSON.stringify(buf)}`)), ms);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) {
        clearTimeout(timer);
        c.stdout!.off('data', onData);
        resolve(m);
      }
    };
    c.stdout!.on('data', onData);
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited (${code}) before ${pattern}: ${buf}`));
    });
  });
}

test('unprivileged gauge against a root-owned Python: one line saying why and how, exit 4', async (t) => {
  const why = nobodyProblem();
  if (why) return t.skip(`${why}`);
  const py = requirePythons().at(-1)!;
  const target = spawn(py.exe, ['-c', 'import time\nprint("up", flush=True)\ntime.sleep(120)'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(target);
  await lineFrom(target, /up/);
  for (const cmd of [['dump'], ['top', '--duration', '1']]) {
    const r = run('setpriv', [...NOBODY, process.execPath, gaugeBin, ...cmd, '--pid', String(target.pid)]);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(r.status, Exit.PERMISSION, `${cmd[0]}: exit ${r.status}\n${r.stderr}`);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^gauge: permission denied/);
    for (const fix of [/same user|target's user/, /sudo/, /CAP_SYS_PTRACE/, /kernel\.yama\.ptrace_scope/])
      assert.match(lines[0]!, fix);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  target.kill('SIGKILL');
});

test('dump -s: a worker gauge may not read is reported (exit 4), not silently left out', async (t) => {
  const why = nobodyProblem();
  if (why) return t.skip(why);
  const py = pythonForNobody();
  if (!py) return t.skip('no Python interpreter executable by an unprivileged user (pyenv under a private home?)');
  // A parent shell and its Python worker, both nobody's; the worker makes itself non-dumpable
  // (PR_SET_DUMPABLE 0), so the kernel refuses gauge-as-nobody its memory while the shell stays readable.
  const worker =
    'import ctypes, os, time\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\nprint("up", os.getpid(), flush=True)\ntime.sleep(120)';
  const parent = spawn('setpriv', [...NOBODY, 'sh', '-c', '"$0" -c "$1"; :', py.exe, worker], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(parent);
  const workerPid = Number((await lineFrom(parent, /up (\d+)/))[1]);
  try {
    const r = run('setpriv', [...NOBODY, process.execPath, gaugeBin, 'dump', '-s', '--pid', String(parent.pid)]);
    assert.equal(r.status, Exit.PERMISSION, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /^gauge: permission denied/);
  } finally {
    process.kill(workerPid, 'SIGKILL');
    parent.kill('SIGKILL');
  }
});

test('launch mode as an unprivileged user samples its own child', async (t) => {
  const why = process.getuid?.() === 0 ? nobodyProblem() : undefined;
  if (why) return t.skip(`${why}`);
  const py = pythonForNobody();
  if (!py) return t.skip('no Python interpreter executable by an unprivileged user (pyenv under a private home?)');
  let scope = 0;
  try {
    scope = Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8'));
  } catch {
    /* no Yama */
  }
  if (scope >= 2) return t.skip(`kernel.yama.ptrace_scope=${scope} forbids unprivileged tracing even of children`);
  const prog =
    'import time\ndef nobody_spins():\n    t = time.time()\n    while time.time() - t < 4: pass\nnobody_spins()\n';
  const r = run(
    ...unprivileged([process.execPath, gaugeBin, 'top', '--batch', '--duration', '2', '--', py.exe, '-c', prog]),
  );
  assert.ok(r.status === 0 || r.status === 130, `exit ${r.status}\n${r.stderr}`); // the child gets SIGINT when --duration ends
  assert.match(r.stdout, /nobody_spins/, `the child's function should be in the profile:\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /permission denied/);
});

test('the native reader has no way to write or stop a target', () => {
  // Reads go through process_vm_readv only; no ptrace, no /proc/PID/mem, no stop signals.
  const dir = join(root, 'native', 'src');
  for (const f of readdirSync(dir).filter((n) => /\.[ch]$/.test(n))) {
    const src = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(src, /process_vm_writev|\bptrace\s*\(|PTRACE_|SIGSTOP|SIGTSTP/, f);
    assert.doesNotMatch(src, /"\/proc\/%d\/mem"/, `${f} opens /proc/PID/mem`);
  }
});

test('a heavy sampling run leaves the target unchanged and never stopped', async () => {
  const py = requirePythons()
    .filter((p) => p.mm[0] === 3)
    .at(-1)!;
  const target = spawn(py.exe, [join(fixtures, 'hard_state.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(target);
  const before = (await lineFrom(target, /ready (\w+)\n/))[1];
  const pid = target.pid!;
  const session = new SamplingSession(pid, { rateHz: 1000, maxDepth: 4096 });
  let threadSamples = 0;
  session.onSamples((b) => {
    for (const s of b) threadSamples += s.threads.length;
  });
  const seen = new Set<string>();
  let tracer = 0;
  let polls = 0;
  const poll = setInterval(() => {
    polls++;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
        seen.add(st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3));
      }
      tracer = Math.max(
        tracer,
        Number(/TracerPid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0),
      );
    } catch {
      /* a thread ended between readdir and read */
    }
  }, 1);
  session.start();
  try {
    await new Promise((r) => setTimeout(r, 3000));
  } finally {
    clearInterval(poll);
  }
  const st = session.stats();
  session.stop();
  target.stdin!.write('check\n');
  const m = await lineFrom(target, /state (\w+) (\d+) (\d+)\n/);
  console.log(
    `# ${py.label}: ${st.taken} samples, ${threadSamples} thread stacks, ${st.errors} errors, ${polls} /proc polls, states seen ${[...seen].join('')}; target rounds ${m[2]}`,
  );
  assert.ok(st.taken > 100, `too few samples: ${st.taken}`);
  assert.equal(m[1], before, 'the 16 MB buffer and table checksum changed');
  assert.equal(Number(m[3]), 0, 'the target computed a wrong result while sampled');
  assert.ok(Number(m[2]) > 0, 'the target made no progress');
  assert.ok(!seen.has('t') && !seen.has('T'), `the target was stopped (states ${[...seen].join('')})`);
  assert.equal(tracer, 0, 'something ptrace-attached to the target');
  target.kill('SIGKILL');
});

test('gauge issues no writing or stopping syscalls (strace)', async (t) => {
  if (run('strace', ['-V']).status !== 0) return t.skip('strace not installed');
  try {
    accessSync('/proc/self/status', constants.R_OK);
  } catch {
    return t.skip('no /proc');
  }
  const py = requirePythons().at(-1)!;
  const target = spawn(py.exe, [join(fixtures, 'hard_state.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(target);
  await lineFrom(target, /ready (\w+)\n/);
  const pid = String(target.pid);
  const traced = 'process_vm_writev,process_vm_readv,ptrace,kill,tgkill,tkill,openat,open';
  for (const cmd of [
    ['dump', '--pid', pid],
    ['top', '--pid', pid, '--duration', '2', '--rate', '500'],
  ]) {
    const log = join(mkdtempSync(join(tmpdir(), 'gauge-strace-')), 'log');
    const r = run(
      'strace',
      ['-f', '-qq', '-s', '0', '-o', log, '-e', `trace=${traced}`, '--', process.execPath, gaugeBin, ...cmd],
      120000,
    );
    assert.equal(r.status, 0, `${cmd[0]} under strace: exit ${r.status}\n${r.stderr.slice(-2000)}`);
    const calls = readFileSync(log, 'utf8').split('\n');
    rmSync(dirname(log), { recursive: true, force: true });
    assert.ok(
      calls.some((l) => l.includes(`process_vm_readv(${pid}`)),
      `${cmd[0]}: no process_vm_readv of the target seen`,
    );
    const bad = calls.filter(
      (l) =>
        /process_vm_writev|ptrace\(/.test(l) ||
        new RegExp(`(kill|tgkill|tkill)\\(${pid}\\b[^)]*SIG`).test(l) || // kill(pid, 0) only probes
        new RegExp(`/proc/${pid}/(task/\\d+/)?mem"`).test(l),
    );
    assert.deepEqual(bad, [], `${cmd[0]}: gauge touched the target:\n${bad.join('\n')}`);
  }
  target.kill('SIGKILL');
});
