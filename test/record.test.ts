/**
 * `gauge record` end to end against a real interpreter running
 * test/fixtures/call_tree.py (main → handle → parse ~30 % / render ~70 %,
 * shares and call durations measured by the fixture itself), with real
 * local receivers: OTLP decoded with the official protos, DataKit and
 * Pyroscope multipart decoded with busboy, pprof with pprof-format.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPythons, pythonFor, pythonsOrSkip, type Python } from './helpers/pythons.js';
import { Receiver, checkSpeedscope, pprofCounts, repoRoot, type ReceivedSpan } from './export-helpers.js';

const gaugeBin = join(repoRoot, 'bin', 'gauge');
const fixture = join(repoRoot, 'test', 'fixtures', 'call_tree.py');
const work = mkdtempSync(join(tmpdir(), 'gauge-record-'));
const children = new Set<ChildProcess>();
const receivers: Receiver[] = [];

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of receivers) await r.stop();
});

function python(): Python {
  const p =
    pythonFor('3.12') ??
    findPythons()
      .filter((x) => x.mm[0] === 3)
      .at(-1);
  if (!p) throw new Error('no CPython 3 interpreter found: set GAUGE_TEST_PYTHONS or install one');
  return p;
}

/** Line of `def NAME(` in the fixture: ground truth for code.line.number. */
function defLine(name: string): number {
  const lines = readFileSync(fixture, 'utf8').split('\n');
  return lines.findIndex((l) => l.startsWith(`def ${name}(`)) + 1;
}

interface Report {
  pid: number;
  parse_s: number;
  render_s: number;
  handle_s: number;
  parse_calls: number;
  render_calls: number;
  handle_calls: number;
}

interface Run {
  code: number | null;
  stderr: string;
  /** "N thread samples → FILE" from the summary line. */
  threadSamples?: number;
  samples?: number;
  /** Seconds sampled, from the summary line. */
  seconds?: number;
}

function gauge(
  args: string[],
  opts: { nodeArgs?: string[]; onStderr?: (line: string) => void } = {},
): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), gaugeBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true' },
  });
  children.add(child);
  let stderr = '';
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) opts.onStderr?.(l);
  });
  child.stdout!.resume();
  const done = new Promise<Run>((resolve) => {
    child.on('exit', (code) => {
      children.delete(child);
      const summary =
        stderr
          .split('\n')
          .filter((l) => /samples in/.test(l))
          .at(-1) ?? '';
      const m = /(\d+) samples in /.exec(summary);
      const t = /(\d+) thread samples →/.exec(summary);
      const secs = /samples in ([\d.]+) s/.exec(summary);
      resolve({
        code,
        stderr,
        samples: m ? Number(m[1]) : undefined,
        threadSamples: t ? Number(t[1]) : undefined,
        seconds: secs ? Number(secs[1]) : undefined,
      });
    });
  });
  return { child, done };
}

function within(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual.toFixed(4)} vs expected ${expected.toFixed(4)} (±${tol.toFixed(4)})`,
  );
}

const RATE = 100;
const py = python();
console.log(`# record tests on CPython ${py.label}`);

