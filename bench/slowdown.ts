/**
 * Target slowdown with gauge attached (issue 13), measured so that the
 * machine's other load does not swamp it: the reference load reports its work
 * per second of its own CPU time (and per wall second), over many short
 * windows. Each round runs every arm once in a random order — no gauge (A),
 * no gauge again (A′, the A/A control that shows the noise floor), gauge at
 * 100 Hz (B) and gauge flat out (V, a known slowdown that must stand out of
 * the floor, validating the method) — and every arm is compared with the
 * same round's A. Per round: 100·ln(A/X) (≈ (A − X) / A); over rounds: median, IQR, min–max
 * and a bootstrap 95 % interval of the median.
 */
import type { Python } from '../test/helpers/pythons.js';
import { SamplingSession } from '../src/sampling/session.js';
import { countLeaves } from './snapshots.js';
import { bootstrapMedianCI, Load, quantile, sleep, spread, type Spread, type WorkWindow } from './lib.js';

export interface SlowdownMode {
  rounds: number;
  /**
   * Each arm's measured window, after the settle time (gauge attached and
   * sampling for B and V): until the load has used windowCpuMs of CPU, at
   * most windowMaxMs.
   */
  windowCpuMs: number;
  windowMaxMs: number;
  settleMs: number;
  /** How often the load reports its counters (s). */
  tickS: number;
}

export const SLOWDOWN_FULL: SlowdownMode = {
  rounds: 20,
  windowCpuMs: 700,
  windowMaxMs: 2000,
  settleMs: 250,
  tickS: 0.05,
};
export const SLOWDOWN_QUICK: SlowdownMode = { ...SLOWDOWN_FULL, rounds: 8 };

/** Interpreters of the A/B: the reference 3.12, 3.15 (Tachyon's) and one free-threaded build. */
export const SLOWDOWN_WANTED = ['3.12', '3.15', '3.14t'];

interface Arm {
  key: string;
  label: string;
  /** Sampling rate of gauge during the window; undefined = not attached. */
  rateHz?: number;
}

const FLAT_OUT_HZ = 20000;
const ARMS: Arm[] = [
  { key: 'A', label: 'no gauge' },
  { key: "A'", label: 'no gauge again (A/A control)' },
  { key: 'B', label: 'gauge at 100 Hz', rateHz: 100 },
  { key: 'V', label: 'gauge flat out (validation)', rateHz: FLAT_OUT_HZ },
];

/**
 * Slowdown of x against a, in %: 100·ln(a/x), which is (a − x)/a for small
 * differences but symmetric, so that noise in a (the denominator of
 * (a − x)/a) does not push the A/A control's median below zero.
 */
export const slowdownPct = (a: number, x: number): number => 100 * Math.log(a / x);

/** Per-round slowdown of one arm against A, in % (positive = the target did less work). */
export interface ArmResult {
  arm: Arm;
  perCpu: number[];
  perWall: number[];
  /** Samples per second gauge took in the arm's windows. */
  gaugeHz: number[];
}

export interface SlowdownRow {
  py: Python;
  rounds: number;
  /** A's own figures: work per CPU second and the load's CPU use (cores). */
  aPerCpu: Spread;
  aCores: Spread;
  arms: ArmResult[];
  wallS: number;
  error?: string;
}

export interface Stat {
  med: number;
  ci: [number, number];
  iqr: [number, number];
  min: number;
  max: number;
  n: number;
}

export function stat(xs: readonly number[]): Stat {
  return {
    med: quantile(xs, 0.5),
    ci: bootstrapMedianCI(xs),
    iqr: [quantile(xs, 0.25), quantile(xs, 0.75)],
    min: Math.min(...xs),
    max: Math.max(...xs),
    n: xs.length,
  };
}

