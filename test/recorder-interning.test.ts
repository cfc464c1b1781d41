/**
 * Per-sample work on the Node side, without a process: the recorder interns
 * stacks by a hash of their frame ids (stacks whose hashes collide must stay
 * apart), and the frame registry maps a record's run of reader-local ids to
 * global ids with one table lookup per run, resolving each new id once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileRecorder } from '../src/export/profile-recorder.js';
import { FrameRegistry } from '../src/reader/frame-registry.js';
import type { FrameInfo, FrameTable, Sample } from '../src/sampling/types.js';

/** Frame id n is function fN in f.py, line n. */
const table: FrameTable = { get: (id) => ({ name: `f${id}`, file: 'f.py', line: id, firstLine: 1 }) };

function sampleOf(stacks: number[][], tMs: number): Sample {
  return {
    pid: 10,
    timeNs: BigInt(tMs) * 1_000_000n,
    threads: stacks.map((frames, i) => ({
      pid: 10,
      threadId: BigInt(i + 1),
      nativeId: 10 + i,
      name: '',
      gil: true,
      state: 'running' as const,
      cpuNs: 1e7,
      frames,
      error: false,
      truncated: false,
    })),
  };
}

// FNV-1a over [1, 0] and [2, 50346953] gives the same 32-bit hash (and over both with 5 appended).
const A = [1, 0];
const B = [2, 50346953];

test('recorder: stacks whose hashes collide are counted apart, in both orders of first sight', () => {
  for (const order of [
    [A, B],
    [B, A],
  ]) {
    const rec = new ProfileRecorder(table, { rateHz: 100 });
    const batch: Sample[] = [];
    for (let i = 0; i < 6; i++) batch.push(sampleOf([order[i % 2]!, [...order[0]!, 5], [...order[1]!, 5]], i * 10));
    batch.push(sampleOf([A], 100));
    rec.add(batch);
    const counts = new Map(
      rec
        .collapsed()
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
    );
    // collapsed stacks are outermost first: frames[1] then frames[0]
    assert.equal(counts.get('f0 (f.py:0);f1 (f.py:1)'), 4);
    assert.equal(counts.get('f50346953 (f.py:50346953);f2 (f.py:2)'), 3);
    assert.equal(counts.get('f5 (f.py:5);f0 (f.py:0);f1 (f.py:1)'), 6);
    assert.equal(counts.get('f5 (f.py:5);f50346953 (f.py:50346953);f2 (f.py:2)'), 6);
    assert.equal(counts.size, 4);
    assert.equal(rec.samples, 19);
  }
});

test('recorder: each thread keeps its own counts and time order, threads apart by pid and thread id', () => {
  const rec = new ProfileRecorder(table, { rateHz: 100 });
  const other: Sample = { ...sampleOf([[7]], 0), pid: 11 };
  other.threads[0]!.pid = 11;
  rec.add([sampleOf([[7], [8]], 0), other, sampleOf([[7], [9]], 10)]);
  const file = rec.speedscope('t') as { profiles: { name: string; weights: number[] }[] };
  assert.deepEqual(
    file.profiles.map((p) => [p.name, p.weights]),
    [
      ['MainThread (pid 10, tid 10)', [20]],
      ['thread (pid 10, tid 11)', [10, 10]],
      ['thread (pid 11, tid 10)', [10]],
    ],
  );
});

test('frame registry: a run of local ids maps as one by one, each new id resolved once, past the initial table', () => {
  const reg = new FrameRegistry();
  const src = reg.addSource();
  const resolved: number[] = [];
  const resolve = (id: number): FrameInfo => {
    resolved.push(id);
    return { name: `g${id % 300}`, file: 'g.py', line: id % 300, firstLine: 1 };
  };
  const words = new Uint32Array([99, 3, 1000, 3, 700, 1000, 5, 300]);
  const ids = reg.globalIds(src, words, 1, 6, resolve);
  assert.deepEqual(resolved, [3, 1000, 700, 5]);
  // the same ids, looked up one at a time
  assert.deepEqual(
    ids,
    [3, 1000, 3, 700, 1000, 5].map((id) => reg.globalId(src, id, resolve)),
  );
  assert.equal(resolved.length, 4, 'nothing resolved twice');
  // 1000 and 700 name the same frame as 400 would (g100 / g100): one global id across local ids
  assert.equal(ids[1], reg.globalIds(src, new Uint32Array([400]), 0, 1, resolve)[0]);
  assert.equal(ids[3], ids[1]);
});

test('frame registry: a thread whose ids did not change gets its last stack back; a changed one a new array', () => {
  const reg = new FrameRegistry();
  const src = reg.addSource();
  const resolve = (id: number): FrameInfo => ({ name: `f${id}`, file: 'f.py', line: id, firstLine: 1 });
  const first = reg.globalIds(src, new Uint32Array([1, 2, 3]), 0, 3, resolve);
  assert.equal(reg.globalIds(src, new Uint32Array([1, 2, 3]), 0, 3, resolve, first), first);
  const leaf = reg.globalIds(src, new Uint32Array([4, 2, 3]), 0, 3, resolve, first);
  assert.notEqual(leaf, first);
  assert.deepEqual(
    leaf,
    [4, 2, 3].map((id) => reg.globalId(src, id, resolve)),
  );
  assert.deepEqual(
    first,
    [1, 2, 3].map((id) => reg.globalId(src, id, resolve)),
    'the last stack is left as it was',
  );
  const outer = reg.globalIds(src, new Uint32Array([1, 2, 5]), 0, 3, resolve, first);
  assert.deepEqual(
    outer,
    [1, 2, 5].map((id) => reg.globalId(src, id, resolve)),
  );
  const deeper = reg.globalIds(src, new Uint32Array([1, 2, 3, 6]), 0, 4, resolve, first);
  assert.deepEqual(
    deeper,
    [1, 2, 3, 6].map((id) => reg.globalId(src, id, resolve)),
  );
});
