/**
 * `top --async` / `record --async`: samples of an event-loop thread
 * attributed to asyncio tasks. The running task is found on the sampled
 * stack itself (the outermost frame that is some task's own coroutine), so
 * each sample names the task it caught; its frames are cut there and a
 * synthetic `task:NAME` frame is put outermost, in place of the event loop's
 * frames. In wall mode the pending tasks of the loop are sampled too, each
 * as an idle thread whose frames are its suspended await chain, marked with
 * the loop it waits on so the live view shows one row per loop, not 10,000.
 * The tasks are re-read now and then (asyncio-tasks.ts), never per sample.
 */
import { readAsyncTasks, type AsyncTask } from '../reader/async-tasks.js';
import { ErrorCode, GaugeError } from '../reader/errors.js';
import { warnOnce } from '../reader/warnings.js';
import type { FrameRegistry } from '../reader/frame-registry.js';
import { Target } from '../reader/target.js';
import type { Sample, ThreadSample } from './types.js';
import { TASK_FRAME_FILE, taskFrameName } from './task-frame.js';

export interface AsyncOptions {
  /** Sample pending tasks too (wall mode; asked per batch, as the mode can change while sampling). */
  wall: () => boolean;
  /** Tasks read per refresh at most. */
  maxTasks?: number;
  /** Pending tasks added per loop-thread sample at most (wall mode). */
  maxPending?: number;
  /** Least time between two task reads of a process. */
  refreshMs?: number;
}

/** Distinct task names given frames of their own; later ones share `task:<other>`. */
const MAX_TASK_NAMES = 4096;

interface PerProcess {
  target?: Target;
  /** No asyncio layout for this target, or it could not be attached: its samples pass unchanged. */
  off: boolean;
  readAt: number;
  costMs: number;
  byThread: Map<bigint, AsyncTask[]>;
  /** A task's own coroutine (name, file, first line) -> its tasks. */
  byCoroutine: Map<string, AsyncTask[]>;
  /** Frame id -> the tasks whose own coroutine it is (null: none), filled as samples meet frames, reset per read. */
  byFrame: Map<number, AsyncTask[] | null>;
  /** Per loop thread: its tasks that were pending at the read and have frames, the order samples take them in. */
  waiting: Map<bigint, AsyncTask[]>;
  /** Per loop thread: where the next sample's pending tasks start, so a cap still reaches every task in turn. */
  cursor: Map<bigint, number>;
}

/** Appends to the list under key (a copy per task made building these lists quadratic). */
function push<K, V>(m: Map<K, V[]>, key: K, v: V): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

export class AsyncAttributor {
  private readonly procs = new Map<number, PerProcess>();
  private readonly taskSource: number;
  private readonly taskIds = new Map<string, number>();

  constructor(
    private readonly frames: FrameRegistry,
    private readonly opts: AsyncOptions,
  ) {
    this.taskSource = frames.addSource();
  }

  /** Samples with every event-loop thread's stacks attributed to tasks. */
  transform(samples: readonly Sample[]): Sample[] {
    const wall = this.opts.wall();
    return samples.map((s) => {
      const p = this.process(s.pid);
      if (!p || p.byThread.size === 0) return s;
      const threads: ThreadSample[] = [];
      for (const t of s.threads) {
        if (!p.byThread.has(t.threadId)) {
          threads.push(t);
          continue;
        }
        const running = this.running(p, t);
        threads.push(
          running ? { ...t, frames: [...t.frames.slice(0, running.cut + 1), this.taskFrame(running.task.name)] } : t,
        );
        if (wall) this.pending(p, running?.task, t, threads);
      }
      return { ...s, threads };
    });
  }

  /** Drop a process's reader (it exited). */
  forget(pid: number): void {
    this.procs.get(pid)?.target?.close();
    this.procs.delete(pid);
  }

  close(): void {
    for (const pid of [...this.procs.keys()]) this.forget(pid);
  }

  private process(pid: number): PerProcess | undefined {
    let p = this.procs.get(pid);
    if (!p) {
      p = {
        off: false,
        readAt: 0,
        costMs: 0,
        byThread: new Map(),
        byCoroutine: new Map(),
        byFrame: new Map(),
        waiting: new Map(),
        cursor: new Map(),
      };
      this.procs.set(pid, p);
      try {
        p.target = Target.attach(pid, this.frames);
      } catch {
        p.off = true;
      }
    }
    if (p.off || !p.target) return undefined;
    const now = Date.now();
    // A read of many tasks is not free: at most a tenth of the time goes to reading them.
    if (now - p.readAt >= Math.max(this.opts.refreshMs ?? 250, 10 * p.costMs)) this.refresh(p, now);
    return p;
  }

