/**
 * The rough edges a new user hit in `gauge top` (issue 12, items 4-10 and
 * 13 of its list), and the modes, trend marks and refresh keys: each on a
 * real model fed with hand-built samples, through the Ink app or the layout.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render, cleanup } from 'ink-testing-library';
import { Chalk } from 'chalk';
import stringWidth from 'string-width';
import { App } from '../src/tui/app.js';
import { layout } from '../src/tui/layout.js';
import { ProfileModel } from '../src/model/profile.js';
import { NOTE_MS, TopController } from '../src/model/top-controller.js';
import { saveDir, savePath } from '../src/cli/save-path.js';
import type { ProcessInfo, Sample, SamplerStats, ThreadSample } from '../src/sampling/types.js';
import { Frames } from './export-helpers.js';
import { threadSample } from './helpers/samples.js';

afterEach(() => cleanup());

const plain = new Chalk({ level: 0 });

const th = (tid: number, name: string, frames: number[], o: Partial<ThreadSample> = {}): ThreadSample =>
  threadSample(100, tid, name, frames, o);

const idleOf = (tid: number, name: string, frames: number[]): ThreadSample =>
  th(tid, name, frames, { state: 'sleeping', cpuNs: 0, gil: false });

/** A model, a source whose clock and sampler counters the test sets, and a controller over them. */
function setup(o: { gilOnly?: boolean } = {}) {
  const f = new Frames();
  const model = new ProfileModel({ frames: f, rateHz: 100, gilOnly: o.gilOnly });
  const clock = { ms: 10_000 };
  const stats: SamplerStats = { taken: 0, dropped: 0, late: 0, errors: 0, rateHz: 100 };
  const procs = new Map<number, ProcessInfo>([
    [100, { pid: 100, cmdline: 'python3 app.py', pythonVersion: '3.12.1', exited: false }],
  ]);
  const src = { rootPid: 100, processes: procs, startedAt: 0, stats: () => ({ ...stats }) };
  let resets = 0;
  const c = new TopController(model, src, { now: () => clock.ms, onReset: () => resets++ });
  let t = 0n;
  /** n ticks, each with the threads `make(i)` returns. */
  const feed = (n: number, make: (i: number) => ThreadSample[]): void => {
    const batch: Sample[] = [];
    for (let i = 0; i < n; i++) batch.push({ pid: 100, timeNs: (t += 10_000_000n), threads: make(i) });
    model.add(batch);
  };
  return { f, model, c, clock, stats, feed, resets: () => resets };
}

