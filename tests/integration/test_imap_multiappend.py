"""
MULTIAPPEND (RFC 3502) against the real daemon: several messages in one
APPEND, each with its own flags, keywords and date, stored in order with
one APPENDUID giving every UID; a command one of whose messages fails
stores none of them; and a large batch is spooled to files as it
arrives instead of held in memory.
"""

import calendar
import imaplib
import os

from conftest import wait_until

# RFC 3502 section 6's example messages, CRLF line ends as sent.
RFC_MSG1 = (
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
    b"From: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n"
    b"Subject: afternoon meeting\r\n"
    b"To: mooch@owatagu.example.net\r\n"
    b"Message-Id: <B27397-0100000@Blurdybloop.example.COM>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n")
RFC_MSG2 = (
    b"Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\n"
    b"From: Joe Mooch <mooch@OWaTaGu.example.net>\r\n"
    b"Subject: Re: afternoon meeting\r\n"
    b"To: foobar@blurdybloop.example.com\r\n"
    b"Message-Id: <a0434793874930@OWaTaGu.example.net>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    b"\r\n"
    b"3:30 is fine with me.\r\n")
MSG = b"Subject: small\r\n\r\nbody\r\n"


def lit(msg):
    """A non-synchronising literal (RFC 7888)."""
    return b"{%d+}\r\n" % len(msg) + msg


def status(c, folder="INBOX"):
    return c.cmd("s", "STATUS %s (MESSAGES UIDNEXT)" % folder)[0]


def uidvalidity(c, folder):
    line = c.cmd("u", "STATUS %s (UIDVALIDITY)" % folder)[0]
    return int(line.split("UIDVALIDITY ")[1].rstrip(")"))


def test_rfc3502_example(daemon):
    """Section 6, synchronising literals as there: both messages stored
    in order, the second with its date; APPENDUID (RFC 4315) with both
    UIDs; a missing mailbox is TRYCREATE."""
    with daemon.imap() as c:
        c.login()
        c.cmd("c", "CREATE saved-messages")
        v = uidvalidity(c, "saved-messages")
        c.send(b"A003 APPEND saved-messages (\\Seen) {%d}\r\n"
               % len(RFC_MSG1))
        assert c.line() == "+ Ready for literal data"
        c.send(RFC_MSG1 + b' (\\Seen) " 7-Feb-1994 22:43:04 -0800" {%d}\r\n'
               % len(RFC_MSG2))
        assert c.line() == "+ Ready for literal data"
        c.send(RFC_MSG2 + b"\r\n")
        assert c.line() == "A003 OK [APPENDUID %d 1:2] Append completed" % v
        c.send(b"A004 APPEND bogusname (\\Flagged) {%d}\r\n" % len(MSG))
        assert c.line() == "A004 NO [TRYCREATE] Mailbox does not exist"

        c.select("saved-messages")
        got = c.run("f", "FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])")
        assert got[0].startswith(b"* 1 FETCH (FLAGS (\\Seen \\Recent) ")
        assert got[0].endswith(b"BODY[] {%d}\r\n" % len(RFC_MSG1) +
                               RFC_MSG1 + b")")
        assert got[1].startswith(b"* 2 FETCH (FLAGS (\\Seen \\Recent) ")
        assert got[1].endswith(b"BODY[] {%d}\r\n" % len(RFC_MSG2) +
                               RFC_MSG2 + b")")
        assert got[2] == b"f OK FETCH completed"
        # 22:43:04 -0800 is 06:43:04 UTC the next day.
        when = imaplib.Internaldate2tuple(got[1].split(b" BODY[]")[0] +
                                          b")")
        assert calendar.timegm(when) - (when.tm_gmtoff or 0) == \
            calendar.timegm((1994, 2, 8, 6, 43, 4))


def test_flags_keywords_dates_each(daemon):
    """Each message has its own flags, keywords and date; UIDs follow
    the order sent."""
    with daemon.imap() as c:
        c.login()
        v = uidvalidity(c, "INBOX")
        c.send(b"a APPEND INBOX (\\Flagged $label1) " + lit(b"A" + MSG) +
               b' "01-Jan-2001 00:00:00 +0000" ' + lit(b"B" + MSG) +
               b" () " + lit(b"C" + MSG) + b"\r\n")
        assert c.line() == "a OK [APPENDUID %d 1:3] Append completed" % v
        c.select()
        lines = c.cmd("g", "FETCH 1:3 (FLAGS INTERNALDATE)")
        assert lines[0].startswith(
            "* 1 FETCH (FLAGS (\\Flagged \\Recent $label1) INTERNALDATE ")
        assert lines[1].startswith(
            "* 2 FETCH (FLAGS (\\Recent) INTERNALDATE ")
        assert lines[2].startswith(
            "* 3 FETCH (FLAGS (\\Recent) INTERNALDATE ")
        when = imaplib.Internaldate2tuple(lines[1].encode())
        assert calendar.timegm(when) - (when.tm_gmtoff or 0) == \
            calendar.timegm((2001, 1, 1, 0, 0, 0))
        assert c.run("h", "FETCH 1:3 BODY.PEEK[HEADER]") == [
            b"* %d FETCH (BODY[HEADER] {19}\r\n%sSubject: small\r\n\r\n)"
            % (i + 1, x) for i, x in enumerate((b"A", b"B", b"C"))] + \
            [b"h OK FETCH completed"]


