"""
Fixtures for mailbell's integration tests.

Every test gets a fresh mailbelld on free 127.0.0.1 ports (each port is 0
in the configuration; the real ones are read back from the daemon's
"listening:" lines), with its own data directory and configuration file in
a temporary directory. The daemon is always shut down at teardown: SIGTERM,
then SIGKILL after a timeout. A daemon that does not exit 0 on SIGTERM, or
whose stderr holds a sanitizer report, fails the test.

MAILBELL_BUILD names the build directory (meson sets it), MAILBELL_SOURCE
the source tree.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from mailclients import (PASSWORD, ImapConn, LmtpConn,  # noqa: F401
                         imap_login, imap_raw_login, imaplib_connect)

SOURCE = Path(os.environ.get("MAILBELL_SOURCE",
                             Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("MAILBELL_BUILD", SOURCE / "build"))
DAEMON = BUILD / "src" / "daemon" / "mailbelld"
CLI = BUILD / "src" / "client" / "mailbell"

DOMAIN = "example.org"
# Small enough that the oversized-message tests stay quick.
MAX_MESSAGE_SIZE = 100 * 1024

# Sanitizer builds are several times slower; every wait below is bounded.
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
CLI_TIMEOUT = 30.0

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "LeakSanitizer")

# A journal priority ("<6>", see test_logging.py) may come first.
LISTENING_RE = re.compile(
    r"^(?:<\d>)?mailbelld: listening: (\S+) tcp (\S+):(\d+)\s*$", re.M)
LANDED_RE = re.compile(
    r"^mailbelld: landed: user=(\S+) folder=(\S+) uidvalidity=(\d+) "
    r"uid=(\d+)\s*$", re.M)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.05):
    """Poll predicate until it returns a true value or timeout passes;
    returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def terminate(proc):
    """Stop a mailbelld: SIGTERM, then SIGKILL if it has not exited
    within STOP_TIMEOUT. Returns what went wrong, as texts."""
    problems = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
            problems.append("mailbelld did not exit within %ss of SIGTERM"
                            % STOP_TIMEOUT)
    if proc.returncode != 0:
        problems.append("mailbelld exited %r on SIGTERM" % proc.returncode)
    return problems


