"""
SEARCH and UID SEARCH against the real daemon: every RFC 3501 search key
with its exact result on mail delivered by LMTP (and one APPENDed message
for an internal date in the past), sequence and UID sets, NOT, OR and
groups, CHARSET and BADCHARSET, syntax errors, and messages expunged by
another session.
"""

import re
import time

from conftest import give_to_owner, imap_login, imap_raw_login
from imap_msg_support import deliver
from imap_search_support import MSGS, prepare

CAFE = "caf\u00e9".encode()


def search(c, program, uid=False):
    tag = "s"
    got = c.run(tag, ("UID SEARCH " if uid else "SEARCH ") + program
                if isinstance(program, str)
                else (b"UID SEARCH " if uid else b"SEARCH ") + program)
    assert len(got) == 2, got
    assert got[1] == b"s OK %sSEARCH completed" % (b"UID " if uid else b"")
    assert got[0].startswith(b"* SEARCH"), got
    return [int(n) for n in got[0][len(b"* SEARCH"):].split()]


def check(c, cases, uid=False):
    for program, expected in cases:
        assert search(c, program, uid) == expected, program


def test_flag_keys(daemon):
    c = prepare(daemon)
    check(c, [
        ("ALL", [1, 2, 3, 4, 5, 6]),
        ("SEEN", [1, 3]),
        ("UNSEEN", [2, 4, 5, 6]),
        ("ANSWERED", [1]),
        ("UNANSWERED", [2, 3, 4, 5, 6]),
        ("FLAGGED", [2]),
        ("UNFLAGGED", [1, 3, 4, 5, 6]),
        ("DELETED", [3]),
        ("UNDELETED", [1, 2, 4, 5, 6]),
        ("DRAFT", [4]),
        ("UNDRAFT", [1, 2, 3, 5, 6]),
        # An earlier session took \Recent; mailbell keeps no keywords.
        ("NEW", []),
        ("RECENT", []),
        ("OLD", [1, 2, 3, 4, 5, 6]),
        ("KEYWORD $Junk", []),
        ("UNKEYWORD $Junk", [1, 2, 3, 4, 5, 6]),
    ])
    # The exact line for an empty result.
    assert c.run("e", "SEARCH NEW") == [b"* SEARCH", b"e OK SEARCH completed"]


def test_header_and_text_keys(daemon):
    c = prepare(daemon)
    check(c, [
        ("FROM alice", [1]),
        ("FROM \"Alice A\"", [1]),
        ("FROM EXAMPLE.COM", [3]),
        ("TO alice", [2]),
        ("TO bob", [1]),
        ("CC carol", [1]),
        ("BCC dave", [2]),
        ("SUBJECT lunch", [1, 4]),
        ("SUBJECT LUNCH", [1, 4]),
        (b"SUBJECT {%d+}\r\n" % len(CAFE) + CAFE, [2]),
        ("HEADER X-Priority 1", [2]),
        ("HEADER x-priority \"\"", [2]),
        ("HEADER X-Missing \"\"", []),
        ("BODY noon", [1]),
        ("BODY lunch", []),
        (b"BODY {%d+}\r\n" % len(CAFE + b" au lait") + CAFE + b" au lait",
         [4]),
        ("TEXT lunch", [1, 4]),
        ("TEXT \"report data\"", [3]),
        ("TEXT frank", [6]),
    ])


def test_address_keys_search_parsed_addresses(daemon):
    """FROM, TO, CC and BCC search the addresses as ENVELOPE reads them
    (comments and folding gone, display names decoded), not the raw
    field."""
    deliver(daemon, [
        b"From: <user (comment)@ (c) domain.org>\r\n"
        b"To: =?utf-8?q?J=C3=B6rg?= <j@x.org>\r\n"
        b"Cc: Team: ann@t.org,\r\n  bo@t.org;\r\n"
        b"Subject: one\r\n\r\nbody\r\n",
        b"From: =?utf-8?q?J=C3=B6rg?= <j@x.org>\r\n"
        b"Subject: two\r\n\r\nbody\r\n",
    ])
    c = imap_raw_login(daemon)
    c.select()
    joerg = "J\u00f6rg".encode()
    check(c, [
        ("FROM user@domain.org", [1]),
        ("FROM USER@DOMAIN", [1]),
        ("FROM comment", []),
        ("HEADER From comment", [1]),
        (b"CHARSET UTF-8 FROM {%d+}\r\n" % len(joerg) + joerg, [2]),
        (b"CHARSET UTF-8 TO {%d+}\r\n" % len(joerg.upper()) +
         joerg.upper(), [1]),
        (b"FROM {%d+}\r\n" % len(joerg + b" <j@") + joerg + b" <j@", [2]),
        ("FROM =?utf-8?q?", []),
        ("CC team", [1]),
        ("CC bo@t.org", [1]),
        ("OR FROM j@x.org TO j@x.org", [1, 2]),
    ])


