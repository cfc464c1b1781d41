/**
 * The tree and flame panes inside `gauge top`: their keys (one table drives
 * both the handling and the footer/help text), their body and their footer.
 * F and G are austin-tui's keys for the call tree and the flame graph; each
 * toggles its pane with the table. ←/→ step the thread filter in every pane.
 */
import type { Key } from 'ink';
import type { ChalkInstance } from 'chalk';
import type { Pane, Snapshot } from '../../model/snapshot.js';
import type { TopController } from '../../model/top-controller.js';
import type { TreeNav } from '../../model/tree-nav.js';
import { stepBox } from '../../model/flame-layout.js';
import stringWidth from 'string-width';
import { Cells } from './cells.js';
import { flameLines, paneBoxes } from './flame-view.js';
import { treeLines } from './tree-view.js';

export interface PaneContext {
  controller: TopController;
  nav: TreeNav;
  /** The pane's width in columns (the flame graph's boxes depend on it). */
  width: number;
  /** The screen's height: a page for PgUp/PgDn. */
  height: number;
}

interface PaneKey {
  keys: string;
  help: string;
  /** Where the key acts. */
  panes: Pane[];
  /** Shown in the footer of these panes (the table's footer, keys.ts, takes those listed for 'table'). */
  footer: Pane[];
  short: string;
  handle: (input: string, key: Key, c: PaneContext) => boolean;
}

const ALL: Pane[] = ['table', 'tree', 'flame'];
const pageOf = (c: PaneContext): number => Math.max(1, c.height - 6);

/** F and G: show a pane, or go back to the table when it is already shown. */
function toggle(key: 'F' | 'G', pane: Pane, help: string, short: string): PaneKey {
  return {
    keys: key,
    help,
    panes: ALL,
    footer: ALL,
    short,
    handle: (input, _k, c) => {
      if (input !== key) return false;
      c.controller.update({ pane: c.controller.view.pane === pane ? 'table' : pane });
      return true;
    },
  };
}

export const PANE_KEYS: PaneKey[] = [
  toggle('F', 'tree', 'call tree on/off (hottest path open)', 'F tree'),
  toggle('G', 'flame', 'flame graph on/off', 'G flame'),
  {
    keys: '← →',
    help: 'previous / next thread, or task when grouped by a (as t)',
    panes: ALL,
    footer: ['tree', 'flame'],
    short: '←→ thread',
    handle: (_i, k, c) => {
      if (!k.leftArrow && !k.rightArrow) return false;
      c.controller.cycleScope(k.leftArrow ? -1 : 1);
      return true;
    },
  },
  {
    keys: '↑↓ PgUp/Dn',
    help: 'tree: move the cursor; flame graph: select the previous / next box',
    panes: ['tree', 'flame'],
    footer: ['tree', 'flame'],
    short: '↑↓ move',
    handle: (_i, k, c) => {
      const tree = c.controller.snapshot.tree;
      const delta = k.upArrow ? -1 : k.downArrow ? 1 : 0;
      const page = k.pageUp ? -pageOf(c) : k.pageDown ? pageOf(c) : 0;
      if (!tree || (!delta && !page)) return false;
      if (c.controller.view.pane === 'tree') c.nav.move(tree, delta || page);
      else c.nav.selected = stepBox(paneBoxes(tree, c.nav, c.width), c.nav.selected, delta || page)?.node.key;
      return true;
    },
  },
  {
    keys: 'Enter/Space',
    help: 'tree: open / close the node; flame graph: zoom into the box',
    panes: ['tree', 'flame'],
    footer: ['tree', 'flame'],
    short: 'Enter open/zoom',
    handle: (input, k, c) => {
      const tree = c.controller.snapshot.tree;
      if (!tree || (!k.return && input !== ' ')) return false;
      if (c.controller.view.pane === 'tree') c.nav.toggle(tree);
      else c.nav.zoomIn(tree);
      return true;
    },
  },
  {
    keys: 'Esc/Bksp',
    help: 'flame graph: zoom back out',
    panes: ['flame'],
    footer: ['flame'],
    short: 'Esc out',
    handle: (_i, k, c) => {
      const tree = c.controller.snapshot.tree;
      if (!tree || !(k.escape || k.backspace || k.delete)) return false;
      return c.nav.zoomOut(tree);
    },
  },
];

/** Handle a key meant for the panes; false when it is not one (the table's keys then apply). */
export function paneKey(input: string, key: Key, c: PaneContext): boolean {
  const pane = c.controller.view.pane;
  return PANE_KEYS.some((k) => k.panes.includes(pane) && k.handle(input, key, c));
}

export function paneBody(s: Snapshot, nav: TreeNav, width: number, chalk: ChalkInstance, rows: number): string[] {
  if (!s.tree) return [];
  const o = { width, chalk, sort: s.view.sort, fullFilenames: s.view.fullFilenames };
  return s.view.pane === 'flame' ? flameLines(s.tree, nav, o, rows) : treeLines(s.tree, nav, o, rows);
}

export function paneFooter(s: Snapshot, width: number, chalk: ChalkInstance): string {
  const keys = [...PANE_KEYS.filter((k) => k.footer.includes(s.view.pane)).map((k) => k.short), '/ filter', 'r reset'];
  // Narrow: keys drop from the end, never how to get help or out.
  const fixed = ['? help', 'q quit'];
  while (keys.length && stringWidth([...keys, ...fixed].join('  ')) > width) keys.pop();
  return new Cells(width).put([...keys, ...fixed].join('  '), (x) => chalk.dim(x)).toString();
}

/** Help rows for the pane keys, in the table's [keys, meaning] form. */
export const PANE_HELP: Array<[string, string]> = PANE_KEYS.map((k) => [k.keys, k.help]);
