"""
FETCH and UID FETCH against the real daemon, on mail delivered by LMTP:
every attribute with its exact response (FLAGS, UID, INTERNALDATE,
RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]<partial> with
part numbers, HEADER, HEADER.FIELDS(.NOT), MIME and TEXT, RFC822,
RFC822.HEADER, RFC822.TEXT, the ALL/FAST/FULL macros), \\Seen set by
reading, UID FETCH, bad requests, a fetch larger than the output buffer,
a client leaving mid-fetch, and an expunge by another session that does
not renumber messages under FETCH.
"""

import fcntl
import imaplib
import os
import re
import struct
import time
import termios

from conftest import give_to_owner, imap_login, imap_raw_login, wait_until
from imap_msg_support import deliver, seen_before, stored

REPORT = (
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: Bob <bob@example.org>, carol@example.org\r\n"
    b"Cc: Team: dave@example.org;\r\n"
    b"Subject: Quarterly report\r\n"
    b"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
    b"Message-ID: <report.1@example.org>\r\n"
    b"In-Reply-To: <q.0@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    b"\r\n"
    b"This is a MIME message.\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Numbers are up.\r\n"
    b"Caf=C3=A9 closed.\r\n"
    b"--outer\r\n"
    b"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
    b"\r\n"
    b"JVBERi0xLjQK\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: Old <old@example.net>\r\n"
    b"Subject: earlier\r\n"
    b"\r\n"
    b"Earlier text.\r\n"
    b"--outer--\r\n")

REPORT_HEADER_END = REPORT.index(b"\r\n\r\n") + 4

PLAIN = (
    b"From: sender@example.net\r\n"
    b"To: alice@example.org\r\n"
    b"Subject: plain\r\n"
    b"\r\n"
    b"Just text.\r\n")

ENVELOPE = (
    b'("Tue, 05 Mar 2024 10:00:00 +0100" "Quarterly report" '
    b'(("Alice Example" NIL "alice" "example.org")) '
    b'(("Alice Example" NIL "alice" "example.org")) '
    b'(("Alice Example" NIL "alice" "example.org")) '
    b'(("Bob" NIL "bob" "example.org")(NIL NIL "carol" "example.org")) '
    b'((NIL NIL "Team" NIL)(NIL NIL "dave" "example.org")(NIL NIL NIL NIL)) '
    b'NIL "<q.0@example.org>" "<report.1@example.org>")')

INNER_ENVELOPE = (
    b'(NIL "earlier" (("Old" NIL "old" "example.net")) '
    b'(("Old" NIL "old" "example.net")) (("Old" NIL "old" "example.net")) '
    b'NIL NIL NIL NIL NIL)')

BODYSTRUCTURE = (
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 34 1 '
    b'NIL NIL NIL NIL)'
    b'("application" "pdf" ("name" "report.pdf") NIL NIL "base64" 12 NIL '
    b'("attachment" ("filename" "report.pdf")) NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 62 ' + INNER_ENVELOPE +
    b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 '
    b'NIL NIL NIL NIL) 3 NIL NIL NIL NIL) '
    b'"mixed" ("boundary" "outer") NIL NIL NIL)')

BODY = (
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 34 1)'
    b'("application" "pdf" ("name" "report.pdf") NIL NIL "base64" 12)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 62 ' + INNER_ENVELOPE +
    b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0) 3) '
    b'"mixed")')


def lit(data):
    return b"{%d}\r\n" % len(data) + data


def setup_two(daemon):
    """REPORT as message 1 (UID 1), PLAIN as message 2 (UID 2)."""
    deliver(daemon, [REPORT, PLAIN])
    seen_before(daemon)
    c = imap_raw_login(daemon)
    c.select()
    return c


# ---- attributes from memory ----

