"""
Helpers for the message-command tests (test_imap_fetch.py,
test_imap_search.py, test_imap_store_copy.py): a raw IMAP connection
logged in, LMTP delivery of several messages in one session, and the
stored form of a delivered message.
"""

SENDER = "s@example.net"


def raw(daemon, user="alice"):
    """A raw connection, logged in."""
    c = daemon.imap()
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
