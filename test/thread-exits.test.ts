/**
 * Threads that leave the thread list while their neighbours stay parked: the
 * reader keeps a parked thread's state unread while it provably has not run
 * (native/src/walker.c, spec_tstates), but the exit of the thread after it
 * rewrites its link. Every snapshot after an exit must list exactly the
 * threads the target's own threading.enumerate() lists (test/fixtures/thread_exits.py).
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

for (const { wanted, py, skip } of pythonsOrSkip(['2.7', '3.11', '3.12', '3.13', '3.14', '3.15', '3.14t'])) {
  test(
    `threads leaving between parked neighbours are gone from every later snapshot (${py?.label ?? wanted})`,
    { skip },
    async () => {
      const { child: c, next } = talkingFixture(py!, 'thread_exits.py', children);
      const idents = (line: string, word: string): string => {
        assert.ok(line.startsWith(`${word} `), `fixture said "${line}"`);
        return line
          .slice(word.length + 1)
          .split(' ')
          .map(BigInt)
          .sort()
          .join(' ');
      };
      let want = idents(await next(), 'ready');
      const t = Target.attach(c.pid!, new FrameRegistry(), { threadStats: true });
      try {
        const seen = (): string =>
          t
            .snapshot()
            .threads.map((th) => th.threadId)
            .sort()
            .join(' ');
        for (let group = 0; group <= 3; group++) {
          if (group > 0) {
            c.stdin!.write('\n');
            want = idents(await next(), 'left');
          }
          // Enough snapshots, spread out, for the parked threads to be left unread again (50 ms quiet).
          for (let i = 0; i < 60; i++) {
            assert.equal(seen(), want, `snapshot ${i} after ${group} groups left`);
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
