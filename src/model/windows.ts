/**
 * Time windows of the profile. Each thread and process keeps three: `cur`
 * (being filled by the hot path), `last` (the refresh window just closed)
 * and `cum` (everything since start or reset). roll() closes `cur`: it
 * becomes `last` and joins `cum`. Views of "since start" read cum + cur, so
 * nothing counted is ever missing.
 */
import { CountTable } from './count-table.js';
import { ReasonTally } from './reason-share.js';
import { StackTrie } from './stack-trie.js';

export type Window = 'cumulative' | 'last';

/** Per-thread scalar tallies of a window. */
export class ThreadTally {
  /** Thread samples seen. */
  samples = 0;
  /** ... of which idle. */
  idle = 0;
  /** ... holding the GIL. */
  gil = 0;
  /** ... whose stack could not be read. */
  errors = 0;
  /** Samples counted in the function tables (all, or only GIL holders with --gil), active and idle. */
  counted = 0;
  countedIdle = 0;
  /** Active samples left out of the function tables: runnable, but got no CPU since the previous sample. */
  starved = 0;
  /** CPU time consumed, ns (sum of the known deltas). */
  cpuNs = 0;

  addTally(o: ThreadTally): void {
    this.samples += o.samples;
    this.idle += o.idle;
    this.gil += o.gil;
    this.errors += o.errors;
    this.counted += o.counted;
    this.countedIdle += o.countedIdle;
    this.starved += o.starved;
    this.cpuNs += o.cpuNs;
  }
}

/** Per-thread tallies and function/line tables of one window. */
export class ThreadWindow extends ThreadTally {
  readonly funcs: CountTable;
  readonly lines: CountTable;
  /** Whole stacks, for the call tree and flame graph. */
  readonly stacks: StackTrie;
  constructor(cap: number) {
    super();
    this.funcs = new CountTable(cap);
    this.lines = new CountTable(cap);
    this.stacks = new StackTrie(cap);
  }
  addAll(o: ThreadWindow): void {
    this.addTally(o);
    this.funcs.addAll(o.funcs);
    this.lines.addAll(o.lines);
    this.stacks.addAll(o.stacks);
  }
}

/** Per-process tallies of one window: ticks (one Sample each) and how many had a GIL holder / an active thread. */
export class ProcessWindow {
  ticks = 0;
  gilTicks = 0;
  activeTicks = 0;
  /** Ticks read from a free-threaded target running without a GIL. */
  noGilTicks = 0;
  /** Why stacks failed or were cut. */
  readonly reasons = new ReasonTally();
  firstNs = -1n;
  lastNs = -1n;
  add(o: ProcessWindow): void {
    this.ticks += o.ticks;
    this.gilTicks += o.gilTicks;
    this.activeTicks += o.activeTicks;
    this.noGilTicks += o.noGilTicks;
    this.reasons.addAll(o.reasons);
    if (o.firstNs >= 0n && (this.firstNs < 0n || o.firstNs < this.firstNs)) this.firstNs = o.firstNs;
    if (o.lastNs > this.lastNs) this.lastNs = o.lastNs;
  }
  /** Wall seconds covered (first to last tick, plus one mean interval). */
  seconds(rateHz: number): number {
    if (this.ticks === 0) return 0;
    if (this.ticks === 1 || this.lastNs <= this.firstNs) return this.ticks / rateHz;
    const span = Number(this.lastNs - this.firstNs) / 1e9;
    return span + span / (this.ticks - 1);
  }
  /** Seconds one tick stands for: the achieved interval, or the requested one before there is data. */
  interval(rateHz: number): number {
    if (this.ticks < 2 || this.lastNs <= this.firstNs) return 1 / rateHz;
    return Number(this.lastNs - this.firstNs) / 1e9 / (this.ticks - 1);
  }
}
