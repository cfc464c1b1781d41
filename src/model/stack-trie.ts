/**
 * Whole stacks of one thread and window, as a trie of frame ids from the
 * outermost frame in: what the call tree and the flame graph are built
 * from. Counting walks one path per sample (the hot path); the node count is
 * capped like the function tables, and a stack that would grow the trie past
 * the cap ends in its parent's "(other)" child instead.
 */
import { Counts, OTHER_ID } from './count-table.js';

export class TrieNode extends Counts {
  children: Map<number, TrieNode> | undefined;
  constructor(readonly id: number) {
    super();
  }
}

export class StackTrie {
  /** The empty stack; its children are the outermost frames. Not counted itself. */
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
      if (n.id === OTHER_ID) return n.count(true, idle);
      n.count(d === 0, idle);
    }
  }

  addAll(o: StackTrie): void {
    const merge = (into: TrieNode, from: TrieNode): void => {
      if (!from.children) return;
      for (const c of from.children.values()) {
        const target = this.child(into, c.id);
        if (target.id !== OTHER_ID) {
          target.add(c);
          merge(target, c);
        } else {
          // Folded: every sample through c ends in the fold.
          target.own += c.total;
          target.total += c.total;
          target.ownIdle += c.totalIdle;
          target.totalIdle += c.totalIdle;
        }
      }
    };
    merge(this.root, o.root);
  }
}
