"""
Hostile and broken LMTP clients: each gets 500-series replies (or a 421
and a closed connection after too many errors), and a well-behaved
session opened before the abuse still delivers afterwards.
"""

import socket

import pytest

from conftest import LmtpConn, assert_prefixed, make_message, wait_until

LINE_MAX = 1024           # LMTP_LINE_MAX
DATA_LINE_MAX = 64 * 1024  # LMTP_DATA_LINE_MAX
ERRORS_MAX = 10           # LMTP_ERRORS_MAX


def deliver_on(conn, daemon, user, subject):
    """Deliver one message on an open session; assert it is stored."""
    before = len(daemon.message_files(user))
    body = make_message(subject)
    assert conn.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert conn.cmd("RCPT TO:<%s@example.org>" % user)[0] == 250
    assert conn.cmd("DATA")[0] == 354
    conn.send(body + b".\r\n")
    code, lines = conn.reply()
    assert code == 250, lines
    msgs = daemon.wait_messages(user, before + 1)
    assert len(msgs) == before + 1
    assert any(m.endswith(body) for m in msgs)


@pytest.fixture
def bystander(daemon):
    """A healthy session opened before the abuse starts."""
    conn = daemon.lmtp()
    assert conn.cmd("LHLO bystander.example.net")[0] == 250
    yield conn
    conn.close()


def assert_5xx(reply):
    code, lines = reply
    assert code is not None, "connection closed without a reply"
    assert 500 <= code <= 599, lines
    assert lines[-1][3] == " " and lines[-1][4] == "5", lines


def session_closes_or_serves(conn):
    """After an error the session either still answers NOOP with 250, or
    was closed after a 421. Returns "serves" or "closed"."""
    code, lines = conn.cmd("NOOP")
    if code == 250:
        return "serves"
    assert code in (421, None), lines
    assert conn.closed()
    return "closed"


def test_garbage_command(daemon, bystander):
    with daemon.lmtp() as c:
        assert_5xx(c.cmd("\x01\x02\x7f garbage \xff"))
        code, lines = c.cmd("FROBNICATE now")
        assert code == 500 and lines[-1].startswith("500 5.5."), lines
        assert session_closes_or_serves(c) == "serves"
    deliver_on(bystander, daemon, "alice", "after garbage")


def test_overlong_command_line(daemon, bystander):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        c.send(b"MAIL FROM:<" + b"a" * (2 * LINE_MAX) + b"@example.net>\r\n")
        code, lines = c.reply()
        assert code == 500, lines
        assert lines[-1].startswith("500 5.5."), lines
        state = session_closes_or_serves(c)
        if state == "serves":
            # The overlong line must not have started a transaction.
            code, lines = c.cmd("RCPT TO:<alice@example.org>")
            assert code == 503, lines
    deliver_on(bystander, daemon, "alice", "after overlong command")


def test_endless_command_line_without_newline(daemon, bystander):
    with daemon.lmtp() as c:
        # 256 KiB before the line end: the server must not buffer it all,
        # and it answers 5xx (or closes) rather than run the command.
        chunk = b"N" * 4096
        try:
            for _ in range(64):
                c.send(chunk)
            c.send(b"\r\n")
            code, lines = c.reply()
        except (BrokenPipeError, ConnectionResetError):
            code, lines = None, []
        assert code is None or code == 421 or 500 <= code <= 599, lines
    deliver_on(bystander, daemon, "alice", "after endless line")
    assert daemon.alive()


def test_huge_line_in_data(daemon, bystander):
    # One body line longer than the data line limit but within SIZE.
    body = make_message("huge line", "x" * (DATA_LINE_MAX + 1000) + "\r\n")
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        code, lines = c.reply()
        # Refused (5xx for the recipient), never half stored.
        assert code is not None and 500 <= code <= 599, lines
    # Once the queue is idle, nothing of the refused message can still
    # be on its way to disk.
    assert daemon.wait_idle()
    assert daemon.message_files("bob") == []
    assert daemon.tmp_files("bob") == []
    deliver_on(bystander, daemon, "alice", "after huge data line")


def test_nul_bytes_in_commands(daemon, bystander):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert_5xx(c.cmd("NO\x00OP"))
        code, lines = c.cmd("MAIL FROM:<sen\x00der@example.net>")
        assert_5xx((code, lines))
        if session_closes_or_serves(c) == "serves":
            assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
            code, lines = c.cmd("RCPT TO:<ali\x00ce@example.org>")
            assert_5xx((code, lines))
    assert daemon.message_files("alice") == []
    deliver_on(bystander, daemon, "alice", "after NUL bytes")


