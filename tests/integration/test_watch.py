"""
`mailbell watch` and `mailbell doctor` against a real mailbelld on
loopback: the ready line and new mail through the UDP doorbell, From and
Subject decoded and JSON-escaped, a fixed client UDP port, --exec and its
environment, the IMAP IDLE fallback when the server offers no XBELL, a
server restart, expunge and flag events, a flood of forged datagrams
that leaves the watch on UDP, the catch-up after a restart in one
EXAMINE (QRESYNC ...) per folder (and the old path when the server
hides QRESYNC), counted by a proxy, the IDLE fallback with QRESYNC and
NOTIFY that looks once at each change and idles again, a clean exit on
SIGTERM, and the doctor's verdicts. Every watch and doctor speaks TLS (STARTTLS unless a
test says otherwise) and trusts the daemon's own certificate with --ca;
the TLS tests watch over STARTTLS and IMAPS, pin the fingerprint
mailbelld logs, and see an untrusted certificate, a wrong pin, a name
that does not match, an expired certificate, a server without STARTTLS
and clear text after STARTTLS's OK refused with words that name the
fix, and no password sent. Tests that need the notifier skip, saying
so, against a mailbelld that does not offer XBELL; the others run
either way.
"""

import json
import queue
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import (CLI, free_port, imap_login, run_cli, sanitizer_report,
                      wait_until)
import notifyclient as nc

# A sanitizer build is slower; the latency bound is for the UDP path.
EVENT_LATENCY = 1.0
READY_TIMEOUT = 20.0

TLS_CERT_RE = re.compile(
    r"^mailbelld: tls: certificate (\S+) sha256=([0-9A-F:]{95})\s*$", re.M)
# The options that say how to reach and trust the server.
TLS_OPTIONS = ("--tls", "--ca", "--tls-fingerprint")
# mailbell watch's exit status for a server it cannot verify.
EX_PROTOCOL = 76


def server_ca(daemon):
    """The daemon's own certificate, which it made at its first start."""
    return daemon.data_dir / "tls" / "mailbell.crt"


def server_fingerprint(daemon):
    """The SHA-256 fingerprint mailbelld logs of its certificate."""
    m = TLS_CERT_RE.search(daemon.log())
    assert m, "no 'tls: certificate' line:\n" + daemon.log()
    return m.group(2)


def tls_args(daemon, args):
    """args, with --ca for the daemon's certificate unless they say
    how to trust the server already."""
    args = [str(a) for a in args]
    if any(a in TLS_OPTIONS for a in args):
        return args
    return args + ["--ca", str(server_ca(daemon))]


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Watch:
    """One `mailbell watch` process; its stdout lines arrive in a queue
    with the time each was read."""

    def __init__(self, daemon, tmp_path, *args, user="alice",
                 password="secret-pw", env=None, server=None):
        self.pwfile = tmp_path / ("pw-%s" % user)
        self.pwfile.write_text(password + "\n")
        self.stderr_path = tmp_path / ("watch-%d.err" % time.monotonic_ns())
        cmd = [str(CLI), "watch", "--server",
               server or "127.0.0.1:%d" % daemon.ports["imap"], "--user",
               user, "--password-file", str(self.pwfile), "-v"] + \
            tls_args(daemon, args)
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env)
        self.lines = queue.Queue()
        self.seen = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put((time.monotonic(),
                            raw.decode("utf-8", "replace").rstrip("\n")))
        self.lines.put((time.monotonic(), None))

    def next_line(self, timeout):
        """(time read, line) or (None, None) on timeout or EOF."""
        try:
            t, line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None, None
        if line is not None:
            self.seen.append(line)
        return t, line

    def wait_for(self, predicate, timeout=10.0):
        """The first line (after those already read) for which
        predicate holds: (time read, line)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            t, line = self.next_line(left)
            if line is None:
                break
            if predicate(line):
                return t, line
        raise AssertionError("no matching line within %.1fs; stdout so "
                             "far: %r\nstderr: %s"
                             % (timeout, self.seen, self.err()))

    def wait_json(self, timeout=10.0, **fields):
        def match(line):
            try:
                obj = json.loads(line)
            except ValueError:
                raise AssertionError("not JSON: %r" % line)
            return all(obj.get(k) == v for k, v in fields.items())
        t, line = self.wait_for(match, timeout)
        return t, json.loads(line)

    def err(self):
        if not self.stderr.closed:
            self.stderr.flush()
        return self.stderr_path.read_bytes().decode("utf-8", "replace")

    def stop(self):
        """SIGTERM; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)
            code = "killed"
        self.reader.join(timeout=5)
        self.stderr.close()
        return code


@pytest.fixture
def watches():
    """Start watches; each is stopped at teardown and must exit 0 with
    no sanitizer report."""
    made = []

    def make(*args, **kwargs):
        w = Watch(*args, **kwargs)
        made.append(w)
        return w

    yield make
    problems = []
    for w in made:
        code = w.stop()
        if code != 0:
            problems.append("watch exited %r:\n%s" % (code, w.err()))
        found = sanitizer_report(w.err())
        if found:
            problems.append("sanitizer report from watch:\n" + w.err())
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def deliver(daemon, subject="hello", sender="Carol <c@example.org>",
            rcpt="alice@example.org"):
    """LMTP delivery; returns the time of the 250 reply."""
    body = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%d@test>\r\n"
            "\r\nHello.\r\n" % (sender, rcpt, subject, time.monotonic_ns()))
    return daemon.deliver([body.encode()], rcpt, sender="c@example.org")


def need_xbell(daemon):
    """Skip, naming why, when this mailbelld has no notifier yet; the
    tests that need none run either way."""
    m = imap_login(daemon)
    try:
        caps = m.capability()[1][0].decode().upper().split()
    finally:
        m.logout()
    if "XBELL" not in caps:
        pytest.skip("mailbelld does not offer XBELL yet")
    return daemon


