"""
QRESYNC (RFC 7162 section 3.2) over raw IMAP sessions, after the RFC's
examples: ENABLE QRESYNC, SELECT (QRESYNC (uidvalidity modseq
[known-uids])) answered with VANISHED (EARLIER) and the FETCH of what
changed, UID FETCH (CHANGEDSINCE n VANISHED), "* VANISHED" instead of
"* n EXPUNGE" once QRESYNC is on (EXPUNGE, another session's expunge,
MOVE), and [CLOSED] when another mailbox is selected.
"""

import re

from conftest import imap_raw_login
from imap_msg_support import (code_number, deliver_numbered, highest,
                              seen_before, tagged_ok)


def qresync_conn(daemon):
    c = imap_raw_login(daemon)
    assert c.run("e", "ENABLE QRESYNC") == [b"* ENABLED QRESYNC",
                                            b"e OK Enabled"]
    return c


def changes_since(daemon, count=10):
    """count messages; a client's state (UIDVALIDITY, HIGHESTMODSEQ);
    then another session expunges UIDs 3 and 4 and sets \\Seen on 7."""
    deliver_numbered(daemon, count)
    seen_before(daemon)
    other = imap_raw_login(daemon)
    sel = other.select()
    uv, high = code_number(sel, "UIDVALIDITY"), highest(sel)
    tagged_ok(other.run("d", "UID STORE 3:4 +FLAGS.SILENT (\\Deleted)"), "d")
    tagged_ok(other.run("x", "EXPUNGE"), "x")
    tagged_ok(other.run("s", "UID STORE 7 +FLAGS.SILENT (\\Seen)"), "s")
    other.close()
    return uv, high


def test_enable_and_select_needs_it(daemon):
    c = imap_raw_login(daemon)
    assert b" QRESYNC" in c.run("c", "CAPABILITY")[0]
    lines = c.run("A02", "SELECT INBOX (QRESYNC (1 1))")
    assert lines[-1].startswith(b"A02 BAD"), lines
    # QRESYNC implies CONDSTORE: enabling that after is nothing new.
    assert c.run("e", "ENABLE QRESYNC CONDSTORE") == [
        b"* ENABLED QRESYNC", b"e OK Enabled"]
    c.close()


def test_select_qresync(daemon):
    uv, high = changes_since(daemon)
    c = qresync_conn(daemon)
    # RFC 7162 3.2.5.1 example, with this folder's numbers.
    lines = tagged_ok(c.run("A02", "SELECT INBOX (QRESYNC (%d %d 1:10))"
                            % (uv, high)), "A02")
    i = lines.index(b"* VANISHED (EARLIER) 3:4")
    fetch = [x for x in lines if b" FETCH " in x]
    assert len(fetch) == 1 and re.match(
        rb"^\* 5 FETCH \(UID 7 FLAGS \(\\Seen\) MODSEQ \((\d+)\)\)$",
        fetch[0]), lines
    assert lines.index(fetch[0]) > i
    # Without known-uids: the same; with known-uids 5:10 no VANISHED.
    lines = tagged_ok(c.run("B", "EXAMINE INBOX (QRESYNC (%d %d))"
                            % (uv, high)), "B")
    assert lines[0] == b"* OK [CLOSED] Previous mailbox closed", lines
    assert b"* VANISHED (EARLIER) 3:4" in lines
    lines = tagged_ok(c.run("C", "EXAMINE INBOX (QRESYNC (%d %d 5:10 (1 5)))"
                            % (uv, high)), "C")
    assert not [x for x in lines if x.startswith(b"* VANISHED")], lines
    assert len([x for x in lines if b" FETCH " in x]) == 1
    # Another UIDVALIDITY: nothing to resync, the client starts over.
    lines = tagged_ok(c.run("D", "EXAMINE INBOX (QRESYNC (%d %d))"
                            % (uv + 1, high)), "D")
    assert not [x for x in lines if x.startswith(b"* VANISHED") or
                b" FETCH " in x], lines
    # Up to date: nothing either.
    now = highest(lines)
    lines = tagged_ok(c.run("E", "EXAMINE INBOX (QRESYNC (%d %d))"
                            % (uv, now)), "E")
    assert not [x for x in lines if x.startswith(b"* VANISHED") or
                b" FETCH " in x], lines
    c.close()


def test_uid_fetch_vanished(daemon):
    uv, high = changes_since(daemon)
    c = qresync_conn(daemon)
    c.select()
    # RFC 7162 3.2.6 example.
    lines = tagged_ok(c.run("s100", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d "
                            "VANISHED)" % high), "s100")
    assert lines[0] == b"* VANISHED (EARLIER) 3:4", lines
    assert re.match(rb"^\* 5 FETCH \(UID 7 MODSEQ \(\d+\) FLAGS "
                    rb"\(\\Seen\)\)$", lines[1]), lines
    assert len(lines) == 3
    lines = tagged_ok(c.run("s101", "UID FETCH 4:6 (FLAGS) (CHANGEDSINCE %d "
                            "VANISHED)" % high), "s101")
    assert lines[:-1] == [b"* VANISHED (EARLIER) 4"], lines
    # Not without UID, not without CHANGEDSINCE.
    assert c.run("b1", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")[-1] \
        .startswith(b"b1 BAD")
    assert c.run("b2", "UID FETCH 1:* (FLAGS) (VANISHED)")[-1] \
        .startswith(b"b2 BAD")
    c.close()
    # Not without QRESYNC enabled.
    c = imap_raw_login(daemon)
    c.select()
    assert c.run("b3", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 "
                 "VANISHED)")[-1].startswith(b"b3 BAD")
    c.close()


def test_vanished_replaces_expunge(daemon):
    deliver_numbered(daemon, 6)
    seen_before(daemon)
    c = qresync_conn(daemon)
    plain = imap_raw_login(daemon)
    other = imap_raw_login(daemon)
    c.select()
    plain.select()
    other.select()
    tagged_ok(other.run("d", "UID STORE 2:3,5 +FLAGS.SILENT (\\Deleted)"), "d")
    tagged_ok(other.run("x", "EXPUNGE"), "x")
    lines = tagged_ok(c.run("n", "NOOP"), "n")
    assert b"* VANISHED 2:3,5" in lines, lines
    assert not [x for x in lines if x.endswith(b" EXPUNGE")], lines
    lines = tagged_ok(plain.run("n", "NOOP"), "n")
    assert [x for x in lines if x.endswith(b" EXPUNGE")] == [
        b"* 2 EXPUNGE", b"* 2 EXPUNGE", b"* 3 EXPUNGE"], lines
    # Its own EXPUNGE, and MOVE.
    tagged_ok(c.run("d", "UID STORE 4 +FLAGS.SILENT (\\Deleted)"), "d")
    lines = tagged_ok(c.run("x", "EXPUNGE"), "x")
    assert lines[0] == b"* VANISHED 4", lines
    lines = tagged_ok(c.run("m", "UID MOVE 6 Trash"), "m")
    assert b"* VANISHED 6" in lines, lines
    c.close()
    plain.close()
    other.close()