function shuffled<T>(xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** One arm's window: gauge attached at its rate (with a recorder-like consumer) or not at all. */
async function armWindow(load: Load, arm: Arm, mode: SlowdownMode): Promise<{ w?: WorkWindow; hz: number }> {
  if (arm.rateHz === undefined) {
    await sleep(mode.settleMs);
    return { w: await load.window(mode.windowCpuMs, mode.windowMaxMs), hz: 0 };
  }
  const s = new SamplingSession(load.pid, { rateHz: arm.rateHz });
  countLeaves(s);
  s.start();
  try {
    await sleep(mode.settleMs);
    const t0 = process.hrtime.bigint();
    const n0 = s.rawStats().ticks;
    const w = await load.window(mode.windowCpuMs, mode.windowMaxMs);
    const hz = (s.rawStats().ticks - n0) / (Number(process.hrtime.bigint() - t0) / 1e9);
    return { w, hz };
  } finally {
    s.stop();
  }
}

const log = (m: string) => process.stdout.write(m + '\n');

/** The A/B/A′/V rounds on the reference load (deep.py 8 × 50) under one interpreter. */
export async function measureSlowdown(py: Python, mode: SlowdownMode): Promise<SlowdownRow> {
  const started = Date.now();
  const arms: ArmResult[] = ARMS.filter((a) => a.key !== 'A').map((arm) => ({
    arm,
    perCpu: [],
    perWall: [],
    gaugeHz: [],
  }));
  const aPerCpu: number[] = [];
  const aCores: number[] = [];
  const row = (): SlowdownRow => ({
    py,
    rounds: aPerCpu.length,
    aPerCpu: spread(aPerCpu),
    aCores: spread(aCores),
    arms,
    wallS: (Date.now() - started) / 1000,
  });
  const load = new Load(py.exe, 'deep.py', ['8', '50'], mode.tickS, true);
  try {
    await load.start();
    // Warm-up round, discarded: the first attach maps the target's files and fills caches on both sides.
    for (const arm of ARMS) await armWindow(load, arm, mode);
    for (let r = 0; r < mode.rounds; r++) {
      const got = new Map<string, { w?: WorkWindow; hz: number }>();
      for (const arm of shuffled(ARMS)) got.set(arm.key, await armWindow(load, arm, mode));
      const a = got.get('A')!.w;
      if (!a || ARMS.some((x) => !got.get(x.key)!.w)) {
        log(`  round ${r + 1}: a window had too few reports from the load, left out`);
        continue;
      }
      aPerCpu.push(a.perCpuS);
      aCores.push(a.cpuS / a.wallS);
      for (const ar of arms) {
        const x = got.get(ar.arm.key)!;
        ar.perCpu.push(slowdownPct(a.perCpuS, x.w!.perCpuS));
        ar.perWall.push(slowdownPct(a.perWallS, x.w!.perWallS));
        ar.gaugeHz.push(x.hz);
      }
      log(
        `  round ${r + 1}: ` +
          arms
            .map((ar) => `${ar.arm.key} ${ar.perCpu.at(-1)!.toFixed(2)}% cpu, ${ar.perWall.at(-1)!.toFixed(2)}% wall`)
            .join('; '),
      );
    }
    return row();
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`  error: ${error}`);
    return { ...row(), error };
  } finally {
    load.stop();
  }
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
export const statCell = (s: Stat) =>
  s.n
    ? `${f2(s.med)} [${f2(s.ci[0])}, ${f2(s.ci[1])}] (IQR ${f2(s.iqr[0])}–${f2(s.iqr[1])}; ${f2(s.min)}–${f2(s.max)})`
    : 'n/a';

/** The control's spread and the validation arm's: does V's interval lie above A/A's? */
function resolved(r: SlowdownRow): string {
  const aa = r.arms.find((a) => a.arm.key === "A'");
  const v = r.arms.find((a) => a.arm.key === 'V');
  if (!aa?.perCpu.length || !v?.perCpu.length) return 'n/a';
  const floor = stat(aa.perCpu);
  const val = stat(v.perCpu);
  const floorHi = Math.max(Math.abs(floor.ci[0]), Math.abs(floor.ci[1]));
  return val.ci[0] > floorHi
    ? `yes: V's interval starts at ${f2(val.ci[0])} %, above the A/A interval's ±${f2(floorHi)} %`
    : `no: V's interval starts at ${f2(val.ci[0])} %, inside the A/A interval's ±${f2(floorHi)} %`;
}

export const SLOWDOWN_BEGIN = '<!-- slowdown: generated by bench/slowdown.ts (npm run bench -- --only slowdown) -->';
export const SLOWDOWN_END = '<!-- /slowdown -->';

export function slowdownSection(
  rows: SlowdownRow[],
  mode: SlowdownMode,
  info: { command: string; started: Date; loadBefore: string; loadAfter: string },
): string {
  const L: string[] = [SLOWDOWN_BEGIN, '## Target slowdown with gauge attached (issue 13)', ''];
  L.push(
    `Generated by \`${info.command}\` on ${info.started.toISOString()}; load average (1/5/15 min) before ${info.loadBefore}, after ${info.loadAfter}, on 2 cores shared with other jobs. ` +
      `Target: bench/loads/deep.py 8 50 (the reference load), whose every worker reports its own work count, CLOCK_MONOTONIC and its thread CPU time (\`time.thread_time()\`) every ${mode.tickS * 1000} ms as it runs (no thread waits for the GIL to report). ` +
      `${mode.rounds} rounds after one warm-up round; each round runs the four arms once in a random order, each a window after ${mode.settleMs} ms of settling that lasts until the load has used ${mode.windowCpuMs} ms of CPU (at most ${mode.windowMaxMs} ms): ` +
      ARMS.map((a) => `**${a.key}** ${a.label}`).join(', ') +
      ` (a SamplingSession in the bench process — the core of \`gauge record\` — with a per-leaf count consumer; flat out = asked for ${FLAT_OUT_HZ} Hz). ` +
      "A window counts the work between the first and the last report inside it. Slowdown per round = 100·ln(A/X) against the same round's A, in % (≈ (A − X)/A for small differences, and symmetric, so noise in A does not bias the A/A control); positive = the target did less work. " +
      "**Per CPU second** (work / the load's CPU seconds) is what gauge costs the target itself: it does not move when other jobs take the cores; **per wall second** also counts CPU the target lost to anything else on the machine, gauge included. " +
      'Cells: median [bootstrap 95 % interval of the median] (IQR; min–max over rounds). A′ is the A/A control: its interval is the noise floor; V must lie clearly above it for the method to see a slowdown at all. ' +
      'Interpreters: the reference 3.12, 3.15 and the free-threaded 3.14t (there deep.py runs its 8 threads in parallel on both cores, so any CPU gauge takes is taken from the target, and per wall second shows it).',
    '',
  );
  L.push('| CPython | arm | slowdown per CPU second, % | slowdown per wall second, % | gauge samples/s |');
  L.push('|---|---|---|---|---|');
  for (const r of rows) {
    if (!r.rounds) {
      L.push(`| ${r.py.label} | — | ${r.error ? `error: ${r.error.replace(/\|/g, '/')}` : 'no complete round'} | | |`);
      continue;
    }
    for (const a of r.arms) {
      const hz = a.arm.rateHz ? spread(a.gaugeHz) : undefined;
      L.push(
        `| ${r.py.label} | ${a.arm.key}: ${a.arm.label} | ${statCell(stat(a.perCpu))} | ${statCell(stat(a.perWall))} | ${hz ? `${hz.median.toFixed(0)} (${hz.min.toFixed(0)}–${hz.max.toFixed(0)})` : '—'} |`,
      );
    }
  }
  L.push('');
  for (const r of rows.filter((x) => x.rounds))
    L.push(
      `- ${r.py.label}: ${r.rounds} rounds in ${r.wallS.toFixed(0)} s; A: ${r.aPerCpu.median.toFixed(0)} work per CPU second, the load on ${r.aCores.median.toFixed(2)} (${r.aCores.min.toFixed(2)}–${r.aCores.max.toFixed(2)}) cores; the method resolves V: ${resolved(r)}.`,
    );
  L.push(SLOWDOWN_END);
  return L.join('\n');
}
