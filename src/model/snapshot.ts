/**
 * What one refresh of `gauge top` shows, as plain data: built from the
 * profile model and the session, rendered by the Ink TUI and by the batch
 * (plain text) output alike, and easy to construct in component tests.
 */
import type { ReasonShare } from './reason-share.js';
import type { ProcessInfo, SamplerStats } from '../sampling/types.js';
import type { ProfileModel } from './profile.js';
import type { FunctionView, SortKey, ThreadRow } from './queries.js';
import type { Window } from './windows.js';
import type { CallTree } from './call-tree.js';
import type { Trend } from './trend.js';

/** What the body shows: the functions table, the call tree or the flame graph. */
export type Pane = 'table' | 'tree' | 'flame';

export interface ViewState {
  sort: SortKey;
  byLine: boolean;
  idle: boolean;
  window: Window;
  /** ThreadRow.key, or undefined for all threads. */
  thread?: string;
  /** Process filter, or undefined for all processes. */
  pid?: number;
  /** Text filter on function name or file. */
  filter: string;
  fullFilenames: boolean;
  paused: boolean;
  pane: Pane;
  /** Seconds between refreshes (--delay; + and - change it). */
  refreshS: number;
  /** Grouped by asyncio task name (the a key): the table lists tasks, t steps through them. */
  byTask: boolean;
  /** The task name the grouped view is filtered to, or undefined for all tasks. */
  task?: string;
}

export const defaultView = (): ViewState => ({
  sort: 'own',
  byLine: false,
  idle: false,
  window: 'cumulative',
  filter: '',
  fullFilenames: false,
  paused: false,
  pane: 'table',
  refreshS: 1,
  byTask: false,
});

export interface Header {
  pid: number;
  cmdline: string;
  pythonVersion: string;
  elapsedS: number;
  /** Ticks in the window (one per process per sampling instant). */
  samples: number;
  achievedHz: number;
  requestedHz: number;
  dropped: number;
  late: number;
  errorPct: number;
  /** The commonest reason stacks failed or were cut, with its share of those. */
  topReason?: ReasonShare;
  gilPct: number;
  /** Free-threaded targets running without a GIL: there is no GIL share. */
  noGil: boolean;
  activePct: number;
  threads: number;
  processes: number;
  /** Processes seen that have exited since (their data is kept). */
  processesExited: number;
  gilOnly: boolean;
  /** Set once the target is gone: what to tell the user. */
  exitedNote?: string;
  /** Extra status lines (exporters, last save). */
  status: string[];
}

export interface Snapshot {
  header: Header;
  view: ViewState;
  functions: FunctionView;
  threads: ThreadRow[];
  processes: ProcessInfo[];
  /** Label of the active thread/process/task filter, if any. */
  scopeLabel?: string;
  /** Grouped by task: the task names in scope, most samples first (what t steps through). */
  tasks?: string[];
  /** The call tree in scope, built only for the tree and flame panes. */
  tree?: CallTree;
  /** Rows whose share rose (1) or fell (-1) since the previous refresh, by row id. */
  trend?: ReadonlyMap<number, Trend>;
}

export interface SnapshotSource {
  rootPid: number;
  processes: ReadonlyMap<number, ProcessInfo>;
  stats(): SamplerStats;
  startedAt: number;
}