test(
  'record → Jaeger (OTLP), DataKit, Pyroscope and a speedscope file, all from one run',
  { timeout: 90000 },
  async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.start();
    const out = join(work, 'run.speedscope.json');
    const report = join(work, 'run.report.json');
    const { done } = gauge([
      'record',
      '--rate',
      String(RATE),
      '--duration',
      '9',
      '-o',
      out,
      '--otlp-endpoint',
      `${rx.url}/v1/traces`,
      '--otlp-header',
      'Authorization=Bearer s3cret',
      '--otlp-header',
      'X-Tenant=a=b',
      '--service',
      'shop',
      '--version',
      '1.2.3',
      '--env',
      'test',
      '--strip-levels',
      '2',
      '--datakit',
      rx.url,
      '--pyroscope',
      rx.url,
      '--upload-interval-ms',
      '3000',
      '--',
      py.exe,
      fixture,
      '0',
      report,
    ]);
    const run = await done;
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(rx.errors, []);
    const truth = JSON.parse(readFileSync(report, 'utf8')) as Report;
    assert.ok(truth.handle_calls >= 20, `fixture ran ${truth.handle_calls} requests`);
    assert.match(run.stderr, /spans \d+ sent 0 dropped/);

    // --- spans ---
    assert.ok(rx.traceRequests.length >= 1);
    for (const r of rx.traceRequests) {
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.equal(r.headers['content-type'], 'application/x-protobuf');
      assert.equal(r.headers.authorization, 'Bearer s3cret');
      assert.equal(r.headers['x-tenant'], 'a=b');
    }
    const sent = Number(/spans (\d+) sent/.exec(run.stderr)![1]);
    assert.equal(rx.spans.length, sent, 'every span reported sent arrived');
    // Interpreter start-up (imports) and write_report() are real activations too; the call tree under test is the fixture's.
    const spans = rx.spans.filter((s) => s.attributes['code.file.path'] === fixture && s.name !== 'write_report');
    assert.deepEqual(
      [...new Set(spans.map((s) => s.name))].sort(),
      ['handle', 'parse', 'render'],
      '--strip-levels 2 leaves <module> and main out',
    );
    const res = spans[0]!.resource;
    assert.equal(res['service.name'], 'shop');
    assert.equal(res['service.version'], '1.2.3');
    assert.equal(res['deployment.environment'], 'test');
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const handles = spans.filter((s) => s.name === 'handle');
    for (const h of handles) {
      assert.equal(h.parentSpanId, '', 'handle is the root of its trace');
    }
    assert.equal(new Set(handles.map((h) => h.traceId)).size, handles.length, 'one trace per request');
    for (const name of ['parse', 'render']) {
      const list = spans.filter((s) => s.name === name);
      for (const s of list) {
        const parent = byId.get(s.parentSpanId);
        assert.ok(parent, `${name} has its parent in the export`);
        assert.equal(parent.name, 'handle');
        assert.equal(parent.traceId, s.traceId);
        assert.ok(s.startNs >= parent.startNs && s.endNs <= parent.endNs, `${name} lies within its handle`);
      }
    }
    // Attributes follow OpenTelemetry's names; values from the target itself.
    for (const s of spans) {
      assert.equal(s.attributes['code.function.name'], s.name);
      assert.equal(s.attributes['code.file.path'], fixture);
      assert.equal(s.attributes['code.line.number'], defLine(s.name));
      assert.equal(s.attributes['process.pid'], truth.pid);
      assert.equal(s.attributes['thread.id'], truth.pid, 'main thread: kernel tid == pid');
      assert.equal(s.attributes['thread.name'], 'MainThread');
      assert.equal(s.kind, 1, 'SPAN_KIND_INTERNAL');
      assert.equal(s.scope, 'gauge');
    }
    // Wall-clock times: near now, not monotonic-clock values.
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    for (const s of spans)
      assert.ok(s.startNs > nowNs - 120_000_000_000n && s.endNs <= nowNs, 'span times are Unix times of this run');
    // One span per request (the last may be cut by the end of the recording; a starved sampler can miss a gap).
    const slack = Math.max(2, Math.ceil(truth.handle_calls * 0.1));
    assert.ok(
      handles.length <= truth.handle_calls && handles.length >= truth.handle_calls - slack,
      `${handles.length} handle spans for ${truth.handle_calls} requests`,
    );
    // Durations: the fixture's own per-call means, within sampling error (one achieved sampling interval at each end).
    const mean = (list: ReceivedSpan[]): number =>
      list.reduce((a, s) => a + Number(s.endNs - s.startNs) / 1e9, 0) / list.length;
    const interval = Math.max(1 / RATE, run.seconds! / run.samples!);
    console.log(`# achieved sampling interval ${(interval * 1000).toFixed(1)} ms`);
    for (const [name, total, calls] of [
      ['handle', truth.handle_s, truth.handle_calls],
      ['parse', truth.parse_s, truth.parse_calls],
      ['render', truth.render_s, truth.render_calls],
    ] as const) {
      const list = spans.filter((s) => s.name === name);
      assert.ok(list.length >= calls - slack, `${name}: ${list.length} spans for ${calls} calls`);
      within(mean(list), total / calls, 2 * interval + 0.1 * (total / calls), `${name} mean span duration`);
    }

    // --- speedscope file ---
    const file = JSON.parse(readFileSync(out, 'utf8')) as {
      profiles: { name: string; samples: number[][]; weights: number[] }[];
      shared: { frames: { name: string }[] };
    };
    assert.deepEqual(checkSpeedscope(file), []);
    const main = file.profiles.find((p) => p.name.startsWith('MainThread'));
    assert.ok(main, `a MainThread profile among ${file.profiles.map((p) => p.name).join(', ')}`);
    let parseMs = 0;
    let renderMs = 0;
    let totalMs = 0;
    main.samples.forEach((s, i) => {
      const names = s.map((f) => file.shared.frames[f]!.name);
      const w = main.weights[i]!;
      totalMs += w;
      if (names.includes('parse')) parseMs += w;
      if (names.includes('render')) renderMs += w;
    });
    assert.equal(
      Math.round(totalMs / (1000 / RATE)),
      run.threadSamples,
      'speedscope weights add up to the thread samples recorded',
    );
    within(
      parseMs / (parseMs + renderMs),
      truth.parse_s / (truth.parse_s + truth.render_s),
      0.05,
      'speedscope parse share',
    );

    // --- DataKit ---
    assert.ok(rx.datakit.length >= 2, `${rx.datakit.length} DataKit uploads`);
    let dkTotal = 0;
    for (const u of rx.datakit) {
      const ev = u.parts.find((p) => p.name === 'event');
      assert.ok(ev, 'an event part');
      assert.equal(ev.filename, 'event.json');
      assert.match(ev.contentType, /application\/json/);
      const event = JSON.parse(ev.data.toString('utf8')) as {
        attachments: string[];
        family: string;
        start: string;
        end: string;
        tags_profiler: string;
      };
      assert.equal(event.family, 'python');
      assert.match(event.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.ok(Date.parse(event.end) >= Date.parse(event.start));
      const tags = new Map(
        event.tags_profiler.split(',').map((t) => [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)]),
      );
      assert.equal(tags.get('service'), 'shop');
      assert.equal(tags.get('env'), 'test');
      assert.equal(tags.get('version'), '1.2.3');
      assert.equal(tags.get('language'), 'python');
      assert.equal(tags.get('runtime_version'), py.version);
      assert.equal(tags.get('process_id'), String(truth.pid));
      assert.equal(tags.get('profiler'), 'gauge');
      assert.ok(tags.get('host'));
      for (const a of event.attachments) {
        const part = u.parts.find((p) => p.name === a);
        assert.ok(part, `attachment ${a} present`);
        assert.equal(part.filename, a);
        dkTotal += pprofCounts(part.data).total;
      }
    }
    assert.equal(dkTotal, run.threadSamples, 'DataKit uploads together hold every thread sample recorded');

    // --- Pyroscope ---
    assert.ok(rx.pyroscope.length >= 2, `${rx.pyroscope.length} Pyroscope uploads`);
    let pyTotal = 0;
    let pyParse = 0;
    let pyRender = 0;
    for (const u of rx.pyroscope) {
      assert.equal(u.query.get('name'), 'shop{env=test,version=1.2.3}');
      assert.equal(u.query.get('format'), 'pprof');
      assert.match(u.query.get('from') ?? '', /^\d+$/);
      assert.ok(Number(u.query.get('until')) >= Number(u.query.get('from')));
      const prof = u.parts.find((p) => p.name === 'profile');
      assert.ok(prof, 'a profile part');
      const c = pprofCounts(prof.data);
      pyTotal += c.total;
      pyParse += c.byFunction.get('parse') ?? 0;
      pyRender += c.byFunction.get('render') ?? 0;
    }
    assert.equal(pyTotal, run.threadSamples);
    within(pyParse / (pyParse + pyRender), truth.parse_s / (truth.parse_s + truth.render_s), 0.05, 'pprof parse share');
  },
);

