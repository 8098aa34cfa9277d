"""
BINARY (RFC 3516) against the real daemon: APPEND takes a literal8
("~{n}") message and refuses one holding a NUL with [UNKNOWN-CTE].
"""


def test_append_literal8(daemon):
    """RFC 3516 4.4: text that needs no encoding is stored as any
    message; a NUL is refused with [UNKNOWN-CTE], since BODY[] could not
    send it back in a literal. Nothing of the refused one is kept."""
    msg = b"Subject: eight\r\n\r\nno NUL here\r\n"
    with daemon.imap() as c:
        c.login()
        c.send(b"a APPEND INBOX ~{%d}\r\n" % len(msg))
        assert c.line() == "+ Ready for literal data"
        c.send(msg + b"\r\n")
        line = c.line()
        assert line.startswith("a OK [APPENDUID ") and \
            line.endswith(" 1] Append completed"), line
        c.send(b"b APPEND INBOX (\\Seen) ~{4+}\r\nx\x00y\n\r\n")
        assert c.line() == ("b NO [UNKNOWN-CTE] Binary content cannot be "
                            "stored; send it encoded")
        # A literal8 is no string: not a mailbox name, for one.
        c.send(b"c STATUS ~{5+}\r\nINBOX (MESSAGES UIDNEXT)\r\n")
        assert c.line().startswith("c BAD ")
        assert c.cmd("d", "STATUS INBOX (MESSAGES UIDNEXT)") == [
            "* STATUS INBOX (MESSAGES 1 UIDNEXT 2)",
            "d OK Status completed"]
        c.select()
        assert c.run("f", "FETCH 1 BODY.PEEK[]") == [
            b"* 1 FETCH (BODY[] {%d}\r\n" % len(msg) + msg + b")",
            b"f OK FETCH completed"]
