/**
 * Packaging (issue 17): the prebuilt readers ask for no glibc newer than 2.17; the packed npm package installs
 * and dumps a 3.12 target with no C compiler on PATH; the single executable (`npm run build:exe`) dumps and
 * samples a Python process inside a minimal Debian root that has neither node nor a compiler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingReason, pythonFor } from './helpers/pythons.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BASELINE: [number, number] = [2, 17];

/** Three threads waiting on an Event under a recognisable name; prints READY when all are in place. */
const IDLE_TARGET = `
import threading, time
ev = threading.Event()
def parked_worker():
    ev.wait()
for i in range(3):
    threading.Thread(target=parked_worker, name=f"parked-{i}", daemon=True).start()
print("READY", flush=True)
time.sleep(3600)
`;

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Every glibc symbol version the library needs, with the symbols that need it. */
function glibcNeeds(lib: string): Map<string, string[]> {
  const r = spawnSync('objdump', ['-T', lib], { encoding: 'utf8' });
  assert.equal(r.status, 0, `objdump -T ${lib}: ${r.stderr}`);
  const needs = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const m = /\*UND\*.*\(?(GLIBC_[0-9.]+)\)?\s+(\S+)$/.exec(line);
    if (m) needs.set(m[1], [...(needs.get(m[1]) ?? []), m[2]]);
  }
  return needs;
}

function newerThanBaseline(version: string): boolean {
  const [major, minor] = version.replace('GLIBC_', '').split('.').map(Number);
  return major > BASELINE[0] || (major === BASELINE[0] && (minor ?? 0) > BASELINE[1]);
}

for (const [arch, fileSays] of [
  ['x64', 'x86-64'],
  ['arm64', 'aarch64'],
] as const) {
  const lib = join(root, 'native', 'prebuilt', `linux-${arch}`, 'libgauge.so');
  const cross = arch === 'arm64' ? 'aarch64-linux-gnu-gcc' : 'x86_64-linux-gnu-gcc';
  const skip =
    !existsSync(lib) && arch !== process.arch && !has(cross)
      ? `no ${cross} to build the linux-${arch} reader (.ci/run installs it)`
      : undefined;
  test(`glibc baseline: prebuilt linux-${arch} reader needs nothing newer than GLIBC_2.17`, { skip }, () => {
    assert.ok(existsSync(lib), `${lib} missing: \`node native/build.mjs\` builds it`);
    const file = spawnSync('file', ['-b', lib], { encoding: 'utf8' });
    assert.equal(file.status, 0, 'file(1) is needed');
    assert.match(file.stdout, new RegExp(`ELF 64-bit LSB shared object, .*${fileSays}`));
    const needs = glibcNeeds(lib);
    // The library does use glibc: an empty list would mean the parse failed, not that all is well.
    assert.ok(needs.size > 0, `no GLIBC version needs read from ${lib}`);
    const tooNew = [...needs].filter(([v]) => newerThanBaseline(v)).map(([v, syms]) => `${v}: ${syms.join(', ')}`);
    assert.deepEqual(tooNew, [], `symbols newer than GLIBC_2.17 in linux-${arch}/libgauge.so`);
  });
}

/** A PATH of the same programs minus every C compiler. */
function pathWithoutCompilers(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const compiler = /^(cc|c89|c99|gcc|clang|tcc|cpp)([-.0-9]*)$|-(gcc|cc|clang)(-[0-9.]+)?$|^clang/;
  const seen = new Set<string>();
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d || !existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (compiler.test(name) || seen.has(name)) continue;
      seen.add(name);
      symlinkSync(join(d, name), join(dir, name));
    }
  }
  return dir;
}

function startTarget(exe: string): Promise<ChildProcess> {
  const child = spawn(exe, ['-c', IDLE_TARGET], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('target not READY in 60 s')), 60000);
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`target exited (${code})`)));
  });
}

