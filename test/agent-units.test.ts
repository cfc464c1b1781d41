/**
 * The agent's pure parts: environ picking (secrets never decoded), cgroup
 * ids, the CPU budget's steering, command-line selection, and the
 * environment conventions shared with record/top and datakit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickVariables, readVariables } from '../src/agent/environ.js';
import { parseCgroup } from '../src/agent/cgroup.js';
import { RateBudget } from '../src/agent/budget.js';
import { selected } from '../src/agent/discover.js';
import { datakitUrl, ddAgentUrlFromEnv, ddIdentity, ddTags, otlpEndpointFromEnv } from '../src/export/env-config.js';
import { datakitAddress } from '../src/cli/datakit-command.js';
import { multipart, post } from '../src/agent/agent-uploads.js';
import { Receiver } from './export-helpers.js';
import type { Server } from 'node:http';

test('environ: only the named variables come out; a value is not matched by a longer name', () => {
  const block = Buffer.from(
    'PATH=/usr/bin\0DD_SERVICE_X=wrong\0DD_SERVICE=checkout\0AWS_SECRET_ACCESS_KEY=hunter2\0OTEL_SERVICE_NAME=\0X=DD_ENV=no\0',
  );
  const got = pickVariables(block, ['DD_SERVICE', 'OTEL_SERVICE_NAME', 'DD_ENV']);
  assert.deepEqual(got, { DD_SERVICE: 'checkout', OTEL_SERVICE_NAME: '' });
  assert.ok(!JSON.stringify(got).includes('hunter2'));
});

test("environ: this process's own block, read through /proc", () => {
  const got = readVariables(process.pid, ['PATH', 'NO_SUCH_VARIABLE_HERE']);
  assert.equal(got.PATH, process.env.PATH);
  assert.equal('NO_SUCH_VARIABLE_HERE' in got, false);
  assert.deepEqual(readVariables(0x7ffffff0, ['PATH']), {});
});

test('cgroup: docker, containerd under kubepods (v1 and v2), cri-o, and a host process', () => {
  const id = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);
  assert.equal(id.length, 64);
  assert.deepEqual(parseCgroup(`0::/system.slice/docker-${id}.scope\n`), { containerId: id });
  assert.deepEqual(
    parseCgroup(
      `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_4a7b_8c9d_0e1f2a3b4c5d.slice/cri-containerd-${id}.scope\n`,
    ),
    { containerId: id, podUid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' },
  );
  assert.deepEqual(
    parseCgroup(
      `12:cpu,cpuacct:/kubepods/besteffort/pod1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/${id}\n1:name=systemd:/\n`,
    ),
    { containerId: id, podUid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' },
  );
  assert.deepEqual(parseCgroup(`0::/kubepods.slice/crio-${id}.scope`), { containerId: id });
  assert.deepEqual(parseCgroup('0::/user.slice/user-1000.slice/session-2.scope\n'), {});
});

/** CPU a second of the agent costs: a fixed part plus a cost per process sample. */
function simulate(b: RateBudget, processes: number, fixed: number, perSample: number, periods = 30): number[] {
  let rate = b.initial(processes);
  const rates: number[] = [];
  for (let i = 0; i < periods; i++) {
    const cpuS = 5 * (fixed + processes * rate * perSample);
    rate = b.next({ cpuS, wallS: 5, rateHz: rate, processes });
    rates.push(rate);
  }
  return rates;
}

test('budget: converges within --max-cpu for 20 and 300 processes, and keeps --rate when there is room', () => {
  const opts = { maxCpu: 0.01, maxRateHz: 19, minRateHz: 0.1 };
  for (const n of [20, 300]) {
    const b = new RateBudget(opts);
    const rate = simulate(b, n, 0.001, 120e-6).at(-1)!;
    const cpu = 0.001 + n * rate * 120e-6;
    assert.ok(cpu <= 0.01, `${n} processes: ${(cpu * 100).toFixed(2)} % at ${rate} Hz`);
    assert.ok(cpu >= 0.005, `${n} processes: the budget is used, not wasted (${(cpu * 100).toFixed(2)} %)`);
  }
  assert.equal(simulate(new RateBudget(opts), 2, 0.0005, 100e-6).at(-1), 19);
  // A fixed cost above the budget: the floor, and it says so.
  const b = new RateBudget(opts);
  const r = simulate(b, 10, 0.02, 100e-6).at(-1)!;
  assert.equal(r, 0.1);
  assert.equal(b.overBudget(r), true);
});

test('budget: a process count that grows tenfold is followed down', () => {
  const b = new RateBudget({ maxCpu: 0.01, maxRateHz: 19, minRateHz: 0.1 });
  let rate = simulate(b, 5, 0.001, 100e-6).at(-1)!;
  for (let i = 0; i < 10; i++)
    rate = b.next({ cpuS: 5 * (0.001 + 50 * rate * 100e-6), wallS: 5, rateHz: rate, processes: 50 });
  assert.ok(0.001 + 50 * rate * 100e-6 <= 0.01);
});

