/**
 * Local receivers for the exporter tests, decoding with real parsers: OTLP
 * protobuf with the official .proto files (vendored in
 * test/fixtures/otlp-proto, loaded by protobufjs — independent of the SDK's
 * own generated code), multipart with busboy, pprof with pprof-format.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import protobuf from 'protobufjs';
import { Profile } from 'pprof-format';
import type { FrameInfo, FrameTable } from '../src/sampling/types.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  scope: string;
}

export interface Part {
  name: string;
  filename?: string;
  contentType: string;
  data: Buffer;
}

export interface Upload {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  parts: Part[];
}

let requestType: protobuf.Type | undefined;
function otlpRequestType(): protobuf.Type {
  if (requestType) return requestType;
  const dir = join(repoRoot, 'test', 'fixtures', 'otlp-proto');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(dir, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
  requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  return requestType;
}

type AnyValue = { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
function attrs(list: { key: string; value?: AnyValue }[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    out[kv.key] =
      v.stringValue ??
      (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
      v.doubleValue ??
      v.boolValue ??
      '';
  }
  return out;
}

/** Decode one OTLP/HTTP protobuf ExportTraceServiceRequest body into flat spans. */
export function decodeOtlp(body: Buffer): ReceivedSpan[] {
  const T = otlpRequestType();
  const msg = T.toObject(T.decode(body), { longs: String, bytes: Buffer, defaults: true }) as {
    resourceSpans: {
      resource?: { attributes: { key: string; value?: AnyValue }[] };
      scopeSpans: {
        scope?: { name: string };
        spans: {
          traceId: Buffer;
          spanId: Buffer;
          parentSpanId: Buffer;
          name: string;
          kind: number;
          startTimeUnixNano: string;
          endTimeUnixNano: string;
          attributes: { key: string; value?: AnyValue }[];
        }[];
      }[];
    }[];
  };
  const out: ReceivedSpan[] = [];
  for (const rs of msg.resourceSpans) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        out.push({
          traceId: Buffer.from(s.traceId).toString('hex'),
          spanId: Buffer.from(s.spanId).toString('hex'),
          parentSpanId: Buffer.from(s.parentSpanId).toString('hex'),
          name: s.name,
          kind: s.kind,
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          resource,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseMultipart(req: IncomingMessage, body: Buffer): Promise<Part[]> {
  return new Promise((resolve, reject) => {
    const parts: Part[] = [];
    const bb = busboy({ headers: req.headers });
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () =>
        parts.push({ name, filename: info.filename, contentType: info.mimeType, data: Buffer.concat(chunks) }),
      );
    });
    bb.on('field', (name, value, info) => parts.push({ name, contentType: info.mimeType, data: Buffer.from(value) }));
    bb.on('close', () => resolve(parts));
    bb.on('error', reject);
    bb.end(body);
  });
}

