/**
 * Container id and Kubernetes pod uid of a process, from the paths in
 * /proc/PID/cgroup — what Datadog's and OpenTelemetry's detectors read.
 * cgroup v1 and v2, Docker, containerd, CRI-O and podman spellings:
 *   0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b_3c4d.slice/cri-containerd-<64 hex>.scope
 *   12:cpu,cpuacct:/kubepods/besteffort/pod1a2b-3c4d/<64 hex>
 *   0::/system.slice/docker-<64 hex>.scope
 */
import { readFileSync } from 'node:fs';

export interface ContainerIds {
  containerId?: string;
  podUid?: string;
}

const CONTAINER = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/;
const POD = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

/** Ids found in the text of a /proc/PID/cgroup file. */
export function parseCgroup(text: string): ContainerIds {
  const out: ContainerIds = {};
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    for (const part of path.split('/')) {
      const c = CONTAINER.exec(part);
      if (c && !out.containerId) out.containerId = c[1];
      const p = POD.exec(part);
      if (p && !out.podUid) out.podUid = p[1]!.replace(/_/g, '-');
    }
  }
  return out;
}

/** Container id and pod uid of pid; {} outside containers or when unreadable. */
export function containerIds(pid: number): ContainerIds {
  try {
    return parseCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    // Gone, or no cgroup file: not in a container we can tell.
    return {};
  }
}