def test_size_and_date_keys(daemon):
    c = prepare(daemon)
    sizes = {}
    for r in c.run("z", "FETCH 1:* RFC822.SIZE")[:-1]:
        seq, size = r.split()[1], r.split()[-1].rstrip(b")")
        sizes[int(seq)] = int(size)
    assert max(sizes, key=sizes.get) == 3
    s3 = sizes[3]
    today = time.strftime("%d-%b-%Y", time.localtime())
    check(c, [
        ("LARGER %d" % (s3 - 1), [3]),
        ("LARGER %d" % s3, []),
        ("SMALLER %d" % s3, [1, 2, 4, 5, 6]),
        ("SMALLER %d" % sizes[1], [s for s in sizes if sizes[s] <
                                    sizes[1]]),
        # Internal dates: delivery time, and 5-Mar-2020 for the appended.
        ("ON 5-Mar-2020", [6]),
        ("BEFORE 6-Mar-2020", [6]),
        ("BEFORE 5-Mar-2020", []),
        ("SINCE 6-Mar-2020", [1, 2, 3, 4, 5]),
        ("SINCE " + today, [1, 2, 3, 4, 5]),
        ("ON " + today, [1, 2, 3, 4, 5]),
        ("BEFORE " + today, [6]),
        # Sent dates as written in Date: (message 3 has none).
        ("SENTON 2-Jan-2024", [2]),
        ("SENTON 3-Jan-2024", [4]),
        ("SENTBEFORE 2-Jan-2024", [1, 6]),
        ("SENTSINCE 3-Jan-2024", [4, 5]),
        ("SENTSINCE 1-Jan-1970", [1, 2, 4, 5, 6]),
        ("NOT SENTSINCE 1-Jan-1970", [3]),
    ])


def test_sets_and_combinations(daemon):
    c = prepare(daemon)
    check(c, [
        ("2:4", [2, 3, 4]),
        ("5:*", [5, 6]),
        ("*", [6]),
        ("1,3,5 UNSEEN", [5]),
        ("9", []),
        ("UID 2:3", [2, 3]),
        ("UID 5:*", [5, 6]),
        ("UID 100:*", [6]),
        ("NOT UID 1:5", [6]),
        ("NOT SEEN", [2, 4, 5, 6]),
        ("OR FLAGGED DRAFT", [2, 4]),
        ("OR (SEEN ANSWERED) DELETED", [1, 3]),
        ("OR OR FROM alice FROM bob SUBJECT misc", [1, 2, 5]),
        ("NOT (OR SEEN FLAGGED)", [4, 5, 6]),
        ("(UNSEEN) (SUBJECT lunch)", [4]),
        ("UNDELETED SINCE 1-Jan-2000 NOT FROM eve TEXT a", [1, 2, 4, 6]),
    ])


def test_uid_search_after_expunge(daemon):
    c = prepare(daemon)
    assert c.run("x", "EXPUNGE") == [b"* 3 EXPUNGE", b"x OK EXPUNGE completed"]
    check(c, [("ALL", [1, 2, 3, 4, 5]), ("SUBJECT misc", [4])])
    check(c, [("ALL", [1, 2, 4, 5, 6]), ("SUBJECT misc", [5]),
              ("UID 3:4", [4]), ("4:5", [5, 6])], uid=True)


def test_charset(daemon):
    c = prepare(daemon)
    check(c, [
        (b"CHARSET UTF-8 SUBJECT {%d+}\r\n" % len(CAFE) + CAFE, [2]),
        ("CHARSET utf-8 FROM alice", [1]),
        ("CHARSET US-ASCII FROM alice", [1]),
    ])
    assert c.run("b", "SEARCH CHARSET KOI8-R FROM alice") == [
        b"b NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"]


def test_bad_programs(daemon):
    c = prepare(daemon)
    for i, (program, reply) in enumerate([
            ("", b"BAD Empty search program"),
            ("FOO", b"BAD Unknown search key"),
            ("LARGER x", b"BAD Search key needs a number"),
            ("LARGER", b"BAD Search key needs a number"),
            ("SINCE", b"BAD Search key needs a date"),
            ("OR SEEN", b"BAD OR needs two search keys"),
            ("NOT", b"BAD NOT needs a search key"),
            ("HEADER Subject", b"BAD HEADER needs a string"),
            ("UID", b"BAD UID needs a sequence set"),
            ("CHARSET", b"BAD CHARSET needs a charset name"),
            ("()", b"BAD Empty search program"),
            ("SINCE 32-Jan-2000", None),
            ("0", None),
            ("NOT " * 64 + "ALL", b"BAD Search program nests too deeply")]):
        assert c.run("n%d" % i, "NOOP")[-1].endswith(b"OK NOOP completed")
        tag = "b%d" % i
        got = c.run(tag, ("SEARCH " + program).rstrip())
        assert len(got) == 1, (program, got)
        if reply is None:
            assert got[0].startswith(tag.encode() + b" BAD "), got
        else:
            assert got[0] == tag.encode() + b" " + reply, (program, got)