def test_ready_and_new_mail_via_udp_in_json(daemon, watches, tmp_path):
    need_xbell(daemon)
    w = watches(daemon, tmp_path, "--json")
    _, ready = w.wait_json(READY_TIMEOUT, event="ready")
    assert ready == {"event": "ready", "via": "udp"}

    # RFC 2047 in both fields, and characters JSON must escape.
    sent = deliver(daemon,
                   subject='=?utf-8?q?caf=C3=A9_"quoted"_back\\slash?=',
                   sender='=?iso-8859-1?q?J=FCrgen?= <j@example.org>')
    t, ev = w.wait_json(10, event="MessageNew")
    assert t - sent < EVENT_LATENCY, "event %.3fs after LMTP 250" % (t - sent)
    landed = daemon.wait_landed(1, "alice", "INBOX")
    assert ev == {"event": "MessageNew", "folder": "INBOX",
                  "uid": landed[0][3], "uidvalidity": landed[0][2],
                  "via": "udp", "from": "Jürgen <j@example.org>",
                  "subject": 'café "quoted" back\\slash'}

    # A second one, in order.
    deliver(daemon, subject="second")
    _, ev = w.wait_json(10, event="MessageNew")
    assert ev["uid"] == landed[0][3] + 1 and ev["subject"] == "second"
    assert ev["via"] == "udp"


def test_plain_lines(daemon, watches, tmp_path):
    need_xbell(daemon)
    w = watches(daemon, tmp_path)
    w.wait_for(lambda l: l == "ready via udp", READY_TIMEOUT)
    deliver(daemon, subject='say "hi"')
    _, line = w.wait_for(lambda l: l.startswith("MessageNew"))
    assert line == ('MessageNew INBOX uid=1 from="Carol <c@example.org>" '
                    'subject="say \\"hi\\"" via=udp')


def test_other_folder_and_expunge_and_flags(daemon, watches, tmp_path):
    need_xbell(daemon)
    m = imap_login(daemon)
    assert m.create("Lists")[0] == "OK"
    w = watches(daemon, tmp_path, "--json")
    w.wait_json(READY_TIMEOUT, event="ready", via="udp")

    # APPEND into another folder: MessageAppend with From and Subject.
    msg = (b"From: Dave <d@example.org>\r\nSubject: list mail\r\n\r\nx\r\n")
    typ, _ = m.append("Lists", None, None, msg)
    assert typ == "OK"
    _, ev = w.wait_json(10, event="MessageAppend")
    assert ev["folder"] == "Lists" and ev["uid"] == 1
    assert ev["from"] == "Dave <d@example.org>"
    assert ev["subject"] == "list mail" and ev["via"] == "udp"

    # Flags and expunge print without from/subject.
    m.select("Lists")
    m.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    _, ev = w.wait_json(10, event="FlagsSet")
    assert ev["folder"] == "Lists" and ev["uid"] == 1
    assert "from" not in ev and "subject" not in ev
    m.expunge()
    _, ev = w.wait_json(10, event="MessageExpunge")
    assert ev["folder"] == "Lists" and ev["uid"] == 1
    m.logout()


