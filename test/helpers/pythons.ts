/**
 * Finds the CPython interpreters tests run against, instead of hard-coding
 * machine paths. Sources, in order: GAUGE_TEST_PYTHONS (colon-separated
 * executables; when set it is the whole list), every version under
 * `pyenv root`/versions, then python2.7/python3.X/python3 on PATH.
 * Interpreters are de-duplicated by resolved path and reported with the
 * exact version they print.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join, delimiter } from 'node:path';

export interface Python {
  /** Executable path. */
  exe: string;
  /** Exact version, e.g. "3.12.1". */
  version: string;
  /** [major, minor]. */
  mm: [number, number];
  /** Short label for test names, e.g. "3.12.1 (pyenv)". */
  label: string;
}

function versionOf(exe: string): string | undefined {
  try {
    const out = execFileSync(exe, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], {
      encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

function pyenvRoot(): string | undefined {
  if (process.env.PYENV_ROOT && existsSync(process.env.PYENV_ROOT)) return process.env.PYENV_ROOT;
  try {
    return execFileSync('pyenv', ['root'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    const home = process.env.HOME;
    return home && existsSync(join(home, '.pyenv')) ? join(home, '.pyenv') : undefined;
  }
}

function candidates(): Array<[string, string]> {
  const env = process.env.GAUGE_TEST_PYTHONS;
  if (env) return env.split(':').filter(Boolean).map((p) => [p, 'env']);
  const out: Array<[string, string]> = [];
  const root = pyenvRoot();
  if (root && existsSync(join(root, 'versions'))) {
    for (const v of readdirSync(join(root, 'versions')).sort()) {
      for (const name of ['python3', 'python2', 'python']) {
        const exe = join(root, 'versions', v, 'bin', name);
        if (existsSync(exe)) { out.push([exe, 'pyenv']); break; }
      }
    }
  }
  const names = ['python2.7', ...Array.from({ length: 10 }, (_, i) => `python3.${i + 6}`), 'python3'];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('pyenv')) continue; // pyenv shims re-dispatch; versions come from the root
    for (const n of names) {
      const exe = join(dir, n);
      if (existsSync(exe)) out.push([exe, 'PATH']);
    }
  }
  return out;
}

let cached: Python[] | undefined;

/** Every distinct interpreter found, sorted by version. */
export function findPythons(): Python[] {
  if (cached) return cached;
  const seen = new Set<string>();
  const found: Python[] = [];
  for (const [exe, source] of candidates()) {
    let real: string;
    try { real = realpathSync(exe); } catch { continue; }
    if (seen.has(real)) continue;
    seen.add(real);
    const version = versionOf(exe);
    if (!version) continue;
    const [maj, min] = version.split('.').map(Number);
    found.push({ exe, version, mm: [maj, min], label: `${version} (${source === 'pyenv' ? 'pyenv' : exe})` });
  }
  found.sort((a, b) => a.mm[0] - b.mm[0] || a.mm[1] - b.mm[1] || a.exe.localeCompare(b.exe));
  cached = found;
  return found;
}

/** Interpreters at or above a version; prints which ones are skipped and why. */
export function pythonsAtLeast(major: number, minor: number): Python[] {
  return findPythons().filter((p) => p.mm[0] > major || (p.mm[0] === major && p.mm[1] >= minor));
}

/**
 * One interpreter per wanted minor version (e.g. ["3.8","3.11"]); a missing one
 * is reported visibly so a skipped check is never silent.
 */
export function pythonsFor(wanted: string[], log: (m: string) => void = (m) => console.log(m)): Python[] {
  const all = findPythons();
  const out: Python[] = [];
  for (const w of wanted) {
    const [maj, min] = w.split('.').map(Number);
    const p = all.find((x) => x.mm[0] === maj && x.mm[1] === min);
    if (p) out.push(p);
    else log(`# SKIP: no CPython ${w} found (set GAUGE_TEST_PYTHONS or install it under pyenv)`);
  }
  return out;
}

/** Fails loudly when the machine has no interpreter at all: a suite that tested nothing must not pass. */
export function requirePythons(): Python[] {
  const all = findPythons();
  if (all.length === 0) throw new Error('no CPython interpreter found: set GAUGE_TEST_PYTHONS, install pyenv versions, or put python3 on PATH');
  return all;
}
