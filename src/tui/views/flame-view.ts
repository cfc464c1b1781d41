/**
 * The flame graph pane, an icicle: the zoomed frame (at first "all") is the
 * top row at full width, callees below it, each box as wide as its share.
 * A box starts with a separator ("|", or ">" when selected) so boxes stay
 * apart without colour; with colour each function keeps one warm background.
 * Rows scroll to keep the selected box on screen; the last line describes it.
 */
import type { ChalkInstance } from 'chalk';
import { duration, functionLabel, pct } from '../../model/format.js';
import { findNode, type CallTree } from '../../model/call-tree.js';
import { flameBoxes, type FlameBox } from '../../model/flame-layout.js';
import type { TreeNav } from '../../model/tree-nav.js';
import { Cells, fitCols, padCols, type Style } from './cells.js';
import type { PaneOptions } from './tree-view.js';

/** Every box of the pane at this width (all depths: ↑/↓ walk them). */
export function paneBoxes(tree: CallTree, nav: TreeNav, width: number): FlameBox[] {
  return flameBoxes(tree, nav.zoom, width, Number.POSITIVE_INFINITY);
}

function boxStyle(chalk: ChalkInstance, name: string, selected: boolean): Style {
  if (selected) return (x) => chalk.inverse.bold(x);
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  // Warm hues, as flame graphs are drawn: red to yellow, one per name.
  return (x) => chalk.bgRgb(200 + (h % 56), 80 + ((h >> 8) % 150), 40 + ((h >> 16) % 40)).black(x);
}

export function flameLines(tree: CallTree, nav: TreeNav, o: PaneOptions, rows: number): string[] {
  const { width: w, chalk } = o;
  if (rows <= 0) return [];
  const top = findNode(tree, nav.zoom);
  const boxes = paneBoxes(tree, nav, w);
  const sel = boxes.find((b) => b.node.key === nav.selected) ?? boxes[0];
  const out: string[] = [];
  const title = top === tree.root ? 'Flame graph: all' : `Flame graph: zoomed into ${top.name} (Esc back)`;
  out.push(
    new Cells(w)
      .put(' ' + title, (x) => chalk.inverse(x))
      .pad((x) => chalk.inverse(x))
      .toString(),
  );
  if (rows === 1) return out;
  if (!sel) {
    out.push(new Cells(w).put(' no stacks in this view yet', (x) => chalk.dim(x)).toString());
    return out;
  }
  const withInfo = rows >= 3;
  const levels = rows - 1 - (withInfo ? 1 : 0);
  const first = Math.max(0, sel.level - levels + 1);
  const colour = chalk.level > 0;
  for (let level = first; level < first + levels; level++) {
    const line = new Cells(w);
    let x = 0;
    for (const b of boxes) {
      if (b.level !== level) continue;
      if (b.x > x) line.put(' '.repeat(b.x - x));
      const selected = b === sel;
      const edge = selected ? '>' : colour ? ' ' : '|';
      const text = padCols(edge + fitCols(b.node.name, b.width - 1), b.width);
      line.put(text, colour || selected ? boxStyle(chalk, b.node.name, selected) : undefined);
      x = b.x + b.width;
    }
    out.push(line.toString());
  }
  if (!withInfo) return out;
  const n = sel.node;
  const byTime = o.sort === 'ownTime' || o.sort === 'totalTime';
  const figures = byTime
    ? `total ${duration(n.totalTime)} own ${duration(n.ownTime)}`
    : `total ${pct(n.totalPct)} own ${pct(n.ownPct)}`;
  const info = new Cells(w).put(`> ${figures}  `, (x) => chalk.bold(x));
  info.put(functionLabel(n.name, n.file, n.line, Math.max(1, w - info.columns), o.fullFilenames));
  out.push(info.toString());
  return out;
}
