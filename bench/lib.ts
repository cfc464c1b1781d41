/** Shared by the benchmark runner and its sampler child: statistics, loads, /proc readings. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** Package root, from dist/bench/ or bench/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      // By the command it installs, not the package name (the npm name is gauge-profiler).
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
      if (pkg.bin?.gauge) return dir;
    } catch {
      /* keep walking up */
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the gauge package root');
}

export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/**
 * 95 % bootstrap interval of the median: the median of 2,000 resamples (with
 * replacement), their 2.5th and 97.5th percentiles. A fixed-seed generator,
 * so the same figures give the same interval.
 */
export function bootstrapMedianCI(xs: readonly number[], resamples = 2000): [number, number] {
  if (!xs.length) return [NaN, NaN];
  let seed = 0x9e3779b9;
  const rnd = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const meds: number[] = [];
  const draw = new Array<number>(xs.length);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < xs.length; i++) draw[i] = xs[Math.floor(rnd() * xs.length)]!;
    meds.push(median(draw));
  }
  return [quantile(meds, 0.025), quantile(meds, 0.975)];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** "12.3 (11.9–13.0)": median with min–max over runs. */
export function fmt(s: Spread | undefined, digits = 1): string {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  const f = (v: number) => v.toFixed(digits);
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * CPU time of a process's live threads in seconds, from each task's schedstat
 * (nanoseconds, where /proc/PID/stat only has 10 ms ticks); falls back to stat.
 */
export function procCpuSeconds(pid: number | 'self'): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* thread exited meanwhile */
      }
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    /* no schedstat: use the tick counts */
  }
  return procStatSeconds(pid);
}

/** utime+stime of a process in seconds, from /proc/PID/stat. */
export function procStatSeconds(pid: number | 'self'): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // fields after the comm start at field 3 (state); utime is field 14, stime 15
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Resident set size in MiB, from /proc/PID/status. */
export function rssMiB(pid: number | 'self'): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** One report of a load: [monotonic s, work units, CPU s]. */
type Report = [number, number, number];

/**
 * Work per wall and per CPU second over report streams (a window of each):
 * per CPU = all work / all CPU; per wall = the streams' rates summed, scaled
 * up for streams with too few reports to count.
 */
function windowOf(streams: Report[][]): WorkWindow | undefined {
  let work = 0;
  let cpuS = 0;
  let rate = 0;
  let wallS = 0;
  let used = 0;
  for (const r of streams) {
    if (r.length < 2) continue;
    const [ta, wa, ca] = r[0]!;
    const [tb, wb, cb] = r[r.length - 1]!;
    work += wb - wa;
    cpuS += cb - ca;
    rate += (wb - wa) / (tb - ta);
    wallS = Math.max(wallS, tb - ta);
    used++;
  }
  if (!used) return undefined;
  return { wallS, cpuS, perWallS: (rate * streams.length) / used, perCpuS: work / cpuS };
}

/** The load's own account of one window: work per wall second and per second of its CPU time. */
export interface WorkWindow {
  wallS: number;
  cpuS: number;
  perWallS: number;
  perCpuS: number;
}

/** A reference load from bench/loads, reporting its own work counter and CPU time. */
export class Load {
  private readonly ticks: Report[] = []; // the reporting thread's
  private readonly workers = new Map<number, Report[]>(); // each worker's own, when asked for (threadTicks)
  readonly proc: ChildProcess;
  private ready: Promise<void>;

