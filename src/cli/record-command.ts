/**
 * `gauge record`: its options and checks; the work is in record.ts, loaded
 * only when the command runs (not for --help or a usage error).
 */
import type { Argv } from 'yargs';
import { addExportOptions, wantsExports } from '../export/export-flags.js';
import { FORMAT_NAMES, formatByName } from '../export/profile-formats.js';
import { addSamplingOptions } from './options.js';
import type { RecordArgs } from './record.js';

export function registerRecord(cli: Argv): void {
  cli.command(
    'record',
    'Sample headless (no TUI) until --duration, Ctrl-C or the program exits; write a profile file and/or stream to Jaeger, DataKit, Pyroscope.',
    (y) =>
      addExportOptions(
        addSamplingOptions(y.usage('$0 record (--pid PID | -- cmd args) [-o FILE] [export options]'))
          .option('output', {
            alias: 'o',
            type: 'string',
            describe:
              'Profile file: .speedscope.json, .pb.gz, .folded or .svg; any other name gets an SVG flame graph (as py-spy writes)',
          })
          .option('format', {
            alias: 'f',
            type: 'string',
            // Checked below rather than with yargs' choices, whose failure is several lines long.
            describe: `File format: ${FORMAT_NAMES.join(', ')} (flamegraph is svg; default: from the extension, else svg)`,
          })
          .option('status-interval', { type: 'number', describe: 'Print a status line on stderr every S seconds' }),
      ).check((a) => {
        if (a.format !== undefined && !formatByName(a.format)) {
          return `--format must be one of ${FORMAT_NAMES.join(', ')}, not ${a.format}`;
        }
        if (a.output === undefined && a.format) return '--format needs -o FILE';
        if (a.output === undefined && !wantsExports(a)) {
          return 'nothing to record into: give -o FILE and/or --jaeger, --otlp-endpoint, --datakit, --pyroscope';
        }
        return true;
      }),
    // Exit explicitly: idle keep-alive sockets of the HTTP clients must not hold gauge up.
    async (a) => process.exit(await (await import('./record.js')).record(a as RecordArgs)),
  );
}
