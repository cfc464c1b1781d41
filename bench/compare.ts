/**
 * gauge against its peers in one run, on the reference load (bench/loads/deep.py,
 * 8 threads × 50 frames): the CPU cost of one full sample (every thread's
 * stack) on each CPython, and the CPU seconds of a 100 Hz recording. Rounds
 * interleave the tools so a change in machine load hits them alike; ratios are
 * taken per round and reported as median (min–max).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Python } from '../test/helpers/pythons.js';
import { fmt, Load, packageRoot, spread } from './lib.js';
import {
  austinCmd,
  austinCounts,
  austinWhy,
  lastLine,
  measured,
  tachyonCmd,
  tachyonCounts,
  tachyonEnv,
  type Austin,
  type Found,
} from './peers.js';
import { recordShape, runHeadless, timeSnapshots } from './snapshots.js';

export interface PeerMode {
  /** Seconds each tool samples flat out per round. */
  seconds: number;
  rounds: number;
  /** Snapshots per gauge reader run. */
  snapCount: number;
  /** The 100 Hz recording: long and short durations (steady state = their difference), repetitions. */
  recordSeconds: number;
  recordShortSeconds: number;
  recordReps: number;
}

export const PEERS_QUICK: PeerMode = {
  seconds: 3,
  rounds: 3,
  snapCount: 300,
  recordSeconds: 10,
  recordShortSeconds: 2,
  recordReps: 3,
};
export const PEERS_FULL: PeerMode = {
  seconds: 5,
  rounds: 5,
  snapCount: 500,
  recordSeconds: 10,
  recordShortSeconds: 2,
  recordReps: 5,
};

/** Where the bench keeps its temporary files and its own bytecode cache for Tachyon. */
export interface Peers {
  austin: Found<Austin>;
  /** Runs bench/rusage.py. */
  runner: Python;
  pycache: string;
}

/** One peer on one target: µs of CPU per full sample per round, or why it could not be measured. */
export interface PeerCost {
  us: number[];
  /** Full samples per second achieved (wall). */
  hz: number[];
  /** Share of samples the peer itself reports invalid, %. */
  errPct: number[];
  /** Start-up and teardown CPU subtracted from every run (s). */
  fixed: number;
  why?: string;
}

export interface CostRow {
  py: Python;
  threads: number;
  frames: number;
  /** gauge reader, thread CPU/state on (as sampling runs it), CPU µs per sample, per round. */
  reader: number[];
  /** the same, stacks only. */
  bare: number[];
  /** headless session flat out: process CPU µs per tick, and ticks per second. */
  session: number[];
  sessionHz: number[];
  austin?: PeerCost;
  tachyon?: PeerCost;
  error?: string;
}

const log = (m: string) => process.stdout.write(m + '\n');

function peerCost(fixed: number): PeerCost {
  return { us: [], hz: [], errPct: [], fixed };
}

/** Least CPU of a few near-idle runs (1 s, one sample a second), the first discarded as warm-up. */
async function fixedCost(run: () => Promise<number>): Promise<number> {
  await run();
  return Math.min(await run(), await run());
}

