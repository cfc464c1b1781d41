/**
 * Building and running the C reader's unit tests: one compiler line (sanitizers
 * when the toolchain has them, so a bad read fails the suite, not just a crash)
 * and one way to read a test binary's "N passed, M failed" summary.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'native');
export const nativeOut = mkdtempSync(join(tmpdir(), 'gauge-native-'));

function sanitizerFlags(): string[] {
  // Some toolchains ship without the sanitizer runtimes; fall back visibly.
  const probe = spawnSync('cc', ['-fsanitize=address,undefined', '-x', 'c', '-o', join(nativeOut, 'probe'), '-'], {
    input: 'int main(void){return 0;}',
    encoding: 'utf8',
  });
  if (probe.status === 0)
    return ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];
  console.log('# sanitizers unavailable in this compiler; running the native tests without them');
  return [];
}

export const ccFlags = ['-std=gnu11', '-g', '-O1', '-Wall', '-Wextra', '-Werror', ...sanitizerFlags()];
export const sanitizerEnv = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0',
  UBSAN_OPTIONS: 'print_stacktrace=1',
};

/** Compiles `sources` into `name` under the scratch directory and returns its path. */
export function compileNative(name: string, sources: string[]): string {
  const exe = join(nativeOut, name);
  execFileSync('cc', [...ccFlags, '-o', exe, ...sources, '-pthread']);
  return exe;
}

/** Runs a unit-test binary and asserts it passed, with no failure and at least `minChecks` checks. */
export function runUnitTests(exe: string, minChecks: number): void {
  const r = spawnSync(exe, [], { encoding: 'utf8', env: sanitizerEnv });
  const summary = /(\d+) passed, (\d+) failed/.exec(r.stdout);
  assert.ok(summary, `no summary from ${exe}:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(Number(summary[2]), 0, r.stdout);
  assert.ok(Number(summary[1]) >= minChecks, `only ${summary[1]} checks ran`);
}
