/**
 * The command line as a py-spy or Tachyon user types it (issue 12): unknown
 * options are errors with a suggestion, -d is the duration on every command,
 * -g is --gil, --mode names what is counted, and every bad value is one line
 * pointing at --help. The runs that sample use a real interpreter.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { children, fixtures, killChildren, runGauge, type Run } from './helpers/top-output.js';
import { requirePythons } from './helpers/pythons.js';

const tmp = mkdtempSync(join(tmpdir(), 'gauge-cli-'));
after(() => {
  killChildren();
  rmSync(tmp, { recursive: true, force: true });
});

const python = (): string => requirePythons().at(-1)!.exe;

/** A usage error: exit 2, one line on stderr that matches, ends by pointing at the help, and no help dump. */
function usageLine(r: Run, pattern: RegExp, what: string): void {
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(r.status, 2, `${what}: exit ${r.status}; stderr:\n${r.stderr}`);
  assert.equal(lines.length, 1, `${what}: one line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern, what);
  assert.match(lines[0]!, /\(see gauge( \w+)? --help\)$/, what);
}

test('edge 1: a mistyped option is an error with the option it was probably meant to be', async () => {
  const r = await runGauge(['top', '--pid', '1', '--subprocess']);
  usageLine(r, /^gauge: unknown option --subprocess: did you mean --subprocesses\? \(see gauge top --help\)$/, 'top');
  usageLine(await runGauge(['dump', '--pid', '1', '--jsno']), /did you mean --json\?/, 'dump --jsno');
  usageLine(await runGauge(['record', '--pid', '1', '-o', 'x.folded', '--durtaion', '3']), /--duration\?/, 'record');
  usageLine(await runGauge(['tpo', '--pid', '1']), /unknown command or argument tpo: did you mean top\?/, 'tpo');
  // py-spy's flags gauge does not have are named, not silently ignored.
  for (const cmd of [['top'], ['record', '-o', 'x.folded'], ['dump']]) {
    const r2 = await runGauge([...cmd, '--pid', '1', '--native', '--nonblocking', '--bogus']);
    usageLine(r2, /unknown options --native, --nonblocking, --bogus/, `${cmd[0]} --native`);
  }
});

test('edge 3: a bad --format or --mode value is one line and a pointer to --help, not the whole help', async () => {
  usageLine(
    await runGauge(['record', '--pid', '1', '-o', 'x.folded', '-f', 'flame']),
    /--format must be one of .*flamegraph, not flame/,
    '-f flame',
  );
  usageLine(await runGauge(['top', '--pid', '1', '--mode', 'cpus']), /--mode must be one of cpu, wall, gil/, 'mode');
  usageLine(await runGauge(['top', '--pid', '1', '--mode', 'cpu', '-i']), /--mode cpu contradicts --idle/, 'cpu+i');
  usageLine(await runGauge(['top']), /nothing to profile/, 'no target');
});

test('edge 2: -d is the duration (record -d 5 stops after 5 s); the upload interval has only its long name', async () => {
  const out = join(tmp, 'd.folded');
  const t0 = Date.now();
  const r = await runGauge(['record', '-d', '5', '-o', out, '--', python(), join(fixtures, 'top_spin.py'), 'alpha']);
  const s = (Date.now() - t0) / 1000;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\(duration reached\)/);
  // Start-up and the write on top of the 5 s, on a loaded 2-core machine.
  assert.ok(s >= 5 && s < 20, `took ${s} s`);
  assert.match(readFileSync(out, 'utf8'), /spin_alpha/);
  // -d with the export options is still the duration, never an upload interval.
  usageLine(
    await runGauge(['record', '--pid', '1', '-o', 'x.folded', '--upload-interval', '5']),
    /--upload-interval: at least 10 seconds/,
    '--upload-interval 5',
  );
  usageLine(await runGauge(['record', '--pid', '1', '-o', 'x.folded', '-d', '0']), /--duration must be/, '-d 0');
});

test('as py-spy: -f flamegraph writes the SVG flame graph, and so does -o NAME that names no format; --help says so', async () => {
  const spin = [python(), join(fixtures, 'top_spin.py'), 'alpha'];
  for (const [name, flags] of [
    ['named.out', ['-f', 'flamegraph']],
    ['profile', []],
  ] as const) {
    const out = join(tmp, name);
    const r = await runGauge(['record', '-d', '2', '-o', out, ...flags, '--', ...spin]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`→ .*${name} \\(svg\\)`), name);
    const svg = readFileSync(out, 'utf8');
    assert.match(svg, /^<\?xml[^\n]*\n<svg /, name);
    assert.match(svg, /spin_alpha/, name);
  }
  const help = await runGauge(['record', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), /flamegraph is svg/);
  assert.match(help.stdout.replace(/\s+/g, ' '), /any other name gets an SVG flame graph/);
});

test('-g is --gil and --mode gil says so in the header; top -d stops', async () => {
  const spin = [python(), join(fixtures, 'top_spin.py'), 'beta'];
  for (const flags of [['-g'], ['--mode', 'gil']]) {
    const t0 = Date.now();
    const r = await runGauge(['top', '--batch', '-d', '2', '--delay', '0.5', ...flags, '--', ...spin]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Date.now() - t0 < 20000);
    assert.match(r.stdout, /Mode gil \(GIL holders only\)/, flags.join(' '));
    assert.match(r.stdout, /spin_beta/);
  }
  const wall = await runGauge(['top', '--batch', '-d', '1', '--delay', '0.5', '--mode', 'wall', '--', ...spin]);
  assert.equal(wall.status, 0, wall.stderr);
  assert.match(wall.stdout, /Mode wall \(idle included\)/);
  assert.match(wall.stdout, /idle shown/);
  assert.equal(children.size > 0, true);
});

test('edge 11: record of only idle threads says why the profile is empty', async () => {
  const out = join(tmp, 'idle.folded');
  // Attach once the sleeper is asleep: its start-up is not idle.
  const sleeper = spawn(python(), [join(fixtures, 'dump_sleeper.py')], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(sleeper);
  await new Promise<void>((resolve) => sleeper.stdout!.once('data', () => resolve()));
  const r = await runGauge(['record', '-d', '2', '-o', out, '--pid', String(sleeper.pid)]);
  sleeper.kill('SIGKILL');
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /0 thread samples → .*; all \d+ thread samples were idle: --idle \(or --mode wall\) records them/,
  );
});

test('edge 11: top on a parent whose Python children do the work names them and -s', async () => {
  // export_parent.py only waits for its two call_tree.py workers.
  const r = await runGauge([
    'top',
    '--batch',
    '-d',
    '3',
    '--delay',
    '1',
    '--',
    python(),
    join(fixtures, 'export_parent.py'),
    '6',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /pid \d+ has 2 Python child processes \(\d+, \d+\): -s \(--subprocesses\) profiles them too/);
});

test('edge 12: dump --pid of a shell that execs Python (a pyenv shim) waits for Python; a plain shell is named', async () => {
  const sleeper = join(fixtures, 'dump_sleeper.py');
  // The shim's shape: bash that runs a moment, then execs the interpreter.
  const shim = spawn('bash', ['-c', `sleep 0.5; exec ${JSON.stringify(python())} ${JSON.stringify(sleeper)}`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.add(shim);
  const r = await runGauge(['dump', '--pid', String(shim.pid)]);
  assert.equal(r.status, 0, r.stderr);
  // The interpreter the shim became, read as soon as it is Python: maybe still starting, so not always in nap yet.
  assert.match(r.stdout, new RegExp(`^Process ${shim.pid}: .*dump_sleeper\\.py\\nPython v\\d`));
  shim.kill('SIGKILL');
  const shell = spawn('bash', ['-c', 'read -t 60 x'], { stdio: ['pipe', 'ignore', 'ignore'] });
  children.add(shell);
  const t0 = Date.now();
  const r2 = await runGauge(['dump', '--pid', String(shell.pid)]);
  assert.equal(r2.status, 5, r2.stderr);
  assert.match(
    r2.stderr,
    /^gauge: pid \d+ \(bash\) is not a Python process but a shell; it may be a wrapper such as a pyenv shim/,
  );
  assert.ok(Date.now() - t0 >= 2000, 'retried for the grace period');
  shell.kill('SIGKILL');
});

test('edge 9 on a real interpreter: two threads sharing the GIL stay "running" in every snapshot', async () => {
  const r = await runGauge(
    ['top', '--batch', '-d', '6', '--delay', '0.5', '--', python(), join(fixtures, 'parallel_spin.py'), 'top'],
    60000,
  );
  assert.equal(r.status, 0, r.stderr);
  // Each snapshot's threads panel: the spinners' State column (the first second is start-up).
  const states = r.stdout
    .split('\n')
    .filter((l) => /spin_[ab]-thread/.test(l))
    .map((l) => /spin_[ab]-thread\s+(\S+)/.exec(l)![1]!);
  assert.ok(states.length >= 10, `snapshots: ${states.length}\n${r.stdout.slice(-2000)}`);
  assert.deepEqual(
    states.filter((s) => s !== 'running'),
    [],
  );
});
