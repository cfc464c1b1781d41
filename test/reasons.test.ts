/**
 * Why stacks fail: the reason codes in the reader's record format decode to
 * the one table's words, every GAUGE_WHY_* in gauge.h has its words, and the
 * most frequent reason with its share comes out of a batch of samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRecords, type Target } from '../src/reader/target.js';
import { reasonText } from '../src/reader/reasons.js';
import { REC_ERROR, REC_HEADER, REC_NO_GIL, TH_ERROR, TH_TRUNCATED, THREAD_HEADER } from '../src/reader/native.js';
import { mostFrequentReason, ReasonTally, failureSummary } from '../src/model/reason-share.js';
import type { Sample, ThreadSample } from '../src/sampling/types.js';
import { repoRoot } from './export-helpers.js';

test('every GAUGE_WHY_* code in gauge.h has its own words, none for NONE', () => {
  const header = readFileSync(join(repoRoot, 'native', 'include', 'gauge.h'), 'utf8');
  const codes = [...header.matchAll(/GAUGE_WHY_(\w+)\s*=\s*(\d+)/g)].map((m) => [m[1]!, Number(m[2])] as const);
  assert.ok(codes.length >= 12, `parsed ${codes.length} GAUGE_WHY_* codes from gauge.h`);
  const words = new Set<string>();
  for (const [name, code] of codes) {
    const text = reasonText(code);
    if (name === 'NONE') assert.equal(text, undefined);
    else {
      assert.ok(text && !/^reason \d+$/.test(text), `GAUGE_WHY_${name} (${code}) has no words`);
      words.add(text);
    }
  }
  assert.equal(words.size, codes.length - 1, 'two codes share their words');
  assert.equal(reasonText(200), 'reason 200');
});

/** One record with the given thread flags (no frames). */
function record(recFlags: number, threadFlags: number[]): Uint32Array {
  const len = REC_HEADER + threadFlags.length * THREAD_HEADER;
  const w = new Uint32Array(len);
  w.set([len, 42, 1000, 0, threadFlags.length, recFlags]);
  threadFlags.forEach((f, i) => {
    const p = REC_HEADER + i * THREAD_HEADER;
    w.set([i + 1, 0, 100 + i, f, 0xffffffff, 0xffffffff, 0, 0], p);
  });
  return w;
}

const fakeTarget = {
  threadNames: new Map(),
  lastStacks: [],
  frames: {
    globalId: () => 0,
    globalIds: (_s: number, _w: Uint32Array, _at: number, n: number) => new Array(n).fill(0),
  },
  source: 0,
  resolveLocal: () => undefined,
} as unknown as Target;

test('decodeRecords: thread reasons (bits 16-23), record reason (bits 8-15), no-GIL flag', () => {
  const S = 'S'.charCodeAt(0) << 8;
  const words = record(REC_ERROR | REC_NO_GIL | (8 << 8), [
    TH_ERROR | S | (1 << 16),
    TH_TRUNCATED | S | (10 << 16),
    S,
    TH_ERROR | (5 << 16),
  ]);
  const out: Sample[] = [];
  decodeRecords(words, words.length, () => fakeTarget, out);
  assert.equal(out.length, 1);
  const s = out[0]!;
  assert.equal(s.noGil, true);
  assert.equal(s.reason, 'thread list changed');
  assert.deepEqual(
    s.threads.map((t) => [t.error, t.truncated, t.reason, t.state]),
    [
      [true, false, 'frame changed while read', 'sleeping'],
      [false, true, 'depth cap', 'sleeping'],
      [false, false, undefined, 'sleeping'],
      [true, false, 'unknown frame owner', 'unknown'],
    ],
  );

  const plain: Sample[] = [];
  const w2 = record(0, [S | 1]); // a GIL holder, whole record
  decodeRecords(w2, w2.length, () => fakeTarget, plain);
  assert.equal(plain[0]!.noGil, undefined);
  assert.equal(plain[0]!.reason, undefined);
  assert.equal(plain[0]!.threads[0]!.gil, true);
});

function th(o: Partial<ThreadSample>): ThreadSample {
  return {
    pid: 1,
    threadId: 1n,
    nativeId: 1,
    name: '',
    gil: false,
    state: 'running',
    cpuNs: 0,
    frames: [],
    error: false,
    truncated: false,
    ...o,
  };
}
const smp = (threads: ThreadSample[], reason?: string): Sample => ({
  pid: 1,
  timeNs: 0n,
  threads,
  ...(reason && { reason }),
});

test('mostFrequentReason: the commonest reason and its share of all failures; none when nothing failed', () => {
  assert.equal(mostFrequentReason([]), undefined);
  assert.equal(mostFrequentReason([smp([th({}), th({})])]), undefined);
  const changed = th({ error: true, reason: 'frame changed while read' });
  const cut = th({ truncated: true, reason: 'depth cap' });
  const r = mostFrequentReason([
    smp([changed, th({}), cut]),
    smp([changed, changed]),
    smp([th({ error: true, reason: 'code object unreadable' })], 'thread list changed'),
  ]);
  // 3 changed, 1 cut, 1 code object, 1 partial record = 6 failures.
  assert.deepEqual(r, { reason: 'frame changed while read', count: 3, share: 0.5, failures: 6 });
  // Partial records count once each and can win.
  const lists = mostFrequentReason([smp([], 'thread list changed'), smp([], 'thread list changed'), smp([cut])]);
  assert.deepEqual(lists, { reason: 'thread list changed', count: 2, share: 2 / 3, failures: 3 });
  // A failure the reader gave no reason for still counts, honestly labelled.
  assert.equal(mostFrequentReason([smp([th({ error: true })])])?.reason, 'unknown reason');
});

test('record summary: failures, their share of thread samples, and the commonest reason; nothing when none failed', () => {
  const tally = new ReasonTally();
  assert.equal(failureSummary(tally, 100), '');
  tally.addSample(smp([th({ truncated: true, reason: 'depth cap' }), th({})]));
  tally.addSample(
    smp([th({ truncated: true, reason: 'depth cap' }), th({ error: true, reason: 'frame changed while read' })]),
  );
  assert.equal(failureSummary(tally, 200), '3 stacks failed or cut (1.5% of thread samples), mostly depth cap (66.7%)');
});
