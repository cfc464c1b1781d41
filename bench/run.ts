/**
 * `npm run bench`: gauge's overhead and per-sample cost on the reference
 * loads (bench/loads), its cost against thread count, the target's slowdown
 * with gauge attached, and the same costs for its peers (Austin, Tachyon)
 * measured in the same run, written to bench/RESULTS.md with the issue 13
 * acceptance table on top.
 *
 *   node dist/bench/run.js [--quick] [--pythons 3.8,3.12,3.14t] [--loads deep,web,idle] [--out FILE]
 *   node dist/bench/run.js --only slowdown[,threads,peers,matrix]   # some sections alone
 *
 * --only replaces only the named sections of RESULTS.md (the acceptance table
 * is written by a full run alone); --peers = --only peers; --reader-only
 * measures the per-sample cost alone (quick iteration on the reader).
 * Every figure is the median of several runs with its spread.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPythons, pythonFor, sharedPythonsDir, type Python } from '../test/helpers/pythons.js';
import {
  loadavg,
  measureCosts,
  measureRecord,
  PEERS_FULL,
  PEERS_QUICK,
  PEERS_BEGIN,
  PEERS_END,
  peersSection,
  recordTools,
  type CostRow,
  type Peers,
  type PeerMode,
  type RecordRow,
} from './compare.js';
import { findAustin, findTachyon } from './peers.js';
import { recordShape, runHeadless, timeSnapshots } from './snapshots.js';
import type { Window } from './headless.js';
import { ACCEPTANCE_BEGIN, ACCEPTANCE_END, acceptanceSection } from './acceptance.js';
import {
  measureSlowdown,
  SLOWDOWN_BEGIN,
  SLOWDOWN_END,
  SLOWDOWN_FULL,
  SLOWDOWN_QUICK,
  SLOWDOWN_WANTED,
  slowdownSection,
  type SlowdownMode,
  type SlowdownRow,
} from './slowdown.js';
import { measureThreads, type Row as ThreadsRow } from './threads.js';
import {
  MATRIX_BEGIN,
  MATRIX_END,
  THREADS_BEGIN,
  THREADS_END,
  threadsSection,
  writeSections,
  type Section,
} from './sections.js';
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

const SECTIONS = ['matrix', 'threads', 'slowdown', 'peers'] as const;
type SectionName = (typeof SECTIONS)[number];

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
  memMinutes: number;
  slowdown: SlowdownMode;
  peers: PeerMode;
  threadCounts: number[];
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
  memMinutes: 10,
  slowdown: SLOWDOWN_FULL,
  peers: PEERS_FULL,
  threadCounts: [1, 8, 200, 1000],
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
  memMinutes: 1.5,
  slowdown: SLOWDOWN_QUICK,
  peers: PEERS_QUICK,
  threadCounts: [1, 8, 200, 1000],
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
const CLI_RATES = [100];
/**
 * The matrix's interpreters: one per frame-layout kind (3.8 before 3.11's
 * interpreter frames, 3.11, 3.12, 3.14, 3.15) and one free-threaded build.
 * 3.13 and 3.13t are left out to keep the full run under 40 minutes: their
 * layouts are 3.12's and 3.14t's kinds, and the peers section still runs 3.13.
 */
const WANTED = ['3.8', '3.11', '3.12', '3.14', '3.14t', '3.15'];
/** Interpreters of the peer comparison: issue 10's 3.12, 3.14, 3.15 and 3.14t, and 3.13 that Austin still reads (3.13t, where every Austin sample is invalid, is left out). */
const PEER_WANTED = ['3.12', '3.13', '3.14', '3.14t', '3.15'];

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
  only: Set<SectionName>;
}

