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
import { frameDiff, frameLines } from '../src/tui/frame-writer.js';

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
  assert.equal(frameDiff(['a', 'b', 'c'], ['a']), '\x1b[2;1H\x1b[2K\x1b[3;1H\x1b[2K');
  assert.equal(frameDiff([], ['', 'x']), '\x1b[2;1H\x1b[2Kx');
  assert.ok(!frameDiff(['a'], ['b', 'c']).includes('\n'), 'a newline could scroll the screen');
});

test('frameLines: a trailing newline is no row; at most the terminal height, keeping the last rows', () => {
  assert.deepEqual(frameLines('a\nb\n', 10), ['a', 'b']);
  assert.deepEqual(frameLines('a\nb', 10), ['a', 'b']);
  assert.deepEqual(frameLines('log line\na\nb', 2), ['a', 'b']);
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

/** The pane shows exactly the frame: its rows, then blank rows to the bottom. */
async function assertScreen(truthFile: string, cols: number, rows: number): Promise<void> {
  const t = await settled(truthFile, cols, rows);
  await sleep(300);
  const want = Array.from({ length: rows }, (_, i) => (t.lines[i] ?? '').trimEnd());
  const got = tmux('capture-pane', '-p', '-t', 'frames').replace(/\n$/, '').split('\n');
  assert.deepEqual(got, want, `screen after frame ${t.seq} at ${cols}x${rows}`);
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
