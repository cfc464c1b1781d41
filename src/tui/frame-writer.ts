/**
 * The terminal side of the interactive view: Ink renders in debug mode
 * (every frame written whole, as ink-testing-library does) into this
 * stand-in for stdout, which sends the terminal only the rows that changed,
 * each at its absolute position.
 *
 * Why not Ink's own writers (ink 6.8): its standard mode rewrites every row
 * on every refresh (4.5 KB/s at 120×40, over the 4 KB/s budget), and its
 * incremental mode moves the cursor up one row too few when a frame ends in
 * a newline — which every frame shorter than the terminal does — so rows it
 * skips as unchanged are left showing their neighbour's old text.
 */
import { EventEmitter } from 'node:events';
import type { ReactElement } from 'react';
import { render, type Instance } from 'ink';
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import { rowUpdate } from './row-diff.js';

const CSI = '\x1b[';
// Synchronized output (DEC mode 2026): the terminal shows the rows of one frame together; others ignore it.
const BEGIN_SYNC = `${CSI}?2026h`;
const END_SYNC = `${CSI}?2026l`;

/**
 * What to send so a screen showing `shown` shows `next`: the changed part of
 * each changed row, at its absolute position (row-diff.ts); rows past the
 * new frame's end are erased. No newline is written, so the screen never
 * scrolls.
 */
export function frameDiff(shown: readonly string[], next: readonly string[]): string {
  let out = '';
  for (let i = 0; i < Math.max(shown.length, next.length); i++) {
    const line = next[i] ?? '';
    const was = shown[i] ?? '';
    if (line !== was) out += rowUpdate(i + 1, was, line);
  }
  return out;
}

/**
 * A frame's rows, at most `rows` of them (the last ones: Ink puts anything
 * written through the console above the frame), each cut to `columns`: right
 * after a resize Ink draws once more at the old width, and a wider row would
 * wrap onto the next one — on the last row, scroll the whole screen.
 */
export function frameLines(text: string, rows: number, columns: number): string[] {
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines.slice(-Math.max(1, rows)).map((l) => (stringWidth(l) > columns ? sliceAnsi(l, 0, columns) : l));
}

export class FrameWriter extends EventEmitter {
  readonly isTTY = true;
  private shown: string[] = [];
  private shownSize = '';
  private readonly onResize = (): void => {
    this.emit('resize');
  };

  constructor(private readonly out: NodeJS.WriteStream) {
    super();
    out.on('resize', this.onResize);
  }

  get columns(): number {
    return this.out.columns || 80;
  }

  get rows(): number {
    return this.out.rows || 24;
  }

  /** Ink writes whole frames here. */
  write(chunk: string | Uint8Array): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    // Ink erases its previous output in place when the terminal narrows
    // (cursor-up sequences). Frames are text and colours only; positioning
    // here is absolute, so that erasing is dropped and the next frame is
    // drawn whole.
    if (text.includes(`${CSI}1A`)) {
      this.redraw();
      return true;
    }
    const size = `${this.columns}x${this.rows}`;
    const next = frameLines(text, this.rows, this.columns);
    let out: string;
    if (size !== this.shownSize) {
      // A resized terminal may have reflowed or cut what was there: a blank screen, every row as Ink wrote it.
      out = `${CSI}H${CSI}2J` + next.map((l, i) => (l ? `${CSI}${i + 1};1H${l}` : '')).join('');
      this.shownSize = size;
    } else out = frameDiff(this.shown, next);
    this.shown = next;
    if (out) this.out.write(this.out.isTTY ? BEGIN_SYNC + out + END_SYNC : out);
    return true;
  }

  /** Draw the next frame whole, on a cleared screen. */
  redraw(): void {
    this.shownSize = '';
  }

  /** Stop following the terminal's size. */
  close(): void {
    this.out.off('resize', this.onResize);
  }
}

/** Render an Ink tree on the terminal through a FrameWriter (close the writer after unmounting). */
export function renderOnTerminal(node: ReactElement, out: NodeJS.WriteStream): { app: Instance; frames: FrameWriter } {
  const frames = new FrameWriter(out);
  const app = render(node, {
    stdout: frames as unknown as NodeJS.WriteStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: true,
  });
  return { app, frames };
}
