/**
 * `gauge top`: live sampling of a running process (--pid) or of a program
 * gauge starts (`gauge top [options] -- python app.py args`), shown in the
 * Ink TUI on a terminal or as plain snapshots every --delay seconds without
 * one (or with --batch), like `top -b`.
 */
import type { Argv } from 'yargs';
import { GaugeError, ErrorCode } from '../reader/errors.js';
import { SamplingSession } from '../sampling/session.js';
import { launch, waitForPython, type Launched } from '../process/launch.js';
import { ProfileModel } from '../model/profile.js';
import { TopController } from '../model/top-controller.js';
import { renderBatch } from '../output/batch.js';
import { Exit } from './exit-codes.js';
import { addExportOptions, startExports, type ExportArgs } from '../export/pipeline.js';
import { ProfileRecorder } from '../export/profile-recorder.js';



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
  command: string[];
  /** All parsed arguments (exporter options). */
  raw: ExportArgs;
}

export function registerTop(cli: Argv): void {
  cli.command(
    'top',
    'Live view of where a Python process spends its time: `gauge top --pid PID` or `gauge top [options] -- python app.py args`.',
    (y) => {
      const base = y
        .usage('$0 top [options] (--pid PID | -- python app.py args)')
        .option('pid', { alias: 'p', type: 'number', describe: 'Process to profile' })
        .option('rate', { alias: 'r', type: 'number', default: 100, describe: 'Samples per second' })
        .option('idle', { alias: 'i', type: 'boolean', default: false, describe: 'Include idle threads (sleeping, blocked on I/O or locks)' })
        .option('delay', { type: 'number', default: 1, describe: 'Seconds between refreshes' })
        .option('gil', { type: 'boolean', default: false, describe: 'Only count samples of threads holding the GIL' })
        .option('full-filenames', { type: 'boolean', default: false, describe: 'Show full file paths instead of shortened ones' })
        .option('duration', { type: 'number', describe: 'Stop after this many seconds' })
        .option('subprocesses', { alias: 's', type: 'boolean', default: false, describe: 'Also profile Python descendants' })
        .option('batch', { alias: 'b', type: 'boolean', default: false, describe: 'Plain-text snapshots instead of the interactive view (the default without a terminal)' })
        .example('$0 top --pid 1234', 'Profile a running process')
        .example('$0 top -r 1000 -- python3 app.py --port 8000', 'Start a program and profile it at 1000 Hz');
      return addExportOptions(base);
    },
    async (a) => {
      const command = (a._ as Array<string | number>).slice(1).map(String);
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
        command,
        raw: a as ExportArgs,
      });
    },
  );
}

function usage(msg: string): never {
  process.stderr.write(`gauge: ${msg}\nTry: gauge top --pid PID, or gauge top -- python app.py\n`);
  process.exit(Exit.USAGE);
}

