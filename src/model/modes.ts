/**
 * What the function tables count, named as CPython's Tachyon profiler names
 * it: cpu (work on a CPU: idle samples left out, the default), wall (every
 * sample, idle ones too) and gil (only samples of the thread holding the
 * GIL). A mode is the pair of count filters it stands for.
 */
export const MODES = ['cpu', 'wall', 'gil'] as const;
export type Mode = (typeof MODES)[number];

export interface CountFilters {
  idle: boolean;
  gil: boolean;
}

export function modeFilters(mode: Mode): CountFilters {
  return { idle: mode === 'wall', gil: mode === 'gil' };
}

/** The mode a pair of filters stands for (the GIL filter wins: GIL holders, idle ones too when shown). */
export function modeOf(f: CountFilters): Mode {
  return f.gil ? 'gil' : f.idle ? 'wall' : 'cpu';
}

/** The mode after this one, for the key that cycles them. */
export function nextMode(mode: Mode): Mode {
  return MODES[(MODES.indexOf(mode) + 1) % MODES.length]!;
}

/** "Mode gil (GIL holders only)", as the header says it. */
export function modeLabel(f: CountFilters): string {
  const mode = modeOf(f);
  const what = mode === 'gil' ? 'GIL holders only' : mode === 'wall' ? 'idle included' : 'on CPU';
  return `Mode ${mode} (${what}${mode === 'gil' && f.idle ? ', idle too' : ''})`;
}
