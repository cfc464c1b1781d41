/**
 * `gauge agent`'s engine: one sampling session for every Python process on
 * the host, discovery scans that add new ones, one profile per process per
 * interval to each destination, and a CPU budget that sets the one rate all
 * processes are sampled at. A process that exits is flushed, then forgotten
 * (its session record, exports and discovery entry), so memory follows the
 * processes alive, not the ones ever seen.
 */
import { SamplingSession } from '../sampling/session.js';
import type { Sample } from '../sampling/types.js';
import { AgentExports, type AgentDestinations } from './agent-exports.js';
import { RateBudget } from './budget.js';
import { ProcessDiscovery, type DiscoverOptions } from './discover.js';
import { identify, type IdentityDefaults } from './identity.js';

export interface AgentOptions extends DiscoverOptions {
  /** Highest rate (--rate), Hz. */
  rateHz: number;
  /** Lowest rate the budget may choose, Hz. */
  minRateHz: number;
  /** CPU budget, fraction of one core. */
  maxCpu: number;
  scanMs: number;
  /** How often the budget is re-evaluated, ms. */
  budgetMs: number;
  defaults: IdentityDefaults;
  destinations: AgentDestinations;
  /** Where the agent's lines go (one per process watched or gone, status lines). */
  log: (line: string) => void;
}

export interface AgentStatus {
  processes: number;
  rateHz: number;
  cpuShare?: number;
  samples: number;
  watchedEver: number;
  exports: string;
}

export class Agent {
  readonly session: SamplingSession;
  private readonly discovery: ProcessDiscovery;
  private readonly budget: RateBudget;
  private readonly exports: AgentExports;
  private readonly flushing = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private samples = 0;
  private watchedEver = 0;
  private last = { cpuUs: 0, wallMs: 0 };
  private warm = false;
  private saidOver = false;

  constructor(private readonly o: AgentOptions) {
    this.budget = new RateBudget({ maxCpu: o.maxCpu, maxRateHz: o.rateHz, minRateHz: o.minRateHz });
    this.session = new SamplingSession(0, {
      rateHz: o.rateHz,
      drainMs: 250,
      // Reading a process's thread names costs about 0.5 ms (a 1 MiB buffer, the threading module's dict);
      // they change rarely, and a thread started since the last read is labelled "thread (pid, tid)" meanwhile.
      threadNamesMs: 60000,
      // At agent rates a 2 MiB ring holds many seconds of samples; the default 16 MiB is for 1000 Hz.
      bufferWords: 1 << 19,
    });
    this.exports = new AgentExports(this.session.frames, o.destinations, () => this.session.opts.rateHz);
    this.discovery = new ProcessDiscovery(o, (pid) => this.session.addProcess(pid));
  }

  start(): void {
    this.session.onSamples((s) => this.route(s));
    this.session.onProcessExit((pid) => this.exited(pid));
    this.session.start();
    this.scan();
    // First guess from the number of processes; the measured CPU corrects it from the next period on.
    this.setRate(Math.min(this.session.opts.rateHz, this.budget.initial(this.session.sampledCount)));
    this.last = { cpuUs: cpuUs(), wallMs: Date.now() };
    this.timers.push(setInterval(() => this.scan(), this.o.scanMs));
    this.timers.push(setInterval(() => this.steer(), this.o.budgetMs));
  }

  private scan(): void {
    for (const pid of this.discovery.scan()) {
      const p = this.session.processes.get(pid);
      if (!p) continue;
      const id = identify(pid, p.cmdline, p.pythonVersion, this.o.defaults);
      this.exports.open(id, () => p.cmdline);
      this.watchedEver++;
      this.o.log(`watching pid ${pid}: service ${id.service}, CPython ${id.runtimeVersion}`);
    }
  }

  private route(samples: readonly Sample[]): void {
    this.samples += samples.length;
    let run: Sample[] = [];
    // The sampler emits one record per process per tick; group consecutive ones of a process.
    for (const s of samples) {
      if (run.length && run[0]!.pid !== s.pid) {
        this.exports.push(run[0]!.pid, run);
        run = [];
      }
      run.push(s);
    }
    if (run.length) this.exports.push(run[0]!.pid, run);
  }

  private exited(pid: number): void {
    const flush = this.exports.close(pid).then(() => {
      this.session.forget(pid);
      this.discovery.release(pid);
      this.flushing.delete(flush);
      this.o.log(`pid ${pid} exited; its last profile flushed`);
    });
    this.flushing.add(flush);
  }

  private setRate(hz: number): void {
    if (Math.abs(hz - this.session.opts.rateHz) < 1e-9) return;
    this.session.setRate(hz);
  }

  private steer(): void {
    const now = { cpuUs: cpuUs(), wallMs: Date.now() };
    if (!this.warm) {
      // The first period pays for start-up (module loading, the first attaches, JIT): not what sampling costs.
      this.warm = true;
      this.last = now;
      return;
    }
    const rate = this.budget.next({
      cpuS: (now.cpuUs - this.last.cpuUs) / 1e6,
      wallS: (now.wallMs - this.last.wallMs) / 1000,
      rateHz: this.session.opts.rateHz,
      processes: this.session.sampledCount,
    });
    this.last = now;
    this.setRate(rate);
    if (!this.saidOver && this.budget.overBudget(this.session.opts.rateHz)) {
      // Said once: the status lines (if asked for) keep saying it while it lasts.
      this.saidOver = true;
      const share = ((this.budget.cpuShare ?? 0) * 100).toFixed(2);
      this.o.log(
        `over the CPU budget at the lowest rate (${fmtHz(this.o.minRateHz)} Hz): ${share} % of one core against ` +
          `--max-cpu ${(this.o.maxCpu * 100).toFixed(2)}; the rest is fixed cost (discovery, uploads), not sampling`,
      );
    }
  }

  status(): AgentStatus {
    return {
      processes: this.session.sampledCount,
      rateHz: this.session.opts.rateHz,
      cpuShare: this.budget.cpuShare,
      samples: this.samples,
      watchedEver: this.watchedEver,
      exports: this.exports.status(),
    };
  }

  statusLine(): string {
    const s = this.status();
    const cpu = s.cpuShare === undefined ? '' : `, cpu ${(s.cpuShare * 100).toFixed(2)} %`;
    const over = this.budget.overBudget(s.rateHz) ? ' (over budget at the lowest rate)' : '';
    return (
      `${s.processes} processes (${s.watchedEver} watched in all), ${fmtHz(s.rateHz)} Hz${cpu}` +
      ` of ${(this.o.maxCpu * 100).toFixed(2)} %${over}, ${s.samples} samples` +
      (s.exports ? `, ${s.exports}` : '')
    );
  }

  /** Stop sampling, flush every process's open window and spans (bounded), stop the exporters. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.session.stop();
    await Promise.all(this.flushing);
    await this.exports.closeAll();
  }
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function fmtHz(hz: number): string {
  return hz >= 10 ? hz.toFixed(0) : hz.toFixed(2);
}