async function until(frame: () => string, pred: (s: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    if (pred(frame())) return frame();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}; frame:\n${frame()}`);
}

function screen(c: TopController, width: number, height: number, chalk = plain) {
  const r = render(<App controller={c} chalk={chalk} onQuit={() => undefined} size={{ width, height }} />);
  return { frame: () => r.lastFrame() ?? '', stdin: r.stdin };
}

const lines = (c: TopController, width: number, height: number, chalk = plain, help = false): string[] =>
  layout(c.snapshot, { width, height, chalk, help });

test('edge 4: a thread picked with t stays named and listed after r and when it goes idle', async () => {
  const { f, c, feed } = setup();
  const [main, work, wait] = [f.id('main'), f.id('crunch'), f.id('wait_for_work')];
  feed(50, () => [th(1, 'MainThread', [main]), th(15975, 'worker', [work, main])]);
  c.refresh();
  const { frame, stdin } = screen(c, 100, 30);
  stdin.write('t');
  stdin.write('t');
  await until(frame, (x) => /only thread 15975 worker/.test(x), 'worker picked');
  stdin.write('r');
  // The worker now only waits: idle, so left out of a cpu-mode panel, but it is the one picked.
  feed(50, () => [th(1, 'MainThread', [main]), idleOf(15975, 'worker', [wait, main])]);
  c.refresh();
  const out = await until(frame, (x) => /only thread 15975 worker/.test(x) && /> 15975 worker/.test(x), 'kept');
  assert.doesNotMatch(out, /only thread 100:15975/);
});

test('edge 5: sorted by TotalTime, the OwnTime and TotalTime* headers stay apart', () => {
  const { f, c, feed } = setup();
  feed(10, () => [th(1, 'MainThread', [f.id('main')])]);
  c.update({ sort: 'totalTime' });
  const head = lines(c, 100, 20).find((l) => l.includes('TotalTime'))!;
  assert.match(head, /OwnTime +TotalTime\*/);
  assert.doesNotMatch(head, /OwnTimeTotalTime/);
});

test('edge 6: r resets the late and dropped counts and what s would save', () => {
  const { f, c, feed, stats, resets } = setup();
  feed(10, () => [th(1, 'MainThread', [f.id('main')])]);
  stats.late = 7;
  stats.dropped = 2;
  c.refresh();
  assert.match(lines(c, 120, 20).join('\n'), /\(dropped 2, late 7\)/);
  c.reset();
  assert.equal(resets(), 1, 'the recorder behind s starts over');
  assert.doesNotMatch(lines(c, 120, 20).join('\n'), /late/);
  stats.late = 9;
  c.refresh();
  assert.match(lines(c, 120, 20).join('\n'), /\(dropped 0, late 2\)/);
});

test('edge 7: the footer names w; at 60×15 lines keep file:line, the busiest thread shows, help reaches q', () => {
  const { f, c, feed } = setup();
  assert.match(lines(c, 140, 20).at(-1)!, /w window/);
  const main = f.id('main:10');
  const names = ['handle_request_with_long_name:120', 'serialize_response_payload:40', 'parse_json_body:77'];
  const ids = names.map((n) => f.id(n));
  // Five quiet threads listed before the busy one.
  feed(100, (i) => [
    ...[2, 3, 4, 5, 6].map((tid) => th(tid, `quiet-${tid}`, [main], { cpuNs: 100_000 })),
    th(7, 'busy', [ids[i % 3]!, main], { cpuNs: 8_700_000 }),
  ]);
  c.refresh();
  c.update({ byLine: true });
  const screenLines = lines(c, 60, 15);
  const rows = screenLines.filter((l) => /%\s/.test(l) && /\(/.test(l));
  assert.ok(rows.length >= 3, screenLines.join('\n'));
  for (const r of rows) assert.match(r, /\.py:\d+\)$/, `line view without its place: ${r}`);
  assert.match(screenLines.join('\n'), /7 busy\s+running\s+87\.0%/);
  assert.match(screenLines[0]!, /mode cpu · 1s/, 'the mode in the header at 60 columns');
  const help = lines(c, 60, 15, plain, true).join('\n');
  assert.match(help, /quit/);
  assert.match(help, /mode/);
  assert.match(help, /w .*window/);
});

test('edge 7: a note such as "saved …" goes away after a while', () => {
  const { c, clock } = setup();
  c.say('saved 10 samples to /x/gauge-1.speedscope.json (speedscope)');
  assert.match(lines(c, 120, 20).join('\n'), /saved 10 samples/);
  clock.ms += NOTE_MS + 1;
  c.refresh();
  assert.doesNotMatch(lines(c, 120, 20).join('\n'), /saved 10 samples/);
});

test('edge 8: the header clock stops when the target exits', () => {
  const { c, clock } = setup();
  clock.ms = 65_000;
  c.refresh();
  assert.match(lines(c, 120, 20)[0]!, / 1:05$/);
  c.targetExited('process 100 has exited (status 0); showing the last data');
  clock.ms = 125_000;
  c.refresh();
  assert.match(lines(c, 120, 20)[0]!, / 1:05$/);
});

test('edge 9: a CPU-bound thread that waits for the GIL every other sample stays "running"', () => {
  const { f, c, feed } = setup();
  const [spin, main] = [f.id('spin'), f.id('main')];
  for (let second = 0; second < 4; second++) {
    // Every third sample it is off CPU waiting for the GIL, as two spinning threads are.
    feed(100, (i) => [
      i % 3 === second % 3 ? idleOf(2, 'spinner', [spin, main]) : th(2, 'spinner', [spin, main]),
      th(3, 'other', [spin, main]),
    ]);
    c.refresh();
    const row = c.snapshot.threads.find((t) => t.name === 'spinner')!;
    assert.equal(row.state, 'running', `second ${second}`);
  }
  // Really idle from now on: after the hold it says so.
  feed(300, () => [idleOf(2, 'spinner', [f.id('sleep'), main]), th(3, 'other', [spin, main])]);
  c.refresh();
  c.update({ idle: true });
  assert.equal(c.snapshot.threads.find((t) => t.name === 'spinner')!.state, 'idle');
});

test('edge 10: s saves under $GAUGE_SAVE_DIR, else the user data directory, never the current one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gauge-save-'));
  try {
    const p = savePath(42, new Date('2026-01-02T03:04:05Z'), { GAUGE_SAVE_DIR: join(dir, 'profiles') });
    assert.equal(p, join(dir, 'profiles', 'gauge-42-20260102-030405.speedscope.json'));
    assert.equal(saveDir({ XDG_DATA_HOME: dir }), join(dir, 'gauge'));
    assert.notEqual(saveDir({ HOME: process.env.HOME }), process.cwd());
    assert.match(saveDir({}), /gauge$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('edge 13: a CJK function name is measured in columns and the line fits the width', () => {
  const { f, c, feed } = setup();
  const wide = f.id('计算密集型的函数名字非常非常长的一个函数计算密集型的函数名字:12');
  feed(20, () => [th(1, 'MainThread', [wide])]);
  c.refresh();
  for (const w of [60, 47, 30]) {
    const out = lines(c, w, 15);
    for (const l of out) assert.ok(stringWidth(l) <= w, `${w}: ${stringWidth(l)} columns: ${l}`);
    assert.match(out.join('\n'), /计算/);
  }
});

test('modes: m cycles cpu, wall, gil; the header says which; gil counts only GIL holders from the switch', async () => {
  const { f, c, feed } = setup();
  const [hot, wait, main] = [f.id('hot'), f.id('wait_io'), f.id('main')];
  const tick = () => [th(1, 'MainThread', [hot, main]), th(2, 'noGil', [f.id('numpy_work'), main], { gil: false })];
  feed(50, () => [...tick(), idleOf(3, 'io', [wait, main])]);
  c.refresh();
  const { frame, stdin } = screen(c, 120, 30);
  assert.match(frame(), /mode cpu · 1s/);
  assert.doesNotMatch(frame(), /wait_io/);
  stdin.write('m');
  await until(frame, (x) => /mode wall/.test(x) && /wait_io/.test(x), 'wall shows idle stacks');
  stdin.write('m');
  await until(frame, (x) => /mode gil/.test(x), 'gil');
  assert.match(frame(), /counting GIL holders from now/);
  feed(50, () => [...tick(), idleOf(3, 'io', [wait, main])]);
  c.refresh();
  const out = await until(frame, (x) => /100%.*hot/.test(x), 'only the GIL holder counted');
  assert.doesNotMatch(out, /numpy_work/);
  stdin.write('m');
  await until(frame, (x) => /mode cpu/.test(x), 'back to cpu');
});

test('trend: a rising row is marked ↑ and a falling one ↓ without colour, coloured with it', () => {
  const { f, c, feed } = setup();
  const [a, b, main] = [f.id('rising'), f.id('falling'), f.id('main')];
  c.update({ window: 'last' });
  feed(100, (i) => [th(1, 'MainThread', [i < 20 ? a : b, main])]);
  c.refresh();
  feed(100, (i) => [th(1, 'MainThread', [i < 70 ? a : b, main])]);
  c.refresh();
  const out = lines(c, 100, 20).join('\n');
  assert.match(out, /↑rising/);
  assert.match(out, /↓falling/);
  const coloured = lines(c, 100, 20, new Chalk({ level: 1 })).join('\n');
  // eslint-disable-next-line no-control-regex -- bright magenta and blue SGR codes
  assert.match(coloured, /\x1b\[95mrising/);
  // eslint-disable-next-line no-control-regex -- bright magenta and blue SGR codes
  assert.match(coloured, /\x1b\[34mfalling/);
  assert.doesNotMatch(coloured, /[↑↓]/);
  // One sample's worth of change in a 100-sample window is noise: no marks.
  feed(100, (i) => [th(1, 'MainThread', [i < 71 ? a : b, main])]);
  c.refresh();
  assert.doesNotMatch(lines(c, 100, 20).join('\n'), /[↑↓]/);
});

test('+ and - step the refresh interval; the header shows it', async () => {
  const { c } = setup();
  const { frame, stdin } = screen(c, 120, 20);
  stdin.write('+');
  await until(frame, (x) => /mode cpu · 2s/.test(x), '+');
  assert.equal(c.view.refreshS, 2);
  stdin.write('--');
  await until(frame, (x) => /mode cpu · 0\.5s/.test(x), '--');
  for (let i = 0; i < 10; i++) stdin.write('-');
  await until(frame, (x) => /mode cpu · 0\.1s/.test(x), 'the floor');
});
