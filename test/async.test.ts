/**
 * Acceptance of `gauge dump --async` (issue 14) on every CPython >= 3.8
 * found: the fixture's own asyncio.all_tasks(), names, cr_await chains
 * (f_code, f_lineno) and awaiting relations are the truth, and the dump
 * must equal it; 10,000 pending tasks are read within 1 s, and a cap says
 * it cut; versions without an asyncio layout fail with one line.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { findPythons, type Python } from './helpers/pythons.js';
import { children, killChildren } from './helpers/top-output.js';
import { startFixture } from './helpers/fixture.js';
import { dump as dumpInProcess, type DumpJson } from '../src/cli/dump.js';
import { FrameRegistry } from '../src/reader/frame-registry.js';
import { Target } from '../src/reader/target.js';
import { readAsyncTasks } from '../src/reader/async-tasks.js';
import { GaugeError, ErrorCode } from '../src/reader/errors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');

after(killChildren);

interface Frame {
  name: string;
  file: string;
  line: number;
}
interface TruthTask {
  id: number;
  name: string;
  awaited_by: number[];
  frames: Frame[];
}
interface Truth {
  pid: number;
  thread_id: number;
  tasks: TruthTask[];
}

/** Starts the fixture and resolves with its truth line. */
async function start(
  py: Python,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; truth: Truth }> {
  const { child, line } = await startFixture(py, 'async_tasks.py', { children, env, args });
  return { child, truth: JSON.parse(line) as Truth };
}

