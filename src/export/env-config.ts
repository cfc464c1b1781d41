/**
 * The environment variables OpenTelemetry and Datadog users already set, read
 * for the destinations gauge exports to. Flags always win; the environment
 * fills what no flag gave; gauge's own defaults come last. The OTLP endpoint
 * and headers are resolved by the OpenTelemetry exporter itself when no flag
 * names them (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces; OTEL_EXPORTER_OTLP_HEADERS), and
 * OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES by its resource env detector;
 * this file only answers what gauge must know before the SDK loads.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** DataKit's own listener port (the reference page's default), used when DD_TRACE_AGENT_PORT is not set. */
export const DEFAULT_DATAKIT_PORT = 9529;
export const DEFAULT_DATAKIT_HOST = '127.0.0.1';

function nonEmpty(s: string | undefined): string | undefined {
  const t = s?.trim();
  return t ? t : undefined;
}

/** Whether the environment names an OTLP traces endpoint (what the SDK would post to instead of localhost). */
export function otlpEndpointFromEnv(env: Env = process.env): string | undefined {
  const specific = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (specific) return specific;
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  return base ? base.replace(/\/*$/, '/') + 'v1/traces' : undefined;
}

/**
 * The Datadog-agent intake address dd-trace-py would use: DD_TRACE_AGENT_URL,
 * else http://DD_AGENT_HOST:DD_TRACE_AGENT_PORT; undefined when none is set.
 */
export function ddAgentUrlFromEnv(env: Env = process.env): string | undefined {
  const url = nonEmpty(env.DD_TRACE_AGENT_URL);
  if (url) return url;
  const host = nonEmpty(env.DD_AGENT_HOST);
  const port = nonEmpty(env.DD_TRACE_AGENT_PORT);
  if (!host && !port) return undefined;
  const h = host ?? DEFAULT_DATAKIT_HOST;
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port ?? DEFAULT_DATAKIT_PORT}`;
}

/** The intake address for a bare `--datakit`: the environment's, else DataKit on this host. */
export function datakitUrl(env: Env = process.env): string {
  return ddAgentUrlFromEnv(env) ?? `http://${DEFAULT_DATAKIT_HOST}:${DEFAULT_DATAKIT_PORT}`;
}

/** DD_TAGS: `k:v,k2:v2` or space separated, as dd-trace-py reads it; entries without a value are skipped. */
export function ddTags(env: Env = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (env.DD_TAGS ?? '').split(/[,\s]+/)) {
    const i = item.indexOf(':');
    if (i <= 0 || i === item.length - 1) continue;
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** Service, env and version for profile uploads: DD_* first (the intake's own convention), then OTEL_SERVICE_NAME. */
export function ddIdentity(env: Env = process.env): { service?: string; env?: string; version?: string } {
  return {
    service: nonEmpty(env.DD_SERVICE) ?? nonEmpty(env.OTEL_SERVICE_NAME),
    env: nonEmpty(env.DD_ENV),
    version: nonEmpty(env.DD_VERSION),
  };
}

/** The help text's note on a flag the environment can stand in for. */
export function envNote(...names: string[]): string {
  return ` (else ${names.join(', ')}; the flag wins)`;
}
