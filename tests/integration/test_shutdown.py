"""
SIGTERM: open LMTP sessions are told 421, a delivery already handed over
is finished and answered first, and mailbelld exits 0 - within a bounded
time whatever the clients do: one that never reads its BYE or 421, one
stopped in the middle of the TLS handshake, one in IDLE over TLS.
"""

import signal
import socket
import ssl
import subprocess
import time

from conftest import (STOP_TIMEOUT, ImapConn, LmtpConn, make_message,
                      split_prefix, wait_until)

# mailbelld's grace for sessions after SIGTERM (SERVICE_SHUTDOWN_GRACE_SECS
# in src/lib/limits.h), and the margin a slow (sanitizer) build needs.
GRACE = 5
MARGIN = 5


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


# ---- shutdown in bounded time, whatever the clients do ----

def tls_context(daemon):
    """A client context verifying the daemon's self-signed certificate."""
    ctx = ssl.create_default_context(
        cafile=str(daemon.data_dir / "tls" / "mailbell.crt"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def small_window_socket(port):
    """A connection whose receive buffer is tiny, so that whatever the
    server sends beyond a few KiB waits in the server's buffers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


def stop_in_time(daemon, limit=GRACE + MARGIN):
    """SIGTERM; mailbelld must exit 0 with its 'stopped' line in time.
    Returns how long it took."""
    started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    try:
        rc = daemon.proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - started
    daemon.stop()       # SIGKILL if it is still there
    assert rc == 0, "mailbelld: exit %r after %.1fs of SIGTERM" % (rc, took)
    assert "stopped" in daemon.log()
    return took


def stalled(probe, polls=5):
    """A condition for wait_until: probe(), which asks the daemon
    something (so its event loop has run between two calls), gave the
    same value polls times in a row: the daemon has taken all it will
    from a client that reads nothing, and waits on it."""
    seen = []

    def check():
        seen.append(probe())
        return len(seen) >= polls and len(set(seen[-polls:])) == 1
    return check


def stalled_imap_reader(daemon, port, tls=None):
    """A logged-in IMAP session that asked for far more than the socket
    buffers hold and reads none of it, once the daemon has stopped
    taking its commands."""
    daemon.deliver([make_message("big", body=("x" * 76 + "\r\n") * 1000)])
    c = ImapConn(port, sock=small_window_socket(port), tls=tls)
    c.login()
    c.select()

    def commands():
        return daemon.metric("imap_commands_total")
    before = commands()
    # ~80 KB a FETCH: 40 MB asked for, never read.
    c.send("".join("f%d FETCH 1 BODY[]\r\n" % i for i in range(500)))
    assert wait_until(lambda: commands() > before, 30)
    assert wait_until(stalled(commands), 30, interval=0.1)
    assert commands() < before + 500
    return c


def test_sigterm_with_an_imap_client_that_never_reads(daemon):
    c = stalled_imap_reader(daemon, daemon.ports["imap"])
    try:
        stop_in_time(daemon)
    finally:
        c.close()
    assert "did not finish" in daemon.log()


def test_sigterm_with_an_imaps_client_that_never_reads(daemon):
    c = stalled_imap_reader(daemon, daemon.ports["imaps"],
                            tls=tls_context(daemon))
    try:
        stop_in_time(daemon)
    finally:
        c.close()


def test_sigterm_with_an_lmtp_client_that_never_reads(daemon):
    sock = small_window_socket(daemon.lmtp_port)
    c = LmtpConn(daemon.lmtp_port, sock=sock)
    assert c.reply()[0] == 220
    # Commands until neither side's buffers take more: the replies wait.
    sock.setblocking(False)
    sent = 0

    def taken():
        nonlocal sent
        try:
            while sent < 64 << 20:
                sent += sock.send(b"NOOP\r\n" * 4096)
        except BlockingIOError:
            pass
        daemon.sync()
        return sent
    assert wait_until(stalled(taken), 30, interval=0.1)
    assert sent < 64 << 20
    try:
        stop_in_time(daemon)
    finally:
        c.close()


def test_sigterm_with_a_client_stopped_after_its_client_hello(daemon):
    """The server has sent its part of the handshake and waits for the
    client's Finished, which never comes."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    sock = socket.create_connection(("127.0.0.1", daemon.ports["imaps"]),
                                    timeout=10)
    try:
        sock.sendall(outgoing.read())
        assert sock.recv(65536)     # the server's flight, not answered
        assert stop_in_time(daemon, limit=MARGIN) < MARGIN
    finally:
        sock.close()


def test_sigterm_with_a_silent_client_in_idle_over_tls(daemon):
    """A session asleep in IDLE over TLS is told its tagged OK and BYE,
    and goes whether or not the client reads them."""
    port = daemon.ports["imaps"]
    c = ImapConn(port, sock=small_window_socket(port),
                 tls=tls_context(daemon))
    c.login()
    c.select()
    c.send("i IDLE\r\n")
    assert c.line().startswith("+ ")
    daemon.sync()       # asleep: it went to sleep once all was sent
    try:
        assert stop_in_time(daemon, limit=MARGIN) < MARGIN
        assert c.until_tagged("i")[-1] == "i OK Idle completed"
        assert c.line().startswith("* BYE ")
    finally:
        c.close()


def test_a_tls_client_that_says_goodbye_at_once_is_not_kept(daemon):
    """A client that ends its handshake and closes TLS in the same breath
    (mbsync refusing the certificate): its session goes at once, so it
    neither stays open nor holds up the shutdown."""
    ctx = tls_context(daemon)
    for _ in range(5):
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
        sock = socket.create_connection(
            ("127.0.0.1", daemon.ports["imaps"]), timeout=10)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                incoming.write(sock.recv(65536))
        # The client's Finished and its close_notify in one segment.
        try:
            tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        sock.sendall(outgoing.read())
        sock.close()
    assert daemon.wait_metric('sessions_active{service="imap"}', 0, timeout=3), \
        daemon.metric('sessions_active{service="imap"}')
    assert stop_in_time(daemon, limit=MARGIN) < MARGIN