/** One HTTP server playing Jaeger's OTLP receiver, DataKit and Pyroscope at once. */
export class Receiver {
  readonly spans: ReceivedSpan[] = [];
  readonly traceRequests: { headers: IncomingMessage['headers']; spans: number }[] = [];
  readonly datakit: Upload[] = [];
  readonly pyroscope: Upload[] = [];
  readonly errors: string[] = [];
  /**
   * When set, decoded spans go here with the Unix time (ns) their request
   * arrived, instead of being kept: a long stream (the traces bench) is
   * analysed as it comes.
   */
  onSpans: ((spans: ReceivedSpan[], receivedNs: bigint) => void) | undefined;
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req)
        .then(() => {
          res.writeHead(200, {
            'content-type': req.url?.startsWith('/v1/traces') ? 'application/x-protobuf' : 'application/json',
          });
          res.end(req.url?.startsWith('/v1/traces') ? '' : '{}');
        })
        .catch((err: unknown) => {
          this.errors.push(String(err));
          res.writeHead(400);
          res.end(String(err));
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async handle(req: IncomingMessage): Promise<void> {
    const receivedNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    let body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'POST') throw new Error(`unexpected ${req.method} ${url.pathname}`);
    if (url.pathname === '/v1/traces') {
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const spans = decodeOtlp(body);
      if (this.onSpans) this.onSpans(spans, receivedNs);
      else this.spans.push(...spans);
      this.traceRequests.push({ headers: req.headers, spans: spans.length });
    } else if (url.pathname === '/profiling/v1/input') {
      this.datakit.push({
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        parts: await parseMultipart(req, body),
      });
    } else if (url.pathname === '/ingest') {
      this.pyroscope.push({
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        parts: await parseMultipart(req, body),
      });
    } else {
      throw new Error(`unexpected path ${url.pathname}`);
    }
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** Total samples and per-leaf-function samples of a (gzipped) pprof. */
export function pprofCounts(gz: Buffer): { total: number; byFunction: Map<string, number>; profile: Profile } {
  const profile = Profile.decode(gunzipSync(gz));
  const str = (i: number | bigint): string => profile.stringTable.strings[Number(i)]!;
  const fnOfLoc = new Map<number, string>();
  const fnName = new Map<number, string>();
  for (const f of profile.function) fnName.set(Number(f.id), str(f.name));
  for (const l of profile.location) fnOfLoc.set(Number(l.id), fnName.get(Number(l.line[0]!.functionId)) ?? '?');
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const s of profile.sample) {
    const n = Number(s.value[0]);
    total += n;
    // Inclusive counts: a function counts once per sample it is anywhere on the stack.
    for (const name of new Set(s.locationId.map((id) => fnOfLoc.get(Number(id))!)))
      byFunction.set(name, (byFunction.get(name) ?? 0) + n);
  }
  return { total, byFunction, profile };
}

/** speedscope's published schema, from the installed speedscope package. */
export function speedscopeSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('speedscope/package.json'));
  return JSON.parse(readFileSync(join(pkgDir, 'dist', 'release', 'file-format-schema.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}

type Schema = Record<string, unknown>;

/** Minimal JSON-Schema (draft-07) check for exactly the keywords speedscope's schema uses; unknown keywords fail. */
function validate(schema: Schema, root: Schema, v: unknown, path = '$'): string[] {
  const known = new Set([
    '$schema',
    'definitions',
    '$ref',
    'title',
    'type',
    'properties',
    'required',
    'items',
    'anyOf',
    'enum',
    'const',
  ]);
  for (const k of Object.keys(schema))
    if (!known.has(k)) return [`${path}: schema keyword ${k} not supported by this check`];
  if (schema.$ref) {
    const name = String(schema.$ref).replace('#/definitions/', '');
    const sub = (root.definitions as Record<string, Schema>)[name];
    if (!sub) return [`${path}: unknown $ref ${String(schema.$ref)}`];
    const errs = validate(sub, root, v, path);
    if (errs.length) return errs;
  }
  const type = schema.type as string | undefined;
  if (type) {
    const ok =
      type === 'object'
        ? typeof v === 'object' && v !== null && !Array.isArray(v)
        : type === 'array'
          ? Array.isArray(v)
          : type === 'number'
            ? typeof v === 'number' && Number.isFinite(v)
            : type === 'string'
              ? typeof v === 'string'
              : false;
    if (!ok) return [`${path}: expected ${type}`];
  }
  const errs: string[] = [];
  if ('const' in schema && v !== schema.const) errs.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(v))
    errs.push(`${path}: not one of ${JSON.stringify(schema.enum)}`);
  if (schema.required)
    for (const r of schema.required as string[]) if (!(r in (v as object))) errs.push(`${path}: missing ${r}`);
  if (schema.properties) {
    for (const [k, sub] of Object.entries(schema.properties as Record<string, Schema>)) {
      if (k in (v as object)) errs.push(...validate(sub, root, (v as Record<string, unknown>)[k], `${path}.${k}`));
    }
  }
  if (schema.items)
    (v as unknown[]).forEach((x, i) => errs.push(...validate(schema.items as Schema, root, x, `${path}[${i}]`)));
  if (schema.anyOf) {
    const alts = (schema.anyOf as Schema[]).map((s) => validate(s, root, v, path));
    if (!alts.some((e) => e.length === 0))
      errs.push(`${path}: matches no alternative (${alts.map((e) => e[0]).join(' | ')})`);
  }
  return errs;
}

/** Schema plus what speedscope's importer relies on beyond it: frame indices in range, one weight per sample. */
export function checkSpeedscope(file: unknown): string[] {
  const schema = speedscopeSchema();
  const errs = validate(schema, schema, file);
  if (errs.length) return errs;
  const f = file as {
    shared: { frames: unknown[] };
    profiles: { type: string; samples: number[][]; weights: number[]; endValue: number; startValue: number }[];
  };
  for (const [i, p] of f.profiles.entries()) {
    if (p.type !== 'sampled') continue;
    if (p.samples.length !== p.weights.length)
      errs.push(`profiles[${i}]: ${p.samples.length} samples but ${p.weights.length} weights`);
    for (const s of p.samples)
      for (const fr of s)
        if (!(Number.isInteger(fr) && fr >= 0 && fr < f.shared.frames.length))
          errs.push(`profiles[${i}]: frame ${fr} out of range`);
    const sum = p.weights.reduce((a, b) => a + b, 0);
    if (Math.abs(p.endValue - p.startValue - sum) > 1e-6 * Math.max(1, sum))
      errs.push(`profiles[${i}]: endValue does not match the weights`);
  }
  return errs;
}

/** A frame table over named frames: "fn:line" (firstLine is derived per function). */
export class Frames implements FrameTable {
  readonly infos: FrameInfo[] = [];
  private readonly ids = new Map<string, number>();
  id(spec: string): number {
    let id = this.ids.get(spec);
    if (id === undefined) {
      const [name, line] = spec.split(':');
      id = this.infos.length;
      this.infos.push({ name: name!, file: `/app/${name}.py`, line: Number(line ?? 1), firstLine: 1 });
      this.ids.set(spec, id);
    }
    return id;
  }
  get(id: number): FrameInfo {
    return this.infos[id]!;
  }
}
