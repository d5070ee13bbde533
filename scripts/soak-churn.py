#!/usr/bin/python3
"""soak-churn.py -- registration churn for scripts/soak, checked against a model.

Usage: soak-churn.py --reg PORT --dns PORT --http PORT [--seconds S] [--instances N]
                     [--checkpoint S] [--samples N] [--margin S] [--domain D]

Keeps N instance slots busy over one pipelined TCP connection (reopened every few
seconds): each slot registers, then its instance either expires (short lease, never
renewed), is renewed a few times and then deregistered or left to expire, or lives long
with renewals and an occasional replacing REGISTER. Every reply is checked against the
model of what is registered.

The model is exact because all requests of a batch are answered before the next batch
is sent: a lease granted for T seconds ends between (send time + T) and (reply time + T)
on the monotonic clock the server uses too. The only uncertainty is a lease ending near
a check; such instances count as "uncertain" (within --margin, default 1 s, of their
end) and may be either present or absent. Requests are only sent where the model knows
the answer (a RENEW at least --margin before the lease ends, a probing RENEW well after
it ended), so every reply is predictable.

At every checkpoint churn pauses for a moment: LIST must agree with the model for every
certain slot, and a sample of instance names asked with dig must answer as the model
says (the address, or NXDOMAIN). At the end churn stops, long leases are topped up,
the short ones run out, and then the registry must equal the model exactly: LIST (every
instance, its fields and remaining ttl), dig for every live instance and every
service's SRV set, and the metrics svcdns_instances and svcdns_leases_expired_total.

Prints progress lines and, last, "RESULT PASS|FAIL name: detail" lines that scripts/soak
turns into its summary. Exit status 0 when every result passed.
"""
import argparse
import heapq
import ipaddress
import random
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

now = time.monotonic  # CLOCK_MONOTONIC, as the server's lease clock


class Slot:
    """One instance name and what the server must hold for it."""
    __slots__ = ("index", "service", "name", "gen", "rec", "ttl", "lo", "hi",
                 "kind", "renewals", "end", "expiring")

    def __init__(self, index, services):
        self.index = index
        self.service = "churn-%d" % (index % services)
        self.name = "i%d" % index
        self.gen = 0
        self.rec = None      # (address, port, proto, priority, weight, txt tuple) when registered
        self.ttl = 0         # the lease last granted
        self.lo = self.hi = 0.0  # the lease ends between lo and hi
        self.kind = None     # "expire", "short" or "long"
        self.renewals = 0    # renewals left before the end of this life
        self.end = None      # "deregister" or "expire"
        self.expiring = False  # left to run out: absent once hi + margin has passed

    def status(self, t0, t1, margin):
        """'present', 'absent' or 'uncertain' over the time window [t0, t1]."""
        if self.rec is None:
            return "absent"
        if self.lo - margin > t1:
            return "present"
        if self.hi + margin < t0:
            return "absent"
        return "uncertain"


class Failures:
    def __init__(self):
        self.count = {}
        self.examples = {}

    def add(self, check, text):
        self.count[check] = self.count.get(check, 0) + 1
        if len(self.examples.setdefault(check, [])) < 5:
            self.examples[check].append(text)
            print("soak-churn: MISMATCH %s: %s" % (check, text), flush=True)


