/**
 * asyncio tasks of a target (gauge_async_tasks, format in native/include/gauge.h)
 * decoded into plain objects with session-wide frame ids, and the running
 * task's chain completed from its thread's stack.
 */
import { ErrorCode, GaugeError } from './errors.js';
import { native } from './native.js';
import { reasonText } from './reasons.js';
import type { Target } from './target.js';
import type { Sample } from '../sampling/types.js';

const ASYNC_HEADER = 4;
const TASK_HEADER = 8;
const ASYNC_CAPPED = 1;
const ASYNC_ERROR = 2;
const ASYNC_NO_ASYNCIO = 4;
const TASK_RUNNING = 1;
const TASK_ERROR = 2;
const TASK_TRUNCATED = 4;

export interface AsyncTask {
  /** id() of the task in the target (its address). */
  id: number;
  name: string;
  /** Python thread id of the thread running the task's loop; 0n when the loop is not running. */
  threadId: bigint;
  running: boolean;
  /** ids of the tasks awaiting this one (await, gather, TaskGroup). */
  awaitedBy: number[];
  /** Frame ids, innermost first: the await chain (a running task: its thread's stack down to its coroutine). */
  frames: number[];
  error: boolean;
  truncated: boolean;
  reason?: string;
}

export interface AsyncTasks {
  tasks: AsyncTask[];
  /** More tasks than the cap: the rest were left out. */
  capped: boolean;
  /** Registry entries seen (done and dead ones included). */
  seen: number;
  /** Why a registry could not be read (whole or in part); undefined when it was. */
  reason?: string;
  /** asyncio was never imported by the target. */
  noAsyncio: boolean;
}

/** Default cap on tasks read per loop snapshot. */
export const DEFAULT_MAX_TASKS = 20000;

const addr = (lo: number, hi: number): number => hi * 4294967296 + lo; // exact: user-space addresses < 2^53

/** Every pending task of the target now. Throws a GaugeError when the version has no asyncio layout or the process exited. */
export function readAsyncTasks(target: Target, maxTasks = DEFAULT_MAX_TASKS): AsyncTasks {
  const api = native();
  // The sizes that last fitted: a loop with many tasks is not read twice on every refresh.
  let { cap, namesCap } = lastSizes.get(target) ?? { cap: 1 << 16, namesCap: 1 << 16 };
  for (;;) {
    const out = new Uint32Array(cap);
    const names = Buffer.alloc(namesCap);
    const n = api.asyncTasks(target.handle, maxTasks, out, cap, names, namesCap);
    if (n === -ErrorCode.NO_MEMORY && cap < 1 << 26) {
      cap *= 4;
      namesCap *= 4;
      continue;
    }
    if (n === -ErrorCode.EXITED) throw new GaugeError(ErrorCode.EXITED, `process ${target.pid} exited`);
    if (n < 0) throw new GaugeError(-n, lastError(target) || `cannot read the asyncio tasks of process ${target.pid}`);
    lastSizes.set(target, { cap, namesCap });
    return decode(target, out, n, names);
  }
}

const lastSizes = new WeakMap<Target, { cap: number; namesCap: number }>();

function lastError(target: Target): string {
  const buf = Buffer.alloc(1024);
  const n = native().lastError(target.handle, buf, buf.length);
  return n > 0 ? buf.toString('utf8', 0, Math.min(n, buf.length)).replace(/\0.*$/s, '') : '';
}

function decode(target: Target, w: Uint32Array, n: number, names: Buffer): AsyncTasks {
  const resolve = (id: number) => target.resolveLocal(id);
  const count = w[1]!;
  const flags = w[2]!;
  const tasks: AsyncTask[] = [];
  let p = ASYNC_HEADER;
  for (let i = 0; i < count && p + TASK_HEADER <= n; i++) {
    const tflags = w[p + 4]!;
    const nameAt = w[p + 5]!;
    const nawait = w[p + 6]!;
    const nframes = w[p + 7]!;
    const end = names.indexOf(0, nameAt);
    const reason = reasonText((tflags >>> 16) & 0xff);
    const task: AsyncTask = {
      id: addr(w[p]!, w[p + 1]!),
      name: names.toString('utf8', nameAt, end < 0 ? nameAt : end),
      threadId: (BigInt(w[p + 3]!) << 32n) | BigInt(w[p + 2]!),
      running: (tflags & TASK_RUNNING) !== 0,
      awaitedBy: [],
      frames: [],
      error: (tflags & TASK_ERROR) !== 0,
      truncated: (tflags & TASK_TRUNCATED) !== 0,
      ...(reason && { reason }),
    };
    p += TASK_HEADER;
    for (let k = 0; k < nawait && p + 2 <= n; k++, p += 2) task.awaitedBy.push(addr(w[p]!, w[p + 1]!));
    for (let k = 0; k < nframes && p < n; k++, p++)
      task.frames.push(target.frames.globalId(target.source, w[p]!, resolve));
    tasks.push(task);
  }
  const why = reasonText((flags >>> 8) & 0xff);
  return {
    tasks,
    capped: (flags & ASYNC_CAPPED) !== 0,
    seen: w[3]!,
    noAsyncio: (flags & ASYNC_NO_ASYNCIO) !== 0,
    ...(flags & ASYNC_ERROR && why ? { reason: why } : {}),
  };
}

/**
 * A running task's frames: its thread's stack from the innermost frame down
 * to the task's coroutine (the loop's frames below it are not the task's).
 * The chain from the coroutine object alone stops at the coroutine: its callees are only on the stack.
 */
export function completeRunning(
  tasks: AsyncTask[],
  sample: Sample,
  frameOf: (id: number) => { name: string; file: string; firstLine: number },
): void {
  for (const t of tasks) {
    if (!t.running || t.frames.length === 0) continue;
    const thread = sample.threads.find((th) => th.threadId === t.threadId);
    if (!thread) continue;
    const coro = frameOf(t.frames[t.frames.length - 1]!);
    let cut = -1;
    thread.frames.forEach((id, i) => {
      const f = frameOf(id);
      if (f.name === coro.name && f.file === coro.file && f.firstLine === coro.firstLine) cut = i;
    });
    if (cut >= 0) t.frames = thread.frames.slice(0, cut + 1);
  }
}