def sanitizer_report(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def under_asan(pid):
    """Whether process pid runs with AddressSanitizer (the sanitizer
    build of `make check`)."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def write_config(path, data_dir, **overrides):
    """Write a configuration with every port 0. overrides maps
    "section__key" to a value, or to None to drop the key."""
    sections = {
        "server": {
            "data_dir": str(data_dir),
            "listen": "127.0.0.1",
            "domains": DOMAIN,
            "hostname": "mailbell.test",
        },
        "imap": {"port": "0", "tls_port": "0"},
        "lmtp": {"port": "0", "max_message_size": "100K"},
        "admin": {"port": "0"},
        "notify": {"enabled": "true", "udp_port": "0"},
    }
    for name, value in overrides.items():
        section, key = name.split("__", 1)
        sections.setdefault(section, {})
        if value is None:
            sections[section].pop(key, None)
        else:
            sections[section][key] = str(value)
    lines = ["# mailbell integration test configuration"]
    for section, keys in sections.items():
        lines.append("[%s]" % section)
        for key, value in keys.items():
            lines.append("%s = %s" % (key, value))
        lines.append("")
    Path(path).write_text("\n".join(lines))
    return Path(path)


def _delivery_order(path):
    """Sort key of a Maildir file: the numbers of "SEC.MUSECPPIDQN.host"."""
    m = re.match(r"(\d+)\.M(\d+)P(\d+)Q(\d+)\.", path.name)
    if m is None:
        return (1, (), path.name)
    return (0, tuple(int(g) for g in m.groups()), path.name)


def _line_check(text):
    """The check that closes a line of mailbell's logs (log-line.h): the
    low 32 bits of the 64-bit FNV-1a of the line before it."""
    h = 14695981039346656037
    for b in text.encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h & 0xFFFFFFFF


class Daemon:
    """One mailbelld and its data directory."""

    def __init__(self, tmp_path, **config_overrides):
        self.dir = Path(tmp_path)
        self.data_dir = self.dir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.config = write_config(self.dir / "mailbell.conf",
                                   self.data_dir, **config_overrides)
        self.proc = None
        self.log_path = None
        self.logs = []          # every log file of every start
        self.ports = {}
        self.starts = 0
        self.problems = []      # shutdown failures, found at teardown
        self.preexec = None     # run in the child before mailbelld

    # ---- life cycle ----

    def start(self):
        assert self.proc is None
        self.starts += 1
        self.log_path = self.dir / ("mailbelld-%d.log" % self.starts)
        self.logs.append(self.log_path)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(DAEMON), "-c", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=self.preexec)
        ready = wait_until(
            lambda: "mailbelld: ready" in self.log()
            or self.proc.poll() is not None, READY_TIMEOUT)
        text = self.log()
        if "mailbelld: ready" not in text:
            self._force_kill()
            pytest.fail("mailbelld did not become ready (ready=%r, exit=%r)"
                        ":\n%s" % (ready, self.proc and self.proc.returncode,
                                   text))
        self.ports = {service: int(port) for service, _addr, port
                      in LISTENING_RE.findall(text)}
        assert "lmtp" in self.ports, "no lmtp listening line:\n" + text
        return self

    def stop(self):
        """SIGTERM, wait, SIGKILL on timeout. Records problems."""
        if self.proc is None:
            return
        proc = self.proc
        self.problems.extend(terminate(proc))
        if proc.returncode == 0 and "stopped" not in self.log():
            self.problems.append("no 'stopped' line after SIGTERM")
        self.proc = None

    def kill9(self):
        """SIGKILL (a crash): no shutdown checks apply."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def _force_kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        if self.log_path is None:
            return ""
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def all_logs(self):
        return "".join(p.read_bytes().decode("utf-8", "replace")
                       for p in self.logs if p.exists())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- ports and connections ----

    @property
    def lmtp_port(self):
        return self.ports["lmtp"]

    @property
    def admin_port(self):
        return self.ports["admin"]

    def lmtp(self, timeout=10.0):
        """A raw LMTP connection, greeting already read."""
        conn = LmtpConn(self.lmtp_port, timeout)
        code, lines = conn.reply()
        assert code == 220, lines
        return conn

    def deliver(self, msgs, rcpt="alice@example.org",
                sender="sender@example.net", timeout=10.0):
        """Deliver each message (bytes) in its own transaction over one
        LMTP connection, in order (so they get consecutive UIDs); every
        step must be accepted. Returns the time of the last reply."""
        with self.lmtp(timeout) as c:
            code, lines = c.cmd("LHLO client.test")
            assert code == 250, lines
            for n, msg in enumerate(msgs):
                code, lines = c.cmd("MAIL FROM:<%s>" % sender)
                assert code == 250, (n, lines)
                code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
                assert code == 250, (n, lines)
                code, lines = c.cmd("DATA")
                assert code == 354, (n, lines)
                data = msg if msg.endswith(b"\r\n") else msg + b"\r\n"
                c.send(dot_stuff(data) + b".\r\n")
                code, lines = c.reply()
                assert code == 250, (n, lines)
        return time.monotonic()

    def imap(self, timeout=10.0, greeting=True, source=None):
        """A raw IMAP connection, greeting read unless greeting is
        false; from the local address source if given."""
        return ImapConn(self.ports["imap"], timeout, greeting, source)

    # ---- the admin port's metrics ----

    def metrics(self):
        """/metrics as {name (with labels): value}."""
        url = "http://127.0.0.1:%d/metrics" % self.admin_port
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def metric(self, name):
        """One metric, named without its "mailbell_" prefix; 0 if the
        daemon does not export it."""
        return self.metrics().get("mailbell_" + name, 0)

    def wait_metric(self, name, value, timeout=10.0):
        """Wait until metric name equals value; true if it did."""
        return wait_until(lambda: self.metric(name) == value, timeout)

    def sync(self):
        """An ordering point: returns once the daemon's one event loop has
        answered a /metrics request made now, so whatever it had ready to
        run before has run: the write callbacks of all that a client has
        already received (by which a session in IDLE goes to sleep), the
        reads of what a client has already sent."""
        self.metrics()

    def wait_idle(self, timeout=10.0):
        """Wait until every delivery and folder sync the daemon has queued
        has finished and its completion has run (events announced, files
        of a refused or cut-off delivery removed); true if it did.

        Also an ordering point for changes made on disk before the call:
        their inotify events were readable before the daemon accepted
        the metrics request, so by the time it answers, the loop has read
        them and queued their folder syncs, which the pending count then
        covers."""
        return self.wait_metric("delivery_queue_pending", 0, timeout)

    # ---- CLI ----

    def cli(self, *args, input=None, timeout=CLI_TIMEOUT):
        return run_cli(*args, input=input, timeout=timeout)

    def add_user(self, name, password=PASSWORD):
        r = self.cli("user", "add", name, "-c", str(self.config),
                     "--password-stdin", input=password + "\n")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        return name

    # ---- the store on disk ----

    def folder_dir(self, user, folder="INBOX"):
        base = self.data_dir / "mail" / user
        return base if folder == "INBOX" else base / ("." + folder)

    def message_files(self, user, folder="INBOX"):
        """Paths of the messages in new/ and cur/, in delivery order.

        The order is that of the numbers in mailbell's unique name
        (seconds, microseconds, process, count); the microseconds are
        not zero-padded, so the names themselves do not sort by time.
        """
        d = self.folder_dir(user, folder)
        files = []
        for sub in ("new", "cur"):
            if (d / sub).is_dir():
                files.extend(p for p in (d / sub).iterdir() if p.is_file())
        return sorted(files, key=_delivery_order)

    def messages(self, user, folder="INBOX"):
        return [p.read_bytes() for p in self.message_files(user, folder)]

    def tmp_files(self, user, folder="INBOX"):
        d = self.folder_dir(user, folder) / "tmp"
        return sorted(d.iterdir()) if d.is_dir() else []

    def wait_messages(self, user, count, folder="INBOX", timeout=10.0):
        wait_until(lambda: len(self.message_files(user, folder)) >= count,
                   timeout)
        return self.messages(user, folder)

    def uidlist(self, user, folder="INBOX"):
        """(header line, {uid: base file name}) of mailbell-uidlist:
        format 2 (a log of "+ uid name" and "- uid" records, each line
        ending in its check) replayed, or format 1 ("uid name")."""
        path = self.folder_dir(user, folder) / "mailbell-uidlist"
        lines = path.read_text().splitlines()
        entries = {}
        checked = bool(lines) and lines[0].startswith("mailbell-uidlist 2 ")
        if checked:
            # Every line whole: a crash never leaves one torn here (a
            # torn tail is cut off when mailbelld reads the list).
            for line in lines:
                body, check = line.rsplit(" ", 1)
                assert int(check, 16) == _line_check(body), line
            lines = [line.rsplit(" ", 1)[0] for line in lines]
        for line in lines[1:]:
            if not line.strip():
                continue
            if not checked:
                uid, name = line.split(" ", 1)
                entries[int(uid)] = name.strip()
            elif line.startswith("+ "):
                uid, name = line[2:].split(" ", 1)
                entries[int(uid)] = name
            elif line.startswith("- "):
                entries.pop(int(line[2:]), None)
        return (lines[0] if lines else ""), entries

    # ---- events ----

    def landed(self, user=None, folder=None):
        """Every landed event of every start of this daemon so far, as
        (user, folder, uidvalidity, uid) tuples."""
        events = [(u, f, int(v), int(n)) for u, f, v, n
                  in LANDED_RE.findall(self.all_logs())]
        return [e for e in events
                if (user is None or e[0] == user)
                and (folder is None or e[1] == folder)]

    def wait_landed(self, count, user=None, folder=None, timeout=10.0):
        wait_until(lambda: len(self.landed(user, folder)) >= count, timeout)
        return self.landed(user, folder)


def run_cli(*args, input=None, timeout=CLI_TIMEOUT):
    data = input.encode() if isinstance(input, str) else input
    r = subprocess.run([str(CLI)] + [str(a) for a in args],
                       input=data if data is not None else b"",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    found = sanitizer_report(r.stderr.decode("utf-8", "replace"))
    assert not found, "sanitizer report from mailbell %s:\n%s" % (
        " ".join(map(str, args)), r.stderr.decode("utf-8", "replace"))
    return r


def reply_line(reply):
    """The last line of a reply, the one tests compare exactly."""
    return reply[1][-1] if reply[1] else None


def dot_stuff(data):
    """SMTP/LMTP transparency (RFC 5321 4.5.2): double every leading dot."""
    return re.sub(rb"(^|\r\n)\.", rb"\1..", data)


def make_message(subject="test", body="Hello.\r\n", extra_headers=()):
    headers = ["From: sender@example.net", "To: alice@example.org",
               "Subject: " + subject,
               "Message-ID: <%s.%d@example.net>" % (subject.replace(" ", "-"),
                                                     time.monotonic_ns())]
    headers.extend(extra_headers)
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def split_prefix(stored):
    """Split a stored message into the two lines mailbell prepends
    (Return-Path, Delivered-To) and the rest, byte for byte."""
    first, rest = stored.split(b"\n", 1)
    second, body = rest.split(b"\n", 1)
    return [first + b"\n", second + b"\n"], body


def assert_prefixed(stored, body, sender, recipient):
    """stored is exactly Return-Path + Delivered-To + body."""
    prefix, rest = split_prefix(stored)
    assert prefix[0].rstrip(b"\r\n") == ("Return-Path: <%s>" % sender).encode()
    assert prefix[1].rstrip(b"\r\n") == ("Delivered-To: %s" % recipient).encode()
    assert rest == body


@pytest.fixture(autouse=True)
def reachable_tmp_path(tmp_path, tmp_path_factory):
    """Started as root without [server] user, mailbelld and the CLI run as
    a system account (mailbell or nobody), which must reach the data
    directory: let everyone traverse (not list) the directories pytest
    makes private, from tmp_path up to the base directory (see
    pytest_configure)."""
    if os.geteuid() == 0:
        base = tmp_path_factory.getbasetemp()
        p = tmp_path
        while True:
            os.chmod(p, os.stat(p).st_mode | 0o111)
            if p == base or p.parent == p:
                break
            p = p.parent
    return tmp_path


def give_to_owner(path, owner_of):
    """Give path, and everything below it, to the owner of owner_of, as
    the account mailbelld runs as owns what it writes: a test running as
    root that writes into the store stands in for that account."""
    st = os.stat(owner_of)
    for top, dirs, files in os.walk(path):
        for name in [top] + [os.path.join(top, n) for n in dirs + files]:
            try:
                os.lchown(name, st.st_uid, st.st_gid)
            except FileNotFoundError:
                pass    # a running daemon renamed its temporary file


@pytest.fixture
def daemon_factory(tmp_path):
    """Start daemons with config overrides; all are shut down at teardown
    and checked for a clean exit and sanitizer reports."""
    made = []

    def make(subdir="d", start=True, **overrides):
        d = tmp_path / subdir
        d.mkdir(exist_ok=True)
        daemon = Daemon(d, **overrides)
        made.append(daemon)
        if start:
            daemon.start()
        return daemon

    yield make

    problems = []
    for daemon in made:
        daemon.stop()
        problems.extend(daemon.problems)
        found = sanitizer_report(daemon.all_logs())
        if found:
            problems.append("sanitizer report (%s) in mailbelld stderr:\n%s"
                            % (", ".join(found), daemon.all_logs()[-8000:]))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def daemon(daemon_factory):
    """A fresh mailbelld with users alice and bob."""
    d = daemon_factory()
    d.add_user("alice")
    d.add_user("bob")
    return d


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "deb: builds the Debian package "
                            "(test_deb.py, about 20 s)")
    missing = [p for p in (DAEMON, CLI) if not p.exists()]
    if missing:
        raise pytest.UsageError("mailbell binaries not built: %s (set "
                                "MAILBELL_BUILD)" % ", ".join(map(str, missing)))
    # As root, pytest's own /tmp/pytest-of-root is made private (0700)
    # again by every pytest session that starts, which would lock the
    # daemons' system account out of their data directories: keep the
    # temporary directories under one of ours instead, traversable,
    # with this session's directory named after its process, and
    # remove those of sessions that have ended.
    if os.geteuid() == 0 and config.option.basetemp is None:
        root = Path("/tmp/mailbell-pytest-of-root")
        root.mkdir(mode=0o711, exist_ok=True)
        st = os.lstat(root)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0:
            raise pytest.UsageError("%s is not root's directory" % root)
        os.chmod(root, 0o711)
        for old in root.glob("pytest-*"):
            try:
                os.kill(int(old.name.split("-", 1)[1]), 0)
            except (ValueError, ProcessLookupError):
                shutil.rmtree(old, ignore_errors=True)
            except PermissionError:
                pass
        config.option.basetemp = str(root / ("pytest-%d" % os.getpid()))


# ---- a client host in a network namespace ----

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def in_netns(name, fn):
    """Run fn() with this thread in network namespace name; sockets it
    makes stay in that namespace when it returns."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    other = os.open("/run/netns/%s" % name, os.O_RDONLY)
    try:
        if libc.setns(other, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            return fn()
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(other)


@pytest.fixture
def remote_peer():
    """A client host in its own network namespace, joined to this one by
    a veth pair: (server address here, function making a socket
    connected from there)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and ip(8) for a network namespace")
    tag = "%x" % (os.getpid() & 0xffffff)
    ns, here, there = "mbtls-" + tag, "mbt%sa" % tag, "mbt%sb" % tag
    net = 16 + os.getpid() % 200        # 198.18.N.0/30 (RFC 2544 range)
    server, client = "198.18.%d.1" % net, "198.18.%d.2" % net

    def ip(*args):
        subprocess.run(["ip"] + list(args), check=True, timeout=30,
                       capture_output=True)

    subprocess.run(["ip", "netns", "del", ns], capture_output=True,
                   timeout=30)
    ip("netns", "add", ns)
    try:
        ip("link", "add", here, "type", "veth", "peer", "name", there)
        ip("link", "set", there, "netns", ns)
        ip("addr", "add", server + "/30", "dev", here)
        ip("link", "set", here, "up")
        ip("-n", ns, "addr", "add", client + "/30", "dev", there)
        ip("-n", ns, "link", "set", there, "up")
        ip("-n", ns, "link", "set", "lo", "up")

        def connect(port):
            def make():
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(10)
                s.connect((server, port))
                return s
            return in_netns(ns, make)

        # The veth may take a moment to carry traffic.
        yield server, connect
    finally:
        subprocess.run(["ip", "link", "del", here], capture_output=True,
                       timeout=30)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True,
                       timeout=30)


def can_connect(connect, port):
    """Whether connect(port) (of remote_peer) reaches a listener."""
    try:
        connect(port).close()
        return True
    except OSError:
        return False
