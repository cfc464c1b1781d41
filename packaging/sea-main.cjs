/* global require, process */
/* eslint-disable @typescript-eslint/no-require-imports -- a SEA main script is CommonJS */
// The single executable's entry (a Node SEA main script: CommonJS, Node built-ins only). The CLI bundle, koffi
// and the reader travel as SEA assets; the first run of each build extracts them into a private cache directory
// (${GAUGE_CACHE_DIR}, else $XDG_CACHE_HOME/gauge or ~/.cache/gauge, else $TMPDIR/gauge-UID), laid out like the npm
// package, and every run imports the bundle from there: native modules must be files to be loaded, and a SEA main
// script cannot import() an ES module itself, while a module loaded from disk can.
'use strict';
const sea = require('node:sea');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');

const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8'));
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(manifest.version + '\n');
} else {
  run();
}

function run() {
  let dir;
  try {
    dir = extracted();
  } catch (err) {
    process.stderr.write(`gauge: cannot unpack the reader: ${err.message} (set GAUGE_CACHE_DIR to a writable directory)\n`);
    process.exit(1);
  }
  // A SEA's argv is [executable, as invoked, ...args], which is what yargs' hideBin() expects.
  createRequire(path.join(dir, 'loader.cjs'))('./loader.cjs')(pathToFileURL(path.join(dir, 'app', 'main.js')).href)
    .then((m) => m.main(process.argv))
    .catch((err) => {
      process.stderr.write(`gauge: ${err && err.message ? err.message.split('\n')[0] : err}\n`);
      process.exit(1);
    });
}

/** A directory only this user can write: ours to create, or already ours and closed to others. */
function privateDir(d) {
  try {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(d);
    const uid = process.geteuid();
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function cacheBases() {
  const bases = [];
  if (process.env.GAUGE_CACHE_DIR) bases.push(process.env.GAUGE_CACHE_DIR);
  if (process.env.XDG_CACHE_HOME) bases.push(path.join(process.env.XDG_CACHE_HOME, 'gauge'));
  const home = process.env.HOME || os.homedir();
  if (home) bases.push(path.join(home, '.cache', 'gauge'));
  bases.push(path.join(os.tmpdir(), `gauge-${process.geteuid()}`));
  return bases;
}

/** The unpacked tree for this build (its name carries the build's hash), unpacked now if it is not there yet. */
function extracted() {
  let lastErr = new Error('no usable cache directory');
  for (const base of cacheBases()) {
    if (!privateDir(base)) continue;
    const dir = path.join(base, `${manifest.version}-${manifest.hash}`);
    if (fs.existsSync(path.join(dir, '.complete'))) return dir;
    try {
      const tmp = fs.mkdtempSync(path.join(base, '.unpack-'));
      for (const [rel, mode] of Object.entries(manifest.files)) {
        const file = path.join(tmp, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, new Uint8Array(sea.getRawAsset(rel)), { mode });
      }
      fs.writeFileSync(path.join(tmp, '.complete'), '');
      try {
        fs.renameSync(tmp, dir);
      } catch (err) {
        // Another run unpacked the same build first: use theirs.
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!fs.existsSync(path.join(dir, '.complete'))) throw err;
      }
      return dir;
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}
