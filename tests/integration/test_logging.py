"""
mailbelld's log lines as a log collector sees them: with stderr connected
to the systemd journal (JOURNAL_STREAM names stderr's device and inode,
systemd.exec(5)) each line starts with its syslog priority, "<6>" and the
like, which the journal takes as the entry's priority; otherwise the
format is the plain "mailbelld: TEXT" it always was.
"""

import os
import re
import subprocess

from conftest import DAEMON, wait_until

# A timestamp of the kinds a logger would put in front: ISO 8601 or
# syslog's "Dec  6 04:05:06".
TIMESTAMP_RE = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|[A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d")


def journal_stream_of_stderr():
    """Make the child's JOURNAL_STREAM name its stderr, as systemd does
    for a service with StandardError=journal. Runs in the child, after
    stderr is set up and before exec."""
    st = os.fstat(2)
    os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)


def journal_stream_elsewhere():
    """JOURNAL_STREAM naming another file than stderr: what a daemon
    started by a service whose stderr was redirected inherits."""
    st = os.stat("/")
    os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)


def test_journal_lines_carry_priority(daemon_factory):
    d = daemon_factory(start=False, server__log_level="debug")
    d.preexec = journal_stream_of_stderr
    d.start()
    d.add_user("alice")
    d.deliver([b"Subject: x\r\n\r\nbody\r\n"])
    d.stop()
    lines = d.log().splitlines()
    assert lines, "no log lines"
    for line in lines:
        assert re.match(r"^<[0-7]>mailbelld: \S", line), line
        assert not TIMESTAMP_RE.search(line), line
    assert "<6>mailbelld: ready" in lines
    assert "<6>mailbelld: stopped" in lines
    assert any(line.startswith("<7>mailbelld: ") for line in lines), \
        "no debug line at log_level debug"


def test_journal_error_priority(daemon_factory):
    """A start-up failure is an error, <3>."""
    d = daemon_factory(start=False)
    d.config.write_text(d.config.read_text() + "\n[imap]\nbogus = 1\n")
    proc = subprocess.run([str(DAEMON), "-c", str(d.config)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE,
                          preexec_fn=journal_stream_of_stderr, timeout=30)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    # stderr is a pipe here, so JOURNAL_STREAM matches it as it would the
    # journal's socket.
    assert re.match(r"^<3>mailbelld: .*bogus: unknown key", err), err


def test_plain_lines_without_journal(daemon_factory):
    d = daemon_factory(start=False)
    d.preexec = journal_stream_elsewhere
    d.start()
    d.stop()
    lines = d.log().splitlines()
    assert "mailbelld: ready" in lines
    for line in lines:
        assert line.startswith("mailbelld: "), line
        assert not TIMESTAMP_RE.search(line), line


def test_plain_lines_by_default(daemon):
    assert wait_until(lambda: "mailbelld: ready" in daemon.log(), 10)
    for line in daemon.log().splitlines():
        assert line.startswith("mailbelld: "), line


# ---- the sessions' lines: peer= always, user= once known ----

SESSION_RE = re.compile(r"^mailbelld: (imap|lmtp): peer=127\.0\.0\.1:(\d+)"
                        r"(?: user=(\S+))?: (.*)$", re.M)


def session_lines(d, service):
    return [m for m in SESSION_RE.finditer(d.log()) if m.group(1) == service]


def test_login_and_delivery_lines_name_peer_and_user(daemon):
    with daemon.imap() as c:
        c.login("alice")
        port = c.sock.getsockname()[1]
        c.cmd("s", "SELECT INBOX")
    daemon.deliver([b"Subject: fields\r\n\r\nbody\r\n"], rcpt="bob@%s"
                   % "example.org")
    assert wait_until(lambda: any(m.group(4).startswith("delivered uid=")
                                  for m in session_lines(daemon, "lmtp")),
                      10), daemon.log()
    logins = [m for m in session_lines(daemon, "imap")
              if m.group(4) == "logged in"]
    assert [(int(m.group(2)), m.group(3)) for m in logins] == \
        [(port, "alice")], daemon.log()
    deliveries = [m for m in session_lines(daemon, "lmtp")
                  if m.group(4).startswith("delivered uid=")]
    assert [m.group(3) for m in deliveries] == ["bob"], daemon.log()


def test_lines_before_login_name_the_peer_alone(daemon):
    with daemon.imap() as c:
        port = c.sock.getsockname()[1]
        assert c.cmd("a", "LOGIN alice wrong")[-1].startswith("a NO")
    assert wait_until(lambda: "failed login answered" in daemon.log(), 10)
    failed = [m for m in session_lines(daemon, "imap")
              if m.group(4).startswith(("login failed for alice",
                                        "failed login answered in"))]
    assert len(failed) == 2, daemon.log()
    for m in failed:
        assert int(m.group(2)) == port and m.group(3) is None, m.group(0)
