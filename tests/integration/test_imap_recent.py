"""
\\Recent (RFC 3501 2.3.2) against the real daemon: a message is recent
in exactly one session, the first to SELECT the folder after it
arrived; EXAMINE shows it without taking it; STATUS (RECENT) counts
what no session has taken; FETCH FLAGS and SEARCH RECENT, NEW and OLD
use it; APPEND, COPY and MOVE make a message recent as delivery does;
mail arriving while two sessions have the folder selected is recent in
one of them, with "* n RECENT" after "* n EXISTS"; the claim outlives a
restart. imaplib sessions as a client sees them, raw lines for IDLE.
"""

from conftest import imap_login, imap_raw_login, make_message
from imap_msg_support import seen_before


def deliver(daemon, *subjects):
    daemon.deliver([make_message(s) for s in subjects])


def recent(m):
    """The last "* n RECENT" imaplib saw since it was last asked."""
    typ, data = m.response("RECENT")
    assert typ == "RECENT" and data[-1] is not None, data
    return int(data[-1])


def select(m, folder="INBOX", readonly=False):
    typ, data = m.select(folder, readonly=readonly)
    assert typ == "OK", data
    return recent(m)


def status_recent(m, folder="INBOX"):
    typ, data = m.status(folder, "(RECENT)")
    assert typ == "OK", data
    return int(data[0].split(b"RECENT ")[1].rstrip(b")"))


def search(m, key):
    typ, data = m.search(None, key)
    assert typ == "OK", data
    return [int(n) for n in data[0].split()]


def flags(m, seq):
    typ, data = m.fetch(str(seq), "(FLAGS)")
    assert typ == "OK", data
    return data[0].split(b"FLAGS ", 1)[1].rstrip(b")") + b")"


def test_first_select_takes_recent(daemon):
    deliver(daemon, "one", "two", "three")
    a, b = imap_login(daemon), imap_login(daemon)
    try:
        assert status_recent(a) == 3
        assert select(a) == 3
        assert status_recent(b) == 0
        assert select(b) == 0
        assert flags(a, 1) == b"(\\Recent)"
        assert flags(b, 1) == b"()"
        # Selecting again takes nothing back.
        a.close()
        assert select(a) == 0
    finally:
        a.logout()
        b.logout()


def test_examine_does_not_take_recent(daemon):
    deliver(daemon, "one", "two", "three")
    e, a = imap_login(daemon), imap_login(daemon)
    try:
        assert select(e, readonly=True) == 3
        assert flags(e, 2) == b"(\\Recent)"
        assert status_recent(a) == 3
        assert select(a) == 3
        # The read-only session keeps what it was shown.
        assert search(e, "RECENT") == [1, 2, 3]
        assert select(e, readonly=True) == 0
    finally:
        e.logout()
        a.logout()


def test_status_recent_counts_unclaimed(daemon):
    deliver(daemon, "one", "two")
    a, b = imap_login(daemon), imap_login(daemon)
    try:
        assert status_recent(b) == 2
        assert select(a) == 2
        assert status_recent(b) == 0
        a.close()
        deliver(daemon, "three")
        assert status_recent(b) == 1
        typ, data = b.status("INBOX", "(MESSAGES RECENT UNSEEN)")
        assert data == [b"INBOX (MESSAGES 3 RECENT 1 UNSEEN 3)"]
    finally:
        a.logout()
        b.logout()


def test_search_recent_new_old(daemon):
    deliver(daemon, "one", "two", "three")
    a, b = imap_login(daemon), imap_login(daemon)
    try:
        assert select(a) == 3
        assert select(b) == 0
        a.store("1", "+FLAGS", "(\\Seen)")
        assert search(a, "RECENT") == [1, 2, 3]
        assert search(a, "NEW") == [2, 3]
        assert search(a, "OLD") == []
        assert search(a, "NOT NEW") == [1]
        b.noop()
        assert search(b, "RECENT") == []
        assert search(b, "NEW") == []
        assert search(b, "OLD") == [1, 2, 3]
        assert search(b, "OLD UNSEEN") == [2, 3]
    finally:
        a.logout()
        b.logout()


