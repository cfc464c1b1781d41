import { ErrorCode } from '../reader/errors.js';

/** Process exit codes, documented in README.md ("Exit codes"). */
export const Exit = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NO_PROCESS: 3,
  PERMISSION: 4,
  NOT_PYTHON: 5,
  UNSUPPORTED_VERSION: 6,
  EXITED: 7,
} as const;

/** Exit code for a reader error code. */
export function exitCodeFor(code: number): number {
  switch (code) {
    case ErrorCode.NO_PROCESS:
      return Exit.NO_PROCESS;
    case ErrorCode.PERMISSION:
      return Exit.PERMISSION;
    case ErrorCode.NOT_PYTHON:
    case ErrorCode.NOT_READY:
      return Exit.NOT_PYTHON;
    case ErrorCode.UNSUPPORTED_VERSION:
      return Exit.UNSUPPORTED_VERSION;
    case ErrorCode.EXITED:
      return Exit.EXITED;
    default:
      return Exit.FAILURE;
  }
}
