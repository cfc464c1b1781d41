/** Small readers of /proc for what the native reader does not need to know. */
import { readFileSync, readdirSync } from 'node:fs';

/** Command line of pid, space-joined; '' when unreadable. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    // Gone, or hidden from us (hidepid): a label, not a fact anything depends on.
    return '';
  }
}

/** OS name of a thread (/proc/PID/task/TID/comm); '' when unknown. */
export function osThreadName(pid: number, tid: number): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    // The thread ended since it was sampled: it has no name to show.
    return '';
  }
}

/** Kernel task ids of pid. */
export function taskIds(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((n) => n > 0);
  } catch {
    // The process is gone: it has no tasks.
    return [];
  }
}

/** Parent pid of every process, from /proc/PID/stat. */
export function parentMap(): Map<number, number> {
  const out = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No /proc at all: no process has a known parent.
    return out;
  }
  for (const e of entries) {
    const pid = Number(e);
    if (!(pid > 0)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, Number(rest[1]));
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

/** All descendants of root (children, grandchildren, ...), in pid order. */
export function descendants(root: number, parents = parentMap()): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    let list = children.get(ppid);
    if (!list) children.set(ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out.sort((a, b) => a - b);
}
