/**
 * `npm run bench`: gauge's overhead and per-sample cost on the reference
 * loads (bench/loads) for every CPython found, and the same costs for its
 * peers (Austin, Tachyon) measured in the same run, written to bench/RESULTS.md.
 *
 *   node dist/bench/run.js [--quick] [--pythons 3.8,3.12,3.14t] [--loads deep,web,idle] [--out FILE]
 *   node dist/bench/run.js --peers [--pythons 3.12,3.15]   # the peer comparison alone, a few minutes
 *
 * --reader-only measures the per-sample cost alone (quick iteration on the reader).
 * --peers replaces only the peers section of RESULTS.md and keeps the other tables.
 * Every figure is the median of several runs with the min–max spread.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPythons, pythonFor, sharedPythonsDir, type Python } from '../test/helpers/pythons.js';
import {
  loadavg,
  measureCosts,
  measureRecord,
  PEERS_FULL,
  PEERS_QUICK,
  peersSection,
  recordTools,
  spliceSection,
  type CostRow,
  type Peers,
  type PeerMode,
  type RecordRow,
} from './compare.js';
import { findAustin, findTachyon } from './peers.js';
import { recordShape, runHeadless, timeSnapshots } from './snapshots.js';
import { SamplingSession } from '../src/sampling/session.js';
import type { Window } from './headless.js';
import {
  fmt,
  Load,
  median,
  NODE_NOISE,
  packageRoot,
  procCpuSeconds,
  rssMiB,
  sleep,
  spread,
  straceAvailable,
  straceCount,
  type Spread,
} from './lib.js';

interface Mode {
  name: string;
  snapRuns: number;
  snapCount: number;
  cpuSeconds: number;
  cpuRuns: number;
  /** Windows of the CLI (`gauge record`, `gauge top --batch`) measurements. */
  cliSeconds: number;
  rampSeconds: number;
  rampRuns: number;
  abPairs: number;
  abSeconds: number;
  memMinutes: number;
  /** Which (python minor, load) pairs to run; undefined = all. */
  only?: (minor: number, load: string) => boolean;
}

const FULL: Mode = {
  name: 'full',
  snapRuns: 5,
  snapCount: 300,
  cpuSeconds: 1.5,
  cpuRuns: 3,
  cliSeconds: 1,
  rampSeconds: 0.5,
  rampRuns: 3,
  abPairs: 3,
  abSeconds: 1.5,
  memMinutes: 10,
};
const QUICK: Mode = {
  name: 'quick',
  snapRuns: 3,
  snapCount: 150,
  cpuSeconds: 0.8,
  cpuRuns: 3,
  cliSeconds: 0.6,
  rampSeconds: 0.3,
  rampRuns: 3,
  abPairs: 3,
  abSeconds: 0.8,
  memMinutes: 1.5,
  only: (minor, load) => load === 'deep' || minor === 12,
};

interface LoadSpec {
  key: string;
  script: string;
  args: string[];
  label: string;
}

const LOADS: LoadSpec[] = [
  { key: 'deep', script: 'deep.py', args: ['8', '50'], label: '8 threads × 50 frames, leaf calls' },
  { key: 'web', script: 'web.py', args: ['16'], label: 'web-like, 16 workers, short stacks' },
  { key: 'idle', script: 'idle.py', args: ['200'], label: '200 threads, mostly idle' },
];

const RAMP = [100, 500, 1000, 2000, 5000, 10000, 20000];
const WANTED = ['3.8', '3.11', '3.12', '3.13', '3.13t', '3.14', '3.14t', '3.15'];
/** Interpreters of the peer comparison: issue 10's 3.12, 3.14, 3.15 and 3.14t, and the two Austin still reads. */
const PEER_WANTED = ['3.12', '3.13', '3.13t', '3.14', '3.14t', '3.15'];

interface SnapResult {
  threads: number;
  frames: number;
  medUs: Spread;
  p99Us: Spread;
  /** CPU time of this process per sample (user+system): what the reader costs whatever else the machine runs. */
  cpuUs: Spread;
  /** The same without per-thread /proc reads (walker and frame cache alone). */
  bareMedUs: Spread;
  bareCpuUs: Spread;
  vmReadsPerSample: number;
  stracePerSample?: { all: number; vmread: number; pread: number; other: string };
}

