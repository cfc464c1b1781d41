/**
 * Text measured in terminal columns (string-width: wide CJK characters
 * count two, combining marks none), for the tree and flame panes: every line
 * they draw is at most the pane's width in columns, styled piece by piece.
 */
import type { ChalkInstance } from 'chalk';
import stringWidth from 'string-width';

export type Style = (s: string) => string;

/** The longest prefix of s that fits in cols columns, with an ellipsis when cut. */
export function fitCols(s: string, cols: number): string {
  if (cols <= 0) return '';
  if (stringWidth(s) <= cols) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const w = stringWidth(ch);
    if (used + w > cols - 1) break;
    out += ch;
    used += w;
  }
  return out + '…';
}

/** s fitted to exactly cols columns: cut, then padded with spaces. */
export function padCols(s: string, cols: number): string {
  const t = fitCols(s, cols);
  return t + ' '.repeat(Math.max(0, cols - stringWidth(t)));
}

/** One screen line of styled pieces; pieces past the width are cut by columns. */
export class Cells {
  private out = '';
  private used = 0;
  constructor(private readonly width: number) {}
  get columns(): number {
    return this.used;
  }
  put(text: string, style?: Style): this {
    const room = this.width - this.used;
    if (room <= 0 || !text) return this;
    const t = stringWidth(text) > room ? fitCols(text, room) : text;
    this.used += stringWidth(t);
    this.out += style ? style(t) : t;
    return this;
  }
  /** Spaces to the full width (an inverse bar, a box's background). */
  pad(style?: Style): this {
    return this.put(' '.repeat(Math.max(0, this.width - this.used)), style);
  }
  toString(): string {
    return this.out;
  }
}

/** Colour by share: the hotter, the louder (shared by the table and the panes). */
export function heat(chalk: ChalkInstance, p: number): Style | undefined {
  if (p >= 25) return (s) => chalk.red.bold(s);
  if (p >= 10) return (s) => chalk.yellow(s);
  if (p >= 2) return (s) => chalk.green(s);
  return undefined;
}
