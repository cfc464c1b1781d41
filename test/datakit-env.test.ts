/**
 * The field's conventions, end to end against local receivers: each
 * py-spy-for-datakit command from DataKit's page with `gauge` for
 * `py-spy-for-datakit` uploads the multipart shape DataKit takes; the
 * py-spy-for-datakit defaults and the DD_* variables fill what flags leave
 * out; OTEL_EXPORTER_OTLP_ENDPOINT/HEADERS and OTEL_RESOURCE_ATTRIBUTES steer
 * `record --jaeger`, and flags win over all of them. Targets run a few
 * seconds and exit, which ends gauge and flushes its last window.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { findPythons, pythonFor } from './helpers/pythons.js';
import { Receiver, pprofCounts, repoRoot, type Upload } from './export-helpers.js';

const gaugeBin = join(repoRoot, 'bin', 'gauge');
const fixture = join(repoRoot, 'test', 'fixtures', 'agent_target.py');
// Spans need calls that start and end while sampled: call_tree.py's handle() every 0.3 s.
const callTree = join(repoRoot, 'test', 'fixtures', 'call_tree.py');
const children = new Set<ChildProcess>();
const receivers: Receiver[] = [];
const py =
  pythonFor('3.12') ??
  findPythons()
    .filter((p) => p.mm[0] === 3)
    .at(-1);
// Variables from the machine running the tests must not leak into what is checked.
const CLEAN: Record<string, string | undefined> = Object.fromEntries(
  Object.keys(process.env)
    .filter((k) => /^(DD_|OTEL_)/.test(k))
    .map((k) => [k, undefined]),
);

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const r of receivers) await r.stop();
});

async function receiver(port = 0): Promise<Receiver> {
  const r = new Receiver();
  await r.start(port);
  receivers.push(r);
  return r;
}

/** A target that spins for `seconds`, then exits; resolves with the pid it reports. */
function target(seconds: number): Promise<number> {
  const child = spawn(py!.exe, [fixture, 'datakit-test', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    createInterface({ input: child.stdout! }).once('line', (l) => resolve((JSON.parse(l) as { pid: number }).pid));
  });
}

function gauge(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [gaugeBin, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...CLEAN, ...env, CI: 'true' },
  });
  children.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

interface Event {
  attachments: string[];
  family: string;
  start: string;
  end: string;
  tags_profiler: string;
}

/** The shape DataKit's /profiling/v1/input takes, checked; returns the event and its tags. */
function checkDatakitShape(u: Upload): { event: Event; tags: Map<string, string> } {
  assert.equal(u.path, '/profiling/v1/input');
  assert.match(String(u.headers['content-type']), /^multipart\/form-data; boundary=/);
  const ev = u.parts.find((p) => p.name === 'event');
  assert.ok(ev, 'an event part');
  assert.equal(ev.filename, 'event.json');
  const event = JSON.parse(ev.data.toString()) as Event;
  assert.equal(event.family, 'python');
  for (const t of [event.start, event.end]) assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.ok(event.attachments.length >= 1);
  for (const a of event.attachments) {
    const part = u.parts.find((p) => p.name === a);
    assert.ok(part, `attachment ${a}`);
    assert.ok((pprofCounts(part.data).byFunction.get('agent_work') ?? 0) > 0, 'the target function is in the profile');
  }
  const tags = new Map(
    event.tags_profiler.split(',').map((t) => [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)] as const),
  );
  return { event, tags };
}

const skip = py ? false : 'no CPython 3 found';

test("the DataKit page's two commands, with gauge for py-spy-for-datakit", { timeout: 180000, skip }, async () => {
  // The page's port when it is free here, else any: only the program name (and then the port) changes.
  const rx = await receiver(9529).catch(() => receiver());
  const pid = await target(6);
  const byPid = await gauge([
    'datakit',
    '--host',
    '127.0.0.1',
    '--port',
    String(rx.port),
    '--service',
    'my-app',
    '--env',
    'testing',
    '--version',
    'v0.1',
    '--duration',
    '60',
    '--pid',
    String(pid),
  ]);
  assert.equal(byPid.code, 0, byPid.stderr);
  assert.equal(rx.datakit.length, 1, 'one upload: the window flushed when the target exited');
  const first = checkDatakitShape(rx.datakit[0]!);
  assert.equal(first.tags.get('service'), 'my-app');
  assert.equal(first.tags.get('env'), 'testing');
  assert.equal(first.tags.get('version'), 'v0.1');
  assert.equal(first.tags.get('process_id'), String(pid));

  const launched = await gauge([
    'datakit',
    '--host',
    '127.0.0.1',
    '--port',
    String(rx.port),
    '--service',
    'your-service-name',
    '--env',
    'testing',
    '--version',
    'v0.1',
    '-d',
    '60',
    '--',
    py!.exe,
    fixture,
    'server',
    '6',
  ]);
  assert.equal(launched.code, 0, launched.stderr);
  assert.equal(rx.datakit.length, 2);
  const second = checkDatakitShape(rx.datakit[1]!);
  assert.equal(second.tags.get('service'), 'your-service-name');
  assert.deepEqual(rx.errors, []);
});

