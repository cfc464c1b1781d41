/**
 * The profile model on hand-built samples, where the right answer is known
 * exactly: own/total counting (recursion once per sample), function vs line
 * rows, idle and GIL filters, thread/process scopes, windows, reset, the
 * memory caps, and the text helpers the views share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileModel, OTHER_ID } from '../src/model/profile.js';
import { TopController } from '../src/model/top-controller.js';
import { nextScope, defaultView } from '../src/model/snapshot.js';
import { functionLabel, shortPath, fitPath, duration } from '../src/model/format.js';
import type { FrameInfo, FrameTable, ProcessInfo, Sample, ThreadSample, ThreadState } from '../src/sampling/types.js';

/** Frame ids: one per (function, line), like the session's registry. */
class Frames implements FrameTable {
  readonly infos: FrameInfo[] = [];
  id(name: string, line = 1, file = '/app/mod.py', firstLine = 1): number {
    const i = this.infos.findIndex(
      (f) => f.name === name && f.line === line && f.file === file && f.firstLine === firstLine,
    );
    if (i >= 0) return i;
    this.infos.push({ name, file, line, firstLine });
    return this.infos.length - 1;
  }
  get(id: number): FrameInfo {
    return this.infos[id]!;
  }
}

function thread(frames: number[], o: Partial<ThreadSample> = {}): ThreadSample {
  return {
    pid: 1,
    threadId: 1n,
    nativeId: 11,
    name: 'MainThread',
    gil: true,
    state: 'running' as ThreadState,
    cpuNs: 5_000_000,
    frames,
    error: false,
    truncated: false,
    ...o,
  };
}

let clock = 0n;
function sample(threads: ThreadSample[], pid = 1): Sample {
  clock += 10_000_000n; // 10 ms apart: 100 Hz
  return { pid, timeNs: clock, threads: threads.map((t) => ({ ...t, pid })) };
}

const row = (m: ProfileModel, name: string, o = {}) => m.functions(o).rows.find((r) => r.name === name);

test('own and total: innermost frame owns the sample; every frame on the stack gets total once', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const main = f.id('main', 10);
  const a = f.id('a', 20);
  const b = f.id('b', 30);
  for (let i = 0; i < 3; i++) m.add([sample([thread([a, main])])]);
  m.add([sample([thread([b, a, main])])]);
  const v = m.functions();
  assert.equal(v.samples, 4);
  assert.deepEqual(
    v.rows.map((r) => [r.name, r.own, r.total]),
    [
      ['a', 3, 4],
      ['b', 1, 1],
      ['main', 0, 4],
    ],
  );
  assert.equal(row(m, 'a')!.ownPct, 75);
  assert.equal(row(m, 'main')!.totalPct, 100);
  // 10 ms between samples: a sample stands for 10 ms.
  assert.ok(Math.abs(row(m, 'a')!.ownTime - 0.03) < 1e-9);
});

test('a recursive function counts once in total per sample; lines are separate rows', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const fib5 = f.id('fib', 5, '/app/mod.py', 3);
  const fib6 = f.id('fib', 6, '/app/mod.py', 3);
  const main = f.id('main', 1);
  m.add([sample([thread([fib5, fib6, fib5, fib6, main])])]);
  m.add([sample([thread([fib6, main])])]);
  const fib = row(m, 'fib')!;
  assert.equal(fib.total, 2);
  assert.equal(fib.own, 2);
  assert.equal(fib.totalPct, 100);
  const lines = m.functions({ byLine: true }).rows.filter((r) => r.name === 'fib');
  assert.deepEqual(lines.map((r) => [r.line, r.own, r.total]).sort(), [
    [5, 1, 1],
    [6, 1, 2],
  ]);
});

