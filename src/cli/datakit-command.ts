/**
 * `gauge datakit`: py-spy-for-datakit's `datakit` subcommand, option for
 * option (long and short names, defaults, `-d/--duration` = seconds per
 * upload), so the commands on DataKit's "Profiling Python" page run with only
 * the program name changed. It is `gauge record --datakit` underneath.
 */
import type { Argv } from 'yargs';
import { ddAgentUrlFromEnv, ddIdentity, DEFAULT_DATAKIT_HOST, DEFAULT_DATAKIT_PORT } from '../export/env-config.js';
import { MIN_UPLOAD_INTERVAL_S } from '../export/export-flags.js';
import { launchCommand, pidProblem, rateProblem } from './options.js';

interface DatakitArgs {
  host?: string;
  port?: number;
  service?: string;
  env?: string;
  version?: string;
  pid?: number;
  duration: number;
  rate: number;
  subprocesses: boolean;
  idle: boolean;
  'upload-interval-ms'?: number;
  _: (string | number)[];
}

const UNNAMED = { service: 'unnamed-service', env: 'unnamed-env', version: 'unnamed-version' };

/** The intake address: flags, else DD_TRACE_AGENT_URL / DD_AGENT_HOST / DD_TRACE_AGENT_PORT, else 127.0.0.1:9529. */
export function datakitAddress(a: { host?: string; port?: number }, env = process.env): string {
  if (a.host === undefined && a.port === undefined) {
    const fromEnv = ddAgentUrlFromEnv(env);
    if (fromEnv) return fromEnv;
  }
  const host = a.host ?? env.DD_AGENT_HOST?.trim() ?? DEFAULT_DATAKIT_HOST;
  const port = a.port ?? (Number(env.DD_TRACE_AGENT_PORT) || DEFAULT_DATAKIT_PORT);
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

export function registerDatakit(cli: Argv): void {
  cli.command(
    'datakit',
    "Continuous profiling into DataKit with py-spy-for-datakit's options (gauge datakit --service NAME --pid PID, or -- python3 app.py)",
    (y) =>
      y
        .usage('$0 datakit [OPTIONS] (--pid PID | -- CMD ARGS...)')
        // -V and --version are the service version here, as in py-spy-for-datakit.
        .version(false)
        .option('host', {
          alias: 'H',
          type: 'string',
          describe:
            'DataKit listener address (default 127.0.0.1; else DD_TRACE_AGENT_URL or DD_AGENT_HOST; the flag wins)',
        })
        .option('port', {
          alias: 'P',
          type: 'number',
          describe: 'DataKit listener port (default 9529; else DD_TRACE_AGENT_PORT; the flag wins)',
        })
        .option('service', {
          alias: 'S',
          type: 'string',
          describe: 'Service name (default unnamed-service; else DD_SERVICE, OTEL_SERVICE_NAME; the flag wins)',
        })
        .option('env', {
          alias: 'E',
          type: 'string',
          describe: 'Deployment environment (default unnamed-env; else DD_ENV; the flag wins)',
        })
        .option('version', {
          alias: 'V',
          type: 'string',
          describe: 'Service version (default unnamed-version; else DD_VERSION; the flag wins)',
        })
        .option('pid', { alias: 'p', type: 'number', describe: 'PID to profile (or a command after --)' })
        .option('duration', {
          alias: 'd',
          type: 'number',
          default: 60,
          describe: `Seconds per upload: data is sent every this many seconds (min ${MIN_UPLOAD_INTERVAL_S})`,
        })
        .option('rate', { alias: 'r', type: 'number', default: 100, describe: 'Samples per second' })
        .option('subprocesses', { alias: 's', type: 'boolean', default: false, describe: 'Also profile subprocesses' })
        .option('idle', { alias: 'i', type: 'boolean', default: false, describe: 'Also sample idle threads' })
        .option('upload-interval-ms', { type: 'number', hidden: true })
        .check((a) => {
          const problem = pidProblem(a.pid);
          if (problem) return problem;
          const command = launchCommand(a);
          if (a.pid !== undefined && command.length) return 'give either --pid or a command after --, not both';
          if (a.pid === undefined && !command.length) return 'nothing to profile: give --pid PID or a command after --';
          const rate = rateProblem(a.rate);
          if (rate) return rate;
          if (!(a.duration >= MIN_UPLOAD_INTERVAL_S))
            return `--duration (seconds per upload) must be at least ${MIN_UPLOAD_INTERVAL_S}, not ${a.duration}`;
          if (a.port !== undefined && !(Number.isInteger(a.port) && a.port > 0 && a.port < 65536))
            return `--port must be a TCP port (1-65535), not ${a.port}`;
          if (a.host !== undefined && !/^[^\s/]+$/.test(a.host)) return `--host: not a host name or address: ${a.host}`;
          return true;
        })
        .example(
          '$0 datakit --host 127.0.0.1 --port 9529 --service my-app --env testing --version v0.1 --duration 60 --pid 12345',
          'A running process',
        )
        .example(
          '$0 datakit -S my-app -E testing -V v0.1 -d 60 -- python3 server.py',
          'Start a program and profile it',
        ),
    // Exit explicitly, as record does: idle keep-alive sockets must not hold gauge up.
    async (a) => process.exit(await datakit(a as unknown as DatakitArgs)),
  );
}

export async function datakit(a: DatakitArgs): Promise<number> {
  const dd = ddIdentity();
  const { record } = await import('./record.js');
  return record({
    pid: a.pid,
    rate: a.rate,
    idle: a.idle,
    gil: false,
    subprocesses: a.subprocesses,
    datakit: datakitAddress(a),
    service: a.service ?? dd.service ?? UNNAMED.service,
    env: a.env ?? dd.env ?? UNNAMED.env,
    version: a.version ?? dd.version ?? UNNAMED.version,
    'upload-interval': a.duration,
    'upload-interval-ms': a['upload-interval-ms'],
    _: a._,
  });
}
