/**
 * Why a stack failed, was cut, or a record is partial: the reader's
 * GAUGE_WHY_* codes (native/include/gauge.h) as the words users see. The
 * one table; everything above reads the decoded string off the sample.
 */
const REASONS: Record<number, string> = {
  1: 'frame changed while read', // GAUGE_WHY_FRAME_UNREADABLE: freed or moved under the reader
  2: 'frame chain loops', // GAUGE_WHY_FRAME_LOOP: the chain changed while read
  3: 'code object unreadable', // GAUGE_WHY_CODE_UNREADABLE
  4: 'instruction outside its code', // GAUGE_WHY_BAD_INSTRUCTION
  5: 'unknown frame owner', // GAUGE_WHY_UNKNOWN_OWNER
  6: 'bytecode copy unreadable', // GAUGE_WHY_BYTECODE_COPY (free-threaded per-thread bytecode)
  7: 'cframe unreadable', // GAUGE_WHY_CFRAME (3.11/3.12: the thread's current-frame holder)
  8: 'thread list changed', // GAUGE_WHY_THREAD_LIST
  9: 'interpreter list changed', // GAUGE_WHY_INTERP_LIST
  10: 'depth cap', // GAUGE_WHY_DEPTH_CAP
  11: 'out of memory', // GAUGE_WHY_NO_MEMORY
  12: 'task list changed', // GAUGE_WHY_TASK_LIST (asyncio registries)
};

/** The words for a GAUGE_WHY_* code; undefined for GAUGE_WHY_NONE (0). */
export function reasonText(code: number): string | undefined {
  if (!code) return undefined;
  return REASONS[code] ?? `reason ${code}`;
}

/** Reason code in a thread header's flags word (bits 16-23). */
export const threadReasonCode = (flags: number): number => (flags >>> 16) & 0xff;
/** Reason code in a record header's flags word (bits 8-15). */
export const recordReasonCode = (flags: number): number => (flags >>> 8) & 0xff;
