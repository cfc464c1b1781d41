/**
 * `gauge top --async` live view on a real interpreter (issue 14 item 3): the
 * session, the task attributor, the model and the Ink app wired as `top`
 * wires them. Grouped by task (a), the 75/25 fixture's two tasks show at the
 * split the target measured itself; in wall mode, a loop with 1,000 pending
 * tasks stays one threads-panel row while the table counts their sleep chain.
 */
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cleanup } from 'ink-testing-library';
import { screen, until } from './helpers/app-screen.js';
import { ProfileModel } from '../src/model/profile.js';
import { TopController } from '../src/model/top-controller.js';
import { SamplingSession } from '../src/sampling/session.js';
import { AsyncAttributor } from '../src/sampling/async-attribution.js';
import type { ViewState } from '../src/model/snapshot.js';
import { findPythons } from './helpers/pythons.js';
import { children, fixtures, killChildren } from './helpers/top-output.js';

after(killChildren);
afterEach(() => cleanup());

const RATE = 400;
const py = findPythons()
  .filter((p) => !p.freeThreaded && (p.mm[0] > 3 || (p.mm[0] === 3 && p.mm[1] >= 8)))
  .at(-1);

/** Starts a fixture and returns it with an iterator over its stdout lines (the first already read). */
async function start(script: string, args: string[] = []) {
  const child = spawn(py!.exe, [join(fixtures, script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = String((await lines.next()).value);
  return { child, lines, first };
}

function stop(child: ChildProcess): void {
  child.kill('SIGKILL');
  children.delete(child);
}

/** `top --async` as top-command.ts wires it, for `seconds`; then one refresh. */
async function sampleLive(pid: number, seconds: number, view: Partial<ViewState> = {}): Promise<TopController> {
  const session = new SamplingSession(pid, { rateHz: RATE });
  session.start();
  const model = new ProfileModel({ frames: session.frames, rateHz: RATE });
  const controller = new TopController(model, session, {}, view);
  const tasks = new AsyncAttributor(session.frames, { wall: () => controller.view.idle });
  session.onSamples((raw) => controller.ingest(tasks.transform(raw)));
  try {
    await new Promise((r) => setTimeout(r, seconds * 1000));
    session.tick();
  } finally {
    session.stop();
    tasks.close();
  }
  controller.refresh();
  return controller;
}

/** %Total of a row of the functions table by its function name. */
function totalOf(frame: string, name: string): number | undefined {
  for (const line of frame.split('\n')) {
    const m = /^\s*[\d.]+%\*?\s+([\d.]+)%.*?\s(\S+) \(/.exec(line);
    if (m && m[2] === name) return Number(m[1]);
  }
  return undefined;
}

test('top --async, a: the grouped table shows tasks heavy and light at the split the target measured', async (t) => {
  if (!py) return t.skip('no CPython >= 3.8 GIL build found');
  const { child, lines, first } = await start('async_split.py');
  try {
    assert.match(first, /^READY \d+$/);
    const c = await sampleLive(child.pid!, 8);
    child.kill('SIGTERM');
    const truth = JSON.parse(String((await lines.next()).value).replace(/^TRUTH /, '')) as {
      heavy: number;
      light: number;
    };
    const want = (100 * truth.heavy) / (truth.heavy + truth.light);
    const { frame, stdin } = screen(c, 140, 40);
    stdin.write('a');
    const out = await until(frame, (x) => /by task/.test(x) && totalOf(x, 'task:light') !== undefined, 'grouped');
    const heavy = totalOf(out, 'task:heavy') ?? 0;
    const light = totalOf(out, 'task:light') ?? 0;
    assert.equal(totalOf(out, 'hot_a'), undefined, 'grouped: task rows, not functions');
    const got = (100 * heavy) / (heavy + light);
    console.log(
      `${py.label}: grouped heavy ${heavy}% light ${light}% -> ${got.toFixed(1)}% of task samples, target's own ${want.toFixed(1)}% (load ${loadavg()[0]!.toFixed(2)})`,
    );
    assert.ok(heavy + light > 80, `the tasks cover the loop's samples: ${heavy} + ${light}\n${out}`);
    assert.ok(Math.abs(want - 75) < 5, `the fixture splits 75/25: ${want}`);
    assert.ok(Math.abs(got - want) <= 3, `gauge ${got.toFixed(1)}% vs the target's ${want.toFixed(1)}%`);
  } finally {
    stop(child);
  }
});

test('top --async in wall mode: 1,000 pending tasks are one threads-panel row; the table shows their sleep chain', async (t) => {
  if (!py) return t.skip('no CPython >= 3.8 GIL build found');
  const { child, first } = await start('async_tasks.py', ['1000']);
  try {
    const truth = JSON.parse(first) as { tasks: Array<{ name: string }> };
    const pending = truth.tasks.filter((x) => x.name !== 'busy').length;
    assert.ok(pending >= 1000);
    const c = await sampleLive(child.pid!, 3, { idle: true });
    const threads = c.snapshot.threads;
    // The main thread (the loop) and its waiting tasks: one row each, not one per task.
    assert.ok(threads.length <= 3, threads.map((x) => x.name).join(', '));
    const waiting = threads.find((x) => /^\d+ tasks waiting$/.test(x.name));
    assert.ok(waiting, threads.map((x) => x.name).join(', '));
    assert.ok(Number(waiting.name.split(' ')[0]) >= 1000, waiting.name);
    const { frame } = screen(c, 140, 40);
    const out = frame();
    assert.match(out, /\d+ tasks waiting/);
    // Every idle-N task waits in asyncio.sleep under idle(): those chains dominate the wall samples.
    const sleep = totalOf(out, 'sleep') ?? 0;
    const idle = totalOf(out, 'idle') ?? 0;
    console.log(
      `${py.label}: ${threads.length} thread rows (${waiting.name}); sleep ${sleep}%, idle ${idle}% (load ${loadavg()[0]!.toFixed(2)})`,
    );
    assert.ok(sleep > 50 && idle > 50, out);
  } finally {
    stop(child);
  }
});
