/**
 * Exporter building blocks over synthetic samples (no interpreter needed):
 * span reconstruction, the bounded send queue, and the three file formats
 * checked with real parsers (speedscope's published schema from the
 * speedscope package, pprof-format's decoder).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { SpanBuilder, type Activation } from '../src/export/spans.js';
import { SendQueue } from '../src/export/queue.js';
import { ProfileRecorder } from '../src/export/profile-recorder.js';
import { formatByName, formatFor, formatFromPath } from '../src/export/profile-formats.js';
import { serviceFromCommand } from '../src/export/pipeline.js';
import { checkSpeedscope, Frames } from './export-helpers.js';
import type { Sample, ThreadSample } from '../src/sampling/types.js';

const MS = 1_000_000n;

/** A sample of one thread; stack given outermost first, as people read it. */
function sample(frames: Frames, tMs: number, stack: string[], extra: Partial<ThreadSample> = {}, pid = 100): Sample {
  return {
    pid,
    timeNs: BigInt(tMs) * MS,
    threads: [
      {
        pid,
        threadId: 7n,
        nativeId: pid,
        name: 'MainThread',
        gil: true,
        state: 'running',
        cpuNs: 10_000_000,
        frames: stack.map((s) => frames.id(s)).reverse(),
        error: false,
        truncated: false,
        ...extra,
      },
    ],
  };
}

function run(b: SpanBuilder, samples: Sample[]): Activation[] {
  const out: Activation[] = [];
  for (const s of samples) b.add(s, out);
  b.flush(out);
  return out;
}

test('spans: a frame that stays is one activation; a different frame at its depth ends it and its children', () => {
  const f = new Frames();
  const stacks: [number, string[]][] = [
    [0, ['main:5', 'handle:10', 'parse:20']],
    [10, ['main:5', 'handle:10', 'parse:21']],
    [20, ['main:5', 'handle:10', 'parse:20']],
    [30, ['main:5', 'handle:11', 'render:30']],
    [40, ['main:5', 'handle:11', 'render:31']],
    [50, ['main:5', 'handle:11', 'render:30']],
    [60, ['main:6']],
    [70, ['main:5', 'handle:10', 'parse:20']],
    [80, ['main:5', 'handle:10', 'parse:20']],
  ];
  const spans = run(
    new SpanBuilder(f, { minSamples: 1, existingAreContext: false }),
    stacks.map(([t, s]) => sample(f, t, s)),
  );
  const byName = (n: string): Activation[] =>
    spans.filter((s) => s.name === n).sort((a, b) => Number(a.startNs - b.startNs));
  const [main] = byName('main');
  const handles = byName('handle');
  const parses = byName('parse');
  const renders = byName('render');
  assert.equal(byName('main').length, 1);
  assert.equal(handles.length, 2, 'handle: one activation before the gap, one after');
  assert.equal(parses.length, 2);
  assert.equal(renders.length, 1);
  // Times: from the first sample holding it to the first that does not.
  assert.deepEqual([handles[0]!.startNs, handles[0]!.endNs], [0n, 60n * MS]);
  assert.deepEqual([parses[0]!.startNs, parses[0]!.endNs], [0n, 30n * MS]);
  assert.deepEqual([renders[0]!.startNs, renders[0]!.endNs], [30n * MS, 60n * MS]);
  assert.equal(parses[0]!.samples, 3);
  // Flushed at the end: one sampling gap after the last sample.
  assert.equal(main!.endNs, 90n * MS);
  assert.equal(handles[1]!.startNs, 70n * MS);
  // Nesting: parse and render under handle, handle under main, one trace.
  assert.equal(main!.parentSpanId, undefined);
  for (const h of handles) assert.equal(h.parentSpanId, main!.spanId);
  assert.equal(parses[0]!.parentSpanId, handles[0]!.spanId);
  assert.equal(renders[0]!.parentSpanId, handles[0]!.spanId);
  assert.equal(parses[1]!.parentSpanId, handles[1]!.spanId);
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1);
  assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length);
  // Children are emitted before their parents (a parent's id is known to them anyway).
  assert.ok(spans.indexOf(parses[0]!) < spans.indexOf(handles[0]!));
  assert.equal(main!.line, 1);
  assert.equal(main!.file, '/app/main.py');
  assert.equal(main!.threadName, 'MainThread');
});

