/**
 * The state machine behind `gauge top`, shared by the TUI and the batch
 * output: counts samples into the model, closes a refresh window every
 * --delay, and rebuilds the snapshot a renderer shows. Sampling continues
 * while the display is paused.
 */
import { ProfileModel } from './profile.js';
import {
  buildSnapshot,
  defaultView,
  nextScope,
  nextTask,
  type Snapshot,
  type SnapshotSource,
  type ViewState,
} from './snapshot.js';
import type { Sample, SamplerStats } from '../sampling/types.js';
import { modeFilters, type Mode } from './modes.js';
import { shares, trendThreshold, trends } from './trend.js';

export interface ControllerOptions {
  /** Extra header lines (exporter status), asked at each snapshot. */
  status?: () => string[];
  /** Rows kept in a snapshot's functions table. */
  limit?: number;
  now?: () => number;
  /** The counts were reset (the `r` key, a mode change): what else starts over (the profile `s` saves). */
  onReset?: () => void;
}

/** How long a note (e.g. where a profile was saved) stays in the header. */
export const NOTE_MS = 8000;

export class TopController {
  view: ViewState;
  snapshot: Snapshot;
  private exitedNote: string | undefined;
  private message: { text: string; until: number } | undefined;
  /** The clock stops when the target exits: the elapsed time it ran. */
  private stoppedAt: number | undefined;
  /** The sampler's counters at the last reset: the header counts from there. */
  private statsBase: SamplerStats | undefined;
  /** Shares at the previous refresh, for the trend marks. */
  private before = new Map<number, number>();
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly model: ProfileModel,
    readonly source: SnapshotSource,
    private readonly opts: ControllerOptions = {},
    view: Partial<ViewState> = {},
  ) {
    this.view = { ...defaultView(), ...view };
    this.snapshot = this.build();
  }

  ingest(samples: readonly Sample[]): void {
    this.model.add(samples);
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The session as the header shows it: loss counted from the last reset. */
  private get counted(): SnapshotSource {
    const base = this.statsBase;
    if (!base) return this.source;
    const src = this.source;
    return {
      rootPid: src.rootPid,
      processes: src.processes,
      startedAt: src.startedAt,
      stats: () => {
        const st = src.stats();
        return {
          ...st,
          // Never below zero, should the sampler's counters restart.
          dropped: Math.max(0, st.dropped - base.dropped),
          late: Math.max(0, st.late - base.late),
          errors: Math.max(0, st.errors - base.errors),
        };
      },
    };
  }

  private build(): Snapshot {
    const status = [...(this.opts.status?.() ?? [])];
    if (this.message && this.now() >= this.message.until) this.message = undefined;
    if (this.message) status.push(this.message.text);
    return buildSnapshot(this.model, this.counted, this.view, {
      exitedNote: this.exitedNote,
      status,
      now: this.stoppedAt ?? this.now(),
      limit: this.opts.limit,
    });
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }

  onChange(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** End of a refresh period: close the window and, unless paused, show it. */
  refresh(): void {
    this.model.roll();
    if (!this.view.paused) {
      const snap = this.build();
      const rows = snap.functions.rows;
      // The first refresh has nothing to compare with: no marks rather than every row rising.
      const points = trendThreshold(snap.functions.samples);
      const trend = this.before.size ? trends(this.before, rows, this.view.sort, points) : undefined;
      this.snapshot = { ...snap, trend };
      this.before = shares(rows, this.view.sort);
      this.emit();
    }
  }

  /** Rebuild from what is counted so far (after a key changed the view). */
  redraw(): void {
    this.snapshot = this.build();
    this.emit();
  }

  /** A changed view starts its trend marks afresh (its rows are other rows, or other shares). */
  update(change: Partial<ViewState>): void {
    this.view = { ...this.view, ...change };
    this.redraw();
    this.before = shares(this.snapshot.functions.rows, this.view.sort);
  }

  /** Switch what is counted; the GIL filter applies as samples are counted, so changing it starts the counts over. */
  setMode(mode: Mode): void {
    const f = modeFilters(mode);
    this.view = { ...this.view, idle: f.idle };
    if (f.gil !== this.model.gilOnly) {
      this.model.setGilOnly(f.gil);
      this.resetCounts();
      const text = f.gil ? 'mode gil: counting GIL holders from now' : `mode ${mode}: counting every thread from now`;
      this.message = { text, until: this.now() + NOTE_MS };
    }
    this.update({});
  }

  cycleScope(step = 1): void {
    if (this.view.byTask) return this.update(nextTask(this.view, this.snapshot.tasks ?? [], step));
    const pids = [...this.source.processes.keys()];
    this.update(nextScope(this.view, this.snapshot.threads, pids, step));
  }

  private resetCounts(): void {
    this.model.reset();
    this.statsBase = this.source.stats();
    this.before = new Map();
    this.opts.onReset?.();
  }

  /** Forget what was counted: the tables, the header's loss counts and the profile `s` would save. */
  reset(): void {
    this.resetCounts();
    this.redraw();
  }

  /** A one-line note shown in the header for a while (e.g. where a profile was saved). */
  say(message: string | undefined, forMs = NOTE_MS): void {
    this.message = message === undefined ? undefined : { text: message, until: this.now() + forMs };
    this.redraw();
  }

  /** The target is gone: keep the data, stop the clock, say so. */
  targetExited(note: string): void {
    this.exitedNote = note;
    this.stoppedAt ??= this.now();
    this.model.roll();
    this.redraw();
  }

  get exited(): boolean {
    return this.exitedNote !== undefined;
  }
}