// The pprof check also on the newest interpreters (Debian's 3.14/3.15, free-threaded 3.13t/3.14t).
const pprofPythons = [
  { wanted: py.version, py, skip: undefined as string | undefined },
  ...pythonsOrSkip(['3.14', '3.15', '3.13t', '3.14t']),
];
for (const { wanted, py: found, skip } of pprofPythons)
  test(
    `record -o FILE.pb.gz: pprof round-trips, sample counts and shares match the fixture (${found?.label ?? wanted})`,
    { timeout: 60000, skip },
    async () => {
      const py = found!;
      const out = join(work, `run-${py.version}${py.freeThreaded ? 't' : ''}.pb.gz`);
      const report = join(work, `pprof-${py.version}${py.freeThreaded ? 't' : ''}.report.json`);
      const run = await gauge([
        'record',
        '--rate',
        String(RATE),
        '--duration',
        '5',
        '-o',
        out,
        '--',
        py.exe,
        fixture,
        '0',
        report,
      ]).done;
      assert.equal(run.code, 0, run.stderr);
      const truth = JSON.parse(readFileSync(report, 'utf8')) as Report;
      const { total, byFunction, profile } = pprofCounts(readFileSync(out));
      assert.equal(total, run.threadSamples);
      const str = (i: number | bigint): string => profile.stringTable.strings[Number(i)]!;
      assert.deepEqual(
        profile.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
        ['samples/count', 'cpu/nanoseconds'],
      );
      assert.equal(Number(profile.period), 1e9 / RATE);
      // Re-encode what was decoded: the same bytes come back (a true round trip).
      const again = (await import('pprof-format')).Profile.decode(profile.encode());
      assert.equal(again.sample.length, profile.sample.length);
      // handle's time is parse + render, plus the moments between the two calls where handle itself is the
      // leaf (a bytecode or two). Read from outside while the target runs, a rare sample can also be torn
      // the other way: the inner frame read before handle's slot in the data stack was reused by the next
      // call, so parse shows without handle (once in ~1,000 samples on 3.14t under load). 2 % either way.
      const handle = byFunction.get('handle') ?? 0;
      const children = (byFunction.get('parse') ?? 0) + (byFunction.get('render') ?? 0);
      assert.ok(
        Math.abs(handle - children) <= Math.max(3, 0.02 * handle),
        `handle time is parse + render: ${handle} vs ${children}`,
      );
      within(
        byFunction.get('parse')! / byFunction.get('handle')!,
        truth.parse_s / truth.handle_s,
        0.05,
        'parse share of handle',
      );
      const lines = profile.location.filter((l) =>
        profile.function.find((f) => f.id === l.line[0]!.functionId && str(f.name) === 'parse'),
      );
      assert.ok(
        lines.every((l) => Number(l.line[0]!.line) > defLine('parse')),
        'locations carry the executing line',
      );
    },
  );