def test_udp_port_is_fixed(daemon, watches, tmp_path):
    need_xbell(daemon)
    port = free_udp_port()
    w = watches(daemon, tmp_path, "--udp-port", port)
    w.wait_for(lambda l: l == "ready via udp", READY_TIMEOUT)
    # The server's view: the CHALLENGE says where our datagrams came from.
    assert "the server sees us as 127.0.0.1:%d" % port in w.err(), w.err()
    # And the kernel's: the socket is bound to that port.
    ss = subprocess.run(["ss", "-uanp"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL, text=True).stdout
    mine = [l for l in ss.splitlines() if "pid=%d," % w.proc.pid in l]
    assert any(re.search(r":%d\s" % port, l) for l in mine), mine
    deliver(daemon)
    w.wait_for(lambda l: l.startswith("MessageNew INBOX uid=1 "))


def test_udp_port_in_use_is_an_error(daemon, tmp_path):
    need_xbell(daemon)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
        pw = tmp_path / "pw"
        pw.write_text("secret-pw\n")
        r = run_cli("watch", "--server", "127.0.0.1:%d" % daemon.ports["imap"],
                    "--user", "alice", "--password-file", pw,
                    "--udp-port", port, "--ca", server_ca(daemon),
                    timeout=30)
    assert r.returncode == 71, (r.returncode, r.stderr)
    assert b"cannot bind UDP port %d" % port in r.stderr


def test_exec_gets_the_environment(daemon, watches, tmp_path):
    need_xbell(daemon)
    out = tmp_path / "exec"
    out.mkdir()
    script = ('env | grep "^MAILBELL_[A-Z]*=" | sort '
              '> "%s/$MAILBELL_UID.env"' % out)
    w = watches(daemon, tmp_path, "--exec", script)
    w.wait_for(lambda l: l == "ready via udp", READY_TIMEOUT)
    # Shell syntax in the subject must stay data.
    marker = tmp_path / "pwned"
    deliver(daemon, subject="$(touch %s) `touch %s` ; x" % (marker, marker))
    w.wait_for(lambda l: l.startswith("MessageNew INBOX uid=1 "))
    assert wait_until(lambda: (out / "1.env").exists() and
                      (out / "1.env").read_text().count("\n") >= 7, 10)
    env = dict(l.split("=", 1) for l in
               (out / "1.env").read_text().splitlines())
    landed = daemon.wait_landed(1, "alice", "INBOX")
    env = {k: v for k, v in env.items() if k in (
        "MAILBELL_EVENT", "MAILBELL_FOLDER", "MAILBELL_UID",
        "MAILBELL_UIDVALIDITY", "MAILBELL_FROM", "MAILBELL_SUBJECT",
        "MAILBELL_VIA")}
    assert env == {
        "MAILBELL_EVENT": "MessageNew",
        "MAILBELL_FOLDER": "INBOX",
        "MAILBELL_UID": "1",
        "MAILBELL_UIDVALIDITY": str(landed[0][2]),
        "MAILBELL_FROM": "Carol <c@example.org>",
        "MAILBELL_SUBJECT": "$(touch %s) `touch %s` ; x" % (marker, marker),
        "MAILBELL_VIA": "udp",
    }
    assert not marker.exists()


def test_falls_back_to_idle_without_xbell(daemon_factory, watches, tmp_path):
    d = daemon_factory(notify__enabled="no")
    d.add_user("alice")
    w = watches(d, tmp_path, "--json")
    _, ready = w.wait_json(READY_TIMEOUT, event="ready")
    assert ready["via"] == "idle"
    deliver(d, subject="by idle")
    _, ev = w.wait_json(10, event="MessageNew")
    assert ev["via"] == "idle" and ev["subject"] == "by idle"
    assert ev["folder"] == "INBOX" and ev["uid"] == 1
    assert "does not offer XBELL" in w.err()


def test_idle_fallback_hears_every_folder_through_notify(daemon_factory,
                                                        watches, tmp_path):
    """Without UDP, NOTIFY tells the watch of every folder at once: new
    mail (appended by a second session, or in a folder made since),
    flag changes and expunges, with UIDs, not a poll 5 minutes later."""
    d = daemon_factory(notify__enabled="no")
    d.add_user("alice")
    m = imap_login(d)
    assert m.create("Lists")[0] == "OK"
    old = b"From: Old <o@example.org>\r\nSubject: old\r\n\r\nx\r\n"
    assert m.append("Lists", None, None, old)[0] == "OK"
    w = watches(d, tmp_path, "--json")
    _, ready = w.wait_json(READY_TIMEOUT, event="ready")
    assert ready["via"] == "idle"
    assert "NOTIFY tells of every folder" in w.err()

    msg = b"From: Dave <d@example.org>\r\nSubject: list mail\r\n\r\nx\r\n"
    sent = time.monotonic()
    assert m.append("Lists", None, None, msg)[0] == "OK"
    t, ev = w.wait_json(10, event="MessageNew", folder="Lists")
    assert ev["uid"] == 2 and ev["via"] == "idle", ev
    assert ev["from"] == "Dave <d@example.org>"
    assert ev["subject"] == "list mail"
    assert t - sent < 5.0, "told %.2f s after the APPEND" % (t - sent)

    # A folder made after the watch started.
    assert m.create("Later")[0] == "OK"
    assert m.append("Later", None, None, msg)[0] == "OK"
    _, ev = w.wait_json(10, event="MessageNew", folder="Later")
    assert ev["uid"] == 1 and ev["via"] == "idle", ev

    # Flags set and cleared, and an expunge, by UID.
    m.select("Lists")
    m.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
    _, ev = w.wait_json(10, event="FlagsSet", folder="Lists")
    assert ev["uid"] == 1 and ev["via"] == "idle", ev
    m.uid("STORE", "1", "-FLAGS", "(\\Flagged)")
    _, ev = w.wait_json(10, event="FlagsClear", folder="Lists")
    assert ev["uid"] == 1, ev
    m.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
    _, ev = w.wait_json(10, event="FlagsSet", folder="Lists")
    assert ev["uid"] == 2, ev
    m.expunge()
    _, ev = w.wait_json(10, event="MessageExpunge", folder="Lists")
    assert ev["uid"] == 2 and ev["via"] == "idle", ev
    assert "from" not in ev and "subject" not in ev

    # INBOX, where the watch idles, as before, and its flags now too.
    deliver(d, subject="inbox mail")
    _, ev = w.wait_json(10, event="MessageNew", folder="INBOX")
    assert ev["uid"] == 1 and ev["subject"] == "inbox mail", ev
    m.select("INBOX")
    m.uid("STORE", "1", "+FLAGS", "(\\Seen)")
    _, ev = w.wait_json(10, event="FlagsSet", folder="INBOX")
    assert ev["uid"] == 1 and ev["via"] == "idle", ev
    m.logout()


class RacingImap:
    """A server without XBELL whose only message lands while the
    watch's first UID FETCH runs: the FETCH answers without it and an
    untagged EXISTS tells of it, after which IDLE says nothing more, as
    a server may when mail lands between a command and IDLE."""

    HEADER = b"From: Carol <c@example.org>\r\nSubject: raced\r\n\r\n"

    def __init__(self):
        self.landed = False
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _answer(self, c, tag, cmd):
        verb = cmd.split(b" ")[0].upper()
        out = b""
        if verb == b"CAPABILITY":
            out = b"* CAPABILITY IMAP4rev1 IDLE\r\n"
        elif verb == b"LIST":
            out = b'* LIST () "/" INBOX\r\n'
        elif verb == b"STATUS":
            out = b"* STATUS INBOX (UIDNEXT %d UIDVALIDITY 7)\r\n" % (
                2 if self.landed else 1)
        elif verb in (b"EXAMINE", b"SELECT"):
            n = 1 if self.landed else 0
            out = (b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n"
                   b"* OK [UIDNEXT %d] n\r\n" % (n, n + 1))
        elif cmd.upper().startswith(b"UID FETCH"):
            if self.landed:
                out = (b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM SUBJECT)]"
                       b" {%d}\r\n%s)\r\n" % (len(self.HEADER), self.HEADER))
            else:
                self.landed = True
                out = b"* 1 EXISTS\r\n"
        elif verb == b"IDLE":
            c.sendall(b"+ idling\r\n")
            return
        elif verb == b"LOGOUT":
            out = b"* BYE\r\n"
        c.sendall(out + tag + b" OK done\r\n")

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                try:
                    self._session(c)
                except OSError:
                    pass    # the watch went away

    def _session(self, c):
        c.sendall(b"* OK [CAPABILITY IMAP4rev1 IDLE] racing\r\n")
        idle_tag = None
        for line in c.makefile("rb"):
            line = line.rstrip(b"\r\n")
            if line.upper() == b"DONE" and idle_tag is not None:
                c.sendall(idle_tag + b" OK idle done\r\n")
                idle_tag = None
                continue
            tag, _, cmd = line.partition(b" ")
            if cmd.upper() == b"IDLE":
                idle_tag = tag
            self._answer(c, tag, cmd)

    def close(self):
        self.sock.close()


def test_idle_fallback_keeps_mail_told_during_a_fetch(daemon, watches,
                                                      tmp_path):
    fake = RacingImap()
    try:
        w = watches(daemon, tmp_path, "--json", "--tls", "none",
                    server="127.0.0.1:%d" % fake.port)
        _, ev = w.wait_json(READY_TIMEOUT, event="MessageNew")
        assert ev["uid"] == 1 and ev["subject"] == "raced", ev
    finally:
        fake.close()