test('idle samples are kept apart: hidden by default, shown on request; first samples use the OS state', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const spin = f.id('spin');
  const wait = f.id('wait_for_it');
  for (let i = 0; i < 4; i++) {
    m.add([
      sample([
        thread([spin]),
        // No CPU delta yet on the first sample: sleeping by the OS is enough to be idle.
        thread([wait], { threadId: 2n, nativeId: 12, state: 'sleeping', cpuNs: i === 0 ? -1 : 0, gil: false }),
      ]),
    ]);
  }
  assert.equal(row(m, 'wait_for_it'), undefined);
  assert.equal(row(m, 'spin')!.ownPct, 100);
  assert.equal(row(m, 'wait_for_it', { idle: true })!.own, 4);
  assert.equal(row(m, 'spin', { idle: true })!.ownPct, 50);
  assert.deepEqual(
    m.threads().map((t) => t.nativeId),
    [11],
  );
  const all = m.threads({ idle: true });
  assert.deepEqual(
    all.map((t) => [t.nativeId, t.state]),
    [
      [11, 'running'],
      [12, 'idle'],
    ],
  );
  const tot = m.totals();
  assert.equal(tot.gilPct, 100);
  assert.equal(tot.activePct, 100);
  assert.equal(tot.threads, 2);
});

test('a runnable thread that got no CPU since its last sample is not counted (it only repeats a preempted stack)', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const a = f.id('a');
  const b = f.id('b');
  m.add([sample([thread([a])])]);
  for (let i = 0; i < 5; i++) m.add([sample([thread([a], { cpuNs: 0 })])]);
  m.add([sample([thread([b])])]);
  assert.equal(row(m, 'a')!.own, 1);
  assert.equal(row(m, 'b')!.own, 1);
  assert.equal(m.totals().activePct, 100); // still active in the header
});

test('--gil counts only samples of the GIL holder', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100, gilOnly: true });
  const py = f.id('python_work');
  const c = f.id('numpy_call');
  for (let i = 0; i < 3; i++) m.add([sample([thread([py]), thread([c], { threadId: 2n, nativeId: 12, gil: false })])]);
  assert.equal(row(m, 'python_work')!.ownPct, 100);
  assert.equal(row(m, 'numpy_call'), undefined);
  // The thread panel still reports the thread.
  assert.equal(m.threads().find((t) => t.nativeId === 12)!.gilPct, 0);
});

test('thread and process scopes filter the table; t cycles all → processes → threads', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const a = f.id('a');
  const b = f.id('b');
  const w = f.id('worker');
  m.add([sample([thread([a]), thread([b], { threadId: 2n, nativeId: 12 })], 1)]);
  m.add([sample([thread([w], { nativeId: 21 })], 2)]);
  assert.equal(m.functions().samples, 3);
  assert.deepEqual(
    m.functions({ pid: 2 }).rows.map((r) => r.name),
    ['worker'],
  );
  assert.deepEqual(
    m.functions({ thread: '1:2' }).rows.map((r) => r.name),
    ['b'],
  );
  const threads = m.threads();
  let view = { ...defaultView() };
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    view = { ...view, ...nextScope(view, threads, [1, 2]) };
    seen.push(view.thread ?? (view.pid !== undefined ? `pid${view.pid}` : 'all'));
  }
  assert.deepEqual(seen, ['pid1', 'pid2', '1:1', '1:2', '2:1', 'all']);
  assert.equal(m.totals().processes, 2);
});

test('windows: last refresh vs cumulative; reset forgets counts', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const a = f.id('a');
  const b = f.id('b');
  for (let i = 0; i < 3; i++) m.add([sample([thread([a])])]);
  m.roll();
  m.add([sample([thread([b])])]);
  assert.equal(row(m, 'a', { window: 'last' })!.ownPct, 100);
  assert.equal(row(m, 'b', { window: 'last' }), undefined);
  assert.equal(row(m, 'b')!.ownPct, 25); // cumulative includes the window being filled
  m.roll();
  assert.equal(row(m, 'b', { window: 'last' })!.ownPct, 100);
  assert.equal(m.totals().ticks, 4);
  m.reset();
  assert.equal(m.functions().rows.length, 0);
  assert.equal(m.totals().ticks, 0);
  m.add([sample([thread([b])])]);
  assert.equal(row(m, 'b')!.own, 1);
});

test('memory stays bounded: distinct functions beyond the cap fold into (other), threads beyond theirs into one bucket', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100, maxEntries: 50, maxThreads: 8 });
  for (let i = 0; i < 1000; i++)
    m.add([sample([thread([f.id('fn' + i)], { threadId: BigInt(i % 40), nativeId: 100 + (i % 40) })])]);
  const v = m.functions();
  assert.equal(v.samples, 1000);
  const other = v.rows.find((r) => r.id === OTHER_ID);
  assert.ok(other, 'no (other) row');
  assert.equal(other.name, '(other)');
  // Own counts are conserved through folding.
  assert.equal(
    v.rows.reduce((a, r) => a + r.own, 0),
    1000,
  );
  for (const p of m.processes.values()) {
    assert.ok(p.threads.size <= 9, `threads kept: ${p.threads.size}`);
    for (const t of p.threads.values()) assert.ok(t.cur.funcs.map.size <= 50 && t.cum.funcs.map.size <= 50);
  }
});

