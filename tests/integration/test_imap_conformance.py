"""
RFC conformance of the IMAP server as a client sees it, one test per
defect that was fixed: "[" and "]" in unquoted astrings (RFC 3501 9),
NIL as a flag keyword, RFC 2971's largest ID before login, nothing
after LOGOUT's BYE, and EXPUNGEISSUED (RFC 5530) for FETCH and SEARCH of
messages another session expunged.
imaplib where a real client's view matters, raw lines where the bytes
do.
"""

import imaplib

from conftest import PASSWORD, imap_login, imaplib_connect, make_message
from imap_msg_support import seen_before

# RFC 2971 3.3: at most 30 pairs, fields of 30 octets, values of 1024
# (IMAP_ID_PAIRS_MAX, IMAP_ID_FIELD_MAX, IMAP_ID_VALUE_MAX).
ID_PAIRS, ID_FIELD, ID_VALUE = 30, 30, 1024
# The pre-login allowance for ID (IMAP_ID_LINE_MAX_PRELOGIN).
ID_LINE_MAX_PRELOGIN = 8192 + ID_PAIRS * (ID_FIELD + ID_VALUE + 6)


def id_list(value_len=ID_VALUE):
    return "(%s)" % " ".join(
        '"%s" "%s"' % (("%02d" % i).ljust(ID_FIELD, "f"), "v" * value_len)
        for i in range(ID_PAIRS))


