# One Python offlog 0.x client process for bench/e2e.ts (bench/_py.ts). Not part of
# offlog: it imports the `offlog` package of a Python release checked out by the bench
# into a temporary directory (PYTHONPATH). Opens FILE through the server at SOCK,
# prints "ready", waits for a line on stdin, writes LINES lines built with an f-string
# around a counter (the text of bench/_lines.ts buildLine), closes (which waits for the
# server's goodbye, i.e. until everything is written) and prints its times as JSON
# like bench/_client.ts: {"start", "wrote", "end"} in epoch ms and "cpu" in seconds.
#
#   PYTHONPATH=<checkout> python3 bench/_py_writer.py SOCK FILE CLIENT LINES

import json
import sys
import time

from offlog import ProxyFile

TAIL = ("abcdefghijklmnopqrstuvwxyz0123456789" * 3)[:73]


def main():
    sock, path, client, lines = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    f = ProxyFile(path, sock)
    print("ready", flush=True)
    sys.stdin.readline()
    cpu = time.process_time()
    start = time.time() * 1000
    for i in range(lines):
        f.write(f"offlog bench c{client:03d} l{i % 1000000:06d} {TAIL}\n")
    wrote = time.time() * 1000
    f.close()
    end = time.time() * 1000
    used = time.process_time() - cpu
    print(json.dumps({"start": start, "wrote": wrote, "end": end, "cpu": used}), flush=True)


if __name__ == "__main__":
    main()
