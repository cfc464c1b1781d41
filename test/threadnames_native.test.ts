/**
 * The thread-name reader's C unit tests (native/test/test_threadnames.c):
 * dict and instance-attribute layouts of 2.7 and 3.6-3.13 over synthetic
 * memory images, plus garbage, under AddressSanitizer/UBSan when available.
 */
import { test } from 'node:test';
import { join } from 'node:path';
import { compileNative, nativeDir, runUnitTests } from './helpers/native-cc.js';

test('thread-name reader over synthetic images of 2.7 and 3.6-3.13', () => {
  const sources = ['threadnames.c', 'pystring.c', 'memsrc.c', 'layouts.c'].map((f) => join(nativeDir, 'src', f));
  runUnitTests(compileNative('test_threadnames', [join(nativeDir, 'test', 'test_threadnames.c'), ...sources]), 150);
});
