/**
 * `gauge agent`'s own cost with many busy processes: N CPU-bound Pythons
 * (test/fixtures/agent_target.py), the agent watching them with its default
 * budget (--max-cpu 1) and uploading to a local DataKit receiver every 10 s.
 * Each run starts an agent, lets it warm up (start-up and the budget's
 * first steps are not steady state), then reads its CPU (utime+stime of the
 * whole process, from /proc/PID/stat, so exited sampler threads count too)
 * and RSS every 10 s. CPU time, not wall time, so a loaded machine slows the
 * bench without inflating the figures; runs are repeated and reported as
 * median (min–max). With --compare ENTRY (another build's gauge entry point,
 * e.g. a copy of dist/src with a one-line main), the two agents run side by
 * side in every run, so both see the same load. Prints Markdown; not part
 * of `npm test`.
 *
 *   node dist/bench/agent.js [--processes 20] [--seconds 60] [--warmup 30] [--runs 3] [--max-cpu 1] [--rate HZ] [--compare ENTRY]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPythons, pythonFor } from '../test/helpers/pythons.js';
import { Receiver } from '../test/export-helpers.js';
import { packageRoot, rssMiB, sleep } from './lib.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function argString(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** CPU seconds of a whole process (every thread, live or exited). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "median (min–max)" of a list. */
function spread(xs: readonly number[], digits = 2): string {
  if (!xs.length) return '–';
  return `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
}

interface Variant {
  label: string;
  entry: string;
}

interface RunResult {
  /** CPU % of one core over the measured span. */
  total: number;
  /** CPU % of one core in each 10 s window. */
  windows: number[];
  rateHz: string;
  rssMiB: number;
  uploads: number;
  overBudgetSaid: boolean;
}

/** One agent of one variant for warmup + seconds; its figures. */
class AgentRun {
  private readonly rx = new Receiver();
  private agent: ChildProcess | undefined;
  private log = '';
  private prev = { cpu: 0, t: 0 };
  private first = { cpu: 0, t: 0 };
  private uploads0 = 0;
  readonly windows: number[] = [];

  constructor(
    readonly v: Variant,
    private readonly token: string,
    private readonly maxCpu: number,
    private readonly rateHz: number | undefined,
  ) {}

  async start(): Promise<void> {
    await this.rx.start();
    const args = ['agent', '--datakit', this.rx.url, '--match', this.token, '-d', '10'];
    args.push('--max-cpu', String(this.maxCpu), '--status-interval', '10');
    // A fixed rate (--rate 0.1: the floor) shows the fixed cost, the part that does not shrink with the rate.
    if (this.rateHz) args.push('--rate', String(this.rateHz), '--min-rate', String(this.rateHz));
    this.agent = spawn(process.execPath, [this.v.entry, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.agent.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
  }

  mark(first: boolean): void {
    if (this.agent!.exitCode !== null || this.agent!.signalCode !== null)
      throw new Error(`${this.v.label}: the agent exited: ${this.log.trim().split('\n').slice(-5).join(' | ')}`);
    const now = { cpu: cpuSeconds(this.agent!.pid!), t: Date.now() };
    if (first) {
      this.first = now;
      this.uploads0 = this.rx.datakit.length;
    } else this.windows.push((100 * (now.cpu - this.prev.cpu)) / ((now.t - this.prev.t) / 1000));
    this.prev = now;
  }

  async finish(): Promise<RunResult> {
    const status = this.log.split('\n').filter((l) => l.includes('status:'));
    const result: RunResult = {
      total: (100 * (this.prev.cpu - this.first.cpu)) / ((this.prev.t - this.first.t) / 1000),
      windows: this.windows,
      rateHz: / ([\d.]+) Hz/.exec(status.at(-1) ?? '')?.[1] ?? '?',
      rssMiB: rssMiB(this.agent!.pid!),
      uploads: this.rx.datakit.length - this.uploads0,
      overBudgetSaid: this.log.includes('over the CPU budget'),
    };
    const exited = new Promise((r) => this.agent!.once('exit', r));
    this.agent!.kill('SIGTERM');
    await Promise.race([exited, sleep(20000)]);
    this.agent!.kill('SIGKILL');
    await this.rx.stop();
    return result;
  }
}

async function main(): Promise<void> {
  const n = arg('processes', 20);
  const seconds = arg('seconds', 60);
  const warmup = arg('warmup', 30);
  const runs = arg('runs', 3);
  const maxCpu = arg('max-cpu', 1);
  const compare = argString('compare');
  const rateHz = argString('rate') ? Number(argString('rate')) : undefined;
  const py =
    pythonFor('3.12') ??
    findPythons()
      .filter((p) => p.mm[0] === 3)
      .at(-1);
  if (!py) throw new Error('no CPython 3 found');
  const variants: Variant[] = [{ label: 'this build', entry: join(packageRoot(), 'bin', 'gauge') }];
  if (compare) variants.unshift({ label: `compare (${compare})`, entry: compare });
  const token = `gauge-agent-bench-${process.pid}`;
  const fixture = join(packageRoot(), 'test', 'fixtures', 'agent_target.py');
  const kids: ChildProcess[] = [];
  const results = new Map<string, RunResult[]>(variants.map((v) => [v.label, []]));
  try {
    for (let i = 0; i < n; i++) {
      kids.push(
        spawn(py.exe, [fixture, token, '0'], { stdio: 'ignore', env: { ...process.env, DD_SERVICE: `bench-${i}` } }),
      );
    }
    for (let r = 1; r <= runs; r++) {
      const agents = variants.map((v) => new AgentRun(v, token, maxCpu, rateHz));
      for (const a of agents) await a.start();
      await sleep(warmup * 1000);
      for (const a of agents) a.mark(true);
      const t0 = Date.now();
      for (let s = 10; s <= seconds; s += 10) {
        await sleep(t0 + s * 1000 - Date.now());
        for (const a of agents) a.mark(false);
      }
      for (const a of agents) {
        const res = await a.finish();
        results.get(a.v.label)!.push(res);
        process.stderr.write(`run ${r} ${a.v.label}: ${res.total.toFixed(2)} % at ${res.rateHz} Hz\n`);
      }
    }
  } finally {
    for (const k of kids) k.kill('SIGKILL');
  }
  console.log(
    `## gauge agent: ${n} busy CPython ${py.version} processes, --max-cpu ${maxCpu}, ` +
      `${runs} runs of ${seconds} s after ${warmup} s warm-up${rateHz ? `, rate fixed at ${rateHz} Hz` : ''}\n`,
  );
  console.log('Median (min–max) over runs; "10 s windows" over every window of every run.\n');
  console.log(
    '| agent | CPU % of one core, per run | CPU %, 10 s windows | rate at the end, Hz | RSS MiB | DataKit uploads per run | over budget said |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const v of variants) {
    const rs = results.get(v.label)!;
    console.log(
      `| ${v.label} | ${spread(rs.map((x) => x.total))} | ${spread(rs.flatMap((x) => x.windows))} | ` +
        `${rs.map((x) => x.rateHz).join(', ')} | ${spread(
          rs.map((x) => x.rssMiB),
          1,
        )} | ${spread(
          rs.map((x) => x.uploads),
          0,
        )} | ${rs.filter((x) => x.overBudgetSaid).length}/${rs.length} |`,
    );
  }
  console.log(`\nBudget: ${maxCpu} % of one core (the agent aims at 80 % of it).`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
