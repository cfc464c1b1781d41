/**
 * End to end in a real terminal: `gauge top` runs in tmux (a private tmux
 * server), keys are sent, the screen is captured after each step, the window
 * is resized to 40×12 and back, and after quitting (q, SIGTERM, Ctrl-C after
 * the target died) the terminal must be restored: no alternate screen left,
 * cursor visible. The call tree and flame graph panes are driven the same
 * way at 120×40 and 60×15 on the web worker and the demo. The pane's shell prints gauge's status and stays, so the
 * terminal state can be read after gauge is gone.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import stringWidth from 'string-width';
import { requirePythons } from './helpers/pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gauge = join(root, 'bin', 'gauge');
const fixtures = join(root, 'test', 'fixtures');
const socket = `gauge-test-${process.pid}`;
const haveTmux = spawnSync('tmux', ['-V']).status === 0;
const py = requirePythons().at(-1)!;
// Panes run here, and GAUGE_SAVE_DIR points here, so a profile saved with `s` lands in a directory the test removes.
const workDir = mkdtempSync(join(tmpdir(), 'gauge-tmux-'));

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}

before(() => {
  if (!haveTmux) return;
  tmux('new-session', '-d', '-s', 'boot', '-x', '80', '-y', '24', 'sleep 3600');
});

after(() => {
  if (!haveTmux) return;
  // Killing the server ends gauge and, through it, the programs it launched; stragglers by pid.
  const pids: number[] = [];
  try {
    for (const l of tmux('list-panes', '-a', '-F', '#{pane_pid}').trim().split('\n')) {
      const kids = readFileSync(`/proc/${l}/task/${l}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      pids.push(...kids.map(Number));
    }
  } catch {
    // no server
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  rmSync(workDir, { recursive: true, force: true });
});

/** Start gauge under the pane's shell, which reports gauge's status and then stays (so the terminal state can be read). */
function start(name: string, gaugeArgs: string[], width = 120, height = 40): void {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `env -u CI NO_COLOR=1 GAUGE_SAVE_DIR=${q(workDir)} ${q(process.execPath)} ${q(gauge)} ${gaugeArgs.map(q).join(' ')}; echo "EXIT=$?"; exec sleep 3600`;
  tmux('new-session', '-d', '-s', name, '-c', workDir, '-x', String(width), '-y', String(height), cmd);
}

/** gauge's pid: the pane shell's child (env execs node). */
function gaugePid(name: string): number {
  const shell = paneInfo(name, '#{pane_pid}');
  const kids = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  assert.equal(kids.length, 1, `pane shell children: ${kids.join(',')}`);
  return Number(kids[0]);
}

function screen(name: string): string {
  return tmux('capture-pane', '-p', '-t', name);
}

function paneInfo(name: string, fmt: string): string {
  return tmux('display-message', '-p', '-t', name, fmt).trim();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll the screen until pred holds; fail with the last screen. Generous: CI boxes are slow. */
async function waitFor(name: string, what: string, pred: (s: string) => boolean, timeoutMs = 30000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    last = screen(name);
    if (pred(last)) return last;
    await sleep(150);
  }
  assert.fail(`timed out waiting for ${what}; screen:\n${last}`);
}

function keys(name: string, ...k: string[]): void {
  tmux('send-keys', '-t', name, ...k);
}

function samples(s: string): number {
  const m = /Samples (\d+)/.exec(s);
  return m ? Number(m[1]) : -1;
}

/** gauge exited with this status and the terminal is back to normal: no alternate screen, cursor visible. */
async function assertRestored(name: string, status: number): Promise<void> {
  await waitFor(name, 'gauge to exit', (x) => /EXIT=\d+/.test(x));
  assert.match(screen(name), new RegExp(`EXIT=${status}\\b`));
  assert.equal(paneInfo(name, '#{alternate_on}'), '0', 'alternate screen still on');
  assert.equal(paneInfo(name, '#{cursor_flag}'), '1', 'cursor hidden');
}

