/**
 * The C reader's own tests, run from `npm test`: the walker unit tests over
 * synthetic memory images (built-in rows, and 3.13+ images read through their
 * own _Py_DebugOffsets) and a replay of the fuzz regression corpus, both built
 * with AddressSanitizer and UndefinedBehaviorSanitizer so a bad read fails the
 * suite, not just a crash; and the C static check (cppcheck, see native/build.mjs).
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
// The reader core: no /proc, no threads, so it runs over an image.
const coreSources = readdirSync(join(nativeDir, 'src'))
  .filter((f) => f.endsWith('.c') && !['api.c', 'attach.c', 'sampler.c', 'threadstat.c'].includes(f))
  .map((f) => join(nativeDir, 'src', f));
const out = mkdtempSync(join(tmpdir(), 'gauge-native-'));

function sanitizerFlags(): string[] {
  // Some toolchains ship without the sanitizer runtimes; fall back visibly.
  const probe = spawnSync('cc', ['-fsanitize=address,undefined', '-x', 'c', '-o', join(out, 'probe'), '-'], {
    input: 'int main(void){return 0;}',
    encoding: 'utf8',
  });
  if (probe.status === 0)
    return ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];
  console.log('# sanitizers unavailable in this compiler; running the native tests without them');
  return [];
}
const flags = ['-std=gnu11', '-g', '-O1', '-Wall', '-Wextra', '-Werror', ...sanitizerFlags()];
const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' };

test('walker unit tests: rows 2.7, 3.6-3.14; _Py_DebugOffsets of 3.13.0, 3.13.5t, 3.14.10, 3.14.7t, 3.15.2, a future 3.16', () => {
  const exe = join(out, 'test_walker');
  execFileSync('cc', [...flags, '-o', exe, join(nativeDir, 'test', 'test_walker.c'), ...coreSources, '-pthread']);
  const r = spawnSync(exe, [], { encoding: 'utf8', env });
  const summary = /(\d+) passed, (\d+) failed/.exec(r.stdout);
  assert.ok(summary, `no summary from test_walker:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(Number(summary[2]), 0, r.stdout);
  assert.ok(Number(summary[1]) >= 800, `only ${summary[1]} checks ran`);
});

test('fuzz regression corpus replays without a crash or sanitizer report', () => {
  const exe = join(out, 'replay');
  execFileSync('cc', [
    ...flags,
    '-o',
    exe,
    join(nativeDir, 'fuzz', 'replay.c'),
    join(nativeDir, 'fuzz', 'fuzz_reader.c'),
    ...coreSources,
    '-pthread',
  ]);
  const corpus = join(nativeDir, 'fuzz', 'corpus');
  const r = spawnSync(exe, [corpus], { encoding: 'utf8', env, timeout: 240000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stderr, /runtime error|AddressSanitizer/);
  const n = Number(/replayed (\d+) inputs/.exec(r.stdout + r.stderr)?.[1] ?? 0);
  assert.equal(n, readdirSync(corpus).length);
  // The hand-made regression inputs (the crafted f_owner = 130 block among them) are part of what was replayed.
  assert.ok(
    readdirSync(corpus).includes('regress-do313-f_owner130'),
    'regress-do313-f_owner130 missing from the corpus',
  );
});

test('C static check: cppcheck clean on native/src', () => {
  // Missing cppcheck fails here with build.mjs's install hint; it never passes unchecked.
  const r = spawnSync(process.execPath, [join(nativeDir, 'build.mjs'), '--lint'], {
    encoding: 'utf8',
    timeout: 240000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /cppcheck clean/);
});
