/**
 * The call tree and flame graph panes in the real App (ink-testing-library)
 * on a model fed with hand-built samples, so every share on screen is known:
 * F and G open them, the hottest path is open with the cursor on its leaf,
 * keys move, open, close, zoom and step threads (←/→), and every frame fits
 * its size in display columns (wide CJK names included) from 120×40 down to
 * 20×5 and 10×3, with and without colour.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { render, cleanup } from 'ink-testing-library';
import { Chalk } from 'chalk';
import stringWidth from 'string-width';
import { App } from '../src/tui/app.js';
import { footerKeys } from '../src/tui/keys.js';
import { ProfileModel } from '../src/model/profile.js';
import { TopController } from '../src/model/top-controller.js';
import type { ProcessInfo, Sample } from '../src/sampling/types.js';
import { FileFrames, threadSample } from './helpers/samples.js';

afterEach(() => cleanup());

const plain = new Chalk({ level: 0 });
const colour = new Chalk({ level: 3 });
const KEY = { up: '\x1b[A', down: '\x1b[B', right: '\x1b[C', left: '\x1b[D', enter: '\r', esc: '\x1b' };

/** Thread web: main -> handle -> render 60 %, -> parse 20 %; thread cjk: a wide-named function 20 %. */
function fixture(): TopController {
  const f = new FileFrames();
  const main = f.id('main', '/srv/app/main.py', 1);
  const handle = f.id('handle', '/srv/app/views.py', 10);
  const render = f.id('render_page', '/srv/app/views.py', 40);
  const parse = f.id('parse', '/srv/app/views.py', 70);
  const wide = f.id('计算热点路径的函数名称', '/srv/app/数据.py', 5);
  const model = new ProfileModel({ frames: f, rateHz: 100 });
  const samples: Sample[] = [];
  for (let i = 0; i < 100; i++) {
    const threads = [threadSample(100, 101, 'web', [i % 4 === 0 ? parse : render, handle, main])];
    if (i % 3 === 0) threads.push(threadSample(100, 102, 'cjk', [wide]));
    samples.push({ pid: 100, timeNs: BigInt(i) * 10_000_000n, threads });
  }
  model.add(samples);
  model.roll();
  const procs = new Map<number, ProcessInfo>([
    [100, { pid: 100, cmdline: 'python3 app.py', pythonVersion: '3.12.1', exited: false }],
  ]);
  const src = {
    rootPid: 100,
    processes: procs,
    startedAt: 0,
    stats: () => ({ taken: 100, dropped: 0, late: 0, errors: 0, rateHz: 100 }),
  };
  return new TopController(model, src, { now: () => 5_000 });
}

