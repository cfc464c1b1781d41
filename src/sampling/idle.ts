/**
 * Whether a thread was idle at a sample. The OS is the primary signal: a
 * thread is idle when the scheduler says it is not running and it did not
 * run for most of the interval since its previous sample. The native
 * thread-stat code folds the second part into the state: a thread that used
 * at least half the interval's CPU is reported 'running' even if it is
 * blocked at this instant (a CPU-bound thread waiting to retake the GIL),
 * while one that only woke briefly keeps its real state, so the stack it is
 * sleeping in is not counted as busy.
 * Only when the OS signal is missing (state unknown, no CPU delta yet) do we
 * fall back to the innermost Python frame being a known wait function.
 */
import type { FrameTable, ThreadSample } from './types.js';

/** Below this much CPU since the previous sample a non-running thread counts as idle (scheduler noise). */
const IDLE_CPU_NS = 200_000;

/** Python-level functions that only ever block (stdlib waits), for the fallback. */
const WAIT_FUNCTIONS = new Set([
  'wait',
  'Condition.wait',
  'Event.wait',
  'Thread.join',
  'Thread._wait_for_tstate_lock',
  '_wait_for_tstate_lock',
  'get',
  'Queue.get',
  'select',
  'poll',
  'EpollSelector.select',
  'PollSelector.select',
  'SelectSelector.select',
  'DefaultSelector.select',
  'accept',
  'socket.accept',
  'recv',
  'recv_into',
  'readinto',
  'SocketIO.readinto',
  'sleep',
  'serve_forever',
  'BaseServer.serve_forever',
  'run_forever',
  'BaseEventLoop.run_forever',
  '_run_once',
  'BaseEventLoop._run_once',
  'acquire',
]);

export function isIdle(t: ThreadSample, frames: FrameTable): boolean {
  // A known OS state decides, also on a thread's first sample (no CPU delta yet).
  if (t.state !== 'unknown') return t.state !== 'running';
  if (t.cpuNs >= IDLE_CPU_NS) return false;
  if (t.frames.length === 0) return true;
  return WAIT_FUNCTIONS.has(frames.get(t.frames[0]).name);
}
