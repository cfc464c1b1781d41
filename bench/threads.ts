/**
 * The reader's cost against thread count (issue 13): bench/loads/idle.py N
 * (N-1 threads parked a few frames deep, one lightly busy) for N = 1, 8, 200,
 * 1000 on one CPython, then a headless 100 Hz session at each N.
 *
 *   node dist/bench/threads.js [--python 3.12] [--counts 1,8,200,1000]
 *
 * Prints a markdown table; `npm run bench` writes it to RESULTS.md (run.ts
 * calls measureThreads and threadsTable). GAUGE_NATIVE_LIB=other/libgauge.so
 * measures another build of the reader the same way (before/after).
 */
import { pythonFor } from '../test/helpers/pythons.js';
import { runHeadless, timeSnapshots } from './snapshots.js';
import { pathToFileURL } from 'node:url';
import { fmt, Load, NODE_NOISE, spread, straceAvailable, straceCount, type Spread } from './lib.js';
import { loadavg } from './compare.js';

export interface Row {
  threads: number;
  /** The figures the acceptance table checks: CPU µs per sample, late ticks % at 100 Hz. */
  cpuUs: Spread;
  latePct: Spread;
  wall: string;
  cpu: string;
  syscalls: string;
  preads: string;
  vm: string;
  tick: string;
  /** The sampler thread's own CPU per tick at 100 Hz: what a tick costs with cold caches, unlike back-to-back snapshots. */
  tickCpu: string;
  maxTick: string;
  late: string;
  pct: string;
}

export async function measureThreads(python: string, n: number): Promise<Row> {
  const load = new Load(python, 'idle.py', [String(n)]);
  try {
    await load.start();
    const count = n >= 1000 ? 100 : 300;
    const s = await timeSnapshots(load.pid, 5, count, true);
    let syscalls = '—';
    let preads = '—';
    try {
      if (straceAvailable()) {
        const counts = await straceCount(() => {
          for (let i = 0; i < count; i++) s.snap();
        });
        if (counts) {
          let all = 0;
          for (const [k, v] of counts) if (!NODE_NOISE.has(k)) all += v;
          syscalls = (all / count).toFixed(1);
          preads = ((counts.get('pread64') ?? 0) / count).toFixed(1);
        }
      }
    } finally {
      s.t.close();
    }
    const ws = runHeadless(load.pid, [100], 3, 3);
    return {
      threads: s.buf[4]!,
      cpuUs: s.cpu,
      latePct: spread(ws.map((w) => w.lateFrac * 100)),
      wall: fmt(s.med),
      cpu: fmt(s.cpu),
      syscalls,
      preads,
      vm: s.vmReads.toFixed(1),
      tick: fmt(spread(ws.map((w) => w.meanTickUs))),
      tickCpu: fmt(spread(ws.map((w) => (w.samplerPct / 100 / w.achievedHz) * 1e6))),
      maxTick: fmt(spread(ws.map((w) => w.maxTickUs)), 0),
      late: fmt(spread(ws.map((w) => w.lateFrac * 100)), 1),
      pct: fmt(spread(ws.map((w) => w.cpuPct)), 2),
    };
  } finally {
    load.stop();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
  };
  const wanted = opt('--python', '3.12');
  const counts = opt('--counts', '1,8,200,1000').split(',').map(Number);
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) {
    process.stderr.write('threads: --counts takes positive integers, e.g. 1,8,200,1000\n');
    process.exit(2);
  }
  const py = pythonFor(wanted);
  if (!py) {
    process.stderr.write(`threads: no CPython ${wanted} found\n`);
    process.exit(2);
  }
  const before = loadavg();
  const rows: Row[] = [];
  for (const n of counts) {
    process.stderr.write(`threads: ${n}…\n`);
    rows.push(await measureThreads(py.exe, n));
  }
  const lib = process.env.GAUGE_NATIVE_LIB ? ` (reader: GAUGE_NATIVE_LIB=${process.env.GAUGE_NATIVE_LIB})` : '';
  const out = [
    `CPython ${py.label}${lib}, load average before ${before}, after ${loadavg()}.`,
    '',
    ...threadsTable(rows),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

/** The Markdown table of the rows. */
export function threadsTable(rows: Row[]): string[] {
  return [
    '| threads | µs/sample median | CPU µs/sample | syscalls/sample | of which pread | process_vm_readv/sample | 100 Hz: mean tick µs | sampler thread CPU µs/tick | max tick µs | late ticks % | process CPU % of a core |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.threads} | ${r.wall} | ${r.cpu} | ${r.syscalls} | ${r.preads} | ${r.vm} | ${r.tick} | ${r.tickCpu} | ${r.maxTick} | ${r.late} | ${r.pct} |`,
    ),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  main().catch((err: unknown) => {
    process.stderr.write(`threads: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