test('--match/--exclude select command lines', () => {
  const o = { match: [/gunicorn|celery/], exclude: [/celery beat/] };
  assert.equal(selected('python -m gunicorn app:app', o), true);
  assert.equal(selected('python -m celery worker', o), true);
  assert.equal(selected('python -m celery beat', o), false);
  assert.equal(selected('python manage.py runserver', o), false);
  assert.equal(selected('python anything.py', { match: [], exclude: [] }), true);
});

test('environment: OTLP endpoint, Datadog agent address, DD_TAGS, identities', () => {
  assert.equal(otlpEndpointFromEnv({}), undefined);
  assert.equal(otlpEndpointFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'http://c:4318/v1/traces');
  assert.equal(
    otlpEndpointFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x',
    }),
    'http://t/x',
  );
  assert.equal(ddAgentUrlFromEnv({}), undefined);
  assert.equal(ddAgentUrlFromEnv({ DD_AGENT_HOST: '10.0.0.5' }), 'http://10.0.0.5:9529');
  assert.equal(ddAgentUrlFromEnv({ DD_AGENT_HOST: 'h', DD_TRACE_AGENT_PORT: '8126' }), 'http://h:8126');
  assert.equal(ddAgentUrlFromEnv({ DD_TRACE_AGENT_URL: 'http://u:1', DD_AGENT_HOST: 'h' }), 'http://u:1');
  assert.equal(datakitUrl({}), 'http://127.0.0.1:9529');
  assert.deepEqual(ddTags({ DD_TAGS: 'team:core,region:eu-west-1 bad,also:ok ' }), {
    team: 'core',
    region: 'eu-west-1',
    also: 'ok',
  });
  assert.deepEqual(ddIdentity({ OTEL_SERVICE_NAME: 'o', DD_ENV: 'prod' }), {
    service: 'o',
    env: 'prod',
    version: undefined,
  });
  assert.equal(ddIdentity({ OTEL_SERVICE_NAME: 'o', DD_SERVICE: 'd' }).service, 'd');
});

test('datakit: -H/-P win over DD_* variables, which win over 127.0.0.1:9529', () => {
  assert.equal(datakitAddress({}, {}), 'http://127.0.0.1:9529');
  assert.equal(datakitAddress({}, { DD_TRACE_AGENT_URL: 'http://dk:9529' }), 'http://dk:9529');
  assert.equal(datakitAddress({ host: 'h' }, { DD_TRACE_AGENT_URL: 'http://dk:9529' }), 'http://h:9529');
  assert.equal(datakitAddress({ port: 1 }, { DD_AGENT_HOST: 'a', DD_TRACE_AGENT_PORT: '2' }), 'http://a:1');
});

test('agent transport: the multipart parts a receiver parses, one kept-alive connection, an upload after the server dropped idle connections', async () => {
  const rx = new Receiver();
  await rx.start();
  const sockets = new Set<unknown>();
  (rx as unknown as { server: Server }).server.on('connection', (s) => sockets.add(s));
  try {
    const pprof = Buffer.from([0x1f, 0x8b, 0, 1, 2, 3, 0xff]);
    const m = multipart([
      { name: 'event', filename: 'event.json', type: 'application/json', data: '{"family":"python"}' },
      { name: 'auto.pprof', filename: 'auto.pprof', type: 'application/octet-stream', data: pprof },
    ]);
    await post('datakit', `${rx.url}/profiling/v1/input`, m.body, m.contentType);
    await post('datakit', `${rx.url}/profiling/v1/input`, m.body, m.contentType);
    assert.equal(rx.datakit.length, 2);
    const parts = rx.datakit[0]!.parts;
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.contentType]),
      [
        ['event', 'event.json', 'application/json'],
        ['auto.pprof', 'auto.pprof', 'application/octet-stream'],
      ],
    );
    assert.equal(parts[0]!.data.toString(), '{"family":"python"}');
    assert.deepEqual(parts[1]!.data, pprof);
    assert.equal(sockets.size, 1, 'uploads share a kept-alive connection');
    // The server drops its idle connections (as its keep-alive timeout does): the next upload still succeeds.
    (rx as unknown as { server: Server }).server.closeIdleConnections();
    await post('datakit', `${rx.url}/profiling/v1/input`, m.body, m.contentType);
    assert.equal(rx.datakit.length, 3);
    await assert.rejects(post('datakit', `${rx.url}/elsewhere`, m.body, m.contentType), /datakit: HTTP 400/);
  } finally {
    await rx.stop();
  }
});
