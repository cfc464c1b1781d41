/**
 * Grouping by asyncio task name in `gauge top` (issue 14 item 3) and the
 * threads panel in wall mode with many pending tasks (one row per loop):
 * a real model fed with hand-built `--async` samples, through the Ink app.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup } from 'ink-testing-library';
import { plain, screen, until } from './helpers/app-screen.js';
import { ProfileModel } from '../src/model/profile.js';
import { TopController } from '../src/model/top-controller.js';
import { TABLE_KEYS } from '../src/tui/keys.js';
import { helpLines } from '../src/tui/help.js';
import { TASK_FRAME_FILE, taskFrameName } from '../src/sampling/task-frame.js';
import type { ProcessInfo, Sample, ThreadSample } from '../src/sampling/types.js';
import { FileFrames, threadSample } from './helpers/samples.js';

afterEach(() => cleanup());

function setup(view: { idle?: boolean } = {}) {
  const f = new FileFrames();
  const model = new ProfileModel({ frames: f, rateHz: 100 });
  const procs = new Map<number, ProcessInfo>([
    [100, { pid: 100, cmdline: 'python3 app.py', pythonVersion: '3.12.1', exited: false }],
  ]);
  const stats = { taken: 0, dropped: 0, late: 0, errors: 0, rateHz: 100 };
  const src = { rootPid: 100, processes: procs, startedAt: 0, stats: () => stats };
  const c = new TopController(model, src, { now: () => 10_000 }, view);
  let t = 0n;
  const feed = (n: number, make: (i: number) => ThreadSample[]): void => {
    const batch: Sample[] = [];
    for (let i = 0; i < n; i++) batch.push({ pid: 100, timeNs: (t += 10_000_000n), threads: make(i) });
    model.add(batch);
  };
  const task = (name: string): number => f.id(taskFrameName(name), TASK_FRAME_FILE, 0);
  return { f, model, c, feed, task };
}

/** The %Own and %Total of a table row whose name starts the function column. */
function row(frame: string, name: string): [number, number] | undefined {
  for (const line of frame.split('\n')) {
    const m = /^\s*([\d.]+)%\s+([\d.]+)%.*?\s(\S+) \(/.exec(line);
    if (m && m[3] === name) return [Number(m[1]), Number(m[2])];
  }
  return undefined;
}

/** A loop thread whose samples are 3/4 task heavy (hot_a), 1/4 task light (hot_b), and a worker thread. */
function splitLoop() {
  const s = setup();
  const { f, task } = s;
  const heavy = [f.id('hot_a', '/app/a.py', 10), f.id('heavy_step', '/app/a.py', 20), task('heavy')];
  const light = [f.id('hot_b', '/app/a.py', 30), f.id('light_step', '/app/a.py', 40), task('light')];
  const spin = [f.id('spin', '/app/w.py', 5), f.id('<module>', '/app/w.py', 1)];
  s.feed(100, (i) => [
    threadSample(100, 1, 'MainThread', i % 4 === 3 ? light : heavy),
    threadSample(100, 2, 'worker', spin),
  ]);
  s.c.refresh();
  return s;
}

test('a groups the table by task name: task rows with their share, the header says so, a again ungroups', async () => {
  const { c } = splitLoop();
  const { frame, stdin } = screen(c);
  assert.ok(row(frame(), 'hot_a'), 'ungrouped: functions');
  assert.doesNotMatch(frame(), /by task/);
  stdin.write('a');
  const out = await until(frame, (x) => /by task/.test(x) && !!row(x, 'task:heavy'), 'grouped');
  // 200 thread samples in scope: heavy 75, light 25; a sample belongs to one task, so own equals total.
  assert.deepEqual(row(out, 'task:heavy'), [37.5, 37.5]);
  assert.deepEqual(row(out, 'task:light'), [12.5, 12.5]);
  assert.equal(row(out, 'hot_a'), undefined, 'functions are not rows while grouped');
  assert.equal(row(out, 'spin'), undefined, 'samples outside any task are not task rows');
  stdin.write('a');
  const back = await until(frame, (x) => !/by task/.test(x) && !!row(x, 'hot_a'), 'ungrouped again');
  assert.equal(row(back, 'task:heavy')?.[1], 37.5, 'the task frame is still a function row');
});

test('grouped, t and ←/→ step through the tasks (most samples first): the table shows the picked task`s functions', async () => {
  const { c } = splitLoop();
  const { frame, stdin } = screen(c);
  stdin.write('a');
  await until(frame, (x) => /by task/.test(x), 'grouped');
  stdin.write('t');
  let out = await until(frame, (x) => /only task heavy/.test(x), 'heavy picked');
  // The denominator is the task's own samples.
  assert.deepEqual(row(out, 'hot_a'), [100, 100]);
  assert.deepEqual(row(out, 'heavy_step'), [0, 100]);
  assert.equal(row(out, 'hot_b'), undefined);
  assert.equal(row(out, 'spin'), undefined);
  stdin.write('t');
  out = await until(frame, (x) => /only task light/.test(x), 'light picked');
  assert.deepEqual(row(out, 'hot_b'), [100, 100]);
  assert.equal(row(out, 'hot_a'), undefined);
  stdin.write('\x1b[C');
  await until(frame, (x) => !/only task/.test(x) && !!row(x, 'task:light'), '→ back to all tasks');
  stdin.write('\x1b[D');
  await until(frame, (x) => /only task light/.test(x), '← to the last task');
});

test('grouped with a task picked, the call tree roots at that task only', async () => {
  const { c } = splitLoop();
  const { frame, stdin } = screen(c);
  stdin.write('a');
  await until(frame, (x) => /by task/.test(x), 'grouped');
  stdin.write('tt');
  await until(frame, (x) => /only task light/.test(x), 'light picked');
  stdin.write('F');
  const out = await until(frame, (x) => /task:light/.test(x) && /hot_b/.test(x), 'tree');
  assert.doesNotMatch(out, /task:heavy|hot_a|spin/);
  const tree = c.snapshot.tree!;
  assert.equal(tree.samples, 25);
  assert.deepEqual(
    tree.root.children.map((n) => [n.name, n.total]),
    [['task:light', 25]],
  );
});

test('grouped view counts a recursive function once per stack, as the table does', () => {
  const s = setup();
  const { f, task } = s;
  const rec = f.id('walk', '/app/r.py', 3);
  const rec2 = f.id('walk', '/app/r.py', 4);
  const leaf = f.id('leaf', '/app/r.py', 9);
  s.feed(10, () => [threadSample(100, 1, 'MainThread', [leaf, rec2, rec, task('tree')])]);
  s.c.update({ byTask: true, task: 'tree' });
  const rows = new Map(s.c.snapshot.functions.rows.map((r) => [r.name, r]));
  assert.equal(rows.get('walk')!.total, 10);
  assert.equal(rows.get('leaf')!.own, 10);
  assert.equal(s.c.snapshot.functions.samples, 10);
});

test('a with no task samples says they need --async; the key is in the help and the footer table', async () => {
  const s = setup();
  s.feed(5, () => [threadSample(100, 1, 'MainThread', [s.f.id('main', '/app/m.py', 1)])]);
  s.c.refresh();
  const { frame, stdin } = screen(s.c);
  stdin.write('a');
  await until(frame, (x) => /no asyncio tasks sampled yet \(they need --async\)/.test(x), 'note');
  assert.ok(TABLE_KEYS.some((k) => k.keys === 'a' && /task/.test(k.help)));
  assert.ok(helpLines(120, 40, plain).some((l) => /group by asyncio task name/.test(l)));
});

test('wall mode: 2,000 pending tasks are one threads-panel row per loop; the table still counts their chains', async () => {
  const s = setup({ idle: true });
  const { f, task } = s;
  const loopStack = [f.id('select', '/usr/lib/selectors.py', 1), f.id('run_forever', '/usr/lib/base_events.py', 2)];
  const sleep = f.id('sleep', '/usr/lib/asyncio/tasks.py', 600);
  const handler = f.id('handler', '/app/srv.py', 12);
  const tasks = 2000;
  const waitingOn = { threadId: 1n, nativeId: 1, tasks };
  // Each sample carries 256 of the tasks in turn (as the attributor does), each as an idle thread of its own.
  s.feed(20, (i) => [
    threadSample(100, 1, 'MainThread', loopStack, { state: 'sleeping', cpuNs: 0, gil: false }),
    ...Array.from({ length: 256 }, (_, k) =>
      threadSample(100, 1000 + ((i * 256 + k) % tasks), `req-${k}`, [sleep, handler, task(`req-${k % 4}`)], {
        state: 'sleeping',
        cpuNs: 0,
        gil: false,
        nativeId: 0,
        waitingOn,
      }),
    ),
  ]);
  s.c.refresh();
  const threads = s.c.snapshot.threads;
  assert.equal(threads.length, 2, threads.map((t) => t.name).join(', '));
  assert.equal(threads[1]!.name, '2000 tasks waiting');
  assert.equal(threads[1]!.nativeId, 1, 'the row names the loop thread');
  assert.equal(s.c.snapshot.header.threads, 2);
  // Picking the row shows where the tasks wait, the loop's own stack left out.
  s.c.update({ thread: threads[1]!.key });
  const picked = new Map(s.c.snapshot.functions.rows.map((r) => [r.name, r.totalPct]));
  assert.equal(picked.get('sleep'), 100);
  assert.equal(picked.get('select'), undefined);
  s.c.update({ thread: undefined });
  const { frame } = screen(s.c, 110, 40);
  const out = frame();
  assert.match(out, /2000 tasks waiting/);
  assert.doesNotMatch(out, /0x[0-9a-f]+ req-/, 'no thread row per task');
  assert.ok((row(out, 'sleep')?.[0] ?? 0) > 90, out);
  assert.ok((row(out, 'handler')?.[1] ?? 0) > 90, out);
});
