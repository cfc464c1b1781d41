/**
 * Threads that have not run since the previous sample are not walked: their
 * stack is copied from it (native/src/stackmemo.c, vouched for by the kernel's
 * run counters in threadstat.c). The copy must never outlive a move: a parked
 * thread woken to park elsewhere shows its new place in the very next
 * snapshot, as the target's own sys._current_frames() says, on every version.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { FrameRegistry } from '../src/reader/frame-registry.js';
import { Target } from '../src/reader/target.js';
import { pythonsOrSkip } from './helpers/pythons.js';
import { talkingFixture } from './helpers/fixture.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const PLACES = ['parked_in_a', 'parked_in_b', 'parked_in_c'];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

for (const { wanted, py, skip } of pythonsOrSkip(['2.7', '3.7', '3.10', '3.12', '3.13', '3.14', '3.15', '3.14t'])) {
  test(
    `a parked thread that moves is seen at its new place in the next snapshot (${py?.label ?? wanted})`,
    { skip },
    async () => {
      const { child: c, next } = talkingFixture(py!, 'quiet_moves.py', children);
      const ready = /^ready (\d+)$/.exec(await next());
      assert.ok(ready, 'fixture did not start');
      const ident = BigInt(ready[1]!);
      const frames = new FrameRegistry();
      const t = Target.attach(c.pid!, frames, { threadStats: true });
      try {
        const placeOf = (): { place: string | undefined; threads: number } => {
          const s = t.snapshot();
          const mover = s.threads.find((th) => th.threadId === ident);
          assert.ok(mover, `no thread ${ident} in the snapshot`);
          assert.ok(!mover.error, `mover's stack unreadable: ${mover.reason}`);
          const names = mover.frames.map((id) => frames.get(id).name);
          return { place: names.find((n) => PLACES.includes(n)), threads: s.threads.length };
        };
        let at = 'parked_in_a';
        for (const move of [undefined, 'parked_in_b', 'parked_in_c']) {
          if (move) {
            c.stdin!.write('\n');
            assert.equal(await next(), `at ${move}`);
            at = move;
          }
          // Enough snapshots, spread out, for every parked thread to be known asleep and copied.
          for (let i = 0; i < 40; i++) {
            const { place, threads } = placeOf();
            assert.equal(place, at, `snapshot ${i} after the move to ${at}`);
            assert.equal(threads, 6);
            await sleep(2);
          }
        }
      } finally {
        t.close();
        c.stdin!.end();
      }
    },
  );
}
