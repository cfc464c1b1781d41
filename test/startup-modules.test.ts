/**
 * Start-up (issue 13): a command loads only what it runs. Each gauge run
 * here goes through `node --import` of a resolve hook that logs every module
 * URL the loader resolves (helpers/module-log.ts), so the check is on what
 * was really loaded: a headless `record` into a file and a `dump` load
 * neither Ink/React nor the OpenTelemetry SDK nor the exporters, and
 * `--help` loads no sampling code at all. The OTLP run is the control that
 * the log does show those modules when they are used.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findPythons, type Python } from './helpers/pythons.js';
import { startFixture } from './helpers/fixture.js';
import { Receiver, repoRoot } from './export-helpers.js';

const gaugeBin = join(repoRoot, 'bin', 'gauge');
const register = pathToFileURL(join(repoRoot, 'dist', 'test', 'helpers', 'module-log-register.js')).href;
const work = mkdtempSync(join(tmpdir(), 'gauge-startup-modules-'));
const children = new Set<ChildProcess>();
const rx = new Receiver();

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rx.stop();
  rmSync(work, { recursive: true, force: true });
});

/** What no headless run may load: the TUI, the OpenTelemetry SDK, the exporters, the agent, top's own code. */
const NEVER_HEADLESS: [string, RegExp][] = [
  ['ink', /\/node_modules\/ink\//],
  ['react', /\/node_modules\/react\//],
  ['the OpenTelemetry SDK', /\/node_modules\/@opentelemetry\//],
  ['the TUI', /\/dist\/src\/tui\//],
  ['the exporters', /\/dist\/src\/export\/(pipeline|otlp|uploads)\.js$/],
  ['the agent', /\/dist\/src\/agent\//],
  ["top's run module", /\/dist\/src\/cli\/top\.js$/],
];

function python(): Python {
  const p = findPythons()
    .filter((x) => x.mm[0] === 3 && !x.freeThreaded)
    .at(-1);
  if (!p) throw new Error('no CPython 3 interpreter found: set GAUGE_TEST_PYTHONS or install one');
  return p;
}

let runs = 0;

/** Runs gauge with the module log on; returns its exit code, stderr and every module URL it resolved. */
function gauge(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const log = join(work, `modules-${++runs}.txt`);
  const child = spawn(process.execPath, ['--import', register, gaugeBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GAUGE_MODULE_LOG: log },
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Generous for a loaded 2-core machine; a run that hangs fails the test instead of holding the suite.
  const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      const modules = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      resolve({ code, stdout, stderr, modules });
    });
  });
}

function loaded(modules: string[], re: RegExp): string[] {
  return modules.filter((m) => re.test(m));
}

function assertNone(modules: string[], rules: [string, RegExp][], what: string): void {
  for (const [name, re] of rules) {
    assert.deepEqual(loaded(modules, re), [], `${what} loaded ${name}`);
  }
}

let target: number | undefined;
async function targetPid(): Promise<number> {
  if (target === undefined) {
    const { child } = await startFixture(python(), 'idle_threads.py', { children });
    target = child.pid!;
  }
  return target;
}

test('record --help loads the declarations only: no sampling, reader or exporter code', async () => {
  const r = await gauge(['record', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /--output/);
  // The log works: the CLI's own modules are in it.
  assert.ok(loaded(r.modules, /\/dist\/src\/cli\/record-command\.js$/).length, r.modules.join('\n'));
  assertNone(
    r.modules,
    [
      ...NEVER_HEADLESS,
      ["record's run module", /\/dist\/src\/cli\/record\.js$/],
      ['the sampler', /\/dist\/src\/sampling\//],
      ['the native reader', /\/dist\/src\/reader\/native\.js$|\/node_modules\/koffi\//],
      ['pprof-format', /\/node_modules\/pprof-format\//],
    ],
    'record --help',
  );
});

test('a headless record into a file loads no TUI, no OpenTelemetry SDK, no exporter', async () => {
  const pid = await targetPid();
  const out = join(work, 'run.folded');
  const r = await gauge(['record', '--pid', String(pid), '--rate', '100', '-d', '0.5', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(statSync(out).size > 0, 'the profile was written');
  assert.ok(loaded(r.modules, /\/dist\/src\/cli\/record\.js$/).length, r.modules.join('\n'));
  assert.ok(loaded(r.modules, /\/dist\/src\/sampling\/session\.js$/).length, r.modules.join('\n'));
  assertNone(r.modules, NEVER_HEADLESS, 'record -o FILE');
});

test('dump loads no TUI, no OpenTelemetry SDK, no exporter and not record', async () => {
  const pid = await targetPid();
  const r = await gauge(['dump', '--pid', String(pid)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Thread/);
  assert.ok(loaded(r.modules, /\/dist\/src\/cli\/dump\.js$/).length, r.modules.join('\n'));
  assertNone(
    r.modules,
    [
      ...NEVER_HEADLESS,
      ["record's run module", /\/dist\/src\/cli\/record\.js$/],
      ['the profile writer', /\/dist\/src\/export\/profile-recorder\.js$/],
    ],
    'dump',
  );
});

test('control: record with an OTLP endpoint does load the exporters and the OpenTelemetry SDK (still no TUI)', async () => {
  await rx.start();
  // call_tree.py calls handle() every ~0.3 s: activations that begin and end while gauge watches, hence spans.
  const { child } = await startFixture(python(), 'call_tree.py', { children, args: ['0'] });
  const pid = child.pid!;
  const r = await gauge([
    'record',
    '--pid',
    String(pid),
    '--rate',
    '100',
    '-d',
    '1',
    '--otlp-endpoint',
    `${rx.url}/v1/traces`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(rx.spans.length > 0, `the receiver got spans: ${r.stderr}`);
  assert.ok(loaded(r.modules, /\/dist\/src\/export\/pipeline\.js$/).length, 'pipeline.js in the log');
  assert.ok(
    loaded(r.modules, /\/node_modules\/@opentelemetry\/exporter-trace-otlp-proto\//).length,
    'the SDK in the log',
  );
  assertNone(r.modules, NEVER_HEADLESS.slice(0, 2), 'record --otlp-endpoint');
});