/** Cost per full sample of gauge, Austin and Tachyon on one interpreter. */
export async function measureCosts(py: Python, tachyon: Found<Python>, peers: Peers, mode: PeerMode): Promise<CostRow> {
  const row: CostRow = { py, threads: 0, frames: 0, reader: [], bare: [], session: [], sessionHz: [] };
  const load = new Load(py.exe, 'deep.py', ['8', '50']);
  try {
    await load.start();
    const pid = load.pid;
    const a = peers.austin;
    if (a.ok) {
      const fixed = await fixedCost(
        async () => (await measured(peers.runner, austinCmd(a.value, pid, '1s', 1, '/dev/null'))).cpu,
      );
      row.austin = peerCost(fixed);
    }
    const tEnv = tachyonEnv(peers.pycache);
    const tdir = mkdtempSync(join(tmpdir(), 'gauge-tachyon-'));
    if (tachyon.ok) {
      const fixed = await fixedCost(
        async () =>
          (await measured(peers.runner, tachyonCmd(tachyon.value, pid, '1', 1, join(tdir, 'fixed.collapsed')), tEnv))
            .cpu,
      );
      row.tachyon = peerCost(fixed);
    } else row.tachyon = { ...peerCost(0), why: tachyon.why };
    try {
      for (let r = 0; r < mode.rounds; r++) {
        const full = await timeSnapshots(pid, 1, mode.snapCount, true);
        full.t.close();
        const bare = await timeSnapshots(pid, 1, mode.snapCount, false);
        bare.t.close();
        row.reader.push(full.cpuRuns[0]!);
        row.bare.push(bare.cpuRuns[0]!);
        if (!row.threads) ({ threads: row.threads, frames: row.frames } = recordShape(full.buf));
        const [w] = runHeadless(pid, [20000], mode.seconds, 1, 400);
        if (w && w.achievedHz > 0) {
          row.session.push((w.cpuPct / 100 / w.achievedHz) * 1e6);
          row.sessionHz.push(w.achievedHz);
        }
        if (a.ok && row.austin && !row.austin.why) {
          const u = await measured(peers.runner, austinCmd(a.value, pid, '1', mode.seconds, '/dev/null'));
          const c = austinCounts(u.output);
          if (u.status !== 0 || !c) row.austin.why = `exit ${u.status}: ${austinWhy(u.output)}`;
          else if (c.errors === c.samples)
            row.austin.why = `every sample invalid (${c.errors}/${c.samples} thread samples)`;
          else {
            const fullSamples = c.samples / row.threads;
            row.austin.us.push(((u.cpu - row.austin.fixed) / fullSamples) * 1e6);
            row.austin.hz.push(fullSamples / mode.seconds);
            row.austin.errPct.push((c.errors / c.samples) * 100);
          }
        }
        if (tachyon.ok && row.tachyon && !row.tachyon.why) {
          const u = await measured(
            peers.runner,
            tachyonCmd(tachyon.value, pid, '20k', mode.seconds, join(tdir, 'out.collapsed')),
            tEnv,
          );
          const c = tachyonCounts(u.output);
          if (u.status !== 0 || !c || !c.samples) row.tachyon.why = `exit ${u.status}: ${lastLine(u.output)}`;
          else {
            row.tachyon.us.push(((u.cpu - row.tachyon.fixed) / c.samples) * 1e6);
            row.tachyon.hz.push(c.samples / c.seconds);
            row.tachyon.errPct.push(c.errorPct);
          }
        }
        log(
          `  round ${r + 1}: gauge reader ${row.reader.at(-1)!.toFixed(1)} µs (stacks only ${row.bare.at(-1)!.toFixed(1)}), session ${row.session.at(-1)?.toFixed(1)} µs/tick` +
            (row.austin
              ? `, Austin ${row.austin.why ? row.austin.why : row.austin.us.at(-1)?.toFixed(1) + ' µs'}`
              : '') +
            (tachyon.ok
              ? `, Tachyon ${row.tachyon?.why ? row.tachyon.why : row.tachyon?.us.at(-1)?.toFixed(1) + ' µs'}`
              : ''),
        );
      }
    } finally {
      rmSync(tdir, { recursive: true, force: true });
    }
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
    log(`  error: ${row.error}`);
  } finally {
    load.stop();
  }
  return row;
}

/** One tool's 100 Hz recording: CPU seconds of the long run (start-up included) and steady state per 10 s. */
export interface RecordCost {
  tool: string;
  long: number[];
  steady: number[];
  /** Samples the tool reports for the long run, when it does. */
  samples: number[];
  why?: string;
}

export interface RecordRow {
  py: Python;
  tools: RecordCost[];
  error?: string;
}

type ToolRun = (
  pid: number,
  seconds: number,
  dir: string,
) => { cmd: string[]; env?: NodeJS.ProcessEnv; samples: (output: string, dir: string) => number | undefined };

