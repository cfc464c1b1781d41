/** gauge's command line: yargs wiring, usage errors and exit codes. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Exit } from './exit-codes.js';
import { registerDump } from './dump-command.js';
import { registerTop } from './top-command.js';
import { registerRecord } from './record-command.js';
import { registerAgent } from './agent-command.js';
import { registerDatakit } from './datakit-command.js';
import { reportAndExit, usageAndExit } from './report.js';
import { VERSION } from './version.js';

/** The reader of our output went away (`gauge top --batch | head`): stop as if interrupted, no stack trace. */
function stopWhenStdoutCloses(): void {
  let gone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') reportAndExit(err);
    if (gone) return;
    gone = true;
    // The commands' own SIGTERM handling stops sampling and a launched program cleanly.
    process.kill(process.pid, 'SIGTERM');
  });
}

export async function main(argv: string[]): Promise<void> {
  stopWhenStdoutCloses();
  const cli = yargs(hideBin(argv))
    .scriptName('gauge')
    .usage(
      '$0 <command> [options]\n\nA live, top-like sampling profiler for Python: reads stacks from outside the process.',
    )
    // Options are read by their --kebab-case names only; no camelCase twins to name in errors.
    .parserConfiguration({ 'camel-case-expansion': false })
    // Unknown flags and commands are usage errors: a typo must not silently change what is measured.
    .strict()
    .demandCommand(1, 'Name a command: dump, top, record, agent or datakit.')
    .version(VERSION)
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      // A check() that returns a string: a bad value, not a misuse of the command; one line is enough.
      if (typeof err === 'string') usageAndExit(err);
      if (err) reportAndExit(err);
      if (/^Unknown arguments?:/.test(msg)) usageAndExit(`${msg} (see gauge --help, or gauge COMMAND --help)`);
      process.stderr.write(`gauge: ${msg}\n\n`);
      y.showHelp((s) => process.stderr.write(s + '\n'));
      process.exit(Exit.USAGE);
    });
  registerDump(cli);
  registerTop(cli);
  registerRecord(cli);
  registerAgent(cli);
  registerDatakit(cli);
  try {
    await cli.parseAsync();
  } catch (err) {
    reportAndExit(err);
  }
}
