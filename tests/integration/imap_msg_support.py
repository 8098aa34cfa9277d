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
    daemon.deliver(msgs, rcpt, sender=SENDER)


def stored(msg, rcpt="alice@example.org"):
    """The message as mailbell stores it: the LMTP trace lines first."""
    return (b"Return-Path: <%s>\r\nDelivered-To: %s\r\n" %
            (SENDER.encode(), rcpt.encode())) + msg
