/**
 * The asyncio task reader's C unit tests (native/test/test_asyncio.c) over
 * synthetic 3.14 images: an await chain with names and lines, a default
 * "Task-N" name, the task cap, a coroutine awaiting itself, a chain past the
 * cap, torn task lists; under AddressSanitizer/UBSan when available.
 */
import { test } from 'node:test';
import { join } from 'node:path';
import { compileNative, nativeDir, runUnitTests } from './helpers/native-cc.js';

test('asyncio task reader over synthetic 3.14 images: chains, names, caps, torn lists', () => {
  const sources = [
    'asyncio_tasks.c',
    'asyncio_layouts.c',
    'memcache.c',
    'frames.c',
    'hashmap.c',
    'linetable.c',
    'pystring.c',
    'memsrc.c',
    'layouts.c',
    'threadnames.c',
  ].map((f) => join(nativeDir, 'src', f));
  runUnitTests(compileNative('test_asyncio', [join(nativeDir, 'test', 'test_asyncio.c'), ...sources]), 19);
});