test('spans: the same function called again from a different line is a new activation', () => {
  const f = new Frames();
  const spans = run(new SpanBuilder(f, { minSamples: 1, existingAreContext: false }), [
    sample(f, 0, ['main:5', 'step:1']),
    sample(f, 10, ['main:5', 'step:2']),
    sample(f, 20, ['main:6', 'step:1']),
  ]);
  assert.equal(spans.filter((s) => s.name === 'step').length, 2);
  assert.equal(spans.filter((s) => s.name === 'main').length, 1);
});

test('spans: --strip-levels makes the next level the root of a trace; --min-span drops short activations', () => {
  const f = new Frames();
  const samples: Sample[] = [];
  let t = 0;
  for (let req = 0; req < 3; req++) {
    for (let i = 0; i < 4; i++) samples.push(sample(f, (t += 10), ['<module>:1', 'main:5', 'handle:10', 'parse:20']));
    samples.push(sample(f, (t += 10), ['<module>:1', 'main:5', 'handle:11', 'log:3'])); // one sample: dropped
    for (let i = 0; i < 6; i++) samples.push(sample(f, (t += 10), ['<module>:1', 'main:5', 'handle:12', 'render:30']));
    samples.push(sample(f, (t += 10), ['<module>:1', 'main:7']));
  }
  const b = new SpanBuilder(f, { stripLevels: 2, minSamples: 2, existingAreContext: false });
  const spans = run(b, samples);
  assert.deepEqual([...new Set(spans.map((s) => s.name))].sort(), ['handle', 'parse', 'render']);
  assert.equal(b.short, 3, 'the three one-sample log() activations');
  const roots = spans.filter((s) => s.name === 'handle');
  assert.equal(roots.length, 3);
  for (const r of roots) {
    assert.equal(r.parentSpanId, undefined);
    assert.equal(r.depth, 0);
    assert.equal(r.samples, 11);
  }
  assert.equal(new Set(roots.map((r) => r.traceId)).size, 3, 'each request is its own trace');
  for (const c of spans.filter((s) => s.name !== 'handle')) {
    const parent = roots.find((r) => r.spanId === c.parentSpanId)!;
    assert.ok(parent, 'child has a handle parent');
    assert.equal(c.traceId, parent.traceId);
    assert.ok(c.startNs >= parent.startNs && c.endNs <= parent.endNs);
  }
});

test('spans: threads that disappear and processes that exit end their activations; torn stacks are skipped', () => {
  const f = new Frames();
  const b = new SpanBuilder(f, { minSamples: 1, existingAreContext: false });
  const out: Activation[] = [];
  b.add(sample(f, 0, ['main:1', 'work:2']), out);
  b.add(sample(f, 10, [], { error: true }), out);
  b.add(sample(f, 20, ['main:1', 'work:2']), out);
  assert.equal(out.length, 0);
  b.add({ pid: 100, timeNs: 30n * MS, threads: [] }, out);
  assert.deepEqual(
    out.map((a) => [a.name, a.endNs, a.samples]),
    [
      ['work', 30n * MS, 2],
      ['main', 30n * MS, 2],
    ],
  );
  b.add(sample(f, 40, ['main:1'], {}, 200), out);
  b.add(sample(f, 50, ['main:1'], {}, 200), out);
  b.endProcess(200, out);
  assert.equal(out.at(-1)!.pid, 200);
  assert.equal(out.at(-1)!.endNs, 60n * MS);
  assert.equal(b.openCount, 0);
});

/** Runs the mocked clock forward in small steps, letting the queue's promises settle between them. */
async function advance(t: TestContext, ms: number, stepMs = 5): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    t.mock.timers.tick(stepMs);
    await new Promise((r) => setImmediate(r)); // setImmediate is not mocked: a real turn of the loop
  }
}

