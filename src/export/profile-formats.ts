/**
 * The profile file formats `record -o` and the TUI's save key write: their
 * names (py-spy's among them), the file names that imply one, and the
 * default for a name that implies none.
 */

export type ProfileFormat = 'speedscope' | 'pprof' | 'collapsed' | 'svg';
export const PROFILE_FORMATS: readonly ProfileFormat[] = ['speedscope', 'pprof', 'collapsed', 'svg'];

/** Other names for a format: py-spy users type `-f flamegraph` for the SVG. */
const FORMAT_ALIASES: Readonly<Record<string, ProfileFormat>> = { flamegraph: 'svg' };

/** Every name --format takes, for messages and --help. */
export const FORMAT_NAMES: readonly string[] = [...PROFILE_FORMATS, ...Object.keys(FORMAT_ALIASES)];

/** A file whose name implies no format gets a flame graph, as py-spy record writes by default. */
export const DEFAULT_FORMAT: ProfileFormat = 'svg';

/** The format a --format value names; undefined when it names none. */
export function formatByName(name: string): ProfileFormat | undefined {
  if ((PROFILE_FORMATS as readonly string[]).includes(name)) return name as ProfileFormat;
  return Object.hasOwn(FORMAT_ALIASES, name) ? FORMAT_ALIASES[name] : undefined;
}

/** Format from a file name; undefined when the extension says nothing. */
export function formatFromPath(path: string): ProfileFormat | undefined {
  const p = path.toLowerCase();
  if (p.endsWith('.speedscope.json') || p.endsWith('.json')) return 'speedscope';
  if (p.endsWith('.pb') || p.endsWith('.pb.gz') || p.endsWith('.pprof') || p.endsWith('.pprof.gz')) return 'pprof';
  if (p.endsWith('.txt') || p.endsWith('.folded') || p.endsWith('.collapsed')) return 'collapsed';
  if (p.endsWith('.svg')) return 'svg';
  return undefined;
}

/** The format a file is written in: the one asked for, else the one its name implies, else the default. */
export function formatFor(path: string, asked?: ProfileFormat): ProfileFormat {
  return asked ?? formatFromPath(path) ?? DEFAULT_FORMAT;
}
