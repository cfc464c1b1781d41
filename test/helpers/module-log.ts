/**
 * A module resolve hook (node:module register) that appends every URL the
 * ES module loader resolves to the file named at registration, one a line:
 * what a gauge run really loads, as the loader saw it. Loaded by
 * module-log-register.ts through `node --import`.
 */
import { appendFileSync } from 'node:fs';

let file = '';

export function initialize(data: { file: string }): void {
  file = data.file;
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const r = await next(specifier, context);
  appendFileSync(file, r.url + '\n');
  return r;
}