class FoldingImap:
    """A server without XBELL, with NOTIFY and QRESYNC, and one message.
    change() tells the idling watch that INBOX changed and sets the
    message's \\Seen between the watch's two FETCHes of its look: the
    reading of every flag still sees none, and the FETCH of new mail
    that follows answers with the message's header and, folded in, its
    new flags, as a server may tell a change (RFC 3501 7.4.2)."""

    CAPS = b"IMAP4rev1 IDLE ENABLE CONDSTORE QRESYNC NOTIFY"
    HEADER = b"From: Carol <c@example.org>\r\nSubject: old\r\n\r\n"

    def __init__(self):
        self.flags = b""
        self.pending = False    # \\Seen set, not read by FETCH (FLAGS)
        self.idling = False
        self.conn = None
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def change(self):
        with self.lock:
            self.pending = True
            self.conn.sendall(b"* STATUS INBOX (MESSAGES 1)\r\n")

    def _fetch(self, cmd):
        if b"BODY.PEEK" not in cmd.upper():
            return b"* 1 FETCH (UID 1 FLAGS (%s))\r\n" % (
                b"" if self.pending else self.flags)
        if self.pending:
            self.pending = False
            self.flags = b"\\Seen"
        return (b"* 1 FETCH (UID 1 FLAGS (%s) BODY[HEADER.FIELDS (FROM "
                b"SUBJECT)] {%d}\r\n%s)\r\n"
                % (self.flags, len(self.HEADER), self.HEADER))

    def _answer(self, tag, cmd):
        verb = cmd.split(b" ")[0].upper()
        out = b""
        if verb == b"CAPABILITY":
            out = b"* CAPABILITY %s\r\n" % self.CAPS
        elif verb == b"ENABLE":
            out = b"* ENABLED QRESYNC\r\n"
        elif verb == b"LIST":
            out = b'* LIST () "/" INBOX\r\n'
        elif verb in (b"EXAMINE", b"SELECT"):
            out = (b"* FLAGS (\\Seen)\r\n* 1 EXISTS\r\n"
                   b"* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 2] n\r\n"
                   b"* OK [HIGHESTMODSEQ 5] m\r\n")
        elif cmd.upper().startswith(b"UID FETCH"):
            out = self._fetch(cmd)
        elif verb == b"IDLE":
            self.idling = True
            return b"+ idling\r\n"
        elif verb == b"LOGOUT":
            out = b"* BYE\r\n"
        return out + tag + b" OK done\r\n"

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                try:
                    self._session(c)
                except OSError:
                    pass    # the watch went away

    def _session(self, c):
        self.conn = c
        c.sendall(b"* OK [CAPABILITY %s] folding\r\n" % self.CAPS)
        idle_tag = None
        for line in c.makefile("rb"):
            line = line.rstrip(b"\r\n")
            with self.lock:
                if line.upper() == b"DONE" and idle_tag is not None:
                    self.idling = False
                    c.sendall(idle_tag + b" OK idle done\r\n")
                    idle_tag = None
                    continue
                tag, _, cmd = line.partition(b" ")
                if cmd.upper() == b"IDLE":
                    idle_tag = tag
                c.sendall(self._answer(tag, cmd))

    def close(self):
        self.sock.close()


def test_idle_with_qresync_tells_flags_folded_into_a_fetch(daemon, watches,
                                                          tmp_path):
    """The FETCH of new mail asks for flags: an old message's flags in
    its answer that differ from what the watch last read are a change,
    looked at and told, though no push came for it."""
    fake = FoldingImap()
    try:
        w = watches(daemon, tmp_path, "--json", "--tls", "none",
                    server="127.0.0.1:%d" % fake.port)
        _, ready = w.wait_json(READY_TIMEOUT, event="ready")
        assert ready["via"] == "idle", ready
        assert wait_until(lambda: fake.idling, 10), w.err()
        fake.change()
        _, ev = w.wait_json(10, event="FlagsSet")
        assert ev["uid"] == 1 and ev["via"] == "idle", ev
        assert wait_until(lambda: fake.idling, 10), w.err()
    finally:
        fake.close()


def test_reconnects_after_restart(daemon_factory, watches, tmp_path):
    d = daemon_factory(start=False, imap__port=free_port(),
                       lmtp__port=free_port(), notify__udp_port=free_udp_port())
    d.add_user("alice")
    d.start()
    need_xbell(d)
    w = watches(d, tmp_path, "--json")
    w.wait_json(READY_TIMEOUT, event="ready", via="udp")
    deliver(d, subject="before")
    w.wait_json(10, event="MessageNew", subject="before")

    d.stop()
    # Mail that lands while the server is down is reported after.
    r = run_cli("deliver", "-c", d.config, "alice@example.org",
                input=b"From: Eve <e@example.org>\r\nSubject: while down"
                      b"\r\n\r\nx\r\n")
    assert r.returncode == 0, r.stderr
    d.start()
    # Caught up first, then ready again.
    _, ev = w.wait_json(30, event="MessageNew")
    assert ev["subject"] == "while down" and ev["uid"] == 2
    w.wait_json(10, event="ready", via="udp")
    deliver(d, subject="after")
    _, ev = w.wait_json(10, event="MessageNew")
    assert ev["subject"] == "after" and ev["uid"] == 3 and ev["via"] == "udp"
    assert "lost the connection" in w.err()


REGISTERED_RE = re.compile(r"watch: registered ([0-9a-f]{16}): UDP port "
                           r"(\d+), keepalive (\d+) s, epoch (\d+)")
# The flood: at most FLOOD_RATE datagrams a second, FLOOD_MAX in all,
# for FLOOD_SECONDS at most, on loopback only.
FLOOD_RATE = 2000
FLOOD_MAX = 150000
FLOOD_SECONDS = 60.0


def spoofer():
    """A raw socket that sends UDP datagrams from any loopback source
    port (needs CAP_NET_RAW), or None."""
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_RAW,
                             socket.IPPROTO_RAW)
    except PermissionError:
        return None


def spoofed(src_port, dst_port, payload):
    """An IPv4 packet 127.0.0.1:src_port -> 127.0.0.1:dst_port; the
    kernel fills in the IP checksum and id, the UDP checksum is none."""
    lo = socket.inet_aton("127.0.0.1")
    udp = struct.pack(">HHHH", src_port, dst_port, 8 + len(payload), 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(payload),
                     0, 0, 64, socket.IPPROTO_UDP, 0, lo, lo)
    return ip + udp + payload


class Flood(threading.Thread):
    """Call the senders in turn, each sending datagram number i, paced
    to FLOOD_RATE, until stopped or FLOOD_MAX or FLOOD_SECONDS."""

    def __init__(self, senders):
        super().__init__(daemon=True)
        self.senders = senders      # functions sending datagram i
        self.sent = 0
        self.halt = threading.Event()

    def run(self):
        start = time.monotonic()
        while (self.sent < FLOOD_MAX and not self.halt.is_set()
               and time.monotonic() - start < FLOOD_SECONDS):
            for _ in range(100):
                self.senders[self.sent % len(self.senders)](self.sent)
                self.sent += 1
            ahead = start + self.sent / FLOOD_RATE - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)

    def stop(self):
        self.halt.set()
        self.join(timeout=10)
        return self.sent


