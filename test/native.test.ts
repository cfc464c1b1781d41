/**
 * The C reader's own tests, run from `npm test`: the walker unit tests over
 * synthetic memory images (built-in rows, and 3.13+ images read through their
 * own _Py_DebugOffsets), the thread-stat code against this machine's kernel
 * (threads of the test itself), and a replay of the fuzz regression corpus, all built
 * with AddressSanitizer and UndefinedBehaviorSanitizer so a bad read fails the
 * suite, not just a crash; and the C static check (cppcheck, see native/build.mjs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileNative, nativeDir, runUnitTests, sanitizerEnv } from './helpers/native-cc.js';

// The reader core: no /proc, no threads, so it runs over an image.
const coreSources = readdirSync(join(nativeDir, 'src'))
  .filter((f) => f.endsWith('.c') && !['api.c', 'attach.c', 'sampler.c', 'threadstat.c'].includes(f))
  .map((f) => join(nativeDir, 'src', f));

test('walker unit tests: rows 2.7, 3.6-3.14; _Py_DebugOffsets of 3.13.0, 3.13.5t, 3.14.10, 3.14.7t, 3.15.2, a future 3.16', () => {
  runUnitTests(compileNative('test_walker', [join(nativeDir, 'test', 'test_walker.c'), ...coreSources]), 800);
});

// Kernels built without scheduler info have no schedstat: gauge then walks every thread, and this test has nothing to check.
const noSchedstat = existsSync('/proc/self/schedstat') ? false : 'this kernel has no /proc/PID/schedstat';

test(
  'thread stats against the kernel: a parked thread is quiet, not after a wake-up; a spinning one never',
  { skip: noSchedstat },
  () => {
    const src = (f: string) => join(nativeDir, 'src', f);
    const exe = compileNative('test_threadstat', [
      join(nativeDir, 'test', 'test_threadstat.c'),
      src('threadstat.c'),
      src('hashmap.c'),
    ]);
    runUnitTests(exe, 16);
  },
);

test('process reads against the kernel: nearby requests share a remote range, byte for byte; a fault stops the call', () => {
  const src = (f: string) => join(nativeDir, 'src', f);
  runUnitTests(compileNative('test_memsrc', [join(nativeDir, 'test', 'test_memsrc.c'), src('memsrc.c')]), 20);
});

test('fuzz regression corpus replays without a crash or sanitizer report', () => {
  const exe = compileNative('replay', [
    join(nativeDir, 'fuzz', 'replay.c'),
    join(nativeDir, 'fuzz', 'fuzz_reader.c'),
    ...coreSources,
  ]);
  const corpus = join(nativeDir, 'fuzz', 'corpus');
  const r = spawnSync(exe, [corpus], { encoding: 'utf8', env: sanitizerEnv, timeout: 240000 });
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