test('record -i -o FILE.folded: collapsed counts sum to the samples taken', { timeout: 60000 }, async () => {
  const out = join(work, 'run.folded');
  const report = join(work, 'folded.report.json');
  const run = await gauge([
    'record',
    '-i',
    '--rate',
    String(RATE),
    '--duration',
    '4',
    '-o',
    out,
    '--',
    py.exe,
    fixture,
    '0',
    report,
  ]).done;
  assert.equal(run.code, 0, run.stderr);
  const text = readFileSync(out, 'utf8');
  let sum = 0;
  for (const line of text.trim().split('\n')) {
    const m = /^(.+) (\d+)$/.exec(line);
    assert.ok(m, `collapsed line: ${line}`);
    sum += Number(m[2]);
  }
  assert.ok(run.samples! > 100);
  // One Python thread and --idle: every sample taken is one thread sample.
  assert.equal(sum, run.threadSamples);
  assert.equal(sum, run.samples);
  assert.match(text, /^<module> \(.*call_tree\.py:\d+\);main \(.*call_tree\.py:\d+\);handle \(.*\);parse \(.*\) \d+$/m);
});

test('record -s: each Python subprocess gets its own root frame; counts still sum', { timeout: 60000 }, async () => {
  const out = join(work, 'sub.folded');
  let stdout = '';
  const { child, done } = gauge([
    'record',
    '-s',
    '-i',
    '--rate',
    String(RATE),
    '-o',
    out,
    '--',
    py.exe,
    join(repoRoot, 'test', 'fixtures', 'export_parent.py'),
    '3',
  ]);
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const run = await done;
  assert.equal(run.code, 0, run.stderr);
  const workers = /workers (\d+) (\d+)/.exec(stdout);
  assert.ok(workers, `the fixture printed its workers: ${stdout}`);
  const text = readFileSync(out, 'utf8');
  const perPid = new Map<number, number>();
  let sum = 0;
  for (const line of text.trim().split('\n')) {
    const m = /^process (\d+) .*? (\d+)$/.exec(line);
    assert.ok(m, `every stack starts at its process: ${line.slice(0, 120)}`);
    perPid.set(Number(m[1]), (perPid.get(Number(m[1])) ?? 0) + Number(m[2]));
    sum += Number(m[2]);
  }
  assert.equal(sum, run.threadSamples);
  for (const pid of [Number(workers[1]), Number(workers[2])]) {
    assert.ok((perPid.get(pid) ?? 0) > 50, `worker ${pid} was sampled (${perPid.get(pid) ?? 0} samples)`);
    assert.match(text, new RegExp(`^process ${pid} .*;handle \\(.*;parse \\(`, 'm'));
  }
});

