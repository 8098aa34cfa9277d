"""
Helpers for the message-command tests (test_imap_fetch.py,
test_imap_search.py, test_imap_store_copy.py): LMTP delivery of several
messages in one session, a session that takes \\Recent before the
test's own, and the stored form of a delivered message; for the flag
tests (test_imap_keywords.py, test_imap_forwarded.py) imaplib's OK data,
numbered test messages and the info letters of a Maildir file name; for
the CONDSTORE and QRESYNC tests a tagged OK and the numbers of response
codes.
"""

import re

from conftest import imap_raw_login, make_message

SENDER = "s@example.net"


def deliver(daemon, msgs, rcpt="alice@example.org"):
    """Deliver each message (bytes) in one LMTP session, in order; they
    get consecutive UIDs."""
    daemon.deliver(msgs, rcpt, sender=SENDER)


def seen_before(daemon, folder="INBOX", user="alice"):
    """A session selects folder and logs out, taking \\Recent from its
    messages (RFC 3501 2.3.2), so later sessions see them as the RFC's
    examples show messages: without \\Recent."""
    c = imap_raw_login(daemon, user)
    assert c.run("sb", "SELECT " + folder)[-1].startswith(b"sb OK")
    c.run("lo", "LOGOUT")
    c.close()


def stored(msg, rcpt="alice@example.org"):
    """The message as mailbell stores it: the LMTP trace lines first."""
    return (b"Return-Path: <%s>\r\nDelivered-To: %s\r\n" %
            (SENDER.encode(), rcpt.encode())) + msg


def ok(result):
    """The data of an imaplib result that must be OK."""
    typ, data = result
    assert typ == "OK", (typ, data)
    return data


def deliver_numbered(daemon, count):
    """Deliver count messages "m0", "m1", ... in one LMTP session."""
    deliver(daemon, [make_message("m%d" % i) for i in range(count)])


def info(path):
    """The info letters of a Maildir file name ("" without ":2,")."""
    return path.name.split(":2,")[1] if ":2," in path.name else ""


def tagged_ok(lines, tag):
    """Raw responses (bytes) that must end in tag's OK; returns them."""
    assert lines[-1].startswith(tag.encode() + b" OK"), lines
    return lines


def code_number(lines, name):
    """The number of the first "[name n]" response code in lines."""
    for line in lines:
        m = re.search(rb"\[%s (\d+)\]" % name.encode(), line)
        if m:
            return int(m.group(1))
    raise AssertionError(lines)


def highest(lines):
    """The HIGHESTMODSEQ of a SELECT's or STATUS's responses."""
    return code_number(lines, "HIGHESTMODSEQ")
