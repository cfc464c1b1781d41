/**
 * Start-up wall time (issue 17): `gauge --version`, `gauge dump --pid` of a process with 8 idle threads and
 * `gauge top` to its first frame (on a pseudo-terminal, via script(1)), against `node -e 0`, interleaved
 * round by round so every variant sees the same machine load. Variants: the tsc build run the way bin/gauge
 * ran it before the bundle (dist/src/cli/main.js), bin/gauge of the packed npm package (installed from
 * `npm pack` into a temporary prefix), and the single executable (dist/gauge-linux-<arch>).
 *
 *   npm run build && node dist/bench/startup.js [--rounds 21] [--out bench/RESULTS.md]
 *
 * Writes the section "Start-up (issue 17)" of RESULTS.md and leaves the rest of the file alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, packageRoot, spread, type Spread } from './lib.js';

const root = packageRoot();
const HEADING = '## Start-up (issue 17)';
const IDLE8 = `
import threading, time
ev = threading.Event()
for i in range(8):
    threading.Thread(target=ev.wait, name=f"idle-{i}", daemon=True).start()
print("READY", flush=True)
time.sleep(3600)
`;

interface Variant {
  name: string;
  /** argv before gauge's own arguments; undefined: not part of this measurement (node -e 0). */
  argv: string[];
}

function parseArgs(argv: string[]): { rounds: number; out: string } {
  let rounds = 21;
  let out = join(root, 'bench', 'RESULTS.md');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') rounds = Number(argv[++i]);
    else if (argv[i] === '--out') out = argv[++i] ?? out;
    else {
      process.stderr.write(
        `startup: unknown option ${argv[i]}\nusage: node dist/bench/startup.js [--rounds N] [--out FILE]\n`,
      );
      process.exit(2);
    }
  }
  return { rounds, out };
}

function must(cmd: string, args: string[], cwd = root): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The packed npm package installed into a temporary prefix; returns its bin/gauge. */
function installPacked(work: string): string {
  must(process.execPath, [join(root, 'packaging', 'bundle.mjs')]);
  const packed = JSON.parse(must('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work])) as {
    filename: string;
  }[];
  const prefix = join(work, 'prefix');
  must('npm', [
    'install',
    '-g',
    '--prefix',
    prefix,
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    join(work, packed[0]!.filename),
  ]);
  return join(prefix, 'lib', 'node_modules', 'gauge-profiler', 'bin', 'gauge');
}

/** Wall milliseconds of one run to its exit. */
function timeRun(argv: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Wall milliseconds from spawn to the first frame of the interactive view (its header's "Samples"). */
function timeFirstFrame(argv: string[]): Promise<number> {
  const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '120', LINES: '40' },
      detached: true,
    });
    let seen = '';
    const stop = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no first frame from ${cmd} in 60 s: ${JSON.stringify(seen.slice(-300))}`));
    }, 60000);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ended before its first frame: ${JSON.stringify(seen.slice(-300))}`));
    });
    child.stdout!.on('data', (b: Buffer) => {
      seen += b.toString();
      if (/Samples \d+/.test(seen)) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        clearTimeout(timer);
        stop();
        resolve(ms);
      }
    });
  });
}

function startTarget(): Promise<{ pid: number; stop: () => void }> {
  const child = spawn('python3', ['-c', IDLE8], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('READY')) resolve({ pid: child.pid!, stop: () => child.kill('SIGKILL') });
    });
    child.on('exit', (code) => reject(new Error(`python3 target exited (${code})`)));
  });
}

