/**
 * Text formatting shared by the TUI and the batch output: paths, durations,
 * function labels. Widths are terminal columns (string-width, as Ink
 * measures): a CJK character takes two, a combining mark none.
 */
import { homedir } from 'node:os';
import { sep } from 'node:path';
import stringWidth from 'string-width';

/** Columns a string takes on a terminal. */
export function columns(s: string): number {
  return stringWidth(s);
}

/** The longest head of s that fits in cols columns. */
function headCols(s: string, cols: number): string {
  let out = '';
  let used = 0;
  for (const ch of s) {
    const w = stringWidth(ch);
    if (used + w > cols) break;
    out += ch;
    used += w;
  }
  return out;
}

/** The longest tail of s that fits in cols columns. */
function tailCols(s: string, cols: number): string {
  const chars = [...s];
  let out = '';
  let used = 0;
  for (let i = chars.length - 1; i >= 0; i--) {
    const w = stringWidth(chars[i]!);
    if (used + w > cols) break;
    out = chars[i]! + out;
    used += w;
  }
  return out;
}

/** s cut or padded with spaces on the right to exactly cols columns. */
export function padEndCols(s: string, cols: number): string {
  const t = truncate(s, cols);
  return t + ' '.repeat(Math.max(0, cols - stringWidth(t)));
}

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
  if (stringWidth(path) <= width) return path;
  if (width <= 1) return tailCols(path, Math.max(0, width));
  const parts = path.split('/');
  let out = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) {
    const next = parts[i] + '/' + out;
    if (stringWidth(next) + 2 > width) break;
    out = next;
  }
  if (stringWidth(out) + 2 <= width) return '…/' + out;
  return '…' + tailCols(path, width - 1);
}

/** Cut a string at the right with an ellipsis, to at most width columns. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  if (stringWidth(s) <= width) return s;
  if (width === 1) return '…';
  return headCols(s, width - 1) + '…';
}

/**
 * "name (file:line)" in at most width columns: the function name is kept
 * first, the path is shortened (unless full), then dropped, then the name
 * cut. For a line (byLine) the place is what the row is about, so the name
 * is cut before the file's last part and the line number go.
 */
export function functionLabel(
  name: string,
  file: string,
  line: number,
  width: number,
  full = false,
  byLine = false,
): string {
  if (!file) return truncate(name, width);
  const path = full ? file : shortPath(file);
  const suffix = line ? ':' + line : '';
  const whole = `${name} (${path}${suffix})`;
  if (stringWidth(whole) <= width) return whole;
  const nameW = stringWidth(name);
  const room = width - nameW - 3;
  if (room - suffix.length >= 6) return `${name} (${fitPath(path, room - suffix.length)}${suffix})`;
  if (byLine) {
    const base = path.slice(path.lastIndexOf('/') + 1);
    const placeW = Math.min(stringWidth(path), stringWidth(base) + 2) + suffix.length;
    const nameRoom = Math.min(nameW, Math.max(8, width - placeW - 3));
    const pathRoom = width - nameRoom - 3 - suffix.length;
    if (pathRoom >= 4) return `${truncate(name, nameRoom)} (${fitPath(path, pathRoom)}${suffix})`;
  }
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
