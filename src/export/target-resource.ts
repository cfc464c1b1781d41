/**
 * What the spans' resource says about the profiled process (OpenTelemetry
 * semantic conventions: process.*, host.*), so a backend shows which
 * interpreter, command and host a trace came from — and `profiler: gauge`
 * on every span tells sampled spans from the application's instrumented ones.
 */
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { arch, hostname } from 'node:os';
import type { Attributes } from '@opentelemetry/api';
import type { ProcessInfo } from '../sampling/types.js';

/** Marker on every span gauge builds from samples. */
export const PROFILER_ATTRIBUTES: Attributes = { profiler: 'gauge' };

/** The executable's base name: /proc/PID/exe's target, else the command's first word. */
function executableName(pid: number, cmdline: string): string {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, ''));
  } catch {
    // Not ours to read (another user, hidepid) or gone: the command line still names it.
    return basename(cmdline.split(' ')[0] ?? '');
  }
}

const HOST_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  ia32: 'x86',
  arm: 'arm32',
  ppc64: 'ppc64',
  s390x: 's390x',
};

/** Resource attributes of one profiled process; absent facts are left out. */
export function processAttributes(pid: number, info: ProcessInfo | undefined): Attributes {
  const attrs: Attributes = {
    'process.pid': pid,
    'process.runtime.name': 'CPython',
    'host.name': hostname(),
    'host.arch': HOST_ARCH[arch()] ?? arch(),
  };
  if (info?.pythonVersion) attrs['process.runtime.version'] = info.pythonVersion;
  if (info?.cmdline) attrs['process.command_line'] = info.cmdline;
  const exe = executableName(pid, info?.cmdline ?? '');
  if (exe) attrs['process.executable.name'] = exe;
  return attrs;
}
