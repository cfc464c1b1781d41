/**
 * Terminal traffic of `gauge top` (issue 12): bytes per second gauge writes
 * to its terminal at 120×40 on the demo workload (the `npm start` fixture),
 * in each pane — the functions table, the call tree (F), the flame graph
 * (G). gauge runs in a private tmux server; after a warm-up, `pipe-pane`
 * copies everything written to the pane for the measured window. Runs are
 * interleaved pane by pane so every pane sees the same machine load.
 *
 *   npm run build && node dist/bench/traffic.js [--runs 3] [--seconds 20] [--out bench/RESULTS.md]
 *
 * Writes the section "Terminal traffic (issue 12)" of RESULTS.md and leaves the rest alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPythons } from '../test/helpers/pythons.js';
import { loadavg, spliceSection } from './compare.js';
import { fmt, packageRoot, sleep, spread } from './lib.js';

const root = packageRoot();
const HEADING = '## Terminal traffic (issue 12)';
const BEGIN = '<!-- traffic:begin -->';
const END = '<!-- traffic:end -->';
const BUDGET = 4096;
const PANES = [
  { name: 'functions table', key: '' },
  { name: 'call tree (F)', key: 'F' },
  { name: 'flame graph (G)', key: 'G' },
];

function parseArgs(argv: string[]): { runs: number; seconds: number; out: string } {
  let runs = 3;
  let seconds = 20;
  let out = join(root, 'bench', 'RESULTS.md');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else if (argv[i] === '--out') out = argv[++i] ?? out;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!(runs >= 1 && seconds > 0)) throw new Error('--runs and --seconds must be positive');
  return { runs, seconds, out };
}

function gitHead(): string {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown'; // not a checkout
  }
}

const socket = `gauge-traffic-${process.pid}`;
const tmux = (...args: string[]): string =>
  execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });

/** Bytes gauge writes to a 120×40 pane per second, in one pane, after a warm-up. */
async function measure(python: string, pane: (typeof PANES)[number], seconds: number, dir: string): Promise<number> {
  const s = 'traffic';
  const log = join(dir, 'pane.log');
  writeFileSync(log, '');
  const q = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`;
  const gauge = [process.execPath, join(root, 'bin', 'gauge'), 'top', '--', python];
  const cmd = `env -u CI ${gauge.map(q).join(' ')} ${q(join(root, 'test', 'fixtures', 'demo_workload.py'))}`;
  tmux('new-session', '-d', '-s', s, '-x', '120', '-y', '40', cmd);
  try {
    // Warm-up: the first frame and the first refreshes draw the whole screen.
    const end = Date.now() + 30000;
    while (!/is_prime/.test(tmux('capture-pane', '-p', '-t', s)) && Date.now() < end) await sleep(200);
    if (pane.key) tmux('send-keys', '-t', s, pane.key);
    await sleep(3000);
    tmux('pipe-pane', '-O', '-t', s, `cat >> ${q(log)}`);
    const t0 = Date.now();
    await sleep(seconds * 1000);
    tmux('pipe-pane', '-t', s);
    const elapsed = (Date.now() - t0) / 1000;
    await sleep(300);
    return statSync(log).size / elapsed;
  } finally {
    tmux('kill-session', '-t', s);
  }
}

async function main(): Promise<void> {
  const { runs, seconds, out } = parseArgs(process.argv.slice(2));
  if (spawnSync('tmux', ['-V']).status !== 0) throw new Error('tmux is needed (apt-get install tmux)');
  const py = findPythons().find((p) => p.mm[0] === 3 && p.mm[1] === 12) ?? findPythons().at(-1);
  if (!py) throw new Error('no CPython found');
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'gauge-traffic-'));
  tmux('new-session', '-d', '-s', 'boot', 'sleep 3600');
  const rates = new Map<string, number[]>(PANES.map((p) => [p.name, []]));
  try {
    for (let r = 0; r < runs; r++)
      for (const pane of PANES) {
        const bps = await measure(py.exe, pane, seconds, dir);
        rates.get(pane.name)!.push(bps);
        process.stderr.write(`run ${r + 1}/${runs} ${pane.name}: ${bps.toFixed(0)} B/s\n`);
      }
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg();
  const rows = PANES.map((p) => {
    const s = spread(rates.get(p.name)!);
    return `| ${p.name} | ${fmt(s, 0)} | ${s.max < BUDGET ? 'yes' : 'no'} |`;
  });
  const section = `${BEGIN}
${HEADING}

Bytes per second \`gauge top\` writes to its terminal at 120×40, default refresh (1 s), colour on, on
\`test/fixtures/demo_workload.py\` (the \`npm start\` fixture) under CPython ${py.version}: median (min–max) of
${runs} runs of ${seconds} s each, panes interleaved run by run, measured with tmux \`pipe-pane\` after a 3 s warm-up in the pane
(\`npm run build && node dist/bench/traffic.js --runs ${runs} --seconds ${seconds}\`, ${new Date().toISOString().slice(0, 10)},
gauge ${gitHead()}, load average ${loadBefore} at the start and ${loadAfter} at the end). Budget: under ${BUDGET} B/s (issue 12).

| pane | bytes/s | under budget |
|---|---|---|
${rows.join('\n')}

Ink renders into \`src/tui/frame-writer.ts\`, which sends only the rows that changed, each at its absolute position, and
within a row only the cells between its unchanged start and end (\`src/tui/row-diff.ts\`). Ink's own
\`incrementalRendering\` is not used: when a frame ends in a newline, as every frame shorter than the terminal does, its
cursor goes up one row too few, and rows it skips as unchanged keep a neighbour's old text (\`test/frame-writer.test.ts\`).
${END}`;
  process.stdout.write(section);
  writeFileSync(out, spliceSection(out, section, BEGIN, END));
}

main().catch((err: unknown) => {
  process.stderr.write(`traffic: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
