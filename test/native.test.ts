/**
 * The C reader's own tests, run from `npm test`: the walker unit tests over
 * synthetic memory images (the only coverage 3.14 gets here) and a replay of
 * the fuzz regression corpus, both built with AddressSanitizer and
 * UndefinedBehaviorSanitizer so a bad read fails the suite, not just a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const nativeDir = join(root, 'native');
// The reader core only: no /proc, no threads, so it runs over an image.
const coreSources = readdirSync(join(nativeDir, 'src'))
  .filter((f) => f.endsWith('.c') && !['api.c', 'attach.c', 'sampler.c', 'threadstat.c', 'threadnames.c'].includes(f))
  .map((f) => join(nativeDir, 'src', f));
const out = mkdtempSync(join(tmpdir(), 'gauge-native-'));

function sanitizerFlags(): string[] {
  // Some toolchains ship without the sanitizer runtimes; fall back visibly.
  const probe = spawnSync('cc', ['-fsanitize=address,undefined', '-x', 'c', '-o', join(out, 'probe'), '-'], {
    input: 'int main(void){return 0;}', encoding: 'utf8',
  });
  if (probe.status === 0) return ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];
  console.log('# sanitizers unavailable in this compiler; running the native tests without them');
  return [];
}
const flags = ['-std=gnu11', '-g', '-O1', '-Wall', '-Wextra', '-Werror', ...sanitizerFlags()];
const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' };

test('walker unit tests over synthetic images of every layout (2.7, 3.6-3.14)', () => {
  const exe = join(out, 'test_walker');
  execFileSync('cc', [...flags, '-o', exe, join(nativeDir, 'test', 'test_walker.c'), ...coreSources, '-pthread']);
  const r = spawnSync(exe, [], { encoding: 'utf8', env });
  const summary = /(\d+) passed, (\d+) failed/.exec(r.stdout);
  assert.ok(summary, `no summary from test_walker:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(Number(summary[2]), 0, r.stdout);
  assert.ok(Number(summary[1]) >= 100, `only ${summary[1]} checks ran`);
});

test('fuzz regression corpus replays without a crash or sanitizer report', () => {
  const exe = join(out, 'replay');
  execFileSync('cc', [...flags, '-o', exe, join(nativeDir, 'fuzz', 'replay.c'), join(nativeDir, 'fuzz', 'fuzz_reader.c'), ...coreSources, '-pthread']);
  const corpus = join(nativeDir, 'fuzz', 'corpus');
  const r = spawnSync(exe, [corpus], { encoding: 'utf8', env, timeout: 120000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stderr, /runtime error|AddressSanitizer/);
  const n = Number(/replayed (\d+) inputs/.exec(r.stdout + r.stderr)?.[1] ?? 0);
  assert.equal(n, readdirSync(corpus).length);
});