  /** tickS: how often the load reports (its default 0.25 s); threadTicks: each worker reports too (deep.py). */
  constructor(python: string, script: string, args: string[] = [], tickS?: number, threadTicks = false) {
    const dir = join(packageRoot(), 'bench', 'loads');
    const env = { ...process.env };
    if (tickS) env.GAUGE_LOAD_TICK_S = String(tickS);
    if (threadTicks) env.GAUGE_LOAD_THREAD_TICKS = '1';
    this.proc = spawn(python, ['-u', join(dir, script), ...args], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    this.proc.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    this.ready = new Promise((resolve, reject) => {
      const rl = createInterface({ input: this.proc.stdout! });
      rl.on('line', (line) => {
        if (line === 'ready') resolve();
        const m = /^tick (\S+) (\d+)(?: (\S+))?$/.exec(line);
        if (m) this.ticks.push([Number(m[1]), Number(m[2]), m[3] === undefined ? NaN : Number(m[3])]);
        const w = /^wtick (\d+) (\S+) (\d+) (\S+)$/.exec(line);
        if (w) {
          const list = this.workers.get(Number(w[1])) ?? [];
          if (!list.length) this.workers.set(Number(w[1]), list);
          list.push([Number(w[2]), Number(w[3]), Number(w[4])]);
        }
      });
      this.proc.on('exit', (code) => reject(new Error(`load ${script} exited (${code}): ${err.trim()}`)));
      this.proc.on('error', (e) => reject(new Error(`load ${script} did not start: ${e.message}`)));
      setTimeout(() => reject(new Error(`load ${script} not ready after 20 s`)), 20000).unref();
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async start(): Promise<void> {
    await this.ready;
    await sleep(500); // let threads settle into their loops
  }

  /**
   * The load's work from now until its reports inside the window show it has
   * used cpuMs of CPU time (so a window holds as much of the target's running
   * whatever else the machine runs), or maxMs have passed. Each report stream
   * (every worker's own when the load sends them, else the reporting
   * thread's) counts between its first and last report inside the window
   * (both clocks are CLOCK_MONOTONIC), so nothing before or after counts;
   * undefined when no stream had two reports inside.
   */
  async window(cpuMs: number, maxMs: number): Promise<WorkWindow | undefined> {
    const t0 = Number(process.hrtime.bigint()) / 1e9;
    const streams = this.workers.size ? [...this.workers.values()] : [this.ticks];
    const from = streams.map((r) => r.length);
    let t1 = Infinity;
    const measure = () => windowOf(streams.map((r, i) => r.slice(from[i]).filter(([t]) => t >= t0 && t <= t1)));
    for (;;) {
      await sleep(20);
      const w = measure();
      if ((w && w.cpuS * 1000 >= cpuMs) || (Number(process.hrtime.bigint()) / 1e9 - t0) * 1000 >= maxMs) break;
    }
    // Reports stamped inside the window may still be in the pipe (a busy machine delays this process too).
    t1 = Number(process.hrtime.bigint()) / 1e9;
    await sleep(150);
    return measure();
  }

  stop(): void {
    if (this.proc.exitCode === null && !this.proc.killed) this.proc.kill('SIGKILL');
  }
}

export function straceAvailable(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Count system calls of `work` (run synchronously in this process) with strace -c -f. */
export async function straceCount(work: () => void): Promise<Map<string, number> | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'gauge-bench-'));
  const file = join(dir, 'strace.txt');
  const st = spawn('strace', ['-c', '-f', '-p', String(process.pid), '-o', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let attached = false;
  st.stderr!.on('data', (d: Buffer) => {
    if (/attached/.test(d.toString())) attached = true;
  });
  for (let i = 0; i < 50 && !attached && st.exitCode === null; i++) await sleep(50);
  if (!attached) {
    st.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  await sleep(200);
  work();
  const done = new Promise((r) => st.on('exit', r));
  st.kill('SIGINT');
  await done;
  const counts = new Map<string, number>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || !/^[\d.]+$/.test(f[0]!) || f[f.length - 1] === 'total') continue;
      counts.set(f[f.length - 1]!, Number(f[3]));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return counts;
}

// Node's own idle threads and event loop, not the reader.
export const NODE_NOISE = new Set([
  'futex',
  'epoll_wait',
  'epoll_pwait',
  'epoll_pwait2',
  'restart_syscall',
  'rt_sigreturn',
  'write',
  'madvise',
  'mprotect',
  'munmap',
  'mmap',
]);
