/**
 * The call tree pane: one row per open node, depth first, with the node's
 * total and own (as percentages, or as times when the sort is by time), an
 * open/closed marker and "function (file:line)". The cursor row is marked
 * with ">" (so it shows under NO_COLOR too) and kept on screen.
 */
import type { ChalkInstance } from 'chalk';
import { duration, functionLabel, pct } from '../../model/format.js';
import type { CallTree, TreeNode } from '../../model/call-tree.js';
import type { SortKey } from '../../model/queries.js';
import type { TreeNav } from '../../model/tree-nav.js';
import { Cells, heat } from './cells.js';

export interface PaneOptions {
  width: number;
  chalk: ChalkInstance;
  sort: SortKey;
  fullFilenames: boolean;
}

function figures(n: TreeNode, sort: SortKey): [string, string] {
  return sort === 'ownTime' || sort === 'totalTime'
    ? [duration(n.totalTime), duration(n.ownTime)]
    : [pct(n.totalPct), pct(n.ownPct)];
}

export function treeLines(tree: CallTree, nav: TreeNav, o: PaneOptions, rows: number): string[] {
  const { width: w, chalk } = o;
  if (rows <= 0) return [];
  const byTime = o.sort === 'ownTime' || o.sort === 'totalTime';
  const byOwn = o.sort === 'own' || o.sort === 'ownTime';
  const head = new Cells(w).put(' ');
  const totalTitle = (byTime ? 'TotalTime' : '%Total') + (byOwn ? '' : '*');
  const ownTitle = (byTime ? 'OwnTime' : '%Own') + (byOwn ? '*' : '');
  head.put(totalTitle.padStart(9) + ownTitle.padStart(9), (x) => chalk.inverse(x));
  head.put('  Call tree (function, file:line)', (x) => chalk.inverse(x)).pad((x) => chalk.inverse(x));
  const out = [head.toString()];
  const list = nav.rows(tree);
  if (list.length === 0) {
    if (rows > 1) out.push(new Cells(w).put(' no stacks in this view yet', (x) => chalk.dim(x)).toString());
    return out;
  }
  const room = rows - 1;
  const cur = nav.cursorIndex(tree, list);
  const start = Math.max(0, Math.min(cur - Math.floor(room / 2), list.length - room));
  const labelW = Math.max(1, w - 20);
  for (let i = start; i < Math.min(list.length, start + room); i++) {
    const { node, open } = list[i]!;
    const here = i === cur;
    const line = new Cells(w).put(here ? '>' : ' ', (x) => chalk.cyan.bold(x));
    const [total, own] = figures(node, o.sort);
    line.put(total.padStart(9), heat(chalk, node.totalPct)).put(own.padStart(9), heat(chalk, node.ownPct));
    // Deep trees keep at least a dozen columns for the name.
    const indent = Math.min(node.depth * 2, Math.max(0, labelW - 14));
    const mark = node.children.length === 0 ? '·' : open ? '▾' : '▸';
    line.put('  ' + ' '.repeat(indent) + mark + ' ');
    const label = functionLabel(node.name, node.file, node.line, Math.max(1, w - line.columns), o.fullFilenames);
    const cut = label.indexOf(' (');
    const nameStyle = here ? (x: string) => chalk.inverse.bold(x) : (x: string) => chalk.bold(x);
    if (cut > 0) line.put(label.slice(0, cut), nameStyle).put(label.slice(cut), (x) => chalk.dim(x));
    else line.put(label, nameStyle);
    out.push(line.toString());
  }
  return out;
}
