// Builds the native reader (native/build/libgauge.so) with the system C compiler.
// Run by `npm install`; libc only, so any C11 compiler will do.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build');
const sources = readdirSync(join(here, 'src'))
  .filter((f) => f.endsWith('.c'))
  .map((f) => join(here, 'src', f));

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
const flags = ['-std=gnu11', '-O2', '-g', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror=implicit-function-declaration',
  '-fvisibility=default', '-pthread'];
const args = [...flags, '-o', join(out, 'libgauge.so'), ...sources];
try {
  execFileSync(cc, args, { stdio: 'inherit' });
} catch {
  console.error('gauge: building the native reader failed (see the compiler output above).');
  process.exit(1);
}
console.log('gauge: built native/build/libgauge.so with ' + cc);
