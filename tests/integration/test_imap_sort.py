"""
SORT, THREAD and ESORT (RFC 5256, RFC 5957, RFC 5267) against the real
daemon: every sort key and REVERSE with its exact order on a folder of
messages made for it (APPENDed with chosen internal dates, one removed
first so UIDs and sequence numbers differ), search criteria, UID forms,
THREAD=ORDEREDSUBJECT and THREAD=REFERENCES, RETURN options, charsets
and errors, through raw lines and Python's imaplib.
"""

from conftest import imap_login, imap_raw_login


def msg(headers, body=b"hi\r\n"):
    return b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


# (internal date, message); sequence numbers 1..7, UIDs 2..8.
MSGS = [
    # 1
    ("05-Jan-2024 12:00:00 +0000", msg([
        b'From: "Zed Last" <zed@example.org>',
        b"To: bob@example.org",
        b"Subject: Hello world",
        b"Date: Mon, 01 Jan 2024 10:00:00 +0000",
        b"Message-ID: <1@example.org>"], b"x" * 300 + b"\r\n")),
    # 2: a reply to 1 by In-Reply-To
    ("01-Jan-2024 12:00:00 +0000", msg([
        b"From: alice@example.org",
        b'To: "Amy" <zoe@example.org>',
        b"Cc: Mike <mike@example.org>",
        b"Subject: Re: Hello world",
        b"Date: Tue, 02 Jan 2024 10:00:00 +0000",
        b"Message-ID: <2@example.org>",
        b"In-Reply-To: <1@example.org>"])),
    # 3: no Date: its internal date stands in
    ("03-Jan-2024 12:00:00 +0000", msg([
        b"From: Bob <bob@example.org>",
        b"To: carl@example.org",
        b"Subject: [list] Fwd: Budget (fwd)",
        b"Message-ID: <3@example.org>"], b"y" * 100 + b"\r\n")),
    # 4: a reply to 2 by References
    ("02-Jan-2024 12:00:00 +0000", msg([
        b"From: carl@example.org",
        b'To: "Bob" <bob@example.org>',
        b"Cc: ann@example.org",
        b"Subject: RE: Re: hello WORLD",
        b"Date: Thu, 04 Jan 2024 09:00:00 +0000",
        b"Message-ID: <4@example.org>",
        b"References: <1@example.org>\r\n <2@example.org>"])),
    # 5: 12:00 -0800 is 20:00 UTC; its parent is not in the folder
    ("04-Jan-2024 12:00:00 +0000", msg([
        b"From: =?UTF-8?Q?=C3=89mile?= <dave@example.org>",
        b"Subject: budget",
        b"Date: Wed, 03 Jan 2024 12:00:00 -0800",
        b"Message-ID: <5@example.org>",
        b"References: <gone@example.org>"], b"z" * 500 + b"\r\n")),
    # 6: a sibling of 5; an encoded "Re:"
    ("06-Jan-2024 12:00:00 +0000", msg([
        b"From: eve@example.org",
        b"To: Alice <alice@example.org>",
        b"Subject: =?UTF-8?Q?Re=3A_budget?=",
        b"Date: Fri, 05 Jan 2024 08:00:00 +0000",
        b"Message-ID: <6@example.org>",
        b"References: <gone@example.org>"])),
    # 7: no From, To, Subject or Message-ID
    ("07-Jan-2024 12:00:00 +0000", msg([
        b"Date: Sat, 06 Jan 2024 08:00:00 +0000"])),
]


def prepare(daemon):
    c = imap_raw_login(daemon)
    first = msg([b"Subject: removed"])
    for idate, m in [("01-Jan-2020 00:00:00 +0000", first)] + MSGS:
        got = c.run("ap", b'APPEND INBOX "%s" {%d+}\r\n' %
                    (idate.encode(), len(m)) + m)
        assert got[-1].startswith(b"ap OK"), got
    c.select()
    assert c.run("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")[-1].startswith(
        b"d OK")
    assert c.run("x", "EXPUNGE")[-1].startswith(b"x OK")
    return c


