/**
 * Traces with an end, over synthetic samples (no interpreter): frames
 * running when a thread is first seen and frames older than the TTL are
 * context on each trace's root; one trace per activation of the outermost
 * short-lived frame; every span ends within the TTL; traces are capped;
 * the application's own span context parents the roots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Frames } from './export-helpers.js';
import { SpanBuilder, type Activation } from '../src/export/spans.js';
import { OtlpSpanExport } from '../src/export/otlp.js';
import { SendQueue } from '../src/export/queue.js';
import type { Sample, TraceContext } from '../src/sampling/types.js';

const MS = 1_000_000n;

function sample(f: Frames, tMs: number, stack: string[], traceContext?: TraceContext): Sample {
  return {
    pid: 100,
    timeNs: BigInt(tMs) * MS,
    threads: [
      {
        pid: 100,
        threadId: 7n,
        nativeId: 100,
        name: 'MainThread',
        gil: true,
        state: 'running',
        cpuNs: 1,
        frames: stack.map((s) => f.id(s)).reverse(),
        error: false,
        truncated: false,
        traceContext,
      },
    ],
  };
}

/** Every parent is among the spans (roots excepted), in the same trace, and encloses its child in time. */
function assertComplete(spans: Activation[]): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  assert.equal(byId.size, spans.length, 'span ids are unique');
  for (const s of spans) {
    if (s.root) {
      assert.equal(s.depth, 0);
      if (!s.root.joined) assert.equal(s.parentSpanId, undefined);
      continue;
    }
    const p = byId.get(s.parentSpanId!);
    assert.ok(p, `${s.name}: parent ${s.parentSpanId} missing`);
    assert.equal(p.traceId, s.traceId);
    assert.ok(s.startNs >= p.startNs && s.endNs <= p.endNs, `${s.name} inside ${p.name}`);
  }
}

/** A web worker: serve_forever → handle → parse/render, 200 requests of 50 ms, 10 ms sampling. */
function worker(f: Frames, requests: number, ctx?: (i: number) => TraceContext): Sample[] {
  const out: Sample[] = [];
  let t = 0;
  const outer = ['<module>:60', 'serve_forever:40'];
  // Sampling starts in the middle of a request.
  out.push(sample(f, (t += 10), [...outer, 'handle:10', 'render:31']));
  out.push(sample(f, (t += 10), [...outer, 'handle:10', 'render:30']));
  for (let i = 0; i < requests; i++) {
    const c = ctx?.(i);
    out.push(sample(f, (t += 10), [...outer.slice(0, 1), 'serve_forever:41'])); // accept()
    for (let k = 0; k < 2; k++) out.push(sample(f, (t += 10), [...outer, 'handle:10', 'parse:20'], c));
    for (let k = 0; k < 3; k++) out.push(sample(f, (t += 10), [...outer, 'handle:11', 'render:30'], c));
  }
  return out;
}

function build(b: SpanBuilder, samples: Sample[]): Activation[] {
  const out: Activation[] = [];
  for (const s of samples) b.add(s, out);
  b.flush(out);
  return out;
}

test('traces: a worker that was running when sampling began gives one trace per request, rooted at the handler', () => {
  const f = new Frames();
  const spans = build(new SpanBuilder(f), worker(f, 200));
  const roots = spans.filter((s) => s.root);
  assert.equal(roots.length, 200, 'the request in flight at the start is context, every later one a trace');
  assert.ok(roots.every((r) => r.name === 'handle'));
  assert.equal(new Set(roots.map((r) => r.traceId)).size, 200);
  assert.ok(!spans.some((s) => s.name === 'serve_forever' || s.name === '<module>'), 'outer frames are not spans');
  for (const r of roots)
    assert.equal(r.root!.context, '<module> (<module>.py:60) > serve_forever (serve_forever.py:40)');
  assertComplete(spans);
  assert.equal(spans.length, 600);
});

test('traces: frames that outlive the TTL become context; every span ends within the TTL', () => {
  const f = new Frames();
  // Launched under gauge: <module> and the loop are seen starting, so they begin as spans.
  const samples = [sample(f, 0, ['<module>:1'])];
  samples.push(...worker(f, 100).map((s) => ({ ...s, timeNs: s.timeNs + 10n * MS })));
  const b = new SpanBuilder(f, { ttlMs: 1000, existingAreContext: false });
  const spans = build(b, samples);
  for (const s of spans) assert.ok(s.endNs - s.startNs <= 1000n * MS, `${s.name} open ${s.endNs - s.startNs} ns`);
  assertComplete(spans);
  const cut = spans.filter((s) => s.root?.cut);
  assert.equal(cut.length, 1, 'the first trace, rooted at <module>, was cut by the TTL');
  assert.equal(cut[0]!.name, '<module>');
  const late = spans.filter((s) => s.root && s.startNs > 1100n * MS);
  assert.ok(late.length > 50);
  for (const r of late) {
    assert.equal(r.name, 'handle');
    assert.match(r.root!.context, /^<module> .* > serve_forever /);
  }
});

