/** Text formatting shared by the TUI and the batch output: paths, durations, function labels. */
import { homedir } from 'node:os';
import { sep } from 'node:path';

const LIB_MARKERS = ['/site-packages/', '/dist-packages/'];
const STDLIB = /\/lib\/python\d+(?:\.\d+)?t?\//;

/**
 * A path as a reader wants it: package-relative for installed packages,
 * module-relative for the standard library, cwd-relative for the app, ~ for
 * home. Synthetic names such as "<string>" stay as they are.
 */
export function shortPath(file: string, cwd = process.cwd()): string {
  if (!file || file.startsWith('<')) return file;
  for (const m of LIB_MARKERS) {
    const i = file.lastIndexOf(m);
    if (i >= 0) return file.slice(i + m.length);
  }
  const std = STDLIB.exec(file);
  if (std) return file.slice(std.index + std[0].length);
  if (cwd && cwd !== sep && file.startsWith(cwd + sep)) return file.slice(cwd.length + 1);
  const home = safeHome();
  if (home && home !== sep && file.startsWith(home + sep)) return '~' + file.slice(home.length);
  return file;
}

function safeHome(): string {
  try {
    return homedir();
  } catch {
    // No home directory (a service user): there is nothing to shorten to ~.
    return '';
  }
}

/** Cut a path from the left, keeping whole trailing components where possible: "…/pkg/mod.py". */
export function fitPath(path: string, width: number): string {
  if (path.length <= width) return path;
  if (width <= 1) return path.slice(path.length - Math.max(0, width));
  const parts = path.split('/');
  let out = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) {
    const next = parts[i] + '/' + out;
    if (next.length + 2 > width) break;
    out = next;
  }
  if (out.length + 2 <= width) return '…/' + out;
  return '…' + path.slice(path.length - (width - 1));
}

/** Cut a string at the right with an ellipsis. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length <= width) return s;
  if (width === 1) return '…';
  return s.slice(0, width - 1) + '…';
}

/**
 * "name (file:line)" in at most width characters: the function name is kept
 * first, the path is shortened (unless full), then dropped, then the name cut.
 */
export function functionLabel(name: string, file: string, line: number, width: number, full = false): string {
  if (!file) return truncate(name, width);
  const loc = `${full ? file : shortPath(file)}${line ? ':' + line : ''}`;
  const whole = `${name} (${loc})`;
  if (whole.length <= width) return whole;
  const room = width - name.length - 3;
  const suffix = line ? ':' + line : '';
  const path = full ? file : shortPath(file);
  if (room - suffix.length >= 6) return `${name} (${fitPath(path, room - suffix.length)}${suffix})`;
  return truncate(name, width);
}

/** Seconds as a compact duration: 0.42s, 12.3s, 4m05s, 2h13m. */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) s = 0;
  if (s < 10) return s.toFixed(2) + 's';
  if (s < 60) return s.toFixed(1) + 's';
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Elapsed wall time as h:mm:ss or m:ss. */
export function clock(s: number): string {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function pct(x: number): string {
  return x >= 99.95 ? '100%' : x.toFixed(1) + '%';
}