def test_expunged_by_another_session(daemon):
    c = prepare(daemon)
    other = imap_raw_login(daemon)
    other.select()
    assert other.run("x", "EXPUNGE") == [b"* 3 EXPUNGE",
                                         b"x OK EXPUNGE completed"]
    # SEARCH sends no EXPUNGE and keeps the numbers; the gone message can
    # no longer be read, so text keys skip it and say so (RFC 5530).
    got = c.run("a", "SEARCH ALL")
    assert got == [b"* SEARCH 1 2 3 4 5 6", b"a OK SEARCH completed"]
    assert c.run("t", "SEARCH TEXT report") == [
        b"* SEARCH",
        b"t OK [EXPUNGEISSUED] SEARCH completed, some messages were "
        b"expunged"]
    assert search(c, "DELETED") == [3]
    # UID SEARCH answers from the same view, then may send the EXPUNGE.
    assert c.run("u", "UID SEARCH ALL") == [
        b"* SEARCH 1 2 3 4 5 6", b"* 3 EXPUNGE", b"u OK UID SEARCH completed"]
    assert search(c, "ALL") == [1, 2, 3, 4, 5]


def test_imaplib_search(daemon):
    deliver(daemon, MSGS)
    m = imap_login(daemon)
    m.select("INBOX")
    assert m.search(None, "SUBJECT", "lunch") == ("OK", [b"1 4"])
    assert m.search(None, "OR", "FROM", "alice", "FROM", "eve") == (
        "OK", [b"1 5"])
    assert m.uid("SEARCH", "UID", "2:3") == ("OK", [b"2 3"])
    m.literal = CAFE
    assert m.search("UTF-8", "SUBJECT") == ("OK", [b"2"])
    m.logout()


def test_long_search_runs_in_slices(daemon_factory):
    """A search that reads thousands of files works in slices: its result
    is whole, and another session is answered meanwhile. The files are
    put in place before the daemon starts, as a migrated Maildir is."""
    daemon = daemon_factory(start=False)
    daemon.add_user("alice")
    for sub in ("cur", "new", "tmp"):
        (daemon.folder_dir("alice") / sub).mkdir(parents=True, exist_ok=True)
    cur = daemon.folder_dir("alice") / "cur"
    n = 3000
    for i in range(1, n + 1):
        body = b"needle %d\r\n" % i if i % 1000 == 7 else b"hay\r\n"
        (cur / ("1700000000.M%dP1.test:2," % i)).write_bytes(
            b"From: bulk@example.net\r\nSubject: n%d\r\n\r\n" % i + body)
    give_to_owner(daemon.folder_dir("alice"), daemon.data_dir)
    daemon.start()
    a = imap_raw_login(daemon)
    lines = a.select()
    assert b"* %d EXISTS" % n in lines
    b = imap_raw_login(daemon)
    b.select()
    a.send(b"s SEARCH BODY needle\r\n")
    t0 = time.monotonic()
    assert b.run("n", "NOOP") == [b"n OK NOOP completed"]
    noop = time.monotonic() - t0
    got = a.until("s")
    total = time.monotonic() - t0
    assert got[-1] == b"s OK SEARCH completed"
    assert len(got) == 2
    found = [int(x) for x in got[0].split()[2:]]
    assert len(found) == 3, got[0]
    subjects = a.run("f", "FETCH %s BODY.PEEK[HEADER.FIELDS (SUBJECT)]"
                     % ",".join(map(str, found)))
    # UIDs follow the file names' order, where M1007 comes before M7.
    assert sorted(re.search(rb"Subject: (n\d+)", r).group(1) for r in
                  subjects[:-1]) == [b"n1007", b"n2007", b"n7"]
    # The NOOP did not wait for the whole search (when it is long enough
    # to tell).
    if total > 1.0:
        assert noop < total / 2, (noop, total)


def test_header_keys_on_long_lf_only_header(daemon):
    """Header keys read only the header, which may be long, end its lines
    in LF alone, and have its empty line split across reads."""
    c = imap_raw_login(daemon)
    for pad in range(4080, 4100):
        msg = (b"From: far@example.net\n" +
               b"".join(b"X-Filler-%04d: %s\n" % (i, b"f" * 40)
                        for i in range(pad // 56)) +
               b"X-Pad: " + b"p" * (pad % 56) + b"\n"
               b"Subject: at the end %d\n\nbody has Subject: decoy\n" % pad)
        assert c.run("a", b"APPEND INBOX {%d+}\r\n" % len(msg) + msg
                     )[-1].startswith(b"a OK")
    c.select()
    assert search(c, "SUBJECT \"at the end 4090\"") == [11]
    assert search(c, "SUBJECT decoy") == []
    assert search(c, "TEXT decoy") == list(range(1, 21))
    assert search(c, "HEADER X-Filler-0003 \"\"") == list(range(1, 21))
    assert search(c, "FROM far SENTSINCE 1-Jan-1970") == []
