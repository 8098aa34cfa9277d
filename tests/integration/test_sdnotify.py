"""
systemd's readiness protocol (sd_notify(3)), as a unit of Type=notify
sees it: mailbelld is started with NOTIFY_SOCKET naming a datagram socket
of the test's, which stands in for systemd. READY=1 comes once every
listener serves, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 at
SIGTERM, and WATCHDOG=1 at half the interval WATCHDOG_USEC asks for, and
only when it asks.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import (DAEMON, LISTENING_RE, READY_TIMEOUT, STOP_TIMEOUT,
                      ImapConn, sanitizer_report, terminate, write_config)


class Manager:
    """The socket systemd would listen on, and one mailbelld sending to
    it."""

    def __init__(self, tmp_path):
        # A short path (sun_path holds 108 bytes) that the account a
        # daemon started as root becomes may still reach and write to.
        self.dir = tempfile.mkdtemp(prefix="mb-sd-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.tmp = tmp_path
        (tmp_path / "data").mkdir()
        self.config = write_config(tmp_path / "mailbell.conf",
                                   tmp_path / "data")
        self.log_path = tmp_path / "mailbelld.log"
        self.proc = None

    def start(self, **env):
        environ = dict(os.environ, NOTIFY_SOCKET=self.path)
        for name in ("WATCHDOG_USEC", "WATCHDOG_PID"):
            environ.pop(name, None)
        environ.update(env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(DAEMON), "-c", str(self.config)], env=environ,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def log(self):
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def recv(self, timeout):
        """The next datagram's fields, as a list of "KEY=VALUE" texts, or
        None when none comes within timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        return data.decode().split("\n")

    def expect(self, field, timeout=READY_TIMEOUT, skip_watchdog=True):
        """Every datagram up to and including the first holding field.
        Fails on any other datagram (WATCHDOG=1 aside when skip_watchdog)
        or when none holds it within timeout."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            msg = self.recv(max(left, 0.01)) if left > 0 else None
            if msg is None:
                pytest.fail("no %s within %ss; got %r; log:\n%s"
                            % (field, timeout, seen, self.log()))
            seen.append(msg)
            if field in msg:
                return seen
            assert skip_watchdog and msg == ["WATCHDOG=1"], (field, seen)

    def close(self):
        problems = []
        if self.proc is not None:
            problems = terminate(self.proc)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return problems


@pytest.fixture
def manager(tmp_path):
    m = Manager(tmp_path)
    yield m
    problems = m.close()
    found = sanitizer_report(m.log())
    assert not found, m.log()
    assert not problems, problems


def ports(log):
    return {service: int(port) for service, _a, port
            in LISTENING_RE.findall(log)}


def test_ready_reload_stopping(manager):
    manager.start()
    assert manager.expect("READY=1") == [["READY=1", "STATUS=serving"]]
    # By READY=1 every listener was bound and serves: the ports are in the
    # log already, and each answers at once.
    log = manager.log()
    found = ports(log)
    assert {"imap", "imaps", "lmtp", "admin"} <= set(found), log
    assert "mailbelld: ready" in log
    with ImapConn(found["imap"]) as c:
        assert c.greeting.startswith("* OK"), (c.greeting, log)
    url = "http://127.0.0.1:%d/health" % found["admin"]
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200

    # SIGHUP: RELOADING=1 (with the time, for systemd to tell reloads
    # apart), the certificate read again, READY=1.
    manager.proc.send_signal(signal.SIGHUP)
    first = manager.expect("RELOADING=1", timeout=10, skip_watchdog=False)
    assert len(first) == 1
    fields = dict(f.split("=", 1) for f in first[0])
    assert int(fields["MONOTONIC_USEC"]) > 0, first
    assert manager.expect("READY=1", timeout=10, skip_watchdog=False) == [
        ["READY=1", "STATUS=serving"]]

    manager.proc.send_signal(signal.SIGTERM)
    assert manager.expect("STOPPING=1", timeout=10, skip_watchdog=False) == [
        ["STOPPING=1", "STATUS=draining"]]
    assert manager.proc.wait(timeout=STOP_TIMEOUT) == 0
    # Without WATCHDOG_USEC there is no keep-alive, and nothing follows
    # STOPPING=1.
    assert manager.recv(0.3) is None
    assert "mailbelld: watchdog" not in manager.log()


def test_watchdog_at_half_the_interval(manager):
    manager.start(WATCHDOG_USEC="400000")
    manager.expect("READY=1")
    assert "watchdog: keep-alive every 200 ms" in manager.log()
    start = time.monotonic()
    count = 0
    while time.monotonic() - start < 2.0:
        msg = manager.recv(1.0)
        assert msg == ["WATCHDOG=1"], msg
        count += 1
    # Every 200 ms: about ten in two seconds, none missed by much.
    assert 7 <= count <= 12, count


def test_watchdog_for_another_process(manager):
    # WATCHDOG_PID names a process other than mailbelld: the watchdog is
    # not its, and it sends no keep-alive.
    manager.start(WATCHDOG_USEC="200000", WATCHDOG_PID=str(os.getpid()))
    manager.expect("READY=1", skip_watchdog=False)
    assert manager.recv(0.6) is None
    assert "mailbelld: watchdog" not in manager.log()


def test_watchdog_without_notify_socket(tmp_path):
    # No NOTIFY_SOCKET: not started by systemd, whatever else is set;
    # the daemon starts, serves and stops as ever, and says nothing of
    # a watchdog.
    (tmp_path / "data").mkdir()
    config = write_config(tmp_path / "mailbell.conf", tmp_path / "data")
    environ = dict(os.environ, WATCHDOG_USEC="200000")
    environ.pop("NOTIFY_SOCKET", None)
    logp = tmp_path / "log"
    with open(logp, "wb") as log:
        proc = subprocess.Popen([str(DAEMON), "-c", str(config)],
                                env=environ, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while "mailbelld: ready" not in logp.read_text() and \
                time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert "mailbelld: ready" in logp.read_text(), logp.read_text()
        time.sleep(0.3)
    finally:
        problems = terminate(proc)
    text = logp.read_text()
    assert not problems, (problems, text)
    assert "mailbelld: watchdog" not in text, text
    # Neither of the notifier's complaints (a low open file limit may
    # still name systemd's LimitNOFILE=).
    assert "notify systemd" not in text, text
    assert "systemd watchdog" not in text, text
