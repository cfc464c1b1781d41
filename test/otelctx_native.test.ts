/**
 * The trace-context reader's C unit tests (native/test/test_otelctx.c): a
 * thread's OpenTelemetry span through every HAMT node kind — bitmap, array and
 * collision (keys sharing the ContextVar's 32-bit hash) — on the 3.7-3.14
 * rows, and collision nodes of a foreign hash or a bad size, over synthetic
 * memory images, under AddressSanitizer/UBSan when available.
 */
import { test } from 'node:test';
import { join } from 'node:path';
import { compileNative, nativeDir, runUnitTests } from './helpers/native-cc.js';

test('trace-context reader over synthetic images of 3.7-3.14, HAMT collision nodes included', () => {
  const sources = ['otelctx.c', 'threadnames.c', 'pystring.c', 'memsrc.c', 'layouts.c'].map((f) =>
    join(nativeDir, 'src', f),
  );
  runUnitTests(compileNative('test_otelctx', [join(nativeDir, 'test', 'test_otelctx.c'), ...sources]), 120);
});