async function main(): Promise<void> {
  const { rounds, out } = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'gauge-startup-'));
  try {
    // The entry bin/gauge had before the bundle: import the tsc build, no --version shortcut.
    const oldEntry = join(work, 'old-gauge.mjs');
    writeFileSync(
      oldEntry,
      `import(${JSON.stringify(join(root, 'dist', 'src', 'cli', 'main.js'))}).then((m) => m.main(process.argv));\n`,
    );
    const exe = join(root, 'dist', `gauge-linux-${process.arch}`);
    if (!existsSync(exe)) must(process.execPath, [join(root, 'packaging', 'build-exe.mjs')]);
    const variants: Variant[] = [
      { name: 'bin/gauge before (tsc build)', argv: [process.execPath, oldEntry] },
      { name: 'bin/gauge, packed npm package', argv: [process.execPath, installPacked(work)] },
      { name: 'single executable', argv: [exe] },
    ];
    const target = await startTarget();
    const commands: { name: string; args: string[]; firstFrame?: boolean }[] = [
      { name: '`gauge --version`', args: ['--version'] },
      { name: '`gauge dump --pid` (8 idle threads)', args: ['dump', '--pid', String(target.pid)] },
      { name: '`gauge top --pid` to first frame', args: ['top', '--pid', String(target.pid)], firstFrame: true },
    ];
    const node: number[] = [];
    const nodeTty: number[] = [];
    const times = new Map<string, number[]>();
    const key = (c: string, v: string) => `${c}\u0000${v}`;
    try {
      // Warm-up: file cache, and the single executable's one-time unpacking.
      timeRun([process.execPath, '-e', '0']);
      for (const v of variants) for (const c of commands) if (!c.firstFrame) timeRun([...v.argv, ...c.args]);
      for (let r = 0; r < rounds; r++) {
        for (const c of commands) {
          // Node's own start-up right before each command's runs, and the variants in a rotating order.
          if (c.firstFrame)
            nodeTty.push(await timeFirstFrame([process.execPath, '-e', 'process.stdout.write("Samples 0")']));
          else node.push(timeRun([process.execPath, '-e', '0']));
          for (let i = 0; i < variants.length; i++) {
            const v = variants[(i + r) % variants.length]!;
            const argv = [...v.argv, ...c.args];
            const ms = c.firstFrame ? await timeFirstFrame(argv) : timeRun(argv);
            times.set(key(c.name, v.name), [...(times.get(key(c.name, v.name)) ?? []), ms]);
          }
        }
        process.stdout.write(`round ${r + 1}/${rounds}\n`);
      }
    } finally {
      target.stop();
    }

    const n = spread(node);
    const nt = spread(nodeTty);
    const ratio = (s: Spread, base: Spread) => `${(s.median / base.median).toFixed(2)}×`;
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const lines = [
      HEADING,
      '',
      `Wall milliseconds, median (min–max) of ${rounds} rounds; in each round every command runs once per variant,`,
      `in a rotating order, right after a run of \`node\` alone (the baseline its ratio is taken to)`,
      `(\`npm run build && node dist/bench/startup.js\`, ${new Date().toISOString().slice(0, 10)}, node ${process.version},`,
      `load average ${load} at the end: a busy 2-core machine, so compare the ratios, which are paired in one run).`,
      `\`node -e 0\`: ${fmt(n)} ms. "to first frame" is measured on a pseudo-terminal (script(1)); its baseline is`,
      `\`node -e\` writing one line through the same pseudo-terminal: ${fmt(nt)} ms.`,
      '',
      `| Command | ${variants.map((v) => v.name).join(' | ')} |`,
      `|---|${variants.map(() => '---').join('|')}|`,
    ];
    for (const c of commands) {
      const base = c.firstFrame ? nt : n;
      const cells = variants.map((v) => {
        const s = spread(times.get(key(c.name, v.name))!);
        return `${fmt(s, 0)} = ${ratio(s, base)}`;
      });
      lines.push(`| ${c.name} | ${cells.join(' | ')} |`);
    }
    lines.push(
      '',
      'Ratios are to the matching `node` baseline. The packed package runs one esbuild bundle (Ink, React and',
      'the OpenTelemetry SDK in chunks only `top` and the exporters load) and answers `--version` before loading',
      'the CLI; the single executable does the same from its unpacked cache (unpacked once per build, on first run).',
      '',
    );
    const section = lines.join('\n');
    process.stdout.write(section + '\n');
    const old = existsSync(out) ? readFileSync(out, 'utf8') : '# gauge benchmark results\n';
    const start = old.indexOf(HEADING);
    let next = start < 0 ? -1 : old.indexOf('\n## ', start + HEADING.length);
    if (next >= 0) next += 1;
    const updated =
      start < 0
        ? old.replace(/\n*$/, '\n\n') + section
        : old.slice(0, start) + section + (next >= 0 ? '\n' + old.slice(next) : '');
    writeFileSync(out, updated);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`startup: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