const py312 = pythonFor('3.12');
test(
  'npm pack, then npm install -g of the tarball with no C compiler on PATH: gauge dump reads a 3.12 target',
  { skip: py312 ? undefined : missingReason('3.12'), timeout: 600000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'gauge-pack-'));
    try {
      // What `npm pack` runs as prepack (native/build.mjs --all, bundle.mjs), minus the cross build that
      // `npm run build` did already; the pack itself runs no scripts.
      assert.ok(existsSync(join(root, 'native', 'prebuilt', `linux-${process.arch}`, 'libgauge.so')));
      const bundle = spawnSync(process.execPath, [join(root, 'packaging', 'bundle.mjs')], { encoding: 'utf8' });
      assert.equal(bundle.status, 0, bundle.stderr);
      const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
        cwd: root,
        encoding: 'utf8',
      });
      assert.equal(pack.status, 0, pack.stderr);
      const tarball = join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0].filename);

      const PATH = pathWithoutCompilers(join(work, 'bin'));
      const env = { ...process.env, PATH };
      assert.notEqual(
        spawnSync('sh', ['-c', 'command -v cc || command -v gcc || command -v clang'], { env }).status,
        0,
      );
      const prefix = join(work, 'prefix');
      const install = spawnSync(
        'npm',
        ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
        { env, encoding: 'utf8', timeout: 300000 },
      );
      assert.equal(install.status, 0, install.stdout + install.stderr);

      const target = await startTarget(py312!.exe);
      try {
        const r = spawnSync(join(prefix, 'bin', 'gauge'), ['dump', '--pid', String(target.pid)], {
          env,
          encoding: 'utf8',
          timeout: 120000,
        });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /Python v3\.12\./);
        assert.equal(r.stdout.match(/^ +parked_worker \(/gm)?.length, 3, r.stdout);
        assert.match(r.stdout, /"parked-2"/);
      } finally {
        target.kill('SIGKILL');
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);

const chrootSkip =
  process.getuid?.() !== 0
    ? 'needs root (unshare and chroot)'
    : !has('unshare') || !has('chroot')
      ? 'unshare or chroot not installed (util-linux, coreutils)'
      : undefined;
test(
  'single executable in a Debian minbase root with no node and no compiler: dump and top --batch',
  { skip: chrootSkip, timeout: 1800000 },
  (t) => {
    // Built once and kept outside the repository; exit 3/4: no debootstrap, no mirror (reported as a skip).
    const rootfs = spawnSync('bash', [join(root, 'packaging', 'minbase-rootfs.sh')], {
      encoding: 'utf8',
      timeout: 1500000,
    });
    if (rootfs.status === 3 || rootfs.status === 4) {
      t.skip(`no minimal Debian root: ${rootfs.stderr.trim()}`);
      return;
    }
    assert.equal(rootfs.status, 0, rootfs.stderr);
    const dir = rootfs.stdout.trim();

    const build = spawnSync(process.execPath, [join(root, 'packaging', 'build-exe.mjs')], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    mkdirSync(join(dir, 'opt'), { recursive: true });
    copyFileSync(join(root, 'dist', `gauge-linux-${process.arch}`), join(dir, 'opt', 'gauge'));
    // Each run unpacks afresh, as on a new box.
    rmSync(join(dir, 'root', '.cache', 'gauge'), { recursive: true, force: true });

    const inRoot = (script: string) =>
      spawnSync(
        'unshare',
        ['--fork', '--pid', `--mount-proc=${join(dir, 'proc')}`, 'chroot', dir, '/bin/sh', '-c', script],
        { encoding: 'utf8', timeout: 300000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' } },
      );
    const tools = inRoot('for c in node nodejs cc gcc clang; do command -v $c; done; command -v python3');
    assert.equal(tools.stdout.trim(), '/usr/bin/python3', `the root must have python3 and no node or compiler`);

    const r = inRoot(`
      python3 -c '${IDLE_TARGET.replace(/'/g, '"')}' > /tmp/target.out &
      while ! grep -q READY /tmp/target.out; do sleep 0.1; done
      /opt/gauge --version
      echo "== dump"; /opt/gauge dump --pid $!; echo "dump exit $?"
      echo "== top"; /opt/gauge top --batch --idle --duration 2 --pid $!; echo "top exit $?"
      kill $!`);
    assert.equal(r.status, 0, r.stderr);
    const [head, dump, top] = r.stdout.split(/^== \w+$/m);
    assert.match(head, /^\d+\.\d+\.\d+/);
    assert.match(dump, /dump exit 0/, r.stderr);
    assert.match(dump, /Python v3\.11\./);
    assert.equal(dump.match(/^ +parked_worker \(/gm)?.length, 3, dump);
    assert.match(top, /top exit 0/, r.stderr);
    const samples = Number(/Samples (\d+)/.exec(top)?.[1] ?? 0);
    assert.ok(samples > 0, top);
    assert.match(top, /parked_worker/);
  },
);