interface ComboResult {
  py: Python;
  load: LoadSpec;
  snap?: SnapResult;
  cpu: Map<number, Window[]>;
  ramp?: { rate: number; achieved: Spread; lastFailed?: number };
  ab?: { a: Spread; b: Spread; slow: Spread };
  /** CPU % of the CLI processes by tool and rate. */
  cli: Map<string, Spread>;
  error?: string;
}

interface Opts {
  mode: Mode;
  pythons?: string[];
  loads?: string[];
  out: string;
  readerOnly: boolean;
  peersOnly: boolean;
}

function parseArgs(argv: string[]): Opts {
  let mode = FULL;
  let pythons: string[] | undefined;
  let loads: string[] | undefined;
  let out = join(packageRoot(), 'bench', 'RESULTS.md');
  let readerOnly = false;
  let peersOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') mode = QUICK;
    else if (a === '--pythons') pythons = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--loads') loads = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--out') out = argv[++i] ?? out;
    else if (a === '--reader-only') readerOnly = true;
    else if (a === '--peers') peersOnly = true;
    else {
      process.stderr.write(
        `bench: unknown option ${a}\nusage: node dist/bench/run.js [--quick] [--pythons 3.8,3.12] [--loads deep,web,idle] [--out FILE] [--reader-only] [--peers]\n`,
      );
      process.exit(2);
    }
  }
  return { mode, pythons, loads, out, readerOnly, peersOnly };
}

const log = (m: string) => process.stdout.write(m + '\n');

async function measureSnapshots(pid: number, mode: Mode, useStrace: boolean): Promise<SnapResult> {
  const bare = await timeSnapshots(pid, mode.snapRuns, mode.snapCount, false);
  bare.t.close();
  const { t, snap, buf, med, p99, cpu, vmReads } = await timeSnapshots(pid, mode.snapRuns, mode.snapCount, true);
  try {
    const shape = recordShape(buf);
    const res: SnapResult = {
      ...shape,
      medUs: med,
      p99Us: p99,
      cpuUs: cpu,
      bareMedUs: bare.med,
      bareCpuUs: bare.cpu,
      vmReadsPerSample: vmReads,
    };
    if (useStrace) {
      const n = mode.snapCount;
      const counts = await straceCount(() => {
        for (let i = 0; i < n; i++) snap();
      });
      if (counts) {
        let all = 0;
        const others: string[] = [];
        for (const [k, v] of counts) {
          if (NODE_NOISE.has(k)) continue;
          all += v;
          if (k !== 'process_vm_readv' && k !== 'pread64' && v >= n / 10) others.push(`${k} ${(v / n).toFixed(1)}`);
        }
        res.stracePerSample = {
          all: all / n,
          vmread: (counts.get('process_vm_readv') ?? 0) / n,
          pread: (counts.get('pread64') ?? 0) / n,
          other: others.join(', '),
        };
      }
    }
    return res;
  } finally {
    t.close();
  }
}

function sustained(ws: Window[], rate: number): boolean {
  return median(ws.map((w) => w.achievedHz)) >= 0.95 * rate && median(ws.map((w) => w.lateFrac)) < 0.05;
}

async function measureAB(load: Load, mode: Mode, rate: number) {
  const a: number[] = [];
  const b: number[] = [];
  const slow: number[] = [];
  for (let i = 0; i < mode.abPairs; i++) {
    await sleep(300);
    const ra = await load.workRate(mode.abSeconds * 1000);
    const s = new SamplingSession(load.pid, { rateHz: rate });
    s.onSamples(() => {});
    s.start();
    await sleep(300);
    const rb = await load.workRate(mode.abSeconds * 1000);
    s.stop();
    a.push(ra);
    b.push(rb);
    slow.push(((ra - rb) / ra) * 100);
  }
  return { a: spread(a), b: spread(b), slow: spread(slow) };
}

