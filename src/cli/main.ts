/** gauge's command line: yargs wiring, error reporting and exit codes. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { GaugeError } from '../reader/errors.js';
import { dump } from './dump.js';
import { Exit, exitCodeFor } from './exit-codes.js';
import { registerTop } from './top-command.js';
import { registerRecord } from './record-command.js';
import { VERSION } from './version.js';

/** One actionable line on stderr, then the documented exit code; never a stack trace. */
export function reportAndExit(err: unknown): never {
  if (err instanceof GaugeError) {
    process.stderr.write(`gauge: ${err.message}\n`);
    process.exit(exitCodeFor(err.code));
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`gauge: ${msg.split('\n')[0]}\n`);
  if (process.env.GAUGE_DEBUG && err instanceof Error) process.stderr.write(String(err.stack) + '\n');
  process.exit(Exit.FAILURE);
}

/** Why a --pid value is unusable, or undefined when it is fine (or absent). */
export function pidProblem(pid: unknown): string | undefined {
  if (pid === undefined) return undefined;
  if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && pid <= 0x7fffffff) return undefined;
  if (typeof pid === 'number' && Number.isNaN(pid)) return '--pid must be a positive process id (a number)';
  return `--pid must be a positive process id, not ${Array.isArray(pid) ? pid.join(' ') : String(pid)}`;
}

export async function main(argv: string[]): Promise<void> {
  const cli = yargs(hideBin(argv))
    .scriptName('gauge')
    .usage('$0 <command> [options]\n\nA live, top-like sampling profiler for Python: reads stacks from outside the process.')
    .command(
      'dump',
      'Print the Python stack of every thread once. Threads come in the interpreter\'s order (newest first, as sys._current_frames() and py-spy dump list them); frames innermost first.',
      (y) =>
        y
          .option('pid', { alias: 'p', type: 'number', demandOption: true, describe: 'Process to read' })
          .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output (schema in README)' })
          .option('subprocesses', { alias: 's', type: 'boolean', default: false, describe: 'Also dump Python descendants' })
          .option('max-depth', { type: 'number', default: 2048, describe: 'Frames read per thread before cutting' }),
      (a) => {
        dump({ pid: a.pid, json: a.json, subprocesses: a.subprocesses, maxDepth: a['max-depth'] }, (s) =>
          process.stdout.write(s),
        );
      },
    )
    .strictCommands()
    // Every command's --pid: a NaN or negative pid must not reach the reader as a garbage number.
    .check((a) => pidProblem(a.pid) ?? true)
    .demandCommand(1, 'Name a command: dump, top or record.')
    .version(VERSION)
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      // A check() that returns a string: a bad value, not a misuse of the command; one line is enough.
      if (typeof err === 'string') {
        process.stderr.write(`gauge: ${err}\n`);
        process.exit(Exit.USAGE);
      }
      if (err) reportAndExit(err);
      process.stderr.write(`gauge: ${msg}\n\n`);
      y.showHelp((s) => process.stderr.write(s + '\n'));
      process.exit(Exit.USAGE);
    });
  registerTop(cli);
  registerRecord(cli);
  try {
    await cli.parseAsync();
  } catch (err) {
    reportAndExit(err);
  }
}
