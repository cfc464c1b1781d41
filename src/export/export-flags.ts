/**
 * The export flags shared by `gauge top`, `gauge record` and `gauge agent`:
 * their declaration and checks, light enough to load on every command line
 * (the exporters themselves are in pipeline.ts, loaded only when one is on).
 */
import type { Argv } from 'yargs';
import { envNote } from './env-config.js';
import { DEFAULT_MAX_TRACE_SPANS, DEFAULT_SPAN_TTL_MS } from './spans.js';

export const MIN_UPLOAD_INTERVAL_S = 10;

/** Where the OTLP exporter posts spans when neither a flag nor OTEL_EXPORTER_OTLP_* names a place (Jaeger's port). */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318/v1/traces';

export interface ExportArgs {
  'otlp-endpoint'?: string;
  jaeger?: boolean;
  'otlp-header'?: (string | number)[];
  service?: string;
  version?: string | number;
  env?: string;
  'strip-levels'?: number;
  'span-ttl'?: number;
  'trace-spans'?: number;
  'min-span'?: number;
  datakit?: string;
  pyroscope?: string;
  'upload-interval'?: number;
  'upload-interval-ms'?: number;
  'export-queue'?: number;
  'export-max-backoff-ms'?: number;
  idle?: boolean;
  gil?: boolean;
  subprocesses?: boolean;
  rate?: number;
}

/** Whether any destination is asked for: only then are the exporters (pipeline.ts) loaded. */
export function wantsExports(a: ExportArgs): boolean {
  return a['otlp-endpoint'] !== undefined || !!a.jaeger || a.datakit !== undefined || !!a.pyroscope;
}

/** `host:port` means http://host:port (py-spy-for-datakit style). */
export function withScheme(s: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`;
}

/** A bare `--datakit` (empty value) means "the address the environment gives". */
export function validUrl(s: string | undefined, bareOk = false): boolean {
  if (s === undefined || (bareOk && s === '')) return true;
  try {
    const u = new URL(withScheme(s));
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    // new URL throws on anything that is not a URL: that is the answer.
    return false;
  }
}

/** Adds every export flag to a command's yargs builder (with validation → usage errors). */
export function addExportOptions<T>(y: Argv<T>): Argv<T & ExportArgs> {
  return (
    y
      // `--version` here is the service version, not gauge's (that stays `gauge -V`).
      .version(false)
      .option('otlp-endpoint', {
        type: 'string',
        group: 'Export:',
        describe: 'Send spans built from samples over OTLP/HTTP protobuf to this URL',
      })
      .option('jaeger', {
        type: 'boolean',
        group: 'Export:',
        describe:
          'Send spans over OTLP to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, ' +
          `else ${DEFAULT_OTLP_ENDPOINT} (Jaeger's OTLP port); --otlp-endpoint wins`,
      })
      .option('otlp-header', {
        type: 'array',
        string: true,
        group: 'Export:',
        describe: 'Extra OTLP request header K=V (repeatable), e.g. for auth' + envNote('OTEL_EXPORTER_OTLP_HEADERS'),
      })
      .option('service', {
        type: 'string',
        group: 'Export:',
        describe:
          'service.name for spans and profiles (else OTEL_SERVICE_NAME for spans, DD_SERVICE then OTEL_SERVICE_NAME ' +
          'for profiles, else the script name; the flag wins)',
      })
      .option('version', {
        type: 'string',
        group: 'Export:',
        describe: 'service.version for spans and profiles' + envNote('DD_VERSION for profiles'),
      })
      .option('env', {
        type: 'string',
        group: 'Export:',
        describe: 'deployment environment for spans and profiles' + envNote('DD_ENV for profiles'),
      })
      .option('strip-levels', {
        type: 'number',
        default: 0,
        group: 'Export:',
        describe:
          'Outermost frames that are always context, never spans (overrides the automatic choice; --span-ttl still ends traces)',
      })
      .option('span-ttl', {
        type: 'number',
        default: DEFAULT_SPAN_TTL_MS / 1000,
        group: 'Export:',
        describe:
          'Seconds a span may stay open: older frames (and those running when gauge started) become context on ' +
          'each trace root, so every trace ends and is sent within this',
      })
      .option('trace-spans', {
        type: 'number',
        default: DEFAULT_MAX_TRACE_SPANS,
        group: 'Export:',
        describe: 'Most spans per trace; the rest are counted on the root (gauge.trace.spans_dropped)',
      })
      .option('min-span', {
        type: 'number',
        default: 2,
        group: 'Export:',
        describe: 'Drop activations seen in fewer samples than this',
      })
      .option('datakit', {
        type: 'string',
        group: 'Export:',
        describe:
          'Upload pprof profiles to DataKit, e.g. http://127.0.0.1:9529 (or host:port); bare --datakit: ' +
          'DD_TRACE_AGENT_URL, else http://DD_AGENT_HOST:DD_TRACE_AGENT_PORT, else http://127.0.0.1:9529',
      })
      .option('pyroscope', {
        type: 'string',
        group: 'Export:',
        describe: 'Upload pprof profiles to Pyroscope, e.g. http://127.0.0.1:4040',
      })
      // Only a long name: -d is --duration, as in py-spy and CPython's profiling.sampling.
      .option('upload-interval', {
        type: 'number',
        default: 60,
        group: 'Export:',
        describe: `Seconds per uploaded profile (min ${MIN_UPLOAD_INTERVAL_S})`,
      })
      // Test and tuning knobs, not in --help.
      .option('upload-interval-ms', { type: 'number', hidden: true })
      .option('export-queue', { type: 'number', hidden: true })
      .option('export-max-backoff-ms', { type: 'number', hidden: true })
      .check((a) => {
        const args = a as unknown as ExportArgs;
        if (!validUrl(args['otlp-endpoint'])) return `--otlp-endpoint: not an http(s) URL: ${args['otlp-endpoint']}`;
        if (!validUrl(args.datakit, true)) return `--datakit: not an http(s) URL: ${args.datakit}`;
        if (!validUrl(args.pyroscope)) return `--pyroscope: not an http(s) URL: ${args.pyroscope}`;
        for (const h of args['otlp-header'] ?? []) {
          if (!/^[^=\s]+=/.test(String(h))) return `--otlp-header: expected K=V, got ${h}`;
        }
        const iv = args['upload-interval'];
        if (iv !== undefined && !(iv >= MIN_UPLOAD_INTERVAL_S))
          return `--upload-interval: at least ${MIN_UPLOAD_INTERVAL_S} seconds`;
        const sl = args['strip-levels'];
        if (sl !== undefined && !(Number.isInteger(sl) && sl >= 0)) return '--strip-levels: a whole number >= 0';
        const ttl = args['span-ttl'];
        if (ttl !== undefined && !(ttl >= 0.1)) return '--span-ttl: at least 0.1 seconds';
        const ts = args['trace-spans'];
        if (ts !== undefined && !(Number.isInteger(ts) && ts >= 1)) return '--trace-spans: a whole number >= 1';
        const ms = args['min-span'];
        if (ms !== undefined && !(Number.isInteger(ms) && ms >= 1)) return '--min-span: a whole number of samples >= 1';
        return true;
      }) as unknown as Argv<T & ExportArgs>
  );
}

/** --otlp-header K=V values (already checked) as a header map. */
export function parseHeaders(list: (string | number)[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    const s = String(h);
    const i = s.indexOf('=');
    out[s.slice(0, i).trim()] = s.slice(i + 1);
  }
  return out;
}
