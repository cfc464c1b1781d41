"""Shared by the reference loads: a work counter reported on stdout.

Every 0.25 s (GAUGE_LOAD_TICK_S) the load prints
"tick <monotonic seconds> <total work units> <process CPU seconds>"; the
benchmark turns consecutive ticks into work per wall second and per second of
the load's own CPU time, which the machine's other load barely moves. The
monotonic clock is CLOCK_MONOTONIC, the benchmark's too. "ready" is printed
once every thread is running.

With GAUGE_LOAD_THREAD_TICKS=1, loads that call worker_reporter also print,
from each worker itself as it runs, "wtick <worker> <monotonic seconds>
<its work units> <its thread CPU seconds>" at the same period: a report that
needs no other thread to get the GIL, so it keeps coming when the machine is
so loaded that the reporting thread above waits seconds for its turn.
"""
import functools
import operator
import os
import sys
import threading
import time


class Counter(object):
    def __init__(self, n):
        # one slot per worker: each thread only touches its own, no lock needed
        self.slots = [0] * n

    def total(self):
        return sum(self.slots)


def report_forever(counter, started):
    for _ in range(400):
        if all(started):
            break
        time.sleep(0.01)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    period = float(os.environ.get("GAUGE_LOAD_TICK_S", "0.25"))
    # Read in one C-level map, so the interpreter cannot hand the GIL to a
    # worker between the three readings: they describe one instant.
    readings = (time.monotonic, functools.partial(sum, counter.slots), time.process_time)
    call = operator.methodcaller("__call__")
    try:
        while True:
            t, w, c = list(map(call, readings))
            sys.stdout.write("tick %.6f %d %.6f\n" % (t, w, c))
            sys.stdout.flush()
            time.sleep(period)
    except (IOError, OSError):
        os._exit(0)  # the benchmark went away: leave quietly


def worker_reporter(i):
    """A function the worker calls with its work count now and then; None when not asked for."""
    if os.environ.get("GAUGE_LOAD_THREAD_TICKS") != "1":
        return None
    period = float(os.environ.get("GAUGE_LOAD_TICK_S", "0.25"))
    clock, cpu, write = time.monotonic, time.thread_time, os.write
    last = [clock()]

    def report(work):
        t = clock()
        if t - last[0] >= period:
            last[0] = t
            try:
                write(1, b"wtick %d %.6f %d %.6f\n" % (i, t, work, cpu()))
            except OSError:
                os._exit(0)  # the benchmark went away

    return report


def arg(i, default):
    return int(sys.argv[i]) if len(sys.argv) > i else default


def start(n, target):
    started = [False] * n
    counter = Counter(n)
    for i in range(n):
        t = threading.Thread(target=target, args=(i, counter, started), name="worker-%d" % i)
        t.daemon = True
        t.start()
    return counter, started
