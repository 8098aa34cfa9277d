"""
SIGTERM: open LMTP sessions are told 421, a delivery already handed over
is finished and answered first, and mailbelld exits 0.
"""

import signal
import subprocess

from conftest import STOP_TIMEOUT, make_message, split_prefix, wait_until


def test_sigterm_with_idle_session(daemon):
    c = daemon.lmtp()
    assert c.cmd("LHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
    proc = daemon.proc
    proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: "shutting down" in daemon.log(), 10)
    # The session's next command is answered 421 and the session closed.
    code, lines = c.cmd("DATA")
    assert code == 421, lines
    assert lines[-1].startswith("421 4."), lines
    assert c.closed()
    c.close()
    assert proc.wait(timeout=STOP_TIMEOUT) == 0
    log = daemon.log()
    assert log.index("shutting down") < log.index("stopped"), log
    assert daemon.message_files("alice") == []
    daemon.proc = None
    # A fresh start on the same data dir serves again.
    daemon.start()
    with daemon.lmtp() as c2:
        assert c2.cmd("LHLO x")[0] == 250


def test_sigterm_right_after_final_dot_delivers(daemon):
    body = make_message("in flight at shutdown")
    c = daemon.lmtp()
    assert c.cmd("LHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(body + b".\r\n")
    daemon.proc.send_signal(signal.SIGTERM)
    replies = [c.reply(), c.reply()]
    c.close()
    assert daemon.proc.wait(timeout=STOP_TIMEOUT) == 0
    daemon.proc = None
    # Either the message was taken in full (250 each, stored) or refused
    # with a temporary error before it was handed over; never a 250 for a
    # message that is not on disk.
    codes = [r[0] for r in replies]
    assert codes in ([250, 250], [421, None]), replies
    for user, code in zip(("alice", "bob"), codes):
        msgs = daemon.messages(user)
        if code == 250:
            assert [split_prefix(m)[1] for m in msgs] == [body], user
        else:
            assert msgs == [], user


def test_sigint_also_stops_cleanly(daemon):
    daemon.proc.send_signal(signal.SIGINT)
    assert daemon.proc.wait(timeout=STOP_TIMEOUT) == 0
    assert "stopped" in daemon.log()
    daemon.proc = None


def test_check_config_on_running_daemon_config(daemon):
    r = subprocess.run([str(daemon.proc.args[0]), "--check-config", "-c",
                        str(daemon.config)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert daemon.alive()