def test_flags_uid_size_internaldate(daemon):
    c = setup_two(daemon)
    files = daemon.message_files("alice")
    sizes = [len(stored(REPORT)), len(stored(PLAIN))]
    assert sorted(os.path.getsize(f) for f in files) == sorted(sizes)
    got = c.run("a", "FETCH 1:* (FLAGS UID RFC822.SIZE)")
    assert got == [
        b"* 1 FETCH (FLAGS () UID 1 RFC822.SIZE %d)" % sizes[0],
        b"* 2 FETCH (FLAGS () UID 2 RFC822.SIZE %d)" % sizes[1],
        b"a OK FETCH completed"]

    got = c.run("b", "FETCH 2 INTERNALDATE")
    m = re.fullmatch(rb'\* 2 FETCH \(INTERNALDATE "([^"]+)"\)', got[0])
    assert m, got
    # The file's mtime, as Dovecot reports it.
    when = imaplib.Internaldate2tuple(b'INTERNALDATE "' + m.group(1) + b'"')
    assert abs(time.mktime(when) - max(os.path.getmtime(f)
                                       for f in files)) < 2
    assert got[1] == b"b OK FETCH completed"


def test_macros(daemon):
    c = setup_two(daemon)
    size = len(stored(REPORT))
    got = c.run("a", "FETCH 1 FAST")
    date = re.search(rb'INTERNALDATE "[^"]+"', got[0]).group(0)
    assert got == [b"* 1 FETCH (FLAGS () %s RFC822.SIZE %d)" % (date, size),
                   b"a OK FETCH completed"]
    assert c.run("b", "FETCH 1 ALL") == [
        b"* 1 FETCH (FLAGS () %s RFC822.SIZE %d ENVELOPE %s)"
        % (date, size, ENVELOPE), b"b OK FETCH completed"]
    assert c.run("c", "fetch 1 full") == [
        b"* 1 FETCH (FLAGS () %s RFC822.SIZE %d ENVELOPE %s BODY %s)"
        % (date, size, ENVELOPE, BODY), b"c OK FETCH completed"]


# ---- structure ----

def test_envelope_body_bodystructure(daemon):
    c = setup_two(daemon)
    assert c.run("a", "FETCH 1 ENVELOPE") == [
        b"* 1 FETCH (ENVELOPE %s)" % ENVELOPE, b"a OK FETCH completed"]
    assert c.run("b", "FETCH 1 BODYSTRUCTURE") == [
        b"* 1 FETCH (BODYSTRUCTURE %s)" % BODYSTRUCTURE,
        b"b OK FETCH completed"]
    assert c.run("c", "FETCH 1 BODY") == [
        b"* 1 FETCH (BODY %s)" % BODY, b"c OK FETCH completed"]
    assert c.run("d", "FETCH 2 (ENVELOPE BODYSTRUCTURE)") == [
        b'* 2 FETCH (ENVELOPE (NIL "plain" '
        b'((NIL NIL "sender" "example.net")) '
        b'((NIL NIL "sender" "example.net")) '
        b'((NIL NIL "sender" "example.net")) '
        b'((NIL NIL "alice" "example.org")) NIL NIL NIL NIL) '
        b'BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL '
        b'"7bit" 12 1 NIL NIL NIL NIL))', b"d OK FETCH completed"]
    # Reading structure sets no flag.
    assert c.run("e", "FETCH 1:2 FLAGS") == [
        b"* 1 FETCH (FLAGS ())", b"* 2 FETCH (FLAGS ())",
        b"e OK FETCH completed"]


# ---- sections ----

