"""Runs a command and prints its CPU time as the kernel accounts it (wait4), for the peers.

    python rusage.py OUTFILE cmd args...

The command's stdout and stderr go to OUTFILE; one JSON line goes to stdout:
{"utime": s, "stime": s, "wall": s, "status": exit status or -signal}.
Python 2.7 and 3.x; Node has no rusage for its children.
"""
import json
import os
import subprocess
import sys
import time


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    with open(out, "wb") as f:
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.time() - t0
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    sys.stdout.write(json.dumps({"utime": ru.ru_utime, "stime": ru.ru_stime, "wall": wall, "status": code}) + "\n")


if __name__ == "__main__":
    main()
