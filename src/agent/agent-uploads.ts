/**
 * The agent's profile transport. `gauge record`'s uploaders post with
 * fetch + FormData + Blob, which costs about 3.6 ms of CPU per upload
 * (undici, web streams) against about 1 ms for node:http with a body built
 * as one Buffer — for one process nothing, for the agent (a window per
 * process per destination every interval) the largest part of its fixed
 * cost. The subclasses here send the same multipart parts and query as
 * DataKitUploader and PyroscopeUploader, over keep-alive connections that
 * every process's uploads to a destination share.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DataKitUploader, PyroscopeUploader, type UploadWindow } from '../export/uploads.js';

const REQUEST_TIMEOUT_MS = 15000;
/** Connections per destination host: hundreds of processes' windows queue for them instead of opening hundreds. */
const MAX_SOCKETS = 4;

const http = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
const https = new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });

export interface Part {
  name: string;
  filename: string;
  type: string;
  data: Buffer | string;
}

/** A multipart/form-data body, as FormData would send these parts. */
export function multipart(parts: readonly Part[]): { body: Buffer; contentType: string } {
  const boundary = `----gauge${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\n` +
          `Content-Type: ${p.type}\r\n\r\n`,
      ),
      typeof p.data === 'string' ? Buffer.from(p.data) : p.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function once(url: URL, body: Buffer, contentType: string): Promise<{ status: number; text: string; reused: boolean }> {
  const tls = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        agent: tls ? https : http,
        headers: { 'content-type': contentType, 'content-length': body.length },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      },
      (res: IncomingMessage) => {
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        let text = '';
        res.setEncoding('utf8');
        // A success's body is read and dropped (the connection is reused only once it is consumed).
        res.on('data', (d: string) => void (!ok && text.length < 200 && (text += d)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, reused: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(Object.assign(err, { reused: req.reusedSocket }) as Error & { reused: boolean }),
    );
    req.end(body);
  });
}

/** POST a body; rejects with the status and the start of the reply, as the fetch uploaders do. */
export async function post(what: string, url: string, body: Buffer, contentType: string): Promise<void> {
  const u = new URL(url);
  let r: { status: number; text: string };
  try {
    r = await once(u, body, contentType);
  } catch (err) {
    // A kept-alive connection the server closed while idle fails on reuse: one fresh try is not a failure.
    const e = err as { code?: string; reused?: boolean };
    if (!(e.reused && (e.code === 'ECONNRESET' || e.code === 'EPIPE'))) throw err;
    r = await once(u, body, contentType);
  }
  if (r.status >= 200 && r.status < 300) return;
  const text = r.text.slice(0, 200).replace(/\s+/g, ' ');
  throw new Error(`${what}: HTTP ${r.status}${text ? ` ${text}` : ''}`);
}

/** DataKitUploader's multipart (event.json + auto.pprof), over the shared connections. */
export class AgentDataKitUploader extends DataKitUploader {
  protected override async send(w: UploadWindow): Promise<void> {
    const event = this.event(w);
    const m = multipart([
      { name: 'event', filename: 'event.json', type: 'application/json', data: JSON.stringify(event) },
      { name: 'auto.pprof', filename: 'auto.pprof', type: 'application/octet-stream', data: w.pprofGz },
    ]);
    await post('datakit', this.url, m.body, m.contentType);
  }
}

/** PyroscopeUploader's /ingest query and "profile" part, over the shared connections. */
export class AgentPyroscopeUploader extends PyroscopeUploader {
  protected override async send(w: UploadWindow): Promise<void> {
    const q = this.ingestQuery(w);
    const m = multipart([
      { name: 'profile', filename: 'profile.pprof', type: 'application/octet-stream', data: w.pprofGz },
    ]);
    await post('pyroscope', `${this.base}/ingest?${q}`, m.body, m.contentType);
  }
}
