"""
Helpers for the message-command tests (test_imap_fetch.py,
test_imap_search.py, test_imap_store_copy.py): a raw IMAP client that
reads literals byte-exact, LMTP delivery of several messages in one
session, and the stored form of a delivered message.
"""

import re

from test_imap_session import (ImapConn, PASSWORD, client,  # noqa: F401
                               imap_port)

LITERAL_RE = re.compile(rb"\{(\d+)\}\r\n$")
SENDER = "s@example.net"


class RawImap(ImapConn):
    """ImapConn that returns whole responses as bytes, literal data
    inline ("* 1 FETCH (BODY[] {5}\\r\\nhello)"), CR LF of the last line
    removed."""

    def response(self):
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


def raw(daemon, user="alice"):
    """A raw connection, logged in."""
    c = RawImap(imap_port(daemon))
    c.login(user)
    return c


def deliver(daemon, msgs, rcpt="alice@example.org"):
    """Deliver each message (bytes) in one LMTP session, in order; they
    get consecutive UIDs."""
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.test")[0] == 250
        for msg in msgs:
            assert c.cmd("MAIL FROM:<%s>" % SENDER)[0] == 250
            assert c.cmd("RCPT TO:<%s>" % rcpt)[0] == 250
            assert c.cmd("DATA")[0] == 354
            data = msg if msg.endswith(b"\r\n") else msg + b"\r\n"
            # Dot-stuffing: no test message has a line starting with ".".
            c.send(data + b".\r\n")
            assert c.reply()[0] == 250


def stored(msg, rcpt="alice@example.org"):
    """The message as mailbell stores it: the LMTP trace lines first."""
    return (b"Return-Path: <%s>\r\nDelivered-To: %s\r\n" %
            (SENDER.encode(), rcpt.encode())) + msg
