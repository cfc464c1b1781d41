/** `gauge dump --async`: asyncio tasks as JSON and as one task tree per event-loop thread. */
import { completeRunning, readAsyncTasks } from '../reader/async-tasks.js';
import type { FrameRegistry } from '../reader/frame-registry.js';
import type { Target } from '../reader/target.js';

/** One task in `gauge dump --async --json` (stable; documented in README). */
export interface DumpTaskJson {
  /** id() of the task object in the target. */
  id: number;
  /** Task.get_name(). */
  name: string;
  /** "running": being stepped now (at most one per loop); "pending": waiting. */
  state: 'running' | 'pending';
  /** Python thread id of the thread running the task's event loop; 0 when its loop is not running. */
  thread_id: number;
  /** ids of the tasks awaiting this one: `await task`, a gather, a TaskGroup it belongs to. */
  awaited_by: number[];
  /** The await chain, innermost first (a running task: its stack down to its coroutine). */
  frames: { name: string; file: string; line: number }[];
  /** Why the chain could not be read ("frame changed while read", "depth cap"); null when it was. */
  error_reason: string | null;
}

export interface DumpAsyncJson {
  tasks: DumpTaskJson[];
  /** More pending tasks than --max-tasks: the rest are left out. */
  tasks_capped: boolean;
  /** Why a task registry could not be read (whole or in part); null when it was. */
  tasks_error: string | null;
}

export function dumpTasks(target: Target, frames: FrameRegistry, maxTasks?: number): DumpAsyncJson {
  const res = readAsyncTasks(target, maxTasks);
  // The running task's callees are on its thread's stack: read right after the tasks, so both show one moment.
  completeRunning(res.tasks, target.snapshot(), (id) => frames.get(id));
  return {
    tasks: res.tasks.map((t) => ({
      id: t.id,
      name: t.name,
      state: t.running ? 'running' : 'pending',
      thread_id: Number(t.threadId),
      awaited_by: t.awaitedBy,
      frames: t.frames.map((id) => {
        const f = frames.get(id);
        return { name: f.name, file: f.file, line: f.line };
      }),
      error_reason: t.error || t.truncated ? (t.reason ?? 'changed while reading') : null,
    })),
    tasks_capped: res.capped,
    tasks_error: res.reason ?? null,
  };
}

/** Text lines of one loop thread's task tree: awaiters above the tasks they await. */
export function renderTaskTree(tasks: DumpTaskJson[], threadId: number): string[] {
  const mine = tasks.filter((t) => t.thread_id === threadId);
  if (mine.length === 0) return [];
  const byId = new Map(mine.map((t) => [t.id, t]));
  const children = new Map<number, DumpTaskJson[]>();
  for (const t of mine) for (const a of t.awaited_by) if (byId.has(a)) children.set(a, [...(children.get(a) ?? []), t]);
  const roots = mine.filter((t) => !t.awaited_by.some((a) => byId.has(a)));
  const lines = [`    asyncio tasks (${mine.length}):`];
  const seen = new Set<number>();
  const one = (t: DumpTaskJson, indent: string): void => {
    const again = seen.has(t.id);
    lines.push(`${indent}Task "${t.name}" (${t.state}) 0x${t.id.toString(16)}${again ? ' (shown above)' : ''}`);
    if (again) return;
    seen.add(t.id);
    if (t.error_reason) lines.push(`${indent}    <chain not read: ${t.error_reason}>`);
    for (const f of t.frames) lines.push(`${indent}    ${f.name} (${f.file}:${f.line})`);
    for (const c of children.get(t.id) ?? []) one(c, indent + '  ');
  };
  for (const r of roots) one(r, '      ');
  // Tasks only reachable through a cycle of awaits (never in practice): still shown.
  for (const t of mine) if (!seen.has(t.id)) one(t, '      ');
  return lines;
}