/** The CLI commands to measure, when this checkout has them. */
function cliTools(): Map<string, (pid: number, rate: number, dir: string) => string[]> {
  const bin = join(packageRoot(), 'bin', 'gauge');
  const has = (cmd: string, opt: string) => {
    const r = spawnSync(process.execPath, [bin, cmd, '--help'], { encoding: 'utf8', timeout: 20000 });
    return r.status === 0 && r.stdout.includes(opt);
  };
  const tools = new Map<string, (pid: number, rate: number, dir: string) => string[]>();
  if (has('record', '--output'))
    tools.set('record', (pid, rate, dir) => [
      bin,
      'record',
      '--pid',
      String(pid),
      '--rate',
      String(rate),
      '-o',
      join(dir, 'out.folded'),
    ]);
  if (has('top', '--batch'))
    tools.set('top', (pid, rate) => [
      bin,
      'top',
      '--pid',
      String(pid),
      '--rate',
      String(rate),
      '--batch',
      '--delay',
      '1',
    ]);
  return tools;
}

/** CPU % of one core of a gauge CLI process over consecutive windows, after it has attached. */
async function measureCli(args: string[], windows: number, seconds: number): Promise<number[]> {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-500);
  });
  const out: number[] = [];
  try {
    await sleep(1200);
    for (let i = 0; i < windows && p.exitCode === null; i++) {
      const c0 = procCpuSeconds(p.pid!);
      const t0 = process.hrtime.bigint();
      await sleep(seconds * 1000);
      if (p.exitCode !== null) break;
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      out.push(((procCpuSeconds(p.pid!) - c0) / wall) * 100);
    }
    if (!out.length) log(`  ${args[1]} exited early: ${err.trim().split('\n').pop() ?? ''}`);
  } catch {
    /* exited between checks */
  } finally {
    p.kill('SIGKILL');
  }
  return out;
}