function parseArgs(argv: string[]): Opts {
  let mode = FULL;
  let pythons: string[] | undefined;
  let loads: string[] | undefined;
  let out = join(packageRoot(), 'bench', 'RESULTS.md');
  let readerOnly = false;
  let only: Set<SectionName> | undefined;
  const usage =
    'usage: node dist/bench/run.js [--quick] [--pythons 3.8,3.12] [--loads deep,web,idle] [--out FILE] [--reader-only] [--only matrix,threads,slowdown,peers] [--peers]\n';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') mode = QUICK;
    else if (a === '--pythons') pythons = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--loads') loads = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--out') out = argv[++i] ?? out;
    else if (a === '--reader-only') readerOnly = true;
    else if (a === '--peers' || a === '--only') {
      const names = a === '--peers' ? ['peers'] : (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = names.find((n) => !(SECTIONS as readonly string[]).includes(n));
      if (bad !== undefined || !names.length) {
        process.stderr.write(
          `bench: --only takes ${SECTIONS.join(', ')} (comma-separated), not '${bad ?? ''}'\n${usage}`,
        );
        process.exit(2);
      }
      only = new Set([...(only ?? []), ...(names as SectionName[])]);
    } else {
      process.stderr.write(`bench: unknown option ${a}\n${usage}`);
      process.exit(2);
    }
  }
  if (readerOnly) only = new Set(['matrix']);
  return { mode, pythons, loads, out, readerOnly, only: only ?? new Set(SECTIONS) };
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
    const dir = mkdtempSync(join(tmpdir(), 'gauge-bench-'));
    try {
      for (const [tool, argsFor] of tools)
        for (const rate of CLI_RATES) {
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
  command: string,
  loadBefore: string,
): string {
  const name = (r: ComboResult) => `${r.py.version}${r.py.freeThreaded ? 't' : ''} | ${r.load.key}`;
  const pct = (ws: Window[] | undefined, f: (w: Window) => number, d = 2) =>
    ws?.length ? fmt(spread(ws.map(f)), d) : 'n/a';
  const lines: string[] = [MATRIX_BEGIN];
  lines.push(
    `Generated by \`${command}\` (${mode.name} mode) on ${started.toISOString()}: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Linux ${release()}, Node ${process.version}; load average (1/5/15 min) before ${loadBefore}, after ${loadavg()}.`,
  );
  lines.push(
    'Each figure is the median over runs, with min–max in parentheses. Loads are in `bench/loads/` (deep: 8 threads × 50 frames busy in short leaf calls; web: 16 workers handling short requests, some waiting on I/O; idle: 200 parked threads and one lightly busy). ' +
      `Interpreters: ${[...new Set(results.map((r) => r.py.label))].join(', ')} — one per frame-layout kind and one free-threaded build; 3.13 and 3.13t (the same kinds as 3.12 and 3.14t) are left out of this matrix to keep the full run under 40 minutes. ` +
      "The target's slowdown is measured in its own section, on three interpreters, with an A/A control.",
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
    `"session": a SamplingSession in its own Node process (bench/headless.ts, with a per-leaf count consumer, the headless core of \`gauge record\`), ${mode.cpuRuns} windows of ${mode.cpuSeconds} s; "process" is its utime+stime, "sampler thread" the native thread alone. "record" and "top": CPU time (sum of its threads' /proc schedstat) of \`gauge record --pid P -o x.folded\` and \`gauge top --pid P --batch --delay 1\` processes, ${mode.cpuRuns} windows of ${mode.cliSeconds} s after 1.2 s of start-up, at 100 Hz only (the session's 1000 Hz columns show the sampler's cost there; the CLI's 1000 Hz cells were dropped to keep the full run under 40 minutes)${tools.length < 2 ? ` (${['record', 'top'].filter((t) => !has(t)).join(', ')}: not in this checkout yet, pending)` : ''}.`,
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
        'top 100 Hz',
      ],
      results.map((r) => [
        name(r),
        pct(r.cpu.get(100), (w) => w.cpuPct),
        pct(r.cpu.get(100), (w) => w.samplerPct),
        pct(r.cpu.get(1000), (w) => w.cpuPct),
        pct(r.cpu.get(1000), (w) => w.samplerPct),
        cli(r, 'record@100'),
        cli(r, 'top@100'),
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
  lines.push('## Resident memory', '');
  if (mem.length) {
    const at2 = mem.find((m) => m.at >= 119);
    const last = mem.at(-1)!;
    if (at2 && last.at > at2.at)
      lines.push(
        `Growth after minute 2: ${(last.rss - at2.rss).toFixed(1)} MiB (${at2.rss.toFixed(1)} MiB at ${(at2.at / 60).toFixed(1)} min, ${last.rss.toFixed(1)} at ${(last.at / 60).toFixed(1)} min; issue 13's goal ≤ 5 MiB).`,
        '',
      );
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
  const errs = results.filter((r) => r.error);
  if (errs.length) lines.push('', '## Errors', '', ...errs.map((r) => `- ${name(r).replace(' | ', ' ')}: ${r.error}`));
  if (extra) lines.push('', extra);
  lines.push(MATRIX_END);
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

/** Peer comparison on the given interpreters: the RESULTS.md section and its figures. */
async function benchPeers(
  pys: Python[],
  mode: PeerMode,
  command: string,
): Promise<{ section: string; costs: CostRow[]; records: RecordRow[] }> {
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
    const section = peersSection(costs, records, mode, {
      austin,
      started,
      head,
      loadBefore,
      loadAfter: loadavg(),
      wallS: (Date.now() - started.getTime()) / 1000,
      command,
    });
    return { section, costs, records };
  } finally {
    rmSync(pycache, { recursive: true, force: true });
  }
}

/** The matrix (every interpreter × load) with the memory run alongside it. */
async function benchMatrix(opts: Opts, command: string, started: Date) {
  const loadBefore = loadavg();
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
  const note = `Bench process after the matrix: ${rssMiB('self').toFixed(0)} MiB RSS, ${procCpuSeconds('self').toFixed(1)} s CPU, ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s wall.`;
  const section = report(
    opts.mode,
    results,
    memSamples,
    memPy,
    useStrace,
    [...tools.keys()],
    started,
    note,
    command,
    loadBefore,
  );
  return { section, mem: memSamples };
}

async function benchThreads(opts: Opts, command: string): Promise<{ section: string; rows: ThreadsRow[] }> {
  const [py] = pick(opts.pythons?.slice(0, 1) ?? ['3.12']);
  if (!py) return { section: '', rows: [] };
  const started = new Date();
  const loadBefore = loadavg();
  const rows: ThreadsRow[] = [];
  for (const n of opts.mode.threadCounts) {
    log(`threads: ${py.label}, ${n} threads`);
    rows.push(await measureThreads(py.exe, n));
    log(`  ${rows.at(-1)!.cpu} CPU µs/sample, late ticks at 100 Hz ${rows.at(-1)!.late} %`);
  }
  return { section: threadsSection(py, rows, { command, started, loadBefore, loadAfter: loadavg() }), rows };
}

async function benchSlowdown(opts: Opts, command: string): Promise<{ section: string; rows: SlowdownRow[] }> {
  const pys = pick(opts.pythons ?? SLOWDOWN_WANTED);
  const started = new Date();
  const loadBefore = loadavg();
  const rows: SlowdownRow[] = [];
  for (const py of pys) {
    log(`slowdown: ${py.label}, deep 8 × 50, ${opts.mode.slowdown.rounds} rounds`);
    rows.push(await measureSlowdown(py, opts.mode.slowdown));
  }
  const info = { command, started, loadBefore, loadAfter: loadavg() };
  return { section: slowdownSection(rows, opts.mode.slowdown, info), rows };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opts = parseArgs(argv);
  const started = new Date();
  const command = `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`;
  const full = SECTIONS.every((s) => opts.only.has(s)) && !opts.pythons && !opts.loads;
  const out: Section[] = [];
  const matrix = opts.only.has('matrix') ? await benchMatrix(opts, command, started) : undefined;
  if (matrix) out.push({ begin: MATRIX_BEGIN, end: MATRIX_END, text: matrix.section });
  // Threads, slowdown and peers run after the memory run, so that it does not share the cores with them.
  const threads = opts.only.has('threads') ? await benchThreads(opts, command) : undefined;
  if (threads?.section) out.push({ begin: THREADS_BEGIN, end: THREADS_END, text: threads.section });
  const slowdown = opts.only.has('slowdown') ? await benchSlowdown(opts, command) : undefined;
  if (slowdown) out.push({ begin: SLOWDOWN_BEGIN, end: SLOWDOWN_END, text: slowdown.section });
  let peers: Awaited<ReturnType<typeof benchPeers>> | undefined;
  if (opts.only.has('peers')) {
    const pys = pick(opts.pythons ?? PEER_WANTED);
    if (!pys.length) throw new Error('no interpreter to compare on');
    peers = await benchPeers(pys, opts.mode.peers, command);
    out.push({ begin: PEERS_BEGIN, end: PEERS_END, text: peers.section });
  }
  if (full && matrix && threads && slowdown && peers) {
    const text = acceptanceSection({
      command,
      started,
      costs: peers.costs,
      records: peers.records,
      slowdown: slowdown.rows,
      threads: threads.rows,
      mem: matrix.mem,
      memMinutes: opts.mode.memMinutes,
    });
    out.unshift({ begin: ACCEPTANCE_BEGIN, end: ACCEPTANCE_END, text });
  }
  writeSections(opts.out, out);
  log(
    `wrote ${out.length} section(s) of ${opts.out} in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s: ${[...opts.only].join(', ')}${full ? ', acceptance' : ''}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
