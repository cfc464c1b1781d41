/** Hand-built samples for the model and TUI tests: one thread's sample, running on the GIL unless told otherwise. */
import type { ThreadSample } from '../../src/sampling/types.js';

export function threadSample(
  pid: number,
  tid: number,
  name: string,
  frames: number[],
  o: Partial<ThreadSample> = {},
): ThreadSample {
  return {
    pid,
    threadId: BigInt(tid),
    nativeId: tid,
    name,
    gil: true,
    state: 'running',
    cpuNs: 8_000_000,
    frames,
    error: false,
    truncated: false,
    ...o,
  };
}