test('record: bad flags are usage errors with one clear line, no stack trace', async () => {
  for (const [args, re] of [
    [['record', '--pid', '1', '-o', 'x.png', '-f', 'png'], /--format must be one of/],
    [['record', '--pid', '1', '-o', 'x.json', '--upload-interval', '5'], /at least 10 seconds/],
    [['record', '--pid', '1', '--otlp-endpoint', 'not a url'], /not an http\(s\) URL/],
    [['record', '--pid', '1', '--jaeger', '--otlp-header', 'novalue'], /expected K=V/],
    [['record', '--pid', '1'], /nothing to record into/],
    [['record', '-o', 'x.json'], /--pid PID or a command/],
  ] as [string[], RegExp][]) {
    const run = await gauge(args).done;
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, re);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  }
});

test(
  'endpoint down: sampling continues, memory stays flat over a full queue, drops are reported, delivery resumes',
  { timeout: 300000 },
  async () => {
    const rx = new Receiver();
    receivers.push(rx);
    await rx.start();
    const port = rx.port;
    const status: { t: number; samples: number; heap: number; dropped: number; lost: number }[] = [];
    const t0 = Date.now();
    let log = '';
    const { child, done } = gauge(
      [
        'record',
        '--rate',
        String(RATE),
        '--status-interval',
        '1',
        '--strip-levels',
        '2',
        '--min-span',
        '1',
        '--otlp-endpoint',
        `${rx.url}/v1/traces`,
        '--datakit',
        rx.url,
        '--upload-interval-ms',
        '2000',
        '--export-queue',
        '100',
        '--export-max-backoff-ms',
        '3000',
        '--',
        py.exe,
        fixture,
        '0',
        join(work, 'down.report.json'),
      ],
      {
        nodeArgs: ['--expose-gc'],
        onStderr: (l) => {
          log += l + '\n';
          const m = /status: (\d+) samples, (\d+) lost, spans \d+ sent (\d+) dropped.*heap ([\d.]+) MB/.exec(l);
          if (m)
            status.push({
              t: (Date.now() - t0) / 1000,
              samples: Number(m[1]),
              lost: Number(m[2]),
              dropped: Number(m[3]),
              heap: Number(m[4]),
            });
        },
      },
    );
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    // Up first: wait (bounded) until both destinations have delivered; start-up speed varies with machine load.
    const upBy = Date.now() + 30000;
    while ((rx.spans.length === 0 || rx.datakit.length === 0) && Date.now() < upBy) await sleep(250);
    assert.ok(rx.spans.length > 0, `spans delivered while the endpoint is up:\n${log}`);
    assert.ok(rx.datakit.length > 0, `profiles delivered while the endpoint is up:\n${log}`);
    await sleep(1000);
    rx.spans.length = 0;
    rx.datakit.length = 0;

    await rx.stop();
    const downAt = (Date.now() - t0) / 1000;
    // The outage lasts until gauge has reported 30 status lines (one a second) with its queue full and
    // dropping: enough to compare the heap early and late over a full queue. Bounded for a stuck run.
    const dropping = (): Array<(typeof status)[number]> => {
      const down = status.filter((s) => s.t > downAt + 1);
      return down.filter((s) => s.dropped > (down[0]?.dropped ?? Infinity));
    };
    const downBy = Date.now() + 150000;
    while (dropping().length < 30 && Date.now() < downBy) await sleep(250);
    const full = dropping();
    assert.ok(full.length >= 30, `only ${full.length} status lines with the queue dropping while down:\n${log}`);
    const upAt = (Date.now() - t0) / 1000;
    await rx.start(port);
    // Delivery resumes within a couple of backoff periods.
    const deadline = Date.now() + 20000;
    while ((rx.spans.length === 0 || rx.datakit.length === 0) && Date.now() < deadline) await sleep(250);
    assert.ok(rx.spans.length > 0, 'spans delivered again after the endpoint came back');
    assert.ok(rx.datakit.length > 0, 'profiles delivered again after the endpoint came back');
    await sleep(1500);
    child.kill('SIGTERM');
    const run = await done;
    assert.equal(run.code, 0, run.stderr);

    const during = status.filter((s) => s.t > downAt + 1 && s.t < upAt);
    assert.ok(during.length >= full.length, `${during.length} status lines while down`);
    // Sampling never stalled: samples taken grow in every 5 s stretch of the outage, none lost. (The rate
    // itself depends on machine load, so it is only required to be clearly alive.)
    const first = during[0]!;
    const last = during.at(-1)!;
    const rate = (last.samples - first.samples) / (last.t - first.t);
    console.log(`# sampled at ${rate.toFixed(0)}/s while the endpoint was down`);
    assert.ok(rate > RATE * 0.3, `sampled at ${rate.toFixed(0)}/s while the endpoint was down`);
    for (let i = 0; i + 5 < during.length; i += 5) {
      assert.ok(
        during[i + 5]!.samples > during[i]!.samples,
        `sampling stalled between ${during[i]!.t}s and ${during[i + 5]!.t}s`,
      );
    }
    assert.equal(last.lost, 0);
    // Drops counted once the bounded queue is full.
    assert.ok(last.dropped > 0, 'drops reported while down');
    assert.ok(last.dropped > first.dropped, 'drops keep being counted');
    // Memory flat: live heap (after a forced GC) over the first and the last 10 status lines with the queue full.
    const meanHeap = (xs: typeof full): number => xs.reduce((a, s) => a + s.heap, 0) / xs.length;
    const early = meanHeap(full.slice(0, 10));
    const late = meanHeap(full.slice(-10));
    console.log(
      `# heap while down, queue full: ${early.toFixed(1)} MB (first 10 s) → ${late.toFixed(1)} MB (last 10 s of ${full.length}); dropped ${last.dropped} spans`,
    );
    assert.ok(late - early < 2, `heap grew ${(late - early).toFixed(1)} MB while the endpoint was down`);
    assert.match(run.stderr, /spans \d+ sent [1-9]\d* dropped/, 'the summary reports drops');
    assert.match(run.stderr, /datakit \d+ ok/);
    assert.ok(existsSync(join(work, 'down.report.json')));
  },
);
