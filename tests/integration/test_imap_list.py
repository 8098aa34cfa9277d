"""
Folder listing and folder counts against the real daemon, with the
exact responses (raw sockets): STATUS SIZE (RFC 8438).
"""

import re

from conftest import make_message


def append(c, tag, mailbox, msg):
    c.send(b"%s APPEND %s {%d+}\r\n" % (tag.encode(), mailbox.encode(),
                                         len(msg)) + msg + b"\r\n")
    line = c.line()
    assert line.startswith("%s OK [APPENDUID " % tag), line


def fetch_sizes(c, mailbox):
    """{uid: RFC822.SIZE} of every message of mailbox."""
    c.cmd("fs", "EXAMINE %s" % mailbox)
    sizes = {}
    for line in c.cmd("fz", "UID FETCH 1:* RFC822.SIZE")[:-1]:
        m = re.match(r"^\* \d+ FETCH \(UID (\d+) RFC822\.SIZE (\d+)\)$",
                     line)
        assert m, line
        sizes[int(m.group(1))] = int(m.group(2))
    c.cmd("fc", "CLOSE")
    return sizes


# ---- STATUS SIZE (RFC 8438) ----

def test_status_size_is_the_sum_of_rfc822_size(daemon):
    """SIZE counts each message as sent (CRLF line ends), whatever its
    file holds: a bare-LF APPEND is counted with CRLF."""
    with daemon.imap() as c:
        c.login()
        assert c.cmd("a", "STATUS INBOX (SIZE)") == [
            "* STATUS INBOX (SIZE 0)", "a OK Status completed"]
        crlf = make_message("crlf")
        lf = crlf.replace(b"\r\n", b"\n")
        append(c, "b", "INBOX", crlf)
        append(c, "c", "INBOX", lf)
        assert c.cmd("d", "STATUS INBOX (MESSAGES SIZE UNSEEN)") == [
            "* STATUS INBOX (MESSAGES 2 SIZE %d UNSEEN 2)" % (2 * len(crlf)),
            "d OK Status completed"]
        assert sum(fetch_sizes(c, "INBOX").values()) == 2 * len(crlf)
        assert c.cmd("e", "status inbox (size size)") == [
            "* STATUS INBOX (SIZE %d)" % (2 * len(crlf)),
            "e OK Status completed"]


def test_status_size_of_a_file_another_program_wrote(daemon):
    """A message without W= in its name (procmail, a copied Maildir) is
    counted from the file, with its bare LFs as CRLF."""
    with daemon.imap() as c:
        c.login()
        c.cmd("a", "CREATE Copied")
        body = b"Subject: old\n\nline one\nline two\n"
        cur = daemon.folder_dir("alice", "Copied") / "cur"
        (cur / "1700000000.M1P1.elsewhere:2,S").write_bytes(body)
        size = len(body) + body.count(b"\n")
        assert c.cmd("b", "STATUS Copied (SIZE MESSAGES UNSEEN)") == [
            "* STATUS Copied (SIZE %d MESSAGES 1 UNSEEN 0)" % size,
            "b OK Status completed"]
        assert fetch_sizes(c, "Copied") == {1: size}


def test_status_size_unknown_item_and_nonexistent(daemon):
    with daemon.imap() as c:
        c.login()
        assert c.cmd("a", "STATUS INBOX (SIZES)") == [
            "a BAD Unknown STATUS item"]
        assert c.cmd("b", "STATUS Nope (SIZE)") == [
            "b NO [NONEXISTENT] Mailbox does not exist"]
