/**
 * What `gauge top` does once its options are parsed (top-command.ts): live
 * sampling of a running process or of a program gauge starts, shown in the
 * Ink TUI on a terminal (loaded only then) or as plain snapshots every
 * --delay seconds without one (or with --batch), like `top -b`.
 */
import { GaugeError, ErrorCode, firstLine } from '../reader/errors.js';
import type { SamplingSession } from '../sampling/session.js';
import { startSession } from '../sampling/start-session.js';
import { settleLaunched, type Launched } from '../process/launch.js';
import { signalStatus, STOP_SIGNALS } from '../process/signals.js';
import { ProfileModel } from '../model/profile.js';
import { TopController } from '../model/top-controller.js';
import { renderBatch } from '../output/batch.js';
import { Exit } from './exit-codes.js';
import { wantsExports, type ExportArgs } from '../export/export-flags.js';
import { ProfileRecorder } from '../export/profile-recorder.js';
import { pythonChildrenNote, pythonDescendants } from '../process/python-children.js';
import { savePath } from './save-path.js';
import { AsyncAttributor } from '../sampling/async-attribution.js';

export interface TopArgs {
  pid?: number;
  rate: number;
  idle: boolean;
  delay: number;
  gil: boolean;
  fullFilenames: boolean;
  duration?: number;
  subprocesses: boolean;
  batch: boolean;
  /** Attribute event-loop threads to asyncio tasks (AsyncAttributor). */
  async?: boolean;
  command: string[];
  /** All parsed arguments (exporter options). */
  raw: ExportArgs;
}

/** Python children of a target followed without -s, looked for now and then (a master forks its workers late). */
class ChildrenNote {
  private checkedAt = 0;
  private text: string | undefined;
  constructor(private readonly root: number) {}
  note(): string[] {
    if (Date.now() - this.checkedAt >= 2000) {
      this.checkedAt = Date.now();
      this.text = pythonChildrenNote(this.root, pythonDescendants(this.root));
    }
    return this.text ? [this.text] : [];
  }
}

