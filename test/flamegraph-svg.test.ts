/**
 * The SVG flame graph (`record -o out.svg`): its boxes are sized to the
 * samples (unit), and end to end a real recording of test/fixtures/hot_split.py,
 * rendered by headless Chromium to a PNG, shows hot_a's box at the share of
 * its caller's (main's) width that the fixture measured itself (±3 points). The
 * search in the address (#search=) is the file's own script colouring the
 * matches, so the measurement also checks that the inline script runs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { flameGraphSvg } from '../src/export/flamegraph-svg.js';
import { requirePythons } from './helpers/pythons.js';
import { longestRuns, readPng } from './helpers/png.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gauge = join(root, 'bin', 'gauge');
const fixture = join(root, 'test', 'fixtures', 'hot_split.py');
const dir = mkdtempSync(join(tmpdir(), 'gauge-svg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const chromium = ['chromium', 'chromium-browser'].find((c) => spawnSync(c, ['--version']).status === 0);

/** The rect of the frame whose label is exactly this. */
function rectOf(svg: string, label: string): { x: number; width: number } {
  const g = new RegExp(
    `<g class="f" [^>]*data-l="${label.replace(/[()]/g, '\\$&')}"[^>]*>.*?<rect x="([\\d.]+)" y="\\d+" width="([\\d.]+)"`,
  );
  const m = g.exec(svg);
  assert.ok(m, `no frame ${label}`);
  return { x: Number(m[1]), width: Number(m[2]) };
}

test('svg: one box per frame, widths in proportion to samples, siblings side by side, labels escaped', () => {
  const svg = flameGraphSvg(
    [
      [['main (app.py:1)', 'hot_a (app.py:10)'], 75],
      [['main (app.py:1)', 'hot_b (app.py:20)'], 20],
      [['main (app.py:1)', '<lambda> & "x" (app.py:30)'], 5],
    ],
    'title <1>',
  );
  const all = rectOf(svg, 'all');
  const main = rectOf(svg, 'main (app.py:1)');
  const a = rectOf(svg, 'hot_a (app.py:10)');
  const b = rectOf(svg, 'hot_b (app.py:20)');
  assert.equal(all.width, 1180);
  assert.equal(main.width, 1180);
  assert.equal(a.width, 885);
  assert.equal(b.width, 236);
  assert.ok(Math.abs(b.x - (a.x + a.width)) < 0.01 || Math.abs(a.x - (b.x + b.width)) < 0.01, 'adjacent');
  assert.match(svg, /&#60;lambda&#62; &#38; &#34;x&#34;/);
  assert.match(svg, /title &#60;1&#62;/);
  assert.doesNotMatch(svg.split('<script')[0]!, /<lambda>/);
  assert.match(svg, /<script type="text\/ecmascript"><!\[CDATA\[/);
  // Empty profile: a valid file with no frames.
  assert.doesNotMatch(flameGraphSvg([]), /class="f"/);
});

test(
  'record -o out.svg: Chromium shows the hot function at its measured share of the width',
  { skip: !chromium && 'chromium not installed (Debian: apt-get install chromium)', timeout: 120000 },
  async (t) => {
    const py =
      requirePythons().find((p) => p.mm[0] === 3 && p.mm[1] >= 11 && !p.freeThreaded) ?? requirePythons().at(-1)!;
    const out = join(dir, 'hot.svg');
    const child = spawn(process.execPath, [gauge, 'record', '-r', '1000', '-o', out, '--', py.exe, fixture, '8'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, stderr);
    const split = /SPLIT hot_a=([\d.]+) hot_b=([\d.]+)/.exec(stdout);
    assert.ok(split, `the fixture's own split: ${stdout}`);
    const truth = Number(split[1]);
    const svg = readFileSync(out, 'utf8');
    const height = Number(/<svg [^>]*height="(\d+)"/.exec(svg)![1]);
    const png = join(dir, 'hot.png');
    // The file's own search colours main and hot_a magenta; everything else keeps its warm colour. main's box
    // is what the fixture splits (hot_a + hot_b); the interpreter's start-up stacks beside it are not.
    const url = pathToFileURL(out).href + '#search=' + encodeURIComponent('^(main|hot_a) \\(');
    const shot = spawnSync(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--force-device-scale-factor=1',
        `--user-data-dir=${join(dir, 'profile')}`,
        `--window-size=1200,${height}`,
        `--screenshot=${png}`,
        url,
      ],
      { encoding: 'utf8', timeout: 90000 },
    );
    assert.equal(shot.status, 0, shot.stderr);
    const runs = longestRuns(readPng(readFileSync(png)), (r, g, b) => r > 200 && g < 60 && b > 200);
    const mainW = Math.max(...runs);
    assert.ok(mainW > 900, `main's box spans most of the graph (${mainW} px)`);
    const hot = Math.max(...runs.filter((w) => w < mainW * 0.95));
    const share = (100 * hot) / mainW;
    t.diagnostic(`hot_a: box ${share.toFixed(2)}% of main's ${mainW} px; fixture ${truth}% (Python ${py.version})`);
    assert.ok(
      Math.abs(share - truth) <= 3,
      `hot_a's box is ${share.toFixed(2)}% of the width; the fixture measured ${truth}% (${stderr.trim()})`,
    );
  },
);
