#!/usr/bin/python3
"""notify_sink.py PORT LOG -- a NOTIFY target that never answers.

Listens on 127.0.0.1:PORT, UDP and TCP (2-byte length framing), and writes one line
per message to LOG:
  ms=WALL_CLOCK_MS opcode=N qname=NAME serial=N|- tsig=KEYNAME|- udp|tcp
serial is the SOA serial of the answer section (RFC 1996 3.7) when there is one; tsig
the key name of a TSIG record at the end of the additional section. Writes "ready"
first, once both sockets are bound. Test scripts use it to count a primary's NOTIFY
retries and their spacing.
"""
import selectors
import socket
import struct
import sys
import time


def read_name(msg, off):
    """Returns (name, offset after the name), following compression pointers."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            hops += 1
            if hops > 64:
                raise ValueError("compression loop")
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    return ".".join(labels) + ".", (end if end is not None else off)


def describe(msg):
    _, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    opcode = (flags >> 11) & 0xF
    off, qname, serial, tsig = 12, "-", "-", "-"
    for _ in range(qd):
        qname, off = read_name(msg, off)
        off += 4
    for i in range(an + ns + ar):
        name, off = read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        rdata = off + 10
        if i < an and rtype == 6:  # SOA: MNAME, RNAME, then the serial
            _, p = read_name(msg, rdata)
            _, p = read_name(msg, p)
            serial = str(struct.unpack("!I", msg[p:p + 4])[0])
        if i == an + ns + ar - 1 and rtype == 250:
            tsig = name
        off = rdata + rdlen
    return "opcode=%d qname=%s serial=%s tsig=%s" % (opcode, qname, serial, tsig)


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "listen")
    buffers = {}
    with open(log, "a", buffering=1) as out:
        def record(msg, transport):
            ms = int(time.time() * 1000)
            try:
                text = describe(msg)
            except (IndexError, ValueError, struct.error) as e:
                text = "malformed (%s)" % e
            out.write("ms=%d %s %s\n" % (ms, text, transport))

        out.write("ready\n")
        while True:
            for key, _ in sel.select():
                if key.data == "udp":
                    msg, _ = udp.recvfrom(65535)
                    record(msg, "udp")
                elif key.data == "listen":
                    conn, _ = tcp.accept()
                    buffers[conn] = b""
                    sel.register(conn, selectors.EVENT_READ, "conn")
                else:
                    conn = key.fileobj
                    data = conn.recv(65535)
                    if not data:
                        sel.unregister(conn)
                        conn.close()
                        del buffers[conn]
                        continue
                    buf = buffers[conn] + data
                    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                        n = struct.unpack("!H", buf[:2])[0]
                        record(buf[2:2 + n], "tcp")
                        buf = buf[2 + n:]
                    buffers[conn] = buf


if __name__ == "__main__":
    main()
