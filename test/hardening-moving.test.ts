/**
 * A moving target: hundreds of threads started and ended a second, deep
 * recursion unwinding, one generator resumed from several threads, children
 * forked and exec'd, and finally the process exiting mid-session. Sampling at
 * 1000 Hz must go on, count its errors, never crash, and end cleanly.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SamplingSession } from '../src/sampling/session.js';
import { pythonsOrSkip } from './helpers/pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = join(root, 'test', 'fixtures', 'hard_churn.py');
const gaugeBin = join(root, 'bin', 'gauge');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const pythons = pythonsOrSkip(['3.6', '3.10', '3.12', '3.13']);
assert.ok(
  pythons.some((p) => p.py),
  'no CPython 3 to test against',
);

for (const { wanted, py: found, skip } of pythons) {
  test(
    `${found?.label ?? wanted}: 1000 Hz through thread churn, recursion, generators, forks and the target's exit`,
    { skip },
    async () => {
      const py = found!;
      const c = spawn(py.exe, [fixture, '4', '--fork'], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(c);
      let out = '';
      c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const iv = setInterval(() => {
          if (out.includes('ready')) {
            clearInterval(iv);
            resolve();
          }
        }, 5);
        c.once('exit', (code) => {
          clearInterval(iv);
          reject(new Error(`fixture exited early (${code}): ${out}`));
        });
      });
      const session = new SamplingSession(c.pid!, { rateHz: 1000, subprocesses: true, drainMs: 50 });
      let samples = 0;
      let threadStacks = 0;
      let minThreads = Infinity;
      let maxThreads = 0;
      let maxDepth = 0;
      const genThreads = new Set<bigint>();
      const pids = new Set<number>();
      session.onSamples((batch) => {
        for (const s of batch) {
          pids.add(s.pid);
          if (s.pid !== c.pid) continue;
          samples++;
          threadStacks += s.threads.length;
          minThreads = Math.min(minThreads, s.threads.length);
          maxThreads = Math.max(maxThreads, s.threads.length);
          for (const t of s.threads) {
            maxDepth = Math.max(maxDepth, t.frames.length);
            if (t.frames.some((id) => session.frames.get(id).name === 'gen')) genThreads.add(t.threadId);
          }
        }
      });
      const exitedPids: number[] = [];
      const rootExited = new Promise<void>((resolve) =>
        session.onProcessExit((pid) => {
          exitedPids.push(pid);
          if (pid === c.pid) resolve();
        }),
      );
      session.start();
      let timer: NodeJS.Timeout | undefined;
      try {
        // The fixture ends itself after 4 s; the session must notice on its own.
        await Promise.race([
          rootExited,
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('the session never reported the exit')), 30000);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
      const st = session.stats();
      session.stop();
      session.stop(); // idempotent
      const started = Number(/started=(\d+)/.exec(out)?.[1] ?? 0);
      console.log(
        `# ${py.label}: ${st.taken} samples taken (${samples} of the root delivered), ${threadStacks} thread stacks, ` +
          `${st.errors} errors (${((st.errors / Math.max(1, threadStacks)) * 100).toFixed(2)}%), ${st.dropped} dropped, ${st.late} late; ` +
          `threads ${minThreads}-${maxThreads}, max depth ${maxDepth}, gen on ${genThreads.size} threads, ` +
          `${started} threads started by the target, ${pids.size - 1} child processes sampled, frames ${session.frames.size}`,
      );
      assert.ok(samples > 500, `sampling stalled: ${samples} samples`);
      assert.ok(started > 200, `the fixture did not churn (${started} threads)`);
      assert.ok(maxThreads > minThreads, 'thread churn never showed in the samples');
      assert.ok(maxDepth >= 300, `deep recursion never seen (max depth ${maxDepth})`);
      assert.ok(genThreads.size >= 2, `the shared generator was seen on ${genThreads.size} thread(s)`);
      assert.ok(st.errors < threadStacks * 0.05, `error rate too high: ${st.errors}/${threadStacks}`);
      assert.ok(exitedPids.includes(c.pid!));
      assert.equal(session.processes.get(c.pid!)?.exited, true);
    },
  );
}

test('`gauge top --pid` ends by itself with a message when its churning target exits', () => {
  const py = pythons.filter((p) => p.py).at(-1)!.py!;
  // The fixture exits after 3 s; top would otherwise run for 10 minutes.
  const r = spawnSync(
    'bash',
    [
      '-c',
      `"$0" "$1" 3 & exec "$2" "$3" top --batch --delay 1 --rate 500 --duration 600 --pid $!`,
      py.exe,
      fixture,
      process.execPath,
      gaugeBin,
    ],
    { encoding: 'utf8', timeout: 120000, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  assert.equal(r.status, 0, `top: exit ${r.status} signal ${r.signal}\n${r.stderr}`);
  assert.match(r.stdout, /has exited/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
