"""Mostly idle: N threads parked a few frames deep, one thread doing a little work."""
import threading
import time

from common import arg, report_forever, start

STOP = threading.Event()


def park(i):
    STOP.wait()


def pool_loop(i):
    park(i)


def worker(i, counter, started):
    started[i] = True
    if i > 0:
        pool_loop(i)
        return
    slots = counter.slots
    while True:
        x = 0
        for k in range(2000):
            x += k
        slots[0] += 1
        time.sleep(0.002)


if __name__ == "__main__":
    c, s = start(arg(1, 200), worker)
    report_forever(c, s)