def test_append_copy_move_make_recent(daemon):
    deliver(daemon, "one", "two", "three")
    a, b = imap_login(daemon), imap_login(daemon)
    try:
        assert a.create("Work")[0] == "OK"
        assert select(a) == 3
        assert a.append("Work", "(\\Seen)", None,
                        make_message("appended"))[0] == "OK"
        assert status_recent(b, "Work") == 1
        assert a.copy("1:2", "Work")[0] == "OK"
        assert a.uid("MOVE", "3", "Work")[0] == "OK"
        assert status_recent(b, "Work") == 4
        assert select(b, "Work") == 4
        assert flags(b, 1) == b"(\\Seen \\Recent)"
        assert search(b, "NEW") == [2, 3, 4]
        # Into the selected folder: recent in the session that has it
        # selected, which hears "* n RECENT" with "* n EXISTS".
        assert b.append("Work", None, None,
                        make_message("own"))[0] == "OK"
        typ, data = b.response("EXISTS")
        assert data[-1] == b"5"
        assert recent(b) == 5
        assert search(b, "RECENT") == [1, 2, 3, 4, 5]
        assert status_recent(a, "Work") == 0
    finally:
        a.logout()
        b.logout()


def idle_until_recent(c):
    """Lines an idling session gets up to its "* n RECENT"."""
    lines = []
    while not lines or not lines[-1].endswith(" RECENT"):
        line = c.line()
        assert line is not None, lines
        lines.append(line)
    return lines


def test_new_mail_recent_in_one_of_two_sessions(daemon):
    deliver(daemon, "old")
    seen_before(daemon)
    a, b = imap_raw_login(daemon), imap_raw_login(daemon)
    assert b"* 0 RECENT" in a.select()
    assert b"* 0 RECENT" in b.select()
    for c in (a, b):
        c.send(b"i IDLE\r\n")
        assert c.line() == "+ idling"
    deliver(daemon, "new")
    got = [idle_until_recent(a), idle_until_recent(b)]
    # Each hears EXISTS with RECENT; one session only has it recent.
    assert got[0][0] == got[1][0] == "* 2 EXISTS"
    assert sorted([got[0][-1], got[1][-1]]) == ["* 0 RECENT",
                                                "* 1 RECENT"]
    found = []
    for c in (a, b):
        c.send(b"DONE\r\n")
        assert c.line() == "i OK Idle completed"
        found.append(c.run("s", "SEARCH RECENT")[0])
        assert c.run("f", "FETCH 2 FLAGS")[0] in (
            b"* 2 FETCH (FLAGS ())", b"* 2 FETCH (FLAGS (\\Recent))")
    assert sorted(found) == [b"* SEARCH", b"* SEARCH 2"]


def test_new_mail_with_imaplib_noop(daemon):
    deliver(daemon, "old")
    a, b = imap_login(daemon), imap_login(daemon)
    try:
        assert select(a) == 1
        assert select(b) == 0
        deliver(daemon, "new")
        # The first session to ask learns of it first.
        b.noop()
        assert recent(b) == 1
        a.noop()
        assert recent(a) == 1       # still only "old"
        assert search(a, "RECENT") == [1]
        assert search(b, "RECENT") == [2]
    finally:
        a.logout()
        b.logout()


def test_recent_taken_stays_taken_after_restart(daemon):
    deliver(daemon, "one", "two")
    a = imap_login(daemon)
    assert select(a) == 2
    a.logout()
    daemon.restart()
    deliver(daemon, "three")
    b = imap_login(daemon)
    try:
        assert status_recent(b) == 1
        assert select(b) == 1
        assert search(b, "RECENT") == [3]
    finally:
        b.logout()
