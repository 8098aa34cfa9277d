"""
CONDSTORE (RFC 7162 section 3.1) over raw IMAP sessions, with the RFC's
own commands: the capability and ENABLE, HIGHESTMODSEQ at SELECT and in
STATUS, FETCH MODSEQ and (CHANGEDSINCE n), STORE (UNCHANGEDSINCE n) with
[MODIFIED set], SEARCH MODSEQ with its (MODSEQ n) result, the UID and
MODSEQ another session's change brings once CONDSTORE is on, and
MODSEQs kept across a restart.
"""

import re

from conftest import imap_raw_login
from imap_msg_support import deliver_numbered, highest, seen_before, tagged_ok

FETCH_RE = re.compile(rb"^\* (\d+) FETCH \((.*)\)$")


def modseqs(lines):
    """{uid: modseq} of FETCH responses carrying UID and MODSEQ."""
    out = {}
    for line in lines:
        m = FETCH_RE.match(line)
        if not m:
            continue
        uid = re.search(rb"UID (\d+)", m.group(2))
        ms = re.search(rb"MODSEQ \((\d+)\)", m.group(2))
        assert uid and ms, line
        out[int(uid.group(1))] = int(ms.group(1))
    return out


def test_capability_enable(daemon):
    c = imap_raw_login(daemon)
    caps = c.run("c", "CAPABILITY")[0]
    assert b" CONDSTORE" in caps
    assert c.run("e1", "ENABLE CONDSTORE")[0] == b"* ENABLED CONDSTORE"
    # Already on: nothing newly enabled; unknown names are ignored.
    assert c.run("e2", "ENABLE CONDSTORE X-FOO")[0] == b"* ENABLED"
    c.close()


def test_select_fetch_changedsince(daemon):
    deliver_numbered(daemon, 4)
    seen_before(daemon)
    c = imap_raw_login(daemon)
    # RFC 7162 3.1.8: SELECT (CONDSTORE) enables it.
    sel = tagged_ok(c.run("A142", "SELECT INBOX (CONDSTORE)"), "A142")
    high = highest(sel)
    got = modseqs(tagged_ok(c.run("a", "UID FETCH 1:* (MODSEQ)"), "a"))
    assert sorted(got) == [1, 2, 3, 4]
    assert max(got.values()) == high
    assert len(set(got.values())) == 4
    # A change takes a fresh MODSEQ, reported with UID and MODSEQ.
    st = tagged_ok(c.run("s", "STORE 2 +FLAGS (\\Seen)"), "s")
    assert re.match(rb"^\* 2 FETCH \(UID 2 MODSEQ \((\d+)\) FLAGS "
                    rb"\(\\Seen\)\)$", st[0]), st
    new = modseqs(st)[2]
    assert new > high
    # RFC 7162 3.1.4.1: only what changed since, MODSEQ implied.
    lines = tagged_ok(c.run("s100", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE "
                            "%d)" % high), "s100")
    assert lines[:-1] == [b"* 2 FETCH (UID 2 MODSEQ (%d) FLAGS (\\Seen))"
                          % new], lines
    lines = tagged_ok(c.run("f", "FETCH 1:* (FLAGS) (CHANGEDSINCE %d)"
                            % new), "f")
    assert lines[:-1] == [], lines
    # SELECT again: HIGHESTMODSEQ is the new one.
    assert highest(c.select()) == new
    for bad in ("FETCH 1 (FLAGS) (CHANGEDSINCE 0)",
                "FETCH 1 (FLAGS) (CHANGEDSINCE x)",
                "FETCH 1 (FLAGS) (VANISHED)"):
        assert c.run("b", bad)[-1].startswith(b"b BAD"), bad
    c.close()