class Driver:
    def __init__(self, args):
        self.a = args
        self.domain = args.domain.rstrip(".")
        self.margin = args.margin
        services = max(1, args.instances // 100)
        self.services = ["churn-%d" % i for i in range(services)]
        self.slots = [Slot(i, services) for i in range(args.instances)]
        self.heap = []       # (due, seq, slot index, action)
        self.seq = 0
        self.rng = random.Random(args.seed)
        self.sock = None
        self.buf = b""
        self.conn_opened = 0.0
        self.connections = 0
        self.ops = {"REGISTER": 0, "UPDATE": 0, "RENEW": 0, "DEREGISTER": 0, "PROBE": 0}
        self.expired = 0     # leases the model saw run out (each one certainly)
        self.fail = Failures()
        self.static = {}     # (service, instance) -> LIST fields of static instances
        self.checks = {"checkpoints": 0, "list_lines": 0, "dig_names": 0}
        self.batches = 0
        self.max_batch = 0
        self.lag_max = 0.0   # how late the driver ran behind its schedule

    # --- the connection ---------------------------------------------------------------
    def connect(self):
        if self.sock:
            self.sock.close()
        self.sock = socket.create_connection(("127.0.0.1", self.a.reg), timeout=self.a.reply_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.conn_opened = now()
        self.connections += 1

    def read_line(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 1:]
                return line.decode()
            chunk = self.sock.recv(262144)
            if not chunk:
                raise ConnectionError("server closed the registration connection")
            self.buf += chunk

    def exchange(self, lines):
        """Sends lines pipelined, returns (replies, send time, reply time)."""
        t_send = now()
        self.sock.sendall(("\n".join(lines) + "\n").encode())
        replies = [self.read_line() for _ in lines]
        return replies, t_send, now()

    def list_all(self):
        """LIST over the connection: (lines, send time, reply time)."""
        t_send = now()
        self.sock.sendall(b"LIST\n")
        lines = []
        while True:
            line = self.read_line()
            if line.startswith("OK ") or line.startswith("ERR "):
                break
            lines.append(line)
        t_recv = now()
        if not line.startswith("OK ") or int(line[3:]) != len(lines):
            self.fail.add("list", "LIST ended with %r after %d lines" % (line, len(lines)))
        return lines, t_send, t_recv

    # --- scheduling ---------------------------------------------------------------------
    def schedule(self, slot, due, action):
        self.seq += 1
        heapq.heappush(self.heap, (due, self.seq, slot.index, action))

    def new_record(self, slot):
        slot.gen += 1
        r = self.rng
        i, g = slot.index, slot.gen
        if i % 8 == 7:
            addr = str(ipaddress.IPv6Address("fd00:%x::%x" % (g % 65536, i)))
        else:
            addr = "10.%d.%d.%d" % (100 + g % 100, (i >> 8) & 255, i & 255)
        proto = "udp" if r.random() < 0.1 else "tcp"
        prio = r.randrange(1, 10) if r.random() < 0.2 else 0
        weight = r.randrange(1, 100) if r.random() < 0.2 else 0
        txt = ("gen=%d" % g, "slot=%d" % i) if r.random() < 0.25 else ()
        return (addr, r.randrange(1, 65536), proto, prio, weight, txt)

    def register_line(self, slot, rec, ttl):
        addr, port, proto, prio, weight, txt = rec
        parts = ["REGISTER", slot.service, slot.name, addr, str(port), "ttl=%d" % ttl]
        if proto == "udp" or self.rng.random() < 0.1:
            parts.append("proto=" + proto)
        if prio:
            parts.append("priority=%d" % prio)
        if weight:
            parts.append("weight=%d" % weight)
        parts.extend("txt=" + t for t in txt)
        return " ".join(parts)

    def plan_life(self, slot):
        """Chooses how the next life of an empty slot goes; returns the lease to ask."""
        r = self.rng.random()
        if r < 0.4:
            slot.kind, slot.renewals, slot.end = "expire", 0, "expire"
            return self.rng.randint(1, 3)
        if r < 0.7:
            slot.kind, slot.renewals = "short", self.rng.randint(1, 4)
            slot.end = "deregister" if self.rng.random() < 0.5 else "expire"
            return self.rng.randint(3, 5)
        slot.kind, slot.end = "long", "deregister"
        slot.renewals = self.rng.randint(0, 3)
        return self.rng.randint(20, 40)

    # --- one batch: due actions become lines; replies update the model ----------------
    def run_due(self, t, stopping):
        lines, todo = [], []
        while self.heap and self.heap[0][0] <= t and len(lines) < self.a.max_batch:
            due, _, idx, action = heapq.heappop(self.heap)
            self.lag_max = max(self.lag_max, t - due)
            slot = self.slots[idx]
            line = self.prepare(slot, action, t, stopping)
            if line:
                lines.append(line[0])
                todo.append((slot, line[1], line[2]))
        if not lines:
            return 0
        if now() - self.conn_opened > self.a.reconnect:
            self.connect()
        replies, t_send, t_recv = self.exchange(lines)
        self.batches += 1
        self.max_batch = max(self.max_batch, len(lines))
        for (slot, kind, arg), line, reply in zip(todo, lines, replies):
            self.apply(slot, kind, arg, line, reply, t_send, t_recv, stopping)
        return len(lines)

    def prepare(self, slot, action, t, stopping):
        """The line for a due action (or None), with what the reply must be."""
        m = self.margin
        if action == "expired":
            # The lease ran out: certain once hi + margin has passed.
            slot.rec = None
            slot.expiring = False
            self.expired += 1
            if stopping:
                return None
            if self.rng.random() < 0.15:
                verb = "RENEW" if self.rng.random() < 0.5 else "DEREGISTER"
                return ("%s %s %s" % (verb, slot.service, slot.name), "probe", verb)
            self.schedule(slot, t + self.rng.uniform(0.2, 2.0), "register")
            return None
        if action == "register":
            if stopping:
                return None
            ttl = self.plan_life(slot)
            rec = self.new_record(slot)
            return (self.register_line(slot, rec, ttl), "register", (rec, ttl))
        # renew, update, deregister: only while the lease is certainly running.
        if slot.rec is None or slot.expiring:
            return None
        if slot.lo - t < m or stopping:
            # Too close to the end to know how a request would be answered (the
            # driver ran late): let it run out instead.
            self.let_expire(slot)
            return None
        if action == "renew":
            ttl = slot.ttl if self.rng.random() < 0.7 else self.rng.randint(*((3, 5) if slot.kind == "short" else (20, 40)))
            return ("RENEW %s %s ttl=%d" % (slot.service, slot.name, ttl), "renew", ttl)
        if action == "update":
            rec = self.new_record(slot)
            return (self.register_line(slot, rec, slot.ttl), "update", (rec, slot.ttl))
        if action == "deregister":
            return ("DEREGISTER %s %s" % (slot.service, slot.name), "deregister", None)
        raise ValueError(action)

    def let_expire(self, slot):
        slot.expiring = True
        self.schedule(slot, slot.hi + self.margin, "expired")

    def next_step(self, slot):
        """After a lease was granted: the slot's next action."""
        if slot.renewals > 0:
            slot.renewals -= 1
            # Renew or replace at half the lease: at least 1.5 s (short) before it ends.
            action = "update" if slot.kind == "long" and self.rng.random() < 0.3 else "renew"
            self.schedule(slot, slot.lo - slot.ttl / 2.0, action)
        elif slot.end == "deregister":
            self.schedule(slot, slot.lo - self.rng.uniform(slot.ttl * 0.5, slot.ttl * 0.9), "deregister")
        else:
            self.let_expire(slot)

    def apply(self, slot, kind, arg, line, reply, t_send, t_recv, stopping):
        if kind in ("register", "update"):
            rec, ttl = arg
            if reply != "OK ttl=%d" % ttl:
                return self.unexpected(slot, line, reply, "OK ttl=%d" % ttl)
            self.ops["REGISTER" if kind == "register" else "UPDATE"] += 1
            slot.rec, slot.ttl, slot.lo, slot.hi = rec, ttl, t_send + ttl, t_recv + ttl
            slot.expiring = False
            self.next_step(slot)
        elif kind == "renew":
            if reply != "OK ttl=%d" % arg:
                return self.unexpected(slot, line, reply, "OK ttl=%d" % arg)
            self.ops["RENEW"] += 1
            slot.ttl, slot.lo, slot.hi = arg, t_send + arg, t_recv + arg
            self.next_step(slot)
        elif kind == "deregister":
            if reply != "OK":
                return self.unexpected(slot, line, reply, "OK")
            self.ops["DEREGISTER"] += 1
            slot.rec = None
            if not stopping:
                self.schedule(slot, t_recv + self.rng.uniform(0.2, 2.0), "register")
        elif kind == "probe":
            # RENEW or DEREGISTER of a lease that certainly ran out: 404.
            if not reply.startswith("ERR 404 "):
                return self.unexpected(slot, line, reply, "ERR 404 ...")
            self.ops["PROBE"] += 1
            if not stopping:
                self.schedule(slot, t_recv + self.rng.uniform(0.2, 2.0), "register")

    def unexpected(self, slot, line, reply, want):
        self.fail.add("replies", "%r got %r, want %r" % (line, reply, want))
        # The model no longer knows this slot: retire it from the comparison by
        # deregistering it now (whatever the reply) and leaving it empty.
        r, _, _ = self.exchange(["DEREGISTER %s %s" % (slot.service, slot.name)])
        slot.rec = None
        slot.expiring = False

    # --- checks ---------------------------------------------------------------------------
    @staticmethod
    def list_fields(line):
        """A LIST line as ((service, instance), (address, port, proto, prio, weight, txt), ttl, static)."""
        p = line.split(" ")
        proto, prio, weight, txt, ttl, static = "tcp", 0, 0, [], None, False
        for opt in p[4:]:
            if opt == "static":
                static = True
            elif opt.startswith("ttl="):
                ttl = int(opt[4:])
            elif opt.startswith("proto="):
                proto = opt[6:]
            elif opt.startswith("priority="):
                prio = int(opt[9:])
            elif opt.startswith("weight="):
                weight = int(opt[7:])
            elif opt.startswith("txt="):
                txt.append(opt[4:])
        return (p[0], p[1]), (p[2], int(p[3]), proto, prio, weight, tuple(txt)), ttl, static

    def read_static(self):
        lines, _, _ = self.list_all()
        for line in lines:
            key, rec, _, static = self.list_fields(line)
            if not static:
                self.fail.add("list", "a fresh server lists a non-static instance: %s" % line)
            self.static[key] = rec

    def check_list(self, final):
        """LIST against the model: certain slots must agree; at the end all must."""
        lines, t_ls, t_lr = self.list_all()
        self.checks["list_lines"] += len(lines)
        seen = set()
        bad = 0
        for line in lines:
            key, rec, ttl, static = self.list_fields(line)
            seen.add(key)
            if static:
                if self.static.get(key) != rec:
                    bad += 1
                    self.fail.add("list", "static instance changed: %s" % line)
                continue
            slot = self.slot_of(key)
            if slot is None:
                bad += 1
                self.fail.add("list", "LIST shows an instance never registered: %s" % line)
                continue
            st = slot.status(t_ls, t_lr, self.margin)
            if st == "absent":
                bad += 1
                self.fail.add("list", "LIST shows %s.%s, which the model has gone: %s" % (key[1], key[0], line))
            elif st == "present":
                if rec != slot.rec:
                    bad += 1
                    self.fail.add("list", "%s: fields differ from the model %r" % (line, slot.rec))
                # ttl is the remaining lease rounded up: between these bounds, 1 s slack.
                lo_ttl = int(slot.lo - t_lr) - 1
                hi_ttl = int(slot.hi - t_ls) + 2
                if not lo_ttl <= ttl <= hi_ttl:
                    bad += 1
                    self.fail.add("list", "%s: ttl outside %d..%d" % (line, lo_ttl, hi_ttl))
        for key in self.static:
            if key not in seen:
                bad += 1
                self.fail.add("list", "static %s.%s missing from LIST" % (key[1], key[0]))
        uncertain = 0
        for slot in self.slots:
            st = slot.status(t_ls, t_lr, self.margin)
            if st == "uncertain":
                uncertain += 1
            elif st == "present" and (slot.service, slot.name) not in seen:
                bad += 1
                self.fail.add("list", "%s.%s registered (lease ends in %.1f s) but not in LIST"
                              % (slot.name, slot.service, slot.lo - t_lr))
        if final and uncertain:
            bad += 1
            self.fail.add("list", "%d instances still uncertain at the final check" % uncertain)
        return len(lines), uncertain, bad

    def slot_of(self, key):
        service, name = key
        if not name.startswith("i") or not service.startswith("churn-"):
            return None
        try:
            idx = int(name[1:])
        except ValueError:
            return None
        if idx >= len(self.slots) or self.slots[idx].service != service:
            return None
        return self.slots[idx]

    def dig(self, queries, tcp=False):
        """Runs one dig batch; returns {(qname, type): (status, [answer rdata])}."""
        with tempfile.NamedTemporaryFile("w", suffix=".dig") as f:
            for name, qtype in queries:
                f.write("@127.0.0.1 -p %d +norec +time=3 +tries=1 %s%s %s\n"
                        % (self.a.dns, "+tcp " if tcp else "", name, qtype))
            f.flush()
            out = subprocess.run(["dig", "+noall", "+comments", "+question", "+answer", "-f", f.name],
                                 capture_output=True, text=True, timeout=60 + 4 * len(queries)).stdout
        results, status, question, in_question = {}, None, None, False
        for line in out.splitlines():
            if line.startswith(";; ->>HEADER<<-"):
                status = line.split("status: ")[1].split(",")[0]
                question = None
            elif line.startswith(";; QUESTION SECTION"):
                in_question = True
            elif in_question and line.startswith(";") and not line.startswith(";;"):
                f = line[1:].split()
                question = (f[0].lower(), f[-1])
                results[question] = (status, [])
                in_question = False
            elif line and not line.startswith(";") and question:
                f = line.split(None, 4)
                if len(f) == 5 and f[3] == question[1]:
                    results[question][1].append(f[4])
        return results

    def fqdn(self, slot):
        return "%s.%s.%s." % (slot.name, slot.service, self.domain)

    def check_dig(self, budget, everything):
        """dig a sample of names (or every live one): address or NXDOMAIN as the model says."""
        t0 = now()
        t1 = t0 + budget
        present = [s for s in self.slots if s.status(t0, t1, self.margin) == "present"]
        absent = [s for s in self.slots if s.status(t0, t1, self.margin) == "absent"]
        if not everything:
            present = self.rng.sample(present, min(len(present), self.a.samples // 2))
        absent = self.rng.sample(absent, min(len(absent), self.a.samples - min(len(present), self.a.samples // 2)))
        queries, want = [], {}
        for s in present:
            qtype = "AAAA" if ":" in s.rec[0] else "A"
            queries.append((self.fqdn(s), qtype))
            want[(self.fqdn(s).lower(), qtype)] = ("NOERROR", [s.rec[0]])
            if s.rec[5]:
                queries.append((self.fqdn(s), "TXT"))
                want[(self.fqdn(s).lower(), "TXT")] = ("NOERROR", [" ".join('"%s"' % t for t in s.rec[5])])
        for s in absent:
            queries.append((self.fqdn(s), "A"))
            want[(self.fqdn(s).lower(), "A")] = ("NXDOMAIN", [])
        got = self.dig(queries)
        if now() > t1:
            self.fail.add("dig", "a dig batch of %d names took longer than its %.0f s budget" % (len(queries), budget))
        bad = 0
        for key, (status, answers) in want.items():
            g = got.get(key)
            if g is None:
                bad += 1
                self.fail.add("dig", "%s %s: no answer" % key)
            elif g[0] != status or sorted(g[1]) != sorted(answers):
                bad += 1
                self.fail.add("dig", "%s %s: got %s %s, model says %s %s" % (key + g + (status, answers)))
        self.checks["dig_names"] += len(want)
        return len(want), bad

    def check_services(self):
        """Final: every churn service's SRV set over TCP is the model's tcp instances."""
        queries, want = [], {}
        for svc in self.services:
            q = "_%s._tcp.%s." % (svc, self.domain)
            queries.append((q, "SRV"))
            targets = sorted("%s.%s.%s." % (s.name, s.service, self.domain) for s in self.slots
                             if s.service == svc and s.rec is not None and s.rec[2] == "tcp")
            want[(q.lower(), "SRV")] = targets
        got = self.dig(queries, tcp=True)
        bad = 0
        for key, targets in want.items():
            g = got.get(key)
            have = sorted(rd.split()[3] for rd in g[1]) if g else None
            if not g or (targets and g[0] != "NOERROR") or have != targets:
                bad += 1
                self.fail.add("dig", "%s SRV: %d targets, model has %d" % (key[0], len(have or []), len(targets)))
        return len(want), bad

    def metrics(self):
        url = "http://127.0.0.1:%d/metrics" % self.a.http
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                values[k] = float(v)
        return values

    # --- the run ------------------------------------------------------------------------
    def checkpoint(self, label, final=False):
        self.checks["checkpoints"] += 1
        t = now()
        listed, uncertain, list_bad = self.check_list(final)
        names, dig_bad = self.check_dig(self.a.dig_budget, everything=final)
        live = sum(1 for s in self.slots if s.rec is not None)
        print("soak-churn: checkpoint %s: %d listed (%d uncertain), %d names dug, %d mismatches; "
              "model: %d live, %d expired; ops %s; %.2f s" %
              (label, listed, uncertain, names, list_bad + dig_bad, live, self.expired,
               " ".join("%s=%d" % kv for kv in self.ops.items()), now() - t), flush=True)

    def run(self):
        a = self.a
        self.connect()
        self.read_static()
        start = now()
        # Fill every slot over the first two seconds (or a tenth of the run).
        spread = min(2.0, a.seconds / 10.0)
        for slot in self.slots:
            self.schedule(slot, start + self.rng.uniform(0, spread), "register")
        stop_at = start + a.seconds
        next_cp = start + a.checkpoint
        n_cp = 0
        while True:
            t = now()
            if t >= stop_at:
                break
            if t >= next_cp:
                n_cp += 1
                self.checkpoint("%d at %.0f s" % (n_cp, t - start))
                next_cp = now() + a.checkpoint
                continue
            sent = self.run_due(t, stopping=False)
            if sent < a.max_batch:
                nxt = self.heap[0][0] if self.heap else t + 0.05
                time.sleep(min(max(nxt - now(), 0.002), 0.05, max(stop_at - now(), 0)))
        churn_seconds = now() - start
        self.finish(start, churn_seconds)

    def finish(self, start, churn_seconds):
        # Stop churn: renew every long lease once more so that it outlives the checks,
        # let every other lease run out, then wait until each one certainly has.
        m = self.margin
        t = now()
        renew = [s for s in self.slots if s.rec is not None and not s.expiring and s.lo - t >= m
                 and s.kind == "long"]
        for i in range(0, len(renew), self.a.max_batch):
            part = renew[i:i + self.a.max_batch]
            lines = ["RENEW %s %s ttl=%d" % (s.service, s.name, s.ttl) for s in part]
            replies, t_send, t_recv = self.exchange(lines)
            for s, line, reply in zip(part, lines, replies):
                s.renewals, s.end = 0, "deregister"
                self.apply(s, "renew", s.ttl, line, reply, t_send, t_recv, True)
        # Everything not renewed just now, and not certainly gone, is left to run out.
        renewed = set(s.index for s in renew)
        for s in self.slots:
            if s.rec is not None and not s.expiring and s.index not in renewed:
                self.let_expire(s)
        self.heap = [e for e in self.heap if e[3] == "expired"]
        heapq.heapify(self.heap)
        settle_from = now()
        while self.heap:
            wait = self.heap[0][0] - now()
            if wait > 0:
                time.sleep(min(wait, 0.1))
                continue
            due, _, idx, action = heapq.heappop(self.heap)
            self.prepare(self.slots[idx], action, now(), stopping=True)
        settled = now() - settle_from
        # Give the server's expiry sweep (every 100 ms) time to count the last ones.
        time.sleep(0.3)
        self.connect()
        self.checkpoint("final", final=True)
        srv_names, srv_bad = self.check_services()
        live = sum(1 for s in self.slots if s.rec is not None)
        try:
            m = self.metrics()
            gauge = m.get("svcdns_instances")
            expired = m.get("svcdns_leases_expired_total")
        except OSError as e:
            gauge = expired = None
            self.fail.add("metrics", "GET /metrics: %s" % e)
        if gauge is not None and gauge != live + len(self.static):
            self.fail.add("metrics", "svcdns_instances %s, model %d" % (gauge, live + len(self.static)))
        if expired is not None and expired != self.expired:
            self.fail.add("metrics", "svcdns_leases_expired_total %s, model %d" % (expired, self.expired))
        self.sock.close()
        self.report(churn_seconds, settled, live, srv_names)

    def report(self, churn_seconds, settled, live, srv_names):
        total = sum(self.ops.values())
        f = self.fail.count
        print("soak-churn: %d requests in %.0f s (%.0f/s) in %d batches (largest %d), %d connections, "
              "schedule lag at most %.2f s; settled in %.1f s" %
              (total, churn_seconds, total / max(churn_seconds, 1e-9), self.batches, self.max_batch,
               self.connections, self.lag_max, settled), flush=True)

        def result(name, failures, detail):
            print("RESULT %s %s: %s" % ("FAIL" if failures else "PASS", name, detail), flush=True)

        ops = ", ".join("%s %d" % kv for kv in self.ops.items())
        result("churn replies", f.get("replies", 0),
               "%d requests (%s; %d leases expired), %.0f/s over %d slots, %d unexpected replies"
               % (total, ops, self.expired, total / max(churn_seconds, 1e-9), len(self.slots), f.get("replies", 0)))
        result("registry (LIST) equals the model", f.get("list", 0),
               "%d live + %d static at the end; %d lines compared over %d checkpoints; %d mismatches"
               % (live, len(self.static), self.checks["list_lines"], self.checks["checkpoints"], f.get("list", 0)))
        result("dig answers match the model", f.get("dig", 0),
               "%d instance names and %d services' SRV sets; %d mismatches"
               % (self.checks["dig_names"], srv_names, f.get("dig", 0)))
        result("metrics match the model", f.get("metrics", 0),
               "svcdns_instances = %d, svcdns_leases_expired_total = %d" % (live + len(self.static), self.expired)
               if not f.get("metrics") else "; ".join(self.fail.examples["metrics"]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reg", type=int, required=True, help="registration TCP port on 127.0.0.1")
    p.add_argument("--dns", type=int, required=True, help="DNS port on 127.0.0.1")
    p.add_argument("--http", type=int, required=True, help="HTTP API port on 127.0.0.1")
    p.add_argument("--domain", default="svc.internal")
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--instances", type=int, default=5000)
    p.add_argument("--checkpoint", type=float, default=30, help="seconds between checkpoints")
    p.add_argument("--samples", type=int, default=200, help="names dug per checkpoint")
    p.add_argument("--margin", type=float, default=1.0, help="seconds around a lease end that count as uncertain")
    p.add_argument("--dig-budget", type=float, default=5.0, help="seconds a checkpoint's dig batch may take")
    p.add_argument("--max-batch", type=int, default=500)
    p.add_argument("--reconnect", type=float, default=5.0, help="seconds before a fresh connection")
    p.add_argument("--reply-timeout", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    d = Driver(args)
    try:
        d.run()
    except Exception as e:  # any failure of the driver itself is a failed soak, not a crash
        traceback.print_exc(file=sys.stdout)
        print("RESULT FAIL churn driver: %s: %s" % (type(e).__name__, e), flush=True)
        return 1
    return 1 if d.fail.count else 0


if __name__ == "__main__":
    sys.exit(main())
