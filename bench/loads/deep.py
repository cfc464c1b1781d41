"""T threads, each D frames deep, busy in short leaf calls (default 8 x 50)."""
from common import arg, report_forever, start, worker_reporter


def leaf(x):
    return (x * 31 + 7) % 1009


def descend(depth, i, counter, started):
    if depth > 0:
        return descend(depth - 1, i, counter, started)
    started[i] = True
    slots = counter.slots
    report = worker_reporter(i)
    x = i
    while True:
        for _ in range(100):
            x = leaf(x)
        slots[i] += 1
        if report and not slots[i] & 15:
            report(slots[i])


def worker(i, counter, started):
    descend(arg(2, 50) - 2, i, counter, started)


if __name__ == "__main__":
    c, s = start(arg(1, 8), worker)
    report_forever(c, s)
