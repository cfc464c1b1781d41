/**
 * Finds the CPython interpreters tests run against, instead of hard-coding
 * machine paths. Sources, in order: GAUGE_TEST_PYTHONS (colon-separated
 * executables; when set it is the whole list), every version under
 * `pyenv root`/versions, the interpreters listed in
 * `${GAUGE_PYTHONS:-$HOME/.cache/gauge-pythons}/pythons.txt` (what
 * ../shared/pythons/install.sh installs: Debian's 3.14/3.15, free-threaded
 * 3.13t/3.14t), then python2.7/python3.X/python3 on PATH. Interpreters are
 * de-duplicated by resolved path and reported with the exact version they
 * print and whether they are free-threaded builds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, delimiter, relative, sep } from 'node:path';

export interface Python {
  /** Executable path. */
  exe: string;
  /** Exact version, e.g. "3.12.1". */
  version: string;
  /** [major, minor]. */
  mm: [number, number];
  /** Short label for test names, e.g. "3.12.1 (pyenv)", "3.14.10 (debian-3.14)", "3.13.5t". */
  label: string;
  /** A free-threaded build (sysconfig Py_GIL_DISABLED): no GIL, so no thread ever holds one. */
  freeThreaded: boolean;
}

/**
 * Exact version and whether the build is free-threaded, as the interpreter itself says. Asked twice, with
 * a generous timeout: on a loaded machine a cold start importing sysconfig has taken over 10 s, and an
 * interpreter that is there must not turn into a skip.
 */
function describe(exe: string): { version: string; freeThreaded: boolean } | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const out = execFileSync(
        exe,
        ['-c', 'import sys, sysconfig; print("%d.%d.%d %s" % (sys.version_info[:3] + (sysconfig.get_config_var("Py_GIL_DISABLED") or 0,)))'],
        { encoding: 'utf8', timeout: 30000, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const m = /^(\d+\.\d+\.\d+) (\S+)$/.exec(out.trim());
      return m ? { version: m[1]!, freeThreaded: m[2] === '1' } : undefined;
    } catch {
      if (!existsSync(exe)) return undefined;
    }
  }
  return undefined;
}

/** Where ../shared/pythons/install.sh puts its interpreters. */
export function sharedPythonsDir(): string | undefined {
  if (process.env.GAUGE_PYTHONS) return process.env.GAUGE_PYTHONS;
  return process.env.HOME ? join(process.env.HOME, '.cache', 'gauge-pythons') : undefined;
}

/** Executables listed in pythons.txt, each with its install name (the directory under the shared root). */
function sharedPythons(): Array<[string, string]> {
  const dir = sharedPythonsDir();
  if (!dir || !existsSync(join(dir, 'pythons.txt'))) return [];
  return readFileSync(join(dir, 'pythons.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((exe) => [exe, relative(dir, exe).split(sep)[0] || 'shared']);
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
  out.push(...sharedPythons());
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
    const d = describe(exe);
    if (!d) continue;
    const { version, freeThreaded } = d;
    const [maj, min] = version.split('.').map(Number) as [number, number];
    const t = freeThreaded ? 't' : '';
    // pyenv and shared installs by their source ("3.14.10 (debian-3.14)"); a free-threaded build
    // whose install name says no more than its version is just "3.13.5t".
    const where = source === 'PATH' || source === 'env' ? exe : source;
    const label = where === `${maj}.${min}t` && freeThreaded ? `${version}t` : `${version}${t} (${where})`;
    found.push({ exe, version, mm: [maj, min], label, freeThreaded });
  }
  // By version; within a minor version free-threaded builds first, so `.at(-1)` ("the newest") stays a GIL build.
  found.sort((a, b) => a.mm[0] - b.mm[0] || a.mm[1] - b.mm[1] || Number(b.freeThreaded) - Number(a.freeThreaded) || a.exe.localeCompare(b.exe));
  cached = found;
  return found;
}

/** Interpreters at or above a version; prints which ones are skipped and why. */
export function pythonsAtLeast(major: number, minor: number): Python[] {
  return findPythons().filter((p) => p.mm[0] > major || (p.mm[0] === major && p.mm[1] >= minor));
}

/** Free-threaded interpreters only. */
export function freeThreadedPythons(): Python[] {
  return findPythons().filter((p) => p.freeThreaded);
}

/** The interpreter for one wanted minor version: "3.13" a GIL build, "3.13t" a free-threaded one. */
export function pythonFor(wanted: string): Python | undefined {
  const m = /^(\d+)\.(\d+)(t?)$/.exec(wanted);
  if (!m) throw new Error(`pythonFor: bad version ${wanted} (e.g. "3.12" or "3.13t")`);
  const [maj, min, ft] = [Number(m[1]), Number(m[2]), m[3] === 't'];
  return findPythons().find((x) => x.mm[0] === maj && x.mm[1] === min && x.freeThreaded === ft);
}

/**
 * One interpreter per wanted minor version (e.g. ["3.8","3.11","3.14t"]; a
 * trailing "t" asks for a free-threaded build, none for a GIL build); a
 * missing one is reported visibly so a skipped check is never silent.
 */
export function pythonsFor(wanted: string[], log: (m: string) => void = (m) => console.log(m)): Python[] {
  const out: Python[] = [];
  for (const w of wanted) {
    const p = pythonFor(w);
    if (p) out.push(p);
    else log(`# SKIP: ${missingReason(w)}`);
  }
  return out;
}

/** Why a wanted interpreter is not there, as a node:test `skip` reason. */
export function missingReason(wanted: string): string {
  return `no CPython ${wanted} found (set GAUGE_TEST_PYTHONS, install it under pyenv, or run ../shared/pythons/install.sh)`;
}

/**
 * Each wanted version with its interpreter, or the skip reason when it is
 * missing: `test(name, { skip }, fn)` then counts the missing one as skipped.
 */
export function pythonsOrSkip(wanted: string[]): Array<{ wanted: string; py?: Python; skip?: string }> {
  return wanted.map((w) => {
    const py = pythonFor(w);
    return py ? { wanted: w, py } : { wanted: w, skip: missingReason(w) };
  });
}

/** Fails loudly when the machine has no interpreter at all: a suite that tested nothing must not pass. */
export function requirePythons(): Python[] {
  const all = findPythons();
  if (all.length === 0) throw new Error('no CPython interpreter found: set GAUGE_TEST_PYTHONS, install pyenv versions, or put python3 on PATH');
  return all;
}
