/**
 * The wiring from a sampling session to every destination the export flags
 * (export-flags.ts) ask for. Destinations only ever receive samples through
 * push(), which returns at once.
 */
import { basename } from 'node:path';
import { commandLine } from '../process/procfs.js';
import type { FrameTable, ProcessInfo, Sample } from '../sampling/types.js';
import { datakitUrl, ddIdentity, ddTags } from './env-config.js';
import { MIN_UPLOAD_INTERVAL_S, parseHeaders, withScheme, type ExportArgs } from './export-flags.js';
import { identityAttributes, OtlpSpanExport } from './otlp.js';
import type { QueueStats } from './queue.js';
import { DEFAULT_SPAN_TTL_MS } from './spans.js';
import { DataKitUploader, PyroscopeUploader, type ProfileUploader, type UploadOptions } from './uploads.js';

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

export interface Exports {
  push(samples: readonly Sample[]): void;
  /** Short, for a header or a log line: e.g. "spans 1234 sent 0 dropped, datakit 3 ok". */
  status(): string;
  /** Per-destination counters. */
  stats(): Record<string, QueueStats>;
  /** Flush what is open and queued (bounded wait), then stop. */
  close(): Promise<void>;
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
