/**
 * What `gauge record` does once its options are parsed (record-command.ts):
 * headless sampling until --duration, Ctrl-C/SIGTERM or the target's exit,
 * into a profile file and/or the export destinations; flushes everything on
 * the way out and prints a one-line summary on stderr.
 */
import { ReasonTally, failureSummary } from '../model/reason-share.js';
import { GaugeError, ErrorCode, firstLine } from '../reader/errors.js';
import { settleLaunched } from '../process/launch.js';
import { STOP_SIGNALS } from '../process/signals.js';
import { startSession } from '../sampling/start-session.js';
import { wantsExports, type ExportArgs } from '../export/export-flags.js';
import type { Exports } from '../export/pipeline.js';
import { ProfileRecorder, type WriteResult } from '../export/profile-recorder.js';
import { formatByName } from '../export/profile-formats.js';
import { Exit } from './exit-codes.js';
import { launchCommand } from './options.js';

export interface RecordArgs extends ExportArgs {
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

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1) + ' s';
}

/** Why a profile of a process that was sampled came out empty: the filters left nothing. */
function whyEmpty(a: RecordArgs, threadSamples: number): string {
  if (a.gil) return `none of the ${threadSamples} thread samples held the GIL (--gil)`;
  return `all ${threadSamples} thread samples were idle: --idle (or --mode wall) records them too`;
}

export async function record(a: RecordArgs): Promise<number> {
  // Only what the flags use is loaded (the exporters bring the OpenTelemetry SDK), and before sampling starts,
  // so that every sample finds its consumers in place.
  const pipeline = wantsExports(a) ? await import('../export/pipeline.js') : undefined;
  const asyncTasks = a.async ? await import('../sampling/async-attribution.js') : undefined;
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
  let exports: Exports | undefined;
  try {
    exports = pipeline?.startExports(a, session);
  } catch (err) {
    session.stop();
    throw err;
  }
  let ticks = 0;
  let threadSamples = 0;
  const failures = new ReasonTally();
  // --async: event-loop samples under task:NAME frames, and in wall mode (--idle) each waiting task too.
  const tasks = asyncTasks ? new asyncTasks.AsyncAttributor(session.frames, { wall: () => a.idle }) : undefined;
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
