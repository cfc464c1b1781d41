/** Error codes shared with the native reader (include/gauge.h) and the CLI's exit codes. */
export const ErrorCode = {
  OK: 0,
  NO_PROCESS: 1,
  PERMISSION: 2,
  NOT_PYTHON: 3,
  UNSUPPORTED_VERSION: 4,
  EXITED: 5,
  NO_MEMORY: 6,
  INVALID: 7,
  NOT_READY: 8,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A failure to attach or read that the user can act on; the message is one line. */
export class GaugeError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'GaugeError';
  }
}

/** The first line of an error's message: enough to act on, short enough for a header or a log line. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
