#!/usr/bin/python3
"""tcp_pipeline.py -- several DNS queries in one TCP write; answers in arrival order.

Usage: tcp_pipeline.py PORT [--half-close|--reset] NAME ...

Sends one A query with RD=1 per NAME to 127.0.0.1:PORT on a single connection, all in
one write, and prints one line per answer as it arrives: "NAME RCODE FLAGS", e.g.
"www.example.test NOERROR qr rd ra".  Exits 0 once every query is answered, 1 when
the server closes or 5 seconds pass first.
  --half-close  shuts down its sending side after the queries, then reads as usual
  --reset       closes with a TCP reset right after sending, reading nothing (a client
                that gives up while answers are pending)
Standard library only: dig sends one query per connection and reads in order.
"""
import socket
import struct
import sys

from tcp_io import recv_exact

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
FLAG_NAMES = [(0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"), (0x0080, "ra")]


def encode_query(qid, name):
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        msg += bytes([len(label)]) + label.encode("ascii")
    return msg + b"\x00" + struct.pack("!HH", 1, 1)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    port = int(args.pop(0))
    mode = args.pop(0) if args[0] in ("--half-close", "--reset") else None
    names = args
    queries = {1000 + i: name for i, name in enumerate(names)}
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    payload = b""
    for qid, name in queries.items():
        msg = encode_query(qid, name)
        payload += struct.pack("!H", len(msg)) + msg
    conn.sendall(payload)
    if mode == "--reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        return 0
    if mode == "--half-close":
        conn.shutdown(socket.SHUT_WR)
    try:
        while queries:
            prefix = recv_exact(conn, 2)
            answer = prefix and recv_exact(conn, struct.unpack("!H", prefix)[0])
            if not answer:
                print("connection closed with %d queries unanswered" % len(queries))
                return 1
            qid, flags = struct.unpack("!HH", answer[:4])
            name = queries.pop(qid, "unknown-id-%d" % qid)
            words = [w for bit, w in FLAG_NAMES if flags & bit]
            print(name, RCODES.get(flags & 0xF, str(flags & 0xF)), " ".join(words))
    except socket.timeout:
        print("timed out with %d queries unanswered" % len(queries))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
