"""
Keywords ($label1, Junk, NonJunk: client tags and junk training) kept as
Dovecot keeps them in a Maildir: the letters a..z after the flags in a
file name's info part, named by the folder's dovecot-keywords file
("<index> <name>" lines, index 0 is 'a'). Through imaplib and raw
sessions: SELECT's FLAGS and PERMANENTFLAGS (\\* while there is room),
STORE and FETCH, the files on disk, a restart, a SIGKILL in the middle
of STOREs, and a Maildir written as Dovecot writes it.
"""

import re
import socket

from conftest import (give_to_owner, imap_login, imap_raw_login, make_message,
                      wait_until)
from imap_msg_support import deliver_numbered, info, ok


def keywords_file(daemon, folder="INBOX"):
    path = daemon.folder_dir("alice", folder) / "dovecot-keywords"
    return path.read_text() if path.exists() else None


def flags_of(data):
    """{uid: flags string} of imaplib FETCH (UID FLAGS) data, without the
    session's \\Recent, which is not a stored flag."""
    out = {}
    for line in data:
        if isinstance(line, tuple):
            line = line[0]
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line) or \
            re.search(rb"FLAGS \(([^)]*)\) UID (\d+)", line)
        assert m, line
        if m.re.pattern.startswith(b"UID"):
            uid, flags = m.group(1), m.group(2)
        else:
            uid, flags = m.group(2), m.group(1)
        out[int(uid)] = " ".join(f for f in flags.decode().split()
                                 if f != "\\Recent")
    return out


def fetch_flags(m, uids="1:*"):
    return flags_of(ok(m.uid("FETCH", uids, "(UID FLAGS)")))


SYSTEM = "\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded"


def test_store_fetch_keywords(daemon):
    deliver_numbered(daemon, 3)
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    # A new folder may take keywords: \* (RFC 3501 7.1).
    assert m.response("FLAGS")[1] == [("(%s)" % SYSTEM).encode()]
    assert m.response("PERMANENTFLAGS")[1] == [
        ("(%s \\*)" % SYSTEM).encode()]
    data = ok(m.uid("STORE", "1", "+FLAGS", "($label1 Junk)"))
    assert flags_of(data[-1:]) == {1: "$label1 Junk"}, data
    # The new keywords are announced in FLAGS.
    assert m.response("FLAGS")[1][-1] == (
        "(%s $label1 Junk)" % SYSTEM).encode()
    # On disk: Dovecot's letters, named in dovecot-keywords.
    assert keywords_file(daemon) == "0 $label1\n1 Junk\n"
    assert sorted(info(p) for p in daemon.message_files("alice")) == \
        ["", "", "ab"]
    # Case-insensitive: the name the folder has is used.
    ok(m.uid("STORE", "2", "+FLAGS.SILENT", "(\\Seen junk NonJunk)"))
    assert fetch_flags(m) == {1: "$label1 Junk", 2: "\\Seen Junk NonJunk",
                              3: ""}
    assert keywords_file(daemon) == "0 $label1\n1 Junk\n2 NonJunk\n"
    assert sorted(info(p) for p in daemon.message_files("alice")) == \
        ["", "Sbc", "ab"]
    # -FLAGS and FLAGS.
    ok(m.uid("STORE", "1", "-FLAGS", "(JUNK)"))
    ok(m.uid("STORE", "2", "FLAGS", "(\\Flagged $label1)"))
    assert fetch_flags(m) == {1: "$label1", 2: "\\Flagged $label1", 3: ""}
    # Removing a keyword the folder does not know is no error.
    ok(m.uid("STORE", "3", "-FLAGS", "(Unknown)"))
    assert keywords_file(daemon) == "0 $label1\n1 Junk\n2 NonJunk\n"
    m.logout()


def test_search_keywords(daemon):
    deliver_numbered(daemon, 4)
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    ok(m.uid("STORE", "1:2", "+FLAGS.SILENT", "(Junk)"))
    ok(m.uid("STORE", "2:3", "+FLAGS.SILENT", "($label1 \\Seen)"))
    assert ok(m.uid("SEARCH", "KEYWORD", "Junk")) == [b"1 2"]
    assert ok(m.uid("SEARCH", "KEYWORD", "junk")) == [b"1 2"]
    assert ok(m.uid("SEARCH", "UNKEYWORD", "Junk")) == [b"3 4"]
    assert ok(m.uid("SEARCH", "KEYWORD", "Junk", "KEYWORD", "$label1")) \
        == [b"2"]
    assert ok(m.uid("SEARCH", "OR", "KEYWORD", "Junk", "SEEN")) == \
        [b"1 2 3"]
    assert ok(m.search(None, "NOT", "KEYWORD", "$label1")) == [b"1 4"]
    # Unknown to the folder: matches nothing (UNKEYWORD: everything).
    assert ok(m.uid("SEARCH", "KEYWORD", "NonJunk")) == [b""]
    assert ok(m.uid("SEARCH", "UNKEYWORD", "NonJunk")) == [b"1 2 3 4"]
    # Known to the folder, on no message.
    ok(m.uid("STORE", "1:2", "-FLAGS.SILENT", "(Junk)"))
    assert ok(m.uid("SEARCH", "KEYWORD", "Junk")) == [b""]
    m.logout()


