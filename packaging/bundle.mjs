/* global process, console */
// One bundle of the CLI (esbuild), for the packed npm package and the single executable: every JavaScript
// dependency inlined, the TUI (Ink, React) and the OpenTelemetry SDK in chunks of their own that only
// `top` and the exporters load. koffi stays outside (its native module is found beside it at run time).
//   node packaging/bundle.mjs [outdir]     default dist/pkg (what bin/gauge runs when present)
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdir = resolve(process.argv[2] ?? join(root, 'dist', 'pkg'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'linked',
  // koffi: native; react-devtools-core: Ink imports it only with DEV=true, never in gauge.
  external: ['koffi', 'react-devtools-core'],
  define: { __GAUGE_VERSION__: JSON.stringify(version), 'process.env.NODE_ENV': '"production"' },
  // CommonJS dependencies call require() for Node built-ins; an ES module has none of its own.
  banner: { js: "import{createRequire as __gaugeRequire}from'node:module';const require=__gaugeRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log(`gauge: bundled the CLI into ${outdir}`);
