"""Web-like: W workers handle short requests through a few layers of
handlers, many distinct short stacks, a quarter of them waiting on "I/O"."""
import random
import time

from common import arg, report_forever, start


def render(n):
    return "".join(str(k) for k in range(n))


def query(n):
    return sum(k * k for k in range(n))


def io_wait():
    time.sleep(0.0005)


def view_home(r):
    return render(20 + r % 7)


def view_search(r):
    return query(40 + r % 13)


def view_profile(r):
    if r % 4 == 0:
        io_wait()
    return render(10) + str(query(15))


def view_upload(r):
    io_wait()
    return query(10)


VIEWS = [view_home, view_search, view_profile, view_upload]


def auth(r, depth):
    return route(r, depth - 1)


def session(r, depth):
    return auth(r, depth - 1) if depth > 0 else route(r, 0)


def logging_mw(r, depth):
    return session(r, depth - 1) if depth > 0 else route(r, 0)


def route(r, depth):
    if depth > 0:
        return [logging_mw, session, auth][r % 3](r // 3, depth - 1)
    return VIEWS[r % len(VIEWS)](r)


def worker(i, counter, started):
    rnd = random.Random(i)
    started[i] = True
    slots = counter.slots
    while True:
        route(rnd.randrange(1 << 20), rnd.randrange(1, 9))
        slots[i] += 1


if __name__ == "__main__":
    c, s = start(arg(1, 16), worker)
    report_forever(c, s)