test('traces: a trace cut by the TTL ends at the TTL mark, not at the first sample past it', () => {
  // Sampled every 7 ms: the TTL (1 s) of main and loop falls between the samples at 994 and 1001 ms.
  const run = (leafMs: number) => {
    const f = new Frames();
    const samples: Sample[] = [];
    for (let t = 0; t <= 2500; t += 7)
      samples.push(sample(f, t, ['main:1', 'loop:2', Math.floor(t / leafMs) % 2 ? 'a:3' : 'b:4']));
    const spans = build(new SpanBuilder(f, { ttlMs: 1000, existingAreContext: false }), samples);
    for (const s of spans) assert.ok(s.endNs - s.startNs <= 1000n * MS, `${s.name} open ${s.endNs - s.startNs} ns`);
    assertComplete(spans);
    return spans;
  };
  // The leaf runs on through the cut (900-1200 ms): it ends at the mark and goes on in a new trace from there.
  const through = run(300);
  assert.deepEqual(
    through.filter((s) => s.cut).map((s) => [s.name, s.endNs]),
    [
      ['a', 1000n * MS],
      ['loop', 1000n * MS],
      ['main', 1000n * MS],
    ],
  );
  const next = through.find((s) => s.name === 'a' && s.startNs === 1000n * MS);
  assert.ok(next?.root, 'the leaf roots a new trace from the cut');
  assert.equal(next.root.context, 'main (main.py:1) > loop (loop.py:2)');
  // The leaf returns at the sample past the mark (a: 900-1000 ms, b from 1000): it ends with its parents.
  const returned = run(100);
  assert.equal(returned.find((s) => s.name === 'a' && s.startNs === 903n * MS)?.endNs, 1000n * MS);
});

test('traces: a thread whose stacks stop reading still has its trace cut at the TTL mark', () => {
  const f = new Frames();
  const samples: Sample[] = [];
  // Read for 500 ms, then every read fails (a torn or cut stack) until 3 s, then read again.
  for (let t = 0; t <= 4000; t += 10) {
    const s = sample(f, t, ['main:1', 'loop:2', 'work:3']);
    if (t > 500 && t < 3000) s.threads[0]!.error = true;
    samples.push(s);
  }
  const b = new SpanBuilder(f, { ttlMs: 1000, existingAreContext: false });
  const out: Activation[] = [];
  for (const s of samples.filter((x) => x.timeNs <= 2000n * MS)) b.add(s, out);
  // Before any stack is read again, the spans opened at 0 ms have been sent, ended at the mark.
  assert.deepEqual(
    out.map((s) => [s.name, s.endNs, s.cut === true]),
    [
      ['work', 1000n * MS, true],
      ['loop', 1000n * MS, true],
      ['main', 1000n * MS, true],
    ],
  );
  assert.equal(out.find((s) => s.root)?.root?.cut, true);
  for (const s of samples.filter((x) => x.timeNs > 2000n * MS)) b.add(s, out);
  b.flush(out);
  for (const s of out) assert.ok(s.endNs - s.startNs <= 1000n * MS, `${s.name} open ${s.endNs - s.startNs} ns`);
  assertComplete(out);
});

test('traces: the exporter cuts early enough for batching and delivery, so a cut span is sent within --span-ttl', async () => {
  const f = new Frames();
  // main runs when gauge attaches (context); loop and work start 10 ms later and never return.
  const samples = [sample(f, 0, ['main:1'])];
  for (let t = 10; t <= 31_000; t += 10) samples.push(sample(f, t, ['main:1', 'loop:2', 'work:3']));
  // Nothing is queued here (the builder is fed directly), so the endpoint is never asked.
  const exp = new OtlpSpanExport(f, { headers: {}, service: 's', stripLevels: 0, minSamples: 1, spanTtlMs: 30_000 });
  const spans = build(exp.builder, samples);
  await exp.close(100);
  // Cut at 30 s less the queue's 1 s linger and 1 s for delivery.
  assert.deepEqual(
    spans.filter((s) => s.cut).map((s) => [s.name, s.endNs]),
    [
      ['work', 28_010n * MS],
      ['loop', 28_010n * MS],
    ],
  );
  for (const s of spans) assert.ok(s.endNs - s.startNs <= 28_000n * MS, s.name);
});

