"""
ESEARCH (RFC 4731): SEARCH and UID SEARCH with RETURN (MIN MAX ALL
COUNT) answer with one ESEARCH response in the RFC's exact forms, on the
mailbox of imap_search_support.py.
"""

import re

from conftest import imap_login
from imap_msg_support import deliver
from imap_search_support import MSGS, prepare


def esearch(c, tag, command):
    got = c.run(tag, command)
    assert len(got) == 2, got
    assert got[1] == tag.encode() + b" OK %s completed" % (
        b"UID SEARCH" if command.startswith("UID ") else b"SEARCH"), got
    return got[0].decode()


def test_capability(daemon):
    c = prepare(daemon)
    caps = c.run("c", "CAPABILITY")[0].split()
    assert b"ESEARCH" in caps


def test_return_options(daemon):
    # Messages 2, 4, 5 and 6 are unseen; 3 is the only deleted one.
    c = prepare(daemon)
    for tag, program, reply in [
            ("A282", "RETURN (MIN COUNT) UNSEEN", "MIN 2 COUNT 4"),
            ("A283", "RETURN () UNSEEN", "ALL 2,4:6"),
            ("A284", "RETURN (MIN MAX) UNSEEN", "MIN 2 MAX 6"),
            ("a1", "RETURN (all) 1:*", "ALL 1:6"),
            ("a2", "RETURN (MIN MAX ALL COUNT) DELETED",
             "MIN 3 MAX 3 ALL 3 COUNT 1"),
            ("a3", "RETURN (COUNT) CHARSET UTF-8 FROM alice", "COUNT 1"),
            ("a4", "RETURN (ALL) OR SEEN FLAGGED", "ALL 1:3")]:
        assert esearch(c, tag, "SEARCH " + program) == (
            '* ESEARCH (TAG "%s") %s' % (tag, reply)), program


def test_nothing_found(daemon):
    """MIN, MAX and ALL are left out when nothing matched; COUNT is 0."""
    c = prepare(daemon)
    assert esearch(c, "e1", "SEARCH RETURN (MIN MAX ALL) NEW") == (
        '* ESEARCH (TAG "e1")')
    assert esearch(c, "e2", "SEARCH RETURN (MIN COUNT) NEW") == (
        '* ESEARCH (TAG "e2") COUNT 0')
    assert esearch(c, "e3", "UID SEARCH RETURN () NEW") == (
        '* ESEARCH (TAG "e3") UID')


def test_uid_search(daemon):
    """UID SEARCH says UID and answers with UIDs."""
    c = prepare(daemon)
    assert c.run("x", "EXPUNGE") == [b"* 3 EXPUNGE", b"x OK EXPUNGE completed"]
    # Now UIDs 1 2 4 5 6 are sequence numbers 1 to 5.
    assert esearch(c, "A285", "UID SEARCH RETURN (MIN MAX) 1:5000") == (
        '* ESEARCH (TAG "A285") UID MIN 1 MAX 6')
    assert esearch(c, "u1", "UID SEARCH RETURN () 2:*") == (
        '* ESEARCH (TAG "u1") UID ALL 2,4:6')
    assert esearch(c, "u2", "UID SEARCH RETURN (COUNT MIN) UNSEEN") == (
        '* ESEARCH (TAG "u2") UID MIN 2 COUNT 4')
    assert esearch(c, "u3", "SEARCH RETURN (ALL) 2:*") == (
        '* ESEARCH (TAG "u3") ALL 2:5')
    # A plain SEARCH is answered as before.
    assert c.run("p", "UID SEARCH UNSEEN") == [
        b"* SEARCH 2 4 5 6", b"p OK UID SEARCH completed"]


def test_bad_return_options(daemon):
    c = prepare(daemon)
    for i, (program, reply) in enumerate([
            ("RETURN (PARTIAL 1:5) ALL", b"BAD Unknown RETURN option"),
            ("RETURN (MIN", None),
            ("RETURN MIN ALL", b"BAD RETURN needs a list of options"),
            ("RETURN", b"BAD RETURN needs a list of options"),
            ("RETURN ()", b"BAD Empty search program"),
            ("CHARSET UTF-8 RETURN (MIN) ALL", b"BAD Unknown search key")]):
        tag = "b%d" % i
        got = c.run(tag, "SEARCH " + program)
        assert len(got) == 1, (program, got)
        if reply is None:
            assert got[0].startswith(tag.encode() + b" BAD "), got
        else:
            assert got[0] == tag.encode() + b" " + reply, (program, got)
    assert c.run("k", "SEARCH RETURN (COUNT) CHARSET KOI8-R ALL") == [
        b"k NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"]


def test_imaplib_esearch(daemon):
    deliver(daemon, MSGS)
    m = imap_login(daemon)
    m.select("INBOX")
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)",
                                  "SUBJECT", "lunch")
    assert typ == "OK", data
    got = m.untagged_responses.pop("ESEARCH")
    assert len(got) == 1 and re.fullmatch(
        rb'\(TAG "[A-Z]+\d+"\) MIN 1 MAX 4 COUNT 2', got[0]), got
    m.logout()
