/* global process, console */
// `npm run build:exe`: gauge as one file, dist/gauge-linux-<arch>, a Node single executable application
// (https://nodejs.org/api/single-executable-applications.html) that needs neither Node nor a compiler on the box.
// It is this machine's node binary with a SEA blob injected (postject): the main script packaging/sea-main.cjs,
// and as assets the CLI bundle (packaging/bundle.mjs) with koffi's native module for this arch, and
// the prebuilt reader (native/prebuilt/linux-<arch>, built by `node native/build.mjs`).
// Only the host's architecture: the executable is the running node binary, so an arm64 one needs an arm64 node.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const arch = process.arch;
const work = join(root, 'dist', 'exe');
const output = join(root, 'dist', `gauge-linux-${arch}`);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit', cwd: root });

if (process.platform !== 'linux') throw new Error('gauge: the single executable is built on Linux only');
const lib = join(root, 'native', 'prebuilt', `linux-${arch}`, 'libgauge.so');
if (!existsSync(lib)) run(process.execPath, [join(root, 'native', 'build.mjs')]);

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
run(process.execPath, [join(root, 'packaging', 'bundle.mjs'), join(work, 'app')]);
writeFileSync(join(work, 'loader.cjs'), 'module.exports = (url) => import(url);\n');

// Asset name = path inside the unpacked tree, which mirrors the npm package's layout. Of koffi's native modules
// (app/koffi/<triplet>/koffi.node) only this architecture's travel.
const files = {};
const add = (rel, src) => (files[rel] = src);
const walk = (dir, rel) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
    else add(`${rel}${e.name}`, join(dir, e.name));
  }
};
walk(join(work, 'app'), 'app/');
for (const rel of Object.keys(files))
  if (rel.startsWith('app/koffi/') && !rel.match(new RegExp(`^app/koffi/(linux|musl)_${arch}/`))) delete files[rel];
add('loader.cjs', join(work, 'loader.cjs'));
add(`native/prebuilt/linux-${arch}/libgauge.so`, lib);

const hash = createHash('sha256');
const manifestFiles = {};
for (const [rel, src] of Object.entries(files).sort()) {
  hash.update(rel).update(readFileSync(src));
  manifestFiles[rel] = statSync(src).mode & 0o111 ? 0o755 : 0o644;
}
const manifest = { version, hash: hash.digest('hex').slice(0, 16), files: manifestFiles };
writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest));
const assets = { 'manifest.json': join(work, 'manifest.json') };
for (const [rel, src] of Object.entries(files)) assets[rel] = src;

const blob = join(work, 'sea-prep.blob');
writeFileSync(
  join(work, 'sea-config.json'),
  JSON.stringify({
    main: join(root, 'packaging', 'sea-main.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    assets,
  }),
);
run(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')]);
copyFileSync(process.execPath, output);
run(process.execPath, [
  join(root, 'node_modules', 'postject', 'dist', 'cli.js'),
  output,
  'NODE_SEA_BLOB',
  blob,
  '--sentinel-fuse',
  'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
]);
console.log(`gauge: built ${relative(root, output)} (${(statSync(output).size / 1e6).toFixed(0)} MB)`);
