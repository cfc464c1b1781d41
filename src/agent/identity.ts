/**
 * Who a watched process is, for tags and resources: its service from its own
 * DD_SERVICE or OTEL_SERVICE_NAME (else its script's name), env and version
 * from its own DD_ENV/DD_VERSION (else the agent's --env/--version), its
 * CPython version, and the container and pod it runs in.
 */
import type { Attributes } from '@opentelemetry/api';
import { serviceFromCommand } from '../export/pipeline.js';
import { identityAttributes } from '../export/otlp.js';
import { containerIds } from './cgroup.js';
import { IDENTITY_VARIABLES, readVariables } from './environ.js';

export interface ProcessIdentity {
  pid: number;
  service: string;
  env?: string;
  version?: string;
  runtimeVersion: string;
  containerId?: string;
  podUid?: string;
}

export interface IdentityDefaults {
  env?: string;
  version?: string;
}

export function identify(
  pid: number,
  cmdline: string,
  runtimeVersion: string,
  defaults: IdentityDefaults,
): ProcessIdentity {
  const vars = readVariables(pid, IDENTITY_VARIABLES);
  const own = (v: string | undefined): string | undefined => (v?.trim() ? v.trim() : undefined);
  return {
    pid,
    service: own(vars.DD_SERVICE) ?? own(vars.OTEL_SERVICE_NAME) ?? serviceFromCommand(cmdline),
    env: own(vars.DD_ENV) ?? defaults.env,
    version: own(vars.DD_VERSION) ?? defaults.version,
    runtimeVersion,
    ...containerIds(pid),
  };
}

/** Tags beyond service/env/version/host/runtime/pid, which the uploaders already send. */
export function extraTags(id: ProcessIdentity): Record<string, string> {
  const out: Record<string, string> = {};
  if (id.containerId) out.container_id = id.containerId;
  if (id.podUid) out.pod_uid = id.podUid;
  return out;
}

/** OTLP resource attributes (the process's own identity wins over the agent's OTEL_* environment). */
export function resourceOf(id: ProcessIdentity): Attributes {
  const attrs: Attributes = {
    ...identityAttributes(id),
    'process.runtime.name': 'cpython',
    'process.runtime.version': id.runtimeVersion,
  };
  if (id.containerId) attrs['container.id'] = id.containerId;
  if (id.podUid) attrs['k8s.pod.uid'] = id.podUid;
  return attrs;
}