def test_sections(daemon):
    c = setup_two(daemon)
    whole = stored(REPORT)
    header = whole[:len(whole) - len(REPORT) + REPORT_HEADER_END]
    text = REPORT[REPORT_HEADER_END:]
    part1 = b"Numbers are up.\r\nCaf=C3=A9 closed."
    part3 = (b"From: Old <old@example.net>\r\nSubject: earlier\r\n\r\n"
             b"Earlier text.")
    cases = [
        ("BODY.PEEK[]", b"BODY[] " + lit(whole)),
        ("BODY.PEEK[HEADER]", b"BODY[HEADER] " + lit(header)),
        ("BODY.PEEK[TEXT]", b"BODY[TEXT] " + lit(text)),
        ("BODY.PEEK[1]", b"BODY[1] " + lit(part1)),
        ("BODY.PEEK[1.MIME]", b"BODY[1.MIME] " + lit(
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")),
        ("BODY.PEEK[2]", b"BODY[2] " + lit(b"JVBERi0xLjQK")),
        ("BODY.PEEK[3]", b"BODY[3] " + lit(part3)),
        ("BODY.PEEK[3.HEADER]", b"BODY[3.HEADER] " + lit(
            b"From: Old <old@example.net>\r\nSubject: earlier\r\n\r\n")),
        ("BODY.PEEK[3.TEXT]", b"BODY[3.TEXT] " + lit(b"Earlier text.")),
        ("BODY.PEEK[3.1]", b"BODY[3.1] " + lit(b"Earlier text.")),
        ("BODY.PEEK[3.HEADER.FIELDS (subject)]",
         b"BODY[3.HEADER.FIELDS (SUBJECT)] " +
         lit(b"Subject: earlier\r\n\r\n")),
        ("BODY.PEEK[HEADER.FIELDS (Subject From)]",
         b"BODY[HEADER.FIELDS (SUBJECT FROM)] " + lit(
             b"From: Alice Example <alice@example.org>\r\n"
             b"Subject: Quarterly report\r\n\r\n")),
        ("BODY.PEEK[HEADER.FIELDS (X-None)]",
         b"BODY[HEADER.FIELDS (X-NONE)] " + lit(b"\r\n")),
        ("BODY.PEEK[HEADER.FIELDS.NOT (Return-Path Delivered-To From To Cc "
         "Subject Date Message-ID In-Reply-To)]",
         b"BODY[HEADER.FIELDS.NOT (RETURN-PATH DELIVERED-TO FROM TO CC "
         b"SUBJECT DATE MESSAGE-ID IN-REPLY-TO)] " + lit(
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")),
        # <partial>: the origin octet is named, the data is the window.
        ("BODY.PEEK[1]<0.7>", b"BODY[1]<0> " + lit(b"Numbers")),
        ("BODY.PEEK[1]<8.1000>", b"BODY[1]<8> " + lit(part1[8:])),
        ("BODY.PEEK[1]<100.5>", b"BODY[1]<100> " + lit(b"")),
        ("BODY.PEEK[]<0.10>", b"BODY[]<0> " + lit(whole[:10])),
        # Parts the message does not have.
        ("BODY.PEEK[4]", b"BODY[4] NIL"),
        ("BODY.PEEK[1.HEADER]", b"BODY[1.HEADER] NIL"),
        ("BODY.PEEK[2.1]", b"BODY[2.1] NIL"),
    ]
    for i, (att, expected) in enumerate(cases):
        tag = "s%d" % i
        got = c.run(tag, "FETCH 1 " + att)
        assert got == [b"* 1 FETCH (" + expected + b")",
                       tag.encode() + b" OK FETCH completed"], att

    # Several sections in one response, in the order asked.
    got = c.run("m", "FETCH 2 (BODY.PEEK[TEXT] UID BODY.PEEK[1] "
                "BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert got == [b"* 2 FETCH (BODY[TEXT] " + lit(b"Just text.\r\n") +
                   b" UID 2 BODY[1] " + lit(b"Just text.\r\n") +
                   b" BODY[HEADER.FIELDS (SUBJECT)] " +
                   lit(b"Subject: plain\r\n\r\n") + b")",
                   b"m OK FETCH completed"]
    # None of it set \Seen.
    assert c.run("f", "FETCH 1:2 FLAGS")[:2] == [
        b"* 1 FETCH (FLAGS ())", b"* 2 FETCH (FLAGS ())"]


def test_rfc822_items(daemon):
    c = setup_two(daemon)
    whole = stored(PLAIN)
    header = whole[:whole.index(b"\r\n\r\n") + 4]
    assert c.run("a", "FETCH 2 RFC822.HEADER") == [
        b"* 2 FETCH (RFC822.HEADER " + lit(header) + b")",
        b"a OK FETCH completed"]
    assert c.run("b", "FETCH 2 FLAGS") == [b"* 2 FETCH (FLAGS ())",
                                          b"b OK FETCH completed"]
    assert c.run("c", "FETCH 2 RFC822.TEXT") == [
        b"* 2 FETCH (RFC822.TEXT " + lit(b"Just text.\r\n") +
        b" FLAGS (\\Seen))", b"c OK FETCH completed"]
    assert c.run("d", "FETCH 1 (RFC822 FLAGS)") == [
        b"* 1 FETCH (RFC822 " + lit(stored(REPORT)) + b" FLAGS (\\Seen))",
        b"d OK FETCH completed"]
    # Already seen: no FLAGS added.
    assert c.run("e", "FETCH 2 RFC822") == [
        b"* 2 FETCH (RFC822 " + lit(whole) + b")", b"e OK FETCH completed"]


def test_body_sets_seen_peek_does_not(daemon):
    c = setup_two(daemon)
    assert c.run("a", "FETCH 2 BODY.PEEK[TEXT]")[0] == \
        b"* 2 FETCH (BODY[TEXT] " + lit(b"Just text.\r\n") + b")"
    assert c.run("b", "FETCH 2 BODY[TEXT]") == [
        b"* 2 FETCH (BODY[TEXT] " + lit(b"Just text.\r\n") +
        b" FLAGS (\\Seen))", b"b OK FETCH completed"]
    assert c.run("c", "FETCH 2 BODY[TEXT]") == [
        b"* 2 FETCH (BODY[TEXT] " + lit(b"Just text.\r\n") + b")",
        b"c OK FETCH completed"]
    # The flag is on disk: the file name carries S.
    names = [f.name for f in daemon.message_files("alice")]
    assert sum(1 for n in names if n.endswith(":2,S")) == 1, names

    # Read-only (EXAMINE): BODY[] behaves as BODY.PEEK[].
    c.select(examine=True)
    assert c.run("d", "FETCH 1 BODY[1]") == [
        b"* 1 FETCH (BODY[1] " + lit(b"Numbers are up.\r\nCaf=C3=A9 closed.")
        + b")", b"d OK FETCH completed"]
    assert c.run("e", "FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS ())"

    # A second session sees the \Seen set by the first on NOOP.
    c2 = imap_raw_login(daemon)
    c2.select()
    c.select()
    assert c.run("f", "FETCH 1 BODY[2]")[0] == \
        b"* 1 FETCH (BODY[2] " + lit(b"JVBERi0xLjQK") + b" FLAGS (\\Seen))"
    assert c2.run("n", "NOOP") == [b"* 1 FETCH (FLAGS (\\Seen))",
                                   b"n OK NOOP completed"]


def test_uid_fetch(daemon):
    c = setup_two(daemon)
    assert c.run("a", "UID FETCH 1:* FLAGS") == [
        b"* 1 FETCH (UID 1 FLAGS ())", b"* 2 FETCH (UID 2 FLAGS ())",
        b"a OK UID FETCH completed"]
    assert c.run("b", "UID FETCH 2 (UID FLAGS)") == [
        b"* 2 FETCH (UID 2 FLAGS ())", b"b OK UID FETCH completed"]
    # UIDs that do not exist are no error; "n:*" names the last UID.
    assert c.run("c", "UID FETCH 5:7 FLAGS") == [b"c OK UID FETCH completed"]
    assert c.run("d", "UID FETCH 100:* FLAGS") == [
        b"* 2 FETCH (UID 2 FLAGS ())", b"d OK UID FETCH completed"]
    assert c.run("e", "UID FETCH 2,1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]") == [
        b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] " +
        lit(b"Subject: Quarterly report\r\n\r\n") + b")",
        b"* 2 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] " +
        lit(b"Subject: plain\r\n\r\n") + b")",
        b"e OK UID FETCH completed"]


def test_imaplib_fetch(daemon):
    deliver(daemon, [REPORT, PLAIN])
    seen_before(daemon)
    m = imap_login(daemon)
    assert m.select("INBOX") == ("OK", [b"2"])
    typ, data = m.fetch("1:2", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
                        "(SUBJECT)])")
    assert typ == "OK"
    assert data[0][1] == b"Subject: Quarterly report\r\n\r\n"
    assert data[2][1] == b"Subject: plain\r\n\r\n"
    typ, data = m.uid("FETCH", "2", "(RFC822)")
    assert typ == "OK" and data[0][1] == stored(PLAIN)
    typ, data = m.fetch("2", "(FLAGS)")
    assert data == [b"2 (FLAGS (\\Seen))"]
    m.logout()


def test_bad_requests(daemon):
    c = setup_two(daemon)
    for i, (args, reply) in enumerate([
            ("3 FLAGS", b"BAD Invalid message sequence number"),
            ("1:5 FLAGS", b"BAD Invalid message sequence number"),
            ("0 FLAGS", None),
            ("1 (ALL)", b"BAD Unknown FETCH attribute"),
            ("1 ()", b"BAD Empty FETCH attribute list"),
            ("1 BOGUS", b"BAD Unknown FETCH attribute"),
            ("1 BODY[MIME]", b"BAD Invalid section"),
            ("1 BODY[1.FOO]", b"BAD Invalid section"),
            ("1 BODY[HEADER.FIELDS]",
             b"BAD HEADER.FIELDS needs a list of field names"),
            ("1 BODY.PEEK", b"BAD Unknown FETCH attribute"),
            ("1", b"BAD FETCH needs a sequence set and attributes"),
            ("x FLAGS", None)]):
        tag = "b%d" % i
        # A NOOP between BADs: ten in a row end the session.
        assert c.run("n%d" % i, "NOOP")[-1].endswith(b"OK NOOP completed")
        got = c.run(tag, "FETCH " + args)
        assert len(got) == 1, got
        if reply is None:
            assert got[0].startswith(tag.encode() + b" BAD "), got
        else:
            assert got[0] == tag.encode() + b" " + reply, (args, got)
    # Not selected: FETCH is refused by state.
    c.run("u", "UNSELECT")
    got = c.run("z", "FETCH 1 FLAGS")
    assert got[0].startswith(b"z BAD ")


def test_empty_mailbox(daemon):
    c = imap_raw_login(daemon)
    c.select()
    assert c.run("a", "UID FETCH 1:* FLAGS") == [b"a OK UID FETCH completed"]
    assert c.run("b", "FETCH 1:* FLAGS") == [
        b"b BAD Invalid message sequence number"]


# ---- large output ----

def big_message(i, size=90 * 1024):
    line = b"%05d " % i + b"x" * 72 + b"\r\n"
    body = line * (size // len(line))
    return (b"From: bulk@example.net\r\nSubject: bulk %d\r\n\r\n" % i) + body


def backed_up(sock):
    """A predicate: true once at least 16 KiB wait to be read on sock
    and no more arrived since it was last asked. 16 KiB is well under
    Linux's default TCP receive buffer (tcp_rmem's 87380 or 131072)."""
    last = [-1]

    def check():
        n = struct.unpack("i", fcntl.ioctl(sock, termios.FIONREAD,
                                           b"\0\0\0\0"))[0]
        steady = n == last[0] and n >= 16 * 1024
        last[0] = n
        return steady
    return check


def test_fetch_larger_than_output_buffer(daemon):
    """40 messages of 90 KB: several times the output high-water mark, so
    the FETCH waits for the client to read and resumes."""
    msgs = [big_message(i) for i in range(40)]
    deliver(daemon, msgs)
    c = imap_raw_login(daemon)
    c.select()
    c.send(b"a FETCH 1:* (UID BODY.PEEK[])\r\n")
    # Let the output back up first: the bytes waiting in our socket stop
    # growing once the kernel's buffers are full and the server holds
    # the rest.
    assert wait_until(backed_up(c.sock), 10)
    got = c.until("a")
    assert got[-1] == b"a OK FETCH completed"
    assert len(got) == 41
    for i, r in enumerate(got[:-1]):
        want = stored(msgs[i])
        assert r == (b"* %d FETCH (UID %d BODY[] " % (i + 1, i + 1) +
                     lit(want) + b")"), i
    assert c.run("n", "NOOP") == [b"n OK NOOP completed"]


def test_client_leaves_mid_fetch(daemon):
    deliver(daemon, [big_message(i) for i in range(20)])
    c = imap_raw_login(daemon)
    c.select()
    c.send(b"a FETCH 1:* BODY.PEEK[]\r\nb LOGOUT\r\n")
    c.file.read(1000)
    c.sock.close()
    assert daemon.wait_metric('sessions_active{service="imap"}', 0)
    assert daemon.alive()
    c2 = imap_raw_login(daemon)
    c2.select()
    assert c2.run("f", "FETCH 20 UID") == [b"* 20 FETCH (UID 20)",
                                           b"f OK FETCH completed"]


# ---- expunges ----

def test_expunge_does_not_renumber_under_fetch(daemon):
    deliver(daemon, [PLAIN.replace(b"plain", b"m%d" % i) for i in range(1, 4)])
    seen_before(daemon)
    a = imap_raw_login(daemon)
    a.select()
    b = imap_raw_login(daemon)
    b.select()
    assert b.run("d", "STORE 2 +FLAGS.SILENT (\\Deleted)") == [
        b"d OK STORE completed"]
    assert b.run("e", "EXPUNGE") == [b"* 2 EXPUNGE", b"e OK EXPUNGE completed"]

    # A still numbers the messages 1..3, and FETCH sends no EXPUNGE.
    got = a.run("f", "FETCH 1:3 (UID FLAGS)")
    assert got == [b"* 1 FETCH (UID 1 FLAGS ())",
                   b"* 2 FETCH (UID 2 FLAGS ())",
                   b"* 3 FETCH (UID 3 FLAGS ())",
                   b"f OK FETCH completed"]
    assert a.run("g", "FETCH 3 BODY.PEEK[HEADER.FIELDS (SUBJECT)]") == [
        b"* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] " +
        lit(b"Subject: m3\r\n\r\n") + b")", b"g OK FETCH completed"]
    # The expunged message's body is gone.
    got = a.run("h", "FETCH 2 BODY.PEEK[TEXT]")
    assert got == [b"h NO [EXPUNGEISSUED] Some messages were expunged"]
    # NOOP delivers the EXPUNGE; the numbers then shift.
    assert a.run("n", "NOOP") == [b"* 2 EXPUNGE", b"n OK NOOP completed"]
    assert a.run("i", "FETCH 2 UID") == [b"* 2 FETCH (UID 3)",
                                         b"i OK FETCH completed"]


# ---- a file written by another program ----

def test_lf_only_file_is_sent_with_crlf(daemon):
    c = imap_raw_login(daemon)
    c.select()
    d = daemon.folder_dir("alice")
    data = b"From: x@example.net\nSubject: lf\n\nline one\nline two\n"
    (d / "tmp" / "1700000000.lf.test").write_bytes(data)
    os.rename(d / "tmp" / "1700000000.lf.test",
              d / "new" / "1700000000.lf.test")

    def noop_sees_it():
        got = c.run("n", "NOOP")
        return got if b"* 1 EXISTS" in got else None
    got = wait_until(noop_sees_it, 10, interval=0.1)
    assert got and b"* 1 EXISTS" in got
    crlf = data.replace(b"\n", b"\r\n")
    assert c.run("a", "FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT])") == [
        b"* 1 FETCH (BODY[] " + lit(crlf) + b" BODY[TEXT] " +
        lit(b"line one\r\nline two\r\n") + b")", b"a OK FETCH completed"]


def test_long_fetch_runs_in_slices(daemon_factory):
    """FETCH of the structure of thousands of messages works in slices:
    every response arrives, in order, and another session is answered
    meanwhile. The files are in place before the daemon starts."""
    daemon = daemon_factory(start=False)
    daemon.add_user("alice")
    for sub in ("cur", "new", "tmp"):
        (daemon.folder_dir("alice") / sub).mkdir(parents=True, exist_ok=True)
    cur = daemon.folder_dir("alice") / "cur"
    n = 3000
    for i in range(n):
        (cur / ("1700000000.M%05dP1.test:2,S" % i)).write_bytes(
            b"From: bulk@example.net\r\nSubject: n%d\r\n\r\nhay\r\n" % i)
    give_to_owner(daemon.folder_dir("alice"), daemon.data_dir)
    daemon.start()
    seen_before(daemon)
    a = imap_raw_login(daemon)
    a.select()
    b = imap_raw_login(daemon)
    b.select()
    a.send(b"f FETCH 1:* (FLAGS ENVELOPE)\r\n")
    t0 = time.monotonic()
    assert b.run("n", "NOOP") == [b"n OK NOOP completed"]
    noop = time.monotonic() - t0
    got = a.until("f")
    total = time.monotonic() - t0
    assert got[-1] == b"f OK FETCH completed"
    assert len(got) == n + 1
    for i, r in enumerate(got[:-1]):
        assert r == (b'* %d FETCH (FLAGS (\\Seen) ENVELOPE (NIL "n%d" '
                     b'((NIL NIL "bulk" "example.net")) '
                     b'((NIL NIL "bulk" "example.net")) '
                     b'((NIL NIL "bulk" "example.net")) '
                     b'NIL NIL NIL NIL NIL))' % (i + 1, i)), r
    if total > 1.0:
        assert noop < total / 2, (noop, total)
