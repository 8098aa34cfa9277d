"""
NOTIFY (RFC 5465): a session hears of other folders' new mail, flag
changes and expunges as "* STATUS", of folder and subscription changes
as "* LIST", and of its selected mailbox's changes between commands,
all caused by deliveries over LMTP and by a second session; the
refusals RFC 5465 asks for (BAD, NO [BADEVENT]); and the overflow of a
session that does not read.
"""

import socket

from conftest import PASSWORD, imap_raw_login, make_message

EVENTS = "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"


def told(c, timeout=10):
    """The next line the server sends without being asked."""
    c.sock.settimeout(timeout)
    return c.line()


def quiet(c):
    """Nothing waits: a NOOP gets its tagged OK alone."""
    assert c.cmd("q", "NOOP") == ["q OK NOOP completed"]


def test_status_option_and_nonexistent_mailboxes(daemon):
    with imap_raw_login(daemon) as a:
        assert a.cmd("c", "CREATE Work")[-1] == "c OK Create completed"
        uv = a.uidvalidity("Work")
        a.cmd("s", "SELECT INBOX")
        # The selected mailbox gets no STATUS; a name that is no folder
        # is no error (RFC 5465 6.6).
        assert a.cmd("n", "NOTIFY SET STATUS (SELECTED (MessageNew "
                     "MessageExpunge)) (MAILBOXES (Work INBOX Nope) "
                     "(MessageNew MessageExpunge FlagChange))") == [
            "* STATUS Work (MESSAGES 0 UIDNEXT 1 UIDVALIDITY %d UNSEEN 0)"
            % uv,
            "n OK Notify completed"]
        assert a.cmd("m", "NOTIFY SET (SUBTREE Nope (MessageNew "
                     "MessageExpunge))") == ["m OK Notify completed"]
        assert a.cmd("o", "NOTIFY NONE") == ["o OK Notify completed"]


def test_refusals(daemon):
    with imap_raw_login(daemon) as a:
        for events in ("AnnotationChange", "MailboxMetadataChange",
                       "ServerMetadataChange", "XNoSuchEvent"):
            assert a.cmd("e", "NOTIFY SET (PERSONAL (MessageNew "
                         "MessageExpunge %s))" % events) == [
                "e NO [BADEVENT (%s)] Unsupported event" % EVENTS]
        assert a.cmd("b", "NOTIFY SET (PERSONAL (MessageNew))") == [
            "b BAD MessageNew and MessageExpunge go together"]
        assert a.cmd("f", "NOTIFY SET (PERSONAL (FlagChange))") == [
            "f BAD FlagChange and AnnotationChange need MessageNew and "
            "MessageExpunge"]
        assert a.cmd("s", "NOTIFY SET (SELECTED (MailboxName))") == [
            "s BAD SELECTED takes message events only"]
        assert a.cmd("x", "NOTIFY GET") == ["x BAD NOTIFY takes SET or NONE"]
    with daemon.imap() as c:
        assert c.cmd("p", "NOTIFY NONE")[-1].startswith("p BAD")


def test_delivery_and_changes_in_other_folders(daemon):
    with imap_raw_login(daemon) as a, imap_raw_login(daemon) as b:
        b.cmd("c", "CREATE Work")
        uv_inbox = a.uidvalidity("INBOX")
        uv_work = a.uidvalidity("Work")
        a.cmd("s", "SELECT Sent")
        assert a.cmd("n", "NOTIFY SET (SELECTED (MessageNew "
                     "MessageExpunge)) (PERSONAL (MessageNew "
                     "MessageExpunge FlagChange))") == [
            "n OK Notify completed"]
        # Mail landing over LMTP, told with no command running.
        daemon.deliver([make_message("to the inbox")])
        assert told(a) == ("* STATUS INBOX (MESSAGES 1 UIDNEXT 2 "
                           "UIDVALIDITY %d UNSEEN 1)" % uv_inbox)
        # Another session's APPEND, flags and expunge in Work.
        assert b.cmd("a", "APPEND Work {5+}\r\nHello")[-1].startswith(
            "a OK [APPENDUID")
        assert told(a) == ("* STATUS Work (MESSAGES 1 UIDNEXT 2 "
                           "UIDVALIDITY %d UNSEEN 1)" % uv_work)
        b.cmd("s", "SELECT Work")
        b.cmd("f", "STORE 1 +FLAGS (\\Seen)")
        assert told(a) == ("* STATUS Work (MESSAGES 1 UIDNEXT 2 "
                           "UIDVALIDITY %d UNSEEN 0)" % uv_work)
        b.cmd("d", "STORE 1 +FLAGS (\\Deleted)")
        assert told(a) == ("* STATUS Work (MESSAGES 1 UIDNEXT 2 "
                           "UIDVALIDITY %d UNSEEN 0)" % uv_work)
        assert b.cmd("e", "EXPUNGE")[-1] == "e OK EXPUNGE completed"
        assert told(a) == ("* STATUS Work (MESSAGES 0 UIDNEXT 2 "
                           "UIDVALIDITY %d UNSEEN 0)" % uv_work)
        quiet(a)


