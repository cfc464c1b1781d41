/**
 * Thread names (issue 4): the names gauge shows equal the fixture's own
 * threading.Thread.name values on every CPython found, through `gauge dump`
 * and through the ThreadNamer the sampling session uses; a thread unknown to
 * threading falls back to its OS name.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { requirePythons, type Python } from './helpers/pythons.js';
import { Target } from '../src/reader/target.js';
import { FrameRegistry } from '../src/reader/frame-registry.js';
import { ThreadNamer } from '../src/process/thread-names.js';
import { osThreadName } from '../src/process/procfs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');
const fixture = join(root, 'test', 'fixtures', 'named_threads.py');

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

interface Truth {
  threads: { ident: number | string; name: string }[];
  raw_ident: number | string;
}

function start(py: Python): Promise<{ child: ChildProcess; truth: Truth }> {
  const child = spawn(py.exe, [fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no truth from ${py.label} in 30 s: ${stderr}`)), 30000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      // Idents exceed 2^53 only on exotic platforms; keep them as strings anyway.
      resolve({ child, truth: JSON.parse(line.replace(/"(ident|raw_ident)": (\d+)/g, '"$1": "$2"')) as Truth });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited with ${code} on ${py.label}: ${stderr}`));
    });
  });
}

for (const py of requirePythons()) {
  test(`thread names equal threading.Thread.name on ${py.label}`, async () => {
    const { child, truth } = await start(py);
    try {
      const pid = child.pid!;
      assert.equal(truth.threads.length, 10);
      const want = new Map(truth.threads.map((t) => [String(t.ident), t.name]));
      assert.ok(
        [...want.values()].some((n) => n === 'L'.repeat(300)),
        'the long name is in the truth',
      );

      // Through the CLI.
      const r = spawnSync(process.execPath, [gaugeBin, 'dump', '--pid', String(pid), '--json'], {
        encoding: 'utf8',
        timeout: 60000,
      });
      assert.equal(r.status, 0, r.stderr);
      const dump = JSON.parse(r.stdout.replace(/"thread_id": (\d+)/g, '"thread_id": "$1"')) as {
        threads: { thread_id: string; native_id: number; name: string }[];
      };
      assert.equal(dump.threads.length, truth.threads.length + 1);
      for (const [ident, name] of want) {
        const got = dump.threads.find((t) => t.thread_id === ident);
        assert.ok(got, `thread ${ident} (${name}) missing from the dump`);
        assert.equal(got.name, name, `name of thread ${ident}`);
      }
      // The raw thread is unknown to threading: its OS name stands in.
      const raw = dump.threads.find((t) => t.thread_id === String(truth.raw_ident));
      assert.ok(raw && raw.native_id > 0, 'raw thread in the dump with a native id');
      assert.equal(raw.name, osThreadName(pid, raw.native_id));
      assert.notEqual(raw.name, '');

      // Through the ThreadNamer that sampling uses.
      const target = Target.attach(pid, new FrameRegistry());
      try {
        const sample = target.snapshot();
        new ThreadNamer().refresh(target, [sample]);
        for (const [ident, name] of want)
          assert.equal(target.threadNames.get(BigInt(ident)), name, `ThreadNamer name of ${ident}`);
        // Fresh samples carry the names.
        const next = target.snapshot();
        for (const t of next.threads)
          if (want.has(String(t.threadId))) assert.equal(t.name, want.get(String(t.threadId)));
      } finally {
        target.close();
      }
    } finally {
      child.kill('SIGKILL');
      children.delete(child);
    }
  });
}
