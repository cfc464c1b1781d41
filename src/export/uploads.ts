/**
 * Continuous-profiling uploads: every interval the samples since the last
 * cut become one gzipped pprof, queued for DataKit (Datadog-agent style
 * multipart intake) or Pyroscope (/ingest). Encoding happens on the timer,
 * sending in the SendQueue, so neither ever runs inside sampling.
 */
import { hostname } from 'node:os';
import type { FrameTable, Sample } from '../sampling/types.js';
import { VERSION } from '../cli/version.js';
import { ProfileRecorder, type RecorderOptions } from './profile-recorder.js';
import { SendQueue, type QueueStats } from './queue.js';

export interface UploadWindow {
  pprofGz: Buffer;
  startMs: number;
  endMs: number;
  samples: number;
  pid: number;
}

export interface UploadOptions {
  service: string;
  env?: string;
  version?: string;
  /** Window length; 0 = the owner cuts windows itself and uses this only as a send queue (the agent). */
  intervalMs: number;
  /** More tags (DD_TAGS; the agent's container id, pod uid): after gauge's own, in DataKit tags and Pyroscope labels. */
  tags?: Readonly<Record<string, string>>;
  recorder: RecorderOptions;
  /** Root process and its Python version, for tags. */
  pid: number;
  runtimeVersion: () => string;
  /** Windows held while the endpoint is unreachable. */
  maxQueue?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const REQUEST_TIMEOUT_MS = 15000;

async function check(res: Response, what: string): Promise<void> {
  if (res.ok) {
    await res.arrayBuffer().catch(() => undefined);
    return;
  }
  const text = (await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
  throw new Error(`${what}: HTTP ${res.status}${text ? ` ${text}` : ''}`);
}

export abstract class ProfileUploader {
  private recorder: ProfileRecorder;
  private readonly timer?: NodeJS.Timeout;
  readonly queue: SendQueue<UploadWindow>;
  abstract readonly kind: string;

  constructor(
    private readonly frames: FrameTable,
    protected readonly opts: UploadOptions,
  ) {
    this.recorder = new ProfileRecorder(frames, opts.recorder);
    this.queue = new SendQueue<UploadWindow>('profiles', (b) => this.sendAll(b), {
      maxItems: opts.maxQueue ?? 10,
      batchSize: 1,
      minBackoffMs: opts.minBackoffMs ?? 2000,
      maxBackoffMs: opts.maxBackoffMs ?? 60000,
    });
    if (opts.intervalMs > 0) {
      this.timer = setInterval(() => this.cut(), opts.intervalMs);
      this.timer.unref();
    }
  }

  push(samples: readonly Sample[]): void {
    this.recorder.add(samples);
  }

  /** Close the current window and queue it (empty windows are not sent). */
  cut(): void {
    const r = this.recorder;
    this.recorder = new ProfileRecorder(this.frames, this.opts.recorder);
    if (r.samples === 0) return;
    const endMs = Date.now();
    this.queue.push([
      {
        pprofGz: r.pprofGzip(),
        startMs: r.startedAtMs ?? endMs - this.opts.intervalMs,
        endMs,
        samples: r.samples,
        pid: this.opts.pid,
      },
    ]);
  }

  private async sendAll(batch: UploadWindow[]): Promise<void> {
    for (const w of batch) await this.send(w);
  }

  protected abstract send(w: UploadWindow): Promise<void>;

  stats(): QueueStats {
    return this.queue.stats;
  }

  async close(timeoutMs?: number): Promise<void> {
    clearInterval(this.timer);
    this.cut();
    await this.queue.close(timeoutMs);
  }
}

/** DataKit's /profiling/v1/input (the Datadog agent's intake format): an event.json part plus a pprof attachment. */
export class DataKitUploader extends ProfileUploader {
  readonly kind = 'datakit';
  readonly url: string;

  constructor(base: string, frames: FrameTable, opts: UploadOptions) {
    super(frames, opts);
    this.url = base.replace(/\/+$/, '') + '/profiling/v1/input';
  }

  tags(w: UploadWindow): string {
    const o = this.opts;
    const tags: [string, string | undefined][] = [
      ['service', o.service],
      ['env', o.env],
      ['version', o.version],
      ['host', hostname()],
      ['language', 'python'],
      ['runtime', 'cpython'],
      ['runtime_version', o.runtimeVersion()],
      ['process_id', String(w.pid)],
      ['profiler', 'gauge'],
      ['profiler_version', VERSION],
      ...Object.entries(o.tags ?? {}),
    ];
    return tags
      .filter(([, v]) => v)
      .map(([k, v]) => `${k}:${v!.replace(/,/g, '_')}`)
      .join(',');
  }

  /** DataKit's event.json for one window: the profile's family, format, time span and tags. */
  protected event(w: UploadWindow): Record<string, unknown> {
    return {
      attachments: ['auto.pprof'],
      family: 'python',
      format: 'pprof',
      version: '4',
      start: new Date(w.startMs).toISOString(),
      end: new Date(w.endMs).toISOString(),
      tags_profiler: this.tags(w),
    };
  }

  protected async send(w: UploadWindow): Promise<void> {
    const event = this.event(w);
    const form = new FormData();
    form.append('event', new Blob([JSON.stringify(event)], { type: 'application/json' }), 'event.json');
    form.append(
      'auto.pprof',
      new Blob([new Uint8Array(w.pprofGz)], { type: 'application/octet-stream' }),
      'auto.pprof',
    );
    const res = await fetch(this.url, { method: 'POST', body: form, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await check(res, 'datakit');
  }
}

/** Pyroscope's /ingest with format=pprof: the profile goes in a multipart "profile" field. */
export class PyroscopeUploader extends ProfileUploader {
  readonly kind = 'pyroscope';
  readonly base: string;

  constructor(base: string, frames: FrameTable, opts: UploadOptions) {
    super(frames, opts);
    this.base = base.replace(/\/+$/, '');
  }

  appName(): string {
    // Label values may not contain the separators of the {k=v,...} syntax.
    const clean = (s: string): string => s.replace(/[{}=,]/g, '_');
    const labels: string[] = [];
    if (this.opts.env) labels.push(`env=${clean(this.opts.env)}`);
    if (this.opts.version) labels.push(`version=${clean(this.opts.version)}`);
    for (const [k, v] of Object.entries(this.opts.tags ?? {})) {
      if (v) labels.push(`${k.replace(/[^A-Za-z0-9_]/g, '_')}=${clean(v)}`);
    }
    return `${clean(this.opts.service)}{${labels.join(',')}}`;
  }

  /** Pyroscope's /ingest query for one window: app name with labels, time span, rate. */
  protected ingestQuery(w: UploadWindow): URLSearchParams {
    return new URLSearchParams({
      name: this.appName(),
      from: String(Math.floor(w.startMs / 1000)),
      until: String(Math.ceil(w.endMs / 1000)),
      format: 'pprof',
      sampleRate: String(Math.round(this.opts.recorder.rateHz ?? 100)),
      spyName: 'gauge',
    });
  }

  protected async send(w: UploadWindow): Promise<void> {
    const q = this.ingestQuery(w);
    const form = new FormData();
    form.append(
      'profile',
      new Blob([new Uint8Array(w.pprofGz)], { type: 'application/octet-stream' }),
      'profile.pprof',
    );
    const res = await fetch(`${this.base}/ingest?${q}`, {
      method: 'POST',
      body: form,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await check(res, 'pyroscope');
  }
}