def test_other_session_sees_keywords(daemon):
    deliver_numbered(daemon, 1)
    a = imap_raw_login(daemon)
    a.select()
    b = imap_raw_login(daemon)
    b.select()
    a.run("s", "STORE 1 +FLAGS.SILENT (Work)")
    got = b.run("n", "NOOP")
    # FLAGS first, then the message's new flags.
    assert got[0].startswith(b"* FLAGS (") and b"Work)" in got[0], got
    assert b"* 1 FETCH (FLAGS (Work))" in got, got


def test_keyword_limits(daemon):
    deliver_numbered(daemon, 1)
    c = imap_raw_login(daemon)
    c.select()
    for i in range(26):
        got = c.run("s%d" % i, "STORE 1 +FLAGS.SILENT (k%d)" % i)
        assert got[-1].startswith(b"s%d OK" % i), got
    # Full: no \* any more, and a 27th keyword is refused.
    got = c.run("p", "NOOP")
    got = c.select()
    perm = [r for r in got if b"PERMANENTFLAGS" in r][0]
    assert b"\\*" not in perm and b"k25" in perm, perm
    assert c.run("x", "STORE 1 +FLAGS (k26)")[-1].startswith(
        b"x NO [LIMIT]")
    # Known ones still work.
    assert c.run("y", "STORE 1 -FLAGS.SILENT (k0)")[-1].startswith(b"y OK")
    # A name longer than KEYWORD_NAME_MAX is refused.
    assert c.run("z", "STORE 1 +FLAGS (%s)" % ("x" * 129))[-1].startswith(
        b"z BAD")


def test_keywords_survive_restart(daemon):
    deliver_numbered(daemon, 2)
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    ok(m.uid("STORE", "2", "+FLAGS", "(\\Seen $label2 NonJunk)"))
    m.logout()
    daemon.restart()
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    assert b"$label2 NonJunk" in m.response("FLAGS")[1][-1]
    assert fetch_flags(m) == {1: "", 2: "\\Seen $label2 NonJunk"}
    m.logout()


def test_sigkill_during_store_keeps_keywords(daemon):
    """STOREs creating keywords on every message pipelined, SIGKILL as
    soon as a file shows a letter of the middle ones (STOREs still
    renaming files): after a restart every acknowledged keyword is on
    every message, each message has a name for every letter in its
    file name, and the keywords file reads whole."""
    count, stores = 300, 24
    deliver_numbered(daemon, count)
    c = imap_raw_login(daemon)
    c.select()
    assert c.run("a", "STORE 1:* +FLAGS.SILENT ($label1)")[-1].startswith(
        b"a OK")
    for i in range(2):
        got = c.run("s%d" % i, "STORE 1:* +FLAGS.SILENT (k%d)" % i)
        assert got[-1].startswith(b"s%d OK" % i), got
    c.send(b"".join(b"s%d STORE 1:* +FLAGS.SILENT (k%d)\r\n" % (i, i)
                    for i in range(2, stores)))
    # k<n> is letter 'b' + n: kill once k8 is on some file.
    cur = daemon.folder_dir("alice") / "cur"
    assert wait_until(lambda: any("j" in info(p) for p in cur.iterdir()),
                      10.0)
    daemon.kill9()
    acked = {0, 1}
    try:
        while True:
            r = c.response()
            if r is None:
                break
            m = re.match(rb"s(\d+) OK", r)
            if m:
                acked.add(int(m.group(1)))
    except (OSError, socket.timeout):
        pass
    c.close()
    daemon.start()
    kw = keywords_file(daemon)
    names = {}
    for line in kw.splitlines():
        idx, name = line.split(" ", 1)
        names[chr(ord("a") + int(idx))] = name
    assert names["a"] == "$label1"
    for p in daemon.message_files("alice"):
        for letter in info(p):
            if letter.islower():
                assert letter in names, (p.name, kw)
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    flags = fetch_flags(m)
    assert len(flags) == count
    for uid, f in flags.items():
        assert "$label1" in f.split(), (uid, f)
        for i in acked:
            assert "k%d" % i in f.split(), (uid, f, i)
    m.logout()


