"""
$Forwarded, the keyword mbsync and Thunderbird set on a message that was
forwarded, is kept as Maildir's P flag (as Dovecot keeps it), through
imaplib as a client sees it: SELECT lists it in FLAGS and PERMANENTFLAGS,
STORE puts P into the file name, FETCH FLAGS and the FETCH of STORE
report it, APPEND takes it, SEARCH KEYWORD finds it, and a P set by
another program shows as $Forwarded.
"""

import re

from conftest import give_to_owner, imap_login, make_message
from imap_msg_support import deliver_numbered, info, ok, seen_before


def flags_of(data):
    """{uid: flags string} of imaplib FETCH (UID FLAGS) data."""
    out = {}
    for line in data:
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line) or \
            re.search(rb"FLAGS \(([^)]*)\) UID (\d+)", line)
        assert m, line
        if m.re.pattern.startswith(b"UID"):
            out[int(m.group(1))] = m.group(2).decode()
        else:
            out[int(m.group(2))] = m.group(1).decode()
    return out


def test_store_fetch_forwarded(daemon):
    deliver_numbered(daemon, 2)
    seen_before(daemon)
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    # SELECT offers it (Thunderbird stores it only if PERMANENTFLAGS
    # names it).
    flags = m.response("FLAGS")[1][0]
    permanent = m.response("PERMANENTFLAGS")[1][0]
    assert b"$Forwarded" in flags, flags
    assert b"$Forwarded" in permanent, permanent
    data = ok(m.uid("STORE", "1", "+FLAGS", "($Forwarded)"))
    assert b"$Forwarded" in data[0], data
    # On disk it is Maildir's P.
    files = daemon.message_files("alice")
    assert [info(p) for p in files] == ["P", ""], files
    assert flags_of(ok(m.uid("FETCH", "1:*", "(UID FLAGS)"))) == {
        1: "$Forwarded", 2: ""}
    # Any case, with the system flags; the order of FLAGS is fixed.
    ok(m.uid("STORE", "2", "+FLAGS.SILENT", "(\\Seen $forwarded)"))
    assert flags_of(ok(m.uid("FETCH", "2", "(UID FLAGS)"))) == {
        2: "\\Seen $Forwarded"}
    assert sorted(info(p) for p in daemon.message_files("alice")) == \
        ["P", "PS"]
    # SEARCH KEYWORD finds it; other keywords match nothing.
    assert ok(m.uid("SEARCH", "KEYWORD", "$Forwarded")) == [b"1 2"]
    ok(m.uid("STORE", "1", "-FLAGS", "($Forwarded)"))
    assert ok(m.uid("SEARCH", "KEYWORD", "$Forwarded")) == [b"2"]
    assert ok(m.uid("SEARCH", "UNKEYWORD", "$Forwarded")) == [b"1"]
    assert ok(m.uid("SEARCH", "KEYWORD", "$Junk")) == [b""]
    assert sorted(info(p) for p in daemon.message_files("alice")) == \
        ["", "PS"]
    # FLAGS replaces $Forwarded like any flag.
    ok(m.uid("STORE", "2", "FLAGS.SILENT", "(\\Seen)"))
    assert flags_of(ok(m.uid("FETCH", "2", "(UID FLAGS)"))) == {
        2: "\\Seen"}
    m.logout()


def test_append_forwarded(daemon):
    deliver_numbered(daemon, 1)
    m = imap_login(daemon)
    msg = make_message("appended")
    ok(m.append("INBOX", "($Forwarded \\Seen)", None, msg))
    ok(m.append("INBOX", "($FORWARDED)", None, msg))
    names = {info(p) for p in daemon.message_files("alice")}
    assert names == {"", "PS", "P"}, names
    seen_before(daemon)
    ok(m.select("INBOX"))
    assert flags_of(ok(m.uid("FETCH", "1:*", "(UID FLAGS)"))) == {
        1: "", 2: "\\Seen $Forwarded", 3: "$Forwarded"}
    m.logout()


def test_foreign_p_is_forwarded(daemon):
    """A message another program (mutt, Dovecot) marked P."""
    deliver_numbered(daemon, 1)
    d = daemon.folder_dir("alice")
    (d / "cur" / "1700000000.M1P1.other:2,PS").write_bytes(
        b"Subject: forwarded elsewhere\n\nbody\n")
    give_to_owner(d / "cur", daemon.data_dir)
    seen_before(daemon)
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    assert flags_of(ok(m.uid("FETCH", "1:*", "(UID FLAGS)"))) == {
        1: "", 2: "\\Seen $Forwarded"}
    # Copied, it stays forwarded.
    ok(m.create("Kept"))
    ok(m.uid("COPY", "2", "Kept"))
    assert [info(p) for p in daemon.message_files("alice", "Kept")] == \
        ["PS"]
    m.logout()
