/** The signals gauge reacts to, and what a death by one means as an exit status. */
import { constants } from 'node:os';

/** Signals that end a profiling run (top, record) with a final flush. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Signals passed on to a launched program, so it sees what a shell would have sent it. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [...STOP_SIGNALS, 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Exit status of a death by signal, as a shell reports it: 128 + the signal's number. */
export function signalStatus(signal: NodeJS.Signals | null | undefined): number {
  return 128 + ((signal && constants.signals[signal]) || 1);
}
