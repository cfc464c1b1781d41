/**
 * Where the user is in the tree and flame panes: which nodes are open, the
 * cursor, the frame the flame graph is zoomed into. Nodes are remembered by
 * path key, so the place survives refreshes; a path that vanished falls back
 * to its deepest surviving caller. Until the user opens or closes a node the
 * hottest path is open, following the profile as it changes.
 */
import { findNode, hottestPath, type CallTree, type TreeNode } from './call-tree.js';

export interface TreeRow {
  node: TreeNode;
  open: boolean;
}

export class TreeNav {
  private readonly opened = new Set<string>();
  private readonly closed = new Set<string>();
  /** True until the user opens or closes a node: the hottest path is open. */
  private auto = true;
  cursor: string | undefined;
  /** Flame graph: the frame shown full width ('' or undefined: everything). */
  zoom: string | undefined;
  /** Flame graph: the selected box. */
  selected: string | undefined;

  /** The tree pane's rows: the open part of the tree, depth first, in sibling order. */
  rows(tree: CallTree): TreeRow[] {
    const hot = this.auto ? new Set(hottestPath(tree)) : undefined;
    const out: TreeRow[] = [];
    const walk = (n: TreeNode): void => {
      const open =
        !this.closed.has(n.key) &&
        (this.opened.has(n.key) || (hot !== undefined && hot.has(n))) &&
        n.children.length > 0;
      out.push({ node: n, open });
      if (open) for (const c of n.children) walk(c);
    };
    for (const c of tree.root.children) walk(c);
    return out;
  }

  /** The cursor's row index; with no cursor yet, the end of the hottest path. */
  cursorIndex(tree: CallTree, rows: TreeRow[]): number {
    if (rows.length === 0) return -1;
    if (this.cursor === undefined) {
      const hot = hottestPath(tree).at(-1);
      const i = rows.findIndex((r) => r.node === hot);
      return i >= 0 ? i : 0;
    }
    // The cursor's node, else its nearest shown caller.
    for (let n: TreeNode | undefined = findNode(tree, this.cursor); n; n = n.parent) {
      const i = rows.findIndex((r) => r.node === n);
      if (i >= 0) return i;
    }
    return 0;
  }

  move(tree: CallTree, delta: number): void {
    const rows = this.rows(tree);
    if (rows.length === 0) return;
    const i = Math.min(rows.length - 1, Math.max(0, this.cursorIndex(tree, rows) + delta));
    this.cursor = rows[i]!.node.key;
  }

  /** Open or close the node under the cursor (open: true/false forces it). */
  toggle(tree: CallTree, open?: boolean): void {
    const rows = this.rows(tree);
    const row = rows[this.cursorIndex(tree, rows)];
    if (!row || row.node.children.length === 0) return;
    this.cursor = row.node.key;
    // Freeze what auto mode showed, so taking control changes nothing else on screen.
    if (this.auto) for (const r of rows) if (r.open) this.opened.add(r.node.key);
    this.auto = false;
    const want = open ?? !row.open;
    if (want) {
      this.opened.add(row.node.key);
      this.closed.delete(row.node.key);
    } else {
      this.opened.delete(row.node.key);
      this.closed.add(row.node.key);
    }
  }

  /** Flame graph: zoom into the selected box (Enter). */
  zoomIn(tree: CallTree): void {
    const n = findNode(tree, this.selected);
    if (n !== tree.root) this.zoom = n.key;
  }

  /** Flame graph: back out one level (Esc, Backspace); false when already at the top. */
  zoomOut(tree: CallTree): boolean {
    if (!this.zoom) return false;
    const n = findNode(tree, this.zoom).parent;
    this.selected = this.zoom;
    this.zoom = n && n !== tree.root ? n.key : undefined;
    return true;
  }
}
