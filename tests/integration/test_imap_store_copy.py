"""
STORE, COPY, MOVE and EXPUNGE with their UID forms against the real
daemon, on mail delivered by LMTP: exact untagged FETCH responses of
STORE (.SILENT, UID), flags on disk, COPYUID and TRYCREATE, MOVE's
untagged COPYUID then EXPUNGEs, UID EXPUNGE, read-only mailboxes, and a
second session seeing flag changes and expunges on NOOP.
"""

import re

from conftest import imap_login, imap_raw_login
from imap_msg_support import deliver, seen_before

MSGS = [b"From: s@example.net\r\nSubject: m%d\r\n\r\nbody %d\r\n" % (i, i)
        for i in range(1, 4)]


def prepare(daemon):
    deliver(daemon, MSGS)
    seen_before(daemon)
    c = imap_raw_login(daemon)
    c.select()
    return c


def ok(tag, name):
    return tag.encode() + b" OK " + name.encode() + b" completed"


# ---- STORE ----

def test_store_forms(daemon):
    c = prepare(daemon)
    assert c.run("a", "STORE 1 FLAGS (\\Seen \\Flagged)") == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Seen))", ok("a", "STORE")]
    assert c.run("b", "STORE 1:2 +FLAGS (\\Answered)") == [
        b"* 1 FETCH (FLAGS (\\Answered \\Flagged \\Seen))",
        b"* 2 FETCH (FLAGS (\\Answered))", ok("b", "STORE")]
    assert c.run("c", "store 1 -flags (\\seen)") == [
        b"* 1 FETCH (FLAGS (\\Answered \\Flagged))", ok("c", "STORE")]
    assert c.run("d", "STORE 2 FLAGS.SILENT (\\Draft)") == [ok("d", "STORE")]
    assert c.run("e", "FETCH 2 FLAGS") == [b"* 2 FETCH (FLAGS (\\Draft))",
                                          ok("e", "FETCH")]
    # Flags without parentheses.
    assert c.run("f", "STORE 3 +FLAGS \\Deleted \\Seen") == [
        b"* 3 FETCH (FLAGS (\\Deleted \\Seen))", ok("f", "STORE")]
    assert c.run("g", "UID STORE 2 +FLAGS (\\Flagged)") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Draft))", ok("g", "UID STORE")]
    assert c.run("h", "UID STORE 3 -FLAGS.SILENT (\\Deleted)") == [
        ok("h", "UID STORE")]
    assert c.run("i", "STORE 3 FLAGS ()") == [b"* 3 FETCH (FLAGS ())",
                                             ok("i", "STORE")]
    # Keywords are kept; the client hears of a new one in FLAGS first.
    assert c.run("j", "STORE 1 +FLAGS ($Junk \\Seen)") == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
        b"$Forwarded $Junk)",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
        b"\\Draft $Forwarded $Junk \\*)] Flags permitted",
        b"* 1 FETCH (FLAGS (\\Answered \\Flagged \\Seen $Junk))",
        ok("j", "STORE")]
    # UIDs that do not exist are no error.
    assert c.run("k", "UID STORE 7:9 +FLAGS (\\Seen)") == [
        ok("k", "UID STORE")]

    # The flags are in the file names (Maildir info ":2,").
    names = sorted(f.name.split(":2,")[-1] if ":2," in f.name else ""
                   for f in daemon.message_files("alice"))
    assert names == ["", "DF", "FRSa"]

    # And they survive a fresh session.
    c2 = imap_raw_login(daemon)
    c2.select()
    assert c2.run("l", "FETCH 1:3 FLAGS") == [
        b"* 1 FETCH (FLAGS (\\Answered \\Flagged \\Seen $Junk))",
        b"* 2 FETCH (FLAGS (\\Flagged \\Draft))",
        b"* 3 FETCH (FLAGS ())", ok("l", "FETCH")]


def test_store_errors(daemon):
    c = prepare(daemon)
    for i, (args, reply) in enumerate([
            ("1 +FLAGS (\\Recent)", b"BAD \\Recent cannot be stored"),
            ("1 +FLAGS (\\Bogus)", b"BAD Invalid system flag"),
            ("1 FLAGZ (\\Seen)",
             b"BAD STORE needs a sequence set, [+|-]FLAGS[.SILENT] and "
             b"flags"),
            ("1 +FLAGS", b"BAD STORE needs a sequence set, [+|-]FLAGS"
             b"[.SILENT] and flags"),
            ("4 +FLAGS (\\Seen)", b"BAD Invalid message sequence number"),
            ("1 +FLAGS (\\Seen) (\\Draft)", b"BAD Invalid flag list")]):
        assert c.run("n%d" % i, "NOOP")[-1].endswith(b"OK NOOP completed")
        tag = "b%d" % i
        assert c.run(tag, "STORE " + args) == [tag.encode() + b" " + reply]
    c.select(examine=True)
    assert c.run("r", "STORE 1 +FLAGS (\\Seen)") == [
        b"r NO Mailbox is read-only"]
    assert c.run("s", "FETCH 1 FLAGS") == [b"* 1 FETCH (FLAGS ())",
                                          ok("s", "FETCH")]


