/**
 * Grouping by asyncio task name (`top --async`, the a key). `--async` puts a
 * synthetic `task:NAME` frame outermost on every stack a task owns, so a
 * task is a root of the per-thread stack tries: the grouped table lists those
 * roots (one row per task name; a sample belongs to one task, so own and
 * total are both the task's samples), and a picked task's table counts the
 * functions of the stacks under its root only, with its samples as the
 * denominator. Pure: records in, rows out.
 */
import { OTHER_ID } from './count-table.js';
import { addCounts, viewOf, type FunctionView, type Merged, type QueryContext, type ViewOptions } from './queries.js';
import { subtreeCounts, TrieNode } from './stack-trie.js';
import { taskOfFrame } from '../sampling/task-frame.js';
import type { ThreadWindow } from './windows.js';

/** The thread windows in scope, with the time one of their samples stands for. */
function* scopeWindows(ctx: QueryContext, o: ViewOptions): Generator<{ w: ThreadWindow; interval: number }> {
  for (const p of ctx.processes) {
    if (o.pid !== undefined && p.pid !== o.pid) continue;
    const interval = p.window('cumulative').interval(ctx.rateHz);
    for (const t of p.threads.values()) {
      if (o.thread !== undefined && t.key !== o.thread) continue;
      for (const w of t.windows(o.window ?? 'cumulative')) yield { w, interval };
    }
  }
}

/** The task roots of a trie: [task name, node]; only those named `task` when given. */
export function taskRoots(ctx: QueryContext, root: TrieNode, task?: string): Array<[string, TrieNode]> {
  const out: Array<[string, TrieNode]> = [];
  if (!root.children) return out;
  for (const c of root.children.values()) {
    if (c.id === OTHER_ID) continue;
    const name = taskOfFrame(ctx.frames.get(c.id));
    if (name !== undefined && (task === undefined || name === task)) out.push([name, c]);
  }
  return out;
}

/** Samples through a node in the view's idle choice. */
function through(n: TrieNode, idle: boolean): number {
  const [active, idleN] = subtreeCounts(n);
  return active + (idle ? idleN : 0);
}

/** Task names in scope, most samples first (then by name): the a key's scopes, in the order t steps through them. */
export function taskNames(ctx: QueryContext, o: ViewOptions = {}): string[] {
  const sum = new Map<string, number>();
  for (const { w } of scopeWindows(ctx, o))
    for (const [name, n] of taskRoots(ctx, w.stacks.root)) sum.set(name, (sum.get(name) ?? 0) + through(n, !!o.idle));
  return [...sum]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([name]) => name);
}

/** The grouped table: the tasks (o.task unset), or the functions of one task's stacks. */
export function groupedView(ctx: QueryContext, o: ViewOptions = {}): FunctionView {
  const idle = !!o.idle;
  const byLine = !!o.byLine;
  const merged = new Map<number, Merged>();
  const bump = (id: number, own: number, total: number, interval: number): void =>
    addCounts(merged, id, own, total, interval);
  const idOf = (frame: number): number => (frame === OTHER_ID || byLine ? frame : ctx.functions.idOf(frame));
  // Per path: own at the leaf, total once per function on it (recursion counts once, as in the table).
  const walk = (n: TrieNode, path: Set<number>, interval: number): number => {
    const id = idOf(n.id);
    const own = n.own + (idle ? n.ownIdle : 0);
    const first = !path.has(id);
    if (first) path.add(id);
    let total = own;
    if (n.children) for (const c of n.children.values()) total += walk(c, path, interval);
    if (first) path.delete(id);
    if (total > 0) bump(id, own, first ? total : 0, interval);
    return total;
  };
  let samples = 0;
  for (const { w, interval } of scopeWindows(ctx, o)) {
    if (o.task === undefined) samples += w.counted + (idle ? w.countedIdle : 0);
    for (const [, n] of taskRoots(ctx, w.stacks.root, o.task)) {
      if (o.task !== undefined) samples += walk(n, new Set(), interval);
      else {
        const total = through(n, idle);
        if (total > 0) bump(idOf(n.id), total, total, interval);
      }
    }
  }
  return viewOf(ctx, merged, samples, o);
}

/** A trie root holding only the given task's stacks (call-tree.ts merges from it when a task is picked). */
export function taskOnlyRoot(ctx: QueryContext, root: TrieNode, task: string): TrieNode {
  const only = new TrieNode(OTHER_ID);
  only.children = new Map(taskRoots(ctx, root, task).map(([, n]) => [n.id, n]));
  return only;
}
