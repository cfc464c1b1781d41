/**
 * `gauge agent`: its options, checks and destinations; the work is in
 * agent.ts, loaded only when the command runs.
 */
import type { Argv } from 'yargs';
import { ddAgentUrlFromEnv, otlpEndpointFromEnv, datakitUrl } from '../export/env-config.js';
import { addExportOptions, withScheme, type ExportArgs } from '../export/export-flags.js';
import { addCountOptions, rateProblem } from './options.js';

export interface AgentArgs extends ExportArgs {
  rate: number;
  'max-cpu': number;
  'min-rate': number;
  match?: string[];
  exclude?: string[];
  'scan-interval': number;
  'budget-interval-ms'?: number;
  duration?: number;
  mode?: string;
  idle: boolean;
  gil: boolean;
  'status-interval'?: number;
}

/** Each value compiled, or the first one that is not a regular expression. */
export function regexes(list: string[] | undefined, flag: string): RegExp[] | string {
  const out: RegExp[] = [];
  for (const s of list ?? []) {
    try {
      out.push(new RegExp(String(s)));
    } catch {
      // The user's pattern, not ours: say which one.
      return `${flag}: not a regular expression: ${s}`;
    }
  }
  return out;
}

/** Destinations from flags; with none, from the environment (OTEL_EXPORTER_OTLP_*, DD_TRACE_AGENT_URL/DD_AGENT_HOST). */
export function destinationsOf(a: AgentArgs): { otlp?: string; datakit?: string; pyroscope?: string } {
  const flagged = a['otlp-endpoint'] !== undefined || a.jaeger || a.datakit !== undefined || a.pyroscope;
  if (flagged) {
    return {
      otlp: a['otlp-endpoint'] ? withScheme(a['otlp-endpoint']) : a.jaeger ? '' : undefined,
      datakit: a.datakit === '' ? datakitUrl() : a.datakit,
      pyroscope: a.pyroscope,
    };
  }
  return { otlp: otlpEndpointFromEnv() ? '' : undefined, datakit: ddAgentUrlFromEnv() };
}

export function registerAgent(cli: Argv): void {
  cli.command(
    'agent',
    'Profile every Python process on this host, continuously: one profile per process per interval to DataKit, Pyroscope or OTLP.',
    (y) =>
      addExportOptions(
        addCountOptions(y, 'Stop after this many seconds (default: until SIGTERM)')
          .usage(
            '$0 agent [--match REGEX] [--exclude REGEX] (--datakit [URL] | --pyroscope URL | --jaeger | --otlp-endpoint URL)',
          )
          .option('rate', {
            alias: 'r',
            type: 'number',
            default: 19,
            describe: 'Highest samples per second per process',
          })
          .option('max-cpu', {
            type: 'number',
            default: 1,
            describe: 'CPU budget for gauge itself, in % of one core; the rate is lowered to stay within it',
          })
          .option('min-rate', {
            type: 'number',
            default: 0.1,
            describe: 'The budget never sets the rate below this (Hz)',
          })
          .option('match', {
            type: 'array',
            string: true,
            describe: 'Only command lines matching this regex (repeatable)',
          })
          .option('exclude', {
            type: 'array',
            string: true,
            describe: 'Never command lines matching this regex (repeatable)',
          })
          .option('scan-interval', { type: 'number', default: 2, describe: 'Seconds between looks for new processes' })
          .option('status-interval', { type: 'number', describe: 'Print a status line on stderr every S seconds' })
          .option('budget-interval-ms', { type: 'number', hidden: true }),
      )
        .check((a) => {
          const args = a as unknown as AgentArgs;
          const rate = rateProblem(args.rate);
          if (rate) return rate;
          if (!(args['max-cpu'] > 0 && args['max-cpu'] <= 100))
            return '--max-cpu must be more than 0 and at most 100 (% of one core)';
          if (!(args['min-rate'] > 0 && args['min-rate'] <= args.rate))
            return '--min-rate must be more than 0 and at most --rate';
          if (!(args['scan-interval'] >= 0.1)) return '--scan-interval must be at least 0.1 seconds';
          if (args.service !== undefined)
            return '--service does not apply to agent: each process is named by its own DD_SERVICE or OTEL_SERVICE_NAME, else its script';
          for (const [list, flag] of [
            [args.match, '--match'],
            [args.exclude, '--exclude'],
          ] as const) {
            const r = regexes(list, flag);
            if (typeof r === 'string') return r;
          }
          const d = destinationsOf(args);
          if (d.otlp === undefined && !d.datakit && !d.pyroscope)
            return 'nowhere to send profiles: give --datakit, --pyroscope, --jaeger or --otlp-endpoint (or set OTEL_EXPORTER_OTLP_ENDPOINT, DD_TRACE_AGENT_URL or DD_AGENT_HOST)';
          return true;
        })
        .example(
          '$0 agent --datakit',
          'DataKit at DD_TRACE_AGENT_URL, else DD_AGENT_HOST:DD_TRACE_AGENT_PORT, else 127.0.0.1:9529',
        )
        .example('$0 agent --pyroscope http://pyroscope:4040 --match gunicorn', 'Only gunicorn processes'),
    async (a) => process.exit(await (await import('./agent.js')).runAgent(a as unknown as AgentArgs)),
  );
}