def sort(c, args, uid=False):
    got = c.run("s", ("UID SORT " if uid else "SORT ") + args)
    assert got[-1] == (b"s OK UID SORT completed" if uid
                       else b"s OK SORT completed"), got
    assert len(got) == 2 and got[0].startswith(b"* SORT"), got
    return [int(n) for n in got[0][len(b"* SORT"):].split()]


def test_sort_keys(daemon):
    c = prepare(daemon)
    by_size = sorted(range(1, 8), key=lambda i: (len(MSGS[i - 1][1]), i))
    cases = [
        ("(ARRIVAL)", [2, 4, 3, 5, 1, 6, 7]),
        ("(REVERSE ARRIVAL)", [7, 6, 1, 5, 3, 4, 2]),
        ("(DATE)", [1, 2, 3, 5, 4, 6, 7]),
        ("(REVERSE DATE)", [7, 6, 4, 5, 3, 2, 1]),
        ("(FROM)", [7, 2, 3, 4, 5, 6, 1]),
        ("(TO)", [5, 7, 6, 1, 4, 3, 2]),
        ("(CC)", [1, 3, 5, 6, 7, 4, 2]),
        ("(SUBJECT)", [7, 3, 5, 6, 1, 2, 4]),
        ("(REVERSE SUBJECT)", [1, 2, 4, 3, 5, 6, 7]),
        ("(SUBJECT REVERSE DATE)", [7, 6, 5, 3, 4, 2, 1]),
        ("(SIZE)", by_size),
        ("(REVERSE SIZE)", sorted(range(1, 8), key=lambda i: (
            -len(MSGS[i - 1][1]), i))),
        ("(DISPLAYFROM)", [7, 2, 3, 4, 6, 1, 5]),
        ("(DISPLAYTO)", [5, 7, 6, 2, 4, 1, 3]),
        ("(TO SUBJECT)", [7, 5, 6, 1, 4, 3, 2]),
        ("(TO REVERSE SUBJECT)", [5, 7, 6, 1, 4, 3, 2]),
    ]
    for keys, want in cases:
        assert sort(c, keys + " UTF-8 ALL") == want, keys
        assert sort(c, keys + " UTF-8 ALL", uid=True) == [
            n + 1 for n in want], keys


def test_sort_search(daemon):
    c = prepare(daemon)
    assert sort(c, "(DATE) UTF-8 SUBJECT budget") == [3, 5, 6]
    assert sort(c, "(REVERSE DATE) us-ascii SUBJECT budget") == [6, 5, 3]
    assert sort(c, '(SUBJECT) "UTF-8" OR FROM zed TO bob') == [1, 4]
    assert sort(c, "(ARRIVAL) UTF-8 2:4") == [2, 4, 3]
    assert sort(c, "(ARRIVAL) UTF-8 UID 2:4", uid=True) == [3, 4, 2]
    assert sort(c, "(SIZE) UTF-8 BODY zzz") == [5]
    assert sort(c, "(ARRIVAL) UTF-8 SUBJECT nothing") == []
    assert c.run("e", "SORT (DATE) UTF-8 SUBJECT nothing") == [
        b"* SORT", b"e OK SORT completed"]


def test_sort_errors(daemon):
    c = prepare(daemon)
    got = c.run("b", "SORT (DATE) KOI8-R ALL")
    assert got == [b"b NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported "
                   b"charset"], got
    for bad in ["SORT (BOGUS) UTF-8 ALL", "SORT DATE UTF-8 ALL",
                "SORT (DATE) UTF-8", "SORT () UTF-8 ALL",
                "SORT (REVERSE) UTF-8 ALL", "SORT RETURN (SAVE) (DATE) "
                "UTF-8 ALL", "THREAD BOGUS UTF-8 ALL",
                "THREAD REFERENCES UTF-8"]:
        got = c.run("b", bad)
        assert len(got) == 1 and got[0].startswith(b"b BAD "), (bad, got)
    got = c.run("b", "THREAD REFERENCES KOI8-R ALL")
    assert got[0].startswith(b"b NO [BADCHARSET (UTF-8 US-ASCII)]"), got
    # Not before SELECT.
    c2 = imap_raw_login(daemon)
    assert c2.run("n", "SORT (DATE) UTF-8 ALL")[-1].startswith(b"n BAD")