def statuses(daemon):
    """STATUS datagrams the daemon sent: every datagram that was not an
    EVENT (first or again) or a CHALLENGE."""
    m = daemon.metrics()
    return (m["mailbell_notify_datagrams_sent_total"]
            - m["mailbell_notify_events_total"]
            - m["mailbell_notify_retransmits_total"]
            - m["mailbell_notify_challenges_total"])


def test_flood_of_forgeries_keeps_the_watch_on_udp(daemon_factory, watches,
                                                   tmp_path):
    """A verified `mailbell watch`, and a flood of forged datagrams to
    the daemon's UDP port: forged HELLOs naming another user's
    unverified registration and forged keepalives, VERIFYs and ACKs
    naming the watch's, from another socket and (with CAP_NET_RAW)
    spoofed from the watch's own address and port. Forgeries never
    spend a budget (not even its source's, which a spoofed one shares
    with the watch), so the watch's keepalive during the flood is
    answered, mail that lands during and after it is reported over UDP,
    and the watch never falls back to IDLE. About 15 s: the shortest
    keepalive interval the daemon allows."""
    d = daemon_factory(notify__keepalive="15s")
    d.add_user("alice")
    d.add_user("bob")
    need_xbell(d)
    port = free_udp_port()
    w = watches(d, tmp_path, "--json", "--udp-port", port)
    w.wait_json(READY_TIMEOUT, event="ready", via="udp")
    m = REGISTERED_RE.search(w.err())
    assert m, w.err()
    server_port, epoch = int(m.group(2)), int(m.group(4))
    watched = nc.Registration(1, m.group(1), bytes(32), server_port,
                              int(m.group(3)), 0, epoch)
    imap = nc.imap_login(d.ports["imap"], "bob")
    unverified = nc.register(imap)
    imap.logout()

    # Sealed with a key of zeros: none of them authenticates.
    forged = []
    for reg, dtype, payload in ((watched, nc.KEEPALIVE, bytes(8)),
                                (watched, nc.VERIFY, bytes(16)),
                                (watched, nc.ACK, bytes(8)),
                                (unverified, nc.HELLO, b"\xa0" * 8)):
        seal = nc.UdpClient(reg, sock=socket.socket(
            socket.AF_INET, socket.SOCK_DGRAM)).seal
        forged.append([seal(dtype, payload, key=bytes(32),
                            pn=1000 + i) for i in range(64)])
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attacker.bind(("127.0.0.1", 0))
    target = ("127.0.0.1", server_port)
    senders = [lambda i, f=f: attacker.sendto(f[i % 64], target)
               for f in forged]
    raw = spoofer()
    if raw is not None:
        packets = [spoofed(port, server_port, f[i]) for f in forged[:3]
                   for i in range(64)]
        senders += [lambda i: raw.sendto(packets[i % len(packets)],
                                         ("127.0.0.1", 0))] * 3

    tags = d.metric('notify_datagrams_dropped_total{reason="tag"}')
    answered = statuses(d)
    flood = Flood(senders)
    flood.start()
    try:
        deliver(d, subject="during")
        _, ev = w.wait_json(10, event="MessageNew")
        assert ev["subject"] == "during" and ev["via"] == "udp", ev
        # The watch's keepalive (every 13.5 to 15 s) gets its STATUS in
        # the thick of it; were it dropped, the watch would fall back.
        assert wait_until(lambda: statuses(d) > answered
                          or "IMAP IDLE" in w.err(), 45, 0.2)
        # (A STATUS after falling back, to UDP again, is no answer.)
        assert "IMAP IDLE" not in w.err(), "fell back during the flood " \
            "(%d datagrams sent):\n%s" % (flood.sent, w.err())
        assert statuses(d) > answered, "no STATUS during the flood " \
            "(%d datagrams sent):\n%s" % (flood.sent, w.err())
        deliver(d, subject="during, later")
        _, ev = w.wait_json(10, event="MessageNew")
        assert ev["subject"] == "during, later" and ev["via"] == "udp", ev
        assert flood.is_alive(), "the flood ended before the keepalive"
    finally:
        sent = flood.stop()
        attacker.close()
        if raw is not None:
            raw.close()
    # The daemon read much of the flood (loopback may drop a little).
    assert wait_until(lambda: d.metric('notify_datagrams_dropped_total{reason="tag"}') - tags
                      >= sent // 4, 10), sent
    deliver(d, subject="after")
    _, ev = w.wait_json(10, event="MessageNew")
    assert ev["subject"] == "after" and ev["via"] == "udp", ev
    assert not [l for l in w.seen if '"idle"' in l], w.seen
    assert "IMAP IDLE" not in w.err(), w.err()


class CountingProxy:
    """A clear-text TCP proxy in front of mailbelld's IMAP port that
    keeps each connection's commands (client lines), holds new
    connections while paused, and with strip_qresync hides QRESYNC from
    the capabilities, as an older server would."""

    def __init__(self, upstream_port, strip_qresync=False):
        self.upstream_port = upstream_port
        self.strip = strip_qresync
        self.sessions = []          # one list of command lines each
        self.open = threading.Event()
        self.open.set()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def pause(self):
        self.open.clear()

    def resume(self):
        self.open.set()

    def commands(self, since=0):
        """Every command of the connections from number since on."""
        return [c for s in self.sessions[since:] for c in s]

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(c,),
                             daemon=True).start()

    def _session(self, c):
        self.open.wait()
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            c.close()
            return
        cmds = []
        self.sessions.append(cmds)
        threading.Thread(target=self._down, args=(up, c),
                         daemon=True).start()
        self._pump(c, up, cmds.append)

    def _down(self, up, c):
        def fix(line):
            if self.strip:
                line = re.sub(rb"(?i) QRESYNC\b", b"", line)
            return line
        self._pump(up, c, None, fix)

    @staticmethod
    def _pump(src, dst, record, fix=None):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line += b"\n"
                    if record is not None:
                        record(line.rstrip(b"\r\n").decode("latin-1"))
                    dst.sendall(fix(line) if fix else line)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.sock.close()


def events_until_ready(w, timeout):
    """The events a watch prints up to its next ready line."""
    got = []
    while True:
        _, obj = w.wait_json(timeout)
        if obj["event"] == "ready":
            return got, obj
        got.append((obj["event"], obj["uid"], obj.get("subject")))


