/**
 * The agent's CPU budget: one sampling rate for every watched process,
 * lowered when the agent's own CPU time (sampler thread, decoding, encoding,
 * uploads — everything getrusage counts for gauge) would exceed --max-cpu,
 * raised back toward --rate when there is room. Pure: it takes measurements
 * and returns a rate, so it is tested without processes.
 *
 * The cost of a second of sampling grows with rate × processes, plus a fixed
 * part (discovery, timers). Steering rate by rate × target / measured drives
 * the measured CPU to the target whatever that split is: the fixed part
 * simply leaves less for sampling, down to the floor rate.
 */

export interface BudgetOptions {
  /** Most CPU, as a fraction of one core (0.01 = 1 %). */
  maxCpu: number;
  /** The rate asked for (--rate); never exceeded. */
  maxRateHz: number;
  /** The floor: below it the agent keeps sampling and reports being over budget. */
  minRateHz: number;
  /** Share of the budget aimed at, leaving room for bursts (uploads at each interval). */
  headroom?: number;
  /** Assumed CPU seconds per process sample before anything is measured. */
  assumedSampleCostS?: number;
}

export interface BudgetMeasure {
  /** CPU seconds the agent used in the period. */
  cpuS: number;
  /** Wall seconds of the period. */
  wallS: number;
  /** The rate in force during the period. */
  rateHz: number;
  /** Processes sampled now. */
  processes: number;
}

/** Changes smaller than this share are not worth restarting the sampler for. */
const HYSTERESIS = 0.15;
const MAX_STEP_UP = 2;
const MAX_STEP_DOWN = 0.25;

export class RateBudget {
  private smoothed: number | undefined;
  private readonly target: number;
  private readonly assumedCost: number;

  constructor(readonly opts: BudgetOptions) {
    this.target = opts.maxCpu * (opts.headroom ?? 0.8);
    this.assumedCost = opts.assumedSampleCostS ?? 250e-6;
  }

  private clamp(hz: number): number {
    return Math.min(this.opts.maxRateHz, Math.max(this.opts.minRateHz, hz));
  }

  /** The rate to start with for this many processes, before any measurement. */
  initial(processes: number): number {
    if (processes <= 0) return this.opts.maxRateHz;
    return this.clamp(this.target / (processes * this.assumedCost));
  }

  /** CPU share of the last periods, smoothed; undefined before the first. */
  get cpuShare(): number | undefined {
    return this.smoothed;
  }

  /** Whether the agent is over its budget even at the floor rate. */
  overBudget(rateHz: number): boolean {
    return this.smoothed !== undefined && this.smoothed > this.opts.maxCpu && rateHz <= this.opts.minRateHz;
  }

  /** The rate for the next period. */
  next(m: BudgetMeasure): number {
    if (!(m.wallS > 0)) return m.rateHz;
    const share = m.cpuS / m.wallS;
    this.smoothed = this.smoothed === undefined ? share : 0.5 * this.smoothed + 0.5 * share;
    if (m.processes <= 0) return m.rateHz;
    const ratio = this.target / Math.max(this.smoothed, 1e-6);
    const proposed = this.clamp(m.rateHz * Math.min(MAX_STEP_UP, Math.max(MAX_STEP_DOWN, ratio)));
    // Over budget, any cut helps; under it, small raises are not worth a sampler restart.
    if (this.smoothed > this.opts.maxCpu && proposed < m.rateHz) return proposed;
    return Math.abs(proposed - m.rateHz) > HYSTERESIS * m.rateHz ? proposed : m.rateHz;
  }
}
