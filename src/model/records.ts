/**
 * What the model remembers of each process and thread: identity, latest
 * state, and its three windows (windows.ts). Threads beyond a cap per
 * process are folded into one "(exited threads)" bucket, longest-unseen first.
 */
import type { ThreadState } from '../sampling/types.js';
import { ProcessWindow, ThreadTally, ThreadWindow, type Window } from './windows.js';

/** A thread as the model knows it. */
export class ThreadRecord {
  name = '';
  nativeId = 0;
  state: ThreadState = 'unknown';
  lastIdle = false;
  /** Monotonic ns of the last sample that saw it. */
  lastSeenNs = 0n;
  /** ... and of the last one that found it active, with the state it was in then. */
  lastActiveNs = -1n;
  activeState: ThreadState = 'unknown';
  /** Whether the thread was in the most recent sample of its process. */
  alive = true;
  /** Folded bucket of threads dropped by the cap. */
  folded = false;
  cum: ThreadWindow;
  cur: ThreadWindow;
  last: ThreadWindow;
  constructor(
    readonly pid: number,
    readonly threadId: bigint,
    private readonly cap: number,
  ) {
    this.cum = new ThreadWindow(cap);
    this.cur = new ThreadWindow(cap);
    this.last = new ThreadWindow(cap);
  }
  get key(): string {
    return `${this.pid}:${this.threadId}`;
  }
  /**
   * The state to show, steadied over holdNs: a thread active at any sample
   * within it shows as active. A CPU-bound thread waiting its turn for the GIL
   * is idle in every other sample; shown sample by sample it would flap.
   */
  shownState(holdNs: bigint): string {
    if (this.folded) return '-';
    if (!this.alive) return 'gone';
    if (!this.lastIdle) return this.state;
    const recent = this.lastActiveNs >= 0n && this.lastSeenNs - this.lastActiveNs <= holdNs;
    return recent ? this.activeState : 'idle';
  }
  roll(): void {
    this.cum.addAll(this.cur);
    this.last = this.cur;
    this.cur = new ThreadWindow(this.cap);
  }
  reset(): void {
    this.cum = new ThreadWindow(this.cap);
    this.cur = new ThreadWindow(this.cap);
    this.last = new ThreadWindow(this.cap);
  }
  /** The windows a view reads: cumulative includes the one still being filled. */
  windows(window: Window): ThreadWindow[] {
    return window === 'last' ? [this.last] : [this.cum, this.cur];
  }
  /** Scalar tallies over a view's windows (tables are read in place, not merged). */
  tally(window: Window): ThreadTally {
    const out = new ThreadTally();
    for (const w of this.windows(window)) out.addTally(w);
    return out;
  }
}

export class ProcessRecord {
  readonly threads = new Map<bigint, ThreadRecord>();
  cum = new ProcessWindow();
  cur = new ProcessWindow();
  last = new ProcessWindow();
  exited = false;
  constructor(
    readonly pid: number,
    private readonly maxThreads: number,
    private readonly cap: number,
  ) {}
  roll(): void {
    this.cum.add(this.cur);
    this.last = this.cur;
    this.cur = new ProcessWindow();
    for (const t of this.threads.values()) t.roll();
  }
  /** Forget the counts; threads still alive stay known, gone and folded ones go. */
  reset(): void {
    this.cum = new ProcessWindow();
    this.cur = new ProcessWindow();
    this.last = new ProcessWindow();
    for (const [id, t] of this.threads) {
      if (!t.alive || t.folded) this.threads.delete(id);
      else t.reset();
    }
  }
  /** The process-wide window a view reads. */
  window(window: Window): ProcessWindow {
    if (window === 'last') return this.last;
    const w = new ProcessWindow();
    w.add(this.cum);
    w.add(this.cur);
    return w;
  }

  thread(threadId: bigint): ThreadRecord {
    let r = this.threads.get(threadId);
    if (!r) {
      if (this.threads.size >= this.maxThreads) this.foldThreads();
      r = new ThreadRecord(this.pid, threadId, this.cap);
      this.threads.set(threadId, r);
    }
    return r;
  }

  /** Thread churn (pools) must not grow memory: merge the longest-unseen half into one bucket. */
  private foldThreads(): void {
    const bucketId = -1n;
    let bucket = this.threads.get(bucketId);
    if (!bucket) {
      bucket = new ThreadRecord(this.pid, bucketId, this.cap);
      bucket.name = '(exited threads)';
      bucket.folded = true;
      bucket.alive = false;
      this.threads.set(bucketId, bucket);
    }
    const candidates = [...this.threads.values()]
      .filter((t) => !t.folded)
      .sort((a, b) => (a.lastSeenNs < b.lastSeenNs ? -1 : 1));
    for (const t of candidates.slice(0, Math.ceil(candidates.length / 2))) {
      bucket.cum.addAll(t.cum);
      bucket.cur.addAll(t.cur);
      bucket.last.addAll(t.last);
      this.threads.delete(t.threadId);
    }
  }
}