test('send queue: bounded (drops oldest), backs off on failure, resumes, accounts for every item', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let fail = true;
  const delivered: number[] = [];
  let attempts = 0;
  const q = new SendQueue<number>(
    'test',
    async (batch) => {
      attempts++;
      if (fail) throw new Error('connection refused');
      delivered.push(...batch);
    },
    { maxItems: 50, batchSize: 10, minBackoffMs: 20, maxBackoffMs: 80 },
  );
  for (let i = 0; i < 200; i++) q.push([i]);
  await advance(t, 400);
  // Retries at 0, then 20, 40, 80, 80, ... ms apart, each ±25 %: 6 to 8 attempts in 400 ms.
  assert.ok(attempts >= 6 && attempts <= 8, `backoff spaces retries out: ${attempts} attempts in 400 ms`);
  assert.equal(q.stats.errors, attempts);
  assert.equal(q.stats.dropped, 150);
  assert.equal(q.stats.pending, 50);
  fail = false;
  await advance(t, 300);
  assert.deepEqual(
    delivered,
    Array.from({ length: 50 }, (_, i) => 150 + i),
    'the newest 50, in order',
  );
  assert.equal(q.stats.sent, 50);
  q.push([1000, 1001]);
  await q.close(1000);
  assert.equal(q.stats.sent + q.stats.dropped, 202);
  assert.equal(q.stats.pending, 0);
});

test(
  'send queue: close() stops retrying a dead endpoint and counts what is left as dropped',
  { timeout: 10000 },
  async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    let attempts = 0;
    const q = new SendQueue<number>(
      'dead',
      async () => {
        attempts++;
        throw new Error('down');
      },
      { maxItems: 100, batchSize: 10, minBackoffMs: 10 },
    );
    for (let i = 0; i < 30; i++) q.push([i]);
    const t0 = Date.now();
    // The clock does not move: close() must return without waiting out a backoff (or it never returns).
    await q.close(3000);
    assert.equal(Date.now(), t0);
    assert.equal(attempts, 1, 'one last attempt, no retries');
    assert.equal(q.stats.dropped, 30);
    assert.equal(q.stats.sent, 0);
  },
);

test('the schema check itself rejects broken speedscope files', () => {
  assert.ok(checkSpeedscope({ profiles: [], shared: { frames: [] } }).length > 0, 'missing $schema');
  const bad = {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames: [{ name: 'a' }] },
    profiles: [
      { type: 'sampled', name: 'x', unit: 'furlongs', startValue: 0, endValue: 1, samples: [[0]], weights: [1] },
    ],
  };
  assert.ok(checkSpeedscope(bad).length > 0, 'bad unit');
  bad.profiles[0]!.unit = 'milliseconds';
  assert.deepEqual(checkSpeedscope(bad), []);
  bad.profiles[0]!.samples = [[3]];
  assert.ok(checkSpeedscope(bad).length > 0, 'frame out of range');
});

function recorderWithSamples(opts: ConstructorParameters<typeof ProfileRecorder>[1] = {}): {
  rec: ProfileRecorder;
  f: Frames;
} {
  const f = new Frames();
  const rec = new ProfileRecorder(f, { rateHz: 100, ...opts });
  const batch: Sample[] = [];
  for (let i = 0; i < 30; i++) batch.push(sample(f, i * 10, ['main:5', 'handle:10', 'parse:20']));
  for (let i = 0; i < 70; i++) batch.push(sample(f, 300 + i * 10, ['main:5', 'handle:11', 'render:30']));
  // Idle samples: sleeping, no CPU progress. Left out unless --idle.
  for (let i = 0; i < 10; i++)
    batch.push(sample(f, 1000 + i * 10, ['main:6'], { state: 'sleeping', cpuNs: 0, gil: false }));
  rec.add(batch);
  return { rec, f };
}

test('collapsed: outermost first, counts sum to the thread samples kept; idle and GIL filters apply', () => {
  const { rec } = recorderWithSamples();
  const text = rec.collapsed();
  const lines = text.trim().split('\n');
  const counts = new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
  assert.equal(counts.get('main (/app/main.py:5);handle (/app/handle.py:10);parse (/app/parse.py:20)'), 30);
  assert.equal(counts.get('main (/app/main.py:5);handle (/app/handle.py:11);render (/app/render.py:30)'), 70);
  assert.equal(
    [...counts.values()].reduce((a, b) => a + b, 0),
    rec.samples,
  );
  assert.equal(rec.samples, 100);
  assert.equal(recorderWithSamples({ idle: true }).rec.samples, 110);
  assert.equal(recorderWithSamples({ idle: true, gil: true }).rec.samples, 100);
});