/** A Python (any version) that only sleeps, once it runs. */
async function startSleeper(py: Python): Promise<ChildProcess> {
  const child = spawn(
    py.exe,
    ['-c', 'import sys, time\nsys.stdout.write("ready\\n")\nsys.stdout.flush()\ntime.sleep(600)'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  children.add(child);
  await new Promise((r) => createInterface({ input: child.stdout! }).once('line', r));
  return child;
}

function stop(child: ChildProcess): void {
  child.kill('SIGKILL');
  children.delete(child);
}

function dumpJson(pid: number, maxTasks?: number): DumpJson {
  let out = '';
  dumpInProcess({ pid, json: true, subprocesses: false, async: true, maxTasks }, (s) => (out += s));
  return JSON.parse(out) as DumpJson;
}

const all = findPythons();
const gil = all.filter((p) => !p.freeThreaded && (p.mm[0] > 3 || (p.mm[0] === 3 && p.mm[1] >= 8)));
if (gil.length === 0)
  test('asyncio tasks: no CPython >= 3.8 found', { skip: 'no CPython >= 3.8 GIL build found' }, () => {});

// Pure-Python tasks (asyncio.tasks._PyTask) are read from their attributes up to 3.13; 3.14+ keeps them where no offsets reach.
const kinds = gil.flatMap((py) => [
  { py, pure: false },
  ...(py.mm[0] === 3 && py.mm[1] <= 13 ? [{ py, pure: true }] : []),
]);
for (const { py, pure } of kinds) {
  const what = pure ? 'pure-Python tasks' : 'asyncio.all_tasks()';
  test(`dump --async --json equals ${what} and cr_await chains on ${py.label}`, async () => {
    const { child, truth } = await start(py, [], pure ? { GAUGE_PY_TASKS: '1' } : {});
    try {
      const d = dumpJson(child.pid!);
      assert.equal(d.tasks_capped, false);
      assert.equal(d.tasks_error, null);
      const tasks = d.tasks!;
      const byId = new Map(tasks.map((t) => [t.id, t]));
      assert.deepEqual(
        [...byId.keys()].sort((a, b) => a - b),
        truth.tasks.map((t) => t.id).sort((a, b) => a - b),
        'same tasks',
      );
      const names = new Set(truth.tasks.map((t) => t.name));
      for (const n of ['sleeper', 'waiter', 'gather-a', 'gather-b', 'gatherer', 'consumer', 'busy'])
        assert.ok(names.has(n), `fixture has ${n}`);
      if (py.mm[1] >= 11 || py.mm[0] > 3) for (const n of ['tg-parent', 'tg-a', 'tg-b']) assert.ok(names.has(n));
      for (const want of truth.tasks) {
        const got = byId.get(want.id)!;
        assert.equal(got.name, want.name);
        assert.equal(got.thread_id, truth.thread_id, `${want.name}: its loop's thread`);
        assert.equal(got.error_reason, null, `${want.name}: ${got.error_reason}`);
        assert.deepEqual(
          [...got.awaited_by].sort((a, b) => a - b),
          want.awaited_by,
          `${want.name}: awaited by`,
        );
        if (want.name === 'busy') {
          // It runs or waits in sleep(0) whenever gauge looks: its own coroutine is the outermost frame either way.
          assert.equal(got.frames.at(-1)?.name, 'busy');
          // Running: its stack down to busy, caught in crunch (mostly) or in busy itself.
          if (got.state === 'running') assert.ok(['crunch', 'busy'].includes(got.frames[0]!.name), got.frames[0]!.name);
          continue;
        }
        assert.equal(got.state, 'pending', want.name);
        assert.deepEqual(got.frames, want.frames, `${want.name}: await chain`);
      }
      assert.ok(tasks.filter((t) => t.state === 'running').length <= 1, 'at most one running task per loop');
    } finally {
      stop(child);
    }
  });
}

test('dump --async text: one task tree under the loop thread', async (t) => {
  const py = gil.at(-1);
  if (!py) return t.skip('no CPython >= 3.8 GIL build found');
  const { child } = await start(py);
  try {
    const r = spawnSync(process.execPath, [gaugeBin, 'dump', '--pid', String(child.pid), '--async'], {
      encoding: 'utf8',
      timeout: 180000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ {4}asyncio tasks \(\d+\):$/m);
    // The awaited task is printed under its awaiter, indented one step further.
    assert.match(r.stdout, /^( +)Task "waiter" \(pending\).*\n(?:\1 {4}.*\n)*\1 {2}Task "sleeper" \(pending\)/m);
    assert.match(r.stdout, /^( +)Task "gatherer" \(pending\).*\n(?:\1 {4}.*\n)*\1 {2}Task "gather-[ab]" \(pending\)/m);
  } finally {
    stop(child);
  }
});

/** 10,000 pending tasks on one loop per registry kind: WeakSet (<=3.11), WeakSet + eager set (3.12/3.13), task lists (3.14+). */
const scale = ['3.10', '3.12', '3.14']
  .map((v) => gil.find((p) => `${p.mm[0]}.${p.mm[1]}` === v))
  .filter((p): p is Python => p !== undefined);
for (const py of scale) {
  test(`10,000 pending tasks read within 1 s, and the cap reported, on ${py.label}`, async () => {
    const { child, truth } = await start(py, ['10000']);
    try {
      assert.ok(truth.tasks.length >= 10000);
      const frames = new FrameRegistry();
      const target = Target.attach(child.pid!, frames);
      try {
        const ms: number[] = [];
        let count = 0;
        for (let i = 0; i < 3; i++) {
          const t0 = process.hrtime.bigint();
          count = readAsyncTasks(target).tasks.length;
          ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        ms.sort((a, b) => a - b);
        console.log(
          `${py.label}: ${count} tasks in ${ms.map((m) => m.toFixed(0)).join('/')} ms (load ${loadavg()[0]!.toFixed(2)})`,
        );
        assert.equal(count, truth.tasks.length);
        assert.ok(ms[0]! < 1000, `fastest of 3 reads took ${ms[0]} ms`);
        const capped = readAsyncTasks(target, 100);
        assert.equal(capped.capped, true);
        assert.equal(capped.tasks.length, 100);
        assert.ok(capped.seen >= 10000);
      } finally {
        target.close();
      }
    } finally {
      stop(child);
    }
  });
}

for (const py of all.filter((p) => p.freeThreaded || p.mm[0] < 3 || (p.mm[0] === 3 && p.mm[1] < 8)).slice(0, 2)) {
  test(`dump --async on ${py.label}: one line saying asyncio is not read there`, async () => {
    const child = await startSleeper(py);
    try {
      assert.throws(
        () => dumpJson(child.pid!),
        (e: unknown) =>
          e instanceof GaugeError &&
          e.code === ErrorCode.UNSUPPORTED_VERSION &&
          /asyncio tasks are not read/.test(e.message),
      );
    } finally {
      stop(child);
    }
  });
}

/** `gauge top` in batch mode to completion; its output. */
function topBatch(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gaugeBin, 'top', '--batch', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, COLUMNS: '200', GAUGE_BATCH_ROWS: '60' },
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** %Total of each function in the last batch snapshot. */
function totals(out: string): Map<string, number> {
  const snap = out.slice(out.lastIndexOf('gauge top  pid'));
  const m = new Map<string, number>();
  for (const line of snap.slice(0, snap.indexOf('\nThreads')).split('\n')) {
    const r = /^\s*[\d.]+%\*?\s+([\d.]+)%\s+\S+\s+\S+\s+(\S+) \(/.exec(line);
    if (r) m.set(r[2]!, Number(r[1]));
  }
  return m;
}

function startSplit(py: Python): Promise<{ child: ChildProcess; lines: AsyncIterableIterator<string> }> {
  const child = spawn(py.exe, [join(root, 'test', 'fixtures', 'async_split.py')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return lines.next().then((first) => {
    assert.match(String(first.value), /^READY \d+$/);
    return { child, lines };
  });
}

const splitPython = gil.at(-1);
test('top --async --batch: two busy tasks split 75/25 by task name as the target measured it', async (t) => {
  if (!splitPython) return t.skip('no CPython >= 3.8 GIL build found');
  const { child, lines } = await startSplit(splitPython);
  try {
    const r = await topBatch(['--pid', String(child.pid), '--async', '-d', '8']);
    assert.equal(r.status, 0, r.stderr);
    child.kill('SIGTERM');
    const truthLine = String((await lines.next()).value);
    const truth = JSON.parse(truthLine.replace(/^TRUTH /, '')) as { heavy: number; light: number };
    const want = (100 * truth.heavy) / (truth.heavy + truth.light);
    const tot = totals(r.stdout);
    const heavy = tot.get('task:heavy') ?? 0;
    const light = tot.get('task:light') ?? 0;
    assert.ok(heavy + light > 80, `tasks cover the loop's samples: ${heavy} + ${light}`);
    const got = (100 * heavy) / (heavy + light);
    console.log(
      `${splitPython.label}: heavy ${got.toFixed(1)}% of task samples, target's own ${want.toFixed(1)}% (load ${loadavg()[0]!.toFixed(2)})`,
    );
    assert.ok(Math.abs(want - 75) < 5, `the fixture splits 75/25: ${want}`);
    assert.ok(Math.abs(got - want) <= 3, `gauge ${got.toFixed(1)}% vs the target's ${want.toFixed(1)}%`);
  } finally {
    stop(child);
  }
});

test('top --async --batch in wall mode: a task that only sleeps shows with its sleep chain', async (t) => {
  if (!splitPython) return t.skip('no CPython >= 3.8 GIL build found');
  const { child } = await startSplit(splitPython);
  try {
    const r = await topBatch(['--pid', String(child.pid), '--async', '--mode', 'wall', '-d', '3']);
    assert.equal(r.status, 0, r.stderr);
    const tot = totals(r.stdout);
    // napper waits all the time: its task frame and its coroutine hold a share of the (wall) samples.
    assert.ok((tot.get('task:napper') ?? 0) > 10, r.stdout.slice(-3000));
    assert.ok((tot.get('nap') ?? 0) > 10);
    assert.equal(tot.get('task:napper'), tot.get('nap'));
  } finally {
    stop(child);
  }
});

test('record --async: task frames are the roots of the collapsed stacks they cover', async (t) => {
  if (!splitPython) return t.skip('no CPython >= 3.8 GIL build found');
  const { child } = await startSplit(splitPython);
  const out = join(mkdtempSync(join(tmpdir(), 'gauge-async-')), 'p.folded');
  try {
    const r = spawnSync(
      process.execPath,
      [gaugeBin, 'record', '--pid', String(child.pid), '--async', '-d', '3', '-o', out],
      {
        encoding: 'utf8',
        timeout: 120000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const heavy = lines.filter((l) => l.includes('heavy_step'));
    assert.ok(heavy.length > 0);
    for (const l of heavy) assert.match(l, /^task:heavy \(<asyncio>(:0)?\);heavy_step /);
    assert.ok(lines.some((l) => l.startsWith('task:light ')));
  } finally {
    stop(child);
  }
});

/** A loop that churns tasks, read back to back: no failure, and torn reads (whole or per task) under 1 %. */
for (const [i, py] of scale.entries()) {
  const seconds = i === scale.length - 1 ? 60 : 15;
  test(`a churning loop read for ${seconds} s: no crash, errors below 1 % on ${py.label}`, async () => {
    const child = spawn(py.exe, [join(root, 'test', 'fixtures', 'async_churn.py')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    try {
      assert.match(String((await lines.next()).value), /^READY \d+$/);
      const target = Target.attach(child.pid!, new FrameRegistry());
      let reads = 0;
      let tornReads = 0;
      let tasks = 0;
      let tornTasks = 0;
      const end = Date.now() + seconds * 1000;
      try {
        while (Date.now() < end) {
          const r = readAsyncTasks(target);
          reads++;
          if (r.reason) tornReads++;
          tasks += r.tasks.length;
          tornTasks += r.tasks.filter((t) => t.error).length;
          // Let the target run between reads, as a sampler would.
          await new Promise((res) => setTimeout(res, 5));
        }
      } finally {
        target.close();
      }
      child.kill('SIGTERM');
      const created = Number(/^CREATED (\d+)$/.exec(String((await lines.next()).value))?.[1]);
      console.log(
        `${py.label}: ${reads} reads, ${tasks} tasks read, ${created} tasks created; torn: ${tornReads} reads, ${tornTasks} tasks (load ${loadavg()[0]!.toFixed(2)})`,
      );
      assert.ok(created > 10000, `the loop churned: ${created} tasks`);
      assert.ok(reads > 50 && tasks > reads * 100, `${reads} reads, ${tasks} tasks`);
      assert.ok(tornReads / reads < 0.01, `${tornReads} of ${reads} reads torn`);
      assert.ok(tornTasks / tasks < 0.01, `${tornTasks} of ${tasks} tasks torn`);
    } finally {
      stop(child);
    }
  });
}

test('top --async on a Python without an asyncio layout: one warning line, sampling goes on', async (t) => {
  const old = all.find((p) => p.mm[0] === 3 && p.mm[1] < 8 && !p.freeThreaded);
  if (!old) return t.skip('no CPython 3.6 or 3.7 found');
  const child = await startSleeper(old);
  try {
    const r = await topBatch(['--pid', String(child.pid), '--async', '-d', '1']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, `gauge: warning: --async: asyncio tasks are not read on Python ${old.version}\n`);
    assert.match(r.stdout, /gauge top {2}pid/);
  } finally {
    stop(child);
  }
});