function screen(c: TopController, width: number, height: number, chalk = plain) {
  const r = render(<App controller={c} chalk={chalk} onQuit={() => undefined} size={{ width, height }} />);
  return { frame: () => r.lastFrame() ?? '', stdin: r.stdin };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
async function until(frame: () => string, pred: (s: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    if (pred(frame())) return frame();
    await tick();
  }
  assert.fail(`${what}; frame:\n${frame()}`);
}

// eslint-disable-next-line no-control-regex -- stripping ANSI escapes to measure columns
const plainText = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

function assertFits(frame: string, width: number, height: number, what: string): void {
  const lines = frame.split('\n');
  assert.ok(lines.length <= height, `${what}: ${lines.length} lines > ${height}`);
  for (const l of lines)
    assert.ok(
      stringWidth(plainText(l)) <= width,
      `${what}: line of ${stringWidth(plainText(l))} columns > ${width}: ${l}`,
    );
}

test('F: the call tree with the hottest path open, the cursor on its leaf, own/total per node', async () => {
  const c = fixture();
  const { frame, stdin } = screen(c, 100, 30);
  stdin.write('F');
  const s = await until(frame, (x) => /Call tree/.test(x), 'tree pane');
  assert.match(s, /%Total\s+%Own\*\s+Call tree/);
  // Active samples: 100 (web) + 34 (cjk) = 134. handle 100/134 = 74.6 %; render_page own 75/134 = 56.0 %.
  assert.match(s, /\n {2}\s*74\.6%\s+0\.0%\s+▾ main \(/);
  assert.match(s, /\n {2}\s*74\.6%\s+0\.0%\s+ {2}▾ handle \(/);
  assert.match(s, /\n>\s*56\.0%\s+56\.0%\s+ {4}· render_page \(.*views\.py:40\)/);
  assert.match(s, /\n {2}\s*18\.7%\s+18\.7%\s+ {4}· parse \(/);
  assert.match(s, /25\.4%\s+25\.4%\s+· 计算热点路径的函数名称/);
  assert.match(s, /↑↓ move/);
  assert.match(s.split('\n').at(-1)!, /\? help {2}q quit$/, 'the footer keeps help and quit');
  // Up twice to main, Enter closes it: its callees go.
  stdin.write(KEY.up);
  stdin.write(KEY.up);
  await until(frame, (x) => /\n>.*main \(/.test(x), 'cursor on main');
  stdin.write(KEY.enter);
  const closed = await until(frame, (x) => /▸ main \(/.test(x), 'main closed');
  assert.doesNotMatch(closed, /handle \(/);
  stdin.write(' ');
  await until(frame, (x) => /▾ main \(/.test(x) && /handle \(/.test(x), 'main open again');
  stdin.write('F');
  await until(frame, (x) => /Function \(file:line\)/.test(x), 'back to the table');
  // ← and → step the thread filter in the table too.
  stdin.write(KEY.right);
  await until(frame, (x) => /only thread 101 web/.test(x) && /Function \(file:line\)/.test(x), '→ in the table');
});

test('G: the flame graph, widest box first; Enter zooms into the selected frame, Esc backs out a level at a time; ←/→ step threads', async () => {
  const c = fixture();
  const { frame, stdin } = screen(c, 100, 30);
  stdin.write('G');
  let s = await until(frame, (x) => /Flame graph: all/.test(x), 'flame pane');
  const rows = s.split('\n');
  const main = rows.find((l) => /\|main/.test(l))!;
  assert.ok(main, s);
  // main spans 100/134 of 100 columns; the CJK thread's box the rest.
  assert.equal(main.indexOf('|main'), 0);
  assert.ok(/\|计算/.test(main), main);
  assert.equal(stringWidth(main.slice(0, main.indexOf('|计算'))), 75);
  const leaf = rows.find((l) => /\|render_page/.test(l))!;
  assert.ok(leaf && /\|parse/.test(leaf), s);
  assert.match(s, /> total 100% own 0\.0% {2}all/);
  for (let i = 0; i < 3; i++) stdin.write(KEY.down);
  s = await until(frame, (x) => /> total 56\.0% own 56\.0% {2}render_page/.test(x), 'render_page selected');
  assert.match(s, />render_page/);
  stdin.write(KEY.up);
  await until(frame, (x) => /> total 74\.6% own 0\.0% {2}handle/.test(x), 'handle selected');
  stdin.write(KEY.enter);
  s = await until(frame, (x) => /zoomed into handle/.test(x), 'zoomed');
  // handle now spans the width: render_page 75 of its 100 samples, parse the rest.
  assert.equal(
    s
      .split('\n')
      .find((l) => /^\|render_page/.test(l))!
      .indexOf('|parse'),
    75,
    s,
  );
  stdin.write(KEY.esc);
  await until(frame, (x) => /zoomed into main/.test(x), "out one level: handle's caller");
  stdin.write(KEY.esc);
  await until(frame, (x) => /Flame graph: all/.test(x), 'out to the top');
  stdin.write(KEY.right);
  s = await until(frame, (x) => /only thread 101 web/.test(x), 'thread web');
  assert.doesNotMatch(s, /计算/);
  stdin.write(KEY.right);
  await until(frame, (x) => /only thread 102 cjk/.test(x), 'thread cjk');
  stdin.write(KEY.left);
  stdin.write(KEY.left);
  await until(frame, (x) => !/only thread/.test(x), 'all threads');
  stdin.write(KEY.left);
  await until(frame, (x) => /only thread 102 cjk/.test(x), '← wraps to the last thread');
});

test('tree and flame panes fit every size in display columns, with and without colour', async () => {
  for (const chalk of [plain, colour])
    for (const [w, h] of [
      [120, 40],
      [80, 24],
      [60, 15],
      [20, 5],
      [10, 3],
      [1, 1],
    ] as const)
      for (const pane of ['F', 'G']) {
        cleanup();
        const c = fixture();
        const { frame, stdin } = screen(c, w, h, chalk);
        stdin.write(pane);
        await until(frame, () => c.view.pane !== 'table', 'pane open');
        // Walk the cursor about, so the selected row and a zoom are drawn too.
        for (const k of [KEY.down, KEY.down, KEY.enter, KEY.down]) stdin.write(k);
        await tick();
        await tick();
        assertFits(frame(), w, h, `${pane} at ${w}x${h}, colour level ${chalk.level}`);
        if (w >= 20 && h >= 3) assert.match(plainText(frame().split('\n').at(-1)!), /q quit$/, `footer at ${w}x${h}`);
        if (chalk.level === 0) assert.doesNotMatch(frame(), /\x1b\[/, 'no escapes under NO_COLOR'); // eslint-disable-line no-control-regex
      }
});

test('the functions table footer names F and G after sorting, and keeps ? help  q quit at every width', () => {
  for (let w = 14; w <= 200; w++) {
    const f = footerKeys(w);
    assert.ok(stringWidth(f) <= w, `footer at ${w}: ${f}`);
    assert.match(f, /\? help {2}q quit$/, `footer at ${w}`);
    if (/G flame/.test(f)) assert.match(f, /^1-4 sort {2}F tree {2}G flame {2}/, `footer at ${w}`);
  }
  assert.match(footerKeys(120), /F tree {2}G flame/);
  const { frame } = screen(fixture(), 120, 40);
  assert.match(frame().split('\n').at(-1)!, /^1-4 sort {2}F tree {2}G flame {2}m mode .*\? help {2}q quit$/);
});