def test_two_sessions_see_flags_and_expunges_on_noop(daemon):
    a = prepare(daemon)
    b = imap_raw_login(daemon)
    b.select()
    assert a.run("a", "STORE 1 +FLAGS (\\Flagged)")[0] == \
        b"* 1 FETCH (FLAGS (\\Flagged))"
    assert b.run("n", "NOOP") == [b"* 1 FETCH (FLAGS (\\Flagged))",
                                  ok("n", "NOOP")]
    assert b.run("m", "NOOP") == [ok("m", "NOOP")]

    assert a.run("d", "STORE 2 +FLAGS.SILENT (\\Deleted)") == [
        ok("d", "STORE")]
    assert a.run("e", "EXPUNGE") == [b"* 2 EXPUNGE", ok("e", "EXPUNGE")]
    # STORE (not UID STORE) may not send EXPUNGE: the numbers stay.
    assert b.run("s", "STORE 3 +FLAGS (\\Seen)") == [
        b"* 3 FETCH (FLAGS (\\Seen))", ok("s", "STORE")]
    got = b.run("n2", "NOOP")
    assert got[-1] == ok("n2", "NOOP")
    assert b"* 2 EXPUNGE" in got
    assert b.run("f", "FETCH 1:* UID") == [
        b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)", ok("f", "FETCH")]
    # And A sees B's \Seen on message 3, now number 2.
    assert a.run("n", "NOOP") == [b"* 2 FETCH (FLAGS (\\Seen))",
                                  ok("n", "NOOP")]


def test_uid_store_may_send_expunge(daemon):
    a = prepare(daemon)
    b = imap_raw_login(daemon)
    b.select()
    a.run("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.run("e", "EXPUNGE")
    assert b.run("u", "UID STORE 3 +FLAGS (\\Seen)") == [
        b"* 3 FETCH (UID 3 FLAGS (\\Seen))", b"* 1 EXPUNGE",
        ok("u", "UID STORE")]


# ---- COPY ----

def test_copy(daemon):
    c = prepare(daemon)
    assert c.run("cr", "CREATE Work")[-1] == b"cr OK Create completed"
    v = c.uidvalidity("Work")
    c.run("f", "STORE 1 +FLAGS.SILENT (\\Seen \\Flagged)")
    assert c.run("a", "COPY 1:2 Work") == [
        b"a OK [COPYUID %d 1:2 1:2] COPY completed" % v]
    assert c.run("b", "UID COPY 3,1 Work") == [
        b"b OK [COPYUID %d 1,3 3:4] UID COPY completed" % v]
    assert c.run("c", "UID COPY 7:9 Work") == [b"c OK No messages copied"]
    assert c.run("d", "COPY 1 Nope") == [
        b"d NO [TRYCREATE] Mailbox does not exist"]
    assert c.run("e", "COPY 4 Work") == [
        b"e BAD Invalid message sequence number"]
    # The source is untouched.
    assert c.run("g", "FETCH 1:* (UID FLAGS)") == [
        b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen))",
        b"* 2 FETCH (UID 2 FLAGS ())",
        b"* 3 FETCH (UID 3 FLAGS ())", ok("g", "FETCH")]
    # Copies keep flags, bytes and internal date.
    inbox = c.run("h", "FETCH 1:3 (BODY.PEEK[] INTERNALDATE)")[:-1]
    c.select("Work")
    # RFC 3501 6.4.7: the copies are \\Recent, for the first session to
    # select Work.
    assert c.run("i", "FETCH 1:* (UID FLAGS)") == [
        b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen \\Recent))",
        b"* 2 FETCH (UID 2 FLAGS (\\Recent))",
        b"* 3 FETCH (UID 3 FLAGS (\\Flagged \\Seen \\Recent))",
        b"* 4 FETCH (UID 4 FLAGS (\\Recent))", ok("i", "FETCH")]
    work = c.run("j", "FETCH 1:4 (BODY.PEEK[] INTERNALDATE)")[:-1]
    strip = [re.sub(rb"^\* \d+ ", b"", r) for r in inbox]
    assert [re.sub(rb"^\* \d+ ", b"", r) for r in work] == [
        strip[0], strip[1], strip[0], strip[2]]
    assert len(daemon.message_files("alice", "Work")) == 4


def test_copy_read_only_and_into_itself(daemon):
    c = prepare(daemon)
    v = c.uidvalidity()
    c.select(examine=True)
    # COPY only reads its source: allowed from EXAMINE. The copy is
    # recent, and EXAMINE shows it so without taking it.
    assert c.run("a", "COPY 1 INBOX") == [
        b"* 4 EXISTS", b"* 1 RECENT",
        b"a OK [COPYUID %d 1 4] COPY completed" % v]


