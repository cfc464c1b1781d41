/**
 * The frame writer (src/tui/frame-writer.ts): what it sends for a change of
 * frame, and, in a real terminal (tmux), that the screen equals the last
 * frame rendered after many quick refreshes, a shrink to 20×5 and a return
 * to 120×40. The app under test (fixtures/frames-app.tsx) writes the frames
 * it rendered; its second row never changes, the row Ink's incremental mode
 * left showing a neighbour's old text.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import stringWidth from 'string-width';
import { frameDiff, frameLines } from '../src/tui/frame-writer.js';
import { rowUpdate } from '../src/tui/row-diff.js';

const here = dirname(fileURLToPath(import.meta.url));
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const socket = `gauge-frames-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'gauge-frames-'));

const tmux = (...args: string[]): string =>
  execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });

after(() => {
  if (haveTmux) spawnSync('tmux', ['-L', socket, 'kill-server']);
  rmSync(dir, { recursive: true, force: true });
});

test('frameDiff: identical frames send nothing; a changed row is rewritten at its place; rows past a shorter frame are erased', () => {
  assert.equal(frameDiff(['a', 'b', 'c'], ['a', 'b', 'c']), '');
  assert.equal(frameDiff(['a', 'b', 'c'], ['a', 'B', 'c']), '\x1b[2;1H\x1b[2KB');
  assert.equal(frameDiff(['a', 'b', 'c'], ['a']), '\x1b[2;1H\x1b[K\x1b[3;1H\x1b[K');
  assert.equal(frameDiff([], ['', 'x']), '\x1b[2;1H\x1b[2Kx');
  assert.ok(!frameDiff(['a'], ['b', 'c']).includes('\n'), 'a newline could scroll the screen');
});

test('frameLines: a trailing newline is no row; at most the terminal height, keeping the last rows; no row wider than the terminal', () => {
  assert.deepEqual(frameLines('a\nb\n', 10, 80), ['a', 'b']);
  assert.deepEqual(frameLines('a\nb', 10, 80), ['a', 'b']);
  assert.deepEqual(frameLines('log line\na\nb', 2, 80), ['a', 'b']);
  // A frame drawn for the old width right after a resize: cut to the cells that fit, colours kept and closed.
  const cut = frameLines('\x1b[1mquery_db\x1b[22m (views.py:54)\n漢字漢字', 10, 6);
  assert.equal(stringWidth(cut[0]!), 6);
  assert.equal(cut[0], '\x1b[1mquery_\x1b[22m');
  assert.equal(cut[1], '漢字漢');
});

test('rowUpdate: only the cells between the unchanged start and end, in their colours; other escapes: the whole row', () => {
  const name = '  \x1b[1mquery_db\x1b[22m (views.py:54)';
  // The numbers changed, the name after them did not: written from the first changed column to the last.
  assert.equal(rowUpdate(4, `  5.4%    6.5%${name}`, `  5.3%    6.2%${name}`), '\x1b[4;5H\x1b[0m3%    6.2');
  // A colour change is a change; the cells after a colour ends carry the codes since the last reset.
  assert.equal(
    rowUpdate(1, `\x1b[32m 5.4%\x1b[0m${name}`, `\x1b[31m 5.4%\x1b[0m${name}`),
    '\x1b[1;1H\x1b[0m\x1b[31m 5.4%\x1b[0m',
  );
  // Colours compare by what they set, not by the codes' history: the name after a changed colour is left alone.
  assert.equal(
    rowUpdate(1, '\x1b[0m\x1b[32m 5.4%\x1b[39m name that stays', '\x1b[0m\x1b[31m 5.9%\x1b[39m name that stays'),
    '\x1b[1;1H\x1b[0m\x1b[31m 5.9%\x1b[0m',
  );
  assert.equal(
    rowUpdate(1, '\x1b[1;32mab\x1b[22m cd 1 and more', '\x1b[32;1mab\x1b[22m cd 2 and more'),
    '\x1b[1;7H\x1b[0m\x1b[32m2\x1b[0m',
  );
  // Columns, not characters: after two wide characters the change is at column 6.
  assert.equal(rowUpdate(2, '计算 a 1.0 long unchanged end', '计算 a 2.0 long unchanged end'), '\x1b[2;8H\x1b[0m2');
  // A shorter row: the rest of the old one is erased.
  assert.equal(rowUpdate(3, 'abcdef', 'abc'), '\x1b[3;4H\x1b[K');
  // Nothing to gain on a short row, and a cursor move inside a row: written whole.
  assert.equal(rowUpdate(3, 'ab', 'xy'), '\x1b[3;1H\x1b[2Kxy');
  assert.equal(
    rowUpdate(3, 'a long enough row \x1b[2Cx', 'a long enough row \x1b[2Cy'),
    '\x1b[3;1H\x1b[2Ka long enough row \x1b[2Cy',
  );
});

interface Truth {
  seq: number;
  settled: boolean;
  cols: number;
  rows: number;
  lines: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function settled(truthFile: string, cols: number, rows: number): Promise<Truth> {
  const end = Date.now() + 30000;
  while (Date.now() < end) {
    try {
      const t = JSON.parse(readFileSync(truthFile, 'utf8')) as Truth;
      if (t.settled && t.cols === cols && t.rows === rows) return t;
    } catch {
      // not written yet, or caught mid-write
    }
    await sleep(100);
  }
  assert.fail(`no settled ${cols}x${rows} frame: ${existsSync(truthFile) ? readFileSync(truthFile, 'utf8') : 'none'}`);
}

/** The app's pid: the pane shell's child (env execs node). */
function appPid(): number {
  const shell = tmux('display-message', '-p', '-t', 'frames', '#{pane_pid}').trim();
  return Number(readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/)[0]);
}

