/**
 * `gauge top`: its options and checks; the work is in top.ts, loaded only
 * when the command runs (not for --help or a usage error).
 */
import type { Argv } from 'yargs';
import { addSamplingOptions, launchCommand } from './options.js';
import { addExportOptions } from '../export/export-flags.js';

export function registerTop(cli: Argv): void {
  cli.command(
    'top',
    'Live view of where a Python process spends its time: `gauge top --pid PID` or `gauge top [options] -- python app.py args`.',
    (y) =>
      addExportOptions(
        addSamplingOptions(y.usage('$0 top [options] (--pid PID | -- python app.py args)'))
          .option('delay', { type: 'number', default: 1, describe: 'Seconds between refreshes' })
          .option('full-filenames', {
            type: 'boolean',
            default: false,
            describe: 'Show full file paths instead of shortened ones',
          })
          .option('batch', {
            alias: 'b',
            type: 'boolean',
            default: false,
            describe: 'Plain-text snapshots instead of the interactive view (the default without a terminal)',
          })
          .check((a) =>
            a.delay >= 0.05 && a.delay <= 3600 ? true : `--delay must be between 0.05 and 3600 seconds, not ${a.delay}`,
          )
          .example('$0 top --pid 1234', 'Profile a running process')
          .example('$0 top -r 1000 -- python3 app.py --port 8000', 'Start a program and profile it at 1000 Hz'),
      ),
    async (a) => {
      const { runTop } = await import('./top.js');
      await runTop({
        pid: a.pid,
        rate: a.rate,
        idle: a.idle,
        delay: a.delay,
        gil: a.gil,
        fullFilenames: a['full-filenames'],
        duration: a.duration,
        subprocesses: a.subprocesses,
        batch: a.batch,
        async: a.async,
        command: launchCommand(a),
        raw: a,
      });
    },
  );
}