def test_store_unchangedsince(daemon):
    deliver_numbered(daemon, 9)
    seen_before(daemon)
    a = imap_raw_login(daemon)
    b = imap_raw_login(daemon)
    high = highest(a.select())
    b.select()
    # Another client changes 7 and 9 after the MODSEQ a knows.
    tagged_ok(b.run("x", "STORE 7,9 +FLAGS.SILENT ($Processed)"), "x")
    # RFC 7162 3.1.3, example 7.
    lines = a.run("d105", "STORE 7,5,9 (UNCHANGEDSINCE %d) +FLAGS.SILENT "
                  "(\\Deleted)" % high)
    assert lines[-1] == b"d105 OK [MODIFIED 7,9] Conditional STORE failed"
    # The other session's changes of 7 and 9 come too; 5 is this one's.
    fetches = [x for x in lines if x.startswith(b"* 5 FETCH")]
    assert len(fetches) == 1 and re.match(
        rb"^\* 5 FETCH \(UID 5 MODSEQ \(\d+\)\)$", fetches[0]), lines
    assert modseqs(fetches)[5] > high
    flags = a.run("f", "FETCH 5,7 (FLAGS)")
    assert b"* 5 FETCH (FLAGS (\\Deleted)" in flags[0] or \
        flags[0].startswith(b"* 5 FETCH (UID 5 MODSEQ"), flags
    # UID STORE reports UIDs in MODIFIED; UNCHANGEDSINCE 0 always fails.
    lines = a.run("a103", "UID STORE 6,4,8 (UNCHANGEDSINCE 0) "
                  "+FLAGS.SILENT (\\Deleted)")
    assert lines[-1] == b"a103 OK [MODIFIED 4,6,8] Conditional STORE failed"
    # Read-only stays read-only.
    b.select(examine=True)
    assert b.run("r", "STORE 1 (UNCHANGEDSINCE 9) +FLAGS (\\Seen)")[-1] \
        .startswith(b"r NO")
    a.close()
    b.close()


def test_untagged_fetch_from_other_session(daemon):
    deliver_numbered(daemon, 2)
    seen_before(daemon)
    a = imap_raw_login(daemon)
    plain = imap_raw_login(daemon)
    b = imap_raw_login(daemon)
    tagged_ok(a.run("e", "ENABLE CONDSTORE"), "e")
    a.select()
    plain.select()
    b.select()
    st = tagged_ok(b.run("s", "STORE 1 +FLAGS (\\Flagged)"), "s")
    ms = re.search(rb"FLAGS", st[0]) and b.run("f", "FETCH 1 (UID MODSEQ)")
    want = modseqs(ms)[1]
    got = a.run("n", "NOOP")
    assert b"* 1 FETCH (UID 1 MODSEQ (%d) FLAGS (\\Flagged))" % want in \
        got, got
    got = plain.run("n", "NOOP")
    assert b"* 1 FETCH (FLAGS (\\Flagged))" in got, got
    a.close()
    plain.close()
    b.close()


def test_search_status_modseq(daemon):
    deliver_numbered(daemon, 5)
    seen_before(daemon)
    c = imap_raw_login(daemon)
    high = highest(c.select())
    tagged_ok(c.run("s", "STORE 2,4 +FLAGS.SILENT (\\Draft)"), "s")
    new = max(modseqs(c.run("f", "FETCH 1:* (UID MODSEQ)")).values())
    # RFC 7162 3.1.5, with the entry name and type.
    lines = tagged_ok(c.run("a", 'SEARCH MODSEQ "/flags/\\\\draft" all '
                            '%d' % (high + 1)), "a")
    assert lines[0] == b"* SEARCH 2 4 (MODSEQ %d)" % new, lines
    lines = tagged_ok(c.run("b", "UID SEARCH MODSEQ %d" % (new + 1)), "b")
    assert lines[0] == b"* SEARCH", lines
    lines = tagged_ok(c.run("c", "SEARCH RETURN (ALL) MODSEQ %d"
                            % (high + 1)), "c")
    assert lines[0] == b'* ESEARCH (TAG "c") ALL 2,4 MODSEQ %d' % new
    # RFC 7162 3.1.6
    lines = tagged_ok(c.run("A042", "STATUS INBOX (MESSAGES UIDNEXT "
                            "HIGHESTMODSEQ)"), "A042")
    assert lines[0] == b"* STATUS INBOX (MESSAGES 5 UIDNEXT 6 " \
        b"HIGHESTMODSEQ %d)" % new, lines
    c.close()


def test_modseq_survives_restart(daemon):
    deliver_numbered(daemon, 3)
    c = imap_raw_login(daemon)
    c.select()
    tagged_ok(c.run("s", "STORE 1:3 +FLAGS (\\Seen $label1)"), "s")
    before = modseqs(c.run("f", "FETCH 1:* (UID MODSEQ)"))
    high = highest(c.select())
    c.close()
    daemon.restart()
    c = imap_raw_login(daemon)
    assert highest(c.select()) == high
    assert modseqs(c.run("f", "FETCH 1:* (UID MODSEQ)")) == before
    c.close()