# ---- MOVE ----

def test_move(daemon):
    c = prepare(daemon)
    other = imap_raw_login(daemon)
    other.select()
    v = c.uidvalidity("Trash")
    assert c.run("a", "MOVE 2:3 Trash") == [
        b"* OK [COPYUID %d 2:3 1:2] Moved" % v,
        b"* 2 EXPUNGE", b"* 2 EXPUNGE", ok("a", "MOVE")]
    assert c.run("f", "FETCH 1:* UID") == [b"* 1 FETCH (UID 1)",
                                          ok("f", "FETCH")]
    vj = c.uidvalidity("Junk")
    assert c.run("b", "UID MOVE 1 Junk") == [
        b"* OK [COPYUID %d 1 1] Moved" % vj, b"* 1 EXPUNGE",
        ok("b", "UID MOVE")]
    assert c.run("c", "UID MOVE 5 Junk") == [b"c OK No messages moved"]
    assert len(daemon.message_files("alice")) == 0
    assert len(daemon.message_files("alice", "Trash")) == 2
    assert len(daemon.message_files("alice", "Junk")) == 1
    # The other session hears the expunges on NOOP, in UID order.
    assert other.run("n", "NOOP") == [b"* 1 EXPUNGE", b"* 1 EXPUNGE",
                                      b"* 1 EXPUNGE", ok("n", "NOOP")]
    c.select("Trash")
    assert c.run("t", "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])") \
        == [b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {15}\r\n"
            b"Subject: m2\r\n\r\n)",
            b"* 2 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {15}\r\n"
            b"Subject: m3\r\n\r\n)", ok("t", "FETCH")]


def test_move_errors(daemon):
    c = prepare(daemon)
    assert c.run("a", "MOVE 1 Nope") == [
        b"a NO [TRYCREATE] Mailbox does not exist"]
    assert c.run("b", "MOVE 9 Trash") == [
        b"b BAD Invalid message sequence number"]
    assert c.run("n", "NOOP") == [ok("n", "NOOP")]
    assert c.run("c", "MOVE 1") == [
        b"c BAD MOVE needs a sequence set and a mailbox name"]
    c.select(examine=True)
    assert c.run("d", "MOVE 1 Trash") == [b"d NO Mailbox is read-only"]
    assert len(daemon.message_files("alice")) == 3


# ---- EXPUNGE ----

def test_expunge_and_uid_expunge(daemon):
    c = prepare(daemon)
    c.run("d", "STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    c.run("u", "STORE 1 -FLAGS.SILENT (\\Deleted)")
    c.run("d2", "STORE 1 +FLAGS.SILENT (\\Seen)")
    # Only \Deleted messages of the set go.
    assert c.run("a", "UID EXPUNGE 1:2") == [b"* 2 EXPUNGE",
                                             ok("a", "UID EXPUNGE")]
    assert c.run("b", "UID EXPUNGE 9") == [ok("b", "UID EXPUNGE")]
    assert c.run("c", "EXPUNGE") == [b"* 2 EXPUNGE", ok("c", "EXPUNGE")]
    assert c.run("e", "EXPUNGE") == [ok("e", "EXPUNGE")]
    assert c.run("f", "FETCH 1:* (UID FLAGS)") == [
        b"* 1 FETCH (UID 1 FLAGS (\\Seen))", ok("f", "FETCH")]
    assert len(daemon.message_files("alice")) == 1
    assert c.run("g", "EXPUNGE 1") == [b"g BAD EXPUNGE takes no arguments"]
    assert c.run("h", "UID EXPUNGE") == [
        b"h BAD UID EXPUNGE needs a UID set"]
    c.run("x", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.select(examine=True)
    assert c.run("i", "EXPUNGE") == [b"i NO Mailbox is read-only"]
    assert len(daemon.message_files("alice")) == 1


def test_imaplib_store_copy_move_expunge(daemon):
    deliver(daemon, MSGS)
    seen_before(daemon)
    m = imap_login(daemon)
    assert m.create("Archive")[0] == "OK"
    m.select("INBOX")
    typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and data == [b"1 (FLAGS (\\Deleted))"]
    typ, data = m.copy("2:3", "Archive")
    assert typ == "OK"
    typ, data = m.uid("MOVE", "3", "Archive")
    assert typ == "OK"
    typ, data = m.expunge()
    # imaplib also returns the EXPUNGE that UID MOVE sent (message 3).
    assert typ == "OK" and data == [b"3", b"1"]
    assert m.select("Archive") == ("OK", [b"3"])
    typ, data = m.search(None, "ALL")
    assert data == [b"1 2 3"]
    m.logout()
