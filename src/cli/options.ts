/**
 * Options more than one command takes, declared and validated once: what to
 * read (--pid, or `-- cmd args` for top and record), how to sample it and
 * what to count (--mode, --idle, --gil), and for how long (-d/--duration,
 * as py-spy and CPython's profiling.sampling spell it). Every bad value is a
 * yargs check failure: one line, exit code 2.
 */
import type { Argv } from 'yargs';
import { MODES } from '../model/modes.js';

export const MAX_RATE_HZ = 10000;

/** Why a --rate value is unusable, or undefined when it is fine. */
export function rateProblem(rate: number): string | undefined {
  if (rate > 0 && rate <= MAX_RATE_HZ) return undefined;
  return `--rate must be more than 0 and at most ${MAX_RATE_HZ} samples per second, not ${rate}`;
}

/** Why a --pid value is unusable, or undefined when it is fine (or absent). */
export function pidProblem(pid: unknown): string | undefined {
  if (pid === undefined) return undefined;
  if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && pid <= 0x7fffffff) return undefined;
  if (typeof pid === 'number' && Number.isNaN(pid)) return '--pid must be a positive process id (a number)';
  return `--pid must be a positive process id, not ${Array.isArray(pid) ? pid.join(' ') : String(pid)}`;
}

/** The program after `--`, as given (the first `_` entry is the command name). */
export function launchCommand(a: { _: (string | number)[] }): string[] {
  return a._.slice(1).map(String);
}

/** --pid and --subprocesses, as `gauge dump` takes them. */
export function addProcessOptions<T>(y: Argv<T>, pidDescription: string) {
  return y
    .option('pid', { alias: 'p', type: 'number', describe: pidDescription })
    .option('subprocesses', {
      alias: 's',
      type: 'boolean',
      default: false,
      describe: 'Also include Python descendants',
    })
    .check((a) => pidProblem(a.pid) ?? true);
}

/** -d/--duration, --mode, -i/--idle, -g/--gil: what top, record and agent share besides the target. */
export function addCountOptions<T>(y: Argv<T>, durationDescription = 'Stop after this many seconds') {
  return (
    y
      .option('duration', { alias: 'd', type: 'number', describe: durationDescription })
      .option('mode', {
        type: 'string',
        describe: 'What to count: cpu (work on a CPU; the default), wall (idle too, as --idle), gil (as --gil)',
      })
      .option('idle', {
        alias: 'i',
        type: 'boolean',
        default: false,
        describe: 'Include idle threads (sleeping, blocked on I/O or locks): --mode wall',
      })
      .option('gil', {
        alias: 'g',
        type: 'boolean',
        default: false,
        describe: 'Only count samples of threads holding the GIL: --mode gil',
      })
      .check((a) => {
        if (a.duration !== undefined && !(a.duration > 0)) {
          return `--duration must be a positive number of seconds, not ${a.duration}`;
        }
        if (a.mode !== undefined) {
          if (!(MODES as readonly string[]).includes(a.mode)) {
            return `--mode must be one of ${MODES.join(', ')}, not ${a.mode}`;
          }
          if ((a.idle && a.mode !== 'wall') || (a.gil && a.mode !== 'gil')) {
            return `--mode ${a.mode} contradicts ${a.idle ? '--idle' : '--gil'}`;
          }
        }
        return true;
      })
      // After validation: --mode is carried as the --idle/--gil it stands for, which is what commands read.
      .middleware((a) => {
        const f = a as { mode?: string; idle: boolean; gil: boolean };
        if (f.mode === 'wall') f.idle = true;
        if (f.mode === 'gil') f.gil = true;
      })
  );
}

/** What top and record share: --pid or `-- cmd args`, --rate, --subprocesses and the count options. */
export function addSamplingOptions<T>(y: Argv<T>) {
  return addCountOptions(addProcessOptions(y, 'Process to profile (or `-- cmd args` to launch one)'))
    .option('rate', { alias: 'r', type: 'number', default: 100, describe: 'Samples per second' })
    .option('async', {
      type: 'boolean',
      default: false,
      describe: 'Attribute event-loop threads to asyncio tasks (task:NAME frames); wall mode adds waiting tasks',
    })
    .check((a) => {
      const command = launchCommand(a);
      if (a.pid !== undefined && command.length) return 'give either --pid or a command after --, not both';
      if (a.pid === undefined && !command.length) return 'nothing to profile: give --pid PID or a command after --';
      return rateProblem(a.rate) ?? true;
    });
}