test('spans: sample times map to the wall clock within a millisecond, also in a process just started', () => {
  // Made at start-up, as gauge makes it: there performance.timeOrigin + now() ran 2-21 ms ahead of the wall clock.
  const check = `
    const { WallClock } = await import(${JSON.stringify(new URL('../src/export/otlp.js', import.meta.url).href)});
    const clock = new WallClock();
    let ahead = 0, behind = 0;
    for (let i = 0; i < 50; i++) {
      const before = process.hrtime.bigint();
      const ms = BigInt(Date.now()); // the wall clock floored to the millisecond, between the two reads
      const after = process.hrtime.bigint();
      ahead = Math.max(ahead, Number(clock.unixNs(before) - (ms + 1n) * 1000000n));
      behind = Math.max(behind, Number(ms * 1000000n - clock.unixNs(after)));
    }
    console.log(JSON.stringify({ ahead, behind }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', check], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { ahead, behind } = JSON.parse(r.stdout) as { ahead: number; behind: number };
  assert.ok(ahead < 500_000, `${ahead} ns ahead of the wall clock`);
  assert.ok(behind < 500_000, `${behind} ns behind the wall clock`);
});

test('send queue: what arrives during a slow send waits the linger from that send, not after it', async () => {
  const sentAt: number[] = [];
  const pushedAt: number[] = [];
  const q = new SendQueue<number>(
    'slow',
    async (batch) => {
      for (const i of batch) sentAt[i] = Date.now();
      await new Promise((r) => setTimeout(r, 700));
    },
    { maxItems: 100, batchSize: 100, lingerMs: 1000 },
  );
  const push = (i: number) => {
    pushedAt[i] = Date.now();
    q.push([i]);
  };
  push(0);
  // Item 1 comes while item 0's send (1 000 ms after it, 700 ms long) is in flight.
  await new Promise((r) => setTimeout(r, 1200));
  push(1);
  for (let i = 0; i < 100 && q.stats.sent < 2; i++) await new Promise((r) => setTimeout(r, 50));
  await q.close(1000);
  assert.equal(q.stats.sent, 2);
  // Sent one linger after the previous send began: 800 ms after its push (it used to be 1 500).
  const waited = sentAt[1]! - pushedAt[1]!;
  assert.ok(waited <= 1000, `item 1 waited ${waited} ms, more than the 1 000 ms linger`);
});

test('traces: a trace holds at most maxTraceSpans spans and its root counts the rest', () => {
  const f = new Frames();
  const samples: Sample[] = [sample(f, 0, ['main:1'])];
  let t = 0;
  for (let i = 0; i < 20; i++) {
    samples.push(sample(f, (t += 10), ['main:1', 'batch:5', i % 2 ? 'a:7' : 'b:6']));
    samples.push(sample(f, (t += 10), ['main:1', 'batch:5', i % 2 ? 'a:7' : 'b:6']));
  }
  samples.push(sample(f, t + 10, ['main:2']));
  const spans = build(new SpanBuilder(f, { maxTraceSpans: 5, minSamples: 1 }), samples);
  const root = spans.find((s) => s.root)!;
  assert.equal(root.name, 'batch');
  assert.equal(spans.length, 5);
  assert.equal(root.root!.droppedSpans, 16);
  assertComplete(spans);
});

test('traces: the application span a thread is in parents each trace, with its trace id; a new one starts another', () => {
  const f = new Frames();
  const ctx = (i: number): TraceContext => ({
    traceId: (i + 1).toString(16).padStart(32, 'a'),
    spanId: (i + 1).toString(16).padStart(16, 'b'),
  });
  const spans = build(new SpanBuilder(f), worker(f, 20, ctx));
  const roots = spans.filter((s) => s.root);
  assert.equal(roots.length, 20);
  for (const [i, r] of roots.entries()) {
    assert.equal(r.traceId, ctx(i).traceId);
    assert.equal(r.parentSpanId, ctx(i).spanId);
    assert.ok(r.root!.joined);
  }
  for (const s of spans) assert.ok(roots.some((r) => r.traceId === s.traceId));
  assertComplete(spans);
  // The context changes while the handler runs: the trace ends there and the rest joins the new span.
  const g = new Frames();
  const one = ['main:1', 'loop:2', 'handle:3', 'work:4'];
  const more = build(new SpanBuilder(g, { minSamples: 1 }), [
    sample(g, 0, ['main:1', 'loop:2']),
    sample(g, 10, one),
    sample(g, 20, one, ctx(0)),
    sample(g, 30, one, ctx(0)),
  ]);
  const joined = more.filter((s) => s.traceId === ctx(0).traceId);
  assert.deepEqual(joined.map((s) => s.name).sort(), ['handle', 'work']);
  assert.equal(joined.find((s) => s.name === 'handle')!.parentSpanId, ctx(0).spanId);
  assert.equal(joined.find((s) => s.name === 'handle')!.startNs, 20n * MS);
  assertComplete(more);
});

test('traces: a stack read mid-switch (outer frames missing) neither ends the context nor splits a request', () => {
  const f = new Frames();
  const samples = worker(f, 20);
  // Torn reads, as seen on 3.12 while a context manager's generator is entered: only the generator's frames.
  for (const i of [8, 30, 31 + 6, 70])
    samples.splice(i, 0, { ...sample(f, 0, ['use_span:5']), timeNs: samples[i]!.timeNs });
  const spans = build(new SpanBuilder(f), samples);
  const roots = spans.filter((s) => s.root);
  assert.deepEqual([...new Set(roots.map((r) => r.name))], ['handle']);
  assert.equal(roots.length, 20);
  assertComplete(spans);
});
