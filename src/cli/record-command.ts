/**
 * `gauge record`: headless sampling until --duration, Ctrl-C/SIGTERM or the
 * target's exit, into a profile file and/or the export destinations; flushes
 * everything on the way out and prints a one-line summary on stderr.
 */
import type { Argv } from 'yargs';
import { GaugeError, ErrorCode } from '../reader/errors.js';
import { launch, waitForPython, type Launched } from '../process/launch.js';
import { SamplingSession } from '../sampling/session.js';
import { addExportOptions, startExports, type ExportArgs } from '../export/pipeline.js';
import { formatFromPath, PROFILE_FORMATS, ProfileRecorder, type ProfileFormat, type WriteResult } from '../export/profile-recorder.js';
import { Exit } from './exit-codes.js';
import { reportAndExit } from './main.js';

interface RecordArgs extends ExportArgs {
  pid?: number;
  rate: number;
  duration?: number;
  output?: string;
  format?: string;
  idle: boolean;
  gil: boolean;
  subprocesses: boolean;
  'status-interval'?: number;
  _: (string | number)[];
}

export function registerRecord(cli: Argv): void {
  cli.command(
    'record',
    'Sample headless (no TUI) until --duration, Ctrl-C or the program exits; write a profile file and/or stream to Jaeger, DataKit, Pyroscope.',
    (y) =>
      addExportOptions(
        y
          .usage('$0 record (--pid PID | -- cmd args) [-o FILE] [export options]')
          .option('pid', { alias: 'p', type: 'number', describe: 'Process to profile (or `-- cmd args` to launch one)' })
          .option('rate', { alias: 'r', type: 'number', default: 100, describe: 'Samples per second' })
          .option('duration', { type: 'number', describe: 'Stop after this many seconds' })
          .option('output', { alias: 'o', type: 'string', describe: 'Profile file (.speedscope.json, .pb.gz, .folded)' })
          .option('format', { alias: 'f', type: 'string', choices: PROFILE_FORMATS as unknown as string[], describe: 'File format (default: from the extension)' })
          .option('idle', { alias: 'i', type: 'boolean', default: false, describe: 'Include idle threads' })
          .option('gil', { type: 'boolean', default: false, describe: 'Only samples of threads holding the GIL' })
          .option('subprocesses', { alias: 's', type: 'boolean', default: false, describe: 'Also profile Python descendants' })
          .option('status-interval', { type: 'number', describe: 'Print a status line on stderr every S seconds' })
          .check((a) => {
            const cmd = a._.slice(1);
            if (a.pid === undefined && cmd.length === 0) return 'give --pid PID or a command after --';
            if (a.pid !== undefined && cmd.length) return 'give either --pid or a command, not both';
            if (a.pid !== undefined && !(Number.isInteger(a.pid) && a.pid > 0)) return `--pid: not a process id: ${a.pid}`;
            if (!(a.rate > 0 && a.rate <= 10000)) return '--rate: between 0 and 10000 samples per second';
            if (a.duration !== undefined && !(a.duration > 0)) return '--duration: a positive number of seconds';
            if (a.output !== undefined && !a.format && !formatFromPath(a.output)) {
              return `cannot tell the format of ${a.output}: name it .speedscope.json, .pb.gz or .folded, or pass --format`;
            }
            if (a.output === undefined && a.format) return '--format needs -o FILE';
            const e = a as unknown as ExportArgs;
            if (a.output === undefined && !e['otlp-endpoint'] && !e.jaeger && !e.datakit && !e.pyroscope) {
              return 'nothing to record into: give -o FILE and/or --jaeger, --otlp-endpoint, --datakit, --pyroscope';
            }
            return true;
          }),
      ),
    async (a) => {
      try {
        // Exit explicitly: idle keep-alive sockets of the HTTP clients must not hold gauge up.
        process.exit(await record(a as unknown as RecordArgs));
      } catch (err) {
        reportAndExit(err);
      }
    },
  );
}

async function startSession(a: RecordArgs): Promise<{ session: SamplingSession; launched?: Launched }> {
  const opts = { rateHz: a.rate, subprocesses: a.subprocesses };
  const cmd = a._.slice(1).map(String);
  if (!cmd.length) {
    const session = new SamplingSession(a.pid!, opts);
    session.start();
    return { session };
  }
  const launched = launch(cmd, 'inherit');
  try {
    const session = await waitForPython(() => {
      const s = new SamplingSession(launched.pid, opts);
      s.start();
      return s;
    }, launched.child);
    return { session, launched };
  } catch (err) {
    launched.dispose();
    if (launched.child.exitCode === null) launched.child.kill('SIGTERM');
    throw err;
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1) + ' s';
}

export async function record(a: RecordArgs): Promise<number> {
  const { session, launched } = await startSession(a);
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
  session.onSamples((s) => {
    ticks += s.length;
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
    const onSignal = (sig: NodeJS.Signals): void => finish(sig);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    session.onProcessExit(() => {
      if (session.allExited) finish('the program exited');
    });
    launched?.exited.then(() => finish('the program exited'), () => finish('the program exited'));
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
  const elapsedMs = Date.now() - started;
  let written: WriteResult | undefined;
  let writeError: unknown;
  if (recorder && a.output) {
    try {
      written = await recorder.write(a.output, a.format as ProfileFormat | undefined);
    } catch (err) {
      writeError = err;
    }
  }
  await exports?.close();

  const parts = [`gauge: ${ticks} samples in ${seconds(elapsedMs)} (${reason || 'stopped'})`];
  if (lost) parts.push(`${lost} lost`);
  if (written) parts.push(`${written.samples} thread samples → ${written.path} (${written.format})`);
  if (exports) parts.push(exports.status());
  process.stderr.write(parts.join('; ') + '\n');

  let code: number = Exit.OK;
  if (launched) {
    launched.dispose();
    const exited = launched.child.exitCode !== null || launched.child.signalCode !== null;
    if (!exited) {
      // Stopped by duration or our own signal: the program goes down with us.
      launched.child.kill('SIGTERM');
    }
    code = await launched.exited.catch(() => Exit.FAILURE);
    if (!exited) code = Exit.OK;
  }
  if (writeError) {
    const msg = writeError instanceof Error ? writeError.message : String(writeError);
    throw new GaugeError(ErrorCode.INVALID, `cannot write ${a.output}: ${msg.split('\n')[0]}`);
  }
  return code;
}