  private refresh(p: PerProcess, now: number): void {
    const t0 = Date.now();
    try {
      const { tasks } = readAsyncTasks(p.target!, this.opts.maxTasks);
      p.byThread.clear();
      p.byCoroutine.clear();
      p.byFrame.clear();
      p.waiting.clear();
      for (const task of tasks) {
        if (!task.threadId) continue;
        push(p.byThread, task.threadId, task);
        if (!task.running && task.frames.length > 0) push(p.waiting, task.threadId, task);
        const own = task.frames.at(-1);
        if (own === undefined) continue;
        const key = this.coroutineKey(own);
        push(p.byCoroutine, key, task);
      }
    } catch (err) {
      if (!(err instanceof GaugeError)) throw err;
      // No layout for this version, or gone: its samples stay as they are, and an unsupported version is said once.
      p.off = true;
      if (err.code !== ErrorCode.EXITED) warnOnce({ warning: `--async: ${err.message}` });
    }
    p.readAt = now;
    p.costMs = Date.now() - t0;
  }

  private coroutineKey(id: number): string {
    const f = this.frames.get(id);
    return `${f.file}\0${f.name}\0${f.firstLine}`;
  }

  /** The tasks whose own coroutine frame id is, looked up by name once per frame id and read. */
  private tasksOfFrame(p: PerProcess, id: number): AsyncTask[] | null {
    let tasks = p.byFrame.get(id);
    if (tasks === undefined) {
      tasks = p.byCoroutine.get(this.coroutineKey(id)) ?? null;
      p.byFrame.set(id, tasks);
    }
    return tasks;
  }

  /**
   * The task a loop-thread sample caught running: the outermost frame that is some task's own coroutine.
   * Tasks sharing one coroutine function are told apart by the last read's running task, else the first.
   */
  private running(p: PerProcess, t: ThreadSample): { task: AsyncTask; cut: number } | undefined {
    for (let i = t.frames.length - 1; i >= 0; i--) {
      const tasks = this.tasksOfFrame(p, t.frames[i]!);
      if (!tasks) continue;
      const task =
        tasks.find((x) => x.running && x.threadId === t.threadId) ?? tasks.find((x) => x.threadId === t.threadId);
      if (task) return { task, cut: i };
    }
    return undefined;
  }

  /**
   * Wall mode: pending tasks, each as an idle thread of its own whose frames are its suspended chain,
   * marked as waiting on the loop. Past the cap, each sample takes the next tasks in turn.
   */
  private pending(p: PerProcess, running: AsyncTask | undefined, t: ThreadSample, out: ThreadSample[]): void {
    const waiting = p.waiting.get(t.threadId);
    if (!waiting) return;
    // The task this sample caught running is not waiting, whatever the last read said of it.
    const skip = running && !running.running && running.frames.length > 0 ? running : undefined;
    const count = waiting.length - (skip ? 1 : 0);
    if (count <= 0) return;
    const take = Math.min(count, this.opts.maxPending ?? 256);
    const start = (p.cursor.get(t.threadId) ?? 0) % waiting.length;
    p.cursor.set(t.threadId, start + take);
    const waitingOn = { threadId: t.threadId, nativeId: t.nativeId, tasks: count };
    for (let i = 0, taken = 0; taken < take && i < waiting.length; i++) {
      const task = waiting[(start + i) % waiting.length]!;
      if (task === skip) continue;
      taken++;
      out.push({
        pid: t.pid,
        threadId: BigInt(task.id),
        nativeId: 0,
        name: task.name,
        gil: false,
        state: 'sleeping',
        cpuNs: 0,
        frames: [...task.frames, this.taskFrame(task.name)],
        error: false,
        truncated: false,
        waitingOn,
      });
    }
  }

  private taskFrame(taskName: string): number {
    // Bounded: a loop that churns default-named tasks ("Task-123456") must not grow the frame table without end.
    const name = this.taskIds.has(taskName) || this.taskIds.size < MAX_TASK_NAMES ? taskName : '<other>';
    let local = this.taskIds.get(name);
    if (local === undefined) {
      local = this.taskIds.size;
      this.taskIds.set(name, local);
    }
    return this.frames.globalId(this.taskSource, local, () => ({
      name: taskFrameName(name),
      file: TASK_FRAME_FILE,
      line: 0,
      firstLine: 0,
    }));
  }
}