test("speedscope: one sampled profile per thread, valid against speedscope's schema, weights in ms", () => {
  const { rec } = recorderWithSamples();
  const file = JSON.parse(JSON.stringify(rec.speedscope('t'))) as {
    profiles: { weights: number[]; samples: number[][] }[];
    shared: { frames: { name: string }[] };
  };
  assert.deepEqual(checkSpeedscope(file), []);
  assert.equal(file.profiles.length, 1);
  const p = file.profiles[0]!;
  // Run-length merged in time order: parse run then render run.
  assert.deepEqual(p.weights, [300, 700]);
  assert.deepEqual(
    p.samples.map((s) => s.map((i) => file.shared.frames[i]!.name)),
    [
      ['main', 'handle', 'parse'],
      ['main', 'handle', 'render'],
    ],
  );
});

test('pprof: round-trips through pprof-format with sample types, period, functions and lines', () => {
  const { rec } = recorderWithSamples();
  const p = Profile.decode(gunzipSync(rec.pprofGzip()));
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)]!;
  assert.deepEqual(
    p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
    ['samples/count', 'cpu/nanoseconds'],
  );
  assert.equal(Number(p.period), 10_000_000);
  assert.equal(`${str(p.periodType!.type)}/${str(p.periodType!.unit)}`, 'cpu/nanoseconds');
  const fnName = (locId: number | bigint): string => {
    const loc = p.location.find((l) => Number(l.id) === Number(locId))!;
    const fn = p.function.find((x) => Number(x.id) === Number(loc.line[0]!.functionId))!;
    return str(fn.name);
  };
  const leafCounts = new Map<string, number>();
  let total = 0;
  for (const s of p.sample) {
    const names = s.locationId.map(fnName);
    assert.equal(names.at(-1), 'main', 'locations are leaf first');
    leafCounts.set(names[0]!, (leafCounts.get(names[0]!) ?? 0) + Number(s.value[0]));
    assert.equal(Number(s.value[1]), Number(s.value[0]) * 10_000_000);
    total += Number(s.value[0]);
  }
  assert.equal(total, 100);
  assert.equal(leafCounts.get('parse'), 30);
  assert.equal(leafCounts.get('render'), 70);
  const handleLoc = p.location
    .filter((l) => fnName(l.id) === 'handle')
    .map((l) => Number(l.line[0]!.line))
    .sort();
  assert.deepEqual(handleLoc, [10, 11], 'one location per line, one function');
  assert.equal(p.function.filter((x) => str(x.name) === 'handle').length, 1);
  assert.equal(str(p.function[0]!.filename).startsWith('/app/'), true);
});

test('formats from file names; service names from command lines', () => {
  assert.equal(formatFromPath('a.speedscope.json'), 'speedscope');
  assert.equal(formatFromPath('a.json'), 'speedscope');
  assert.equal(formatFromPath('a.pb.gz'), 'pprof');
  assert.equal(formatFromPath('a.pprof'), 'pprof');
  assert.equal(formatFromPath('a.pb'), 'pprof');
  assert.equal(formatFromPath('a.folded'), 'collapsed');
  assert.equal(formatFromPath('a.collapsed'), 'collapsed');
  assert.equal(formatFromPath('a.txt'), 'collapsed');
  assert.equal(formatFromPath('a.svg'), 'svg');
  assert.equal(formatFromPath('profile'), undefined);
  // As py-spy: a name that says nothing gets a flame graph; -f flamegraph is the SVG.
  assert.equal(formatFor('profile'), 'svg');
  assert.equal(formatFor('a.folded'), 'collapsed');
  assert.equal(formatFor('profile', 'pprof'), 'pprof');
  assert.equal(formatByName('flamegraph'), 'svg');
  assert.equal(formatByName('speedscope'), 'speedscope');
  assert.equal(formatByName('toString'), undefined);
  assert.equal(formatByName('flame'), undefined);
  assert.equal(serviceFromCommand('python3 -u /srv/app/checkout.py --port 80'), 'checkout');
  assert.equal(serviceFromCommand('python -m gunicorn app:wsgi'), 'gunicorn');
  assert.equal(serviceFromCommand('/usr/bin/uwsgi --ini x.ini'), 'uwsgi');
});
