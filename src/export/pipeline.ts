/**
 * The export flags shared by `gauge top` and `gauge record`, and the wiring
 * from a sampling session to every destination asked for. Destinations only
 * ever receive samples through push(), which returns at once.
 */
import type { Argv } from 'yargs';
import { basename } from 'node:path';
import { commandLine } from '../process/procfs.js';
import type { FrameTable, ProcessInfo, Sample } from '../sampling/types.js';
import { datakitUrl, ddIdentity, ddTags, envNote } from './env-config.js';
import { DEFAULT_OTLP_ENDPOINT, identityAttributes, OtlpSpanExport } from './otlp.js';
import type { QueueStats } from './queue.js';
import { DEFAULT_MAX_TRACE_SPANS, DEFAULT_SPAN_TTL_MS } from './spans.js';
import { DataKitUploader, PyroscopeUploader, type ProfileUploader, type UploadOptions } from './uploads.js';

export const MIN_UPLOAD_INTERVAL_S = 10;

/** What the exports need from a session (SamplingSession satisfies it). */
export interface ExportSession {
  readonly rootPid: number;
  readonly frames: FrameTable;
  readonly processes: Map<number, ProcessInfo>;
  readonly opts: { rateHz: number };
  onProcessExit?(l: (pid: number) => void): void;
  /** Read each thread's OpenTelemetry span so spans join the application's traces. */
  readTraceContext?(): void;
}

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

export interface Exports {
  push(samples: readonly Sample[]): void;
  /** Short, for a header or a log line: e.g. "spans 1234 sent 0 dropped, datakit 3 ok". */
  status(): string;
  /** Per-destination counters. */
  stats(): Record<string, QueueStats>;
  /** Flush what is open and queued (bounded wait), then stop. */
  close(): Promise<void>;
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

/** The service name from a command line: the script (app.py → app), `-m module`, else the executable. */
export function serviceFromCommand(cmdline: string): string {
  const args = cmdline.split(' ').filter(Boolean);
  const m = args.indexOf('-m');
  if (m >= 0 && args[m + 1]) return args[m + 1]!;
  const script = args.slice(1).find((a) => !a.startsWith('-') && /\.pyw?$/.test(a));
  if (script) return basename(script).replace(/\.pyw?$/, '');
  return args[0] ? basename(args[0]) : 'python';
}

export function parseHeaders(list: (string | number)[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    const s = String(h);
    const i = s.indexOf('=');
    out[s.slice(0, i).trim()] = s.slice(i + 1);
  }
  return out;
}

/** Starts every destination the flags ask for; undefined when none. */
export function startExports(argv: ExportArgs, session: ExportSession): Exports | undefined {
  const otlp = argv['otlp-endpoint'] !== undefined || argv.jaeger;
  const datakit = argv.datakit === '' ? datakitUrl() : argv.datakit;
  if (!otlp && !datakit && !argv.pyroscope) return undefined;
  const root = session.processes.get(session.rootPid);
  const scriptName = serviceFromCommand(root?.cmdline || commandLine(session.rootPid));
  // Flags first; then the environment (DD_* for profile uploads; the OTel SDK reads OTEL_* itself for spans).
  const flags = {
    service: argv.service || undefined,
    version: argv.version !== undefined && argv.version !== '' ? String(argv.version) : undefined,
    env: argv.env || undefined,
  };
  const dd = ddIdentity();
  const maxBackoffMs = argv['export-max-backoff-ms'];

  let spans: OtlpSpanExport | undefined;
  if (otlp) {
    session.readTraceContext?.();
    spans = new OtlpSpanExport(session.frames, {
      endpoint: argv['otlp-endpoint'] ? withScheme(argv['otlp-endpoint']) : undefined,
      headers: parseHeaders(argv['otlp-header']),
      service: scriptName,
      identity: identityAttributes(flags),
      stripLevels: argv['strip-levels'] ?? 0,
      minSamples: argv['min-span'] ?? 2,
      spanTtlMs: (argv['span-ttl'] ?? DEFAULT_SPAN_TTL_MS / 1000) * 1000,
      maxTraceSpans: argv['trace-spans'],
      describeProcess: (pid) => session.processes.get(pid),
      maxQueue: argv['export-queue'],
      maxBackoffMs,
    });
  }
  const uploaders: ProfileUploader[] = [];
  const uploadOpts: UploadOptions = {
    service: flags.service ?? dd.service ?? scriptName,
    env: flags.env ?? dd.env,
    version: flags.version ?? dd.version,
    tags: ddTags(),
    intervalMs: argv['upload-interval-ms'] ?? Math.max(MIN_UPLOAD_INTERVAL_S, argv['upload-interval'] ?? 60) * 1000,
    recorder: {
      idle: argv.idle ?? false,
      gil: argv.gil ?? false,
      rateHz: session.opts.rateHz,
      perProcess: argv.subprocesses ? true : undefined,
      describeProcess: (pid) => session.processes.get(pid)?.cmdline ?? '',
    },
    pid: session.rootPid,
    runtimeVersion: () => {
      for (const p of session.processes.values()) if (p.pythonVersion) return p.pythonVersion;
      return '';
    },
    maxQueue: argv['export-queue'],
    maxBackoffMs,
  };
  if (datakit) uploaders.push(new DataKitUploader(withScheme(datakit), session.frames, uploadOpts));
  if (argv.pyroscope) uploaders.push(new PyroscopeUploader(withScheme(argv.pyroscope), session.frames, uploadOpts));

  session.onProcessExit?.((pid) => spans?.processExited(pid));

  return {
    push(samples) {
      spans?.push(samples);
      for (const u of uploaders) u.push(samples);
    },
    status() {
      const parts: string[] = [];
      if (spans) {
        const s = spans.stats();
        parts.push(
          `spans ${s.sent} sent ${s.dropped} dropped (${s.traces} traces)${s.pending ? ` ${s.pending} queued` : ''}${s.errors ? ` ${s.errors} errors` : ''}`,
        );
      }
      for (const u of uploaders) {
        const s = u.stats();
        parts.push(
          `${u.kind} ${s.ok} ok${s.dropped ? ` ${s.dropped} dropped` : ''}${s.errors ? ` ${s.errors} errors` : ''}`,
        );
      }
      return parts.join(', ');
    },
    stats() {
      const out: Record<string, QueueStats> = {};
      if (spans) out.spans = { ...spans.stats() };
      for (const u of uploaders) out[u.kind] = { ...u.stats() };
      return out;
    },
    async close() {
      await Promise.all([spans?.close(), ...uploaders.map((u) => u.close())]);
    },
  };
}