export function buildSnapshot(
  model: ProfileModel,
  src: SnapshotSource,
  view: ViewState,
  extra: { exitedNote?: string; status?: string[]; now?: number; limit?: number } = {},
): Snapshot {
  const totals = model.totals({ window: view.window, rootPid: src.rootPid });
  const stats = src.stats();
  const root = src.processes.get(src.rootPid) ?? [...src.processes.values()][0];
  // The table and the tree/flame panes read the same samples.
  const scope = {
    byLine: view.byLine,
    idle: view.idle,
    window: view.window,
    pid: view.pid,
    thread: view.thread,
    filter: view.filter || undefined,
    sort: view.sort,
    byTask: view.byTask,
    task: view.byTask ? view.task : undefined,
  };
  const functions = model.functions({ ...scope, limit: extra.limit ?? 200 });
  const threads = model.threads({ window: view.window, idle: view.idle });
  // The thread the view is filtered to stays in the panel (and named) when it goes idle or its counts are reset.
  const picked = view.thread === undefined ? undefined : threads.find((x) => x.key === view.thread);
  if (view.thread !== undefined && !picked) {
    const all = model.threads({ window: view.window, idle: true });
    const shown = new Set([...threads.map((x) => x.key), view.thread]);
    threads.splice(0, threads.length, ...all.filter((x) => shown.has(x.key)));
  }
  const tree = view.pane === 'table' ? undefined : model.callTree(scope);
  let scopeLabel: string | undefined;
  if (scope.task !== undefined) {
    scopeLabel = `task ${scope.task}`;
  } else if (view.thread) {
    const t = threads.find((x) => x.key === view.thread);
    scopeLabel = t ? `thread ${threadLabel(t)}` : 'a thread that has exited';
  } else if (view.pid !== undefined) {
    scopeLabel = `process ${view.pid}`;
  }
  return {
    header: {
      pid: root?.pid ?? src.rootPid,
      cmdline: root?.cmdline ?? '',
      pythonVersion: root?.pythonVersion ?? '',
      elapsedS: ((extra.now ?? Date.now()) - src.startedAt) / 1000,
      samples: totals.ticks,
      achievedHz: totals.achievedHz,
      requestedHz: stats.rateHz,
      dropped: stats.dropped,
      late: stats.late,
      errorPct: totals.errorPct,
      topReason: totals.topReason,
      gilPct: totals.gilPct,
      noGil: totals.noGil,
      activePct: totals.activePct,
      threads: totals.threads,
      processes: Math.max(totals.processes, [...src.processes.values()].filter((p) => !p.exited).length),
      processesExited: [...src.processes.values()].filter((p) => p.exited).length,
      gilOnly: model.gilOnly,
      exitedNote: extra.exitedNote,
      status: extra.status ?? [],
    },
    view,
    functions,
    threads,
    processes: [...src.processes.values()],
    scopeLabel,
    tasks: view.byTask ? model.taskNames({ ...scope, task: undefined, filter: undefined }) : undefined,
    tree,
  };
}

export function threadLabel(t: ThreadRow): string {
  const id = t.nativeId ? String(t.nativeId) : '0x' + t.threadId.toString(16);
  return t.name ? `${id} ${t.name}` : id;
}

/** Filter cycle for t/Tab and →: all → each process (when several) → each thread → all; step -1 (←) goes back. */
export function nextScope(
  view: ViewState,
  threads: ThreadRow[],
  processes: number[],
  step = 1,
): Pick<ViewState, 'thread' | 'pid'> {
  // Explicit undefineds: the result is spread over the view and must clear the other filter.
  const scopes: Array<Pick<ViewState, 'thread' | 'pid'>> = [{ thread: undefined, pid: undefined }];
  const multi = processes.length > 1;
  if (multi) for (const pid of processes) scopes.push({ pid, thread: undefined });
  for (const t of threads) scopes.push({ thread: t.key, pid: undefined });
  // A scope no longer listed counts as "all": the next step goes to the first or the last one.
  const i = Math.max(
    0,
    scopes.findIndex((s) => s.thread === view.thread && s.pid === view.pid),
  );
  return scopes[(((i + step) % scopes.length) + scopes.length) % scopes.length]!;
}

/** Filter cycle for t/Tab and → when grouped by task: all tasks → each task → all; step -1 (←) goes back. */
export function nextTask(view: ViewState, tasks: string[], step = 1): Pick<ViewState, 'task'> {
  const scopes = [undefined, ...tasks];
  const i = Math.max(0, scopes.indexOf(view.task));
  return { task: scopes[(((i + step) % scopes.length) + scopes.length) % scopes.length] };
}

export const SORT_KEYS: SortKey[] = ['own', 'total', 'ownTime', 'totalTime'];
export const SORT_TITLES: Record<SortKey, string> = {
  own: '%Own',
  total: '%Total',
  ownTime: 'OwnTime',
  totalTime: 'TotalTime',
};
