/**
 * Runs the interactive view on the terminal: alternate screen, hidden
 * cursor, raw keys; and puts the terminal back however gauge ends (q,
 * Ctrl-C, SIGTERM, SIGHUP, an uncaught error, process exit).
 */
import chalk, { Chalk, type ChalkInstance } from 'chalk';
import { App } from './app.js';
import { renderOnTerminal } from './frame-writer.js';
import { firstLine } from '../reader/errors.js';
import { STOP_SIGNALS } from '../process/signals.js';
import type { TopController } from '../model/top-controller.js';

export interface TuiOptions {
  controller: TopController;
  durationMs?: number;
  /** Drain pending samples before a refresh closes the window. */
  tick?: () => void;
  /** Stop sampling and the launched program; resolves with gauge's exit code. */
  shutdown: (signal?: NodeJS.Signals) => Promise<number>;
  save?: () => Promise<{ path: string; format: string; samples: number }>;
}

/** NO_COLOR (https://no-color.org) wins over everything; otherwise chalk's own detection. */
export function colorChalk(env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  if (env.NO_COLOR) return new Chalk({ level: 0 });
  return chalk;
}

const ENTER = '\x1b[?1049h\x1b[H\x1b[2J\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';

export async function runTui(o: TuiOptions): Promise<number> {
  const { controller } = o;
  const stdout = process.stdout;
  let restored = false;
  // Set when the terminal went away (SSH drop, tmux killed): writing to it
  // then fails with EIO, and every further write would fail again.
  let terminalGone = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (terminalGone) return;
    try {
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
    } catch {
      // stdin already gone
    }
    stdout.write(LEAVE);
  };
  process.on('exit', restore);
  stdout.write(ENTER);

  let finish!: (code: number) => void;
  const done = new Promise<number>((r) => (finish = r));
  let quitting = false;
  const quit = (signal?: NodeJS.Signals): void => {
    if (quitting) return;
    quitting = true;
    clearInterval(timer);
    if (endTimer) clearTimeout(endTimer);
    app.unmount();
    frames.close();
    restore();
    o.shutdown(signal).then(finish, () => finish(1));
  };

  const save = o.save
    ? (): void => {
        controller.say('saving…', Infinity);
        o.save!().then(
          (r) => controller.say(`saved ${r.samples} samples to ${r.path} (${r.format})`),
          (err: unknown) => controller.say(`save failed: ${firstLine(err)}`),
        );
      }
    : undefined;

  // Only the rows that changed reach the terminal (frame-writer.ts).
  const { app, frames } = renderOnTerminal(
    <App controller={controller} chalk={colorChalk()} onQuit={() => quit()} onSave={save} />,
    stdout,
  );

  // The refresh interval is the view's (+ and - change it): re-armed when it changes.
  let timerS = controller.view.refreshS;
  const refresh = (): void => {
    o.tick?.();
    controller.refresh();
  };
  let timer = setInterval(refresh, timerS * 1000);
  controller.onChange(() => {
    if (controller.view.refreshS === timerS || quitting) return;
    timerS = controller.view.refreshS;
    clearInterval(timer);
    timer = setInterval(refresh, timerS * 1000);
  });
  const endTimer = o.durationMs !== undefined ? setTimeout(() => quit(), o.durationMs) : undefined;

  let hangup = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (sig === 'SIGHUP') hangup = true;
    quit(sig);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  // A write to a vanished terminal must end gauge quietly, not loop through
  // the crash handler (which would itself write to the dead terminal).
  const onStreamError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EIO' && err.code !== 'EPIPE' && err.code !== 'ENXIO') return onCrash(err);
    terminalGone = true;
    hangup = true;
    quit('SIGHUP');
  };
  stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);
  let crashed = false;
  const onCrash = (err: unknown): void => {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'EIO' || code === 'EPIPE' || code === 'ENXIO') return onStreamError(err as NodeJS.ErrnoException);
    if (crashed) return;
    crashed = true;
    try {
      app.unmount();
    } catch {
      // the renderer itself may be what failed
    }
    restore();
    process.stderr.write(`gauge: ${firstLine(err)}\n`);
    if (process.env.GAUGE_DEBUG && err instanceof Error) process.stderr.write(String(err.stack) + '\n');
    void o.shutdown().finally(() => process.exit(1));
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  const code = await done;
  for (const s of STOP_SIGNALS) process.off(s, onSignal);
  if (hangup) {
    // The terminal is gone. Node's exit path would try to reset its tty
    // mode and abort on EIO; dying by the hang-up signal, as a shell's
    // children do, skips that and tells the parent what happened.
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
  return code;
}
