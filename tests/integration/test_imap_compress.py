"""
COMPRESS=DEFLATE (RFC 4978) against the real daemon: a client that
deflates its commands with Python's zlib (raw, wbits=-15) and inflates
the responses, as RFC 4978 section 3 has it. Commands pipelined behind
COMPRESS, a large FETCH, IDLE woken while compressed, TLS underneath,
corrupt input, and COMPRESS refused where it must be.
"""

import socket
import ssl
import zlib

import pytest

from conftest import ImapConn, make_message, under_asan

DEFLATE = zlib.Z_SYNC_FLUSH


class Deflated:
    """The same connection after COMPRESS DEFLATE's OK: what is sent is
    deflated and sync flushed, what comes is inflated."""

    def __init__(self, conn):
        self.conn = conn
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inf = zlib.decompressobj(-15)
        self.buf = b""
        self.wire = 0       # compressed bytes received

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.conn.sock.sendall(self.out.compress(data) + self.out.flush(
            DEFLATE))

    def _fill(self):
        # Through the connection's reader: it may hold what came
        # right behind COMPRESS's OK.
        chunk = self.conn.file.read1(65536)
        if not chunk:
            return False
        self.wire += len(chunk)
        self.buf += self.inf.decompress(chunk)
        return True

    def raw_line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def line(self):
        line = self.raw_line()
        return None if line is None else line.decode("utf-8", "replace")

    def read(self, n):
        while len(self.buf) < n:
            assert self._fill(), "closed in a literal"
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd(self, tag, text):
        self.send("%s %s\r\n" % (tag, text))
        lines = []
        while True:
            line = self.line()
            assert line is not None, lines
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def closed(self):
        try:
            while self._fill():
                pass
        except (ConnectionResetError, socket.timeout):
            return False
        return True


def compressed(conn):
    conn.login()
    assert conn.cmd("z", "COMPRESS DEFLATE") == ["z OK DEFLATE active"]
    return Deflated(conn)


def test_capability_advertised(daemon):
    with daemon.imap() as c:
        assert " COMPRESS=DEFLATE" in c.greeting


def test_commands_and_responses_compressed(daemon):
    msg = make_message("compressed", body="Hello, small world.\r\n")
    with daemon.imap() as c:
        z = compressed(c)
        assert z.cmd("a", "NOOP") == ["a OK NOOP completed"]
        z.send("b APPEND INBOX {%d+}\r\n" % len(msg) + msg.decode() +
               "\r\n")
        assert z.line().startswith("b OK [APPENDUID ")
        assert "* 1 EXISTS" in z.cmd("c", "SELECT INBOX")
        z.send("d FETCH 1 BODY.PEEK[]\r\n")
        assert z.line() == "* 1 FETCH (BODY[] {%d}" % len(msg)
        assert z.read(len(msg)) == msg
        assert z.line() == ")"
        assert z.line() == "d OK FETCH completed"
        # Once is enough (RFC 4978 section 3).
        assert z.cmd("e", "COMPRESS DEFLATE") == [
            "e NO [COMPRESSIONACTIVE] DEFLATE is already active"]
        assert z.cmd("f", "LOGOUT") == ["* BYE Logging out",
                                        "f OK Logout completed"]
        assert z.closed()
    assert daemon.metric("imap_compress_total") == 1


def test_command_pipelined_behind_compress(daemon):
    """The client may deflate from the byte after COMPRESS's line: what
    arrived with it is inflated, not read as plain commands."""
    with daemon.imap() as c:
        c.login()
        out = zlib.compressobj(6, zlib.DEFLATED, -15)
        c.send(b"z COMPRESS DEFLATE\r\n" + out.compress(b"a NOOP\r\n") +
               out.flush(DEFLATE))
        assert c.line() == "z OK DEFLATE active"
        z = Deflated(c)
        z.out = out
        assert z.line() == "a OK NOOP completed"
        assert z.cmd("b", "NOOP") == ["b OK NOOP completed"]


