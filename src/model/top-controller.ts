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
  type Snapshot,
  type SnapshotSource,
  type ViewState,
} from './snapshot.js';
import type { Sample } from '../sampling/types.js';

export interface ControllerOptions {
  /** Extra header lines (exporter status), asked at each snapshot. */
  status?: () => string[];
  /** Rows kept in a snapshot's functions table. */
  limit?: number;
  now?: () => number;
}

export class TopController {
  view: ViewState;
  snapshot: Snapshot;
  private exitedNote: string | undefined;
  private message: string | undefined;
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

  private build(): Snapshot {
    const status = [...(this.opts.status?.() ?? [])];
    if (this.message) status.push(this.message);
    return buildSnapshot(this.model, this.source, this.view, {
      exitedNote: this.exitedNote,
      status,
      now: this.opts.now?.(),
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
      this.snapshot = this.build();
      this.emit();
    }
  }

  /** Rebuild from what is counted so far (after a key changed the view). */
  redraw(): void {
    this.snapshot = this.build();
    this.emit();
  }

  update(change: Partial<ViewState>): void {
    this.view = { ...this.view, ...change };
    this.redraw();
  }

  cycleScope(step = 1): void {
    const pids = [...this.source.processes.keys()];
    this.update(nextScope(this.view, this.snapshot.threads, pids, step));
  }

  reset(): void {
    this.model.reset();
    this.redraw();
  }

  /** A one-line note shown in the header (e.g. where a profile was saved). */
  say(message: string | undefined): void {
    this.message = message;
    this.redraw();
  }

  /** The target is gone: keep the data, say so. */
  targetExited(note: string): void {
    this.exitedNote = note;
    this.model.roll();
    this.redraw();
  }

  get exited(): boolean {
    return this.exitedNote !== undefined;
  }
}
