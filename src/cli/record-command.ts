/**
 * `gauge record`: headless sampling until --duration, Ctrl-C/SIGTERM or the
 * target's exit, into a profile file and/or the export destinations; flushes
 * everything on the way out and prints a one-line summary on stderr.
 */
import { ReasonTally, failureSummary } from '../model/reason-share.js';
import type { Argv } from 'yargs';
import { GaugeError, ErrorCode, firstLine } from '../reader/errors.js';
import { settleLaunched } from '../process/launch.js';
import { STOP_SIGNALS } from '../process/signals.js';
import { startSession } from '../sampling/start-session.js';
import { addExportOptions, startExports, type ExportArgs } from '../export/pipeline.js';
import { ProfileRecorder, type WriteResult } from '../export/profile-recorder.js';
import { FORMAT_NAMES, formatByName } from '../export/profile-formats.js';
import { Exit } from './exit-codes.js';
import { addSamplingOptions, launchCommand } from './options.js';
import { AsyncAttributor } from '../sampling/async-attribution.js';

interface RecordArgs extends ExportArgs {
  pid?: number;
  rate: number;
  duration?: number;
  output?: string;
  format?: string;
  idle: boolean;
  gil: boolean;
  subprocesses: boolean;
  async?: boolean;
  'status-interval'?: number;
  _: (string | number)[];
}

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
        const anyExport = a['otlp-endpoint'] !== undefined || a.jaeger || a.datakit !== undefined || a.pyroscope;
        if (a.output === undefined && !anyExport) {
          return 'nothing to record into: give -o FILE and/or --jaeger, --otlp-endpoint, --datakit, --pyroscope';
        }
        return true;
      }),
    // Exit explicitly: idle keep-alive sockets of the HTTP clients must not hold gauge up.
    async (a) => process.exit(await record(a)),
  );
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1) + ' s';
}

/** Why a profile of a process that was sampled came out empty: the filters left nothing. */
function whyEmpty(a: RecordArgs, threadSamples: number): string {
  if (a.gil) return `none of the ${threadSamples} thread samples held the GIL (--gil)`;
  return `all ${threadSamples} thread samples were idle: --idle (or --mode wall) records them too`;
}

export async function record(a: RecordArgs): Promise<number> {
  const { session, launched } = await startSession({
    pid: a.pid,
    command: launchCommand(a),
    rateHz: a.rate,
    subprocesses: a.subprocesses,
    stdio: 'inherit',
  });
  const recorder = a.output
    ? new ProfileRecorder(session.frames, {
        idle: a.idle,
        gil: a.gil,
        rateHz: a.rate,
        perProcess: a.subprocesses ? true : undefined,
        describeProcess: (pid) => session.processes.get(pid)?.cmdline ?? '',
      })
    : undefined;
  let exports: ReturnType<typeof startExports>;
  try {
    exports = startExports(a, session);
  } catch (err) {
    session.stop();
    throw err;
  }
  let ticks = 0;
  let threadSamples = 0;
  const failures = new ReasonTally();
  // --async: event-loop samples under task:NAME frames, and in wall mode (--idle) each waiting task too.
  const tasks = a.async ? new AsyncAttributor(session.frames, { wall: () => a.idle }) : undefined;
  session.onProcessExit((pid) => tasks?.forget(pid));
  session.onSamples((raw) => {
    const s = tasks ? tasks.transform(raw) : raw;
    ticks += s.length;
    for (const x of s) {
      threadSamples += x.threads.length;
      failures.addSample(x);
    }
    recorder?.add(s);
    exports?.push(s);
  });

  const started = Date.now();
  let reason = '';
  const done = new Promise<void>((resolve) => {
    const finish = (why: string): void => {
      if (!reason) reason = why;
      resolve();
    };
    if (a.duration) setTimeout(() => finish('duration reached'), a.duration * 1000).unref();
    for (const sig of STOP_SIGNALS) process.once(sig, finish);
    session.onProcessExit(() => {
      if (session.allExited) finish('the program exited');
    });
    const exited = (): void => finish('the program exited');
    launched?.exited.then(exited, exited);
  });
  let statusTimer: NodeJS.Timeout | undefined;
  if (a['status-interval'] && a['status-interval'] > 0) {
    statusTimer = setInterval(() => {
      // Under `node --expose-gc` (tests) measure live memory, not garbage awaiting collection.
      (globalThis as { gc?: () => void }).gc?.();
      const heapMb = (process.memoryUsage().heapUsed / 1048576).toFixed(1);
      const st = session.stats();
      process.stderr.write(
        `gauge: status: ${st.taken} samples, ${st.dropped} lost` +
          (exports ? `, ${exports.status()}` : '') +
          `, heap ${heapMb} MB\n`,
      );
    }, a['status-interval'] * 1000);
  }
  // Keep the event loop alive while sampling (the session's timer may be unref'd by its owner later).
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await done;
  clearInterval(keepAlive);
  if (statusTimer) clearInterval(statusTimer);

  // The sampler's counters are gone once it stops; stopping delivers the last buffered samples.
  const lost = session.stats().dropped;
  session.stop();
  tasks?.close();
  const elapsedMs = Date.now() - started;
  let written: WriteResult | undefined;
  let writeError: unknown;
  if (recorder && a.output) {
    try {
      written = await recorder.write(a.output, a.format === undefined ? undefined : formatByName(a.format));
    } catch (err) {
      writeError = err;
    }
  }
  await exports?.close();

  const parts = [`gauge: ${ticks} samples in ${seconds(elapsedMs)} (${reason || 'stopped'})`];
  if (lost) parts.push(`${lost} lost`);
  const failed = failureSummary(failures, threadSamples);
  if (failed) parts.push(failed);
  if (written) parts.push(`${written.samples} thread samples → ${written.path} (${written.format})`);
  if (written && written.samples === 0 && threadSamples > 0 && (a.gil || !a.idle))
    parts.push(whyEmpty(a, threadSamples));
  if (exports) parts.push(exports.status());
  process.stderr.write(parts.join('; ') + '\n');

  // Stopped by duration or a signal: the program goes down with us, and that is success.
  const code = launched ? await settleLaunched(launched, 'SIGTERM') : Exit.OK;
  if (writeError) {
    throw new GaugeError(ErrorCode.INVALID, `cannot write ${a.output}: ${firstLine(writeError)}`);
  }
  return code;
}