/** Keeps the last bytes a launched program wrote while the TUI owned the screen, to show after it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max = 64 * 1024) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export async function runTop(o: TopArgs): Promise<void> {
  // The exporters (and the OpenTelemetry SDK behind them) load only when a destination is asked for, before
  // sampling starts.
  const exporters = wantsExports(o.raw) ? await import('../export/pipeline.js') : undefined;
  const batch = o.batch || !process.stdout.isTTY || !process.stdin.isTTY;
  const outTail = new Tail();
  const errTail = new Tail();
  const showTails = (): void => {
    process.stdout.write(outTail.text());
    process.stderr.write(errTail.text());
  };
  let started: { session: SamplingSession; launched?: Launched };
  try {
    started = await startSession({
      pid: o.pid,
      command: o.command,
      rateHz: o.rate,
      subprocesses: o.subprocesses,
      // The TUI owns the terminal: the program gets no keyboard and its output is kept for after.
      stdio: batch ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      onLaunch: (l) => {
        l.child.stdout?.on('data', (b: Buffer) => outTail.push(b));
        l.child.stderr?.on('data', (b: Buffer) => errTail.push(b));
      },
    });
  } catch (err) {
    if (err instanceof GaugeError && err.code === ErrorCode.EXITED) showTails();
    throw err;
  }
  const { session, launched } = started;

  const model = new ProfileModel({ frames: session.frames, rateHz: o.rate, gilOnly: o.gil });
  const pipeline = exporters?.startExports(o.raw, session);
  // The `s` key saves what was sampled since the start or the last reset, with the filters of the mode then.
  const newRecorder = (): ProfileRecorder =>
    new ProfileRecorder(session.frames, {
      idle: controller.view.idle,
      gil: model.gilOnly,
      rateHz: o.rate,
      describeProcess: (pid) => session.processes.get(pid)?.cmdline ?? `pid ${pid}`,
    });
  let recorder: ProfileRecorder | undefined;
  const children = o.subprocesses ? undefined : new ChildrenNote(session.rootPid);
  const controller = new TopController(
    model,
    session,
    {
      status: () => [...(pipeline ? [pipeline.status()] : []), ...(children?.note() ?? [])],
      onReset: () => {
        if (recorder) recorder = newRecorder();
      },
    },
    { idle: o.idle, fullFilenames: o.fullFilenames, refreshS: o.delay },
  );
  if (!batch) recorder = newRecorder();
  const tasks = o.async ? new AsyncAttributor(session.frames, { wall: () => controller.view.idle }) : undefined;
  session.onProcessExit((pid) => tasks?.forget(pid));
  session.onSamples((raw) => {
    const samples = tasks ? tasks.transform(raw) : raw;
    controller.ingest(samples);
    recorder?.add(samples);
    pipeline?.push(samples);
  });

  let childStatus: number | undefined;
  const exitedNote = (): string => {
    const pids = [...session.processes.values()];
    const what = pids.length > 1 ? 'all profiled processes have exited' : `process ${session.rootPid} has exited`;
    return `${what}${childStatus !== undefined ? ` (status ${childStatus})` : ''}; showing the last data`;
  };
  session.onProcessExit((pid) => {
    model.markExited(pid);
    if (session.allExited && !controller.exited) {
      session.tick();
      controller.targetExited(exitedNote());
    }
  });
  launched?.exited.then(
    (code) => {
      childStatus = code;
      if (!controller.exited) session.tick();
      controller.targetExited(exitedNote());
    },
    () => undefined,
  );

  /** Stop sampling, stop the launched program if we are the ones ending, and settle exporters. Returns the exit code. */
  const shutdown = async (signal?: NodeJS.Signals): Promise<number> => {
    session.stop();
    tasks?.close();
    // After a signal the program already got it forwarded: its own status is ours.
    const status = launched ? await settleLaunched(launched, signal ? undefined : 'SIGINT') : undefined;
    if (pipeline) {
      try {
        await pipeline.close();
      } catch (err) {
        process.stderr.write(`gauge: exporting failed: ${firstLine(err)}\n`);
      }
    }
    if (status !== undefined) return status;
    if (signal) return signalStatus(signal);
    return Exit.OK;
  };

  if (batch) {
    await runBatch(o, controller, session, shutdown, launched);
  } else {
    // Ink renders only a final frame when it believes it runs in CI; a real terminal on both ends wins.
    for (const k of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[k];
    const { runTui } = await import('../tui/run.js');
    const code = await runTui({
      controller,
      durationMs: o.duration !== undefined ? o.duration * 1000 : undefined,
      shutdown,
      tick: () => session.tick(),
      save: recorder ? async () => recorder!.write(savePath(session.rootPid, new Date())) : undefined,
    });
    if (launched) showTails();
    process.exit(code);
  }
}

async function runBatch(
  o: TopArgs,
  controller: TopController,
  session: SamplingSession,
  shutdown: () => Promise<number>,
  launched: Launched | undefined,
): Promise<void> {
  const width = Math.max(60, process.stdout.columns || Number(process.env.COLUMNS) || 160);
  const rows = Number(process.env.GAUGE_BATCH_ROWS) > 0 ? Number(process.env.GAUGE_BATCH_ROWS) : 25;
  const print = (): void => {
    process.stdout.write(renderBatch(controller.snapshot, { width, rows }) + '\n');
  };
  let finishing = false;
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      if (finishing) return;
      finishing = true;
      clearInterval(timer);
      if (endTimer) clearTimeout(endTimer);
      session.tick();
      controller.refresh();
      print();
      resolve();
    };
    const timer = setInterval(() => {
      session.tick();
      controller.refresh();
      if (controller.exited) finish();
      else print();
    }, o.delay * 1000);
    const endTimer = o.duration !== undefined ? setTimeout(finish, o.duration * 1000) : undefined;
    controller.onChange(() => {
      if (controller.exited) finish();
    });
    // Without a launched program to forward to, a signal ends the run with a final snapshot.
    if (!launched) for (const sig of STOP_SIGNALS) process.once(sig, finish);
  });
  const code = await shutdown();
  process.exit(code);
}
