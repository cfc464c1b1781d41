/**
 * What `gauge agent` does once its options are parsed (agent-command.ts):
 * continuous profiling of every Python process on the host (or those --match
 * selects), one profile per process per interval to the destinations the
 * flags or the environment name, within a CPU budget. Runs until
 * SIGINT/SIGTERM (or --duration), then flushes every open window.
 */
import { Agent } from '../agent/agent.js';
import { ddIdentity, ddTags } from '../export/env-config.js';
import { MIN_UPLOAD_INTERVAL_S, parseHeaders, withScheme } from '../export/export-flags.js';
import { STOP_SIGNALS } from '../process/signals.js';
import { Exit } from './exit-codes.js';
import { destinationsOf, regexes, type AgentArgs } from './agent-command.js';

export async function runAgent(a: AgentArgs): Promise<number> {
  const d = destinationsOf(a);
  const dd = ddIdentity();
  const log = (line: string): void => void process.stderr.write(`gauge: agent: ${line}\n`);
  const agent = new Agent({
    rateHz: a.rate,
    minRateHz: a['min-rate'],
    maxCpu: a['max-cpu'] / 100,
    match: regexes(a.match, '--match') as RegExp[],
    exclude: regexes(a.exclude, '--exclude') as RegExp[],
    skip: [process.pid],
    scanMs: a['scan-interval'] * 1000,
    budgetMs: a['budget-interval-ms'] ?? 5000,
    defaults: {
      env: a.env || dd.env,
      version: a.version !== undefined && a.version !== '' ? String(a.version) : dd.version,
    },
    destinations: {
      otlpEndpoint: d.otlp,
      otlpHeaders: parseHeaders(a['otlp-header']),
      datakit: d.datakit ? withScheme(d.datakit) : undefined,
      pyroscope: d.pyroscope ? withScheme(d.pyroscope) : undefined,
      intervalMs: a['upload-interval-ms'] ?? Math.max(MIN_UPLOAD_INTERVAL_S, a['upload-interval'] ?? 60) * 1000,
      tags: ddTags(),
      idle: a.idle,
      gil: a.gil,
      stripLevels: a['strip-levels'] ?? 0,
      minSpan: a['min-span'] ?? 2,
      maxQueue: a['export-queue'] ?? 3,
      maxBackoffMs: a['export-max-backoff-ms'],
    },
    log,
  });
  agent.start();
  log(`started: ${agent.statusLine()}`);
  const statusTimer =
    a['status-interval'] && a['status-interval'] > 0
      ? setInterval(() => {
          (globalThis as { gc?: () => void }).gc?.();
          const heap = (process.memoryUsage().heapUsed / 1048576).toFixed(1);
          const rss = (process.memoryUsage.rss() / 1048576).toFixed(1);
          log(`status: ${agent.statusLine()}, heap ${heap} MB, rss ${rss} MB`);
        }, a['status-interval'] * 1000)
      : undefined;
  await new Promise<void>((resolve) => {
    if (a.duration) setTimeout(resolve, a.duration * 1000);
    for (const sig of STOP_SIGNALS) process.once(sig, () => resolve());
  });
  if (statusTimer) clearInterval(statusTimer);
  await agent.stop();
  log(`stopped: ${agent.statusLine()}`);
  return Exit.OK;
}