/** The 100 Hz command of each tool, the same length, on the same load. */
export function recordTools(peers: Peers, tachyon: Found<Python>, withAustin: boolean): Map<string, ToolRun> {
  const tools = new Map<string, ToolRun>();
  const bin = join(packageRoot(), 'bin', 'gauge');
  tools.set('gauge record --rate 100', (pid, s, dir) => ({
    cmd: [
      process.execPath,
      bin,
      'record',
      '--pid',
      String(pid),
      '--rate',
      '100',
      '--duration',
      String(s),
      '-o',
      join(dir, 'gauge.folded'),
    ],
    samples: (out) => {
      const m = /(\d+) samples/.exec(out);
      return m ? Number(m[1]) : undefined;
    },
  }));
  const a = peers.austin;
  if (withAustin && a.ok)
    tools.set('austin -i 10ms', (pid, s, dir) => ({
      cmd: austinCmd(a.value, pid, '10ms', s, join(dir, 'austin.txt')),
      // Austin counts thread samples; full samples = lines of its output / threads seen in it.
      samples: (_out, d) => austinFullSamples(join(d, 'austin.txt')),
    }));
  if (tachyon.ok)
    tools.set('tachyon -a -r 100', (pid, s, dir) => ({
      cmd: tachyonCmd(tachyon.value, pid, '100', s, join(dir, 'tachyon.collapsed')),
      env: tachyonEnv(peers.pycache),
      samples: (out) => tachyonCounts(out)?.samples,
    }));
  return tools;
}

/** Full samples in Austin's text output: sample lines ("P<pid>;T<iid>:<tid>;…") over distinct threads. */
function austinFullSamples(file: string): number | undefined {
  let lines = 0;
  const threads = new Set<string>();
  try {
    for (const l of readFileSync(file, 'utf8').split('\n')) {
      const m = /^P\d+;(T[^;]+);/.exec(l);
      if (!m) continue;
      lines++;
      threads.add(m[1]!);
    }
  } catch {
    return undefined; // no output file: the count is left out, the CPU time still stands
  }
  return threads.size ? lines / threads.size : undefined;
}