def test_dovecot_maildir_read_as_is(daemon):
    """A folder as Dovecot leaves it: dovecot-keywords with "<index>
    <name>" lines (a gap at index 2), and keyword letters after the
    flags in the file names."""
    deliver_numbered(daemon, 1)
    d = daemon.folder_dir("alice")
    (d / "dovecot-keywords").write_text(
        "0 $label1\n1 Junk\n3 $MDNSent\n")
    (d / "cur" / "1700000000.M1P1.dovecot,S=30:2,Sab").write_bytes(
        b"Subject: one\n\nfrom dovecot\n")
    (d / "cur" / "1700000001.M2P1.dovecot,S=30:2,FRd").write_bytes(
        b"Subject: two\n\nfrom dovecot\n")
    (d / "cur" / "1700000002.M3P1.dovecot,S=30:2,b").write_bytes(
        b"Subject: three\n\nfrom dovecot\n")
    give_to_owner(d, daemon.data_dir)
    m = imap_login(daemon)
    ok(m.select("INBOX"))
    assert m.response("FLAGS")[1] == [
        ("(%s $label1 Junk $MDNSent)" % SYSTEM).encode()]
    assert fetch_flags(m) == {1: "", 2: "\\Seen $label1 Junk",
                              3: "\\Answered \\Flagged $MDNSent",
                              4: "Junk"}
    # A new keyword takes the first free slot; the file keeps Dovecot's
    # format, so Dovecot reads it back.
    ok(m.uid("STORE", "4", "+FLAGS", "(NonJunk)"))
    assert keywords_file(daemon) == \
        "0 $label1\n1 Junk\n2 NonJunk\n3 $MDNSent\n"
    assert sorted(info(p) for p in daemon.message_files("alice")) == \
        ["", "FRd", "Sab", "bc"]
    m.logout()


def test_append_keywords(daemon):
    deliver_numbered(daemon, 1)
    m = imap_login(daemon)
    msg = make_message("appended")
    typ, data = m.append("INBOX", "(\\Seen $label1 Junk)", None, msg)
    assert typ == "OK", data
    ok(m.append("INBOX", "(junk)", None, msg))
    ok(m.create("Work"))
    ok(m.append("Work", "(NonJunk)", None, msg))
    assert keywords_file(daemon) == "0 $label1\n1 Junk\n"
    assert keywords_file(daemon, "Work") == "0 NonJunk\n"
    assert sorted(info(p) for p in daemon.message_files("alice")) == \
        ["", "Sab", "b"]
    ok(m.select("INBOX"))
    assert b"$label1 Junk" in m.response("FLAGS")[1][-1]
    assert fetch_flags(m) == {1: "", 2: "\\Seen $label1 Junk", 3: "Junk"}
    assert ok(m.uid("SEARCH", "KEYWORD", "Junk")) == [b"2 3"]
    ok(m.select("Work"))
    assert fetch_flags(m) == {1: "NonJunk"}
    m.logout()


def test_copy_move_keywords(daemon):
    """COPY and MOVE carry keywords by name: the target numbers them in
    its own dovecot-keywords."""
    deliver_numbered(daemon, 3)
    m = imap_login(daemon)
    ok(m.create("Kept"))
    # The target knows other keywords already, at other numbers.
    ok(m.append("Kept", "(Other Junk)", None, make_message("there")))
    ok(m.select("INBOX"))
    ok(m.uid("STORE", "1", "+FLAGS.SILENT", "(\\Flagged $label1)"))
    ok(m.uid("STORE", "2", "+FLAGS.SILENT", "(Junk NonJunk)"))
    assert keywords_file(daemon) == "0 $label1\n1 Junk\n2 NonJunk\n"
    ok(m.uid("COPY", "1:2", "Kept"))
    ok(m.uid("MOVE", "3", "Kept"))
    assert keywords_file(daemon, "Kept") == \
        "0 Other\n1 Junk\n2 $label1\n3 NonJunk\n"
    assert sorted(info(p) for p in daemon.message_files("alice", "Kept")) \
        == ["", "Fc", "ab", "bd"]
    ok(m.select("Kept"))
    assert fetch_flags(m) == {1: "Other Junk", 2: "\\Flagged $label1",
                              3: "Junk NonJunk", 4: ""}
    assert ok(m.uid("SEARCH", "KEYWORD", "junk")) == [b"1 3"]
    # Copied within the folder, the numbers stay.
    ok(m.uid("COPY", "3", "Kept"))
    assert fetch_flags(m, "5") == {5: "Junk NonJunk"}
    m.logout()


def test_copy_into_full_folder(daemon):
    deliver_numbered(daemon, 1)
    c = imap_raw_login(daemon)
    assert c.run("c", "CREATE Full")[-1].startswith(b"c OK")
    flags = " ".join("f%d" % i for i in range(26))
    got = c.run("a", "APPEND Full (%s) {1+}\r\nx" % flags)
    assert got[-1].startswith(b"a OK"), got
    got = c.run("b", "APPEND Full (more) {1+}\r\nx")
    assert got[-1].startswith(b"b NO [LIMIT]"), got
    c.select()
    assert c.run("s", "STORE 1 +FLAGS.SILENT (Junk)")[-1].startswith(
        b"s OK")
    assert c.run("d", "COPY 1 Full")[-1].startswith(b"d NO [LIMIT]")
    assert len(daemon.message_files("alice", "Full")) == 1
