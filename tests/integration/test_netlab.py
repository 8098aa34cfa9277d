"""
The notification channel through real firewalls and NAT: mailbelld in one
network namespace (srv), `mailbell watch --json` in another (cli), and
nftables and conntrack on a router namespace (rtr) between them; see
tests/netlab/lab.py.

For each firewall profile the watch must say how it gets its news
(`{"event":"ready","via":"udp"}` or `"via":"idle"`) and report a message
delivered over LMTP (from inside srv): open, stateful, fixedport and nat
by UDP, blockudp by IMAP IDLE. nftables counters prove that every datagram
the server sends leaves from [notify] udp_port. One watch survives live
switches nat -> blockudp -> nat without missing a message, and behind a NAT
with UDP timeouts shortened to seconds its keepalives hold the mapping,
and a mapping that changes is learned again.

Every watch speaks TLS to the server's network address (STARTTLS, the
certificate pinned by the fingerprint mailbelld logs). An observer on
the router reads every frame with a raw socket: no notification key,
password or XBELL response crosses in clear, while the same observer
does read a clear-text client's password, which the server refuses with
NO [PRIVACYREQUIRED] from a network address. doctor names a
certificate that does not carry the server's address.

Skipped as a whole only without root or `ip netns`; the tests that need
`mailbell watch` or the XBELL capability skip when the product says it has
not got them.
"""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import (CLI, DAEMON, LANDED_RE, READY_TIMEOUT, STOP_TIMEOUT,
                      make_message, run_cli, sanitizer_report, terminate,
                      wait_until)
import notifyclient as nc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "netlab"))
import lab as netlab  # noqa: E402

_ok, _why = netlab.available()
if not _ok:
    pytest.skip(_why, allow_module_level=True)

SRV, SRV6 = netlab.SRV4, netlab.SRV6
IMAP_PORT = 143
IMAPS_PORT = 993
LMTP_PORT = 24
ADMIN_PORT = 8080
UDP_PORT = 4143           # [notify] udp_port: the source of every datagram
CLIENT_PORT = 40000       # mailbell watch --udp-port, for fixedport
KEEPALIVE = 15            # [notify] keepalive: the least the server allows
PASSWORD = "netlab-" + "pw"

# Bounds on every wait. UDP is ready within a round trip; the fallback
# to IDLE takes 5 s (no verified STATUS after the first HELLO) or two
# keepalives; a return to UDP one keepalive (each with 10% jitter).
UDP_READY = 20.0
IDLE_READY = 30.0
EVENT_WAIT = 20.0
LOST_UDP = 2 * KEEPALIVE * 1.1 + 20.0
BACK_TO_UDP = KEEPALIVE * 1.1 + 20.0

NOTIFY_LISTENING_RE = re.compile(
    r"^mailbelld: listening: notify udp (\S+):(\d+)\s*$", re.M)
TLS_CERT_RE = re.compile(
    r"^mailbelld: tls: certificate (\S+) sha256=([0-9A-F:]{95})\s*$", re.M)


# ---- the lab ----

@pytest.fixture
def lab():
    with netlab.Lab() as lb:
        yield lb


def test_lab_selftest():
    """The lab itself, with plain sockets: every profile passes and drops
    what it should, NAT shows the router's address, conntrack expires,
    a stray packet makes the NAT pick a new port."""
    netlab.selftest(log=lambda s: None)


# ---- the product in the lab ----

