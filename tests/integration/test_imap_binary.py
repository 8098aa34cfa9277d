"""
BINARY (RFC 3516) against the real daemon: FETCH BINARY[part] gives a
part's content with its transfer encoding undone, as literal8 ("~{n}")
when it holds a NUL; BINARY.SIZE gives its size, BINARY.PEEK leaves
\\Seen alone, and an encoding mailbell cannot undo is NO [UNKNOWN-CTE].
APPEND takes a literal8 message and refuses one holding a NUL.
"""

import base64

BLOB = bytes(range(256)) * 3          # NULs and every other byte
TEXT = ("Caf\u00e9 cr\u00e8me, a long line that quoted-printable wraps "
        "at seventy-six characters for sure.\r\nSecond line.").encode()


def mime_message():
    qp = ("Caf=C3=A9 cr=C3=A8me, a long line that quoted-printable wraps =\r\n"
          "at seventy-six characters for sure.\r\nSecond line.\r\n")
    b64 = base64.encodebytes(BLOB).decode().replace("\n", "\r\n")
    return ("From: a@example.org\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp +
            "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64 +
            "--b\r\nContent-Type: text/plain\r\n\r\nplain 7bit\r\n"
            "--b\r\nContent-Type: application/x-thing\r\n"
            "Content-Transfer-Encoding: x-unheard-of\r\n\r\nzzz\r\n"
            "--b\r\nContent-Type: text/plain\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            "aGVsbG8gd29ybGQ=\r\n"
            "--b--\r\n").encode()


def selected(daemon, c):
    daemon.deliver([mime_message()])
    c.login()
    c.select()


def test_capability(daemon):
    with daemon.imap() as c:
        assert " BINARY" in c.greeting.split(" MULTIAPPEND")[1]


def test_binary_decodes_and_uses_literal8(daemon):
    """base64 with NULs comes as literal8, quoted-printable (no NUL) as
    a plain literal with its soft break joined and hard break CRLF;
    BINARY.SIZE is the decoded size; a window of the decoded bytes."""
    with daemon.imap() as c:
        selected(daemon, c)
        assert c.run("a", "FETCH 1 BINARY.PEEK[2]") == [
            b"* 1 FETCH (BINARY[2] ~{%d}\r\n" % len(BLOB) + BLOB + b")",
            b"a OK FETCH completed"]
        assert c.run("b", "FETCH 1 BINARY.PEEK[1]") == [
            b"* 1 FETCH (BINARY[1] {%d}\r\n" % len(TEXT) + TEXT + b")",
            b"b OK FETCH completed"]
        assert c.cmd("c", "FETCH 1 (BINARY.SIZE[2] BINARY.SIZE[1] "
                     "BINARY.SIZE[3] BINARY.SIZE[5] FLAGS)") == [
            "* 1 FETCH (BINARY.SIZE[2] %d BINARY.SIZE[1] %d "
            "BINARY.SIZE[3] 10 BINARY.SIZE[5] 11 FLAGS (\\Recent))"
            % (len(BLOB), len(TEXT)),
            "c OK FETCH completed"]
        # A window of the decoded bytes, literal8 only if it has a NUL.
        assert c.run("d", "FETCH 1 (BINARY.PEEK[2]<1.3> "
                     "BINARY.PEEK[2]<0.2>)") == [
            b"* 1 FETCH (BINARY[2]<1> {3}\r\n\x01\x02\x03 "
            b"BINARY[2]<0> ~{2}\r\n\x00\x01)",
            b"d OK FETCH completed"]
        assert c.run("e", "UID FETCH 1 BINARY.PEEK[5]<6.100>") == [
            b"* 1 FETCH (UID 1 BINARY[5]<6> {5}\r\nworld)",
            b"e OK UID FETCH completed"]


def test_binary_sets_seen_and_peek_does_not(daemon):
    with daemon.imap() as c:
        selected(daemon, c)
        assert c.cmd("a", "FETCH 1 (BINARY.PEEK[3] BINARY.SIZE[3])")[-1] \
            == "a OK FETCH completed"
        assert c.cmd("b", "FETCH 1 FLAGS") == [
            "* 1 FETCH (FLAGS (\\Recent))", "b OK FETCH completed"]
        assert c.run("c", "FETCH 1 BINARY[3]") == [
            b"* 1 FETCH (BINARY[3] {10}\r\nplain 7bit FLAGS (\\Seen "
            b"\\Recent))",
            b"c OK FETCH completed"]


def test_unknown_cte_and_bad_sections(daemon):
    with daemon.imap() as c:
        selected(daemon, c)
        assert c.cmd("a", "FETCH 1 BINARY.PEEK[4]") == [
            "* 1 FETCH (BINARY[4] NIL)",
            "a NO [UNKNOWN-CTE] Some parts have an unknown "
            "Content-Transfer-Encoding"]
        assert c.cmd("a2", "FETCH 1 BINARY.SIZE[4]") == [
            "* 1 FETCH (BINARY.SIZE[4] NIL)",
            "a2 NO [UNKNOWN-CTE] Some parts have an unknown "
            "Content-Transfer-Encoding"]
        assert c.cmd("b", "FETCH 1 BINARY.PEEK[1.HEADER]") == [
            "b BAD Invalid BINARY section"]
        assert c.cmd("c", "FETCH 1 BINARY.SIZE[1]<0.5>") == [
            "c BAD Invalid BINARY section"]
        assert c.cmd("d", "FETCH 1 BINARY.PEEK[9]") == [
            "* 1 FETCH (BINARY[9] NIL)", "d OK FETCH completed"]
        # The part is still there encoded.
        assert c.run("e", "FETCH 1 BODY.PEEK[4]") == [
            b"* 1 FETCH (BODY[4] {3}\r\nzzz)", b"e OK FETCH completed"]
        # Outside FETCH, "[" is an atom character as before.
        assert c.cmd("f", "STATUS BINARY[1] (MESSAGES)") == [
            "f NO [NONEXISTENT] Mailbox does not exist"]


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
