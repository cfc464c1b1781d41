/**
 * Finds a process's descendants cheaply: /proc/PID/task/TID/children lists
 * each thread's children, so the walk reads only the tree itself instead of
 * every process on the box. A pid that is not Python yet is retried only
 * when its executable changes (an exec), so a shell parent costs nothing.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { descendants } from './procfs.js';

function childrenOf(pid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // Gone: no children to follow.
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' ')) {
        const n = Number(c);
        if (n > 0) out.push(n);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return undefined; // kernel without it
    }
  }
  return out;
}

export function listDescendants(root: number): number[] {
  const first = childrenOf(root);
  if (first === undefined) return descendants(root);
  const out: number[] = [];
  const stack = [...first];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(childrenOf(p) ?? []));
  }
  return out.sort((a, b) => a - b);
}

/** The executable a pid runs, or '' when it is gone or not ours to read. */
export function exeOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // Gone, or not ours to read: '' stands for an unknown executable (a later exec makes it differ).
    return '';
  }
}

export class ChildWatcher {
  /** pid -> executable seen when it last refused to attach */
  private readonly refused = new Map<number, string>();
  private readonly attached = new Set<number>();

  constructor(
    private readonly root: number,
    /** 'ok' attached; 'refused' not Python (retried after an exec); 'later' Python still starting. */
    private readonly tryAttach: (pid: number) => 'ok' | 'refused' | 'later',
  ) {}

  poll(): void {
    const live = listDescendants(this.root);
    const liveSet = new Set(live);
    for (const pid of live) {
      if (this.attached.has(pid)) continue;
      const exe = exeOf(pid);
      if (this.refused.get(pid) === exe) continue;
      const r = this.tryAttach(pid);
      if (r === 'ok') {
        this.attached.add(pid);
        this.refused.delete(pid);
      } else if (r === 'refused') {
        this.refused.set(pid, exe);
      }
    }
    for (const pid of this.refused.keys()) if (!liveSet.has(pid)) this.refused.delete(pid);
    for (const pid of this.attached) if (!liveSet.has(pid)) this.attached.delete(pid);
  }
}
