/**
 * The profilers gauge is measured against, found at run time and never
 * vendored: Austin 3.7 (../shared/peers/install-austin.sh) and CPython 3.15's
 * own sampler, Tachyon (`python3.15 -m profiling.sampling`, which reads only
 * targets of its own minor version). Each peer runs as its own process under
 * bench/rusage.py, so its CPU time is what the kernel accounts to it (wait4).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Python } from '../test/helpers/pythons.js';
import { packageRoot } from './lib.js';

/** A peer found, or why not. */
export type Found<T> = { ok: true; value: T } | { ok: false; why: string };

export interface Austin {
  exe: string;
  version: string;
}

/** GAUGE_AUSTIN, else `austin` on PATH, else where install-austin.sh puts it (${GAUGE_PEERS:-~/.cache/gauge-peers}/bin). */
export function findAustin(): Found<Austin> {
  const tried: string[] = [];
  const candidates: string[] = [];
  if (process.env.GAUGE_AUSTIN) candidates.push(process.env.GAUGE_AUSTIN);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'austin'));
  const peers =
    process.env.GAUGE_PEERS ?? (process.env.HOME ? join(process.env.HOME, '.cache', 'gauge-peers') : undefined);
  if (peers) candidates.push(join(peers, 'bin', 'austin'));
  for (const exe of candidates) {
    if (!existsSync(exe)) continue;
    tried.push(exe);
    const r = spawnSync(exe, ['--version'], { encoding: 'utf8', timeout: 10000 });
    const m = /austin\s+(\S+)/i.exec(`${r.stdout}${r.stderr}`);
    if (r.status === 0 && m) return { ok: true, value: { exe, version: m[1]! } };
  }
  return {
    ok: false,
    why: tried.length
      ? `Austin found at ${tried.join(', ')} but \`--version\` failed`
      : 'Austin not found (set GAUGE_AUSTIN, put austin on PATH, or run ../shared/peers/install-austin.sh)',
  };
}

/** Tachyon for a target: the target's own interpreter when it ships `profiling.sampling` (3.15+). */
export function findTachyon(target: Python): Found<Python> {
  if (target.mm[0] < 3 || (target.mm[0] === 3 && target.mm[1] < 15))
    return { ok: false, why: `Tachyon reads only its own minor version; ${target.version} has none` };
  const r = spawnSync(target.exe, ['-m', 'profiling.sampling', 'attach', '--help'], {
    encoding: 'utf8',
    timeout: 30000,
    env: tachyonEnv(undefined),
  });
  return r.status === 0
    ? { ok: true, value: target }
    : {
        ok: false,
        why: `${target.exe} -m profiling.sampling fails: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`,
      };
}

/**
 * Environment for Tachyon runs. A Debian interpreter extracted from its .deb has no
 * .pyc files (postinst compiles them), and PYTHONDONTWRITEBYTECODE would make every
 * run compile its imports again (~0.5 s of CPU): bytecode goes to a cache of the bench's own.
 */
export function tachyonEnv(pycache: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PYTHONDONTWRITEBYTECODE;
  if (pycache) env.PYTHONPYCACHEPREFIX = pycache;
  return env;
}

export interface Usage {
  /** utime + stime, seconds. */
  cpu: number;
  wall: number;
  status: number;
  /** The command's stdout and stderr, ANSI colours removed. */
  output: string;
}

/** Run a command to completion under bench/rusage.py (run by `runner`) and return its CPU time and output. */
export async function measured(
  runner: Python,
  cmd: string[],
  env?: NodeJS.ProcessEnv,
  timeoutMs = 120000,
): Promise<Usage> {
  const dir = mkdtempSync(join(tmpdir(), 'gauge-peer-'));
  const outFile = join(dir, 'out.txt');
  try {
    const p = spawn(runner.exe, [join(packageRoot(), 'bench', 'rusage.py'), outFile, ...cmd], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((resolve, reject) => {
      p.on('exit', resolve);
      p.on('error', reject);
    });
    clearTimeout(timer);
    const line = out.trim().split('\n').pop() ?? '';
    if (code !== 0 || !line.startsWith('{')) throw new Error(`rusage.py ${cmd[0]} failed (${code}): ${err.trim()}`);
    const j = JSON.parse(line) as { utime: number; stime: number; wall: number; status: number };
    let output = '';
    try {
      output = stripAnsi(readFileSync(outFile, 'utf8'));
    } catch {
      /* no output */
    }
    return { cpu: j.utime + j.stime, wall: j.wall, status: j.status, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ESC = String.fromCharCode(27);
/** Austin colours its statistics. */
const stripAnsi = (s: string) =>
  s
    .split(ESC)
    .map((part, i) => (i ? part.replace(/^\[[0-9;]*m/, '') : part))
    .join('');

/** Last non-empty line of a peer's output, for a one-line reason. */
export function lastLine(s: string): string {
  const ls = s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return ls[ls.length - 1] ?? '';
}

/** Austin's own words on why it stopped: the first sentence after its banner. */
export function austinWhy(output: string): string {
  const text = output
    .split('\n')
    .filter((l) => /[a-z]{3}/i.test(l) && !/[_|\\]{3}/.test(l))
    .join(' ')
    .replace(/\s+/g, ' ')
    .replace(/^[^A-Za-z]+/, '');
  return /^[^.!]*[.!]?/.exec(text)?.[0].trim() || lastLine(output);
}

/** Austin's counts from its statistics on stderr: thread samples taken and invalid ones. */
export function austinCounts(output: string): { samples: number; errors: number } | undefined {
  const m = /Error rate\s*:\s*(\d+)\s*\/\s*(\d+)/.exec(output);
  return m ? { errors: Number(m[1]), samples: Number(m[2]) } : undefined;
}

/** Tachyon's summary: full samples captured (all threads with -a) and its error rate in %. */
export function tachyonCounts(output: string): { samples: number; errorPct: number; seconds: number } | undefined {
  const m = /Captured (\d+) samples? in ([\d.]+) seconds/.exec(output);
  if (!m) return undefined;
  const e = /Error rate:\s*([\d.]+)/.exec(output);
  return { samples: Number(m[1]), seconds: Number(m[2]), errorPct: e ? Number(e[1]) : 0 };
}

/** The command lines, in one place. */
export const austinCmd = (a: Austin, pid: number, interval: string, seconds: number, out: string) => [
  a.exe,
  '-i',
  interval,
  '-x',
  String(seconds),
  '-p',
  String(pid),
  '-o',
  out,
];

export const tachyonCmd = (t: Python, pid: number, rate: string, seconds: number, out: string) => [
  t.exe,
  '-m',
  'profiling.sampling',
  'attach',
  '-a',
  '-r',
  rate,
  '-d',
  String(seconds),
  '--collapsed',
  '-o',
  out,
  String(pid),
];
