/** gauge's command line: yargs wiring, usage errors and exit codes. */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { registerDump } from './dump-command.js';
import { registerTop } from './top-command.js';
import { registerRecord } from './record-command.js';
import { registerAgent } from './agent-command.js';
import { registerDatakit } from './datakit-command.js';
import { reportAndExit, usageAndExit } from './report.js';
import { VERSION } from './version.js';
import { unknownArgumentMessage } from './suggest.js';
import { firstLine } from '../reader/errors.js';

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

const COMMANDS = ['dump', 'top', 'record', 'agent', 'datakit'];

/**
 * yargs renders the whole help text right after a command's handler starts, to have it ready should the command
 * fail; gauge never shows help on a failure (see .fail below), so that rendering (tens of ms of CPU, mostly
 * string-width) is skipped. getInternalMethods is yargs' own, not in its types: without it nothing changes.
 */
function skipHelpCache(cli: Argv): void {
  type Usage = { cacheHelpMessage?: () => void };
  const internal = (cli as unknown as { getInternalMethods?(): { getUsageInstance?(): Usage } }).getInternalMethods;
  const usage = internal?.call(cli).getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => undefined;
}

/** Where the help for what was typed is: `gauge top --help` after `gauge top ...`. */
function helpHint(args: readonly string[]): string {
  const command = args.find((a) => !a.startsWith('-'));
  return command && COMMANDS.includes(command) ? `gauge ${command} --help` : 'gauge --help';
}

/** Every option name (and alias) the command being parsed knows. */
function optionNames(cli: Argv): string[] {
  // getOptions() is on the instance, though not in yargs' type declarations; it holds the command's options here.
  const o = (
    cli as unknown as { getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]> } }
  ).getOptions();
  return [...Object.keys(o.key), ...Object.values(o.alias).flat()];
}

export async function main(argv: string[]): Promise<void> {
  stopWhenStdoutCloses();
  const args = hideBin(argv);
  const cli = yargs(args)
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
    .fail((msg, err) => {
      // A check() that returns a string: a bad value, not a misuse of the command; one line is enough.
      if (typeof err === 'string') usageAndExit(`${err} (see ${helpHint(args)})`);
      if (err) reportAndExit(err);
      // Every usage error is one line and where to read more, never the whole help.
      const known = { options: optionNames(cli), commands: COMMANDS };
      const line = unknownArgumentMessage(msg, args, known) ?? firstLine(msg);
      usageAndExit(`${line} (see ${helpHint(args)})`);
    });
  registerDump(cli);
  registerTop(cli);
  registerRecord(cli);
  registerAgent(cli);
  registerDatakit(cli);
  skipHelpCache(cli);
  try {
    await cli.parseAsync();
  } catch (err) {
    reportAndExit(err);
  }
}
