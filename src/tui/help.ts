/**
 * The help screen: every key of the table and the panes, from the tables
 * that handle them. When the rows run short it drops its notes and title,
 * then sets the keys in columns, so q is on screen at 60×15.
 */
import type { ChalkInstance } from 'chalk';
import { columns, padEndCols } from '../model/format.js';
import { Cells } from './views/cells.js';
import { PANE_HELP } from './views/pane.js';
import { TABLE_KEYS } from './keys.js';

/** Every key with what it does, the table's first, ? and q last. */
export const HELP_LINES: Array<[string, string]> = [
  ...TABLE_KEYS.slice(0, -2).map((k): [string, string] => [k.keys, k.help]),
  ...PANE_HELP,
  ...TABLE_KEYS.slice(-2).map((k): [string, string] => [k.keys, k.help]),
];

const NOTES = [
  ' %Own: samples with the function innermost; %Total: on the stack at all.',
  ' Times: samples × the achieved sampling interval.',
];

export function helpLines(width: number, rows: number, chalk: ChalkInstance): string[] {
  if (rows <= 0) return [];
  const keyW = Math.max(...HELP_LINES.map(([k]) => columns(k))) + 2;
  const title = new Cells(width)
    .put(' Keys', (x) => chalk.inverse.bold(x))
    .pad((x) => chalk.inverse(x))
    .toString();
  const entry = ([k, d]: [string, string], w: number): Cells =>
    new Cells(w).put(padEndCols(` ${k}`, keyW), (x) => chalk.bold(x)).put(d);
  const n = HELP_LINES.length;
  const keys = (w: number): string[] => HELP_LINES.map((e) => entry(e, w).toString());
  if (n + 1 + NOTES.length <= rows) {
    return [title, ...keys(width), ...NOTES.map((x) => new Cells(width).put(x, (y) => chalk.dim(y)).toString())];
  }
  if (n + 1 <= rows) return [title, ...keys(width)];
  if (n <= rows || Math.floor(width / Math.ceil(n / rows)) < keyW + 6) return keys(width).slice(0, rows);
  // Too many keys for the rows: side by side, as many columns as it takes.
  const cols = Math.ceil(n / rows);
  const colW = Math.floor(width / cols);
  const per = Math.ceil(n / cols);
  const out: string[] = [];
  for (let r = 0; r < per; r++) {
    let line = '';
    for (let c = 0; c < cols; c++) {
      const e = HELP_LINES[c * per + r];
      if (!e) break;
      line += padEndCols(entry(e, colW - 1).toString(), colW);
    }
    out.push(line);
  }
  return out;
}
