/**
 * `gauge agent`'s own cost with many busy processes: N CPU-bound Pythons
 * (test/fixtures/agent_target.py), the agent watching them with its default
 * budget (--max-cpu 1) and uploading to a local DataKit receiver every 10 s.
 * After a warm-up, the agent's CPU (utime+stime of the whole process, from
 * /proc/PID/stat, so exited sampler threads count too) and RSS are read every
 * 10 s for a minute. Prints a Markdown table; not part of `npm test`.
 *
 *   node dist/bench/agent.js [--processes 20] [--seconds 60] [--warmup 20] [--max-cpu 1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPythons, pythonFor } from '../test/helpers/pythons.js';
import { Receiver } from '../test/export-helpers.js';
import { packageRoot, rssMiB, sleep } from './lib.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** CPU seconds of a whole process (every thread, live or exited). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

async function main(): Promise<void> {
  const n = arg('processes', 20);
  const seconds = arg('seconds', 60);
  const warmup = arg('warmup', 20);
  const maxCpu = arg('max-cpu', 1);
  const py =
    pythonFor('3.12') ??
    findPythons()
      .filter((p) => p.mm[0] === 3)
      .at(-1);
  if (!py) throw new Error('no CPython 3 found');
  const token = `gauge-agent-bench-${process.pid}`;
  const fixture = join(packageRoot(), 'test', 'fixtures', 'agent_target.py');
  const kids: ChildProcess[] = [];
  const rx = new Receiver();
  await rx.start();
  try {
    for (let i = 0; i < n; i++) {
      kids.push(
        spawn(py.exe, [fixture, token, '0'], { stdio: 'ignore', env: { ...process.env, DD_SERVICE: `bench-${i}` } }),
      );
    }
    const agent = spawn(
      process.execPath,
      [
        join(packageRoot(), 'bin', 'gauge'),
        'agent',
        '--datakit',
        rx.url,
        '--match',
        token,
        '-d',
        '10',
        '--max-cpu',
        String(maxCpu),
        '--status-interval',
        '10',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    kids.push(agent);
    let log = '';
    agent.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await sleep(warmup * 1000);
    const rows: string[] = [];
    const cpu0 = cpuSeconds(agent.pid!);
    const t0 = Date.now();
    let prev = { cpu: cpu0, t: t0 };
    for (let s = 10; s <= seconds; s += 10) {
      await sleep(t0 + s * 1000 - Date.now());
      const now = { cpu: cpuSeconds(agent.pid!), t: Date.now() };
      const share = (100 * (now.cpu - prev.cpu)) / ((now.t - prev.t) / 1000);
      const status =
        log
          .trim()
          .split('\n')
          .filter((l) => l.includes('status:'))
          .at(-1) ?? '';
      const rate = / ([\d.]+) Hz/.exec(status)?.[1] ?? '?';
      rows.push(`| ${s} | ${share.toFixed(2)} | ${rate} | ${rssMiB(agent.pid!).toFixed(1)} |`);
      prev = now;
    }
    const total = (100 * (prev.cpu - cpu0)) / ((prev.t - t0) / 1000);
    console.log(
      `## gauge agent: ${n} busy CPython ${py.version} processes, --max-cpu ${maxCpu}, ${seconds} s after ${warmup} s warm-up\n`,
    );
    console.log('| s | agent CPU % of one core (last 10 s) | rate Hz | RSS MiB |\n|---|---|---|---|');
    console.log(rows.join('\n'));
    console.log(
      `\nOver the ${seconds} s: ${total.toFixed(2)} % of one core (budget ${maxCpu} %); ${rx.datakit.length} DataKit uploads received.`,
    );
  } finally {
    for (const k of kids) k.kill('SIGKILL');
    await rx.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