test(
  'tmux: keys, resize to 40x12 and back, quit with q restores the terminal',
  { skip: !haveTmux && 'tmux not installed' },
  async () => {
    const s = 'main';
    start(s, ['top', '--delay', '0.5', '--', py.exe, join(fixtures, 'demo_workload.py')]);
    let scr = await waitFor(s, 'the functions table with data', (x) => /is_prime \(/.test(x) && /cruncher/.test(x));
    assert.match(scr, /%Own\*/);
    assert.match(scr, new RegExp(`Python ${py.version.replace(/\./g, '\\.')}`));
    assert.match(scr, /1-4 sort .* q quit/);
    assert.match(scr, /Thread\s+State\s+CPU%\s+GIL%\s+Samples/);

    keys(s, '?');
    await waitFor(
      s,
      'help',
      (x) => /sort by %Own, %Total, OwnTime, TotalTime/.test(x) && !/Function \(file:line\)/.test(x),
    );
    keys(s, 'x');
    await waitFor(s, 'help closed', (x) => /Function \(file:line\)/.test(x));

    for (const [k, title] of [
      ['2', '%Total'],
      ['3', 'OwnTime'],
      ['4', 'TotalTime'],
      ['1', '%Own'],
    ] as const) {
      keys(s, k);
      await waitFor(s, `sort by ${title}`, (x) => x.includes(`${title}*`));
    }

    keys(s, 'l');
    await waitFor(s, 'line view', (x) => /Line \(file:line\)/.test(x) && /by line/.test(x));
    keys(s, 'l');
    await waitFor(s, 'function view', (x) => /Function \(file:line\)/.test(x) && !/by line/.test(x));

    keys(s, 'i');
    await waitFor(s, 'idle shown', (x) => /idle shown/.test(x) && /queue-worker\s+idle/.test(x));
    keys(s, 'i');
    await waitFor(s, 'idle hidden', (x) => !/idle shown/.test(x));

    // Cycle the thread filter to the CPU-bound thread: its table has its functions only.
    let onCruncher = false;
    for (let n = 0; n < 8 && !onCruncher; n++) {
      const before = screen(s).split('\n')[2] ?? '';
      keys(s, 't');
      scr = await waitFor(s, 'the filter to move', (x) => (x.split('\n')[2] ?? '') !== before);
      onCruncher = /only thread \d+ cruncher/.test(scr);
    }
    assert.ok(onCruncher, `never reached the cruncher thread:\n${scr}`);
    scr = await waitFor(s, 'cruncher functions', (x) => /is_prime \(/.test(x));
    assert.doesNotMatch(scr.split('Thread ')[0]!, /render_template|handle_request/);
    for (let n = 0; n < 10 && /only /.test(screen(s)); n++) {
      const before = screen(s).split('\n')[2] ?? '';
      keys(s, 'Tab');
      await waitFor(s, 'the filter to move', (x) => (x.split('\n')[2] ?? '') !== before);
    }
    await waitFor(s, 'all threads again', (x) => !/only /.test(x) && /render_template \(|handle_request \(/.test(x));

    keys(s, '/');
    await waitFor(s, 'filter prompt', (x) => /Filter: _/.test(x));
    keys(s, 'render');
    keys(s, 'Enter');
    scr = await waitFor(s, 'filtered table', (x) => /filter "render"/.test(x) && /render_template \(/.test(x));
    const table = scr.split('\n').filter((l) => /^\s+[\d.]+%/.test(l) && !/^\s*\d+ /.test(l));
    for (const row of table.filter((l) => /\(/.test(l)))
      assert.match(row, /render/i, `row not matching the filter: ${row}`);
    keys(s, 'Escape');
    await waitFor(s, 'filter cleared', (x) => !/filter "/.test(x) && /is_prime \(/.test(x));

    keys(s, 'p');
    scr = await waitFor(s, 'paused', (x) => /PAUSED/.test(x));
    const frozen = samples(scr);
    await sleep(1500); // three refresh periods
    assert.equal(samples(screen(s)), frozen, 'display changed while paused');
    keys(s, 'p');
    await waitFor(s, 'resumed', (x) => !/PAUSED/.test(x) && samples(x) > frozen);

    const beforeReset = samples(screen(s));
    keys(s, 'r');
    await waitFor(s, 'reset counts', (x) => samples(x) >= 0 && samples(x) < beforeReset);

    keys(s, 's');
    scr = await waitFor(s, 'save feedback', (x) => /saved \d+ samples to \S+/.test(x) || /save failed/.test(x));
    assert.doesNotMatch(scr, /save failed/);
    const saved = readdirSync(workDir).filter((f) => f.endsWith('.speedscope.json'));
    assert.equal(saved.length, 1, `saved files: ${saved.join(', ')}`);
    const profile = JSON.parse(readFileSync(join(workDir, saved[0]!), 'utf8')) as {
      shared?: { frames?: Array<{ name: string }> };
    };
    assert.ok(
      profile.shared?.frames?.some((f) => f.name.includes('is_prime')),
      'saved profile lacks the hot function',
    );

    tmux('resize-window', '-t', s, '-x', '40', '-y', '12');
    scr = await waitFor(s, '40x12 layout', (x) => /%Own/.test(x) && /1-4 sort/.test(x) && /^pid \d+/.test(x));
    const lines = scr.split('\n');
    for (const l of lines) assert.ok(l.length <= 40, `line wider than 40: ${JSON.stringify(l)}`);
    assert.ok(lines.filter((l) => l.trim()).length <= 12);
    assert.match(scr, /is_prime|query_db|mandelbrot_row|render_template/);

    tmux('resize-window', '-t', s, '-x', '20', '-y', '5');
    await waitFor(s, '20x5 layout', (x) => /%Own/.test(x) && x.split('\n').every((l) => l.length <= 20));
    tmux('resize-window', '-t', s, '-x', '120', '-y', '40');
    scr = await waitFor(
      s,
      'full layout again',
      (x) => /TotalTime/.test(x) && /Thread\s+State/.test(x) && /Python \d/.test(x),
    );
    assert.ok(scr.split('\n').filter((l) => /^pid \d+/.test(l)).length === 1, `header drawn twice:\n${scr}`);

    keys(s, 'q');
    await assertRestored(s, 0);
  },
);

test(
  'tmux: SIGTERM restores the terminal and ends the launched program',
  { skip: !haveTmux && 'tmux not installed' },
  async () => {
    const s = 'term';
    start(s, ['top', '--delay', '0.5', '--', py.exe, join(fixtures, 'demo_workload.py')]);
    await waitFor(s, 'data', (x) => /is_prime \(/.test(x));
    process.kill(gaugePid(s), 'SIGTERM');
    // The workload handles SIGTERM (forwarded to it) by finishing cleanly: gauge exits with its status.
    await assertRestored(s, 0);
  },
);

test(
  'tmux: the target dies: gauge says so, keeps the data, Ctrl-C exits with its status',
  { skip: !haveTmux && 'tmux not installed' },
  async () => {
    const s = 'death';
    start(s, ['top', '--delay', '0.5', '--', py.exe, join(fixtures, 'top_exit.py'), '3', '5']);
    await waitFor(s, 'data', (x) => /busy_until \(/.test(x));
    const scr = await waitFor(s, 'the exit note', (x) => /has exited \(status 5\)/.test(x));
    assert.match(scr, /busy_until \(/, 'data gone after exit');
    await sleep(1200);
    assert.match(screen(s), /has exited \(status 5\)[\s\S]*busy_until \(/, 'gauge did not keep the last data');
    keys(s, 'C-c');
    await assertRestored(s, 5);
  },
);

test(
  'tmux: the terminal vanishes (SSH drop): gauge and its program end, no spinning on a dead tty',
  { skip: !haveTmux && 'tmux not installed' },
  async () => {
    const s = 'hangup';
    start(s, ['top', '--delay', '0.5', '--', py.exe, join(fixtures, 'demo_workload.py')]);
    await waitFor(s, 'data', (x) => /is_prime \(/.test(x));
    const pid = gaugePid(s);
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    assert.ok(kids.length >= 1, 'the launched program is not running');
    // Closing the session hangs up its pty, as sshd does when a connection drops.
    tmux('kill-session', '-t', s);
    const alive = (p: number): boolean => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && (alive(pid) || kids.some(alive))) await sleep(200);
    assert.ok(!alive(pid), 'gauge still running after its terminal went away');
    for (const k of kids) assert.ok(!alive(k), `launched program ${k} still running after a hang-up`);
  },
);

/** The hottest leaf the tree opens at, per fixture: the fixture's own design says which path does the most work. */
const VIEW_TARGETS = [
  {
    name: 'web',
    // handle -> render (chunks 3 x 5 ms + fill 10 ms) outweighs parse (15 ms); in render, chunks (15) outweighs fill (10).
    args: (): string[] => {
      const report = join(workDir, 'web-report.json');
      writeFileSync(report + '.go', '');
      return [py.exe, join(fixtures, 'web_worker.py'), report];
    },
    ready: /spin \(/,
    path: ['handle', 'render', 'chunks'],
    leaf: /^>.*· spin \(/m,
    wide: ['render', 'parse'],
  },
  {
    name: 'demo',
    // On the cruncher thread (reached with →): cruncher -> count_primes -> is_prime or cruncher -> mandelbrot_row.
    args: (): string[] => [py.exe, join(fixtures, 'demo_workload.py')],
    ready: /is_prime \(/,
    thread: /only thread \d+ cruncher/,
    path: ['cruncher'],
    leaf: /^>.*· (is_prime|mandelbrot_row) \(/m,
    wide: undefined,
  },
];

/** Every line of the screen at most width columns, at most height lines. */
function assertFitsPane(scr: string, width: number, height: number): void {
  const lines = scr.replace(/\n+$/, '').split('\n');
  assert.ok(lines.length <= height, `${lines.length} lines on a ${height}-line pane`);
  for (const l of lines) assert.ok(stringWidth(l) <= width, `wider than ${width}: ${JSON.stringify(l)}`);
}

/** Resize to 20x5 (everything fits) and back to w x h, where the view must show what it showed before. */
async function shrinkAndBack(
  s: string,
  w: number,
  h: number,
  what: string,
  shows: (x: string) => boolean,
): Promise<void> {
  tmux('resize-window', '-t', s, '-x', '20', '-y', '5');
  const small = await waitFor(s, `${what} at 20x5`, (x) => x.split('\n').every((l) => stringWidth(l) <= 20));
  assertFitsPane(small, 20, 5);
  tmux('resize-window', '-t', s, '-x', String(w), '-y', String(h));
  await waitFor(s, `${what} again at ${w}x${h}`, shows);
}

/** The width of the box whose label starts "|name" (NO_COLOR: boxes start with "|" or ">"), up to the next box. */
function boxWidth(line: string, name: string): number {
  const at = line.search(new RegExp(`[|>]${name}\\b`));
  if (at < 0) return -1;
  const next = line.slice(at + 1).search(/[|>]/);
  return next < 0 ? line.replace(/\s+$/, '').length - at : next + 1;
}

for (const target of VIEW_TARGETS)
  for (const [w, h] of [
    [120, 40],
    [60, 15],
  ] as const)
    test(
      `tmux: ${target.name} at ${w}x${h}: call tree (F) opens the hot path, flame graph (G) shows it widest; resize to 20x5 and back; q restores`,
      { skip: !haveTmux && 'tmux not installed', timeout: 180000 },
      async () => {
        const s = `views-${target.name}-${w}`;
        start(s, ['top', '--delay', '0.5', '--', ...target.args()], w, h);
        await waitFor(s, 'data in the table', (x) => target.ready.test(x));
        if (target.thread) {
          // One step at a time: wait for the filter itself to change before the next →.
          const scope = (x: string): string => /only thread \d+ [\w-]+/.exec(x)?.[0] ?? 'all';
          for (let n = 0; n < 8 && !target.thread.test(screen(s)); n++) {
            const before = scope(screen(s));
            keys(s, 'Right');
            await waitFor(s, 'the thread filter to move', (x) => scope(x) !== before);
          }
          await waitFor(s, 'the thread picked with →', (x) => target.thread.test(x));
        }
        keys(s, 'F');
        const opened = (x: string): boolean =>
          /Call tree/.test(x) && target.leaf.test(x) && target.path.every((p) => new RegExp(`▾ ${p} \\(`).test(x));
        assertFitsPane(await waitFor(s, 'the call tree with the hot path open', opened), w, h);
        await shrinkAndBack(s, w, h, 'the tree', opened);

        keys(s, 'G');
        const flame = (x: string): boolean => {
          if (!/Flame graph: all/.test(x) || !/^> total 100%/m.test(x)) return false;
          if (!target.wide) return /[|>](is_prime|mandelbrot_row)\b/.test(x);
          const row = x.split('\n').find((l) => boxWidth(l, target.wide[0]!) > 0 && boxWidth(l, target.wide[1]!) > 0);
          return !!row && boxWidth(row, target.wide[0]!) > boxWidth(row, target.wide[1]!);
        };
        assertFitsPane(await waitFor(s, 'the flame graph, the hot callee widest', flame), w, h);
        await shrinkAndBack(s, w, h, 'the flame graph', flame);
        // Zoom into the selected box's first callee and back out.
        keys(s, 'Down');
        keys(s, 'Enter');
        await waitFor(s, 'zoomed', (x) => /zoomed into/.test(x));
        keys(s, 'Escape');
        await waitFor(s, 'zoomed out', (x) => /Flame graph: all/.test(x));

        keys(s, 'q');
        await assertRestored(s, 0);
      },
    );
