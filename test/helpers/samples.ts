/** Hand-built samples for the model and TUI tests: one thread's sample, running on the GIL unless told otherwise. */
import type { FrameInfo, FrameTable, ThreadSample } from '../../src/sampling/types.js';

/** A frame table built by hand: each id() is a new frame whose function starts at its line. */
export class FileFrames implements FrameTable {
  readonly infos: FrameInfo[] = [];
  id(name: string, file: string, line: number): number {
    this.infos.push({ name, file, line, firstLine: line });
    return this.infos.length - 1;
  }
  get(id: number): FrameInfo {
    return this.infos[id]!;
  }
}

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
