/**
 * Whole stacks of one thread and window, as a trie of frame ids from the
 * outermost frame in: what the call tree and the flame graph are built
 * from. Counting walks one path per sample and bumps only the node the
 * stack ends in (the hot path); a node's total is the sum below it, added
 * up when a view is built. The node count is capped like the function
 * tables: a stack that would grow the trie past the cap ends in its
 * parent's "(other)" child instead.
 */
import { OTHER_ID } from './count-table.js';

export class TrieNode {
  /** Samples whose stack ends here, active and idle. */
  own = 0;
  ownIdle = 0;
  children: Map<number, TrieNode> | undefined;
  constructor(readonly id: number) {}
}

/** Samples through a node: its own plus everything below it, [active, idle]. */
export function subtreeCounts(n: TrieNode): [number, number] {
  let a = n.own;
  let i = n.ownIdle;
  if (n.children)
    for (const c of n.children.values()) {
      const [ca, ci] = subtreeCounts(c);
      a += ca;
      i += ci;
    }
  return [a, i];
}

export class StackTrie {
  /** The empty stack; its children are the outermost frames. */
  readonly root = new TrieNode(OTHER_ID);
  private nodes = 0;
  constructor(private readonly cap: number) {}

  private child(parent: TrieNode, id: number): TrieNode {
    let kids = parent.children;
    if (kids === undefined) kids = parent.children = new Map();
    let c = kids.get(id);
    if (c === undefined) {
      // Past the cap every new frame under a parent shares one (other) child, so memory stays bounded.
      const key = this.nodes >= this.cap ? OTHER_ID : id;
      c = kids.get(key);
      if (c === undefined) {
        c = new TrieNode(key);
        kids.set(key, c);
        this.nodes++;
      }
    }
    return c;
  }

  /** One sample's stack, innermost first (as samples carry it). */
  count(frames: readonly number[], idle: boolean): void {
    let n = this.root;
    for (let d = frames.length - 1; d >= 0; d--) {
      n = this.child(n, frames[d]!);
      // A folded node stands for the rest of the stack: the sample ends there.
      if (n.id === OTHER_ID) break;
    }
    if (n === this.root) return;
    if (idle) n.ownIdle++;
    else n.own++;
  }

  addAll(o: StackTrie): void {
    const merge = (into: TrieNode, from: TrieNode): void => {
      if (!from.children) return;
      for (const c of from.children.values()) {
        const target = this.child(into, c.id);
        if (target.id !== OTHER_ID) {
          target.own += c.own;
          target.ownIdle += c.ownIdle;
          merge(target, c);
        } else {
          // Folded: every sample through c ends in the fold.
          const [a, i] = subtreeCounts(c);
          target.own += a;
          target.ownIdle += i;
        }
      }
    };
    merge(this.root, o.root);
  }
}