def changes_across_a_restart(daemon_factory, watches, tmp_path, strip):
    """Three messages, a watch through a CountingProxy and a flag set
    while it listens; then, the watch held off, a server restart (a new
    epoch) in which a message lands, one is expunged and flags are set
    and cleared. Returns what the watch reported up to its next ready
    line and the commands of its sessions since the restart."""
    d = daemon_factory(start=False, imap__port=free_port(),
                       lmtp__port=free_port(), notify__udp_port=free_udp_port())
    d.add_user("alice")
    d.start()
    need_xbell(d)
    for subject in ("one", "two", "three"):
        deliver(d, subject=subject)
    d.wait_landed(3, "alice", "INBOX")
    proxy = CountingProxy(d.ports["imap"], strip_qresync=strip)
    try:
        w = watches(d, tmp_path, "--json", "--tls", "none",
                    server="127.0.0.1:%d" % proxy.port)
        w.wait_json(READY_TIMEOUT, event="ready", via="udp")
        m = imap_login(d)
        m.select("INBOX")
        m.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
        _, ev = w.wait_json(10, event="FlagsSet")
        assert ev["uid"] == 1 and ev["via"] == "udp", ev
        m.logout()

        proxy.pause()
        d.stop()
        d.start()
        sessions = len(proxy.sessions)
        deliver(d, subject="four")
        m = imap_login(d)
        m.select("INBOX")
        m.uid("STORE", "2", "+FLAGS", "(\\Seen)")
        m.uid("STORE", "1", "-FLAGS", "(\\Flagged)")
        m.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.logout()
        proxy.resume()
        got, ready = events_until_ready(w, 60)
        assert ready["via"] == "udp", ready
        return got, proxy.commands(sessions)
    finally:
        proxy.close()


def test_resync_after_restart_is_one_qresync_select(daemon_factory, watches,
                                                    tmp_path):
    """With QRESYNC, what changed while the watch was away is told
    exactly (new mail, the expunge, the flags set and cleared; not the
    flag it heard of by UDP before), learnt from one EXAMINE (QRESYNC
    ...) per folder: no STATUS, no reading of every message's flags."""
    got, cmds = changes_across_a_restart(daemon_factory, watches, tmp_path,
                                         strip=False)
    assert sorted(got) == sorted([
        ("FlagsClear", 1, None), ("FlagsSet", 2, None),
        ("MessageExpunge", 3, None), ("MessageNew", 4, "four")]), \
        (got, cmds)
    verbs = [c.split(" ", 1)[1].upper() for c in cmds if " " in c]
    assert sum(v == "ENABLE QRESYNC" for v in verbs) == 1, cmds
    # One EXAMINE (QRESYNC ...) per folder, each folder once.
    examines = [v for v in verbs if v.startswith("EXAMINE")]
    assert all(" (QRESYNC (" in v for v in examines), cmds
    names = [v.split(" ")[1] for v in examines]
    assert len(names) == len(set(names)), cmds
    inbox = [v for v in examines if v.startswith('EXAMINE "INBOX" ')]
    assert len(inbox) == 1, cmds
    assert re.match(r'EXAMINE "INBOX" \(QRESYNC \(\d+ \d+ 1:3\)\)$',
                    inbox[0]), cmds
    assert not [v for v in verbs if v.startswith("STATUS") or
                v.startswith("UID FETCH 1:*")], cmds


def test_resync_without_qresync_keeps_the_old_path(daemon_factory, watches,
                                                   tmp_path):
    """A server that does not offer QRESYNC: STATUS, then EXAMINE and a
    FETCH from the last UIDNEXT, as before; the new message is told."""
    got, cmds = changes_across_a_restart(daemon_factory, watches, tmp_path,
                                         strip=True)
    assert got == [("MessageNew", 4, "four")], (got, cmds)
    verbs = [c.split(" ", 1)[1].upper() for c in cmds if " " in c]
    assert not [v for v in verbs if "QRESYNC" in v], cmds
    assert [v for v in verbs if v.startswith("STATUS")], cmds
    assert "UID FETCH 4:* (UID BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])" \
        in verbs, cmds


def test_idle_with_qresync_and_notify_looks_once_and_idles_again(
        daemon_factory, watches, tmp_path):
    """On IDLE with NOTIFY and QRESYNC, the FETCH that reads new mail
    asks for the flags too. Its answers are not pushed flag changes: the
    watch looks once at each change and goes back to IDLE, where its
    loop also sends the HELLOs that bring it back to UDP (see
    test_netlab's nat -> blockudp -> nat), instead of looking again and
    again. A flag changed meanwhile is still told."""
    d = daemon_factory(notify__enabled="no")
    d.add_user("alice")
    proxy = CountingProxy(d.ports["imap"])

    def idling():
        cmds = proxy.commands()
        return bool(cmds) and cmds[-1].upper().endswith(" IDLE")

    try:
        w = watches(d, tmp_path, "--json", "--tls", "none",
                    server="127.0.0.1:%d" % proxy.port)
        _, ready = w.wait_json(READY_TIMEOUT, event="ready")
        assert ready["via"] == "idle", ready
        assert "QRESYNC: a folder resyncs" in w.err(), w.err()
        assert "NOTIFY tells of every folder" in w.err(), w.err()
        assert wait_until(idling, 10), proxy.commands()
        for uid, subject in enumerate(("first", "second"), 1):
            before = len(proxy.commands())
            deliver(d, subject=subject)
            _, ev = w.wait_json(10, event="MessageNew")
            assert (ev["uid"], ev["subject"], ev["via"]) == \
                (uid, subject, "idle"), ev
            assert wait_until(idling, 10), proxy.commands()[before:]
            # DONE, the folder's flags, its new mail, IDLE: a handful.
            assert len(proxy.commands()) - before < 20, \
                proxy.commands()[before:]
        m = imap_login(d)
        m.select("INBOX")
        m.uid("STORE", "1", "+FLAGS", "(\\Seen)")
        _, ev = w.wait_json(10, event="FlagsSet")
        assert ev["uid"] == 1 and ev["via"] == "idle", ev
        m.logout()
        assert wait_until(idling, 10), proxy.commands()
    finally:
        proxy.close()


def test_sigterm_unregisters_and_exits_0(daemon, tmp_path):
    need_xbell(daemon)
    w = Watch(daemon, tmp_path, "--json")
    w.wait_json(READY_TIMEOUT, event="ready", via="udp")
    assert w.stop() == 0
    assert not sanitizer_report(w.err()), w.err()


def test_bad_password_exits_77(daemon, tmp_path):
    w = Watch(daemon, tmp_path, password="wrong")
    assert w.proc.wait(timeout=30) == 77
    w.stop()
    assert "refused the login" in w.err()