test(
  'datakit: short flags; py-spy-for-datakit defaults; DD_* variables fill what flags leave out',
  { timeout: 120000, skip },
  async () => {
    const rx = await receiver();
    const pid = await target(5);
    const short = await gauge([
      'datakit',
      '-H',
      '127.0.0.1',
      '-P',
      String(rx.port),
      '-S',
      's',
      '-E',
      'e',
      '-V',
      'v',
      '-d',
      '10',
      '-r',
      '50',
      '-i',
      '-p',
      String(pid),
    ]);
    assert.equal(short.code, 0, short.stderr);
    const a = checkDatakitShape(rx.datakit.at(-1)!).tags;
    assert.deepEqual([a.get('service'), a.get('env'), a.get('version')], ['s', 'e', 'v']);

    const pid2 = await target(5);
    const fromEnv = await gauge(['datakit', '-p', String(pid2)], {
      DD_TRACE_AGENT_URL: rx.url,
      DD_SERVICE: 'env-svc',
      DD_TAGS: 'team:core',
    });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const b = checkDatakitShape(rx.datakit.at(-1)!).tags;
    assert.deepEqual(
      [b.get('service'), b.get('env'), b.get('version'), b.get('team')],
      ['env-svc', 'unnamed-env', 'unnamed-version', 'core'],
    );

    const pid3 = await target(5);
    const flagWins = await gauge(['datakit', '-P', String(rx.port), '-S', 'flag-svc', '-p', String(pid3)], {
      DD_AGENT_HOST: '127.0.0.1',
      DD_TRACE_AGENT_PORT: '1',
      DD_SERVICE: 'env-svc',
    });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    assert.equal(checkDatakitShape(rx.datakit.at(-1)!).tags.get('service'), 'flag-svc');
    assert.equal(rx.datakit.length, 3);
  },
);

test('datakit: a period under 10 s and unknown flags are usage errors (exit 2, one line)', () => {
  for (const args of [['datakit', '-d', '5', '-p', '1'], ['datakit', '--interval', '10', '-p', '1'], ['datakit']]) {
    const r = spawnSync(process.execPath, [gaugeBin, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test(
  'record --jaeger posts to OTEL_EXPORTER_OTLP_ENDPOINT with its headers and OTEL_RESOURCE_ATTRIBUTES; flags win',
  { timeout: 120000, skip },
  async () => {
    const rx = await receiver();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=from-env',
      OTEL_SERVICE_NAME: 'otel-svc',
      OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=c1,deployment.environment=staging',
      DD_AGENT_HOST: '127.0.0.1',
      DD_TRACE_AGENT_PORT: String(rx.port),
      DD_SERVICE: 'dd-svc',
    };
    const r = await gauge(['record', '--jaeger', '--datakit', '--', py!.exe, callTree, '4'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(rx.spans.length > 0, `spans at OTEL_EXPORTER_OTLP_ENDPOINT\n${r.stderr}`);
    const res = rx.spans[0]!.resource;
    assert.equal(res['service.name'], 'otel-svc');
    assert.equal(res['k8s.cluster.name'], 'c1');
    assert.equal(res['deployment.environment'], 'staging');
    assert.equal(rx.traceRequests[0]!.headers['x-tenant'], 'from-env');
    assert.ok(rx.spans.some((s) => s.name === 'handle'));
    const ev = JSON.parse(
      rx.datakit
        .at(-1)!
        .parts.find((p) => p.name === 'event')!
        .data.toString(),
    ) as Event;
    assert.match(ev.tags_profiler, /(^|,)service:dd-svc(,|$)/, 'bare --datakit: DD_AGENT_HOST/DD_TRACE_AGENT_PORT');

    const rx2 = await receiver();
    const flagged = await gauge(
      [
        'record',
        '--otlp-endpoint',
        `${rx2.url}/v1/traces`,
        '--otlp-header',
        'x-tenant=from-flag',
        '--service',
        'flag-svc',
        '--env',
        'prod',
        '--',
        py!.exe,
        callTree,
        '4',
      ],
      env,
    );
    assert.equal(flagged.code, 0, flagged.stderr);
    const spansBefore = rx.spans.length;
    assert.ok(rx2.spans.length > 0, 'spans where --otlp-endpoint says');
    assert.equal(rx.spans.length, spansBefore);
    const res2 = rx2.spans[0]!.resource;
    assert.equal(res2['service.name'], 'flag-svc');
    assert.equal(res2['deployment.environment'], 'prod');
    assert.equal(res2['k8s.cluster.name'], 'c1', 'what no flag sets still comes from OTEL_RESOURCE_ATTRIBUTES');
    assert.equal(rx2.traceRequests[0]!.headers['x-tenant'], 'from-flag');
  },
);
