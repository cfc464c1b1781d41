/**
 * A bounded send queue for one destination. Producers push and return at
 * once; one send is in flight at a time; failures back off exponentially
 * (with jitter) while the queue keeps at most maxItems, dropping the oldest —
 * so a down or slow endpoint costs bounded memory and never blocks sampling,
 * and every item is accounted for as sent, dropped or still pending.
 */
import { firstLine } from '../reader/errors.js';

export interface QueueOptions<T> {
  /** Most items held; beyond it the oldest are dropped. */
  maxItems: number;
  /** Most items per send. */
  batchSize: number;
  /** First retry delay after a failure, ms. */
  minBackoffMs?: number;
  /** Longest retry delay, ms. */
  maxBackoffMs?: number;
  /** Wait this long for more items before sending a partial batch, ms. */
  lingerMs?: number;
  /** Units an item counts for (e.g. spans in a batch); default 1. */
  weight?: (item: T) => number;
}

export interface QueueStats {
  /** Units delivered. */
  sent: number;
  /** Units discarded (queue full, or still pending at shutdown). */
  dropped: number;
  /** Failed send attempts. */
  errors: number;
  /** Successful sends (requests). */
  ok: number;
  /** Units waiting. */
  pending: number;
  lastError?: string;
}

export class SendQueue<T> {
  private items: T[] = [];
  private head = 0;
  private pendingUnits = 0;
  private inFlight = false;
  private backoffMs = 0;
  /** When the last send began: items that came during it have been lingering since (at the latest). */
  private sendStartedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** close() has accounted for everything; late results change nothing. */
  private finalized = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: QueueStats = { sent: 0, dropped: 0, errors: 0, ok: 0, pending: 0 };
  private readonly weight: (item: T) => number;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;

  constructor(
    readonly name: string,
    private readonly send: (batch: T[]) => Promise<void>,
    private readonly opts: QueueOptions<T>,
  ) {
    this.weight = opts.weight ?? (() => 1);
    this.minBackoff = opts.minBackoffMs ?? 1000;
    this.maxBackoff = opts.maxBackoffMs ?? 30000;
  }

  private get length(): number {
    return this.items.length - this.head;
  }

  push(batch: readonly T[]): void {
    if (this.closed) {
      for (const it of batch) this.stats.dropped += this.weight(it);
      return;
    }
    for (const it of batch) {
      this.items.push(it);
      this.pendingUnits += this.weight(it);
    }
    this.trim();
    this.schedule(this.length >= this.opts.batchSize ? 0 : (this.opts.lingerMs ?? 0));
  }

  /** Drop the oldest items beyond maxItems, counting them. */
  private trim(): void {
    while (this.length > this.opts.maxItems) {
      const old = this.items[this.head]!;
      this.items[this.head++] = undefined as unknown as T;
      const w = this.weight(old);
      this.pendingUnits -= w;
      this.stats.dropped += w;
    }
    this.compact();
    this.stats.pending = this.pendingUnits;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  private schedule(delayMs: number): void {
    if (this.inFlight || this.length === 0) return;
    if (this.timer) {
      // A backoff wait is never shortened by new data.
      if (this.backoffMs > 0 || delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, delayMs);
    // Pending exports alone must not keep gauge alive; close() drains explicitly.
    this.timer.unref();
  }

  private async pump(): Promise<void> {
    if (this.inFlight || this.length === 0) {
      this.notifyIdle();
      return;
    }
    this.inFlight = true;
    this.sendStartedAt = Date.now();
    // The batch leaves the queue while in flight (so drops never touch it) and comes back to the front on failure.
    const batch = this.items.slice(this.head, this.head + this.opts.batchSize);
    this.head += batch.length;
    this.compact();
    let units = 0;
    for (const it of batch) units += this.weight(it);
    try {
      await this.send(batch);
      if (this.finalized) return;
      this.pendingUnits -= units;
      this.stats.sent += units;
      this.stats.ok++;
      this.backoffMs = 0;
    } catch (err) {
      if (this.finalized) return;
      this.stats.errors++;
      this.stats.lastError = firstLine(err);
      this.backoffMs = this.backoffMs ? Math.min(this.maxBackoff, this.backoffMs * 2) : this.minBackoff;
      this.items = batch.concat(this.items.slice(this.head));
      this.head = 0;
      this.trim();
    } finally {
      this.inFlight = false;
      this.stats.pending = this.pendingUnits;
    }
    if (this.length === 0 || (this.closed && this.backoffMs > 0)) {
      this.notifyIdle();
      return;
    }
    const delay = this.backoffMs ? this.backoffMs * (0.75 + Math.random() * 0.5) : 0;
    // What came during the send has lingered as long as the send took: the wait is not added to it.
    const linger = Math.max(0, (this.opts.lingerMs ?? 0) - (Date.now() - this.sendStartedAt));
    this.schedule(this.length >= this.opts.batchSize || this.closed || delay ? delay : linger);
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Send what is queued (one attempt per batch after the current backoff), then count the rest as dropped. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    while (this.length > 0 && Date.now() < deadline) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      const before = this.stats.errors;
      const idle = new Promise<void>((r) => this.idleWaiters.push(r));
      if (!this.inFlight) void this.pump();
      const t = setTimeout(() => this.notifyIdle(), Math.max(0, deadline - Date.now()));
      await idle;
      clearTimeout(t);
      if (this.stats.errors > before) break; // still failing: don't hold shutdown hostage
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Whatever is left, queued or still in flight, will not be waited for.
    this.stats.dropped += this.pendingUnits;
    this.finalized = true;
    this.items = [];
    this.head = 0;
    this.pendingUnits = 0;
    this.stats.pending = 0;
  }
}
