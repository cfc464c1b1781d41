/**
 * `gauge agent` end to end on this machine: six Python processes of
 * different versions, each naming its service its own way (DD_SERVICE,
 * OTEL_SERVICE_NAME, or nothing: the script's name), two started after the
 * agent and one exiting midway, plus a non-Python process whose command line
 * matches too. For 40 s with a 10 s interval the agent uploads to local
 * DataKit and Pyroscope receivers; every fact checked comes from the targets
 * (their pid, their own variables, their Python version, their exit time).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pythonFor, type Python } from './helpers/pythons.js';
import { Receiver, pprofCounts, repoRoot, type Upload } from './export-helpers.js';

const gaugeBin = join(repoRoot, 'bin', 'gauge');
const fixture = join(repoRoot, 'test', 'fixtures', 'agent_target.py');
const TOKEN = `gauge-agent-test-${process.pid}`;
const SECRET = `s3cret-${process.pid}-do-not-leak`;
const children = new Set<ChildProcess>();
const rx = new Receiver();

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rx.stop();
});

const PREFERRED = ['3.12', '2.7', '3.8', '3.11', '3.13', '3.14', '3.15', '3.10', '3.9', '3.7', '3.13t'];
const six: Python[] = [];
for (const w of PREFERRED) {
  const p = pythonFor(w);
  if (p && six.length < 6) six.push(p);
}

interface Target {
  py: Python;
  env: Record<string, string>;
  service: string;
  lifetime: number;
  child?: ChildProcess;
  truth?: { pid: number; version: string };
  exitMs?: number;
}

/** Waits for a condition, polling; fails with what it was waiting for. */
async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startTarget(t: Target): Promise<void> {
  const child = spawn(t.py.exe, [fixture, TOKEN, String(t.lifetime)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...t.env, GAUGE_TEST_SECRET: SECRET },
  });
  children.add(child);
  t.child = child;
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const j = JSON.parse(line) as { pid?: number; version?: string; exit_ms?: number };
      if (j.pid) {
        t.truth = { pid: j.pid, version: j.version! };
        resolve();
      }
      if (j.exit_ms) t.exitMs = j.exit_ms;
    });
  });
}

function tagsOf(u: Upload): Map<string, string> {
  const event = JSON.parse(u.parts.find((p) => p.name === 'event')!.data.toString()) as { tags_profiler: string };
  return new Map(
    event.tags_profiler.split(',').map((t) => [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)] as const),
  );
}

test(
  'agent: six Pythons (two started later, one exiting midway) and a non-Python process → per-process DataKit and Pyroscope profiles with the right tags',
  { timeout: 240000, skip: six.length < 6 ? `only ${six.length} CPython versions found here; six are needed` : false },
  async () => {
    await rx.start();
    const targets: Target[] = six.map((py, i) => {
      const env: Record<string, string> =
        i % 3 === 0 ? { DD_SERVICE: `dd-svc-${i}` } : i % 3 === 1 ? { OTEL_SERVICE_NAME: `otel-svc-${i}` } : {};
      if (i === 0) env.DD_ENV = 'own-env';
      return {
        py,
        env,
        service: env.DD_SERVICE ?? env.OTEL_SERVICE_NAME ?? 'agent_target',
        // The third one exits midway, after about 15 s of the 40.
        lifetime: i === 2 ? 15 : 0,
      };
    });
    const early = targets.slice(0, 4);
    const late = targets.slice(4);
    await Promise.all(early.map(startTarget));
    const other = spawn('bash', ['-c', 'while :; do sleep 0.2; done', TOKEN], { stdio: 'ignore' });
    children.add(other);

    const agent = spawn(
      process.execPath,
      [
        gaugeBin,
        'agent',
        '--pyroscope',
        rx.url,
        '--datakit',
        rx.url,
        '--upload-interval',
        '10',
        '--duration',
        '40',
        '--match',
        TOKEN,
        '--env',
        'fleet',
        '--status-interval',
        '10',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } },
    );
    children.add(agent);
    let stderr = '';
    agent.stderr!.setEncoding('utf8');
    agent.stderr!.on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => agent.on('exit', (code) => r(code)));
    const watching = (t: Target): boolean => stderr.includes(`watching pid ${t.truth!.pid}:`);

    await until('the agent to watch the first four', () => early.every(watching), 60000);
    await Promise.all(late.map(startTarget));
    await until('the agent to watch the two started later', () => late.every(watching), 30000);
    const code = await exited;
    assert.equal(code, 0, stderr);
    assert.ok(!stderr.includes(SECRET), 'the agent never prints a variable it was not asked for');
    assert.ok(!stderr.includes(`watching pid ${other.pid}:`), 'the non-Python process is not watched');

    const leaving = targets[2]!;
    assert.ok(leaving.exitMs, 'the exiting target reported its exit');
    for (const t of targets) {
      const pid = String(t.truth!.pid);
      const dk = rx.datakit.filter((u) => tagsOf(u).get('process_id') === pid);
      assert.ok(dk.length >= 1, `DataKit profiles for ${t.py.label} (pid ${pid}): ${dk.length}\n${stderr}`);
      let work = 0;
      for (const u of dk) {
        const tags = tagsOf(u);
        assert.equal(tags.get('service'), t.service, `service of pid ${pid}`);
        assert.equal(tags.get('env'), t.env.DD_ENV ?? 'fleet', `env of pid ${pid}`);
        assert.equal(tags.get('runtime_version'), t.truth!.version);
        assert.ok(tags.get('host'));
        const pprof = u.parts.find((p) => p.name === 'auto.pprof')!;
        work += pprofCounts(pprof.data).byFunction.get('agent_work') ?? 0;
      }
      assert.ok(work > 0, `pid ${pid}: agent_work is in its profiles`);
      const py = rx.pyroscope.filter((u) => (u.query.get('name') ?? '').includes(`pid=${pid}`));
      assert.ok(py.length >= 1, `Pyroscope profiles for pid ${pid}`);
      for (const u of py) assert.ok(u.query.get('name')!.startsWith(`${t.service}{`), u.query.get('name')!);
    }
    // The early long-lived ones were watched for the whole 40 s: one profile per 10 s interval.
    for (const t of [targets[0]!, targets[1]!, targets[3]!]) {
      const n = rx.datakit.filter((u) => tagsOf(u).get('process_id') === String(t.truth!.pid)).length;
      assert.ok(n >= 3 && n <= 5, `pid ${t.truth!.pid}: ${n} DataKit profiles in 40 s at 10 s each`);
    }
    // The exited process's last window arrived: one ends at or after its own exit time.
    const lastEnd = Math.max(
      ...rx.datakit
        .filter((u) => tagsOf(u).get('process_id') === String(leaving.truth!.pid))
        .map((u) =>
          Date.parse((JSON.parse(u.parts.find((p) => p.name === 'event')!.data.toString()) as { end: string }).end),
        ),
    );
    assert.ok(lastEnd >= leaving.exitMs! - 1000, `last window ends ${lastEnd - leaving.exitMs!} ms after its exit`);
    assert.match(stderr, new RegExp(`pid ${leaving.truth!.pid} exited; its last profile flushed`));
    // Nothing for the non-Python process, and no secret anywhere in what was sent.
    assert.ok(!rx.datakit.some((u) => tagsOf(u).get('process_id') === String(other.pid)));
    for (const u of [...rx.datakit, ...rx.pyroscope]) {
      assert.ok(!u.query.toString().includes(SECRET));
      for (const p of u.parts) assert.ok(!p.data.toString('latin1').includes(SECRET));
    }
    assert.deepEqual(rx.errors, []);
  },
);
