// Builds the native reader with the system C compiler. libc only, so any C11 compiler will do; warnings are errors.
//   node native/build.mjs            this machine's reader (native/build/libgauge.so), copied to
//                                    native/prebuilt/linux-<arch>/, and the other architecture's prebuilt
//                                    reader when its cross compiler is installed (Debian: gcc-aarch64-linux-gnu)
//   node native/build.mjs --install  the npm install hook: nothing when a prebuilt reader for this
//                                    platform/arch is there and libc is glibc (a packed gauge-profiler), else as above
//   node native/build.mjs --all      as the default, but both prebuilt readers are required (npm pack)
//   node native/build.mjs --lint     the C static check instead (cppcheck, configured here once)
// On glibc every build force-includes native/compat/glibc-2.17.h, so the readers need no glibc newer than 2.17.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build');
const sources = readdirSync(join(here, 'src'))
  .filter((f) => f.endsWith('.c'))
  .map((f) => join(here, 'src', f));
const flags = ['-std=gnu11', '-O2', '-g', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', '-fvisibility=default',
  '-pthread'];
// The glibc pin: older symbol versions (see the header), and libpthread named, where pthread_create lived before 2.34.
const glibcFlags = ['-include', join(here, 'compat', 'glibc-2.17.h')];
const glibcLibs = ['-Wl,--no-as-needed', '-l:libpthread.so.0'];
// Prebuilt readers: native/prebuilt/linux-<process.arch>/libgauge.so, and the compiler that makes each off its host.
const CROSS = { x64: 'x86_64-linux-gnu-gcc', arm64: 'aarch64-linux-gnu-gcc' };
const isGlibc = process.platform === 'linux' && Boolean(process.report?.getReport().header.glibcVersionRuntime);

if (process.argv.includes('--lint')) lint();
else if (process.argv.includes('--install') && isGlibc && existsSync(prebuiltPath(process.arch))) {
  console.log(`gauge: using the prebuilt reader native/prebuilt/linux-${process.arch}/libgauge.so`);
} else {
  build();
  prebuilt(process.argv.includes('--all'));
}

/*
 * Put a built library in place by rename, never by writing over it: a running gauge has the old
 * file mapped, and rewriting its pages under it ends in SIGBUS.
 */
function replaceFile(from, to) {
  const tmp = `${to}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

function prebuiltPath(arch) {
  return join(here, 'prebuilt', `linux-${arch}`, 'libgauge.so');
}

function works(cc) {
  return spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The other architecture's reader, with its cross compiler; `required` (npm pack) fails without it. */
function prebuilt(required) {
  if (!isGlibc) return;
  mkdirSync(dirname(prebuiltPath(process.arch)), { recursive: true });
  replaceFile(join(out, 'libgauge.so'), prebuiltPath(process.arch));
  for (const [arch, cc] of Object.entries(CROSS)) {
    if (arch === process.arch) continue;
    if (!works(cc)) {
      const why = `gauge: no ${cc}: the linux-${arch} prebuilt reader is not built (Debian: apt-get install gcc-${cc.replace(/-linux-gnu-gcc$/, '').replace('_', '-')}-linux-gnu)`;
      if (required) {
        console.error(why);
        process.exit(1);
      }
      console.log(why);
      continue;
    }
    mkdirSync(dirname(prebuiltPath(arch)), { recursive: true });
    try {
      execFileSync(cc, [...flags, ...glibcFlags, '-o', prebuiltPath(arch), ...sources, ...glibcLibs], { stdio: 'inherit' });
    } catch {
      console.error(`gauge: cross-building the linux-${arch} reader failed (see the compiler output above).`);
      process.exit(1);
    }
    console.log(`gauge: built native/prebuilt/linux-${arch}/libgauge.so with ${cc}`);
  }
}

function build() {
  const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  const cc = candidates.find(works);
  if (!cc) {
    console.error(
      'gauge: no C compiler found (tried ' + candidates.join(', ') + ').\n' +
        'Install one, e.g. `sudo apt-get install gcc` (Debian/Ubuntu) or `sudo dnf install gcc`, then run `npm install` again.',
    );
    process.exit(1);
  }
  mkdirSync(out, { recursive: true });
  const args = isGlibc
    ? [...flags, ...glibcFlags, '-o', join(out, 'libgauge.so'), ...sources, ...glibcLibs]
    : [...flags, '-o', join(out, 'libgauge.so'), ...sources];
  try {
    execFileSync(cc, args, { stdio: 'inherit' });
  } catch {
    console.error('gauge: building the native reader failed (see the compiler output above).');
    process.exit(1);
  }
  console.log('gauge: built native/build/libgauge.so with ' + cc);
}

// cppcheck's bug-finding checks (not its style opinions) over native/src; any finding fails.
function lint() {
  if (spawnSync('cppcheck', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error('gauge: cppcheck not found; the C static check needs it (Debian/Ubuntu: `sudo apt-get install cppcheck`).');
    process.exit(2);
  }
  const args = ['--enable=warning,portability,performance', '--std=c11', '--inline-suppr', '--error-exitcode=1', '--quiet',
    '--template={file}:{line}: {severity} [{id}] {message}',
    // attach.c: `order` is filled by three disjoint passes over at most 256 files; cppcheck cannot see that.
    '--suppress=uninitvar:*/attach.c',
    '-I', join(here, 'include'), join(here, 'src')];
  const r = spawnSync('cppcheck', args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('gauge: cppcheck found problems in native/src (above).');
    process.exit(1);
  }
  console.log('gauge: cppcheck clean on native/src');
}