def test_usage_errors(tmp_path):
    r = run_cli("watch", "--user", "alice")
    assert r.returncode == 64
    r = run_cli("watch", "--server", "h", "--user", "a", "--password-file",
                tmp_path / "missing")
    assert r.returncode == 66
    r = run_cli("watch", "--help")
    assert r.returncode == 0 and b"--udp-port" in r.stdout
    r = run_cli("doctor", "--help")
    assert r.returncode == 0 and b"--password-file" in r.stdout
    for cmd in ("watch", "doctor"):
        r = run_cli(cmd, "--help")
        for opt in (b"--tls MODE", b"--ca FILE", b"--tls-fingerprint"):
            assert opt in r.stdout, (cmd, opt)
    base = ["--server", "h", "--user", "a", "--password-file", tmp_path]
    for bad in (["--tls", "ssl"], ["--tls-fingerprint", "AB:CD"],
                ["--ca", "f", "--tls-fingerprint", "00" * 32],
                ["--tls", "none", "--ca", "f"]):
        r = run_cli("watch", *(base + bad))
        assert r.returncode == 64, (bad, r.stderr)


def doctor(daemon, tmp_path, *args, password="secret-pw", port=None,
           host="127.0.0.1"):
    pw = tmp_path / "doctor-pw"
    pw.write_text(password + "\n")
    r = run_cli("doctor", "--server",
                "%s:%d" % (host, port or daemon.ports["imap"]),
                "--user", "alice", "--password-file", pw,
                *tls_args(daemon, args), timeout=60)
    assert not sanitizer_report(r.stderr.decode("utf-8", "replace")), \
        r.stderr
    return r


def steps(out):
    return [l for l in out.splitlines() if l.startswith(("OK", "FAIL"))]


def test_doctor_all_ok(daemon, tmp_path):
    need_xbell(daemon)
    before = len(daemon.message_files("alice"))
    r = doctor(daemon, tmp_path)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    done = steps(out)
    assert len(done) == 8 and all(l.startswith("OK ") for l in done), out
    assert done[1].startswith("OK   TLS (STARTTLS) with 127.0.0.1:%d: TLSv1."
                              % daemon.ports["imap"]), out
    assert ("certificate verified for 127.0.0.1 by --ca %s (sha256 %s)"
            % (server_ca(daemon), server_fingerprint(daemon))) in done[1]
    assert "event round trip: MessageAppend INBOX" in out
    # The test message is gone again.
    assert wait_until(lambda: len(daemon.message_files("alice")) == before,
                      5), daemon.message_files("alice")


def test_doctor_notifier_off(daemon_factory, tmp_path):
    d = daemon_factory(notify__enabled="no")
    d.add_user("alice")
    r = doctor(d, tmp_path)
    out = r.stdout.decode()
    assert r.returncode == 69, out
    assert "FAIL the server does not offer XBELL" in out
    assert "[notify] enabled = no" in out


def test_doctor_bad_password_and_no_server(daemon, tmp_path):
    r = doctor(daemon, tmp_path, password="wrong")
    assert r.returncode == 69
    assert "FAIL login as alice" in r.stdout.decode()
    r = doctor(daemon, tmp_path, port=free_port())
    assert r.returncode == 69
    assert "FAIL TCP connect to IMAP" in r.stdout.decode()
    assert "allow outbound TCP" in r.stdout.decode()


# ---- TLS ----

