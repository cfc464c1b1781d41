/**
 * A thread that sleeps, wakes for a few ms of Python and sleeps again must be
 * seen where it is in every snapshot taken inside its run: the reader leaves
 * threads that have not run to the process CPU clock and copies their
 * stacks (native/src/threadstat.c, stackmemo.c), so a wake-up it misses
 * would show the sleeping stack while the thread works. Truth from the
 * target: each burst's start and end (CLOCK_MONOTONIC, as process.hrtime) and
 * its innermost function per sys._current_frames(), written by the fixture.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { FrameRegistry } from '../src/reader/frame-registry.js';
import { Target } from '../src/reader/target.js';
import { pythonsOrSkip } from './helpers/pythons.js';
import { startFixture } from './helpers/fixture.js';

const children = new Set<ChildProcess>();
const dir = mkdtempSync(join(tmpdir(), 'gauge-blink-'));
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const nowS = () => Number(process.hrtime.bigint()) / 1e9;

interface Span {
  what: string;
  from: number;
  to: number;
  name: string;
}

const readTruth = (file: string): Span[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .map(([what, a, b, name]) => ({ what: what!, from: Number(a), to: Number(b), name: name! }));

for (const { wanted, py, skip } of pythonsOrSkip(['3.11', '3.12', '3.13', '3.14', '3.15', '3.14t'])) {
  test(
    `a thread that wakes for a few ms is seen working, then parked again (${py?.label ?? wanted})`,
    { skip },
    async () => {
      const truthFile = join(dir, `${wanted}.txt`);
      const { child, line } = await startFixture(py!, 'blink_threads.py', { children, args: [truthFile] });
      const ready = /^ready (\d+)$/.exec(line);
      assert.ok(ready, `fixture said ${line}`);
      const ident = BigInt(ready[1]!);
      const frames = new FrameRegistry();
      const t = Target.attach(child.pid!, frames, { threadStats: true });
      const shots: Array<{ from: number; to: number; place: string | undefined }> = [];
      try {
        // Until 25 bursts are over (a loaded machine wakes the blinker late), for at most 60 s.
        const start = nowS();
        let next = start + 1;
        while (nowS() - start < 60) {
          const from = nowS();
          const s = t.snapshot();
          const to = nowS();
          const th = s.threads.find((x) => x.threadId === ident);
          assert.ok(th, `no blinker in the snapshot (${s.threads.length} threads)`);
          const names = th.error ? [] : th.frames.map((id) => frames.get(id).name);
          shots.push({ from, to, place: names.find((n) => n === 'blink_work' || n === 'blink_park') });
          if (to > next) {
            next = to + 1;
            if (readTruth(truthFile).filter((x) => x.what === 'burst').length >= 25) break;
          }
          await sleep(1);
        }
      } finally {
        t.close();
        child.kill('SIGKILL');
      }
      const spans = readTruth(truthFile);
      for (const s of spans)
        assert.equal(s.name, `blink_${s.what === 'park' ? 'park' : 'work'}`, 'the fixture saw itself elsewhere');
      const count = { burst: 0, park: 0 };
      const wrong: string[] = [];
      for (const s of shots) {
        // Inside one of the target's own windows, where it says which function it is in.
        const span = spans.find((x) => x.from <= s.from && s.to <= x.to);
        if (!span || s.place === undefined) continue; // between windows, or the stack torn this once: not a copy
        count[span.what as 'burst' | 'park']++;
        if (s.place !== span.name)
          wrong.push(`${s.place} at +${((s.from - span.from) * 1e3).toFixed(1)} ms into a ${span.what}`);
      }
      assert.ok(count.burst >= 20 && count.park >= 100, `too few snapshots to judge: ${JSON.stringify(count)}`);
      assert.deepEqual(wrong, [], `${wrong.length} of ${count.burst + count.park} snapshots showed a stale place`);
    },
  );
}
