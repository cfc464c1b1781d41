/**
 * Finds the Python processes on the host, at start and as they appear: each
 * scan lists /proc, and a pid not seen before is offered to the session when
 * its command line passes --match/--exclude and its executable or a mapped
 * library is named like Python (python*, libpython*, uwsgi) — so the ELF
 * symbols of every other binary on the host are never read. A pid that is
 * refused is not retried unless its executable changes (an exec: a shell or
 * a pyenv shim that becomes Python); that check runs every scan while the
 * pid is young, then only now and then, so hundreds of long-lived non-Python
 * processes cost one readdir per scan.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { commandLine } from '../process/procfs.js';

export type AttachResult = 'ok' | 'refused' | 'later';

export interface DiscoverOptions {
  /** Command lines to watch (any of them); empty: every Python process. */
  match: readonly RegExp[];
  /** Command lines never to watch. */
  exclude: readonly RegExp[];
  /** Pids never to watch (gauge itself). */
  skip?: readonly number[];
}

interface Refused {
  exe: string;
  atMs: number;
}

/** Refused pids are re-checked for an exec every scan for this long, then every RECHECK_EVERY scans. */
const YOUNG_MS = 60000;
const RECHECK_EVERY = 15;
const PYTHON_NAME = /(?:^|\/)(?:lib)?python[\d.]*[a-z]*(?:\.so[\d.]*|\.a)?$|(?:^|\/)uwsgi$/i;

function exeOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // Gone, a kernel thread, or not ours to read: '' (a later exec makes it differ).
    return '';
  }
}

/** Whether pid's executable or a library it maps is named like CPython. */
export function looksLikePython(pid: number, exe = exeOf(pid)): boolean {
  if (PYTHON_NAME.test(exe.replace(/ \(deleted\)$/, ''))) return true;
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'latin1');
  } catch {
    // Not readable (another user's process without CAP_SYS_PTRACE): the attach would fail too.
    return false;
  }
  for (const line of maps.split('\n')) {
    const i = line.indexOf('/');
    if (i >= 0 && PYTHON_NAME.test(line.slice(i).replace(/ \(deleted\)$/, ''))) return true;
  }
  return false;
}

/** Whether a command line is one the options select. */
export function selected(cmdline: string, o: DiscoverOptions): boolean {
  if (o.match.length && !o.match.some((r) => r.test(cmdline))) return false;
  return !o.exclude.some((r) => r.test(cmdline));
}

export class ProcessDiscovery {
  private readonly watched = new Set<number>();
  private readonly refused = new Map<number, Refused>();
  private scans = 0;

  constructor(
    private readonly opts: DiscoverOptions,
    private readonly tryAttach: (pid: number) => AttachResult,
  ) {}

  /** One pass over /proc; returns the pids attached in it. */
  scan(nowMs = Date.now()): number[] {
    this.scans++;
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      // No /proc: nothing to discover (reported once by the agent, which sees no processes).
      return [];
    }
    const live = new Set<number>();
    const attached: number[] = [];
    for (const e of entries) {
      const pid = Number(e);
      if (!(pid > 0)) continue;
      live.add(pid);
      if (this.watched.has(pid) || this.opts.skip?.includes(pid)) continue;
      const r = this.refused.get(pid);
      if (r && nowMs - r.atMs > YOUNG_MS && this.scans % RECHECK_EVERY !== 0) continue;
      const exe = exeOf(pid);
      if (r && r.exe === exe) continue;
      const result = this.offer(pid, exe);
      if (result === 'ok') {
        this.watched.add(pid);
        this.refused.delete(pid);
        attached.push(pid);
      } else if (result === 'refused') {
        // Processes already running at the first scan are not young: they are past any wrapper's exec.
        this.refused.set(pid, { exe, atMs: r?.atMs ?? (this.scans === 1 ? -Infinity : nowMs) });
      }
    }
    for (const pid of this.refused.keys()) if (!live.has(pid)) this.refused.delete(pid);
    return attached;
  }

  private offer(pid: number, exe: string): AttachResult {
    const cmdline = commandLine(pid);
    // Kernel threads have no command line; a process that is still being set up may briefly have none either.
    if (!cmdline || !exe) return 'refused';
    if (!selected(cmdline, this.opts) || !looksLikePython(pid, exe)) return 'refused';
    return this.tryAttach(pid);
  }

  /** A watched process exited: its pid may be reused by anything. */
  release(pid: number): void {
    this.watched.delete(pid);
    this.refused.delete(pid);
  }

  /** Pids remembered as not to watch (bounded by the host's live processes). */
  get refusedCount(): number {
    return this.refused.size;
  }
}
