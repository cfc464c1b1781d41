/*
 * gauge native reader: the C ABI loaded by TypeScript through koffi.
 *
 * A reader attaches to one process and reads its Python stacks from outside
 * with process_vm_readv: the target is never written to and never stopped.
 * A sampler owns a thread that snapshots a set of readers at a randomized
 * rate into a bounded buffer that the caller drains.
 *
 * Snapshots and drained samples share one record format, all uint32 words:
 *
 *   record header (GAUGE_REC_HEADER words)
 *     [0] record length in words, header included
 *     [1] pid
 *     [2] monotonic time ns, low 32 bits   [3] high 32 bits
 *     [4] thread count
 *     [5] record flags: GAUGE_REC_* | (GAUGE_WHY_* << 8)
 *   then per thread, GAUGE_THREAD_HEADER words
 *     [0] Python thread id, low   [1] high
 *     [2] OS thread id (0 if unknown)
 *     [3] flags: GAUGE_TH_* | (OS state letter << 8) | (GAUGE_WHY_* << 16)
 *         (0 letter = not read; the reason says why a stack failed or was cut)
 *     [4] CPU ns since this thread's previous sample, low  [5] high
 *         (all ones = unknown)
 *     [6] interpreter id
 *     [7] frame count N
 *   then N frame ids, innermost first (resolve with gauge_frame);
 *   then, only when the thread's flags have GAUGE_TH_TRACE, GAUGE_TRACE_WORDS
 *   words: the thread's current OpenTelemetry trace id (128 bits, most
 *   significant word first) and span id (64 bits, high word first).
 *
 * Thread order is the interpreter's thread list (newest first), interpreters
 * in list order: the order sys._current_frames() and py-spy dump use.
 */
#ifndef GAUGE_H
#define GAUGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (returned negated by functions that return counts). */
enum {
  GAUGE_OK = 0,
  GAUGE_ENOPROC = 1,     /* no such process */
  GAUGE_EPERM = 2,       /* not allowed to read the process */
  GAUGE_ENOTPYTHON = 3,  /* no CPython runtime found in the process */
  GAUGE_EVERSION = 4,    /* CPython found, version not supported */
  GAUGE_EEXITED = 5,     /* the process exited */
  GAUGE_ENOMEM = 6,      /* allocation failed or output buffer too small */
  GAUGE_EINVAL = 7,      /* bad argument */
  GAUGE_ENOTREADY = 8    /* Python found but its runtime is not initialised yet */
};

#define GAUGE_REC_HEADER 6
#define GAUGE_THREAD_HEADER 8

#define GAUGE_REC_EXITED 1u   /* the process is gone: no threads follow */
#define GAUGE_REC_ERROR 2u    /* the interpreter or thread list could not be read (whole or in part) */
#define GAUGE_REC_NO_GIL 4u   /* free-threaded build running without a GIL: no thread holds one */

#define GAUGE_TH_GIL 1u        /* the thread holds the GIL */
#define GAUGE_TH_ERROR 2u      /* torn or invalid stack: frames dropped */
#define GAUGE_TH_TRUNCATED 4u  /* deeper than the depth cap: outermost frames cut */
#define GAUGE_TH_TRACE 8u      /* GAUGE_TRACE_WORDS of OpenTelemetry span context follow the frames */
#define GAUGE_TRACE_WORDS 6

/* Why a thread's stack failed (GAUGE_TH_ERROR), was cut (GAUGE_TH_TRUNCATED), or a record is partial. */
enum {
  GAUGE_WHY_NONE = 0,
  GAUGE_WHY_FRAME_UNREADABLE = 1, /* a frame could not be read: freed or moved while read */
  GAUGE_WHY_FRAME_LOOP = 2,       /* the frame chain loops back on itself: changed while read */
  GAUGE_WHY_CODE_UNREADABLE = 3,  /* a frame's code object unreadable or not a code object */
  GAUGE_WHY_BAD_INSTRUCTION = 4,  /* instruction pointer outside its code object's bytecode */
  GAUGE_WHY_UNKNOWN_OWNER = 5,    /* a frame owner value this version does not have */
  GAUGE_WHY_BYTECODE_COPY = 6,    /* the thread's own bytecode copy (free-threaded) unreadable */
  GAUGE_WHY_CFRAME = 7,           /* 3.11/3.12: the thread's cframe unreadable */
  GAUGE_WHY_THREAD_LIST = 8,      /* the thread list changed or could not be read */
  GAUGE_WHY_INTERP_LIST = 9,      /* the interpreter list changed or could not be read */
  GAUGE_WHY_DEPTH_CAP = 10,       /* deeper than the depth cap: outermost frames cut */
  GAUGE_WHY_NO_MEMORY = 11,       /* gauge ran out of memory */
  GAUGE_WHY_TASK_LIST = 12        /* asyncio: a task registry changed or could not be read */
};

/* Open flags. */
#define GAUGE_OPEN_THREAD_STATS 1 /* read per-thread OS state and CPU time */

typedef struct gauge_reader gauge_reader;
typedef struct gauge_sampler gauge_sampler;

/* Attach to pid. On failure returns NULL, sets *err and writes a one-line message. */
gauge_reader *gauge_open(int pid, int flags, int *err, char *msg, int msglen);
void gauge_close(gauge_reader *r);

/* Facts about the target as one line of JSON: pid, version, binary, library, ... */
int gauge_info(gauge_reader *r, char *out, int outlen);

