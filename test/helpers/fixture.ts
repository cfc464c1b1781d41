/**
 * Starting a Python fixture and waiting for its first line (its truth, or
 * "READY"): one way for every suite that compares gauge with what a target
 * says about itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import type { Python } from './pythons.js';

export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures');

/** Starts test/fixtures/<script> under py (kept in `children` for the suite to kill) and resolves with its first stdout line. */
export function startFixture(
  py: Python,
  script: string,
  opts: { children: Set<ChildProcess>; env?: NodeJS.ProcessEnv; args?: string[] },
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(py.exe, [join(fixturesDir, script), ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  opts.children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    // Generous: an interpreter starting on a 2-core box that another build is loading can take many seconds.
    const timer = setTimeout(
      () => reject(new Error(`${script} on ${py.label}: no output in 120 s; stderr: ${stderr}`)),
      120000,
    );
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ child, line });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} on ${py.label} exited with ${code}: ${stderr}`));
    });
  });
}

/**
 * Starts test/fixtures/<script> unbuffered with its stdin open for commands (kept in `children` for the suite to
 * kill); next() resolves with its next stdout line, and fails the test when none comes within 30 s.
 */
export function talkingFixture(
  py: Python,
  script: string,
  children: ChildProcess[],
): { child: ChildProcess; next: () => Promise<string> } {
  const child = spawn(py.exe, ['-u', join(fixturesDir, script)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const timeout = new Promise<{ done: true; value: string }>((r) =>
      setTimeout(() => r({ done: true, value: 'timeout' }), 30000).unref(),
    );
    const r = await Promise.race([lines.next(), timeout]);
    assert.ok(!r.done, `${script} stopped talking (${String(r.value)})`);
    return r.value as string;
  };
  return { child, next };
}
