/**
 * The call tree and flame graph models on hand-built samples, where the
 * right tree is known exactly: the same samples, scopes, window, idle rule,
 * filter and sort the functions table uses; the hottest path open by
 * default; the cursor and zoom surviving refreshes; boxes sized to shares;
 * the stack trie's memory cap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileModel } from '../src/model/profile.js';
import { hottestPath, findNode, type CallTree, type TreeNode } from '../src/model/call-tree.js';
import { TreeNav } from '../src/model/tree-nav.js';
import { flameBoxes, stepBox } from '../src/model/flame-layout.js';
import { StackTrie, subtreeCounts } from '../src/model/stack-trie.js';
import { OTHER_ID } from '../src/model/count-table.js';
import type { FrameInfo, FrameTable, Sample, ThreadSample } from '../src/sampling/types.js';
import { threadSample } from './helpers/samples.js';

class Frames implements FrameTable {
  readonly infos: FrameInfo[] = [];
  id(name: string, line = 1, firstLine = line): number {
    this.infos.push({ name, file: '/app/mod.py', line, firstLine });
    return this.infos.length - 1;
  }
  get(id: number): FrameInfo {
    return this.infos[id]!;
  }
}

const th = (tid: number, frames: number[], o: Partial<ThreadSample> = {}): ThreadSample =>
  threadSample(1, tid, `t${tid}`, frames, { cpuNs: 5_000_000, ...o });

let clock = 0n;
function tick(threads: ThreadSample[], pid = 1): Sample {
  clock += 10_000_000n;
  return { pid, timeNs: clock, threads: threads.map((t) => ({ ...t, pid })) };
}

/** main -> handle -> {parse 3, render 6 (two lines of render: one function node)}, main -> idle wait 5 (idle), thread 2: work 1. */
function world() {
  const f = new Frames();
  const main = f.id('main', 1);
  const handle = f.id('handle', 10);
  const parse = f.id('parse', 20);
  const render1 = f.id('render', 31, 30);
  const render2 = f.id('render', 32, 30);
  const wait = f.id('wait', 40);
  const work = f.id('work', 50);
  const m = new ProfileModel({ frames: f, rateHz: 100 });
  const s: Sample[] = [];
  for (let i = 0; i < 3; i++) s.push(tick([th(1, [parse, handle, main]), th(2, [work])]));
  for (let i = 0; i < 6; i++) s.push(tick([th(1, [i % 2 ? render1 : render2, handle, main])]));
  for (let i = 0; i < 5; i++) s.push(tick([th(1, [wait, main], { state: 'sleeping', cpuNs: 0 })]));
  m.add(s);
  return { f, m };
}

const child = (n: TreeNode, name: string): TreeNode => {
  const c = n.children.find((x) => x.name === name);
  assert.ok(c, `${name} under ${n.name}: ${n.children.map((x) => x.name).join(', ')}`);
  return c;
};
const names = (n: TreeNode): string[] => n.children.map((c) => c.name);

test('call tree: same samples and denominator as the table; lines of one function merge; idle only on request', () => {
  const { m } = world();
  const tree = m.callTree({ sort: 'total' });
  const table = m.functions({ sort: 'total' });
  assert.equal(tree.samples, table.samples);
  assert.equal(tree.samples, 12, '9 active of thread 1 + 3 of thread 2');
  assert.deepEqual(names(tree.root), ['main', 'work']);
  const handle = child(child(tree.root, 'main'), 'handle');
  assert.equal(handle.total, 9);
  assert.equal(handle.own, 0);
  assert.deepEqual(names(handle), ['render', 'parse']);
  const render = child(handle, 'render');
  assert.equal(render.total, 6);
  assert.equal(render.own, 6);
  assert.equal(render.totalPct, table.rows.find((r) => r.name === 'render')!.totalPct);
  assert.equal(render.key, `${child(tree.root, 'main').id}/${handle.id}/${render.id}`);
  assert.equal(
    child(tree.root, 'main').children.find((c) => c.name === 'wait'),
    undefined,
    'idle hidden',
  );
  // By line: the two render lines are separate nodes.
  const lines = m.callTree({ byLine: true, sort: 'total' });
  assert.equal(child(child(lines.root, 'main'), 'handle').children.filter((c) => c.name === 'render').length, 2);
  const withIdle = m.callTree({ idle: true, sort: 'total' });
  assert.equal(withIdle.samples, 17);
  assert.equal(child(child(withIdle.root, 'main'), 'wait').own, 5);
  assert.equal(withIdle.root.total, 17);
});