/** CPU seconds of each tool recording the reference load at 100 Hz, interleaved, repeated. */
export async function measureRecord(
  py: Python,
  tools: Map<string, ToolRun>,
  peers: Peers,
  mode: PeerMode,
): Promise<RecordRow> {
  const row: RecordRow = { py, tools: [...tools.keys()].map((tool) => ({ tool, long: [], steady: [], samples: [] })) };
  const load = new Load(py.exe, 'deep.py', ['8', '50']);
  const dir = mkdtempSync(join(tmpdir(), 'gauge-rec-'));
  try {
    await load.start();
    for (let rep = 0; rep < mode.recordReps; rep++) {
      for (const rc of row.tools) {
        if (rc.why) continue;
        const run = tools.get(rc.tool)!;
        const go = async (s: number) => {
          const spec = run(load.pid, s, dir);
          const u = await measured(peers.runner, spec.cmd, spec.env, (s + 60) * 1000);
          if (u.status !== 0) throw new Error(`exit ${u.status}: ${lastLine(u.output)}`);
          return { cpu: u.cpu, samples: spec.samples(u.output, dir) };
        };
        try {
          const long = await go(mode.recordSeconds);
          const short = await go(mode.recordShortSeconds);
          rc.long.push(long.cpu);
          rc.steady.push(((long.cpu - short.cpu) / (mode.recordSeconds - mode.recordShortSeconds)) * 10);
          if (long.samples !== undefined) rc.samples.push(long.samples);
          log(
            `  ${rc.tool}: ${long.cpu.toFixed(3)} s CPU per ${mode.recordSeconds} s, steady ${rc.steady.at(-1)!.toFixed(3)} s per 10 s${long.samples !== undefined ? `, ${long.samples} samples` : ''}`,
          );
        } catch (err) {
          rc.why = err instanceof Error ? err.message : String(err);
          log(`  ${rc.tool}: ${rc.why}`);
        }
      }
    }
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
    log(`  error: ${row.error}`);
  } finally {
    load.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

/** Steady CPU per full sample (ms), per repetition: steady s per 10 s over the samples of 10 s at the rate the long run achieved. */
function perSampleMs(c: RecordCost, seconds: number): number[] {
  if (c.samples.length !== c.steady.length) return [];
  return c.steady.map((st, i) => (st / ((c.samples[i]! / seconds) * 10)) * 1000);
}

/** Per-round ratios a[i]/b[i], over the rounds both have. */
function ratios(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.min(a.length, b.length);
  return Array.from({ length: n }, (_, i) => a[i]! / b[i]!);
}

const s = (xs: readonly number[], d = 1) => (xs.length ? fmt(spread(xs), d) : 'n/a');
const pyName = (p: Python) => `${p.version}${p.freeThreaded ? 't' : ''}`;

function peerCell(p: PeerCost | undefined, absent: string): string {
  if (!p) return absent;
  if (p.why && !p.us.length) return `— (${p.why.replace(/\|/g, '/')})`;
  return `${s(p.us)} at ${s(p.hz, 0)}/s, ${s(p.errPct, 1)}% invalid`;
}

/** The generated Markdown section (between markers, so a peers-only run can replace it in RESULTS.md). */
export function peersSection(
  costs: CostRow[],
  records: RecordRow[],
  mode: PeerMode,
  info: {
    austin: Found<Austin>;
    started: Date;
    head: string;
    loadBefore: string;
    loadAfter: string;
    wallS: number;
    command: string;
  },
): string {
  const L: string[] = [];
  L.push(PEERS_BEGIN, '## Against the peers, measured in the same run', '');
  L.push(
    `Generated by \`${info.command}\` on ${info.started.toISOString()} at gauge ${info.head}, in ${info.wallS.toFixed(0)} s. ` +
      `Peers: ${info.austin.ok ? `Austin ${info.austin.value.version} (\`${info.austin.value.exe.replace(process.env.HOME ?? '\u0000', '~')}\`)` : `Austin — ${info.austin.why}`}; ` +
      "Tachyon = the target's own `python3.15 -m profiling.sampling` (reads only 3.15 targets). " +
      `Machine load (/proc/loadavg 1/5/15 min) before: ${info.loadBefore}, after: ${info.loadAfter} — on 2 cores, with other engineers' builds and tests running, so every figure is CPU time (utime+stime), not wall time.`,
    '',
  );
  L.push('### CPU cost of one full sample (all 9 threads of 8 × 50 frames + main)', '');
  L.push(
    `Target: bench/loads/deep.py 8 50 on each interpreter. ${mode.rounds} rounds; in each round every tool runs once, in turn, against the same process. ` +
      `**gauge reader**: \`gauge_snapshot\` called back to back ${mode.snapCount} times in the bench process (after 50 warm-up calls), its CPU time / samples; "full" reads each thread's CPU time and state from /proc as sampling does, "stacks only" does not (neither peer reads /proc in these modes). ` +
      `**gauge session**: a headless SamplingSession (bench/headless.ts, the core of \`gauge record\`) asked for 20 kHz for ${mode.seconds} s, so it runs flat out: its process CPU / ticks — the whole tool, Node included. ` +
      `**Austin**: \`austin -i 1 -x ${mode.seconds} -p PID -o /dev/null\` (flat out, output discarded, which favours Austin); CPU from wait4 via bench/rusage.py, minus its start-up/teardown CPU (a 1 s run at 1 sample/s), divided by full samples = thread samples it reports / threads. ` +
      `**Tachyon**: \`python3.15 -m profiling.sampling attach -a -r 20k -d ${mode.seconds} --collapsed\` (\`-a\`: all threads, as gauge; 20 kHz is beyond what it reaches, so it runs flat out), CPU minus its start-up (a \`-r 1 -d 1\` run), divided by the samples it reports ("Captured N samples"). ` +
      'Ratios gauge/peer are per round (same round, same target process), median (min–max). "invalid" is the share of samples the peer itself reports as errors.',
    '',
  );
  L.push(
    '| CPython | threads / frames | gauge reader full, CPU µs | stacks only | gauge session flat out, CPU µs/tick (ticks/s) | Austin CPU µs/sample | Tachyon CPU µs/sample | reader full / Austin | session / Austin | reader full / Tachyon | stacks only / Tachyon | session / Tachyon |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of costs) {
    if (r.error && !r.reader.length) {
      L.push(`| ${pyName(r.py)} | — | error: ${r.error.replace(/\|/g, '/')} | | | | | | | | | |`);
      continue;
    }
    const au = r.austin?.us ?? [];
    const ta = r.tachyon?.us ?? [];
    L.push(
      `| ${pyName(r.py)} | ${r.threads} / ${r.frames} | ${s(r.reader)} | ${s(r.bare)} | ${s(r.session)} (${s(r.sessionHz, 0)}) | ${peerCell(r.austin, info.austin.ok ? 'n/a' : 'not found')} | ${peerCell(r.tachyon, 'n/a')} | ` +
        `${au.length ? s(ratios(r.reader, au), 2) : '—'} | ${au.length ? s(ratios(r.session, au), 2) : '—'} | ${ta.length ? s(ratios(r.reader, ta), 2) : '—'} | ${ta.length ? s(ratios(r.bare, ta), 2) : '—'} | ${ta.length ? s(ratios(r.session, ta), 2) : '—'} |`,
    );
  }
  L.push('');
  L.push(
    "Reading the table: on free-threaded builds deep.py's 8 threads run in parallel and keep both cores busy, so a flat-out sampler gets a small share of a core — the session's ticks/s there are bounded by that share, and its once-a-second work (thread names, timers) is spread over fewer ticks, which inflates its µs/tick. " +
      'Tachyon on 3.15 re-reads only the frames pushed since the `last_profiled_frame` mark CPython 3.15 keeps in each thread state (published in `_Py_DebugOffsets`; its frame cache), and caches code objects; gauge reads every stack in full each sample. ' +
      'Austin reads frame by frame (several `process_vm_readv` calls per frame), hence most of its time is system time.',
    '',
  );
  if (records.length) {
    L.push(`### CPU seconds at 100 Hz (issue 13)`, '');
    L.push(
      `Each tool records the same deep.py process at 100 Hz for ${mode.recordSeconds} s, start-up and output file included, ${mode.recordReps} repetitions interleaved tool by tool; CPU from wait4 (bench/rusage.py). ` +
        `"Steady" = (CPU of the ${mode.recordSeconds} s run − CPU of a ${mode.recordShortSeconds} s run right after it) scaled to 10 s: the cost of sampling without start-up. ` +
        'gauge: `gauge record --pid P --rate 100 --duration D -o x.folded`; Austin: `austin -i 10ms -x D -p P -o FILE` (its normal text output to a file); Tachyon: `python3.15 -m profiling.sampling attach -a -r 100 -d D --collapsed -o FILE P`. ' +
        "Ratios per repetition, gauge/peer. gauge's start-up (Node and its modules) is most of its 10 s figure. Tachyon's loop sleeps 90 % of the time left to the next sample, again and again, and spins the last 100 µs, so at 100 Hz it spends more per sample than flat out. Austin at `-i 10ms` sleeps 10 ms after each sample, so it takes fewer than 100 full samples a second: the per-sample columns compare like with like.",
      '',
    );
    L.push(
      '| CPython | tool | CPU s per 10 s run (start-up incl.) | steady CPU s per 10 s | % of a core, steady | full samples in the 10 s run | steady CPU ms per full sample | gauge / this tool, 10 s run | gauge / this tool, steady | gauge / this tool, steady per sample |',
    );
    L.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of records) {
      const g = r.tools.find((t) => t.tool.startsWith('gauge'));
      for (const t of r.tools) {
        if (t.why && !t.long.length) {
          L.push(`| ${pyName(r.py)} | ${t.tool} | — (${t.why.replace(/\|/g, '/')}) | | | | | | | |`);
          continue;
        }
        const other = t !== g && g;
        const perSample = (c: RecordCost) => perSampleMs(c, mode.recordSeconds);
        L.push(
          `| ${pyName(r.py)} | ${t.tool} | ${s(t.long, 3)} | ${s(t.steady, 3)} | ${s(
            t.steady.map((x) => x * 10),
            2,
          )} | ${s(t.samples, 0)} | ${s(perSample(t), 2)} | ${other ? s(ratios(g.long, t.long), 2) : ''} | ${other ? s(ratios(g.steady, t.steady), 2) : ''} | ${other ? s(ratios(perSample(g), perSample(t)), 2) : ''} |`,
        );
      }
      if (r.error) L.push(`| ${pyName(r.py)} | error | ${r.error.replace(/\|/g, '/')} | | | | | | | |`);
    }
    L.push('');
  }
  L.push(PEERS_END);
  return L.join('\n');
}

export const PEERS_BEGIN =
  '<!-- peers: generated by bench/compare.ts; `npm run bench -- --peers` replaces this section -->';
export const PEERS_END = '<!-- /peers -->';

/** RESULTS.md with the section between two markers (the peers' by default) replaced, or appended when absent. */
export function spliceSection(file: string, section: string, begin = PEERS_BEGIN, end = PEERS_END): string {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* new file */
  }
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a >= 0 && b > a) return text.slice(0, a) + section + text.slice(b + end.length);
  return (text ? text.replace(/\n*$/, '\n\n') : '# gauge benchmark results\n\n') + section + '\n';
}

export const loadavg = (): string => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
};