/* Frame depth cap (default 2048, at most 65536). */
void gauge_set_max_depth(gauge_reader *r, int depth);

/* One snapshot of every thread into out. Returns words written or -error. */
int gauge_snapshot(gauge_reader *r, uint32_t *out, int cap_words);

/*
 * Resolve a frame id. Writes "name\0file\0" into out and the line numbers
 * into lines[0] (current line) and lines[1] (function's first line).
 * Returns bytes written, or -error.
 */
int gauge_frame(gauge_reader *r, uint32_t id, char *out, int outlen, int32_t *lines);

/* What kind of function a frame id runs: GAUGE_FRAME_* bits, 0 for a plain function (or -error). */
#define GAUGE_FRAME_GENERATOR 1
#define GAUGE_FRAME_COROUTINE 2
#define GAUGE_FRAME_ASYNC_GENERATOR 4
int gauge_frame_kind(gauge_reader *r, uint32_t id);

/*
 * Python thread names (threading.Thread.name) from the target's threading
 * module: "ident\0name\0" pairs, ident in decimal. Returns bytes written
 * (0 when none are known, e.g. threading never imported or an unknown
 * layout), or -error: -GAUGE_ENOMEM when out cannot hold them all (the
 * names of 4,096 threads, the most read, always fit 8 MiB). The first call
 * reads a few hundred bytes per thread; later ones re-read a few words per
 * thread in one batch, and in full only the threads new or renamed since.
 * Call it periodically, not per sample.
 */
int gauge_thread_names(gauge_reader *r, char *out, int outlen);

/*
 * Read each thread's current OpenTelemetry span (a target using
 * OpenTelemetry Python) into its samples (GAUGE_TH_TRACE). Off by default:
 * it costs a sys.modules lookup every 2 s while OpenTelemetry is absent and
 * about 16 small reads per thread per sample while a span is current
 * (3.12, one thread: 7 -> 24 process_vm_readv calls per snapshot). Returns 1
 * when this target's layout supports it (GIL builds 3.7+), else 0.
 */
int gauge_set_trace_context(gauge_reader *r, int on);

/*
 * asyncio tasks (CPython 3.8-3.15, GIL builds) of the main interpreter: every
 * pending task, at most max_tasks, with its name, its loop's thread, its
 * await chain and the tasks awaiting it. out gets:
 *   [0] words written  [1] task count  [2] GAUGE_ASYNC_* | (GAUGE_WHY_* << 8)
 *   [3] registry entries seen (done and dead ones included; more than [1] when capped)
 *   then per task GAUGE_TASK_HEADER words:
 *     [0] task address, low  [1] high (id() of the task)
 *     [2] Python thread id of the task's loop, low  [3] high (0: loop not running)
 *     [4] GAUGE_TASK_* | (GAUGE_WHY_* << 16)  [5] byte offset of its name in names
 *     [6] awaiting task count A  [7] frame count F
 *   then A task addresses (2 words each, low first), F frame ids, innermost
 *   first: the coroutine chain (a running task: its own coroutine only; its
 *   callees are on its thread's stack).
 * names gets each name NUL-terminated. Returns words written or -error;
 * -GAUGE_EVERSION when gauge has no asyncio layout for this target (message in gauge_last_error).
 */
#define GAUGE_ASYNC_HEADER 4
#define GAUGE_TASK_HEADER 8
#define GAUGE_ASYNC_CAPPED 1u     /* more tasks than max_tasks: the rest left out */
#define GAUGE_ASYNC_ERROR 2u      /* a task registry could not be read (whole or in part) */
#define GAUGE_ASYNC_NO_ASYNCIO 4u /* asyncio never imported */
#define GAUGE_TASK_RUNNING 1u     /* the task being stepped now */
#define GAUGE_TASK_ERROR 2u       /* chain torn or unreadable: frames dropped, reason in the flags */
#define GAUGE_TASK_TRUNCATED 4u   /* longer than the chain cap */
#define GAUGE_TASK_PURE_PYTHON 8u /* a pure-Python task (attributes read from its dict) */
int gauge_async_tasks(gauge_reader *r, int max_tasks, uint32_t *out, int cap_words, char *names, int names_cap);

/* Last error message of this reader (for snapshot failures). */
int gauge_last_error(gauge_reader *r, char *out, int outlen);

/* Sampler: one thread sampling all added readers at hz with randomized intervals. */
gauge_sampler *gauge_sampler_new(double hz, int buffer_words);
int gauge_sampler_add(gauge_sampler *s, gauge_reader *r);
int gauge_sampler_remove(gauge_sampler *s, gauge_reader *r);
int gauge_sampler_start(gauge_sampler *s);
void gauge_sampler_stop(gauge_sampler *s);
void gauge_sampler_free(gauge_sampler *s);
/* Copy whole records out (oldest first). Returns words copied. */
int gauge_sampler_drain(gauge_sampler *s, uint32_t *out, int cap_words);
/*
 * Counters: [0] samples taken, [1] dropped (buffer full), [2] late ticks,
 * [3] thread stack errors, [4] reader time ns total, [5] ticks,
 * [6] sampler thread CPU ns, [7] max reader time ns of one tick.
 */
void gauge_sampler_stats(gauge_sampler *s, double *out8);

#ifdef __cplusplus
}
#endif
#endif