/**
 * The pane shows exactly the frame: its rows, then blank rows to the bottom;
 * and, colours included, the same cells as the frame drawn whole.
 */
async function assertScreen(truthFile: string, cols: number, rows: number): Promise<void> {
  const t = await settled(truthFile, cols, rows);
  await sleep(300);
  const want = Array.from({ length: rows }, (_, i) => (t.lines[i] ?? '').trimEnd());
  const got = tmux('capture-pane', '-p', '-t', 'frames').replace(/\n$/, '').split('\n');
  assert.deepEqual(got, want, `screen after frame ${t.seq} at ${cols}x${rows}`);
  const updated = tmux('capture-pane', '-p', '-e', '-t', 'frames');
  process.kill(appPid(), 'SIGUSR1');
  const end = Date.now() + 10000;
  while ((JSON.parse(readFileSync(truthFile, 'utf8')) as Truth).seq === t.seq && Date.now() < end) await sleep(50);
  await sleep(300);
  assert.equal(updated, tmux('capture-pane', '-p', '-e', '-t', 'frames'), `colours after frame ${t.seq}`);
}

test(
  'tmux: after many refreshes, a shrink to 20x5 and back to 120x40, the screen equals the last frame',
  { skip: !haveTmux && 'tmux not installed', timeout: 120000 },
  async () => {
    const truthFile = join(dir, 'truth.json');
    // Built next to this test by tsc (npm test runs dist/test).
    const app = [process.execPath, join(here, 'fixtures', 'frames-app.js')];
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const cmd = `env -u CI ${[...app, truthFile, '150'].map(q).join(' ')}; exec sleep 3600`;
    tmux('new-session', '-d', '-s', 'frames', '-x', '120', '-y', '40', cmd);
    await assertScreen(truthFile, 120, 40);
    tmux('resize-window', '-t', 'frames', '-x', '20', '-y', '5');
    await assertScreen(truthFile, 20, 5);
    tmux('resize-window', '-t', 'frames', '-x', '120', '-y', '40');
    await assertScreen(truthFile, 120, 40);
  },
);
