/**
 * The terminal flame graph (an icicle: callers above callees) as boxes on a
 * grid: the zoomed frame spans the full width, each child gets columns in
 * proportion to its total, widest first. Box edges are rounded from the
 * running sum, so siblings never overlap and their widths add up; a box
 * narrower than a column is left out with everything below it.
 */
import { findNode, type CallTree, type TreeNode } from './call-tree.js';

export interface FlameBox {
  node: TreeNode;
  /** Row below the zoomed frame (0 = the zoomed frame itself). */
  level: number;
  x: number;
  width: number;
}

/** Boxes in depth-first order (the order ↑/↓ walk them), at most `levels` rows deep. */
export function flameBoxes(tree: CallTree, zoom: string | undefined, width: number, levels: number): FlameBox[] {
  const top = findNode(tree, zoom);
  const out: FlameBox[] = [];
  if (width < 1 || levels < 1 || top.total <= 0) return out;
  const scale = width / top.total;
  const place = (n: TreeNode, level: number, x: number, w: number): void => {
    out.push({ node: n, level, x, width: w });
    if (level + 1 >= levels) return;
    let sum = 0;
    // Widest first whatever the table's sort: the hot path reads from the left.
    const kids = n.children.length > 1 ? [...n.children].sort((a, b) => b.total - a.total) : n.children;
    for (const c of kids) {
      const x0 = x + Math.round(sum * scale);
      sum += Math.min(c.total, n.total);
      const x1 = Math.min(x + w, x + Math.round(sum * scale));
      if (x1 - x0 >= 1) place(c, level + 1, x0, x1 - x0);
    }
  };
  place(top, 0, 0, width);
  return out;
}

/** The box delta steps away in depth-first order; with none selected (or gone) the top box is the current one. */
export function stepBox(boxes: FlameBox[], selected: string | undefined, delta: number): FlameBox | undefined {
  if (boxes.length === 0) return undefined;
  const i = Math.max(
    0,
    boxes.findIndex((b) => b.node.key === selected),
  );
  return boxes[Math.min(boxes.length - 1, Math.max(0, i + delta))];
}
