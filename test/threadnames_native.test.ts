/**
 * The thread-name reader's C unit tests (native/test/test_threadnames.c):
 * dict and instance-attribute layouts of 2.7 and 3.6-3.13 over synthetic
 * memory images, plus garbage, under AddressSanitizer/UBSan when available.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');
const out = mkdtempSync(join(tmpdir(), 'gauge-tn-'));

function sanitizerFlags(): string[] {
  const probe = spawnSync('cc', ['-fsanitize=address,undefined', '-x', 'c', '-o', join(out, 'probe'), '-'], {
    input: 'int main(void){return 0;}',
    encoding: 'utf8',
  });
  if (probe.status === 0)
    return ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer'];
  console.log('# sanitizers unavailable in this compiler; running the thread-name unit tests without them');
  return [];
}

test('thread-name reader over synthetic images of 2.7 and 3.6-3.13', () => {
  const exe = join(out, 'test_threadnames');
  const sources = ['threadnames.c', 'pystring.c', 'memsrc.c', 'layouts.c'].map((f) => join(nativeDir, 'src', f));
  execFileSync('cc', [
    '-std=gnu11',
    '-g',
    '-O1',
    '-Wall',
    '-Wextra',
    '-Werror',
    ...sanitizerFlags(),
    '-o',
    exe,
    join(nativeDir, 'test', 'test_threadnames.c'),
    ...sources,
  ]);
  const r = spawnSync(exe, [], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  const summary = /(\d+) passed, (\d+) failed/.exec(r.stdout);
  assert.ok(summary, `no summary:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(Number(summary[2]), 0, r.stdout);
  assert.ok(Number(summary[1]) >= 150, `only ${summary[1]} checks ran`);
});