def watch_missing():
    """Why `mailbell watch` cannot run yet, or None."""
    try:
        r = subprocess.run([str(CLI), "watch", "--help"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
    except subprocess.TimeoutExpired:
        return None     # not a missing feature: let the test fail later
    if r.returncode != 0:
        return ("mailbell watch is not there yet (`mailbell watch --help` "
                "exited %d: %s)" % (r.returncode, (r.stderr.decode(
                    "utf-8", "replace").strip().splitlines() or [""])[0]))
    return None


class Server:
    """mailbelld inside the lab's srv namespace."""

    def __init__(self, lab, tmp_path, listen=(SRV, SRV6, "127.0.0.1")):
        self.lab = lab
        self.dir = Path(tmp_path)
        self.data_dir = self.dir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.config = self.dir / "mailbell.conf"
        # [imap] plaintext_auth is left at its default, as an operator
        # would: the watch logs in and registers over TLS, and secrets
        # in clear from the client host are refused.
        self.config.write_text(
            "# mailbell network lab\n"
            "[server]\ndata_dir = %s\nlisten = %s\ndomains = example.org\n"
            "hostname = mailbell.test\n\n"
            "[imap]\nport = %d\ntls_port = %d\n\n[lmtp]\nport = %d\n\n"
            "[admin]\nport = %d\n\n"
            "[notify]\nenabled = true\nudp_port = %d\nkeepalive = %ds\n"
            % (self.data_dir, ", ".join(listen), IMAP_PORT, IMAPS_PORT,
               LMTP_PORT, ADMIN_PORT, UDP_PORT, KEEPALIVE))
        self.log_path = self.dir / "mailbelld.log"
        self.proc = None
        self.agent = None
        self.problems = []

    def check_config(self):
        """Skip when the product does not know a [notify] key yet."""
        r = run_cli("-c", self.config, "config")
        err = r.stderr.decode("utf-8", "replace")
        if r.returncode != 0 and "unknown key" in err and "[notify]" in err:
            pytest.skip("the notifier's configuration has not landed: %s"
                        % err.strip())
        assert r.returncode == 0, err

    def start(self):
        self.check_config()
        with open(self.log_path, "wb") as log:
            self.proc = self.lab.popen(self.lab.srv,
                                       [DAEMON, "-c", self.config],
                                       stdout=log, stderr=log)
        wait_until(lambda: "mailbelld: ready" in self.log()
                   or self.proc.poll() is not None, READY_TIMEOUT)
        if "mailbelld: ready" not in self.log():
            self.kill()
            pytest.fail("mailbelld did not become ready in the lab:\n"
                        + self.log())
        self.agent = self.lab.agent(self.lab.srv)
        r = run_cli("user", "add", "alice", "-c", self.config,
                    "--password-stdin", input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        return self

    def require_xbell(self):
        """Skip when the server does not advertise XBELL; otherwise it must
        also say where the notifier listens, on the configured port.
        Asked on loopback, where a password may go in clear."""
        r = self.agent.call(
            "imap_caps", host="127.0.0.1", port=IMAP_PORT, timeout=10,
            user="alice", password=PASSWORD)
        assert r["login"] and " OK" in r["login"], r
        caps = r["caps"] + r["caps_auth"]
        if "XBELL" not in [c.upper() for c in caps]:
            pytest.skip("the server advertises no XBELL capability yet "
                        "(CAPABILITY after login: %s)"
                        % " ".join(r["caps_auth"]))
        ports = {int(p) for _a, p in NOTIFY_LISTENING_RE.findall(self.log())}
        assert ports == {UDP_PORT}, (
            "no or another 'listening: notify udp' port:\n" + self.log())

    def log(self):
        return self.log_path.read_bytes().decode("utf-8", "replace") \
            if self.log_path.exists() else ""

    def certificate(self):
        """(file, SHA-256 fingerprint) of the certificate it serves."""
        m = TLS_CERT_RE.search(self.log())
        assert m, "no 'tls: certificate' line:\n" + self.log()
        return m.group(1), m.group(2)

    def secrets(self, timeout=10.0):
        """The notification keys of the registrations it has saved: made
        again from its master key, or as an older file kept them."""
        path = self.data_dir / "notify" / "registrations"
        master = self.data_dir / "notify" / "master-key"

        def secret(f):
            if f[1] != "-":
                return bytes.fromhex(f[1])
            return nc.nv.server_secret(
                bytes.fromhex(master.read_text().strip()), int(f[0], 16),
                int(f[2]))

        def read():
            if not path.exists():
                return None
            lines = [l.split() for l in path.read_text().splitlines()
                     if l and not l.startswith("#")]
            return [secret(f) for f in lines] or None
        found = wait_until(read, timeout)
        assert found, "no registration saved in %s" % path
        return found

    def deliver(self, subject, rcpt="alice@example.org"):
        """One message over LMTP from inside srv; returns its UID."""
        before = len(LANDED_RE.findall(self.log()))
        msg = make_message(subject=subject).decode()
        r = self.agent.call("lmtp", host="127.0.0.1", port=LMTP_PORT,
                            sender="sender@example.net", rcpt=rcpt,
                            message=msg, timeout=20)
        assert r["code"] == 250, r
        landed = wait_until(
            lambda: LANDED_RE.findall(self.log())[before:], 10.0)
        assert landed, "no landed line for %r:\n%s" % (subject, self.log())
        return int(landed[0][3])

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def stop(self):
        if self.proc is None:
            return
        self.problems.extend(terminate(self.proc))
        found = sanitizer_report(self.log())
        if found:
            self.problems.append("sanitizer report (%s):\n%s"
                                 % (", ".join(found), self.log()[-8000:]))
        self.proc = None


class Watch:
    """`mailbell watch --json` inside the lab's cli namespace; its JSON
    lines are collected by a thread, each with the time it arrived."""

    def __init__(self, lab, tmp_path, server=SRV, udp_port=None,
                 name="watch", tls=()):
        missing = watch_missing()
        if missing:
            pytest.skip(missing)
        self.pwfile = Path(tmp_path) / (name + ".pw")
        self.pwfile.write_text(PASSWORD + "\n")
        self.err_path = Path(tmp_path) / (name + ".err")
        target = "[%s]:%d" % (server, IMAP_PORT) if ":" in server \
            else "%s:%d" % (server, IMAP_PORT)
        argv = [CLI, "watch", "--server", target, "--user", "alice",
                "--password-file", self.pwfile, "--json"]
        if udp_port is not None:
            argv += ["--udp-port", str(udp_port)]
        argv += list(tls)
        self.argv = argv
        self.lines = []         # (monotonic time, raw line, dict or None)
        self.cond = threading.Condition()
        self.started = time.monotonic()
        with open(self.err_path, "wb") as err:
            self.proc = lab.popen(lab.cli, argv, stdout=subprocess.PIPE,
                                  stderr=err)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            text = raw.decode("utf-8", "replace").strip()
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            with self.cond:
                self.lines.append((time.monotonic(), text, obj))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def stderr(self):
        return self.err_path.read_bytes().decode("utf-8", "replace")

    def transcript(self):
        with self.cond:
            out = "\n".join("%7.2fs %s" % (when - self.started, t)
                            for when, t, _ in self.lines)
        return ("argv: %s\nstdout:\n%s\nstderr:\n%s"
                % (" ".join(map(str, self.argv)), out, self.stderr()))

    def mark(self):
        with self.cond:
            return len(self.lines)

    def objects(self, start=0):
        with self.cond:
            return [o for _, _, o in self.lines[start:] if o is not None]

    def wait(self, predicate, timeout, start=0, what="a line"):
        """The first JSON object from index start on that satisfies
        predicate, waiting at most timeout seconds; fails otherwise."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for _, _, obj in self.lines[start:]:
                    if obj is not None and predicate(obj):
                        return obj
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None
                                 and not self.thread.is_alive()):
                    break
                self.cond.wait(min(left, 0.5))
        pytest.fail("mailbell watch: no %s within %.0fs (exit %r)\n%s"
                    % (what, timeout, self.proc.poll(), self.transcript()))

    def ready(self, via, timeout, start=0):
        return self.wait(lambda o: o.get("event") == "ready"
                         and o.get("via") == via, timeout, start,
                         'ready via %s' % via)

    def message(self, subject, timeout=EVENT_WAIT, start=0):
        return self.wait(lambda o: o.get("subject") == subject
                         and o.get("event") != "ready", timeout, start,
                         "event for %r" % subject)

    def readies(self, start=0):
        return [o.get("via") for o in self.objects(start)
                if o.get("event") == "ready"]

    def stop(self):
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
                problems.append("mailbell watch ignored SIGTERM")
        self.thread.join(timeout=5)
        found = sanitizer_report(self.stderr())
        if found:
            problems.append("sanitizer report (%s) from mailbell watch:\n%s"
                            % (", ".join(found), self.stderr()[-8000:]))
        return problems


@pytest.fixture
def bell(lab, tmp_path):
    """(lab, server, start_watch): the daemon runs in srv with counters
    on its UDP port; start_watch(**kw) starts mailbell watch in cli.
    Everything is stopped at teardown and checked for a clean exit and
    sanitizer reports."""
    if watch_missing():
        pytest.skip(watch_missing())
    lab.install_counters(UDP_PORT)
    server = Server(lab, tmp_path)
    watches = []

    def start_watch(**kw):
        kw.setdefault("name", "watch%d" % len(watches))
        # The certificate mailbelld made names mailbell.test and
        # loopback, not the lab's addresses: pin it, as a user would.
        kw.setdefault("tls", ["--tls-fingerprint", server.certificate()[1]])
        w = Watch(lab, tmp_path, **kw)
        watches.append(w)
        return w

    try:
        server.start()
        server.require_xbell()
        yield lab, server, start_watch
    finally:
        problems = []
        for w in watches:
            problems.extend(w.stop())
            # shown by pytest when the test fails
            print("---- %s\n%s" % (w.err_path.stem, w.transcript()))
        print("---- counters %r\n---- conntrack\n%s" % (
            lab.counters(), "\n".join(f["line"] for f in lab.conntrack())))
        server.stop()
        problems.extend(server.problems)
        print("---- mailbelld\n" + server.log()[-20000:])
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def assert_one_source_port(lab):
    """Every UDP datagram that left srv, and every one that crossed rtr
    from the server side, came from [notify] udp_port."""
    c = lab.counters()
    assert c["srv.out_port"] > 0, c
    assert c["srv.out_other"] == 0, ("datagrams from another port", c)
    assert c["rtr.fwd_other"] == 0, ("datagrams from another port", c)
    return c


def ports_pinhole(config, client_port):
    """(rule, whole output): the client-side pinhole as `mailbell ports`
    prints it (ip saddr SRV udp sport S udp dport P accept), with the
    server's address and the client's port filled in where it prints
    placeholders; rule is None if it prints no such rule."""
    r = run_cli("-c", config, "ports")
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    m = re.search(r"^[#\s]*(ip6? saddr \S+ udp sport \d+ udp dport \S+"
                  r"(?: [^#\n]*?)?\baccept\b)", text, re.M)
    if m is None:
        return None, text
    rule = m.group(1)
    rule = re.sub(r"saddr [A-Za-z_]\S*", "saddr " + SRV, rule)
    rule = re.sub(r"dport [A-Za-z_<]\S*", "dport %d" % client_port, rule)
    return rule, text


# ---- one profile at a time ----

@pytest.mark.parametrize("profile", ["open", "stateful", "fixedport", "nat"])
def test_udp_through_profile(bell, tmp_path, profile):
    lab, server, start_watch = bell
    udp_port = CLIENT_PORT if profile == "fixedport" else None
    pinhole = None
    if profile == "fixedport":
        # the rule `mailbell ports` prints, if it prints one; else the
        # lab's own: ip saddr SRV udp sport S udp dport P accept
        pinhole, text = ports_pinhole(server.config, CLIENT_PORT)
        assert "udp sport %d" % UDP_PORT in text, text
        if pinhole is not None:
            assert "udp sport %d " % UDP_PORT in pinhole, (pinhole, text)
            print("pinhole from mailbell ports: " + pinhole)
    lab.load_profile(profile, server_port=UDP_PORT, client_port=udp_port,
                     pinhole=pinhole)
    w = start_watch(udp_port=udp_port)
    w.ready("udp", UDP_READY)
    assert w.readies() == ["udp"], w.transcript()

    uid = server.deliver("through %s" % profile)
    ev = w.message("through %s" % profile)
    assert ev.get("via") == "udp", w.transcript()
    assert ev.get("folder") == "INBOX" and int(ev.get("uid")) == uid, ev
    assert ev.get("from") and "sender@example.net" in ev["from"], ev

    flows = lab.client_mappings(UDP_PORT)
    if profile == "fixedport":
        assert [p for p, _ in flows] == [CLIENT_PORT], lab.conntrack()
        # With no flow left in conntrack, the next datagram from the
        # server is a new one: only the pinhole lets it through.
        got = None
        for attempt in range(3):
            lab.flush_conntrack("udp")
            before = lab.counters()["rtr.pinhole"]
            mark = w.mark()
            subject = "pinhole %d" % attempt
            server.deliver(subject)
            ev = w.message(subject, start=mark)
            assert ev.get("via") == "udp", w.transcript()
            got = lab.counters()["rtr.pinhole"] - before
            if got > 0:
                break       # else a keepalive reopened the flow first
        assert got > 0, ("the event never needed the pinhole",
                         lab.counters(), lab.ruleset())
    if profile == "nat":
        # the server answered the router's address, which it observed
        nat = [f for f in lab.conntrack("udp")
               if f["orig"]["src"] == netlab.CLI4]
        assert nat and all(f["reply"]["dst"] == netlab.WAN4 for f in nat), \
            lab.conntrack("udp")
    c = assert_one_source_port(lab)
    assert c["rtr.fwd_port"] > 0, c
    assert w.readies() == ["udp"], w.transcript()


def test_blockudp_falls_back_to_idle(bell):
    lab, server, start_watch = bell
    lab.load_profile("blockudp")
    w = start_watch()
    w.ready("idle", IDLE_READY)
    uid = server.deliver("no udp at all")
    ev = w.message("no udp at all")
    assert ev.get("via") == "idle", w.transcript()
    assert int(ev.get("uid")) == uid, ev
    assert "udp" not in w.readies(), w.transcript()
    c = lab.counters()
    assert c["rtr.fwd_port"] == 0 and c["srv.out_other"] == 0, c


def test_ipv6_through_nat(bell):
    """The same over IPv6: the server sees the router's address."""
    lab, server, start_watch = bell
    lab.load_profile("nat")
    w = start_watch(server=SRV6)
    w.ready("udp", UDP_READY)
    server.deliver("over ipv6")
    ev = w.message("over ipv6")
    assert ev.get("via") == "udp", w.transcript()
    flows = [f for f in lab.conntrack("udp")
             if f["orig"]["src"] == netlab.CLI6]
    assert flows and all(f["reply"]["dst"] == netlab.WAN6 for f in flows), \
        lab.conntrack("udp")
    assert_one_source_port(lab)


# ---- one watch across live profile switches ----

def test_live_switch_nat_blockudp_nat(bell):
    lab, server, start_watch = bell
    lab.load_profile("nat")
    w = start_watch()
    w.ready("udp", UDP_READY)
    server.deliver("phase 1 nat")
    assert w.message("phase 1 nat").get("via") == "udp", w.transcript()

    # UDP goes dark behind the same NAT (the IMAP session lives on): a
    # message lands before the watch can notice
    mark = w.mark()
    lab.load_profile("blockudp", nat=True)
    server.deliver("phase 2 dark")
    w.ready("idle", LOST_UDP, start=mark)
    mark = w.mark()
    server.deliver("phase 2 idle")
    assert w.message("phase 2 idle", start=mark).get("via") == "idle", \
        w.transcript()

    # UDP comes back: again a message lands before the watch notices
    mark = w.mark()
    lab.load_profile("nat")
    server.deliver("phase 3 back")
    w.ready("udp", BACK_TO_UDP, start=mark)
    mark = w.mark()
    server.deliver("phase 3 nat")
    assert w.message("phase 3 nat", start=mark).get("via") == "udp", \
        w.transcript()

    # none missed
    for subject in ("phase 2 dark", "phase 3 back"):
        w.message(subject, timeout=EVENT_WAIT)
    subjects = [o.get("subject") for o in w.objects()
                if o.get("event") != "ready"]
    for subject in ("phase 1 nat", "phase 2 dark", "phase 2 idle",
                    "phase 3 back", "phase 3 nat"):
        assert subjects.count(subject) >= 1, (subject, w.transcript())
    assert w.readies()[:3] == ["udp", "idle", "udp"], w.transcript()
    assert_one_source_port(lab)
    # The watch noticed by itself: the IMAP session through the NAT was
    # never lost, so it logged in once.
    logins = re.findall(r"imap: peer=%s:\d+ user=alice: logged in"
                        % re.escape(netlab.WAN4), server.log())
    assert len(logins) == 1, (logins, w.transcript())


# ---- NAT timeouts of seconds: keepalives and a changed mapping ----

def test_nat_keepalive_holds_and_remap_is_learned(bell):
    lab, server, start_watch = bell
    # Shorter than the default 30/120 s, longer than one keepalive
    # (15 s plus 10% jitter), so only keepalives keep the mapping.
    timeout = KEEPALIVE + 5
    lab.load_profile("nat")
    lab.set_udp_timeouts(timeout, timeout)
    w = start_watch()
    w.ready("udp", UDP_READY)
    first = lab.client_mappings(UDP_PORT)
    assert len(first) == 1, lab.conntrack()

    # Hold for well over one timeout: the same mapping all along. The
    # hold is the check (nothing may change for that long), so this
    # loop watches the clock on purpose.
    sent = lab.counters()["rtr.fwd_to_server"]
    end = time.monotonic() + timeout * 1.75
    while time.monotonic() < end:
        now = lab.client_mappings(UDP_PORT)
        assert now == first, ("the NAT mapping changed or expired",
                              first, now, lab.conntrack())
        time.sleep(0.5)
    assert lab.counters()["rtr.fwd_to_server"] - sent >= 2, lab.counters()
    mark = w.mark()
    server.deliver("after the hold")
    assert w.message("after the hold", start=mark).get("via") == "udp", \
        w.transcript()
    assert w.readies() == ["udp"], w.transcript()

    # The mapping goes, and a stray packet from the server's port into the
    # old external port makes the NAT pick a new one for the next
    # keepalive; a message lands in the gap.
    client_port, old_ext = first[0]
    lab.flush_conntrack("udp")
    server.agent.call("raw_udp", src=SRV, sport=UDP_PORT, dst=netlab.WAN4,
                      dport=old_ext, data="stray")
    mark = w.mark()
    server.deliver("in the gap")
    remapped = wait_until(
        lambda: [m for m in lab.client_mappings(UDP_PORT)
                 if m[0] == client_port and m[1] != old_ext],
        KEEPALIVE * 1.1 + 10)
    assert remapped, ("no new mapping", old_ext, lab.conntrack())
    w.message("in the gap", start=mark, timeout=2 * KEEPALIVE * 1.1 + 10)
    mark = w.mark()
    server.deliver("after the remap")
    ev = w.message("after the remap", start=mark)
    assert ev.get("via") == "udp", w.transcript()
    assert_one_source_port(lab)


# ---- TLS on the wire ----

def imap_streams(flows, port=IMAP_PORT):
    """{client port: (client to server, server to client)} of the TCP
    connections to port."""
    out = {}
    for (proto, src, sport, dst, dport), data in flows.items():
        if proto != "tcp":
            continue
        if dport == port:
            out.setdefault(sport, [b"", b""])[0] += data
        elif sport == port:
            out.setdefault(dport, [b"", b""])[1] += data
    return out


def test_tls_keeps_key_and_password_off_the_wire(bell):
    lab, server, start_watch = bell
    observer = netlab.Capture(lab, lab.rtr, "lan0")
    w = start_watch()
    w.ready("udp", UDP_READY)
    uid = server.deliver("through tls")
    assert int(w.message("through tls").get("uid")) == uid
    keys = server.secrets()
    # A clear-text client on the same path, for the observer to read.
    clear = lab.agent(lab.cli).call(
        "imap_script", host=SRV, port=IMAP_PORT, timeout=10,
        commands=["CAPABILITY", 'LOGIN alice "%s"' % PASSWORD, "LOGOUT"])
    frames, flows = observer.stop()

    streams = imap_streams(flows)
    plain = [p for p, (up, _) in streams.items() if b"LOGIN alice" in up]
    watch = [p for p, (up, _) in streams.items() if b"STARTTLS" in up]
    assert len(plain) == 1 and len(watch) == 1, (frames, streams)
    # The observer reads clear text: the password, and the refusal.
    up, down = streams[plain[0]]
    assert PASSWORD.encode() in up
    assert clear["replies"][1][-1].startswith("s1 NO [PRIVACYREQUIRED]"), \
        clear
    # The watch: STARTTLS in clear, then only TLS records both ways.
    up, down = streams[watch[0]]
    tag = re.search(rb"(?:^|\n)(\S+) STARTTLS\r\n", up)
    assert tag and up[tag.end():tag.end() + 2] == b"\x16\x03", up[:200]
    ok = re.search(rb"\n" + re.escape(tag.group(1)) + rb" OK[^\r]*\r\n",
                   down)
    assert ok and down[ok.end():ok.end() + 2] == b"\x16\x03", down[:300]
    assert b"LOGIN" not in up and b"AUTHENTICATE" not in up, up[:300]
    # No key in any form, no password, no XBELL answer, in any flow
    # (TCP or UDP) the observer saw.
    wire = b"\n".join(flows.values())
    for key in keys:
        for form in (key, key.hex().encode(), key.hex().upper().encode(),
                     base64.b64encode(key)):
            assert form not in wire, "a key crossed in clear"
    others = b"\n".join(v for k, v in flows.items()
                        if not (k[0] == "tcp" and plain[0] in (k[2], k[4])))
    assert PASSWORD.encode() not in others
    assert base64.b64encode(b"\0alice\0" + PASSWORD.encode()) not in others
    assert b"REGISTERED" not in wire and b"XBELL REGISTER" not in wire


def test_clear_text_secrets_refused_from_the_network(bell):
    lab, server, start_watch = bell
    cli = lab.agent(lab.cli)
    plain = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
    for host in (SRV, SRV6):
        r = cli.call("imap_script", host=host, port=IMAP_PORT, timeout=10,
                     commands=["CAPABILITY", 'LOGIN alice "%s"' % PASSWORD,
                               "AUTHENTICATE PLAIN " + plain,
                               "XBELL REGISTER", "LOGOUT"])
        caps, login, auth, xbell, _ = r["replies"]
        capline = " ".join(caps).upper()
        assert "LOGINDISABLED" in capline and "STARTTLS" in capline, r
        assert "AUTH=" not in capline, r
        assert login[-1].startswith("s1 NO [PRIVACYREQUIRED]"), r
        assert auth[-1].startswith("s2 NO [PRIVACYREQUIRED]"), r
        # No login, so no registration: refused before it could be
        # (NO [PRIVACYREQUIRED] is the answer of a session that got in
        # without TLS, which only [imap] plaintext_auth = yes allows).
        assert xbell[-1].startswith(("s3 BAD", "s3 NO [PRIVACYREQUIRED]")), r
        assert not any("REGISTERED" in l for l in xbell), r
    # Loopback counts as protected: the lab's own checks log in there.
    r = server.agent.call("imap_script", host="127.0.0.1", port=IMAP_PORT,
                          timeout=10, commands=['LOGIN alice "%s"' % PASSWORD,
                                                "XBELL REGISTER", "LOGOUT"])
    assert r["replies"][0][-1].startswith("s0 OK"), r
    assert any("XBELL REGISTERED" in l for l in r["replies"][1]), r


def test_doctor_over_tls_in_the_lab(bell, tmp_path):
    lab, server, start_watch = bell
    cert, fp = server.certificate()
    pw = Path(tmp_path) / "doctor.pw"
    pw.write_text(PASSWORD + "\n")

    def doctor(*args, port=IMAP_PORT):
        argv = [CLI, "doctor", "--server", "%s:%d" % (SRV, port),
                "--user", "alice", "--password-file", pw] + list(args)
        r = lab.run(lab.cli, argv, check=False, timeout=90)
        return r[0], r[1]

    # Trusted by --ca, but the certificate does not carry 10.99.1.2.
    code, out = doctor("--ca", cert)
    assert code == 69, out
    assert ("FAIL TLS (STARTTLS) with %s:%d: certificate does not match "
            "address %s (it is for mailbell.test, localhost, 127.0.0.1, "
            "::1); give --server one of its names, or pass "
            "--tls-fingerprint %s" % (SRV, IMAP_PORT, SRV, fp)) in out, out
    # Pinned: every hop passes.
    code, out = doctor("--tls-fingerprint", fp)
    assert code == 0, out
    assert "OK   TLS (STARTTLS) with %s:%d: TLSv1." % (SRV, IMAP_PORT) \
        in out, out
    # And over IMAPS, to the lab's port 993.
    code, out = doctor("--tls", "imaps", "--tls-fingerprint", fp,
                       port=IMAPS_PORT)
    assert code == 0, out
    assert "OK   TLS (IMAPS) with %s:%d: TLSv1." % (SRV, IMAPS_PORT) \
        in out, out
    # In clear text from the network, the login is refused, and why.
    code, out = doctor("--tls", "none")
    assert code == 69, out
    assert "FAIL login as alice: " in out and "[PRIVACYREQUIRED]" in out \
        and "drop --tls none" in out, out
