/**
 * Named variables from another process's environment (/proc/PID/environ).
 * That file holds the process's secrets (tokens, passwords, keys), so only
 * the names asked for are decoded; the rest is never turned into strings,
 * never logged, exported or kept, and the buffer is zeroed before it is let go.
 */
import { readFileSync } from 'node:fs';

/** The variables the agent reads: a process's own service identity. */
export const IDENTITY_VARIABLES = ['DD_SERVICE', 'OTEL_SERVICE_NAME', 'DD_ENV', 'DD_VERSION'] as const;
export type IdentityVariable = (typeof IDENTITY_VARIABLES)[number];

/** The values of `names` in a NUL-separated environ block; other entries are skipped without being decoded. */
export function pickVariables<N extends string>(block: Buffer, names: readonly N[]): Partial<Record<N, string>> {
  const out: Partial<Record<N, string>> = {};
  const prefixes = names.map((n) => Buffer.from(n + '='));
  let start = 0;
  while (start < block.length) {
    let end = block.indexOf(0, start);
    if (end < 0) end = block.length;
    for (let i = 0; i < prefixes.length; i++) {
      const p = prefixes[i]!;
      if (end - start >= p.length && block.compare(p, 0, p.length, start, start + p.length) === 0) {
        out[names[i]!] = block.toString('utf8', start + p.length, end);
        break;
      }
    }
    start = end + 1;
  }
  return out;
}

/** The named variables of pid's environment; {} when it cannot be read (gone, or not ours). */
export function readVariables<N extends string>(pid: number, names: readonly N[]): Partial<Record<N, string>> {
  let block: Buffer;
  try {
    block = readFileSync(`/proc/${pid}/environ`);
  } catch {
    // Gone or not readable: the process then has no identity of its own and gets its script's name.
    return {};
  }
  try {
    return pickVariables(block, names);
  } finally {
    block.fill(0);
  }
}