def test_events_not_asked_for_are_not_told(daemon):
    with imap_raw_login(daemon) as a, imap_raw_login(daemon) as b:
        b.cmd("c", "CREATE Work")
        b.cmd("a", "APPEND Work {5+}\r\nHello")
        a.cmd("n", "NOTIFY SET (MAILBOXES Work (MessageNew "
              "MessageExpunge))")
        b.cmd("s", "SELECT Work")
        b.cmd("f", "STORE 1 +FLAGS (\\Flagged)")     # no FlagChange
        b.cmd("c2", "CREATE Other")                 # no MailboxName
        b.cmd("a2", "APPEND Other {5+}\r\nHello")   # not watched
        quiet(a)
        # A's own change is not told back to it (RFC 5465 5).
        a.cmd("a3", "APPEND Work {5+}\r\nHello")
        quiet(a)


def test_folder_names_and_subscriptions(daemon):
    with imap_raw_login(daemon) as a, imap_raw_login(daemon) as b:
        assert a.cmd("n", "NOTIFY SET (PERSONAL (MailboxName "
                     "SubscriptionChange))") == ["n OK Notify completed"]
        b.cmd("c", "CREATE Projects")
        assert told(a) == '* LIST (\\HasNoChildren) "." Projects'
        b.cmd("c", "CREATE Projects.Old")
        assert told(a) == '* LIST (\\HasNoChildren) "." Projects.Old'
        b.cmd("s", "SUBSCRIBE Projects")
        assert told(a) == ('* LIST (\\HasChildren \\Subscribed) "." '
                           'Projects')
        # One LIST per folder renamed, with its old name (RFC 5465 5.4);
        # subscriptions stay with the old name (RFC 3501 6.3.5).
        b.cmd("r", "RENAME Projects Done")
        assert told(a) == ('* LIST (\\HasChildren) "." Done '
                           '("OLDNAME" (Projects))')
        assert told(a) == ('* LIST (\\HasNoChildren) "." Done.Old '
                           '("OLDNAME" (Projects.Old))')
        b.cmd("u", "UNSUBSCRIBE Projects")
        assert told(a) == '* LIST (\\NonExistent) "." Projects'
        b.cmd("d", "DELETE Done.Old")
        assert told(a) == '* LIST (\\NonExistent) "." Done.Old'
        quiet(a)


def test_told_during_idle(daemon):
    with imap_raw_login(daemon) as a, imap_raw_login(daemon) as b:
        b.cmd("c", "CREATE Work")
        uv_work = a.uidvalidity("Work")
        a.cmd("s", "SELECT INBOX")
        a.cmd("n", "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
              "(PERSONAL (MessageNew MessageExpunge MailboxName))")
        a.send("i IDLE\r\n")
        assert a.line() == "+ idling"
        b.cmd("a", "APPEND Work {5+}\r\nHello")
        assert told(a) == ("* STATUS Work (MESSAGES 1 UIDNEXT 2 "
                           "UIDVALIDITY %d UNSEEN 1)" % uv_work)
        b.cmd("c", "CREATE Later")
        assert told(a) == '* LIST (\\HasNoChildren) "." Later'
        daemon.deliver([make_message("idle")])
        assert told(a) == "* 1 EXISTS"
        assert told(a) == "* 1 RECENT"
        a.send("DONE\r\n")
        assert a.line() == "i OK Idle completed"