def test_brackets_in_unquoted_astrings(daemon):
    """RFC 3501 9: "[" is an ATOM-CHAR and "]" an ASTRING-CHAR, so a
    mailbox name, a LIST pattern, a search string and a password may
    hold them unquoted. Only FETCH's BODY[...] and BINARY[...] take a
    section."""
    daemon.add_user("carol", "pa[ss]")
    with daemon.imap() as c:
        # imaplib quotes passwords; other clients do not need to.
        assert c.cmd("a", "LOGIN carol pa[ss]")[-1].startswith("a OK")
    daemon.deliver([make_message("see x[y here")])
    m = imap_login(daemon)
    try:
        # imaplib sends these arguments as they are, unquoted.
        assert m.create("a[b")[0] == "OK"
        typ, data = m.list('""', "a[%")
        assert typ == "OK" and data == [b'(\\HasNoChildren) "." a[b'], \
            data
        assert m.select("a[b")[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        assert m.search(None, "SUBJECT", "x[y") == ("OK", [b"1"])
        assert m.search(None, "SUBJECT", "x]y") == ("OK", [b""])
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK" and data[0][1] == b"Subject: see x[y here\r\n\r\n"
    finally:
        m.logout()


def test_nil_is_a_flag_keyword(daemon):
    """NIL is an atom, so where a flag is expected it is the keyword
    NIL (RFC 3501 flag-keyword): STORE and SEARCH KEYWORD treat it as
    any other keyword, never as BAD."""
    daemon.deliver([make_message("one")])
    seen_before(daemon)
    m = imap_login(daemon)
    try:
        assert m.select("INBOX")[0] == "OK"
        assert m.store("1", "+FLAGS", "(\\Seen $Junk)") == (
            "OK", [b"1 (FLAGS (\\Seen $Junk))"])
        assert m.store("1", "+FLAGS", "(NIL)") == (
            "OK", [b"1 (FLAGS (\\Seen $Junk NIL))"])
        assert m.store("1", "-FLAGS", "NIL") == (
            "OK", [b"1 (FLAGS (\\Seen $Junk))"])
        assert m.store("1", "+FLAGS", "NIL") == (
            "OK", [b"1 (FLAGS (\\Seen $Junk NIL))"])
        assert m.search(None, "KEYWORD", "NIL") == ("OK", [b"1"])
        assert m.store("1", "FLAGS", "(\\Flagged nil)") == (
            "OK", [b"1 (FLAGS (\\Flagged NIL))"])
        assert m.store("1", "-FLAGS", "NIL") == (
            "OK", [b"1 (FLAGS (\\Flagged))"])
        assert m.search(None, "KEYWORD", "NIL") == ("OK", [b""])
        assert m.search(None, "UNKEYWORD", "NIL") == ("OK", [b"1"])
        assert m.search(None, "KEYWORD", "$Junk") == ("OK", [b""])
    finally:
        m.logout()


def test_largest_id_before_login(daemon, monkeypatch):
    """RFC 2971's largest ID (30 pairs, 1024-octet values, about 32 KB)
    is answered before login, though a pre-login line is otherwise at
    most 8192 bytes; ID has a bound of its own."""
    # imaplib knows no ID: allow it in every state, for this test only.
    monkeypatch.setitem(imaplib.Commands, "ID",
                        ("NONAUTH", "AUTH", "SELECTED"))
    m = imaplib_connect(daemon)
    try:
        typ, data = m.xatom("ID", id_list())
        assert typ == "OK", (typ, data)
        assert m.untagged_responses.pop("ID") == [b'("name" "mailbell")']
        m.login("alice", PASSWORD)
        assert m.xatom("ID", id_list())[0] == "OK"
    finally:
        m.logout()
    with daemon.imap() as c:
        # Other commands keep the pre-login line limit.
        c.send("a NOOP %s\r\n" % id_list())
        line = c.line()
        assert line.startswith("a BAD Command line too long"), line
        # ID beyond its allowance is refused, and the session goes on.
        longer = "b ID %s\r\n" % id_list(ID_VALUE + 300)
        assert len(longer) > ID_LINE_MAX_PRELOGIN
        c.send(longer)
        line = c.line()
        assert line.startswith("b BAD Command line too long"), line
        assert c.cmd("c", "ID NIL") == ['* ID ("name" "mailbell")',
                                        "c OK ID completed"]


def test_nothing_follows_logout_bye(daemon):
    """RFC 3501 6.1.3 and 7.1.5: LOGOUT's BYE is followed by the tagged
    OK alone. Changes another session made meanwhile (an expunge, a flag,
    a delivery) are not reported after it."""
    daemon.deliver([make_message("one"), make_message("two")])
    with daemon.imap() as a:
        a.login()
        a.select()
        b = imap_login(daemon)
        try:
            assert b.select("INBOX")[0] == "OK"
            assert b.store("1", "+FLAGS", "(\\Deleted)")[0] == "OK"
            assert b.expunge() == ("OK", [b"1"])
            assert b.store("1", "+FLAGS", "(\\Seen)")[0] == "OK"
        finally:
            b.logout()
        daemon.deliver([make_message("three")])
        a.send("z LOGOUT\r\n")
        got = []
        while True:
            line = a.line()
            if line is None:
                break
            got.append(line)
        assert got == ["* BYE Logging out", "z OK Logout completed"], got


def expunge_issued(m):
    """How many EXPUNGEISSUED codes m was sent since last asked."""
    return sum(1 for d in m.response("EXPUNGEISSUED")[1] if d is not None)


def test_fetch_and_search_of_messages_expunged_elsewhere(daemon):
    """A message another session expunged, before this session was
    told: FETCH answers for the others and ends in NO [EXPUNGEISSUED]
    (RFC 2180 4.1.2); SEARCH that needs the message's file answers for
    the others with OK [EXPUNGEISSUED] (RFC 5530's example). What the
    session's own view holds (flags, UIDs) still answers plainly."""
    daemon.deliver([make_message("m%d" % i, "body %d\r\n" % i)
                    for i in (1, 2, 3)])
    a = imap_login(daemon)
    b = imap_login(daemon)
    try:
        assert a.select("INBOX")[0] == "OK"
        assert b.select("INBOX")[0] == "OK"
        assert b.store("2", "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert b.expunge() == ("OK", [b"2"])

        assert a.fetch("1:3", "(BODY.PEEK[TEXT])") == (
            "NO", [b"[EXPUNGEISSUED] Some messages were expunged"])
        assert expunge_issued(a) == 1
        typ, data = a.response("FETCH")
        assert [d for d in data if isinstance(d, tuple)] == [
            (b"1 (BODY[TEXT] {8}", b"body 1\r\n"),
            (b"3 (BODY[TEXT] {8}", b"body 3\r\n")], data

        assert a.search(None, "BODY", "body") == ("OK", [b"1 3"])
        assert expunge_issued(a) == 1
        assert a.search(None, "LARGER", "1") == ("OK", [b"1 3"])
        assert expunge_issued(a) == 1

        # Flags and UIDs are in the session's view: no file is needed.
        assert a.search(None, "UNSEEN") == ("OK", [b"1 2 3"])
        assert expunge_issued(a) == 0

        # UID SEARCH may report the expunge (RFC 3501 7.4.1), after
        # which the numbers shift and all is plain.
        assert a.uid("SEARCH", "SUBJECT", "m") == ("OK", [b"1 3"])
        assert expunge_issued(a) == 1
        assert a.response("EXPUNGE") == ("EXPUNGE", [b"2"])
        assert a.search(None, "BODY", "body") == ("OK", [b"1 2"])
        assert expunge_issued(a) == 0
    finally:
        a.logout()
        b.logout()
