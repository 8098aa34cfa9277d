"""
The protocol clients every integration test talks to mailbelld with: a
raw LMTP client and a raw IMAP client (exact bytes out, exact lines or
whole responses with their literals in), both on one line-reading socket,
with imap_raw_login for a raw session logged in, and imaplib sessions
(imaplib_connect, imap_login) for the tests that want a real client's
view.
conftest.py re-exports all of it; tests import from conftest.
"""

import imaplib
import re
import socket
import time

# The password conftest's Daemon.add_user gives every test user.
PASSWORD = "secret-" + "pw"
# How long an imaplib session waits for any one answer (a bound for a
# failing test only: room for a loaded sanitizer build).
IMAPLIB_TIMEOUT = 15.0

LITERAL_RE = re.compile(rb"\{(\d+)\}\r\n$")


class LineConn:
    """A TCP connection to 127.0.0.1 read through a buffered file. With
    tls (an ssl.SSLContext) the connection starts with the handshake, the
    certificate checked for server_hostname; sock is a connected socket
    to use instead of making one."""

    def __init__(self, port, timeout=10.0, source=None, tls=None,
                 server_hostname="localhost", sock=None):
        """source: the local address to connect from (any 127.0.0.N
        reaches the daemon, each a client address of its own)."""
        self.sock = sock if sock is not None else socket.create_connection(
            ("127.0.0.1", port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock,
                                        server_hostname=server_hostname)
        self.file = self.sock.makefile("rb")

    def starttls(self, tls, server_hostname="localhost"):
        """Begin TLS on this connection (after the server's go-ahead,
        which is the last thing it sends in clear: the file has read
        nothing beyond it)."""
        self.file.close()
        self.sock = tls.wrap_socket(self.sock,
                                    server_hostname=server_hostname)
        self.file = self.sock.makefile("rb")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def closed(self, timeout=5.0):
        """True if the server closes the connection within timeout
        (anything it still sends before closing is discarded)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.file.read1(65536):
                    return True
        except ConnectionResetError:
            return True
        except (socket.timeout, OSError):
            return False
        return False

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LmtpConn(LineConn):
    """A raw LMTP client: exact bytes out, exact replies in."""

    def reply(self):
        """One (possibly multi-line) reply: (code, [lines]). (None, [])
        if the server closed the connection."""
        lines = []
        for _ in range(1000):
            raw = self.file.readline(65536)
            if not raw:
                return (None, lines)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                try:
                    return (int(line[:3]), lines)
                except ValueError:
                    return (-1, lines)
        raise AssertionError("reply longer than 1000 lines")

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()


class ImapConn(LineConn):
    """A raw IMAP client: exact bytes out, and in either text lines
    (line, cmd) or whole responses as bytes with their literal data
    inline (response, run: "* 1 FETCH (BODY[] {5}\\r\\nhello)", CR LF of
    the last line removed)."""

    def __init__(self, port, timeout=10.0, greeting=True, source=None,
                 **kw):
        super().__init__(port, timeout, source, **kw)
        self.greeting = self.line() if greeting else None

    # ---- text lines ----

    def line(self):
        """One response line without CR LF; None at EOF."""
        raw = self.file.readline(1 << 20)
        if not raw:
            return None
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def until_tagged(self, tag):
        """Lines up to and including the one tagged tag."""
        lines = []
        while True:
            line = self.line()
            assert line is not None, "closed before %s; got %r" % (tag,
                                                                   lines)
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, tag, text):
        self.send("%s %s\r\n" % (tag, text))
        return self.until_tagged(tag)

    def login(self, user="alice", password=PASSWORD):
        lines = self.cmd("L", "LOGIN %s %s" % (user, password))
        assert lines[-1].startswith("L OK"), lines
        return lines

    # ---- whole responses, literals byte-exact ----

    def response(self):
        """One response as bytes, literals inline; None at EOF."""
        out = b""
        while True:
            raw = self.file.readline(1 << 24)
            if not raw:
                return out or None
            m = LITERAL_RE.search(raw)
            if m:
                out += raw
                n = int(m.group(1))
                data = self.file.read(n)
                assert len(data) == n, "short literal"
                out += data
                continue
            return out + raw.rstrip(b"\r\n")

    def run(self, tag, text):
        """Send one command; the responses up to its tagged one."""
        if isinstance(text, str):
            text = text.encode()
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        got = []
        while True:
            r = self.response()
            assert r is not None, "closed before %s; got %r" % (tag, got)
            got.append(r)
            if r.startswith(tag.encode() + b" "):
                return got

    def select(self, mailbox="INBOX", examine=False):
        lines = self.run("sel", "%s %s" % ("EXAMINE" if examine
                                           else "SELECT", mailbox))
        assert lines[-1].startswith(b"sel OK"), lines
        return lines

    def uidvalidity(self, mailbox="INBOX"):
        lines = self.run("st", "STATUS %s (UIDVALIDITY)" % mailbox)
        m = re.search(rb"UIDVALIDITY (\d+)", lines[0])
        assert m, lines
        return int(m.group(1))


def _imap_port(daemon):
    return daemon if isinstance(daemon, int) else daemon.ports["imap"]


def imaplib_connect(daemon, timeout=IMAPLIB_TIMEOUT):
    """An imaplib session, not logged in; daemon is a Daemon or the
    IMAP port."""
    return imaplib.IMAP4("127.0.0.1", _imap_port(daemon), timeout=timeout)


def imap_raw_login(daemon, user="alice", password=PASSWORD, timeout=10.0):
    """A raw IMAP connection (ImapConn), greeting read and logged in as
    user; daemon is a Daemon or the IMAP port."""
    c = ImapConn(_imap_port(daemon), timeout)
    c.login(user, password)
    return c


def imap_login(daemon, user="alice", password=PASSWORD,
               timeout=IMAPLIB_TIMEOUT):
    """An imaplib session logged in as user; daemon is a Daemon or the
    IMAP port."""
    m = imaplib_connect(daemon, timeout)
    m.login(user, password)
    return m
