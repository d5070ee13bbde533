#!/usr/bin/python3
"""reg_load.py -- a steady registration load: REGISTER at RATE per second for SECONDS.

usage: reg_load.py HOST PORT RATE SECONDS PREFIX OKFILE
One TCP connection, pipelined; replies come in request order, so reply i is request i.
Prints "sent N answered M ok K err E" and writes the instance names that got OK to OKFILE.
Waits up to 15 s after the last request for the last reply.
"""
import socket
import sys
import threading
import time


def main():
    host, port, rate, seconds, prefix, okfile = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
        float(sys.argv[4]), sys.argv[5], sys.argv[6]
    s = socket.create_connection((host, port), timeout=20)
    names, replies = [], []
    done = threading.Event()

    def reader():
        buf = b""
        while len(replies) < total and not done.is_set():
            try:
                data = s.recv(65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                replies.append(line.decode())

    total = int(rate * seconds)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    start = time.monotonic()
    for i in range(total):
        name = "%s%d" % (prefix, i)
        names.append(name)
        s.sendall(("REGISTER load %s 10.9.%d.%d 80 ttl=300\n" % (name, i // 250, i % 250 + 1)).encode())
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    t.join(15)
    done.set()
    ok = [n for n, r in zip(names, replies) if r.startswith("OK")]
    err = [r for r in replies if not r.startswith("OK")]
    with open(okfile, "w") as f:
        f.write("".join(n + "\n" for n in ok))
    print("sent %d answered %d ok %d err %d" % (total, len(replies), len(ok), len(err)))
    for r in sorted(set(err))[:5]:
        print("# " + r)


if __name__ == "__main__":
    main()
