/**
 * Runs `gauge top` in batch mode (no TTY) and picks its plain-text output
 * apart: shared by the top tests.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const gauge = join(root, 'bin', 'gauge');
export const fixtures = join(root, 'test', 'fixtures');
/** Every process a test started; kill what is left in `after`. */
export const children = new Set<ChildProcess>();

export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run gauge to completion without a TTY (stdin/stdout are pipes). */
export function runGauge(args: string[], timeoutMs = 60000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [gauge, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, COLUMNS: '200' },
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The last snapshot in batch output. */
export function lastSnapshot(out: string): string {
  const i = out.lastIndexOf('gauge top  pid');
  assert.ok(i >= 0, `no snapshot in output:\n${out}`);
  return out.slice(i);
}

/** %Own of a function in a snapshot, or undefined when it is not listed. */
export function ownPct(snapshot: string, fn: string): number | undefined {
  const fnSection = snapshot.slice(0, snapshot.indexOf('\nThreads'));
  for (const line of fnSection.split('\n')) {
    const m = /^\s*([\d.]+)%\*?\s+([\d.]+)%\s+\S+\s+\S+\s+(\S+) \(/.exec(line);
    if (m && m[3] === fn) return Number(m[1]);
  }
  return undefined;
}

export function threadsSection(snapshot: string): string {
  return snapshot.slice(snapshot.indexOf('\nThreads'));
}
