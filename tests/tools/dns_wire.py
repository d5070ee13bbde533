#!/usr/bin/python3
"""dns_wire.py -- DNS messages by hand, for dns_compare.py: queries built byte by byte
(so that they can be broken on purpose), replies read without trusting them, and one
exchange over UDP or TCP with a numeric address.

dnspython parses RDATA only (into the canonical form of RFC 4034 6.2, and for printing):
a dnspython message cannot carry a malformed OPT, and an unsigned reply to a TSIG query
makes it raise.
"""
import socket
import struct
import time

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from tcp_io import recv_exact

QR, AA, TC, RD, RA, Z, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0040, 0x0020, 0x0010
FLAG_NAMES = [(QR, "qr"), (AA, "aa"), (TC, "tc"), (RD, "rd"), (RA, "ra"), (Z, "z"), (AD, "ad"), (CD, "cd")]
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS"}
TSIG_ERRORS = {0: "NOERROR", 16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC"}
T_A, T_NS, T_CNAME, T_SOA, T_PTR, T_MX, T_TXT, T_AAAA, T_SRV = 1, 2, 5, 6, 12, 15, 16, 28, 33
T_OPT, T_TKEY, T_TSIG, T_IXFR, T_AXFR, T_MAILB, T_MAILA, T_ANY = 41, 249, 250, 251, 252, 253, 254, 255
TYPE_ALIASES = {253: "MAILB", 254: "MAILA"}


def type_text(t):
    return TYPE_ALIASES.get(t) or dns.rdatatype.to_text(t)


def rcode_text(r):
    return RCODES.get(r, "RCODE%d" % r)


def name_wire(text):
    """A presentation name ('Web.zf.internal.', '.') as wire bytes, letter case kept."""
    out = b""
    for label in text.rstrip(".").split(".") if text not in (".", "") else []:
        raw = label.encode("ascii")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def read_name(msg, off):
    """Reads a possibly compressed name; returns (labels as bytes, offset after it)."""
    labels, end, jumps = [], None, 0
    while True:
        if off >= len(msg):
            raise ValueError("name runs past the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg) or jumps > 64:
                raise ValueError("bad compression pointer")
            if end is None:
                end = off + 2
            off = (n & 0x3F) << 8 | msg[off + 1]
            jumps += 1
            continue
        if n & 0xC0:
            raise ValueError("bad label type")
        if n == 0:
            return labels, (end if end is not None else off + 1)
        labels.append(msg[off + 1:off + 1 + n])
        off += 1 + n


def labels_text(labels):
    return ".".join(l.decode("latin-1") for l in labels) + "." if labels else "."


def edns_opt(payload=1232, version=0, do=False, options=b"", owner=b"\0", ext_rcode=0, zbits=0):
    ttl = ext_rcode << 24 | version << 16 | (0x8000 if do else 0) | zbits
    return owner + struct.pack("!HHIH", T_OPT, payload, ttl, len(options)) + options


def edns_option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def tsig_rr(keyname, msg_id, now=None, mac=b"\x5a" * 32):
    """A TSIG RR (RFC 8945) for a key the server does not hold: the MAC is never checked."""
    now = int(time.time()) if now is None else now
    rdata = (name_wire("hmac-sha256.") + struct.pack("!HIH", now >> 32, now & 0xFFFFFFFF, 300) +
             struct.pack("!H", len(mac)) + mac + struct.pack("!HHH", msg_id, 0, 0))
    return name_wire(keyname) + struct.pack("!HHIH", T_TSIG, 255, 0, len(rdata)) + rdata


def build_query(qname, qtype, qclass=1, msg_id=0x1234, flags=0, opcode=0, edns=None,
                qdcount=None, answer=b"", ancount=0, authority=b"", nscount=0,
                additional=b"", arcount=0, question=None):
    """A query's wire bytes. edns: None or a dict of edns_opt's arguments. The counts
    of the extra sections are the caller's, so that they can lie."""
    q = name_wire(qname) + struct.pack("!HH", qtype, qclass) if question is None else question
    opt = edns_opt(**edns) if edns is not None else b""
    qd = (1 if question is None else 0) if qdcount is None else qdcount
    header = struct.pack("!HHHHHH", msg_id, flags | opcode << 11, qd, ancount, nscount,
                         arcount + (1 if edns is not None else 0))
    return header + q + answer + authority + opt + additional


class RR:
    __slots__ = ("owner", "type", "rclass", "ttl", "rdata", "rdata_off", "msg")

    def canonical(self):
        """RDATA in the canonical form of RFC 4034 6.2 (names uncompressed and, for the
        types that list says, lowercased), for comparing answers from two servers."""
        try:
            rd = dns.rdata.from_wire(self.rclass, self.type, self.msg, self.rdata_off, len(self.rdata))
            return rd.to_digestable()
        except Exception:
            return self.rdata

    def text(self):
        try:
            rd = dns.rdata.from_wire(self.rclass, self.type, self.msg, self.rdata_off, len(self.rdata))
            rdtext = rd.to_text()
        except Exception:
            rdtext = "\\# %d %s" % (len(self.rdata), self.rdata.hex())
        return "%s %d %s %s %s" % (labels_text(self.owner), self.ttl,
                                   dns.rdataclass.to_text(self.rclass), type_text(self.type), rdtext)

    def key(self):
        return (labels_text(self.owner).lower(), self.type, self.rclass, self.ttl, self.canonical())


class Reply:
    """A reply read by hand: header, question, the three sections, OPT and TSIG apart."""

    def __init__(self, wire):
        self.wire = wire
        if len(wire) < 12:
            raise ValueError("reply shorter than a header (%d bytes)" % len(wire))
        self.id, self.flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
        self.opcode = self.flags >> 11 & 0xF
        self.counts = (qd, an, ns, ar)
        off = 12
        self.question = []
        for _ in range(qd):
            labels, off = read_name(wire, off)
            if off + 4 > len(wire):
                raise ValueError("question runs past the message")
            qt, qc = struct.unpack("!HH", wire[off:off + 4])
            self.question.append((b"".join(bytes([len(l)]) + l for l in labels) + b"\0", qt, qc))
            off += 4
        self.sections = []
        for count in (an, ns, ar):
            rrs = []
            for _ in range(count):
                rr = RR()
                rr.owner, off = read_name(wire, off)
                if off + 10 > len(wire):
                    raise ValueError("record runs past the message")
                rr.type, rr.rclass, rr.ttl, rdlen = struct.unpack("!HHIH", wire[off:off + 10])
                rr.rdata_off, rr.msg = off + 10, wire
                rr.rdata = wire[off + 10:off + 10 + rdlen]
                if len(rr.rdata) != rdlen:
                    raise ValueError("RDATA runs past the message")
                off += 10 + rdlen
                rrs.append(rr)
            self.sections.append(rrs)
        self.trailing = len(wire) - off
        self.answer, self.authority, additional = self.sections
        self.opt = [rr for rr in additional if rr.type == T_OPT]
        self.tsig = [rr for rr in additional if rr.type == T_TSIG]
        self.additional = [rr for rr in additional if rr.type not in (T_OPT, T_TSIG)]
        self.rcode = self.flags & 0xF
        if self.opt:
            self.rcode |= (self.opt[0].ttl >> 24) << 4

    def do(self):
        return bool(self.opt and self.opt[0].ttl & 0x8000)

    def edns_text(self):
        if not self.opt:
            return "no OPT"
        o = self.opt[0]
        parts = ["OPT udp=%d version=%d" % (o.rclass, o.ttl >> 16 & 0xFF)]
        if o.ttl & 0x8000:
            parts.append("do")
        if o.ttl & 0x7FFF:
            parts.append("z=%#x" % (o.ttl & 0x7FFF))
        if o.owner:
            parts.append("owner=%s" % labels_text(o.owner))
        opts, p = [], o.rdata
        while len(p) >= 4:
            code, olen = struct.unpack("!HH", p[:4])
            opts.append("%d:%s" % (code, p[4:4 + olen].hex()))
            p = p[4 + olen:]
        if opts:
            parts.append("options=" + ",".join(opts))
        if len(self.opt) > 1:
            parts.append("(%d OPTs)" % len(self.opt))
        return " ".join(parts)

    def tsig_fields(self):
        """The TSIG RR's fields (RFC 8945 4.2) as a dict; None without one."""
        if not self.tsig:
            return None
        rr, w = self.tsig[0], self.wire
        try:
            alg, off = read_name(w, rr.rdata_off)
            hi, lo, fudge, mac_size = struct.unpack("!HIHH", w[off:off + 10])
            mac = w[off + 10:off + 10 + mac_size]
            orig_id, error, other_len = struct.unpack("!HHH", w[off + 10 + mac_size:off + 16 + mac_size])
        except (ValueError, struct.error):
            return {"error": "unreadable", "mac_size": -1}
        return {"key": labels_text(rr.owner), "algorithm": labels_text(alg), "time": hi << 32 | lo,
                "fudge": fudge, "mac_size": mac_size, "mac": mac.hex(), "original_id": orig_id,
                "error": TSIG_ERRORS.get(error, str(error)), "other_len": other_len,
                "class": rr.rclass, "ttl": rr.ttl, "last": rr is self.sections[2][-1]}

    def flags_text(self):
        return " ".join(n for bit, n in FLAG_NAMES if self.flags & bit)

    def text(self, indent="    "):
        lines = ["%s opcode=%d flags=[%s] counts=%s %s" % (rcode_text(self.rcode), self.opcode,
                                                           self.flags_text(), "/".join(map(str, self.counts)),
                                                           self.edns_text())]
        for qn, qt, qc in self.question:
            labels, _ = read_name(qn, 0)
            lines.append("question: %s %s %s" % (labels_text(labels), dns.rdataclass.to_text(qc), type_text(qt)))
        for title, rrs in (("an", self.answer), ("ns", self.authority), ("ar", self.additional)):
            lines.extend("%s: %s" % (title, rr.text()) for rr in rrs)
        t = self.tsig_fields()
        if t:
            lines.append("tsig: " + " ".join("%s=%s" % kv for kv in t.items()))
        if self.trailing:
            lines.append("(%d trailing bytes)" % self.trailing)
        return "\n".join(indent + l for l in lines)


def ask(server, wire, tcp, timeout):
    """Sends one query; returns the reply's bytes or None (no reply within timeout)."""
    host, port = server
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        if tcp:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            head = recv_exact(s, 2)
            return recv_exact(s, struct.unpack("!H", head)[0]) if head else None
        s.send(wire)
        return s.recv(65535)
    except (socket.timeout, ConnectionError):
        return None
    finally:
        s.close()


def parse_addr(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)
