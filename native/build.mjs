// Builds the native reader (native/build/libgauge.so) with the system C compiler.
// Run by `npm install`; libc only, so any C11 compiler will do. Warnings are errors.
// `node native/build.mjs --lint` runs the C static check instead (cppcheck, configured here once).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build');
const sources = readdirSync(join(here, 'src'))
  .filter((f) => f.endsWith('.c'))
  .map((f) => join(here, 'src', f));

if (process.argv.includes('--lint')) lint();
else build();

function build() {
  const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  const cc = candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
  if (!cc) {
    console.error(
      'gauge: no C compiler found (tried ' + candidates.join(', ') + ').\n' +
        'Install one, e.g. `sudo apt-get install gcc` (Debian/Ubuntu) or `sudo dnf install gcc`, then run `npm install` again.',
    );
    process.exit(1);
  }
  mkdirSync(out, { recursive: true });
  const flags = ['-std=gnu11', '-O2', '-g', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', '-fvisibility=default',
    '-pthread'];
  const args = [...flags, '-o', join(out, 'libgauge.so'), ...sources];
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
