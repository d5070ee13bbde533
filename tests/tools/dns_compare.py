#!/usr/bin/python3
"""dns_compare.py -- svcdns against NSD on the same zones: the same queries to both,
the answers compared field by field, for t_nsd_compare.sh.

Usage:
  dns_compare.py compare --svcdns ADDR:PORT --nsd ADDR:PORT --zone FILE... \\
                 [--domain D] [--seed N] [--show N] [--list]
  dns_compare.py probe --server NAME=ADDR:PORT... CASE...   (CASE: a special's name,
                 or "all"; prints every server's reply in full, for reading by hand)

compare reads the reference data from the zone files NSD serves (--zone; the service
domain's file there holds the registry's records as plain data), derives a few hundred
queries from it with a seeded generator (--seed; the same seed, the same queries), sends
each to both servers and compares what the README promises is the same:
  rcode (with the extended bits of OPT), AA and every other header flag, the question
  echoed byte for byte (0x20 case included), the answer as a set of records (owner
  names case-insensitively, RDATA in canonical form, RFC 4034 6.2, TTLs included),
  the authority section (the SOA of a negative answer), the additional A/AAAA records
  (NS, MX and SRV targets), whether the reply has an OPT, its DO bit, version and size,
  and a TSIG in the reply with its error.
A difference is excused only when it is one of the documented design differences of
the README's answer-semantics section (DESIGN_DIFFERENCES below, one comment each);
every other difference is printed with the query and both replies, and the run ends
with a count per kind and exit status 1.  --list prints the queries and exits.

Messages are built and read by dns_wire.py.  Standard library and python3-dnspython
only; every socket talks to the given addresses (the tests': loopback) and nothing else.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

import dns.name
import dns.rdataclass
import dns.zone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dns_wire import (AA, AD, CD, FLAG_NAMES, QR, RD, T_A, T_AAAA, T_ANY, T_AXFR, T_CNAME,  # noqa: E402
                      T_IXFR, T_MAILA, T_MAILB, T_MX, T_NS, T_OPT, T_PTR, T_SOA, T_SRV, T_TKEY,
                      T_TSIG, T_TXT, TC, Z, Reply, ask, build_query, edns_opt, edns_option,
                      labels_text, name_wire, parse_addr, rcode_text, read_name, tsig_rr, type_text)


# ---- queries -------------------------------------------------------------------------

class Query:
    """One query: its bytes, its transport, and what it asks (for the exceptions)."""

    def __init__(self, desc, qname, qtype, qclass=1, tcp=False, flags=0, opcode=0, edns=None,
                 wire=None, special=None, timeout=None, only=None, **build):
        self.desc, self.qname, self.qtype, self.qclass = desc, qname, qtype, qclass
        self.tcp, self.flags, self.opcode, self.edns = tcp, flags, opcode, edns
        self.special, self.timeout, self.build = special, timeout, build
        self.wire, self.only, self.question = wire, only, None

    def finish(self, msg_id):
        if self.wire is None:
            self.wire = build_query(self.qname, self.qtype, self.qclass, msg_id, self.flags,
                                    self.opcode, self.edns, **self.build)
        elif callable(self.wire):
            self.wire = self.wire(msg_id)
        return self

    def text(self):
        parts = ["tcp" if self.tcp else "udp"]
        if self.edns is None:
            parts.append("no-edns")
        else:
            parts.append("edns=%d%s" % (self.edns.get("payload", 1232), ",do" if self.edns.get("do") else ""))
        parts.extend(n for bit, n in FLAG_NAMES if self.flags & bit)
        if self.opcode:
            parts.append("opcode=%d" % self.opcode)
        cls = "" if self.qclass == 1 else " " + dns.rdataclass.to_text(self.qclass)
        head = "%s %s%s" % (self.qname, type_text(self.qtype), cls)
        if self.special:
            head = "[%s] %s" % (self.special, head)
        return "%s (%s)%s" % (head, " ".join(parts), (" -- " + self.desc) if self.desc else "")


def specials(apex, svc_apex, outside):
    """Hand-made queries: flags, EDNS variants, broken packets, other opcodes, classes,
    meta types, zone transfers, TSIG, truncation. Each has a short name for probe."""
    out = []

    def add(name, desc, qname=apex, qtype=T_SOA, **kw):
        out.append(Query(desc, qname, qtype, special=name, **kw))

    e0 = {"payload": 1232}
    do = {"payload": 1232, "do": True}
    add("cd", "CD set", flags=CD, edns=e0)
    add("cd-do", "CD and DO set", qname="web." + apex, qtype=T_A, flags=CD | RD, edns=do)
    add("cd-nxdomain", "CD set, a name that does not exist", qname="nosuch." + apex, qtype=T_A, flags=CD)
    add("ad", "AD set in the query (RFC 6840 5.7)", flags=AD, edns=e0)
    add("z-bit", "the header's Z bit set", flags=Z)
    add("do-tcp", "DO over TCP", tcp=True, edns=do)
    add("edns-v1", "EDNS version 1: BADVERS", edns={"payload": 1232, "version": 1})
    add("edns-v1-outside", "EDNS version 1, name outside our zones", qname=outside, qtype=T_A,
        edns={"payload": 1232, "version": 1})
    add("edns-zflags", "unknown EDNS flag bits set", edns={"payload": 1232, "zbits": 0x4000})
    add("edns-size-0", "EDNS payload 0 (treated as 512)", edns={"payload": 0})
    add("edns-size-64k", "EDNS payload 65535", edns={"payload": 65535, "do": True})
    add("edns-unknown-option", "an EDNS option nobody knows (code 65001)",
        edns={"payload": 1232, "options": edns_option(65001, b"hello")})
    add("edns-nsid", "NSID requested (none configured)", edns={"payload": 1232, "options": edns_option(3, b"")})
    add("edns-cookie", "a client cookie (RFC 7873)",
        edns={"payload": 1232, "options": edns_option(10, bytes(range(8)))})
    add("opt-bad-option-len", "malformed OPT: an option's length runs past the RDATA",
        edns={"payload": 1232, "options": struct.pack("!HH", 65001, 40) + b"abcd"})
    add("opt-truncated-option", "malformed OPT: 3 bytes of RDATA, not a whole option header",
        edns={"payload": 1232, "options": b"\x00\x0a\x00"})
    add("opt-owner", "OPT with an owner other than the root", edns={"payload": 1232, "owner": name_wire("x.")})
    add("opt-twice", "two OPT records", edns=e0, additional=edns_opt(1232), arcount=1)
    add("opt-in-authority", "the OPT in the authority section", authority=edns_opt(1232), nscount=1)
    add("qdcount-0", "QDCOUNT 0, nothing else", question=b"")
    # Issue 17 (9): the reply to a query with a valid OPT carries OPT. Only that is compared:
    # NSD answers NOERROR (a cookie-only query, RFC 7873 5.4, has QDCOUNT 0), Knot FORMERR.
    add("qdcount-0-opt", "QDCOUNT 0 with a valid OPT", question=b"", edns=e0, only={"opt", "edns-do", "edns"})
    add("qdcount-2", "QDCOUNT 2 (the question twice)", edns=e0, qdcount=2,
        question=(name_wire(apex) + struct.pack("!HH", T_SOA, 1)) * 2)
    add("ancount-1", "a record in the answer section of a query",
        answer=name_wire(apex) + struct.pack("!HHIH", T_A, 1, 60, 4) + bytes([192, 0, 2, 99]), ancount=1)
    add("question-cut", "the question cut in the middle of its type", edns=None,
        question=name_wire(apex) + b"\x00")
    for opcode in (1, 2, 3, 4, 5, 6, 15):
        add("opcode-%d" % opcode, "opcode %d" % opcode, opcode=opcode)
        add("opcode-%d-opt" % opcode, "opcode %d with OPT" % opcode, opcode=opcode, edns=e0)
    for cls in (3, 4, 254, 255, 42):
        add("class-%d" % cls, "class %s" % dns.rdataclass.to_text(cls), qclass=cls, edns=e0)
    add("class-ch-outside", "class CH, a name outside our zones", qname=outside, qtype=T_TXT, qclass=3)
    for qtype, tname in ((T_TSIG, "tsig"), (T_TKEY, "tkey"), (T_OPT, "opt")):
        add("qtype-%s" % tname, "qtype %s for the apex" % type_text(qtype), qtype=qtype, edns=e0)
        add("qtype-%s-name" % tname, "qtype %s for a name in the zone" % type_text(qtype),
            qname="web." + apex, qtype=qtype)
        add("qtype-%s-nx" % tname, "qtype %s for a name that does not exist" % type_text(qtype),
            qname="nosuch." + apex, qtype=qtype)
        add("qtype-%s-outside" % tname, "qtype %s outside our zones" % type_text(qtype),
            qname=outside, qtype=qtype, edns=e0)
    add("axfr-udp", "AXFR over UDP", qtype=T_AXFR)
    add("axfr-tcp", "AXFR over TCP", qtype=T_AXFR, tcp=True)
    add("axfr-svc", "AXFR of the service domain over TCP", qname=svc_apex, qtype=T_AXFR, tcp=True)
    add("axfr-outside", "AXFR outside our zones", qname=outside, qtype=T_AXFR, tcp=True)
    soa = name_wire(apex) + struct.pack("!HHIH", T_SOA, 1, 0, 22) + b"\0\0" + struct.pack("!IIIII", 1, 0, 0, 0, 0)
    add("ixfr-tcp", "IXFR over TCP, serial 1 in the authority section (RFC 1995)", qtype=T_IXFR, tcp=True,
        authority=soa, nscount=1)
    add("ixfr-udp", "IXFR over UDP, serial 1 in the authority section (RFC 1995)", qtype=T_IXFR,
        authority=soa, nscount=1)
    add("ixfr-bare", "IXFR without the SOA in the authority section", qtype=T_IXFR, tcp=True)

    def tsig_query(qname, qtype, edns):
        def wire(msg_id):
            return build_query(qname, qtype, 1, msg_id, 0, 0, edns, additional=tsig_rr("nokey.", msg_id),
                               arcount=1)
        return wire
    add("tsig-unknown-key", "TSIG with a key the server does not have", wire=tsig_query(apex, T_SOA, e0), edns=e0)
    add("tsig-unknown-key-noedns", "TSIG with an unknown key, no EDNS", wire=tsig_query(apex, T_SOA, None))
    add("tsig-unknown-key-tcp", "TSIG with an unknown key over TCP", wire=tsig_query(apex, T_SOA, e0),
        edns=e0, tcp=True)
    add("tsig-unknown-key-outside", "TSIG with an unknown key, a name outside our zones",
        qname=outside, qtype=T_A, wire=tsig_query(outside, T_A, e0), edns=e0)
    add("tsig-not-last", "a TSIG that is not the last record",
        wire=lambda i: build_query(apex, T_SOA, 1, i, 0, 0, None,
                                   additional=tsig_rr("nokey.", i) + edns_opt(1232), arcount=2))
    add("qr-set", "QR set: a response, never answered", flags=QR, timeout=0.3)
    add("big-udp", "an answer over 512 bytes, no EDNS", qname="big." + apex, qtype=T_TXT)
    add("big-udp-edns", "an answer over 1232 bytes, EDNS 1232", qname="big." + apex, qtype=T_TXT, edns=e0)
    add("big-udp-512", "an answer over 512 bytes, EDNS 512", qname="big." + apex, qtype=T_TXT,
        edns={"payload": 512})
    add("big-udp-4096", "an answer over 1232 bytes, EDNS 4096 (ours is 1232)", qname="big." + apex,
        qtype=T_TXT, edns={"payload": 4096, "do": True})
    add("big-tcp", "an answer over 1232 bytes over TCP", qname="big." + apex, qtype=T_TXT, tcp=True)
    add("big-any", "ANY at a name whose one RRset does not fit", qname="big." + apex, qtype=T_ANY)
    return out


# ---- queries from the zones ------------------------------------------------------------

QTYPES = [T_A, T_AAAA, T_NS, T_SOA, T_MX, T_SRV, T_TXT, T_CNAME, T_PTR, T_ANY, T_MAILB, T_MAILA,
          200, 0, 65280]
EDNS_VARIANTS = [None, {"payload": 1232}, {"payload": 1232, "do": True}, {"payload": 4096, "do": True},
                 {"payload": 512}]


def load_zones(paths):
    """The reference data: {apex: dns.zone.Zone}, names as written (mixed case kept)."""
    zones = {}
    for path in paths:
        z = dns.zone.from_file(path, origin=None, relativize=False, check_origin=True)
        zones[z.origin] = z
    return zones


def reverse_name(address):
    if ":" in address:
        nibbles = socket.inet_pton(socket.AF_INET6, address).hex()
        return ".".join(reversed(nibbles)) + ".ip6.arpa."
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa."


def mix_case(rng, text):
    """0x20: each letter upper or lower case at random (draft-vixie-dnsext-dns0x20)."""
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c.lower() for c in text)


def generate(zones, domain, seed):
    """Every owner name and empty non-terminal, names below them and below each apex that
    do not exist, names outside every zone, bare names and reverse names, each with every
    type of QTYPES; transport, EDNS, RD and letter case drawn from a seeded generator."""
    rng = random.Random(seed)
    names, seen = [], set()

    def want(name):
        if name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)

    addresses = []
    for apex, z in sorted(zones.items()):
        for name in sorted(z.nodes, key=lambda n: n.to_text().lower()):
            want(name.to_text())
            parent = name.parent()
            while parent != apex and parent.is_subdomain(apex):   # empty non-terminals
                want(parent.to_text())
                parent = parent.parent()
            for rds in z.nodes[name].rdatasets:
                if rds.rdtype in (T_A, T_AAAA) and apex == domain:
                    addresses.extend((rd.address, name) for rd in rds)
    owners = list(names)
    for i, name in enumerate(owners):          # below existing names, every third one
        if i % 3 == 0:
            want("nx%d.%s" % (i, name))
    for apex in sorted(zones):
        want("nosuch." + apex.to_text())
        want("a.b.nosuch." + apex.to_text())
        want("x" + apex.to_text())              # a neighbour: a name ending in the apex's text
    for outside in ("example.org.", "internal.", ".", domain.to_text() + "example.",
                    "nosuch."):
        want(outside)
    for name in owners:                        # bare names: the first label of a name in D
        n = dns.name.from_text(name)
        if n.parent() == domain:
            want(n.labels[0].decode() + ".")
    for address in sorted({a for a, _ in addresses}) + ["10.99.99.99", "fd00::99"]:
        want(reverse_name(address))
    queries = []
    for name in names:
        for qtype in QTYPES:
            edns = rng.choice(EDNS_VARIANTS)
            queries.append(Query("", mix_case(rng, name), qtype, tcp=rng.random() < 0.4,
                                 flags=RD if rng.random() < 0.5 else 0,
                                 edns=dict(edns) if edns else None))
    return queries


# ---- comparing two replies ---------------------------------------------------------------

def set_diff(kind, a, b, what):
    """Differences of two record lists as sets (and as multisets: duplicates count)."""
    ka, kb = [rr.key() for rr in a], [rr.key() for rr in b]
    if set(ka) == set(kb):
        if sorted(ka) != sorted(kb):
            return [(kind + "-duplicates", "%s: svcdns %d records, nsd %d, the same set" % (what, len(ka), len(kb)))]
        return []
    no_ttl = (lambda ks: {k[:3] + k[4:] for k in ks})
    if no_ttl(ka) == no_ttl(kb):
        return [("ttl", "%s: the same records with other TTLs" % what)]
    only_a = [rr.text() for rr in a if rr.key() not in set(kb)]
    only_b = [rr.text() for rr in b if rr.key() not in set(ka)]
    return [(kind, "%s: only svcdns: %s; only nsd: %s" % (what, "; ".join(sorted(set(only_a))) or "-",
                                                          "; ".join(sorted(set(only_b))) or "-"))]


def targets(answer):
    """The lowercased names an answer's NS, MX and SRV records point to (RFC 1035 3.3.9,
    3.3.11 and RFC 2782 ask for their addresses in the additional section)."""
    out = set()
    for rr in answer:
        if rr.type in (T_NS, T_MX, T_SRV):
            skip = {T_NS: 0, T_MX: 2, T_SRV: 6}[rr.type]
            out.add(labels_text(read_name(rr.msg, rr.rdata_off + skip)[0]).lower())
    return out


def differences(q, a, b):
    """Every difference between svcdns's reply a and NSD's reply b: [(kind, detail)]."""
    if a is None or b is None:
        if (a is None) != (b is None):
            return [("reply", "svcdns %s, nsd %s" % ("no reply" if a is None else "replied",
                                                     "no reply" if b is None else "replied"))]
        return []
    if isinstance(a, ValueError) or isinstance(b, ValueError):
        if isinstance(a, ValueError) and isinstance(b, ValueError):
            return []
        return [("unreadable", "svcdns: %s; nsd: %s" % (a if isinstance(a, ValueError) else "ok",
                                                         b if isinstance(b, ValueError) else "ok"))]
    d = []
    if a.rcode != b.rcode:
        d.append(("rcode", "svcdns %s, nsd %s" % (rcode_text(a.rcode), rcode_text(b.rcode))))
    if a.id != b.id or a.opcode != b.opcode:
        d.append(("header", "id/opcode: svcdns %d/%d, nsd %d/%d" % (a.id, a.opcode, b.id, b.opcode)))
    for bit, flag in FLAG_NAMES:
        if (a.flags ^ b.flags) & bit:
            kind = {AA: "aa", TC: "tc", CD: "cd"}.get(bit, "flags")
            d.append((kind, "%s: svcdns %d, nsd %d" % (flag, bool(a.flags & bit), bool(b.flags & bit))))
    if a.question != b.question:
        d.append(("question", "svcdns %d question(s), nsd %d%s" % (
            len(a.question), len(b.question), " (letter case differs)" if
            [x[0].lower() for x in a.question] == [x[0].lower() for x in b.question] else "")))
    d += set_diff("answer", a.answer, b.answer, "answer")
    # NSD (without minimal-responses, which would also drop the MX and SRV targets'
    # addresses) adds its zone's NS RRset to the authority section of a positive answer
    # and those names' addresses to the additional section: optional data that svcdns,
    # like Knot, leaves out, and that is not compared on either side.  Additional
    # records other than addresses (and OPT and TSIG, apart) are compared.
    trim = (lambda r: [rr for rr in r.authority if not (r.answer and rr.type == T_NS)])
    auth_a, auth_b = trim(a), trim(b)
    soa_a = any(rr.type == T_SOA for rr in auth_a)
    soa_b = any(rr.type == T_SOA for rr in auth_b)
    if soa_a != soa_b:
        d.append(("authority-soa", "SOA in authority: svcdns %s, nsd %s" % (soa_a, soa_b)))
    else:
        d += set_diff("authority", auth_a, auth_b, "authority")
    wanted = targets(a.answer) | targets(b.answer)
    addr = (lambda rrs: [rr for rr in rrs if rr.type in (T_A, T_AAAA) and labels_text(rr.owner).lower() in wanted])
    other = (lambda rrs: [rr for rr in rrs if rr.type not in (T_A, T_AAAA)])
    d += set_diff("additional-addr", addr(a.additional), addr(b.additional), "additional A/AAAA of NS/MX/SRV targets")
    d += set_diff("additional-other", other(a.additional), other(b.additional), "additional (not A/AAAA)")
    if bool(a.opt) != bool(b.opt):
        d.append(("opt", "OPT in the reply: svcdns %s, nsd %s" % (bool(a.opt), bool(b.opt))))
    elif a.opt:
        if a.do() != b.do():
            d.append(("edns-do", "DO: svcdns %d, nsd %d" % (a.do(), b.do())))
        oa, ob = a.opt[0], b.opt[0]
        if (oa.rclass, oa.ttl >> 16 & 0xFF, len(a.opt)) != (ob.rclass, ob.ttl >> 16 & 0xFF, len(b.opt)):
            d.append(("edns", "svcdns %s; nsd %s" % (a.edns_text(), b.edns_text())))
    ta, tb = a.tsig_fields(), b.tsig_fields()
    if bool(ta) != bool(tb) or (ta and (ta["error"], ta["mac_size"]) != (tb["error"], tb["mac_size"])):
        d.append(("tsig", "TSIG: svcdns %s; nsd %s" % (
            ta and "error=%s mac_size=%d" % (ta["error"], ta["mac_size"]),
            tb and "error=%s mac_size=%d" % (tb["error"], tb["mac_size"]))))
    return d


def notes(a, b):
    """Differences reported but never failing: EDNS options (NSD sends Extended DNS
    Errors, RFC 8914, that svcdns does not have yet: issue 17's 'Also')."""
    if not isinstance(a, Reply) or not isinstance(b, Reply) or not a.opt or not b.opt:
        return []
    if a.opt[0].rdata != b.opt[0].rdata:
        return ["EDNS options: svcdns %s; nsd %s" % (a.opt[0].rdata.hex() or "-", b.opt[0].rdata.hex() or "-")]
    return []


# ---- the documented design differences: the only exceptions -------------------------------
# Each rule is a sentence of the README (answer semantics, names served) where svcdns
# answers differently from NSD on purpose.  A rule sees the query, both replies, the
# differences found and the context (to ask NSD a second question); when it applies it
# returns the differences that are left, else None.  A rule removes only what its
# sentence explains, so anything else in the same reply is still reported.

SECTIONS = {"answer", "answer-duplicates", "authority", "authority-soa", "authority-duplicates",
            "additional-addr", "additional-addr-duplicates", "additional-other", "ttl"}
CONTENT = SECTIONS | {"rcode", "aa", "tsig"}


def without(diffs, kinds):
    return [d for d in diffs if d[0] not in kinds]


def keys(rrs, owner=None):
    return sorted(((owner or labels_text(rr.owner)).lower(),) + rr.key()[1:] for rr in rrs)


def rule_cd_copied(q, a, b, diffs, ctx):
    # "RD and CD are copied": RFC 4035 3.1.6 asks for it; NSD (and Knot) clear CD.
    if q.flags & CD and a.flags & CD and isinstance(b, Reply) and not b.flags & CD:
        return without(diffs, {"cd"})
    return None


def rule_question_echoed(q, a, b, diffs, ctx):
    # "the question is echoed byte for byte (letter case included)", in every reply to
    # a readable question: NSD leaves it out of FORMERR, of NOTAUTH for TSIG and of
    # REFUSED for classes it does not serve.
    if (isinstance(b, Reply) and b.rcode and not b.question and q.question is not None and
            a.question == [q.question]):
        return without(diffs, {"question"})
    return None


def rule_tc_keeps_records(q, a, b, diffs, ctx):
    # "if the answer still does not fit, TC is set and as many answer records as fit
    # are kept": NSD sends TC with an empty answer.  svcdns's records must be part of
    # the whole answer, NSD's over TCP.
    if q.tcp or not a.flags & TC or not isinstance(b, Reply) or not b.flags & TC:
        return None
    full = ctx.nsd_again(q, tcp=True)
    if isinstance(full, Reply) and set(keys(a.answer)) <= set(keys(full.answer)):
        return without(diffs, SECTIONS)
    return None


def rule_bare_names(q, a, b, diffs, ctx):
    # bare-names: "answer single-label names (user-service.) from the service domain",
    # with the owner name as asked, and "there is no zone around it, so a NODATA carries
    # no SOA".  NSD refuses the name: svcdns's answer is compared with NSD's for NAME.D
    # instead (REFUSED, when svcdns does not answer the name, is NSD's answer too).
    if (q.qname.count(".") != 1 or q.qname == "." or not isinstance(b, Reply) or b.rcode != 5 or
            a.rcode != 0 or not a.flags & AA):
        return None
    fqdn = q.qname + ctx.domain.to_text()
    full = ctx.nsd_again(q, qname=fqdn)
    if not isinstance(full, Reply):
        return None
    renamed = Reply(a.wire)
    for rr in renamed.answer:
        if labels_text(rr.owner).lower() == q.qname.lower():
            rr.owner = [l.encode() for l in fqdn.rstrip(".").split(".")]
    rest = without(diffs, CONTENT)       # what NAME.D cannot explain (OPT, DO) stays as it is
    left = [(k, "as NAME.D: " + v) for k, v in differences(q, renamed, full)
            if k != "question" and k not in {r for r, _ in rest}]
    if not renamed.authority and not full.answer and full.rcode == 0:
        left = without(left, {"authority-soa"})
    return left + rest


def rule_ptr_for_instances(q, a, b, diffs, ctx):
    # Names served: PTR "for the address of a registered or static instance", pointing
    # to INSTANCE.SERVICE.D.  NSD has no reverse zone and refuses.
    address = ctx.reverse.get(q.qname.lower())
    if (address is None or not isinstance(b, Reply) or b.rcode != 5 or a.rcode != 0 or
            not a.flags & AA or a.authority):
        return None
    targets = set()
    for rr in a.answer:
        if rr.type != T_PTR or labels_text(rr.owner).lower() != q.qname.lower():
            return None
        targets.add(labels_text(read_name(rr.msg, rr.rdata_off)[0]).lower())
    if bool(targets) == (q.qtype in (T_PTR, T_ANY)) and targets <= ctx.instances.get(address, set()):
        return without(diffs, CONTENT)
    return None


def rule_xfr_refused(q, a, b, diffs, ctx):
    # "Zone transfers (AXFR/IXFR): REFUSED."
    if q.qtype in (T_AXFR, T_IXFR) and a.rcode == 5:
        return without(diffs, CONTENT | {"unreadable"})
    return None


def rule_any_one_rrset(q, a, b, diffs, ctx):
    # "ANY is answered with one RRset (RFC 8482)".  NSD answers one RRset too, but which
    # one is each server's choice: svcdns's must be one whole RRset of the name in the
    # zone data, and its additional records addresses from the zone data.
    if q.qtype != T_ANY or a.rcode != 0 or not a.answer or not isinstance(b, Reply) or b.rcode != 0:
        return None
    mine = keys(a.answer, owner=q.qname)
    if (all(labels_text(rr.owner).lower() == q.qname.lower() for rr in a.answer) and
            mine in ctx.rrsets.get(q.qname.lower(), []) and
            all(k in ctx.records for k in keys(a.additional))):
        return without(diffs, {"answer", "additional-addr"})
    return None


def rule_classes_refused(q, a, b, diffs, ctx):
    # "Classes other than IN: REFUSED."  NSD answers class ANY (255) from its IN data.
    if q.qclass != 1 and a.rcode == 5 and not a.answer:
        return without(diffs, CONTENT)
    return None


def rule_opcodes_notimp(q, a, b, diffs, ctx):
    # "NOTIMP for opcodes other than QUERY": NSD implements NOTIFY (opcode 4) and
    # refuses one from a primary it does not know.
    if q.opcode != 0 and a.rcode == 4:
        return without(diffs, {"rcode"})
    return None


def rule_opt_on_errors(q, a, b, diffs, ctx):
    # "Every answer to a query with a well-formed OPT carries OPT, errors included (RFC
    # 6891 6.1.1)": NSD leaves OPT out of FORMERR and NOTIMP, and out of the REFUSED of
    # a NOTIFY (Knot keeps it).
    if (a.opt and isinstance(b, Reply) and not b.opt and
            (a.rcode in (1, 4) and b.rcode in (0, 1, 4) or q.opcode == 4 and a.rcode == b.rcode == 5)):
        return without(diffs, {"opt"})
    return None


DESIGN_DIFFERENCES = [
    ("cd-copied", rule_cd_copied),
    ("question-echoed", rule_question_echoed),
    ("tc-keeps-records", rule_tc_keeps_records),
    ("bare-names", rule_bare_names),
    ("ptr-for-instances", rule_ptr_for_instances),
    ("xfr-refused", rule_xfr_refused),
    ("any-one-rrset", rule_any_one_rrset),
    ("classes-refused", rule_classes_refused),
    ("opcodes-notimp", rule_opcodes_notimp),
    ("opt-on-errors", rule_opt_on_errors),
]


class Context:
    def __init__(self, args, zones):
        self.nsd, self.svcdns, self.timeout = parse_addr(args.nsd), parse_addr(args.svcdns), args.timeout
        self.domain = dns.name.from_text(args.domain)
        self.reverse, self.instances = {}, {}
        self.rrsets, self.records = {}, set()    # the zone data, as keys() makes them
        for zone in zones.values():
            for name, node in zone.nodes.items():
                owner = name.to_text().lower()
                for rds in node.rdatasets:
                    rrset = sorted((owner, rds.rdtype, rds.rdclass, rds.ttl, rd.to_digestable()) for rd in rds)
                    self.rrsets.setdefault(owner, []).append(rrset)
                    self.records.update(rrset)
        z = zones.get(self.domain)
        for name, node in (z.nodes.items() if z else []):
            if len(name) - len(self.domain) < 2:    # instances are INSTANCE.SERVICE.D
                continue
            for rds in node.rdatasets:
                if rds.rdtype in (T_A, T_AAAA):
                    for rd in rds:
                        self.reverse[reverse_name(rd.address)] = rd.address
                        self.instances.setdefault(rd.address, set()).add(name.to_text().lower())

    def nsd_again(self, q, tcp=None, qname=None):
        """NSD's reply to a variant of q: over another transport, or for another name."""
        again = Query("", qname or q.qname, q.qtype, q.qclass, q.tcp if tcp is None else tcp,
                      q.flags, q.opcode, q.edns).finish(struct.unpack("!H", q.wire[:2])[0]) if qname else q
        return read_reply(ask(self.nsd, again.wire, again.tcp if tcp is None else tcp, self.timeout))


def read_reply(wire):
    if wire is None:
        return None
    try:
        return Reply(wire)
    except (ValueError, struct.error) as e:
        return ValueError(str(e))


def cmd_compare(args):
    zones = load_zones(args.zone)
    ctx = Context(args, zones)
    domain = ctx.domain
    first = sorted((a for a in zones if a != domain), key=str)
    apex = (first[0] if first else domain).to_text()
    queries = generate(zones, domain, args.seed) + specials(apex, domain.to_text(), "example.org.")
    for i, q in enumerate(queries):
        q.finish(i + 1 & 0xFFFF)
        try:
            parsed = Reply(q.wire)
            q.question = parsed.question[0] if len(parsed.question) == 1 else None
        except (ValueError, struct.error):
            q.question = None
    if args.list:
        for q in queries:
            print(q.text())
        return 0
    t0 = time.monotonic()
    mismatches, excused, noted, kinds, documented = [], {}, [], {}, 0
    for q in queries:
        wa = ask(ctx.svcdns, q.wire, q.tcp, q.timeout or args.timeout)
        wb = ask(ctx.nsd, q.wire, q.tcp, q.timeout or args.timeout)
        a, b = read_reply(wa), read_reply(wb)
        diffs = differences(q, a, b)
        if q.only is not None:
            diffs = [d for d in diffs if d[0] in q.only]
        differed = bool(diffs)
        if diffs and isinstance(a, Reply):
            for rule_name, rule in DESIGN_DIFFERENCES:
                left = rule(q, a, b, diffs, ctx)
                if left is not None and left != diffs:
                    excused[rule_name] = excused.get(rule_name, 0) + 1
                    diffs = left
                if not diffs:
                    break
        noted += [(q, n) for n in notes(a, b)]
        if diffs:
            mismatches.append((q, diffs, wa, wb))
            for kind, detail in diffs:
                kinds.setdefault(kind, []).append((q, detail))
        elif differed:
            documented += 1
    elapsed = time.monotonic() - t0
    shown, per_kind = 0, {}
    for n, (q, diffs, wa, wb) in enumerate(mismatches, 1):
        # --show N: the first N mismatches of each kind in full; -1: every one.
        fresh = [k for k, _ in diffs if per_kind.get(k, 0) < args.show]
        for k, _ in diffs:
            per_kind[k] = per_kind.get(k, 0) + 1
        if args.show >= 0 and not fresh:
            continue
        shown += 1
        print("MISMATCH %d: %s" % (n, q.text()))
        print("  query: %s" % q.wire.hex())
        for kind, detail in diffs:
            print("  %-18s %s" % (kind, detail))
        print("  svcdns:\n%s\n  nsd:\n%s" % (show_reply(wa), show_reply(wb)))
    if shown < len(mismatches):
        print("(%d of %d mismatches shown in full: --show N per kind, -1 for all)" % (shown, len(mismatches)))
    if noted:
        print("notes (never failing): %d replies differ only in what is not compared; first: %s: %s"
              % (len(noted), noted[0][0].text(), noted[0][1]))
    print("summary: %d queries in %.1f s (seed %d): %d agree, %d differ only as documented "
          "(rules applied: %s), %d mismatches" % (len(queries), elapsed, args.seed,
                             len(queries) - len(mismatches) - documented, documented,
                             ", ".join("%s %d" % kv for kv in sorted(excused.items())) or "none",
                             len(mismatches)))
    for kind, items in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        q, detail = items[0]
        print("  %-26s %4d  e.g. %s: %s" % (kind, len(items), q.text(), detail[:160]))
    return 1 if mismatches else 0


def show_reply(wire):
    if wire is None:
        return "    no reply"
    try:
        return Reply(wire).text()
    except (ValueError, struct.error) as e:
        return "    unreadable reply (%s): %s" % (e, wire.hex())


def cmd_probe(args):
    servers = [(n, parse_addr(a)) for n, _, a in (s.partition("=") for s in args.server)]
    cases = specials(args.apex, args.domain, args.outside)
    wanted = [c for c in cases if "all" in args.case or c.special in args.case]
    if not wanted:
        print("no such case; known: " + " ".join(c.special for c in cases), file=sys.stderr)
        return 2
    for i, q in enumerate(wanted):
        q.finish(0x4000 + i)
        print("== %s\n   query: %s" % (q.text(), q.wire.hex()))
        for name, server in servers:
            print("  -- %s" % name)
            print(show_reply(ask(server, q.wire, q.tcp, q.timeout or args.timeout)))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("probe")
    pr.add_argument("--server", action="append", required=True, help="NAME=ADDR:PORT")
    pr.add_argument("--apex", default="zf.internal.")
    pr.add_argument("--domain", default="svc.internal.")
    pr.add_argument("--outside", default="example.org.")
    pr.add_argument("--timeout", type=float, default=1.0)
    pr.add_argument("case", nargs="+")
    co = sub.add_parser("compare")
    co.add_argument("--svcdns", required=True, help="ADDR:PORT")
    co.add_argument("--nsd", required=True, help="ADDR:PORT")
    co.add_argument("--zone", action="append", required=True, help="a zone file NSD serves")
    co.add_argument("--domain", default="svc.internal.")
    co.add_argument("--seed", type=int, default=17)
    co.add_argument("--show", type=int, default=-1, help="print the first N mismatches of each kind in full")
    co.add_argument("--timeout", type=float, default=1.0)
    co.add_argument("--list", action="store_true", help="print the queries and exit")
    args = p.parse_args()
    if args.cmd == "compare":
        return cmd_compare(args)
    if args.cmd == "probe":
        return cmd_probe(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
