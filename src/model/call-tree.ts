/**
 * The call tree of `gauge top`'s tree and flame views, merged from the
 * per-thread stack tries in scope with the same rules as the functions
 * table: the same threads, window, idle choice, text filter and
 * denominator, so a node's %Total equals its function's row when the
 * function is not recursive. (The table's sort picks the figures the views
 * show, percentages or times.) Pure: records in, tree out.
 */
import { OTHER_ID } from './count-table.js';
import { describe, type QueryContext, type Row, type ViewOptions } from './queries.js';
import { taskOnlyRoot } from './task-groups.js';
import type { TrieNode } from './stack-trie.js';

/** A node: the table's row figures for the function at this place in the stacks. */
export interface TreeNode extends Row {
  /** Path from the root: ids joined by '/'; stable across refreshes while the stack exists. */
  key: string;
  /** Row.id is the function id (line id in the per-line view), OTHER_ID for folded stacks, ROOT_ID for the root. */
  depth: number;
  children: TreeNode[];
  parent: TreeNode | undefined;
}

export interface CallTree {
  /** "all": every stack in scope; its children are the outermost frames. */
  root: TreeNode;
  /** The percentage denominator (thread samples in scope), as in the table. */
  samples: number;
}

export const ROOT_ID = -2;

interface Building {
  id: number;
  own: number;
  total: number;
  ownTime: number;
  totalTime: number;
  kids: Map<number, Building>;
}

const building = (id: number): Building => ({ id, own: 0, total: 0, ownTime: 0, totalTime: 0, kids: new Map() });

export function callTree(ctx: QueryContext, o: ViewOptions = {}): CallTree {
  const window = o.window ?? 'cumulative';
  const byLine = !!o.byLine;
  const idle = !!o.idle;
  const top = building(ROOT_ID);
  let samples = 0;
  // Returns the samples through `from` (in this view's idle choice): a node's total is its own plus its callees'.
  const add = (into: Building, from: TrieNode, interval: number): number => {
    let sum = 0;
    if (!from.children) return sum;
    for (const c of from.children.values()) {
      const id = c.id === OTHER_ID || byLine ? c.id : ctx.functions.idOf(c.id);
      let b = into.kids.get(id);
      if (!b) into.kids.set(id, (b = building(id)));
      const own = c.own + (idle ? c.ownIdle : 0);
      const total = own + add(b, c, interval);
      b.own += own;
      b.total += total;
      b.ownTime += own * interval;
      b.totalTime += total * interval;
      sum += total;
    }
    return sum;
  };
  for (const p of ctx.processes) {
    if (o.pid !== undefined && p.pid !== o.pid) continue;
    const interval = p.window('cumulative').interval(ctx.rateHz);
    for (const t of p.threads.values()) {
      if (o.thread !== undefined && t.key !== o.thread) continue;
      for (const w of t.windows(window)) {
        if (o.task === undefined) {
          samples += w.counted + (idle ? w.countedIdle : 0);
          add(top, w.stacks.root, interval);
        } else samples += add(top, taskOnlyRoot(ctx, w.stacks.root, o.task), interval);
      }
    }
  }
  const filter = o.filter?.toLowerCase() || undefined;
  const finish = (b: Building, parent: TreeNode | undefined, matched: boolean): TreeNode | undefined => {
    const d = b.id === ROOT_ID ? { name: 'all', file: '', line: 0 } : describe(ctx, b.id, byLine);
    const hit =
      matched ||
      (!!filter &&
        b.id !== ROOT_ID &&
        (d.name.toLowerCase().includes(filter) || d.file.toLowerCase().includes(filter)));
    const node: TreeNode = {
      key: parent ? (parent.id === ROOT_ID ? String(b.id) : `${parent.key}/${b.id}`) : '',
      id: b.id,
      ...d,
      own: 0,
      total: 0,
      ownPct: 0,
      totalPct: 0,
      ownTime: 0,
      totalTime: 0,
      depth: parent ? parent.depth + 1 : -1,
      children: [],
      parent,
    };
    for (const k of b.kids.values()) {
      const c = finish(k, node, hit);
      if (c) node.children.push(c);
    }
    if (!filter || hit) {
      node.own = b.own;
      node.total = b.total;
      node.ownTime = b.ownTime;
      node.totalTime = b.totalTime;
    } else {
      // Only the stacks through a matching frame count: those are all below this node.
      for (const c of node.children) {
        node.total += c.total;
        node.totalTime += c.totalTime;
      }
    }
    if (node.total === 0 && parent) return undefined;
    node.children.sort(bySubtree);
    return node;
  };
  const root = finish(top, undefined, false)!;
  // The root stands for every counted sample (stacks with no frames too); filtered, for the matches.
  if (filter) {
    root.total = root.children.reduce((a, c) => a + c.total, 0);
    root.totalTime = root.children.reduce((a, c) => a + c.totalTime, 0);
  } else {
    root.total = samples;
    root.totalTime = root.children.reduce((a, c) => a + c.totalTime, 0);
  }
  const pcts = (n: TreeNode): void => {
    n.ownPct = samples ? (100 * n.own) / samples : 0;
    n.totalPct = samples ? (100 * Math.min(n.total, samples)) / samples : 0;
    for (const c of n.children) pcts(c);
  };
  pcts(root);
  return { root, samples };
}

/**
 * Siblings by total, then own, then name (stable across refreshes), whatever the table's sort: ordered by
 * own, a caller with no own time of its own would sink below a stray leaf and the hot path with it.
 */
function bySubtree(a: TreeNode, b: TreeNode): number {
  return b.total - a.total || b.own - a.own || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id);
}

/** The hottest path: from the root, the child with the largest total at each level. */
export function hottestPath(tree: CallTree): TreeNode[] {
  const out: TreeNode[] = [];
  let n = tree.root;
  while (n.children.length) {
    let best = n.children[0]!;
    for (const c of n.children) if (c.total > best.total) best = c;
    out.push(best);
    n = best;
  }
  return out;
}

/** The node at a key, or the deepest existing node on its path (a stack that vanished falls back to its caller). */
export function findNode(tree: CallTree, key: string | undefined): TreeNode {
  let n = tree.root;
  if (!key) return n;
  const ids = key.split('/');
  for (let i = 0; i < ids.length; i++) {
    const want = ids.slice(0, i + 1).join('/');
    const next = n.children.find((c) => c.key === want);
    if (!next) break;
    n = next;
  }
  return n;
}