def test_bad_second_message_stores_none(daemon):
    """All or nothing when the second message's flags or form are
    wrong: the command is refused before anything is stored."""
    with daemon.imap() as c:
        c.login()
        c.send(b"a APPEND INBOX " + lit(MSG) + b" (\\Recent) " + lit(MSG) +
               b"\r\n")
        assert c.line() == "a BAD Invalid flags"
        c.send(b"b APPEND INBOX " + lit(MSG) + b" {0+}\r\n\r\n")
        assert c.line() == "b NO Empty message"
        c.send(b"c APPEND INBOX " + lit(MSG) + b" (\\Seen)\r\n")
        assert c.line() == "c BAD APPEND needs each message as a literal"
        c.send(b'd APPEND INBOX ' + lit(MSG) + b' "yesterday" ' + lit(MSG) +
               b"\r\n")
        assert c.line() == "d BAD Invalid date-time"
        c.send(b"e APPEND INBOX " + lit(MSG) + b" ~{3+}\r\na\x00b\r\n")
        assert c.line() == ("e NO [UNKNOWN-CTE] Binary content cannot be "
                            "stored; send it encoded")
        assert status(c) == "* STATUS INBOX (MESSAGES 0 UIDNEXT 1)"
        assert daemon.tmp_files("alice") == []


def test_folder_full_for_second_stores_none(daemon):
    """All or nothing when the folder cannot take the second message:
    its keywords are all taken, or it has one UID left. The first
    message, which alone would fit, is not kept either."""
    kws = " ".join("k%d" % i for i in range(26)).encode()
    with daemon.imap() as c:
        c.login()
        c.send(b"a APPEND INBOX (" + kws + b") " + lit(MSG) + b"\r\n")
        assert c.line().startswith("a OK [APPENDUID ")
        c.send(b"b APPEND INBOX " + lit(MSG) + b" ($new) " + lit(MSG) +
               b"\r\n")
        assert c.line() == ("b NO [LIMIT] No room for more keywords (or "
                            "UIDs) in this mailbox")
        assert status(c) == "* STATUS INBOX (MESSAGES 1 UIDNEXT 2)"

        c.cmd("c", "CREATE Work")
        v = uidvalidity(c, "Work")
    # One UID left, written while the daemon is down so that no sync of
    # its own writes the list over it.
    daemon.stop()
    path = daemon.folder_dir("alice", "Work") / "mailbell-uidlist"
    head, _ = daemon.uidlist("alice", "Work")
    assert head.split()[:3] == ["mailbell-uidlist", "2", str(v)]
    # (in the format of earlier versions, which is still read)
    path.write_text("mailbell-uidlist 1 %d 4294967294\n" % v)
    daemon.start()
    with daemon.imap() as c:
        c.login()
        c.send(b"d APPEND Work " + lit(MSG) + b" " + lit(MSG) + b"\r\n")
        assert c.line() == "d NO [LIMIT] Mailbox is full"
        c.send(b"e APPEND Work " + lit(MSG) + b"\r\n")
        assert c.line() == \
            "e OK [APPENDUID %d 4294967294] Append completed" % v
        assert len(daemon.message_files("alice", "Work")) == 1
        assert daemon.tmp_files("alice", "Work") == []


def fds_in(pid, folder_dir):
    """Descriptors of pid open on files under folder_dir/tmp."""
    tmp = str(folder_dir / "tmp") + "/"
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(tmp):
                n += 1
        except OSError:
            pass
    return n


def test_batch_spooled_not_held(daemon):
    """COUNT messages of 60 KiB, each under the 64 KiB a literal may
    stay in memory, together 12 MiB: past the first, every one is
    written to a spool file as it arrives (IMAP_LITERAL_INLINE_MAX), and
    no spool keeps a descriptor once its literal is in. Checked while
    the command waits for its final CRLF, then all are stored."""
    count = 200
    body = b"Subject: batch\r\n\r\n" + (b"x" * 78 + b"\r\n") * 768
    pid = daemon.proc.pid
    with daemon.imap() as c:
        c.login()
        v = uidvalidity(c, "INBOX")
        c.send(b"a APPEND INBOX" + b"".join(b" " + lit(body)
                                            for _ in range(count)))
        inbox = daemon.folder_dir("alice")
        assert wait_until(lambda: len(daemon.tmp_files("alice")) ==
                          count - 1, 30), len(daemon.tmp_files("alice"))
        assert fds_in(pid, inbox) == 0
        c.send(b"\r\n")
        assert c.line() == \
            "a OK [APPENDUID %d 1:%d] Append completed" % (v, count)
        assert daemon.tmp_files("alice") == []
        assert status(c) == "* STATUS INBOX (MESSAGES %d UIDNEXT %d)" % (
            count, count + 1)
        assert daemon.messages("alice")[-1] == body