def make_cert(tmp_path, names, days_from=-1, days_to=365):
    """A self-signed P-256 certificate for names (DNS names or
    addresses), valid from days_from to days_to around now, and its
    key: ([tls] cert_file, key_file)."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def san(n):
        try:
            return x509.IPAddress(ipaddress.ip_address(n))
        except ValueError:
            return x509.DNSName(n)

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .add_extension(x509.SubjectAlternativeName(
                [san(n) for n in names]), critical=False)
            .sign(key, hashes.SHA256()))
    crt, kpath = tmp_path / "own.crt", tmp_path / "own.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kpath.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    kpath.chmod(0o600)
    return crt, kpath


def test_watch_over_starttls_by_default(daemon, watches, tmp_path):
    need_xbell(daemon)
    # The certificate mailbelld made is the one it logs.
    path, fp = TLS_CERT_RE.search(daemon.log()).groups()
    assert path == str(server_ca(daemon))
    w = watches(daemon, tmp_path)
    w.wait_for(lambda l: l == "ready via udp", READY_TIMEOUT)
    assert re.search(r"watch: TLSv1\.[23] \S+ with 127\.0\.0\.1:%d, "
                     r"certificate sha256 %s" % (daemon.ports["imap"], fp),
                     w.err()), w.err()
    deliver(daemon, subject="over starttls")
    w.wait_for(lambda l: l.startswith("MessageNew INBOX uid=1 ")
               and 'subject="over starttls"' in l)


def test_watch_over_imaps_with_a_pinned_fingerprint(daemon, watches,
                                                    tmp_path):
    need_xbell(daemon)
    assert "imaps" in daemon.ports, daemon.log()
    # Pinned: in lower case without colons, as a user may paste it.
    pin = server_fingerprint(daemon).replace(":", "").lower()
    w = watches(daemon, tmp_path, "--json", "--tls", "imaps",
                "--tls-fingerprint", pin,
                server="127.0.0.1:%d" % daemon.ports["imaps"])
    w.wait_json(READY_TIMEOUT, event="ready", via="udp")
    assert "with 127.0.0.1:%d, certificate" % daemon.ports["imaps"] \
        in w.err(), w.err()
    deliver(daemon, subject="over imaps")
    _, ev = w.wait_json(10, event="MessageNew")
    assert ev["subject"] == "over imaps" and ev["via"] == "udp"


def test_watch_in_clear_text_on_loopback(daemon, watches, tmp_path):
    """--tls none works where mailbelld takes secrets in clear (on
    loopback, by default), and says what it gives away."""
    need_xbell(daemon)
    w = watches(daemon, tmp_path, "--tls", "none")
    w.wait_for(lambda l: l == "ready via udp", READY_TIMEOUT)
    assert "--tls none: the password and the notification keys cross " \
        "the network in clear text" in w.err(), w.err()
    assert "certificate sha256" not in w.err(), w.err()


def refused_watch(daemon, tmp_path, *args, server=None):
    """A watch that must give up: (exit status, stderr)."""
    w = Watch(daemon, tmp_path, *args, server=server)
    try:
        code = w.proc.wait(timeout=30)
    finally:
        w.stop()
    assert not sanitizer_report(w.err()), w.err()
    return code, w.err()


def test_watch_refuses_an_untrusted_certificate(daemon, tmp_path):
    # The system's CAs do not know mailbelld's own certificate.
    code, err = refused_watch(daemon, tmp_path, "--tls", "starttls")
    assert code == EX_PROTOCOL, err
    assert ("certificate not trusted: self-signed; pass --ca "
            "DATA_DIR/tls/mailbell.crt or --tls-fingerprint %s"
            % server_fingerprint(daemon)) in err, err
    assert "logged in" not in err
    code, err = refused_watch(daemon, tmp_path, "--tls", "imaps",
                              server="127.0.0.1:%d" % daemon.ports["imaps"])
    assert code == EX_PROTOCOL and "certificate not trusted" in err, err


def test_watch_refuses_a_wrong_fingerprint(daemon, tmp_path):
    code, err = refused_watch(daemon, tmp_path,
                              "--tls-fingerprint", "AB:" * 31 + "AB")
    assert code == EX_PROTOCOL, err
    assert ("certificate fingerprint does not match the pinned one: the "
            "server's is %s, not %s" % (server_fingerprint(daemon),
                                         "AB:" * 31 + "AB")) in err, err
    assert "logged in" not in err


def test_doctor_tls_verdicts(daemon, tmp_path):
    fp = server_fingerprint(daemon)
    # Untrusted: the fix is named, after the TCP hop passed.
    r = doctor(daemon, tmp_path, "--tls", "starttls")
    out = r.stdout.decode()
    assert r.returncode == 69, out
    assert steps(out)[0].startswith("OK   TCP connect to IMAP"), out
    assert steps(out)[1] == (
        "FAIL TLS (STARTTLS) with 127.0.0.1:%d: certificate not trusted: "
        "self-signed; pass --ca DATA_DIR/tls/mailbell.crt or "
        "--tls-fingerprint %s (after checking it against the \"tls: "
        "certificate\" line of mailbelld's log)"
        % (daemon.ports["imap"], fp)), out
    assert len(steps(out)) == 2, out
    # A wrong pin.
    r = doctor(daemon, tmp_path, "--tls-fingerprint", "00" * 32)
    out = r.stdout.decode()
    assert r.returncode == 69
    assert "FAIL TLS (STARTTLS) with 127.0.0.1:%d: certificate fingerprint " \
        "does not match the pinned one: the server's is %s" \
        % (daemon.ports["imap"], fp) in out, out
    # The right pin, over IMAPS.
    r = doctor(daemon, tmp_path, "--tls", "imaps", "--tls-fingerprint", fp,
               port=daemon.ports["imaps"])
    out = r.stdout.decode()
    assert "OK   TLS (IMAPS) with 127.0.0.1:%d: TLSv1." \
        % daemon.ports["imaps"] in out, out
    assert "certificate matches the pinned fingerprint" in out, out
    assert "OK   login as alice" in out, out
    # IMAPS spoken to the IMAP port, and STARTTLS to the IMAPS port.
    r = doctor(daemon, tmp_path, "--tls", "imaps")
    out = r.stdout.decode()
    assert r.returncode == 69
    assert "does not answer in TLS" in out and "use --tls starttls" in out, out
    r = doctor(daemon, tmp_path, port=daemon.ports["imaps"])
    out = r.stdout.decode()
    assert r.returncode == 69
    assert "FAIL TCP connect to IMAP" in out and "--tls imaps" in out, out


def test_doctor_name_mismatch_and_expired(daemon_factory, tmp_path):
    crt, key = make_cert(tmp_path, ["elsewhere.example"])
    d = daemon_factory("named", tls__cert_file=crt, tls__key_file=key)
    d.add_user("alice")
    r = doctor(d, tmp_path, "--ca", crt)
    out = r.stdout.decode()
    assert r.returncode == 69, out
    assert ("certificate does not match address 127.0.0.1 (it is for "
            "elsewhere.example); give --server one of its names, or pass "
            "--tls-fingerprint %s" % server_fingerprint(d)) in out, out
    r = doctor(d, tmp_path, "--ca", crt, host="localhost")
    assert "certificate does not match host name localhost (it is for " \
        "elsewhere.example)" in r.stdout.decode(), r.stdout.decode()

    old = tmp_path / "old"
    old.mkdir()
    crt, key = make_cert(old, ["127.0.0.1"], days_from=-30, days_to=-2)
    d = daemon_factory("expired", tls__cert_file=crt, tls__key_file=key)
    d.add_user("alice")
    r = doctor(d, tmp_path, "--ca", crt)
    out = r.stdout.decode()
    assert r.returncode == 69, out
    assert re.search(r"FAIL TLS \(STARTTLS\) with \S+: certificate expired on "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d UTC: the server's operator "
                     r"must renew it", out), out


class FakeImap:
    """A server that greets and answers CAPABILITY but offers no
    STARTTLS, or answers STARTTLS with more than its OK in clear text;
    it records every line it is sent."""

    def __init__(self, starttls_extra=None):
        self.lines = []
        self.extra = starttls_extra
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        caps = b"IMAP4rev1 AUTH=PLAIN SASL-IR" + \
            (b" STARTTLS" if self.extra is not None else b"")
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.sendall(b"* OK [CAPABILITY %s] old\r\n" % caps)
                for line in c.makefile("rb"):
                    self.lines.append(line)
                    tag, _, cmd = line.strip().partition(b" ")
                    if cmd.upper() == b"CAPABILITY":
                        c.sendall(b"* CAPABILITY %s\r\n%s OK\r\n"
                                  % (caps, tag))
                    elif cmd.upper() == b"STARTTLS":
                        c.sendall(tag + b" OK begin\r\n" + self.extra)
                    else:
                        c.sendall(tag + b" BAD\r\n")

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("extra", [None, b"* OK injected\r\n"])
def test_no_password_without_tls(daemon, tmp_path, extra):
    fake = FakeImap(starttls_extra=extra)
    try:
        server = "127.0.0.1:%d" % fake.port
        code, err = refused_watch(daemon, tmp_path, server=server)
        r = doctor(daemon, tmp_path, port=fake.port)
    finally:
        fake.close()
    out = r.stdout.decode()
    want = ("the server offers no STARTTLS: use --tls imaps if it has an "
            "IMAPS port, or --tls none" if extra is None else
            "more came in clear text after the server's STARTTLS OK")
    assert code == EX_PROTOCOL and want in err, err
    assert r.returncode == 69 and "FAIL TLS (STARTTLS)" in out \
        and want in out, out
    sent = b"".join(fake.lines).upper()
    assert b"LOGIN" not in sent and b"AUTHENTICATE" not in sent, sent
