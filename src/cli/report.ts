/** How any failure reaches the user: one actionable line on stderr and the documented exit code. */
import { firstLine, GaugeError } from '../reader/errors.js';
import { Exit, exitCodeFor } from './exit-codes.js';

/** One line on stderr, then the exit code README documents; never a stack trace (unless GAUGE_DEBUG). */
export function reportAndExit(err: unknown): never {
  if (err instanceof GaugeError) {
    process.stderr.write(`gauge: ${err.message}\n`);
    process.exit(exitCodeFor(err.code));
  }
  process.stderr.write(`gauge: ${firstLine(err)}\n`);
  if (process.env.GAUGE_DEBUG && err instanceof Error) process.stderr.write(String(err.stack) + '\n');
  process.exit(Exit.FAILURE);
}

/** A bad option value: one line, exit code 2. */
export function usageAndExit(message: string): never {
  process.stderr.write(`gauge: ${message}\n`);
  process.exit(Exit.USAGE);
}
