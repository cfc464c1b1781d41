/**
 * Component tests of the `gauge top` view with ink-testing-library: the
 * header, the functions table, the threads panel (grouped by process), help,
 * keys, narrow sizes down to 20×5 and NO_COLOR. The data is a real model fed
 * with hand-built samples, so every figure on screen is known.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { render, cleanup } from 'ink-testing-library';
import { Chalk } from 'chalk';
import { App } from '../src/tui/app.js';
import { colorChalk } from '../src/tui/run.js';
import { layout } from '../src/tui/layout.js';
import { headerLines as batchHeaderLines } from '../src/output/batch.js';
import { headerText } from '../src/model/header-text.js';
import { ProfileModel } from '../src/model/profile.js';
import { TopController } from '../src/model/top-controller.js';
import type { ProcessInfo, Sample } from '../src/sampling/types.js';
import { FileFrames, threadSample } from './helpers/samples.js';

afterEach(() => cleanup());

const plain = new Chalk({ level: 0 });
// eslint-disable-next-line no-control-regex -- ANSI escapes are what these tests look for
const ESC = /\x1b\[/;

const th = threadSample;

/** A controller over a model with a known profile: hot 60%, warm 30%, cool 10% of the active samples. */
function fixture(opts: { processes?: number; noGil?: boolean; gilOnly?: boolean } = {}): TopController {
  const f = new FileFrames();
  const main = f.id('main', '/srv/app/main.py', 1);
  const hot = f.id('compute_hot_path', '/srv/venv/lib/python3.12/site-packages/engine/core.py', 120);
  const warm = f.id('render_page', '/srv/app/views.py', 40);
  const cool = f.id('parse', '/usr/lib/python3.12/json/decoder.py', 332);
  const sleep = f.id('wait_forever', '/srv/app/main.py', 90);
  const model = new ProfileModel({ frames: f, rateHz: 100, gilOnly: opts.gilOnly });
  const procs = new Map<number, ProcessInfo>([
    [100, { pid: 100, cmdline: 'python3 app.py --port 8000', pythonVersion: '3.12.1', exited: false }],
  ]);
  if (opts.processes === 2)
    procs.set(200, { pid: 200, cmdline: 'python3 worker.py', pythonVersion: '3.12.1', exited: true });
  const samples: Sample[] = [];
  for (let i = 0; i < 100; i++) {
    const top = i < 60 ? hot : i < 90 ? warm : cool;
    // With noGil: a free-threaded target; 4 of its 200 stacks fail, 3 of them for one reason.
    const fail =
      opts.noGil && i < 4 ? { error: true, reason: i < 3 ? 'frame changed while read' : 'code object unreadable' } : {};
    samples.push({
      pid: 100,
      timeNs: BigInt(i) * 10_000_000n,
      ...(opts.noGil ? { noGil: true } : {}),
      threads: [
        th(100, 100, 'MainThread', [top, main], { ...(opts.noGil ? { gil: false } : {}), ...fail }),
        th(100, 101, 'sleeper', [sleep, main], { state: 'sleeping', cpuNs: 0, gil: false }),
      ],
    });
    if (opts.processes === 2)
      samples.push({ pid: 200, timeNs: BigInt(i) * 10_000_000n, threads: [th(200, 201, 'MainThread', [cool])] });
  }
  model.add(samples);
  model.roll();
  const src = {
    rootPid: 100,
    processes: procs,
    startedAt: 0,
    stats: () => ({ taken: 100, dropped: 0, late: 0, errors: 0, rateHz: 100 }),
  };
  return new TopController(model, src, { now: () => 65_000 });
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

/** Ink throttles rendering: wait (bounded) for the frame to show what a key should have caused. */
async function until(frame: () => string, pred: (s: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    if (pred(frame())) return frame();
    await tick();
  }
  assert.fail(`${what}; frame:\n${frame()}`);
}

function screen(
  c: TopController,
  width: number,
  height: number,
  chalk = plain,
): { frame: () => string; stdin: { write(s: string): void } } {
  const r = render(<App controller={c} chalk={chalk} onQuit={() => undefined} size={{ width, height }} />);
  return { frame: () => r.lastFrame() ?? '', stdin: r.stdin };
}

test('header: command line and pid, Python version, elapsed, samples and rates, GIL, Active, threads, processes', () => {
  const { frame } = screen(fixture(), 120, 30);
  const lines = frame().split('\n');
  assert.match(lines[0]!, /^pid 100: python3 app\.py --port 8000\s+mode cpu · 1s {2}Python 3\.12\.1 {2}1:05$/);
  assert.match(
    lines[1]!,
    /^Samples 100 at 100\/100 Hz {2}Errors 0\.0% {2}GIL 100% {2}Active 100% {2}Threads 2 {2}Processes 1$/,
  );
});

test('free-threaded target: no GIL share anywhere, the commonest failure reason with its share, --gil explained', () => {
  const { frame } = screen(fixture({ noGil: true }), 120, 30);
  const out = frame();
  assert.match(out, /Errors 2\.0% \(mostly frame changed while read, 75\.0%\) {2}GIL none \(free-threaded\) {2}Active/);
  assert.match(out, /100 MainThread\s+running\s+\d+\.\d%\s+n\/a\s+100/);
  const batch = batchHeaderLines(fixture({ noGil: true, gilOnly: true }).snapshot.header).join('\n');
  assert.match(batch, /--gil: this free-threaded Python runs without a GIL, so no sample holds one/);
  // A GIL build says nothing of the sort.
  assert.doesNotMatch(batchHeaderLines(fixture({ gilOnly: true }).snapshot.header).join('\n'), /free-threaded/);
});

test('the TUI and the batch output word the header the same way', () => {
  const c = fixture({ processes: 2 });
  c.targetExited('process 100 has exited (status 3); showing the last data');
  const snap = c.snapshot;
  const tui = layout(snap, { width: 200, height: 30, chalk: plain, help: false }).join('\n');
  const batch = batchHeaderLines(snap.header).join('\n');
  const t = headerText(snap.header);
  for (const piece of [t.target, t.python, t.samples, t.errors, t.counts, ...t.notes]) {
    assert.ok(piece.length > 0);
    assert.ok(tui.includes(piece), `TUI header lacks "${piece}":\n${tui}`);
    assert.ok(batch.includes(piece), `batch header lacks "${piece}":\n${batch}`);
  }
});

test('functions table: columns, sorted marker, percentages, times, shortened paths', () => {
  const { frame } = screen(fixture(), 120, 30);
  const out = frame();
  assert.match(out, /%Own\*\s+%Total\s+OwnTime\s+TotalTime Function \(file:line\)/);
  assert.match(out, /60\.0%\s+60\.0%\s+0\.60s\s+0\.60s compute_hot_path \(engine\/core\.py:120\)/);
  assert.match(out, /30\.0%\s+30\.0%\s+0\.30s\s+0\.30s render_page \(\/srv\/app\/views\.py:40\)/);
  assert.match(out, /10\.0%\s+10\.0%\s+0\.10s\s+0\.10s parse \(json\/decoder\.py:332\)/);
  assert.match(out, /0\.0%\s+100%\s+0\.00s\s+1\.00s main \(/);
  // Rows in %Own order; the idle thread's stack is hidden.
  assert.ok(out.indexOf('compute_hot_path') < out.indexOf('render_page'));
  assert.doesNotMatch(out, /wait_forever/);
});

test('threads panel: id, name, state, CPU %, GIL %, samples; idle threads only with i', async () => {
  const { frame, stdin } = screen(fixture(), 120, 30);
  const panel = frame().slice(frame().indexOf('Thread '));
  assert.match(panel, /Thread\s+State\s+CPU%\s+GIL%\s+Samples/);
  assert.match(panel, /100 MainThread\s+running\s+80\.0%\s+100%\s+100/);
  assert.doesNotMatch(panel, /sleeper/);
  stdin.write('i');
  await until(
    frame,
    (x) => /101 sleeper\s+idle\s+0\.0%\s+0\.0%\s+100/.test(x),
    '/101 sleeper\\s+idle\\s+0\\.0%\\s+0\\.0%\\s+100/',
  );
  assert.match(frame(), /wait_forever \(/);
  assert.match(frame(), /idle shown/);
});

test('several processes: threads grouped under their process; an exited one says so', () => {
  const { frame } = screen(fixture({ processes: 2 }), 120, 40);
  const out = frame();
  assert.match(out, /pid 100: python3 app\.py --port 8000\n\s+100 MainThread/);
  assert.match(out, /pid 200 \(exited\): python3 worker\.py\n\s+201 MainThread/);
});

test('keys: sort columns, line view, thread filter, text filter, pause, help', async () => {
  const c = fixture();
  const { frame, stdin } = screen(c, 120, 30);
  stdin.write('4');
  await until(frame, (x) => /TotalTime\* Function/.test(x), '/TotalTime\\* Function/');
  assert.ok(frame().indexOf(' main (') < frame().indexOf('compute_hot_path'), 'not sorted by TotalTime');
  stdin.write('1');
  stdin.write('l');
  await until(frame, (x) => /%Own\*.*Line \(file:line\)/.test(x), '/%Own\\*.*Line \\(file:line\\)/');
  stdin.write('l');
  stdin.write('t');
  await until(frame, (x) => /only thread 100 MainThread/.test(x), '/only thread 100 MainThread/');
  assert.match(frame(), /> 100 MainThread/);
  stdin.write('t');
  await until(frame, (x) => !/only thread/.test(x), 'the filter back to all threads');
  stdin.write('/');
  await until(frame, (x) => /Filter: _/.test(x), 'the filter prompt');
  stdin.write('views');
  await until(frame, (x) => /Filter: views_/.test(x), '/Filter: views_/');
  stdin.write('\r');
  await until(frame, (x) => /filter "views"/.test(x), '/filter "views"/');
  assert.match(frame(), /render_page/);
  assert.doesNotMatch(frame(), /compute_hot_path/);
  stdin.write('\x1b');
  await until(frame, (x) => /compute_hot_path/.test(x), '/compute_hot_path/');
  stdin.write('p');
  await until(frame, (x) => /PAUSED/.test(x), '/PAUSED/');
  stdin.write('?');
  const help = await until(frame, (x) => /Keys/.test(x), 'help');
  for (const k of [
    'sort by %Own, %Total, OwnTime, TotalTime',
    'toggle functions / lines',
    'cycle the filter',
    'pause the display',
    'reset the counts',
    'save the profile',
    'quit',
  ]) {
    assert.ok(help.includes(k), `help lacks "${k}"`);
  }
  assert.doesNotMatch(help, /Function \(file:line\)/);
  stdin.write('x');
  await until(frame, (x) => /Function \(file:line\)/.test(x), '/Function \\(file:line\\)/');
});

test('q and Ctrl-C quit', async () => {
  let quits = 0;
  const r = render(
    <App controller={fixture()} chalk={plain} onQuit={() => quits++} size={{ width: 80, height: 20 }} />,
  );
  r.stdin.write('q');
  await tick();
  r.stdin.write('\x03');
  await tick();
  assert.equal(quits, 2);
});

test('narrow and short: every size down to 20×5 fits, keeps the function name and the footer', () => {
  const c = fixture();
  for (const [w, h] of [
    [20, 5],
    [20, 12],
    [25, 6],
    [40, 12],
    [47, 10],
    [60, 8],
    [200, 60],
  ] as const) {
    const lines = layout(c.snapshot, { width: w, height: h, chalk: plain, help: false });
    assert.ok(lines.length <= h, `${w}x${h}: ${lines.length} lines`);
    for (const l of lines) assert.ok(l.length <= w, `${w}x${h}: ${JSON.stringify(l)}`);
    const out = lines.join('\n');
    assert.match(out, /compute_hot/, `${w}x${h}:\n${out}`);
    assert.match(out, /%Own/, `${w}x${h}`);
    if (h >= 3) assert.match(lines.at(-1)!, /\? help {2}q quit$/);
  }
  const { frame } = screen(c, 20, 5);
  const rows = frame().split('\n');
  assert.ok(rows.length <= 5);
  for (const l of rows) assert.ok(l.length <= 20, JSON.stringify(l));
  // Help at a tiny size: cut, not wrapped.
  const help = layout(c.snapshot, { width: 20, height: 5, chalk: plain, help: true });
  assert.ok(help.length <= 5 && help.every((l) => l.length <= 20));
});

test('colour: heat colours when the terminal has them, none with NO_COLOR', () => {
  const c = fixture();
  const colored = layout(c.snapshot, { width: 100, height: 20, chalk: new Chalk({ level: 1 }), help: false }).join(
    '\n',
  );
  // eslint-disable-next-line no-control-regex -- the red and bold SGR codes
  assert.match(colored, /\x1b\[31m\x1b\[1m\s*60\.0%/, 'hot row not red');
  const noColor = colorChalk({ NO_COLOR: '1', FORCE_COLOR: '3' });
  assert.equal(noColor.level, 0);
  const out = layout(c.snapshot, { width: 100, height: 20, chalk: noColor, help: false }).join('\n');
  assert.doesNotMatch(out, ESC);
  const { frame } = screen(c, 100, 20, noColor);
  assert.doesNotMatch(frame(), ESC);
});