def test_thread(daemon):
    c = prepare(daemon)
    assert c.run("t", "THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD (1 2 4)((3)(5)(6))(7)", b"t OK THREAD completed"]
    assert c.run("t", "UID THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD (2 3 5)((4)(6)(7))(8)", b"t OK UID THREAD completed"]
    assert c.run("t", "THREAD ORDEREDSUBJECT UTF-8 ALL") == [
        b"* THREAD (1 (2)(4))(3 (5)(6))(7)", b"t OK THREAD completed"]
    assert c.run("t", "THREAD REFERENCES UTF-8 NOT 2") == [
        b"* THREAD (1 4)((3)(5)(6))(7)", b"t OK THREAD completed"]
    assert c.run("t", "THREAD REFERENCES UTF-8 SUBJECT nothing") == [
        b"* THREAD", b"t OK THREAD completed"]


def test_esort(daemon):
    c = prepare(daemon)
    assert c.run("e", "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 "
                 "ALL") == [
        b'* ESEARCH (TAG "e") MIN 1 MAX 7 ALL 1:3,5,4,6:7 COUNT 7',
        b"e OK SORT completed"]
    assert c.run("e", "UID SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 "
                 "ALL") == [
        b'* ESEARCH (TAG "e") UID MIN 2 MAX 8 ALL 2:4,6,5,7:8 COUNT 7',
        b"e OK UID SORT completed"]
    # RFC 5267's own example: MIN and MAX are the ends of the sorted
    # order, not the lowest and highest numbers.
    assert c.run("e", "SORT RETURN (MIN MAX) (REVERSE ARRIVAL) UTF-8 "
                 "ALL") == [
        b'* ESEARCH (TAG "e") MIN 7 MAX 2', b"e OK SORT completed"]
    assert c.run("e", "SORT RETURN () (SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "e") ALL 7,3,5:6,1:2,4', b"e OK SORT completed"]
    assert c.run("e", "SORT RETURN (COUNT MIN) (DATE) UTF-8 SUBJECT "
                 "nothing") == [
        b'* ESEARCH (TAG "e") COUNT 0', b"e OK SORT completed"]


def test_capability_and_imaplib(daemon):
    prepare(daemon)
    m = imap_login(daemon)
    try:
        caps = m.capabilities
        for cap in ["SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT",
                    "THREAD=REFERENCES", "ESORT"]:
            assert cap in caps, caps
        m.select("INBOX")
        assert m.sort("(REVERSE DATE)", "UTF-8", "ALL") == (
            "OK", [b"7 6 4 5 3 2 1"])
        assert m.uid("SORT", "(SUBJECT)", "UTF-8", "SUBJECT", "budget") == (
            "OK", [b"4 6 7"])
        assert m.thread("REFERENCES", "UTF-8", "ALL") == (
            "OK", [b"(1 2 4)((3)(5)(6))(7)"])
        assert m.uid("THREAD", "ORDEREDSUBJECT", "UTF-8", "ALL") == (
            "OK", [b"(2 (3)(5))(4 (6)(7))(8)"])
    finally:
        m.logout()


def test_keys_kept_between_commands(daemon):
    """The second SORT and THREAD take the keys kept by the first (in
    this session and in another); a new message and an expunged one are
    seen as they happen."""
    c = prepare(daemon)
    assert sort(c, "(SUBJECT) UTF-8 ALL") == [7, 3, 5, 6, 1, 2, 4]
    c2 = imap_raw_login(daemon)
    c2.select()
    assert sort(c2, "(SUBJECT) UTF-8 ALL") == [7, 3, 5, 6, 1, 2, 4]
    new = msg([b"Subject: [list] aardvark", b"From: a@example.org",
               b"Date: Sun, 31 Dec 2023 00:00:00 +0000",
               b"References: <3@example.org>"])
    got = c.run("ap", b'APPEND INBOX {%d+}\r\n' % len(new) + new)
    assert got[-1].startswith(b"ap OK"), got
    assert c.run("n", "NOOP")[-1].startswith(b"n OK")
    assert sort(c, "(SUBJECT) UTF-8 ALL") == [7, 8, 3, 5, 6, 1, 2, 4]
    assert sort(c, "(DATE) UTF-8 ALL") == [8, 1, 2, 3, 5, 4, 6, 7]
    assert c.run("t", "THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD (1 2 4)((3 8)(5)(6))(7)", b"t OK THREAD completed"]
    assert c.run("d", "STORE 3 +FLAGS.SILENT (\\Deleted)")[-1].startswith(
        b"d OK")
    assert c.run("x", "EXPUNGE")[-1].startswith(b"x OK")
    assert sort(c, "(SUBJECT) UTF-8 ALL") == [6, 7, 4, 5, 1, 2, 3]
    assert c2.run("n", "NOOP")[-1].startswith(b"n OK")
    assert sort(c2, "(REVERSE SUBJECT) UTF-8 ALL") == [1, 2, 3, 4, 5, 7, 6]


def test_recent_and_keywords(daemon):
    """RECENT, OLD, NEW, KEYWORD and UNKEYWORD pick the same messages in
    SORT and THREAD as in SEARCH."""
    c = prepare(daemon)
    assert c.run("k", "STORE 2,5 +FLAGS.SILENT (foo)")[-1].startswith(
        b"k OK")
    assert c.run("k", "STORE 7 +FLAGS.SILENT ($label1)")[-1].startswith(
        b"k OK")
    assert sort(c, "(DATE) UTF-8 RECENT") == [1, 2, 3, 5, 4, 6, 7]
    assert sort(c, "(DATE) UTF-8 OLD") == []
    assert sort(c, "(DATE) UTF-8 NEW") == [1, 2, 3, 5, 4, 6, 7]
    assert sort(c, "(DATE) UTF-8 KEYWORD foo") == [2, 5]
    assert sort(c, "(REVERSE DATE) UTF-8 KEYWORD FOO", uid=True) == [6, 3]
    assert sort(c, "(DATE) UTF-8 KEYWORD $label1") == [7]
    assert sort(c, "(DATE) UTF-8 UNKEYWORD foo") == [1, 3, 4, 6, 7]
    assert sort(c, "(DATE) UTF-8 KEYWORD unknown") == []
    assert c.run("e", "SORT RETURN (COUNT) (DATE) UTF-8 KEYWORD foo") == [
        b'* ESEARCH (TAG "e") COUNT 2', b"e OK SORT completed"]
    assert c.run("t", "THREAD REFERENCES UTF-8 KEYWORD foo") == [
        b"* THREAD (2)(5)", b"t OK THREAD completed"]
    assert c.run("t", "THREAD ORDEREDSUBJECT UTF-8 RECENT KEYWORD foo") == [
        b"* THREAD (2)(5)", b"t OK THREAD completed"]
    # Another session sees none of them as recent.
    c2 = imap_raw_login(daemon)
    c2.select()
    assert sort(c2, "(DATE) UTF-8 RECENT") == []
    assert sort(c2, "(DATE) UTF-8 OLD KEYWORD foo") == [2, 5]
    assert c2.run("t", "THREAD REFERENCES UTF-8 RECENT") == [
        b"* THREAD", b"t OK THREAD completed"]