function validate(o: TopArgs): void {
  if (o.pid !== undefined && o.command.length) usage('give either --pid or a command after --, not both');
  if (o.pid === undefined && !o.command.length) usage('nothing to profile: give --pid PID or a command after --');
  if (o.pid !== undefined && (!Number.isInteger(o.pid) || o.pid <= 0)) usage(`--pid must be a positive integer, not ${o.pid}`);
  if (!Number.isFinite(o.rate) || o.rate < 1 || o.rate > 10000) usage(`--rate must be between 1 and 10000 Hz, not ${o.rate}`);
  if (!Number.isFinite(o.delay) || o.delay < 0.05 || o.delay > 3600) usage(`--delay must be between 0.05 and 3600 seconds, not ${o.delay}`);
  if (o.duration !== undefined && (!Number.isFinite(o.duration) || o.duration <= 0)) usage(`--duration must be a positive number of seconds, not ${o.duration}`);
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

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
  validate(o);
  const batch = o.batch || !process.stdout.isTTY || !process.stdin.isTTY;
  const sessionOpts = { rateHz: o.rate, subprocesses: o.subprocesses };
  let launched: Launched | undefined;
  let session: SamplingSession;
  const outTail = new Tail();
  const errTail = new Tail();
  if (o.command.length) {
    // The TUI owns the terminal: the program gets no keyboard and its output is kept for after.
    launched = launch(o.command, batch ? 'inherit' : ['ignore', 'pipe', 'pipe']);
    launched.child.stdout?.on('data', (b: Buffer) => outTail.push(b));
    launched.child.stderr?.on('data', (b: Buffer) => errTail.push(b));
    const l = launched;
    const began = Date.now();
    try {
      session = await waitForPython(() => {
        const s = new SamplingSession(l.pid, sessionOpts);
        s.start();
        // With -s a session starts even when the root is not Python (a shell script is fine), but a
        // wrapper that execs Python (a pyenv shim, env) must get the chance to: otherwise the root
        // itself would never be sampled.
        if (o.subprocesses && !s.processes.has(l.pid) && Date.now() - began < 2000) {
          s.stop();
          throw new GaugeError(ErrorCode.NOT_READY, 'the program is not running Python yet');
        }
        return s;
      }, l.child);
    } catch (err) {
      if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill('SIGKILL');
      l.dispose();
      if (err instanceof GaugeError && err.code === ErrorCode.EXITED) {
        process.stdout.write(outTail.text());
        process.stderr.write(errTail.text());
      }
      throw err;
    }
  } else {
    session = new SamplingSession(o.pid!, sessionOpts);
    session.start();
  }

  const model = new ProfileModel({ frames: session.frames, rateHz: o.rate, gilOnly: o.gil });
  const pipeline = startExports(o.raw, session);
  // The `s` key saves what was sampled so far, with the view's idle/GIL filters.
  const recorder = batch
    ? undefined
    : new ProfileRecorder(session.frames, {
        idle: o.idle,
        gil: o.gil,
        rateHz: o.rate,
        describeProcess: (pid) => session.processes.get(pid)?.cmdline ?? `pid ${pid}`,
      });
  const controller = new TopController(
    model,
    session,
    { status: () => (pipeline ? [pipeline.status()] : []) },
    { idle: o.idle, fullFilenames: o.fullFilenames },
  );
  session.onSamples((samples) => {
    controller.ingest(samples);
    recorder?.add(samples);
    pipeline?.push(samples);
  });

  let childStatus: number | undefined;
  let stoppedByUs = false;
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
    if (launched) {
      const c = launched.child;
      if (c.exitCode === null && c.signalCode === null) {
        // After a signal the program already got it forwarded: its own status is ours.
        if (!signal) {
          stoppedByUs = true;
          c.kill('SIGINT');
        }
        const killer = setTimeout(() => c.kill('SIGKILL'), 3000);
        await launched.exited.catch(() => 0);
        clearTimeout(killer);
      }
      launched.dispose();
    }
    if (pipeline) {
      try {
        await pipeline.close();
      } catch (err) {
        process.stderr.write(`gauge: exporting failed: ${err instanceof Error ? err.message.split('\n')[0] : err}\n`);
      }
    }
    if (childStatus !== undefined && !stoppedByUs) return childStatus;
    if (signal && !launched) return 128 + (SIGNALS[signal] ?? 1);
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
      delayMs: o.delay * 1000,
      durationMs: o.duration !== undefined ? o.duration * 1000 : undefined,
      shutdown,
      tick: () => session.tick(),
      save: recorder
        ? async () => {
            const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
            return recorder.write(`gauge-${session.rootPid}-${stamp}.speedscope.json`);
          }
        : undefined,
    });
    if (launched) {
      process.stdout.write(outTail.text());
      process.stderr.write(errTail.text());
    }
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
    if (!launched) for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, finish);
  });
  const code = await shutdown();
  process.exit(code);
}
