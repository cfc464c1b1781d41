import { readFileSync } from 'node:fs';

/** Set by the bundler (packaging/bundle.mjs) to package.json's version; undefined in the tsc build. */
declare const __GAUGE_VERSION__: string | undefined;

/** The package version: the bundler's, else read once from package.json beside the sources. */
export const VERSION: string = (() => {
  if (typeof __GAUGE_VERSION__ === 'string') return __GAUGE_VERSION__;
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'gauge-profiler' && pkg.version) return pkg.version;
    } catch {
      // try the next layout
    }
  }
  return '0.0.0';
})();
