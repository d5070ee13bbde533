#!/usr/bin/python3
"""fake_upstream.py -- a misbehaving upstream resolver on 127.0.0.1, for t_forward.sh.

Usage: fake_upstream.py MODE PORT LOG [ADDR]

Listens on ADDR:PORT (127.0.0.1 unless given; UDP; TCP too in modes truncate, answer
and refused) and writes one line per
event to LOG ("ready", "udp query NAME", "tcp query NAME", "sent ..."), so that a test
can wait for it and count what reached it.  The modes:

  silent       swallows every query and never answers (a hung upstream)
  garbage      answers each query with junk only: random bytes, a short packet, the
               query echoed with QR=0, a reply with a wrong ID, replies to another
               name and to another type; then a wrong-ID reply every 150 ms for 3 s,
               which must not keep the forwarder waiting past its timeout
  wrongid      a reply with a wrong ID (A 192.0.2.66), then the right one (A 192.0.2.77)
               with the question name in upper case, as a 0x20-minded server might
  othersource  the right reply (A 192.0.2.66), but sent from another port: a
               forwarder that checks sources must never take it
  truncate     over UDP an empty answer with TC=1; over TCP the answer A 192.0.2.88
  answer       a well-behaved upstream: A 192.0.2.99 for any A question (TTL 60), an
               empty NOERROR for other types, over UDP and TCP
  refused      REFUSED for every query, over UDP and TCP (a second nameserver that
               must never be the one a client takes)

Standard library only; it answers A queries only, which is all the tests ask.
"""
import os
import socket
import struct
import sys
import threading
import time

from tcp_io import recv_exact

A_WRONG = bytes([192, 0, 2, 66])
A_RIGHT = bytes([192, 0, 2, 77])
A_TCP = bytes([192, 0, 2, 88])
A_GOOD = bytes([192, 0, 2, 99])


def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def question(query):
    """(name as text, the question's bytes) of a query, or None when unreadable."""
    off = 12
    labels = []
    while off < len(query):
        n = query[off]
        if n == 0:
            end = off + 1 + 4
            if end > len(query):
                return None
            return ".".join(labels) + ".", query[12:end]
        if n > 63:
            return None
        labels.append(query[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return None


def reply(query, qbytes, address=None, tc=False, qid=None, rcode=0):
    """A reply to query: its ID (or qid), RD copied, QR and RA set, one A record."""
    (query_id, flags) = struct.unpack("!HH", query[:4])
    out_flags = 0x8000 | (flags & 0x0100) | 0x0080 | (0x0200 if tc else 0) | rcode
    ancount = 1 if address else 0
    msg = struct.pack("!HHHHHH", query_id if qid is None else qid, out_flags, 1, ancount, 0, 0)
    msg += qbytes
    if address:
        msg += struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + address
    return msg


def good_reply(mode, query, qbytes):
    """The reply of modes answer and refused."""
    if mode == "refused":
        return reply(query, qbytes, None, rcode=5)
    is_a = qbytes[-4:] == struct.pack("!HH", 1, 1)
    return reply(query, qbytes, A_GOOD if is_a else None)


def send_slowly(sock, peer, msg, interval=0.15, seconds=3.0):
    for _ in range(int(seconds / interval)):
        time.sleep(interval)
        try:
            sock.sendto(msg, peer)
        except OSError:
            return


def serve_udp(mode, sock, logpath):
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    while True:
        query, peer = sock.recvfrom(65535)
        q = question(query)
        if q is None:
            log(logpath, "udp unreadable query")
            continue
        name, qbytes = q
        log(logpath, "udp query " + name)
        (qid,) = struct.unpack("!H", query[:2])
        if mode == "silent":
            continue
        if mode == "garbage":
            sock.sendto(os.urandom(40), peer)
            sock.sendto(b"\x01\x02\x03\x04\x05", peer)
            sock.sendto(query, peer)  # QR=0: a query, not a reply
            sock.sendto(reply(query, qbytes, A_WRONG, qid=qid ^ 0x5555), peer)
            first = b"q" if qbytes[1:2].lower() != b"q" else b"z"
            other_name = qbytes[:1] + first + qbytes[2:]  # same length, another name
            sock.sendto(reply(query, other_name, A_WRONG), peer)
            other_type = qbytes[:-4] + struct.pack("!HH", 16, 1)  # TXT instead of A
            sock.sendto(reply(query, other_type, A_WRONG), peer)
            drip = reply(query, qbytes, A_WRONG, qid=qid ^ 0x0F0F)
            threading.Thread(target=send_slowly, args=(sock, peer, drip), daemon=True).start()
            log(logpath, "sent garbage")
        elif mode == "wrongid":
            sock.sendto(reply(query, qbytes, A_WRONG, qid=qid ^ 0x5555), peer)
            sock.sendto(reply(query, qbytes[:-4].upper() + qbytes[-4:], A_RIGHT), peer)
            log(logpath, "sent wrong id, then right")
        elif mode == "othersource":
            other.sendto(reply(query, qbytes, A_WRONG), peer)
            log(logpath, "sent from another port")
        elif mode == "truncate":
            sock.sendto(reply(query, qbytes, None, tc=True), peer)
            log(logpath, "sent tc")
        elif mode in ("answer", "refused"):
            sock.sendto(good_reply(mode, query, qbytes), peer)


def serve_tcp_conn(conn, logpath, mode):
    with conn:
        while True:
            prefix = recv_exact(conn, 2)
            if prefix is None:
                return
            query = recv_exact(conn, struct.unpack("!H", prefix)[0])
            q = query and question(query)
            if not q:
                return
            log(logpath, "tcp query " + q[0])
            if mode == "truncate":
                msg = reply(query, q[1], A_TCP)
            else:
                msg = good_reply(mode, query, q[1])
            conn.sendall(struct.pack("!H", len(msg)) + msg)


def serve_tcp(sock, logpath, mode):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, logpath, mode), daemon=True).start()


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    mode, port, logpath = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    addr = sys.argv[4] if len(sys.argv) == 5 else "127.0.0.1"
    if mode not in ("silent", "garbage", "wrongid", "othersource", "truncate", "answer", "refused"):
        sys.exit("unknown mode " + mode)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, port))
    if mode in ("truncate", "answer", "refused"):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((addr, port))
        tcp.listen(16)
        threading.Thread(target=serve_tcp, args=(tcp, logpath, mode), daemon=True).start()
    log(logpath, "ready")
    serve_udp(mode, udp, logpath)


if __name__ == "__main__":
    main()
