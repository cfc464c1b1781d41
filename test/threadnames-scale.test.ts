/**
 * Thread names at scale (issue 13): a target with 1,000 named threads (some
 * names non-ASCII, some renamed after start) shows every one under its
 * threading.Thread.name, as the target's own threading.enumerate() says,
 * through `gauge dump --json` and through the reader's refresh; a second
 * refresh after more renames (the one that re-reads only what changed) sees
 * them all. The reader once stopped at 512 names.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameRegistry } from '../src/reader/frame-registry.js';
import { Target } from '../src/reader/target.js';
import { pythonsOrSkip } from './helpers/pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');
const fixture = join(root, 'test', 'fixtures', 'many_named_threads.py');
const THREADS = 1000;
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The fixture's truth line as ident (decimal string) -> name. */
function parseTruth(line: string): Map<string, string> {
  const t = JSON.parse(line.replace(/"ident": (\d+)/g, '"ident": "$1"')) as {
    threads: { ident: string; name: string }[];
  };
  return new Map(t.threads.map((x) => [x.ident, x.name]));
}

function assertNames(got: Map<string, string>, want: Map<string, string>, how: string): void {
  let wrong = 0;
  let first = '';
  for (const [ident, name] of want) {
    if (got.get(ident) === name) continue;
    if (!wrong++) first = `thread ${ident}: ${JSON.stringify(got.get(ident))} instead of ${JSON.stringify(name)}`;
  }
  assert.equal(wrong, 0, `${how}: ${wrong} of ${want.size} threads misnamed, first ${first}`);
}

for (const { wanted, py, skip } of pythonsOrSkip(['2.7', '3.8', '3.12', '3.13', '3.14', '3.15', '3.14t'])) {
  test(`1,000 threads, every one named as threading says (${py?.label ?? wanted})`, { skip }, async () => {
    const c = spawn(py!.exe, [fixture, String(THREADS)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
    });
    children.push(c);
    const lines = createInterface({ input: c.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<Map<string, string>> => {
      const r = await Promise.race([lines.next(), sleep(60000).then(() => ({ done: true, value: 'timeout' }))]);
      assert.ok(!r.done, `fixture stopped talking (${String(r.value)})`);
      return parseTruth(r.value as string);
    };
    try {
      let want = await next();
      assert.equal(want.size, THREADS + 1, 'the fixture runs its threads and the main thread');
      assert.ok(
        [...want.values()].some((n) => n.startsWith('renamed-é-')) &&
          [...want.values()].some((n) => n.includes('线程')),
      );

      // Through the CLI.
      const r = spawnSync(process.execPath, [gaugeBin, 'dump', '--pid', String(c.pid), '--json'], {
        encoding: 'utf8',
        timeout: 120000,
        maxBuffer: 1 << 28,
      });
      assert.equal(r.status, 0, r.stderr);
      const dump = JSON.parse(r.stdout.replace(/"thread_id": (\d+)/g, '"thread_id": "$1"')) as {
        threads: { thread_id: string; name: string }[];
      };
      assertNames(new Map(dump.threads.map((t) => [t.thread_id, t.name])), want, 'gauge dump --json');

      // Through the reader's refresh, twice: the second after more renames re-reads only what changed.
      const target = Target.attach(c.pid!, new FrameRegistry());
      try {
        const byIdent = (): Map<string, string> =>
          new Map([...target.readPythonThreadNames()].map(([id, name]) => [String(id), name]));
        let got = byIdent();
        assert.equal(got.size, want.size, 'one name per thread');
        assertNames(got, want, 'first refresh');
        for (let round = 1; round <= 2; round++) {
          c.stdin!.write('\n');
          const before = want;
          want = await next();
          assert.ok(
            [...want].some(([id, name]) => before.get(id) !== name),
            'the fixture renamed threads',
          );
          got = byIdent();
          assert.equal(got.size, want.size, 'one name per thread');
          assertNames(got, want, `refresh after renames, round ${round}`);
        }
      } finally {
        target.close();
      }
    } finally {
      c.stdin!.end();
      c.kill('SIGKILL');
    }
  });
}