test('call tree: thread scope, text filter (stacks through a match), sort, windows and reset', () => {
  const { f, m } = world();
  const t2 = m.callTree({ thread: '1:2' });
  assert.deepEqual(names(t2.root), ['work']);
  assert.equal(t2.samples, 3);
  const filtered = m.callTree({ filter: 'PARSE', sort: 'total' });
  assert.deepEqual(names(filtered.root), ['main']);
  const handle = child(child(filtered.root, 'main'), 'handle');
  assert.deepEqual(names(handle), ['parse'], 'render is not on a matching stack');
  assert.equal(handle.total, 3);
  assert.equal(filtered.root.total, 3);
  // A match high up keeps its whole subtree.
  assert.deepEqual(names(child(child(m.callTree({ filter: 'handle', sort: 'total' }).root, 'main'), 'handle')), [
    'render',
    'parse',
  ]);
  // Siblings by total whatever the sort: main (9, no own time) stays above work (3 own).
  assert.deepEqual(names(m.callTree({ sort: 'own' }).root), ['main', 'work']);
  // Windows: the last refresh holds only what came after the roll.
  m.roll();
  m.add([tick([th(1, [f.id('late', 60)])])]);
  m.roll();
  const last = m.callTree({ window: 'last' });
  assert.deepEqual(names(last.root), ['late']);
  assert.equal(last.samples, 1);
  assert.equal(child(m.callTree({ sort: 'total' }).root, 'main').total, 9, 'cumulative keeps all');
  m.reset();
  assert.equal(m.callTree().root.children.length, 0);
});

test('hottest path, cursor and open/close; the place survives a refresh and falls back when its stack vanishes', () => {
  const { m } = world();
  let tree: CallTree = m.callTree({ sort: 'total' });
  assert.deepEqual(
    hottestPath(tree).map((n) => n.name),
    ['main', 'handle', 'render'],
  );
  const nav = new TreeNav();
  let rows = nav.rows(tree);
  assert.deepEqual(
    rows.map((r) => r.node.name),
    ['main', 'handle', 'render', 'parse', 'work'],
  );
  assert.equal(rows[nav.cursorIndex(tree, rows)]!.node.name, 'render', 'cursor starts at the hot leaf');
  nav.move(tree, -2); // main
  nav.toggle(tree); // close main
  rows = nav.rows(tree);
  assert.deepEqual(
    rows.map((r) => r.node.name),
    ['main', 'work'],
  );
  nav.move(tree, 1);
  assert.equal(findNode(tree, nav.cursor).name, 'work');
  nav.move(tree, 5);
  assert.equal(findNode(tree, nav.cursor).name, 'work', 'clamped');
  nav.move(tree, -1);
  nav.toggle(tree); // open main again: handle stays open as auto mode showed it
  assert.deepEqual(
    nav.rows(tree).map((r) => r.node.name),
    ['main', 'handle', 'render', 'parse', 'work'],
  );
  // A refresh builds a new tree: the cursor is found by key.
  nav.move(tree, 3);
  tree = m.callTree({ sort: 'total' });
  rows = nav.rows(tree);
  assert.equal(rows[nav.cursorIndex(tree, rows)]!.node.name, 'parse');
  // The stack vanishes (filtered away): the cursor falls back to its caller.
  tree = m.callTree({ sort: 'total', filter: 'render' });
  rows = nav.rows(tree);
  assert.equal(rows[nav.cursorIndex(tree, rows)]!.node.name, 'handle');
});

