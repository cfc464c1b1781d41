/** How the bench measures gauge itself: the reader's snapshot timed in this process, and a headless session in its own. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { native } from '../src/reader/native.js';
import { Target } from '../src/reader/target.js';
import { FrameRegistry } from '../src/reader/frame-registry.js';
import type { Window } from './headless.js';
import type { SamplingSession } from '../src/sampling/session.js';
import type { Sample } from '../src/sampling/types.js';
import { median, packageRoot, quantile, sleep, spread } from './lib.js';

/** Threads and frames in a snapshot record. */
export function recordShape(words: Uint32Array): { threads: number; frames: number } {
  const n = words[4]!;
  let p = 6;
  let frames = 0;
  for (let t = 0; t < n; t++) {
    frames += words[p + 7]!;
    p += 8 + words[p + 7]!;
  }
  return { threads: n, frames };
}

/**
 * `gauge_snapshot` back to back after 50 warm-up calls: `runs` runs of `count`
 * samples; per run the median and p99 wall time and this process's CPU time
 * (user+system) per sample, in µs. The target stays attached for the caller.
 */
export async function timeSnapshots(pid: number, runs: number, count: number, threadStats: boolean) {
  const t = Target.attach(pid, new FrameRegistry(), { threadStats });
  const api = native();
  const buf = new Uint32Array(1 << 20);
  const snap = () => {
    const n = api.snapshot(t.handle, buf, buf.length);
    if (n < 0) throw new Error(`snapshot failed (${n})`);
  };
  for (let i = 0; i < 50; i++) snap();
  const meds: number[] = [];
  const p99s: number[] = [];
  const cpu: number[] = [];
  const sc0 = t.info().syscalls;
  for (let r = 0; r < runs; r++) {
    const times: number[] = [];
    const c0 = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const a = process.hrtime.bigint();
      snap();
      times.push(Number(process.hrtime.bigint() - a) / 1000);
    }
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / count);
    meds.push(median(times));
    p99s.push(quantile(times, 0.99));
    await sleep(20);
  }
  const vmReads = (t.info().syscalls - sc0) / (runs * count);
  return { t, snap, buf, med: spread(meds), p99: spread(p99s), cpu: spread(cpu), cpuRuns: cpu, vmReads };
}

/** A headless SamplingSession in its own Node process (bench/headless.ts): one Window per run and rate. */
export function runHeadless(pid: number, rates: number[], seconds: number, runs: number, warmupMs = 400): Window[] {
  const exe = join(packageRoot(), 'dist', 'bench', 'headless.js');
  const out = execFileSync(process.execPath, [exe, JSON.stringify({ pid, rates, seconds, runs, warmupMs })], {
    encoding: 'utf8',
    timeout: (rates.length * runs * (seconds + 3) + 20) * 1000,
  });
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Window);
}

/** A light consumer as a recorder has one: samples counted by their leaf function. */
export function countLeaves(s: SamplingSession): Map<number, number> {
  const counts = new Map<number, number>();
  s.onSamples((batch: readonly Sample[]) => {
    for (const smp of batch)
      for (const t of smp.threads) {
        const leaf = t.frames[0];
        if (leaf !== undefined) counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
      }
  });
  return counts;
}
