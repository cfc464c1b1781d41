/** `gauge dump`: options; the work is in dump.ts, loaded only when the command runs. */
import type { Argv } from 'yargs';
import { addProcessOptions } from './options.js';

export function registerDump(cli: Argv): void {
  cli.command(
    'dump',
    "Print the Python stack of every thread once. Threads come in the interpreter's order (newest first, as sys._current_frames() and py-spy dump list them); frames innermost first.",
    (y) =>
      addProcessOptions(y, 'Process to read')
        .demandOption('pid')
        .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output (schema in README)' })
        .option('max-depth', { type: 'number', default: 2048, describe: 'Frames read per thread before cutting' })
        .option('async', {
          type: 'boolean',
          default: false,
          describe: 'Also show the asyncio tasks of each event-loop thread: who awaits whom, each await chain',
        })
        .option('max-tasks', {
          type: 'number',
          default: 20000,
          describe: 'asyncio tasks read before cutting (--async)',
        }),
    async (a) => {
      const { dump } = await import('./dump.js');
      dump(
        {
          pid: a.pid!,
          json: a.json,
          subprocesses: a.subprocesses,
          maxDepth: a['max-depth'],
          async: a.async,
          maxTasks: a['max-tasks'],
        },
        (s) => process.stdout.write(s),
      );
    },
  );
}