async function benchCombo(
  py: Python,
  spec: LoadSpec,
  mode: Mode,
  useStrace: boolean,
  tools: ReturnType<typeof cliTools>,
  readerOnly = false,
): Promise<ComboResult> {
  const res: ComboResult = { py, load: spec, cpu: new Map(), cli: new Map() };
  const load = new Load(py.exe, spec.script, spec.args);
  try {
    await load.start();
    res.snap = await measureSnapshots(load.pid, mode, useStrace);
    log(
      `  reader ${fmt(res.snap.medUs)} µs/sample (p99 ${fmt(res.snap.p99Us)}, cpu ${fmt(res.snap.cpuUs)}, bare ${fmt(res.snap.bareMedUs)} / cpu ${fmt(res.snap.bareCpuUs)}), ${res.snap.threads} threads, ${res.snap.frames} frames, ${res.snap.vmReadsPerSample.toFixed(1)} vm reads, ${res.snap.stracePerSample?.all.toFixed(1)} syscalls`,
    );
    if (readerOnly) return res;
    for (const w of runHeadless(load.pid, [100, 1000], mode.cpuSeconds, mode.cpuRuns)) {
      if (!res.cpu.has(w.rate)) res.cpu.set(w.rate, []);
      res.cpu.get(w.rate)!.push(w);
    }
    const c100 = res.cpu.get(100) ?? [];
    log(`  headless 100 Hz ${fmt(spread(c100.map((w) => w.cpuPct)), 2)}% of a core`);
    let best: { rate: number; achieved: Spread; lastFailed?: number } | undefined;
    for (const rate of RAMP) {
      const ws =
        rate === 100
          ? c100
          : rate === 1000
            ? res.cpu.get(1000)!
            : runHeadless(load.pid, [rate], mode.rampSeconds, mode.rampRuns, 300);
      if (!sustained(ws, rate)) {
        if (best) best.lastFailed = rate;
        break;
      }
      best = { rate, achieved: spread(ws.map((w) => w.achievedHz)) };
    }
    res.ramp = best;
    log(`  highest sustained ${best?.rate ?? 'none'} Hz`);
    res.ab = await measureAB(load, mode, 100);
    log(`  slowdown at 100 Hz ${fmt(res.ab.slow, 2)}%`);
    const dir = mkdtempSync(join(tmpdir(), 'gauge-bench-'));
    try {
      for (const [tool, argsFor] of tools)
        for (const rate of [100, 1000]) {
          const xs = await measureCli(argsFor(load.pid, rate, dir), mode.cpuRuns, mode.cliSeconds);
          if (xs.length) res.cli.set(`${tool}@${rate}`, spread(xs));
        }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (tools.size) log(`  ${[...res.cli].map(([k, v]) => `${k} ${fmt(v, 2)}%`).join(', ')}`);
  } catch (err) {
    res.error = err instanceof Error ? err.message : String(err);
    log(`  error: ${res.error}`);
  } finally {
    load.stop();
  }
  return res;
}

/** RSS of a headless gauge sampling a web-like load at 100 Hz, run alongside the rest. */
function startMemoryRun(py: Python, minutes: number) {
  const load = new Load(py.exe, 'web.py', ['2']);
  const samples: Array<{ at: number; rss: number }> = [];
  let child: ReturnType<typeof spawn> | undefined;
  const done = (async () => {
    await load.start();
    const exe = join(packageRoot(), 'dist', 'bench', 'headless.js');
    child = spawn(
      process.execPath,
      [
        exe,
        JSON.stringify({
          pid: load.pid,
          rates: [100],
          seconds: minutes * 60,
          runs: 1,
          rssEvery: Math.max(5, minutes * 6),
          warmupMs: 0,
        }),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
    });
    await new Promise((r) => child!.on('exit', r));
    for (const l of buf.split('\n').filter(Boolean)) {
      const j = JSON.parse(l) as { rssAt?: number; rssMiB: number; seconds?: number };
      if (j.rssAt !== undefined) samples.push({ at: j.rssAt, rss: j.rssMiB });
    }
    return samples;
  })().finally(() => load.stop());
  return {
    done,
    stop: () => {
      child?.kill('SIGKILL');
      load.stop();
    },
  };
}

function mdTable(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function report(
  mode: Mode,
  results: ComboResult[],
  mem: Array<{ at: number; rss: number }>,
  memPy: Python | undefined,
  strace: boolean,
  tools: string[],
  started: Date,
  extra: string,
): string {
  const name = (r: ComboResult) => `${r.py.version}${r.py.freeThreaded ? 't' : ''} | ${r.load.key}`;
  const pct = (ws: Window[] | undefined, f: (w: Window) => number, d = 2) =>
    ws?.length ? fmt(spread(ws.map(f)), d) : 'n/a';
  const lines: string[] = [];
  lines.push('# gauge benchmark results', '');
  lines.push(
    `Generated by \`npm run bench${mode === QUICK ? ' -- --quick' : ''}\` (${mode.name} mode) on ${started.toISOString()}: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Linux ${release()}, Node ${process.version}.`,
  );
  lines.push(
    'Each figure is the median over runs, with min–max in parentheses. Loads are in `bench/loads/` (deep: 8 threads × 50 frames busy in short leaf calls; web: 16 workers handling short requests, some waiting on I/O; idle: 200 parked threads and one lightly busy).',
    '',
  );
  lines.push('## Reader cost per full sample', '');
  lines.push(
    `\`gauge_snapshot\` timed from JavaScript back to back (${mode.snapRuns} runs × ${mode.snapCount} samples, thread CPU/state reading on as in sampling); the median and p99 are per run. "CPU µs" is this process's user+system time per sample (robust when the machine is busy: wall time includes waiting for a core). "Stacks only" is the same reader without the per-thread CPU time and state from /proc. process_vm_readv calls counted by the reader; all system calls per sample by ${strace ? "`strace -c -f` on the benchmark process (Node's own futex/epoll noise excluded)" : 'strace — not installed, so n/a'}.`,
    '',
  );
  lines.push(
    mdTable(
      [
        'CPython',
        'load',
        'threads',
        'frames',
        'µs/sample median',
        'µs/sample p99',
        'CPU µs/sample',
        'stacks only: µs median',
        'stacks only: CPU µs',
        'process_vm_readv /sample',
        'all syscalls /sample',
        'of which pread (/proc)',
      ],
      results.map((r) => [
        name(r),
        String(r.snap?.threads ?? 'n/a'),
        String(r.snap?.frames ?? 'n/a'),
        fmt(r.snap?.medUs),
        fmt(r.snap?.p99Us),
        fmt(r.snap?.cpuUs),
        fmt(r.snap?.bareMedUs),
        fmt(r.snap?.bareCpuUs),
        r.snap ? r.snap.vmReadsPerSample.toFixed(1) : 'n/a',
        r.snap?.stracePerSample
          ? r.snap.stracePerSample.all.toFixed(1) +
            (r.snap.stracePerSample.other ? ` (${r.snap.stracePerSample.other})` : '')
          : 'n/a',
        r.snap?.stracePerSample ? r.snap.stracePerSample.pread.toFixed(1) : 'n/a',
      ]),
    ),
  );
  lines.push('');
  lines.push('## Sampler CPU use (% of one core, OS accounting)', '');
  const has = (t: string) => tools.includes(t);
  lines.push(
    `"session": a SamplingSession in its own Node process (bench/headless.ts, with a per-leaf count consumer, the headless core of \`gauge record\`), ${mode.cpuRuns} windows of ${mode.cpuSeconds} s; "process" is its utime+stime, "sampler thread" the native thread alone. "record" and "top": CPU time (sum of its threads' /proc schedstat) of \`gauge record --pid P -o x.folded\` and \`gauge top --pid P --batch --delay 1\` processes, ${mode.cpuRuns} windows of ${mode.cliSeconds} s after 1.2 s of start-up${tools.length < 2 ? ` (${['record', 'top'].filter((t) => !has(t)).join(', ')}: not in this checkout yet, pending)` : ''}.`,
    '',
  );
  const cli = (r: ComboResult, k: string) => (has(k.split('@')[0]!) ? fmt(r.cli.get(k), 2) : 'pending');
  lines.push(
    mdTable(
      [
        'CPython',
        'load',
        'session 100 Hz process',
        'sampler thread',
        'session 1000 Hz process',
        'sampler thread',
        'record 100 Hz',
        'record 1000 Hz',
        'top 100 Hz',
        'top 1000 Hz',
      ],
      results.map((r) => [
        name(r),
        pct(r.cpu.get(100), (w) => w.cpuPct),
        pct(r.cpu.get(100), (w) => w.samplerPct),
        pct(r.cpu.get(1000), (w) => w.cpuPct),
        pct(r.cpu.get(1000), (w) => w.samplerPct),
        cli(r, 'record@100'),
        cli(r, 'record@1000'),
        cli(r, 'top@100'),
        cli(r, 'top@1000'),
      ]),
    ),
  );
  lines.push('');
  lines.push('## Rate', '');
  lines.push(
    `Achieved = ticks / wall time (intervals are randomized around the period). A rate is sustained when the median window achieves ≥95% of it with <5% of ticks starting more than half a period late; the ramp is ${RAMP.join(', ')} Hz (${mode.rampRuns} windows of ${mode.rampSeconds} s per step above 1000 Hz).`,
    '',
  );
  lines.push(
    mdTable(
      [
        'CPython',
        'load',
        'achieved @100 Hz',
        'late @100',
        'achieved @1000 Hz',
        'late @1000',
        'mean tick µs @1000',
        'highest sustained Hz',
        'achieved there',
      ],
      results.map((r) => [
        name(r),
        pct(r.cpu.get(100), (w) => w.achievedHz, 1),
        pct(r.cpu.get(100), (w) => w.lateFrac * 100, 1) + '%',
        pct(r.cpu.get(1000), (w) => w.achievedHz, 0),
        pct(r.cpu.get(1000), (w) => w.lateFrac * 100, 1) + '%',
        pct(r.cpu.get(1000), (w) => w.meanTickUs, 1),
        r.ramp ? `${r.ramp.rate}${r.ramp.lastFailed ? '' : '+'}` : 'none',
        r.ramp ? fmt(r.ramp.achieved, 0) : 'n/a',
      ]),
    ),
  );
  lines.push('');
  lines.push('## Target slowdown at 100 Hz', '');
  lines.push(
    `Work per second the load reports itself, without (A) and with (B) gauge sampling it, interleaved A/B × ${mode.abPairs} in one run, ${mode.abSeconds} s windows; slowdown per pair = (A−B)/A. Negative = noise.`,
    '',
  );
  lines.push(
    mdTable(
      ['CPython', 'load', 'A work/s', 'B work/s', 'slowdown %'],
      results.map((r) => [name(r), fmt(r.ab?.a, 0), fmt(r.ab?.b, 0), fmt(r.ab?.slow, 2)]),
    ),
  );
  lines.push('');
  lines.push('## Resident memory', '');
  if (mem.length) {
    lines.push(
      `Headless gauge at 100 Hz on the web-like load (2 workers) under CPython ${memPy?.version}, for ${mode.memMinutes} min${mode === QUICK ? ' (quick mode; the full run is 10 min)' : ''}, running alongside the measurements above.`,
      '',
    );
    lines.push(
      mdTable(
        ['after', 'RSS MiB'],
        mem.map((m) => [`${(m.at / 60).toFixed(1)} min`, m.rss.toFixed(1)]),
      ),
    );
  } else lines.push('not measured');
  lines.push('');
  const ref = results.find((r) => r.py.mm[0] === 3 && r.py.mm[1] === 12 && !r.py.freeThreaded && r.load.key === 'deep');
  lines.push('## Against the reference', '');
  lines.push(
    'Goals: ≤ 55 µs per sample, < 1% of a core headless at 100 Hz, no measurable slowdown. The Austin column is the figure noted when the goals were set (about 220 µs per full sample of 8 threads × 52 frames on 3.12, 3.4% of a core at 100 Hz); the section below measures the peers in the same run.',
    '',
  );
  if (ref) {
    lines.push(
      mdTable(
        ['measure', 'Austin', 'goal', 'gauge (3.12, deep)'],
        [
          ['µs per full sample (wall, median)', '~220', '≤ 55', fmt(ref.snap?.medUs)],
          ['µs per full sample (CPU)', '', '≤ 55', fmt(ref.snap?.cpuUs)],
          [
            'µs per sample, stacks only (wall / CPU)',
            '',
            '',
            `${fmt(ref.snap?.bareMedUs)} / ${fmt(ref.snap?.bareCpuUs)}`,
          ],
          ['% of a core at 100 Hz (headless session)', '3.4', '< 1', pct(ref.cpu.get(100), (w) => w.cpuPct)],
          ['% of a core at 100 Hz (`gauge record`)', '3.4', '< 1', fmt(ref.cli.get('record@100'), 2)],
          ['target slowdown at 100 Hz', '', '~0', fmt(ref.ab?.slow, 2) + '%'],
        ],
      ),
    );
  } else lines.push('No CPython 3.12 found: no direct comparison.');
  const errs = results.filter((r) => r.error);
  if (errs.length) lines.push('', '## Errors', '', ...errs.map((r) => `- ${name(r).replace(' | ', ' ')}: ${r.error}`));
  if (extra) lines.push('', extra);
  lines.push('');
  return lines.join('\n');
}

/** One interpreter per wanted version ("3.14t" = free-threaded); each one missing is said, with where it would come from. */
function pick(wanted: string[]): Python[] {
  const pys: Python[] = [];
  for (const w of wanted) {
    const p = pythonFor(w);
    if (p) pys.push(p);
    else
      log(
        `# SKIP: no CPython ${w} found (pyenv, GAUGE_TEST_PYTHONS, or ${sharedPythonsDir() ?? '$GAUGE_PYTHONS'}/pythons.txt from ../shared/pythons/install.sh)`,
      );
  }
  return pys;
}

/** Peer comparison on the given interpreters: the RESULTS.md section. */
async function benchPeers(pys: Python[], mode: PeerMode, command: string): Promise<string> {
  const started = new Date();
  const loadBefore = loadavg();
  const austin = findAustin();
  log(austin.ok ? `# Austin ${austin.value.version}: ${austin.value.exe}` : `# SKIP Austin: ${austin.why}`);
  const runner = findPythons()
    .filter((p) => p.mm[0] === 3 && !p.freeThreaded)
    .at(-1);
  if (!runner) throw new Error('no CPython 3 to run bench/rusage.py');
  const pycache = mkdtempSync(join(tmpdir(), 'gauge-bench-pycache-'));
  const peers: Peers = { austin, runner, pycache };
  try {
    const costs: CostRow[] = [];
    const tachyons = new Map(pys.map((p) => [p, findTachyon(p)] as const));
    if (![...tachyons.values()].some((t) => t.ok))
      log('# SKIP Tachyon: no CPython 3.15 found (debian-3.15 from ../shared/pythons/install.sh)');
    for (const py of pys) {
      const t = tachyons.get(py)!;
      log(`peers: ${py.label}, deep 8 × 50${t.ok ? ', with Tachyon' : ''}`);
      costs.push(await measureCosts(py, t, peers, mode));
    }
    // 100 Hz: Austin on the reference 3.12, Tachyon on 3.15; gauge beside each.
    const records: RecordRow[] = [];
    const ref = pys.find((p) => p.mm[0] === 3 && p.mm[1] === 12 && !p.freeThreaded);
    if (ref && austin.ok) {
      log(`100 Hz: ${ref.label}, gauge and Austin`);
      records.push(await measureRecord(ref, recordTools(peers, { ok: false, why: '' }, true), peers, mode));
    } else log('# SKIP 100 Hz against Austin: needs CPython 3.12 and Austin');
    const t15 = pys.find((p) => tachyons.get(p)?.ok);
    if (t15) {
      log(`100 Hz: ${t15.label}, gauge and Tachyon`);
      records.push(await measureRecord(t15, recordTools(peers, tachyons.get(t15)!, false), peers, mode));
    }
    let head = 'unknown';
    try {
      head = execFileSync('git', ['-C', packageRoot(), 'rev-parse', '--short', 'HEAD'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      /* not a checkout */
    }
    return peersSection(costs, records, mode, {
      austin,
      started,
      head,
      loadBefore,
      loadAfter: loadavg(),
      wallS: (Date.now() - started.getTime()) / 1000,
      command,
    });
  } finally {
    rmSync(pycache, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = new Date();
  if (opts.peersOnly) {
    const pys = pick(opts.pythons ?? PEER_WANTED);
    if (!pys.length) throw new Error('no interpreter to compare on');
    const section = await benchPeers(
      pys,
      PEERS_QUICK,
      `npm run bench -- --peers${opts.pythons ? ` --pythons ${opts.pythons.join(',')}` : ''}`,
    );
    writeFileSync(opts.out, spliceSection(opts.out, section));
    log(`wrote the peers section of ${opts.out}`);
    return;
  }
  const pys = pick(opts.pythons ?? WANTED);
  if (!pys.length) {
    process.stderr.write('bench: no CPython 3 interpreter found: set GAUGE_TEST_PYTHONS or install pyenv versions\n');
    process.exit(1);
  }
  const loads = LOADS.filter((l) => !opts.loads || opts.loads.includes(l.key));
  const useStrace = straceAvailable();
  if (!useStrace)
    log('# strace not found: system calls per sample other than process_vm_readv are n/a (apt-get install strace)');
  const tools = opts.readerOnly ? new Map() : cliTools();
  for (const t of ['record', 'top'])
    if (!opts.readerOnly && !tools.has(t)) log(`# gauge ${t} not available yet: its CPU use is reported as pending`);
  const memPy = pys.find((p) => p.mm[1] === 12 && !p.freeThreaded) ?? pys[pys.length - 1]!;
  const mem = opts.readerOnly
    ? { done: Promise.resolve([]), stop: () => {} }
    : startMemoryRun(memPy, opts.mode.memMinutes);
  const onSignal = () => {
    mem.stop();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results: ComboResult[] = [];
  for (const py of pys)
    for (const l of loads) {
      if (opts.mode.only && !opts.pythons && !opts.loads && !opts.mode.only(py.mm[1], l.key)) continue;
      log(`${py.label} ${l.key}: ${l.label}`);
      results.push(await benchCombo(py, l, opts.mode, useStrace, tools, opts.readerOnly));
    }
  log(`waiting for the ${opts.mode.memMinutes} min memory run…`);
  const memSamples = await mem.done.catch((e: unknown) => {
    log(`memory run failed: ${String(e)}`);
    return [];
  });
  // The peers run after the memory run so that their flat-out sampling does not share the cores with it.
  const peers = opts.readerOnly
    ? ''
    : await benchPeers(
        pick(opts.pythons ?? PEER_WANTED),
        opts.mode === QUICK ? PEERS_QUICK : PEERS_FULL,
        `npm run bench${opts.mode === QUICK ? ' -- --quick' : ''}`,
      );
  const note = `Bench process itself: ${rssMiB('self').toFixed(0)} MiB RSS, ${procCpuSeconds('self').toFixed(1)} s CPU, ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s wall.`;
  writeFileSync(
    opts.out,
    report(opts.mode, results, memSamples, memPy, useStrace, [...tools.keys()], started, note) +
      (peers ? '\n' + peers + '\n' : ''),
  );
  log(`wrote ${opts.out}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
