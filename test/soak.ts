/**
 * Soak: a SamplingSession at 100 Hz against a churning target (threads
 * starting and ending, recursion building and unwinding) for SOAK_MINUTES
 * (default 30). Every 30 s it records gauge's heap and RSS after a GC, then
 * prints the memory slope (least squares, KB/min, after a warm-up) and the
 * error rate (unreadable thread stacks / thread stacks read). Exits non-zero
 * when either exceeds its bound. Run with `npm run soak`.
 * The target's recursion rests at its deepest point like real work would;
 * SOAK_UNPACED=1 makes it unwind flat out (the worst case for torn reads,
 * which test/hardening-moving.test.ts covers with a looser bound).
 */
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SamplingSession } from '../src/sampling/session.js';
import { findPythons } from './helpers/pythons.js';

const minutes = Number(process.env.SOAK_MINUTES ?? 30);
const everyMs = Number(process.env.SOAK_INTERVAL_MS ?? 30000);
// Bounds: a leak of one frame's strings per sample would show as MBs per minute.
const MAX_SLOPE_KB_MIN = Number(process.env.SOAK_MAX_SLOPE_KB_MIN ?? 100);
const MAX_ERROR_RATE = 0.005;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

async function main(): Promise<number> {
  if (!(minutes > 0)) {
    console.error('soak: SOAK_MINUTES must be a positive number');
    return 2;
  }
  const py = findPythons()
    .filter((p) => p.mm[0] === 3)
    .pop();
  if (!py) {
    console.error('soak: no CPython 3 found (set GAUGE_TEST_PYTHONS or install one under pyenv)');
    return 2;
  }
  const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'hard_churn.py');
  const child = spawn(py.exe, [fixture, '0', ...(process.env.SOAK_UNPACED ? [] : ['--pace'])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cleanup = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`fixture exited early (${c})`)));
  });

  const session = new SamplingSession(child.pid!, { rateHz: 100 });
  let threadStacks = 0;
  let samples = 0;
  let maxThreads = 0;
  session.onSamples((batch) => {
    samples += batch.length;
    for (const s of batch) {
      threadStacks += s.threads.length;
      if (s.threads.length > maxThreads) maxThreads = s.threads.length;
    }
  });
  let exited = false;
  session.onProcessExit(() => {
    exited = true;
  });
  session.start();
  console.log(
    `soak: ${minutes} min at 100 Hz against ${py.label} pid ${child.pid} (${process.env.SOAK_UNPACED ? 'unpaced' : 'paced'} churn); memory every ${everyMs / 1000} s`,
  );

  const t0 = Date.now();
  const xs: number[] = [];
  const rss: number[] = [];
  const heap: number[] = [];
  const end = t0 + minutes * 60000;
  while (Date.now() < end && !exited) {
    await new Promise((r) => setTimeout(r, Math.min(everyMs, end - Date.now())));
    gc();
    const m = process.memoryUsage();
    const min = (Date.now() - t0) / 60000;
    xs.push(min);
    rss.push(m.rss / 1024);
    heap.push(m.heapUsed / 1024);
    const st = session.stats();
    console.log(
      `soak: ${min.toFixed(1)} min rss ${(m.rss / 1048576).toFixed(1)} MB heap ${(m.heapUsed / 1048576).toFixed(1)} MB ` +
        `samples ${st.taken} errors ${st.errors} dropped ${st.dropped} frames ${session.frames.size} load ${loadavg()[0]!.toFixed(1)}`,
    );
  }
  const st = session.stats();
  session.stop();
  cleanup();
  if (exited) {
    console.error('soak: the target exited before the end');
    return 1;
  }
  // The first minutes are warm-up (JIT, frame table filling, buffers); the slope is over the rest.
  const skip = xs.findIndex((x) => x >= Math.min(2, minutes / 4));
  const from = skip < 0 ? 0 : skip;
  const sx = xs.slice(from);
  const rssSlope = sx.length >= 2 ? slope(sx, rss.slice(from)) : 0;
  const heapSlope = sx.length >= 2 ? slope(sx, heap.slice(from)) : 0;
  const errorRate = threadStacks ? st.errors / threadStacks : 0;
  console.log(
    `soak: result ${((Date.now() - t0) / 60000).toFixed(1)} min, ${st.taken} samples taken, ${samples} delivered, ` +
      `${threadStacks} thread stacks (max ${maxThreads} threads), ${st.errors} errors = ${(errorRate * 100).toFixed(3)}%, ` +
      `${st.dropped} dropped, ${st.late} late; RSS slope ${rssSlope.toFixed(1)} KB/min, heap slope ${heapSlope.toFixed(1)} KB/min ` +
      `(bound ${MAX_SLOPE_KB_MIN} KB/min, ${sx.length} points); frames ${session.frames.size}`,
  );
  let rc = 0;
  if (sx.length < 2) console.log('soak: too short for a memory slope (needs >= 2 points after warm-up)');
  if (rssSlope > MAX_SLOPE_KB_MIN || heapSlope > MAX_SLOPE_KB_MIN) {
    console.error('soak: FAIL memory grows');
    rc = 1;
  }
  if (errorRate > MAX_ERROR_RATE) {
    console.error(`soak: FAIL error rate above ${MAX_ERROR_RATE * 100}%`);
    rc = 1;
  }
  if (st.taken === 0) {
    console.error('soak: FAIL no samples taken');
    rc = 1;
  }
  if (!rc) console.log('soak: PASS');
  return rc;
}

main().then(
  (rc) => process.exit(rc),
  (err) => {
    console.error(`soak: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
