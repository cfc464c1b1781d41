/**
 * The synthetic frame `--async` puts outermost on a task's stacks: what
 * grouping by task name groups on. Apart from the attributor so the model
 * can tell a task frame without loading the reader.
 */
import type { FrameInfo } from './types.js';

export const TASK_FRAME_FILE = '<asyncio>';
const PREFIX = 'task:';

/** The name of the synthetic frame a task's samples get. */
export const taskFrameName = (name: string): string => `${PREFIX}${name}`;

/** The task name a frame stands for, or undefined when it is not a task frame. */
export function taskOfFrame(f: FrameInfo): string | undefined {
  return f.file === TASK_FRAME_FILE && f.name.startsWith(PREFIX) ? f.name.slice(PREFIX.length) : undefined;
}

/** The thread id a loop's pending tasks are counted under in the live view: above any real id (those fit 64 bits). */
export const waitingThreadId = (loopThreadId: bigint): bigint => (1n << 64n) | loopThreadId;

/** The name of that row. */
export const waitingName = (tasks: number): string => `${tasks} task${tasks === 1 ? '' : 's'} waiting`;
