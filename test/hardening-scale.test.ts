/**
 * Scale: 1,000 threads, a 5,000-deep recursion (cut at the depth cap, and the
 * cut shown), and 100,000 distinct functions (gauge's frame table and memory
 * stay bounded; figures are logged).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SamplingSession } from '../src/sampling/session.js';
import type { DumpJson } from '../src/cli/dump.js';
import { pythonsOrSkip, requirePythons, type Python } from './helpers/pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const gaugeBin = join(root, 'bin', 'gauge');
const fixture = join(root, 'test', 'fixtures', 'hard_scale.py');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
const newest = requirePythons()
  .filter((p) => p.mm[0] === 3)
  .at(-1)!;
// Threads and depth are read differently by old (2.7, <=3.10 frame objects) and new interpreters.
const older = pythonsOrSkip(['2.7', '3.10']);
const spread = [...older.flatMap((o) => (o.py ? [o.py] : [])), newest].filter(
  (p, i, a) => a.findIndex((q) => q.exe === p.exe) === i,
);
/** A missing interpreter of the spread is a skipped test, counted by the runner. */
function skipMissing(title: string): void {
  for (const o of older) if (o.skip) test(`${o.wanted}: ${title}`, { skip: o.skip }, () => undefined);
}
skipMissing('1,000 threads are all dumped and sampled');
skipMissing('a 5,000-deep recursion is cut at the depth cap and the cut is shown');

async function start(py: Python, args: string[]): Promise<{ c: ChildProcess; ready: number[] }> {
  const c = spawn(py.exe, [fixture, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(c);
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`fixture not ready: ${buf}`)), 120000);
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /ready[^\n]*\n/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture exited (${code}): ${buf}`));
    });
  });
  return { c, ready: line.trim().split(' ').slice(1).map(Number) };
}

function dump(pid: number, extra: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [gaugeBin, 'dump', '--pid', String(pid), ...extra], {
    encoding: 'utf8',
    timeout: 60000,
    maxBuffer: 256 << 20,
    env: { ...process.env, CI: 'true' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function frameName(session: SamplingSession, id: number): string {
  return session.frames.get(id).name;
}

for (const py of spread)
  test(`${py.label}: 1,000 threads are all dumped and sampled`, async () => {
    const { c, ready } = await start(py, ['threads', '1000']);
    const total = ready[0]!;
    assert.ok(total >= 1001);
    const r = dump(c.pid!, ['--json']);
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout) as DumpJson;
    assert.equal(d.threads.length, total);
    assert.equal(d.threads.filter((t) => t.frames.some((f) => f.name === 'parked_thread')).length, 1000);
    const text = dump(c.pid!);
    assert.equal(text.status, 0, text.stderr);
    assert.equal(text.stdout.match(/^Thread /gm)?.length, total);

    const session = new SamplingSession(c.pid!, { rateHz: 100 });
    let full = 0;
    let samples = 0;
    session.onSamples((b) => {
      for (const s of b) {
        samples++;
        if (
          s.threads.length === total &&
          s.threads.filter((t) => t.frames.some((id) => frameName(session, id) === 'parked_thread')).length === 1000
        )
          full++;
      }
    });
    session.start();
    await new Promise((res) => setTimeout(res, 2000));
    const st = session.stats();
    session.stop();
    console.log(
      `# ${py.label} 1000 threads: ${st.taken} samples, ${samples} delivered, ${full} with all ${total} threads, ${st.errors} errors, ${st.late} late, ${st.dropped} dropped`,
    );
    assert.ok(full > 0, 'no sample had every thread');
    assert.ok(samples >= full);
    c.kill('SIGKILL');
  });

for (const py of spread)
  test(`${py.label}: a 5,000-deep recursion is cut at the depth cap and the cut is shown`, async () => {
    const { c, ready } = await start(py, ['deep', '5000']);
    const depth = ready[0]!; // frames the target itself counts (5,000 + thread bootstrap)
    assert.ok(depth >= 5000);
    const pid = c.pid!;
    const deepThread = (d: DumpJson): DumpJson['threads'][number] =>
      d.threads.find((t) => t.frames.some((f) => f.name === 'deep_frame'))!;

    const cut = dump(pid, ['--json']); // default cap 2048
    assert.equal(cut.status, 0, cut.stderr);
    const t = deepThread(JSON.parse(cut.stdout) as DumpJson);
    assert.equal(t.truncated, true);
    assert.equal(t.frames.length, 2048);
    assert.equal(t.frames[0]!.name, 'deep_frame', 'the innermost frames are the ones kept');

    const text = dump(pid);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /deeper frames cut at the depth limit/);

    const full = dump(pid, ['--json', '--max-depth', '10000']);
    assert.equal(full.status, 0, full.stderr);
    const ft = deepThread(JSON.parse(full.stdout) as DumpJson);
    assert.equal(ft.truncated, false);
    assert.equal(ft.frames.length, depth, 'every frame the target counts, no more');
    assert.equal(ft.frames.filter((f) => f.name === 'deep_frame').length, 5000);

    const session = new SamplingSession(pid, { rateHz: 100, maxDepth: 1000 });
    let truncated = 0;
    let maxLen = 0;
    session.onSamples((b) => {
      for (const s of b)
        for (const th of s.threads) {
          if (th.truncated) truncated++;
          maxLen = Math.max(maxLen, th.frames.length);
        }
    });
    session.start();
    await new Promise((res) => setTimeout(res, 1000));
    session.stop();
    assert.ok(truncated > 0, 'sampling never flagged the cut');
    assert.equal(maxLen, 1000);
    c.kill('SIGKILL');
  });

test(`${newest.label}: 100,000 distinct functions keep gauge's memory bounded`, async () => {
  const { c, ready } = await start(newest, ['code', '100000']);
  const [nfuncs, codeBytes] = ready as [number, number];
  const session = new SamplingSession(c.pid!, { rateHz: 1000 });
  const names = new Set<string>();
  let samples = 0;
  session.onSamples((b) => {
    for (const s of b) {
      samples++;
      for (const th of s.threads) for (const id of th.frames) names.add(frameName(session, id));
    }
  });
  const rss0 = process.memoryUsage().rss;
  session.start();
  await new Promise((res) => setTimeout(res, 8000));
  const st = session.stats();
  const rss1 = process.memoryUsage().rss;
  session.stop();
  const growMb = (rss1 - rss0) / 1048576;
  const targetRss =
    Number(/VmRSS:\s+(\d+)/.exec(spawnSync('cat', [`/proc/${c.pid}/status`], { encoding: 'utf8' }).stdout)?.[1] ?? 0) /
    1024;
  console.log(
    `# ${nfuncs} functions (${(codeBytes / 1048576).toFixed(1)} MB bytecode, target RSS ${targetRss.toFixed(0)} MB): ${st.taken} samples, ` +
      `${samples} delivered, ${names.size} distinct functions seen, ${session.frames.size} frames interned, ${st.errors} errors; gauge RSS +${growMb.toFixed(1)} MB ` +
      `(${((rss1 - rss0) / Math.max(1, session.frames.size)).toFixed(0)} B per frame)`,
  );
  assert.ok(names.size > 5000, `only ${names.size} distinct functions seen`);
  // Memory grows with what was seen (strings once per frame), not with samples or the target's size:
  // measured about 9 MB for the session's buffers plus under 1 KiB per interned frame.
  const bound = 16 * 1048576 + session.frames.size * 1280;
  assert.ok(rss1 - rss0 < bound, `gauge grew by ${growMb.toFixed(1)} MB, bound ${(bound / 1048576).toFixed(1)} MB`);
  c.kill('SIGKILL');
});