def test_http_request_on_lmtp_port(daemon, bystander):
    with daemon.lmtp() as c:
        c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
        code, lines = c.reply()
        # A 421 and a close at once, or 5xx replies until the error limit
        # closes it: a client speaking HTTP is disconnected either way.
        assert code == 421 or 500 <= code <= 599, lines
        for _ in range(5):
            if code == 421:
                break
            try:
                code, lines = c.reply()
            except socket.timeout:
                break
            if code is None:
                break
            assert code == 421 or 500 <= code <= 599, lines
        assert c.closed(), "LMTP session still open after an HTTP request"
    deliver_on(bystander, daemon, "alice", "after HTTP request")


def test_http_post_on_lmtp_port(daemon, bystander):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        c.send(b"POST /upload HTTP/1.0\r\nContent-Length: 5\r\n\r\n"
               b"hello")
        code, lines = c.reply()
        assert code == 421 or 500 <= code <= 599, lines
        assert c.closed(timeout=10), "session open after an HTTP POST"
    deliver_on(bystander, daemon, "alice", "after HTTP POST")


def test_nul_byte_in_data_refused(daemon, bystander):
    body = make_message("nul", "before\r\nbin\x00ary\r\nafter\r\n")
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        replies = [c.reply(), c.reply()]
        for r in replies:
            assert_5xx(r)
        assert c.cmd("NOOP")[0] == 250
    assert daemon.wait_idle()
    for user in ("alice", "bob"):
        assert daemon.message_files(user) == [], user
        assert daemon.tmp_files(user) == [], user
    deliver_on(bystander, daemon, "alice", "after NUL in DATA")


@pytest.mark.parametrize("fake_end", [b"\n.\r\n", b"\r\n.\n", b"\n.\n",
                                      b"\r.\r\n"])
def test_smtp_smuggling_is_one_message(daemon, bystander, fake_end):
    """Only CRLF.CRLF ends DATA: a fake end followed by a whole second
    transaction is one message (refused if it holds a bare LF), never
    two, and no reply for the smuggled transaction ever comes."""
    smuggled = (b"MAIL FROM:<evil@x>\r\nRCPT TO:<alice@example.org>\r\n"
                b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
    body = make_message("carrier", "line") + fake_end + smuggled
    bare_lf = b"\n" in fake_end.replace(b"\r\n", b"")
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body)
        code, lines = c.reply()
        if bare_lf:
            assert code == 550, lines
            assert lines[-1].startswith("550 5.6.0 "), lines
            assert "bare LF" in lines[-1], lines
        else:
            assert code == 250, lines
        # The session is back at the start of a transaction: the next
        # reply is the NOOP's, not one for the smuggled commands.
        code, lines = c.cmd("NOOP")
        assert code == 250 and lines[-1].startswith("250 2.0.0"), lines
    assert daemon.wait_idle()
    assert daemon.message_files("alice") == []
    assert daemon.tmp_files("alice") == []
    bob = daemon.messages("bob")
    if bare_lf:
        assert bob == [] and daemon.tmp_files("bob") == []
    else:
        assert len(bob) == 1
        assert bob[0].endswith(b"line" + fake_end + smuggled[:-3])
    deliver_on(bystander, daemon, "alice", "after smuggling")


def test_too_many_errors_closes_with_421(daemon, bystander):
    with daemon.lmtp() as c:
        codes = []
        closed = False
        for i in range(ERRORS_MAX + 5):
            try:
                code, lines = c.cmd("BOGUS %d" % i)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if code is None:
                closed = True
                break
            codes.append(code)
            if code == 421:
                assert c.closed()
                closed = True
                break
        assert closed, codes
        assert codes[-1] == 421, codes
        assert all(500 <= x <= 599 for x in codes[:-1]), codes
        assert len(codes) <= ERRORS_MAX + 1, codes
    deliver_on(bystander, daemon, "alice", "after error storm")