test('flame boxes: widths in proportion to totals, siblings side by side, narrow boxes dropped; select, zoom in and out', () => {
  const { m } = world();
  const tree = m.callTree({ sort: 'total' });
  const boxes = flameBoxes(tree, undefined, 120, 10);
  const box = (name: string) => boxes.find((b) => b.node.name === name)!;
  assert.equal(box('all').width, 120);
  assert.equal(box('main').width, 90, '9 of 12 samples');
  assert.equal(box('work').x, 90);
  assert.equal(box('work').width, 30);
  assert.equal(box('render').width, 60);
  assert.equal(box('parse').x, 60);
  assert.equal(box('parse').level, 3);
  assert.deepEqual(
    boxes.map((b) => b.node.name),
    ['all', 'main', 'handle', 'render', 'parse', 'work'],
    'depth first',
  );
  // 3 columns: parse (3/12 of 3 = 0.75 column) is dropped; the rest still tiles the width.
  const tiny = flameBoxes(tree, undefined, 3, 10);
  assert.equal(
    tiny.find((b) => b.node.name === 'parse'),
    undefined,
  );
  assert.ok(flameBoxes(tree, undefined, 0, 10).length === 0 && flameBoxes(tree, undefined, 10, 0).length === 0);
  const nav = new TreeNav();
  nav.selected = stepBox(boxes, undefined, 1)?.node.key;
  assert.equal(findNode(tree, nav.selected).name, 'main', 'from the top box, shown selected at first');
  assert.equal(stepBox(boxes, nav.selected, -5)!.node.name, 'all', 'clamped');
  nav.selected = stepBox(boxes, nav.selected, 1)!.node.key;
  assert.equal(findNode(tree, nav.selected).name, 'handle');
  nav.zoomIn(tree);
  const zoomed = flameBoxes(tree, nav.zoom, 120, 10);
  assert.equal(zoomed[0]!.node.name, 'handle');
  assert.equal(zoomed.find((b) => b.node.name === 'render')!.width, 80, '6 of 9');
  assert.equal(
    zoomed.find((b) => b.node.name === 'work'),
    undefined,
  );
  assert.equal(nav.zoomOut(tree), true);
  assert.equal(findNode(tree, nav.zoom).name, 'main');
  assert.equal(nav.zoomOut(tree), true);
  assert.equal(nav.zoom, undefined);
  assert.equal(nav.zoomOut(tree), false, 'already at the top: Esc falls through');
});

test('stack trie: bounded nodes; stacks past the cap end in a folded (other) node that keeps their counts', () => {
  const trie = new StackTrie(8);
  for (let i = 0; i < 100; i++) trie.count([1000 + i, 1], i % 10 === 0);
  const top = trie.root.children!.get(1)!;
  assert.deepEqual(subtreeCounts(top), [90, 10]);
  assert.ok(top.children!.size <= 8);
  const other = top.children!.get(OTHER_ID)!;
  assert.ok(other.own > 80 && other.children === undefined, 'the fold is a leaf');
  // Merging tries (window roll) keeps the cap and the counts, idle apart.
  const into = new StackTrie(8);
  into.addAll(trie);
  into.addAll(trie);
  assert.deepEqual(subtreeCounts(into.root.children!.get(1)!), [180, 20]);
  let nodes = 0;
  const walk = (n: typeof into.root): void => {
    for (const c of n.children?.values() ?? []) {
      nodes++;
      walk(c);
    }
  };
  walk(into.root);
  assert.ok(nodes <= 9, `${nodes} nodes for a cap of 8 (+ one fold)`);
  // A merge into a trie that is already full folds the newcomers too.
  const full = new StackTrie(2);
  full.count([5, 6], false);
  full.addAll(trie);
  assert.deepEqual(subtreeCounts(full.root), [91, 10]);
});
