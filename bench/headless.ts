/**
 * The headless sampler the benchmark measures, run as its own process so the
 * OS accounting covers gauge alone: a SamplingSession at a given rate with a
 * light consumer (per-leaf counts, as a recorder aggregates). Prints one JSON
 * line per measurement window.
 *
 *   node dist/bench/headless.js '{"pid":1,"rates":[100],"seconds":3,"runs":3}'
 *   node dist/bench/headless.js '{"pid":1,"rates":[100],"seconds":600,"runs":1,"rssEvery":30}'
 */
import { SamplingSession } from '../src/sampling/session.js';
import { countLeaves } from './snapshots.js';
import { rssMiB, sleep } from './lib.js';

interface Job {
  pid: number;
  rates: number[];
  seconds: number;
  runs: number;
  warmupMs?: number;
  /** Print RSS every this many seconds (memory run). */
  rssEvery?: number;
}

export interface Window {
  rate: number;
  seconds: number;
  cpuPct: number;
  samplerPct: number;
  achievedHz: number;
  lateFrac: number;
  meanTickUs: number;
  maxTickUs: number;
  dropped: number;
  rssMiB: number;
}

async function measure(job: Job, rate: number): Promise<Window> {
  const s = new SamplingSession(job.pid, { rateHz: rate });
  countLeaves(s);
  s.start();
  try {
    await sleep(job.warmupMs ?? 500);
    const c0 = process.cpuUsage();
    const r0 = s.rawStats();
    const st0 = s.stats();
    const t0 = process.hrtime.bigint();
    if (job.rssEvery) {
      const end = Date.now() + job.seconds * 1000;
      while (Date.now() < end) {
        await sleep(Math.min(job.rssEvery * 1000, end - Date.now()));
        const el = Number(process.hrtime.bigint() - t0) / 1e9;
        process.stdout.write(JSON.stringify({ rssAt: el, rssMiB: rssMiB('self') }) + '\n');
      }
    } else {
      await sleep(job.seconds * 1000);
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c1 = process.cpuUsage(c0);
    const r1 = s.rawStats();
    const st1 = s.stats();
    const ticks = r1.ticks - r0.ticks;
    return {
      rate,
      seconds: wall,
      cpuPct: ((c1.user + c1.system) / 1e6 / wall) * 100,
      samplerPct: ((r1.samplerCpuNs - r0.samplerCpuNs) / 1e9 / wall) * 100,
      achievedHz: ticks / wall,
      lateFrac: ticks ? (st1.late - st0.late) / ticks : 0,
      meanTickUs: ticks ? (r1.readerNs - r0.readerNs) / ticks / 1000 : NaN,
      maxTickUs: r1.maxTickNs / 1000,
      dropped: st1.dropped - st0.dropped,
      rssMiB: rssMiB('self'),
    };
  } finally {
    s.stop();
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  if (!job.pid || !job.rates?.length) {
    process.stderr.write('usage: headless.js \'{"pid":N,"rates":[100],"seconds":3,"runs":3}\'\n');
    process.exit(2);
  }
  for (const rate of job.rates)
    for (let i = 0; i < job.runs; i++) process.stdout.write(JSON.stringify(await measure(job, rate)) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`headless: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
