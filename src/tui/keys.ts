/**
 * The keys of `gauge top`'s table, as one table: it handles them, and it
 * writes the footer and the help screen, so the three cannot disagree. The
 * tree and flame panes add theirs (views/pane.ts) to the help.
 */
import type { Key } from 'ink';
import { SORT_KEYS } from '../model/snapshot.js';
import type { TopController } from '../model/top-controller.js';
import { modeOf, nextMode } from '../model/modes.js';
import { PANE_KEYS } from './views/pane.js';

export interface KeyContext {
  controller: TopController;
  /** Save the profile (absent when this build cannot). */
  save?: () => void;
  /** Start typing a text filter. */
  editFilter: () => void;
  showHelp: () => void;
  quit: () => void;
}

interface TableKey {
  /** As the help names them. */
  keys: string;
  /** In the footer; the footer keeps them in this order, dropping from the end except ? and q. */
  short: string;
  help: string;
  handle: (input: string, key: Key, c: KeyContext) => boolean;
}

/** The refresh intervals + and - step through, seconds. */
export const REFRESH_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 30];

/** The next refresh interval up (+1) or down (-1) from the current one. */
export function stepRefresh(current: number, dir: 1 | -1): number {
  if (dir > 0) return REFRESH_STEPS.find((s) => s > current + 1e-9) ?? REFRESH_STEPS.at(-1)!;
  return [...REFRESH_STEPS].reverse().find((s) => s < current - 1e-9) ?? REFRESH_STEPS[0]!;
}

const on = (ch: string, act: (c: KeyContext) => void) => (input: string, _k: Key, c: KeyContext) => {
  if (input !== ch) return false;
  act(c);
  return true;
};

export const TABLE_KEYS: TableKey[] = [
  {
    keys: '1 2 3 4',
    short: '1-4 sort',
    help: 'sort by %Own, %Total, OwnTime, TotalTime',
    handle: (input, _k, c) => {
      if (!(input >= '1' && input <= '4')) return false;
      c.controller.update({ sort: SORT_KEYS[Number(input) - 1]! });
      return true;
    },
  },
  {
    keys: 'm',
    short: 'm mode',
    help: 'mode: cpu (idle hidden), wall (idle too), gil (GIL holders; counts restart)',
    handle: on('m', ({ controller }) => {
      const now = modeOf({ idle: controller.view.idle, gil: controller.model.gilOnly });
      controller.setMode(nextMode(now));
    }),
  },
  {
    keys: 'l',
    short: 'l line',
    help: 'toggle functions / lines',
    handle: on('l', ({ controller: k }) => k.update({ byLine: !k.view.byLine })),
  },
  {
    keys: 'i',
    short: 'i idle',
    help: 'show or hide idle threads and their stacks',
    handle: on('i', ({ controller: k }) => k.update({ idle: !k.view.idle })),
  },
  {
    keys: 't / Tab',
    short: 't thread',
    help: 'cycle the filter: all, each process, each thread (each task when grouped by task, a)',
    handle: (input, key, c) => {
      if (input !== 't' && !key.tab) return false;
      c.controller.cycleScope();
      return true;
    },
  },
  {
    keys: 'a',
    short: 'a tasks',
    help: 'group by asyncio task name (--async): the table lists tasks; t / ← → pick one',
    handle: on('a', ({ controller: k }) => {
      k.update({ byTask: !k.view.byTask, task: undefined });
      if (k.view.byTask && !k.snapshot.tasks?.length) k.say('no asyncio tasks sampled yet (they need --async)');
    }),
  },
  {
    keys: '/',
    short: '/ filter',
    help: 'filter by text in function or file (Enter keeps, Esc clears)',
    handle: on('/', (c) => c.editFilter()),
  },
  {
    keys: 'w',
    short: 'w window',
    help: 'toggle window: since start / last refresh',
    handle: on('w', ({ controller: k }) =>
      k.update({ window: k.view.window === 'cumulative' ? 'last' : 'cumulative' }),
    ),
  },
  {
    keys: '+ -',
    short: '+- refresh',
    help: 'refresh less / more often (the interval steps 0.1 s to 30 s)',
    handle: (input, _k, c) => {
      if (input !== '+' && input !== '-' && input !== '=') return false;
      c.controller.update({ refreshS: stepRefresh(c.controller.view.refreshS, input === '-' ? -1 : 1) });
      return true;
    },
  },
  {
    keys: 'p',
    short: 'p pause',
    help: 'pause the display (sampling continues)',
    handle: on('p', ({ controller: k }) => k.update({ paused: !k.view.paused })),
  },
  {
    keys: 'r',
    short: 'r reset',
    help: 'reset the counts (and what s saves)',
    handle: on('r', (c) => c.controller.reset()),
  },
  {
    keys: 's',
    short: 's save',
    help: 'save the profile recorded so far (where: $GAUGE_SAVE_DIR)',
    handle: on('s', (c) => {
      if (c.save) c.save();
      else c.controller.say('saving a profile is not available in this build');
    }),
  },
  { keys: '?', short: '? help', help: 'this help (any key closes it)', handle: on('?', (c) => c.showHelp()) },
  { keys: 'q  Ctrl-C', short: 'q quit', help: 'quit', handle: on('q', (c) => c.quit()) },
];

/** Handle a table key; false when it is not one. */
export function tableKey(input: string, key: Key, c: KeyContext): boolean {
  for (const k of TABLE_KEYS) if (k.handle(input, key, c)) return true;
  return false;
}

/** The footer's keys before ? and q: sorting, then the panes to switch to (F, G), then the rest of the table's. */
function footerOrder(): string[] {
  const own = TABLE_KEYS.slice(0, -2).map((k) => k.short);
  const panes = PANE_KEYS.filter((k) => k.footer.includes('table')).map((k) => k.short);
  return [own[0]!, ...panes, ...own.slice(1)];
}

/** The footer's key list in at most width columns: as many as fit, in order, always ending with ? and q. */
export function footerKeys(width: number, sep = '  '): string {
  const last = TABLE_KEYS.slice(-2).map((k) => k.short);
  const tail = last.join(sep);
  if (tail.length > width) return TABLE_KEYS[0]!.short.slice(0, width);
  const picked: string[] = [];
  let used = tail.length;
  for (const short of footerOrder()) {
    if (used + sep.length + short.length > width) break;
    picked.push(short);
    used += sep.length + short.length;
  }
  return [...picked, ...last].join(sep);
}