test('text filter matches function name or file, case-insensitively; sort keys order rows', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const h = f.id('handle_request', 1, '/srv/app/views.py');
  const q = f.id('query', 1, '/srv/app/DB.py');
  for (let i = 0; i < 3; i++) m.add([sample([thread([q, h])])]);
  m.add([sample([thread([h])])]);
  assert.deepEqual(
    m.functions({ filter: 'HANDLE' }).rows.map((r) => r.name),
    ['handle_request'],
  );
  assert.deepEqual(
    m.functions({ filter: 'db.py' }).rows.map((r) => r.name),
    ['query'],
  );
  assert.deepEqual(
    m.functions({ sort: 'own' }).rows.map((r) => r.name),
    ['query', 'handle_request'],
  );
  assert.deepEqual(
    m.functions({ sort: 'totalTime' }).rows.map((r) => r.name),
    ['handle_request', 'query'],
  );
});

test('controller: pause freezes the snapshot while counting continues; exit note is kept', () => {
  const f = new Frames();
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const procs = new Map<number, ProcessInfo>([
    [1, { pid: 1, cmdline: 'python app.py', pythonVersion: '3.12.1', exited: false }],
  ]);
  const src = {
    rootPid: 1,
    processes: procs,
    startedAt: 0,
    stats: () => ({ taken: 0, dropped: 0, late: 0, errors: 0, rateHz: 100 }),
  };
  const c = new TopController(m, src, { now: () => 5000 });
  const a = f.id('a');
  c.ingest([sample([thread([a])])]);
  c.refresh();
  assert.equal(c.snapshot.header.samples, 1);
  assert.equal(c.snapshot.header.elapsedS, 5);
  c.update({ paused: true });
  c.ingest([sample([thread([a])])]);
  c.refresh();
  assert.equal(c.snapshot.header.samples, 2 - 1, 'snapshot moved while paused');
  c.update({ paused: false });
  assert.equal(c.snapshot.header.samples, 2);
  c.targetExited('process 1 has exited');
  assert.equal(c.snapshot.header.exitedNote, 'process 1 has exited');
  assert.equal(c.snapshot.functions.rows[0]!.name, 'a');
});

test('paths shorten sensibly and the function name survives any width', () => {
  assert.equal(shortPath('/usr/lib/python3.12/json/decoder.py', '/x'), 'json/decoder.py');
  assert.equal(
    shortPath('/venv/lib/python3.11/site-packages/django/db/models/query.py', '/x'),
    'django/db/models/query.py',
  );
  assert.equal(shortPath('/srv/proj/app/views.py', '/srv/proj'), 'app/views.py');
  assert.equal(shortPath('<frozen importlib._bootstrap>', '/x'), '<frozen importlib._bootstrap>');
  assert.equal(fitPath('django/db/models/query.py', 16), '…/query.py');
  assert.equal(fitPath('django/db/models/query.py', 20), '…/db/models/query.py');
  const label = functionLabel(
    'QuerySet._fetch_all',
    '/venv/lib/python3.11/site-packages/django/db/models/query.py',
    1926,
    40,
  );
  assert.ok(label.length <= 40, label);
  assert.ok(label.startsWith('QuerySet._fetch_all ('), label);
  assert.match(label, /query\.py:1926\)$/);
  for (const w of [1, 5, 12, 19, 20, 30, 80]) {
    const l = functionLabel('handler', '/srv/app/views.py', 12, w);
    assert.ok(l.length <= w, `${w}: ${l}`);
    if (w >= 7) assert.ok(l.startsWith('handler'), `${w}: ${l}`);
  }
  assert.equal(functionLabel('f', '/srv/app/views.py', 3, 80, true), 'f (/srv/app/views.py:3)');
  assert.equal(duration(0.426), '0.43s');
  assert.equal(duration(245), '4m05s');
});
