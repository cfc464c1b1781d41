"""Shared by the reference loads: a work counter reported on stdout.

Every 0.25 s the load prints "tick <monotonic seconds> <total work units>";
the benchmark turns consecutive ticks into work per second. "ready" is
printed once every thread is running.
"""
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
    try:
        while True:
            sys.stdout.write("tick %.6f %d\n" % (time.monotonic(), counter.total()))
            sys.stdout.flush()
            time.sleep(0.25)
    except (IOError, OSError):
        os._exit(0)  # the benchmark went away: leave quietly


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
