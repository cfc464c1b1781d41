/**
 * `gauge top --subprocesses` in batch mode: a multiprocessing pool's workers
 * are found and sampled, replaced workers are picked up and exited ones
 * marked gone, a non-Python parent's Python children are profiled, and
 * without the flag children are left alone. Worker pids come from the
 * fixture itself (it prints every pid that ran a task).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pythonFor, requirePythons } from './helpers/pythons.js';
import { fixtures, killChildren, lastSnapshot, ownPct, runGauge, threadsSection } from './helpers/top-output.js';

after(killChildren);
requirePythons();
const py = pythonFor('3.12') ?? pythonFor('3.11') ?? pythonFor('3.13');
const noPython = py ? false : 'no CPython 3.11, 3.12 or 3.13 found';

/** pid → state column of the threads table (one row per thread; the process's last state wins). */
function processRows(snapshot: string): Map<number, string[]> {
  const rows = new Map<number, string[]>();
  for (const line of threadsSection(snapshot).split('\n')) {
    const m = /^\s*(\d+)\s+\d+\s.*?\s(running|idle|sleeping|gone|disk|stopped|zombie|unknown)\s+[\d.]+%/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    rows.set(pid, [...(rows.get(pid) ?? []), m[2]]);
  }
  return rows;
}

function headerCount(snapshot: string, what: 'Processes' | 'Threads'): number {
  const m = new RegExp(`${what} (\\d+)`).exec(snapshot);
  assert.ok(m, `no ${what} count in:\n${snapshot}`);
  return Number(m[1]);
}

function workerPids(out: string): Set<number> {
  return new Set([...out.matchAll(/^worker (\d+)$/gm)].map((m) => Number(m[1])));
}

test(
  "Pool(4): the parent and 4 workers are sampled and the workers' hot function leads",
  { skip: noPython },
  async () => {
    // Long enough for the pool's first tasks to finish on a 2-core box other jobs are loading.
    const run = await runGauge([
      'top',
      '-s',
      '--duration',
      '15',
      '--delay',
      '15',
      '--',
      py!.exe,
      join(fixtures, 'top_pool.py'),
      '0',
      '30',
    ]);
    assert.equal(run.status, 0, run.stderr);
    const snap = lastSnapshot(run.stdout);
    const workers = workerPids(run.stdout);
    assert.equal(workers.size, 4, `the fixture reported workers ${[...workers]}`);
    assert.equal(headerCount(snap, 'Processes'), 5, snap);
    const rows = processRows(snap);
    for (const w of workers) assert.ok(rows.has(w), `worker ${w} missing from the threads panel:\n${snap}`);
    assert.equal(rows.size, 5, snap);
    const crunch = ownPct(snap, 'crunch');
    assert.ok(crunch !== undefined && crunch > 50, `crunch %Own ${crunch}:\n${snap}`);
  },
);

test('maxtasksperchild=1: replaced workers are picked up, exited ones marked gone', { skip: noPython }, async () => {
  // Long enough for two rounds of tasks (and so replaced workers) on a 2-core box other jobs are loading.
  const run = await runGauge([
    'top',
    '-s',
    '--duration',
    '20',
    '--delay',
    '20',
    '--',
    py!.exe,
    join(fixtures, 'top_pool.py'),
    '1',
    '30',
  ]);
  assert.equal(run.status, 0, run.stderr);
  const snap = lastSnapshot(run.stdout);
  const workers = workerPids(run.stdout);
  assert.ok(workers.size >= 8, `the fixture only replaced ${workers.size - 4} workers`);
  const rows = processRows(snap);
  const seen = [...workers].filter((w) => rows.has(w));
  // A worker that lived a whole task (≥0.3 s) outlives the 100 ms discovery poll.
  assert.ok(
    seen.length >= workers.size * 0.75,
    `only ${seen.length} of ${workers.size} workers were sampled:\n${snap}`,
  );
  const gone = seen.filter((w) => rows.get(w)!.every((s) => s === 'gone'));
  assert.ok(
    gone.length >= seen.length - 5,
    `exited workers not marked gone (${gone.length} of ${seen.length}):\n${snap}`,
  );
  const exited = Number(/Processes \d+ \(\+(\d+) exited\)/.exec(snap)?.[1] ?? 0);
  assert.ok(exited >= gone.length, `header counts ${exited} exited processes, ${gone.length} shown gone:\n${snap}`);
});

test('a bash script starting two Pythons: both are profiled', { skip: noPython }, async () => {
  const prev = process.env.PYTHON;
  process.env.PYTHON = py!.exe;
  try {
    const run = await runGauge([
      'top',
      '-s',
      '--duration',
      '4',
      '--delay',
      '4',
      '--',
      'bash',
      join(fixtures, 'top_two.sh'),
    ]);
    assert.equal(run.status, 0, run.stderr);
    const snap = lastSnapshot(run.stdout);
    const a = ownPct(snap, 'spin_alpha');
    const b = ownPct(snap, 'spin_beta');
    assert.ok(a !== undefined && a > 20, `spin_alpha ${a}:\n${snap}`);
    assert.ok(b !== undefined && b > 20, `spin_beta ${b}:\n${snap}`);
    assert.ok(processRows(snap).size >= 2, snap);
  } finally {
    if (prev === undefined) delete process.env.PYTHON;
    else process.env.PYTHON = prev;
  }
});

test('without --subprocesses the workers are not sampled', { skip: noPython }, async () => {
  const run = await runGauge([
    'top',
    '--duration',
    '3',
    '--delay',
    '3',
    '--',
    py!.exe,
    join(fixtures, 'top_pool.py'),
    '0',
    '30',
  ]);
  assert.equal(run.status, 0, run.stderr);
  const snap = lastSnapshot(run.stdout);
  assert.equal(headerCount(snap, 'Processes'), 1, snap);
  assert.deepEqual([...processRows(snap).keys()].length, 1, snap);
  assert.equal(ownPct(snap, 'crunch'), undefined, snap);
});