def test_commands_out_of_sequence(daemon, bystander):
    with daemon.lmtp() as c:
        # Nothing but LHLO may come first.
        code, lines = c.cmd("MAIL FROM:<sender@example.net>")
        assert code == 503 and lines[-1].startswith("503 5.5.1"), lines
        # HELO/EHLO are SMTP, not LMTP (RFC 2033 4.1).
        assert_5xx(c.cmd("EHLO client.example.net"))
        assert c.cmd("LHLO client.example.net")[0] == 250
        code, lines = c.cmd("RCPT TO:<alice@example.org>")
        assert code == 503 and lines[-1].startswith("503 5.5.1"), lines
        code, lines = c.cmd("DATA")
        assert code == 503 and lines[-1].startswith("503 5.5.1"), lines
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        code, lines = c.cmd("MAIL FROM:<sender@example.net>")
        assert code == 503 and lines[-1].startswith("503 5.5.1"), lines
        # DATA without an accepted recipient.
        assert c.cmd("RCPT TO:<nobody@example.org>")[0] == 550
        code, lines = c.cmd("DATA")
        assert code in (503, 554) and lines[-1][4:9] == "5.5.1", lines
        # Syntax errors in arguments are 501.
        code, lines = c.cmd("RCPT TO:<alice@example.org")
        assert code == 501 and lines[-1].startswith("501 5."), lines
    assert daemon.message_files("alice") == []
    deliver_on(bystander, daemon, "alice", "after out of sequence")


def test_disconnect_mid_data_leaves_nothing(daemon, bystander):
    body = make_message("cut off", "partial line one\r\n" * 200)
    c = daemon.lmtp()
    assert c.cmd("LHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(body[: len(body) // 2])
    c.close()
    # Also a hard reset in the middle of DATA.
    c2 = daemon.lmtp()
    assert c2.cmd("LHLO client.example.net")[0] == 250
    assert c2.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c2.cmd("RCPT TO:<alice@example.org>")[0] == 250
    assert c2.cmd("DATA")[0] == 354
    c2.send(body)  # no final dot
    c2.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c2.close()
    # Both cut-off sessions are gone (the bystander's stays) and what
    # they had queued has been undone.
    assert daemon.wait_metric('sessions_active{service="lmtp"}', 1)
    assert daemon.wait_idle()
    for user in ("alice", "bob"):
        assert daemon.message_files(user) == [], user
        assert daemon.tmp_files(user) == [], user
    assert daemon.landed() == []
    deliver_on(bystander, daemon, "bob", "after cut-off DATA")
    assert daemon.tmp_files("alice") == []


def test_many_concurrent_idle_sessions_do_not_block_delivery(daemon):
    conns = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", daemon.lmtp_port),
                                         timeout=10)
            conns.append(s)
        with daemon.lmtp() as c:
            assert c.cmd("LHLO client.example.net")[0] == 250
            deliver_on(c, daemon, "alice", "while others idle")
    finally:
        for s in conns:
            s.close()
    assert wait_until(daemon.alive, 1)


SESSIONS_MAX = 256        # LMTP_SESSIONS_MAX
SESSIONS_PER_IP = 128     # LMTP_SESSIONS_PER_IP


def test_session_limits_refuse_with_421_then_recover(daemon):
    """One address gets at most its share of the sessions, then 421;
    with every session taken, the one idle longest yields (421) to a
    new one instead of everyone being refused."""
    conns = []
    refused = None
    try:
        for _ in range(SESSIONS_PER_IP + 10):
            c = LmtpConn(daemon.lmtp_port, source="127.0.0.1")
            code, lines = c.reply()
            if code != 220:
                refused = (code, lines)
                c.close()
                break
            conns.append(c)
        assert refused is not None, "no refusal after %d sessions" % len(
            conns)
        assert len(conns) == SESSIONS_PER_IP, len(conns)
        assert refused[0] == 421 and refused[1][-1].startswith("421 4."), \
            refused
        assert "from your address" in refused[1][-1], refused
        for _ in range(SESSIONS_MAX - SESSIONS_PER_IP):
            c = LmtpConn(daemon.lmtp_port, source="127.0.0.2")
            assert c.reply()[0] == 220
            conns.append(c)
        # The open sessions still work.
        assert conns[1].cmd("LHLO a.example.net")[0] == 250
        # Full: the next session gets in, the one idle longest yields.
        last = LmtpConn(daemon.lmtp_port, source="127.0.0.3")
        assert last.reply()[0] == 220
        code, lines = conns[0].reply()
        assert code == 421 and "idle" in lines[-1], lines
        assert conns.pop(0).closed()
        conns.append(last)
        assert last.cmd("LHLO b.example.net")[0] == 250
        deliver_on(last, daemon, "alice", "after session limit")
    finally:
        for c in conns:
            c.close()