def test_selected_mailbox_between_commands(daemon):
    with imap_raw_login(daemon) as a, imap_raw_login(daemon) as b:
        a.cmd("s", "SELECT INBOX")
        assert a.cmd("n", "NOTIFY SET (SELECTED (MessageNew (UID FLAGS "
                     "RFC822.SIZE) MessageExpunge FlagChange))") == [
            "n OK Notify completed"]
        msg = make_message("selected")
        daemon.deliver([msg])
        assert told(a) == "* 1 EXISTS"
        assert told(a) == "* 1 RECENT"
        size = len(daemon.messages("alice")[0])
        assert told(a) == ("* 1 FETCH (UID 1 FLAGS (\\Recent) "
                           "RFC822.SIZE %d)" % size)
        b.cmd("s", "SELECT INBOX")
        b.cmd("f", "UID STORE 1 +FLAGS (\\Flagged \\Deleted)")
        # RFC 5465 5.1: the FETCH carries the UID.
        assert told(a) == ("* 1 FETCH (UID 1 FLAGS (\\Flagged \\Deleted "
                           "\\Recent))")
        b.cmd("e", "UID EXPUNGE 1")
        assert told(a) == "* 1 EXPUNGE"
        quiet(a)


def test_selected_delayed_keeps_expunges(daemon):
    with imap_raw_login(daemon) as a, imap_raw_login(daemon) as b:
        daemon.deliver([make_message("one"), make_message("two")])
        a.cmd("s", "SELECT INBOX")
        a.cmd("n", "NOTIFY SET (SELECTED-DELAYED (MessageNew "
              "MessageExpunge))")
        b.cmd("s", "SELECT INBOX")
        b.cmd("m", "UID MOVE 1:2 Trash")
        b.cmd("a", "APPEND INBOX {5+}\r\nHello")
        # The new message at once; the expunges wait for a command that
        # may renumber (RFC 5465 6.1).
        assert told(a) == "* 3 EXISTS"
        assert told(a) == "* 3 RECENT"
        assert a.cmd("q", "NOOP") == ["* 1 EXPUNGE", "* 1 EXPUNGE",
                                      "q OK NOOP completed"]


def test_overflow_of_a_session_that_does_not_read(daemon):
    # A FETCH whose output the client does not read stalls with far more
    # than the kernel and the session buffer (256 KiB), so the LISTs of
    # another session's subscriptions pile up behind it.
    a = socket.socket()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    a.connect(("127.0.0.1", daemon.ports["imap"]))
    f = a.makefile("rb")
    f.readline()
    with imap_raw_login(daemon) as b:
        b.cmd("c", "CREATE Big")
        body = b"Subject: big\r\n\r\n" + b"x" * 100000 + b"\r\n"
        for i in range(100):
            b.send("a%d APPEND Big {%d+}\r\n" % (i, len(body)))
            b.send(body + b"\r\n")
            assert b.until_tagged("a%d" % i)[-1].startswith("a%d OK" % i)
        a.sendall(b"l LOGIN alice " + PASSWORD.encode() + b"\r\n"
                  b"s SELECT Big\r\n"
                  b"n NOTIFY SET (PERSONAL (SubscriptionChange))\r\n"
                  b"f FETCH 1:* BODY.PEEK[]\r\n")
        for i in range(150):
            b.cmd("s%d" % i, "SUBSCRIBE Topic%d" % i)
            b.cmd("u%d" % i, "UNSUBSCRIBE Topic%d" % i)
        a.settimeout(30)
        lines = []
        while True:
            line = f.readline()
            assert line, lines[-5:]
            if line.startswith(b"* LIST") or line.startswith(b"* OK") or \
                    line[:2] in (b"l ", b"s ", b"n ", b"f "):
                lines.append(line.rstrip(b"\r\n"))
            if line.startswith(b"f "):
                break
        assert lines[-2:] == [
            b"* OK [NOTIFICATIONOVERFLOW] Too many notifications waited, "
            b"NOTIFY NONE is in force",
            b"f OK FETCH completed"], lines[-5:]
        # NOTIFY NONE since.
        b.cmd("s", "SUBSCRIBE Quiet")
        a.sendall(b"q NOOP\r\n")
        assert f.readline() == b"q OK NOOP completed\r\n"
    a.close()
