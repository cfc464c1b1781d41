/* global process, console */
// One bundle of the CLI (esbuild), for the packed npm package and the single executable: every JavaScript
// dependency inlined, the TUI (Ink, React) and the OpenTelemetry SDK in chunks of their own that only
// `top` and the exporters load. koffi is its native module alone, copied beside the bundle for Linux x64 and
// arm64 (glibc and musl): its index.js would also load https, zlib and crypto for its installer on every start.
//   node packaging/bundle.mjs [outdir]     default dist/pkg (what bin/gauge runs when present)
import { build } from 'esbuild';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const outdir = resolve(process.argv[2] ?? join(root, 'dist', 'pkg'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const koffiDir = dirname(createRequire(import.meta.url).resolve('koffi/package.json'));
const KOFFI_TRIPLETS = ['linux_x64', 'linux_arm64', 'musl_x64', 'musl_arm64'];

// `import koffi from 'koffi'` in the bundle: the native module for this platform, as koffi's index.js finds it.
const koffiShim = `
import { createRequire } from 'node:module';
const nodeRequire = createRequire(import.meta.url);
const tries = process.platform === 'linux' ? ['linux_' + process.arch, 'musl_' + process.arch] : [process.platform + '_' + process.arch];
let native, first;
for (const t of tries) {
  try { native = nodeRequire('./koffi/' + t + '/koffi.node'); break; } catch (err) { first = first || err; }
}
if (!native) throw first;
export default native;
`;
const koffiNative = {
  name: 'koffi-native',
  setup(b) {
    b.onResolve({ filter: /^koffi$/ }, () => ({ path: 'koffi', namespace: 'koffi-native' }));
    b.onLoad({ filter: /.*/, namespace: 'koffi-native' }, () => ({ contents: koffiShim, loader: 'js', resolveDir: root }));
  },
};

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
  // react-devtools-core: Ink imports it only with DEV=true, never in gauge.
  external: ['react-devtools-core'],
  plugins: [koffiNative],
  define: { __GAUGE_VERSION__: JSON.stringify(version), 'process.env.NODE_ENV': '"production"' },
  // CommonJS dependencies call require() for Node built-ins; an ES module has none of its own.
  banner: { js: "import{createRequire as __gaugeRequire}from'node:module';const require=__gaugeRequire(import.meta.url);" },
  logLevel: 'warning',
});
for (const t of KOFFI_TRIPLETS)
  cpSync(join(koffiDir, 'build', 'koffi', t, 'koffi.node'), join(outdir, 'koffi', t, 'koffi.node'));
console.log(`gauge: bundled the CLI into ${outdir}`);