def test_large_append_and_fetch_compressed(daemon_factory):
    """More than the input and output queues hold goes both ways whole,
    and smaller on the wire."""
    daemon = daemon_factory(lmtp__max_message_size="4M")
    daemon.add_user("alice")
    body = "".join("line %d of a long message, said again\r\n" % i
                   for i in range(40000))
    msg = make_message("big", body=body)
    assert len(msg) > 1 << 20
    with daemon.imap() as c:
        z = compressed(c)
        z.send(b"a APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
        assert z.line().startswith("a OK [APPENDUID ")
        z.cmd("s", "SELECT INBOX")
        wire = z.wire
        z.send("f FETCH 1 BODY.PEEK[]\r\n")
        assert z.line() == "* 1 FETCH (BODY[] {%d}" % len(msg)
        assert z.read(len(msg)) == msg
        assert z.line() == ")"
        assert z.line() == "f OK FETCH completed"
        assert z.wire - wire < len(msg) // 5


def test_idle_pushed_compressed(daemon):
    """An IDLE session sleeps without its deflater and wakes with a new
    one; the client's inflater sees one stream."""
    with daemon.imap() as c:
        z = compressed(c)
        z.cmd("s", "SELECT INBOX")
        z.send("i IDLE\r\n")
        assert z.line() == "+ idling"
        for n in (1, 2):
            daemon.deliver([make_message("idle %d" % n)])
            c.sock.settimeout(5)
            assert z.line() == "* %d EXISTS" % n
            # new mail is recent in the session that hears of it first
            assert z.line() == "* %d RECENT" % n
        z.send("DONE\r\n")
        assert z.line() == "i OK Idle completed"
        assert z.cmd("f", "FETCH 2 (FLAGS)") == [
            "* 2 FETCH (FLAGS (\\Recent))", "f OK FETCH completed"]


def test_compress_over_tls(daemon):
    ctx = ssl.create_default_context(
        cafile=str(daemon.data_dir / "tls" / "mailbell.crt"))
    with ImapConn(daemon.ports["imaps"], tls=ctx) as c:
        z = compressed(c)
        assert "* 0 EXISTS" in z.cmd("a", "SELECT INBOX")
        z.send("b IDLE\r\n")
        assert z.line() == "+ idling"
        daemon.deliver([make_message("over tls")])
        assert z.line() == "* 1 EXISTS"
        assert z.line() == "* 1 RECENT"
        z.send("DONE\r\n")
        assert z.line() == "b OK Idle completed"
        assert z.cmd("c", "LOGOUT") == ["* BYE Logging out",
                                        "c OK Logout completed"]
        assert z.closed()


def test_corrupt_stream_closes(daemon):
    with daemon.imap() as c:
        compressed(c)
        # BTYPE 11 is reserved (RFC 1951 3.2.3).
        c.send(b"\xff\xff\xff\xff")
        assert c.closed()
    assert "COMPRESS: corrupt compressed data" in daemon.log()
    with daemon.imap() as c:
        c.login()


def test_refused_before_login_and_unknown(daemon):
    with daemon.imap() as c:
        assert c.cmd("a", "COMPRESS DEFLATE") == [
            "a BAD COMPRESS needs a login first"]
        c.login()
        assert c.cmd("b", "COMPRESS LZW") == [
            "b BAD Unknown compression algorithm"]
        assert c.cmd("c", "COMPRESS") == [
            "c BAD COMPRESS takes one algorithm name"]
        assert c.cmd("d", "NOOP") == ["d OK NOOP completed"]


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_idle_sessions_sleep_without_deflater(daemon_factory):
    """A compressed session in IDLE gives up its deflater (64 KiB of
    zlib state) once everything was sent, and keeps only the inflater
    (RFC 4978: the client's window may be 32 KiB)."""
    daemon = daemon_factory(imap__max_connections_per_ip="1000",
                            imap__max_connections_per_user="1000")
    daemon.add_user("alice")
    pid = daemon.proc.pid
    if under_asan(pid):
        pytest.skip("AddressSanitizer keeps freed memory")
    conns = []
    try:
        # Warm up: the first sessions grow the heap for everyone.
        for n in range(250):
            if n == 50:
                base = vm_rss_kib(pid)
            c = daemon.imap()
            conns.append(c)
            z = compressed(c)
            z.cmd("s", "SELECT INBOX")
            z.send("i IDLE\r\n")
            assert z.line() == "+ idling"
        # Each session went to sleep once its "+ idling" was sent.
        daemon.sync()
        per_session = (vm_rss_kib(pid) - base) / 200
        # About 30 KiB asleep; a kept deflater makes it about 50.
        assert per_session < 42, per_session
    finally:
        for c in conns:
            c.close()
