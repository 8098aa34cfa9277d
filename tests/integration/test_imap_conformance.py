"""
RFC conformance of the IMAP server as a client sees it, one test per
defect that was fixed: "[" and "]" in unquoted astrings (RFC 3501 9),
NIL as a flag keyword.
imaplib where a real client's view matters, raw lines where the bytes
do.
"""

from conftest import imap_login, make_message


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
    any other keyword the store does not keep, never as BAD."""
    daemon.deliver([make_message("one")])
    m = imap_login(daemon)
    try:
        assert m.select("INBOX")[0] == "OK"
        assert m.store("1", "+FLAGS", "(\\Seen $Junk)") == (
            "OK", [b"1 (FLAGS (\\Seen))"])
        assert m.store("1", "+FLAGS", "(NIL)") == (
            "OK", [b"1 (FLAGS (\\Seen))"])
        assert m.store("1", "+FLAGS", "NIL") == (
            "OK", [b"1 (FLAGS (\\Seen))"])
        assert m.store("1", "FLAGS", "(\\Flagged nil)") == (
            "OK", [b"1 (FLAGS (\\Flagged))"])
        assert m.store("1", "-FLAGS", "NIL") == (
            "OK", [b"1 (FLAGS (\\Flagged))"])
        assert m.search(None, "KEYWORD", "NIL") == ("OK", [b""])
        assert m.search(None, "UNKEYWORD", "NIL") == ("OK", [b"1"])
        assert m.search(None, "KEYWORD", "$Junk") == ("OK", [b""])
    finally:
        m.logout()
