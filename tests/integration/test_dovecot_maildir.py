"""
A Maildir written by Dovecot, opened by mailbell: a private Dovecot
(bench/benchlib.py's, IMAP on a free loopback port) stores messages
with keywords given at APPEND and by STORE, in INBOX and a subfolder,
and is stopped; its Maildir becomes a mailbell user's, and FETCH FLAGS
gives every message the same flags and keywords as Dovecot gave. Skipped
when Dovecot is not installed (scripts/install-deps.sh check installs
it).
"""

import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import SOURCE, give_to_owner, imap_login, make_message

# Keywords as mail clients set them: Thunderbird's label, the junk
# markers, a user's own.
KEYWORDS = ["$label1", "Junk", "NonJunk", "Project-X"]
# (folder, flags given at APPEND, flags added by STORE) per message.
MESSAGES = [
    ("INBOX", "\\Seen $label1", ""),
    ("INBOX", "", "Junk"),
    ("INBOX", "NonJunk", "Project-X \\Flagged"),
    ("INBOX", "", ""),
    ("INBOX", "$label1 Junk", "NonJunk Project-X \\Answered"),
    ("Work", "Project-X", "$label1"),
    ("Work", "", "\\Seen Junk"),
]


def flags_by_subject(m, folder):
    """{subject: set of flags but \\Recent} of folder in imaplib session
    m."""
    typ, _ = m.select(folder)
    assert typ == "OK"
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
        subject = re.search(rb"Subject: (\S+)", item[1])
        assert flags and subject, item
        out[subject.group(1).decode()] = set(
            flags.group(1).decode().split()) - {"\\Recent"}
    return out


def load_benchlib():
    """bench/benchlib.py, whose private Dovecot the benches use too."""
    sys.path.insert(0, str(SOURCE / "bench"))
    try:
        import benchlib
    finally:
        sys.path.pop(0)
    return benchlib


@pytest.fixture
def filled(tmp_path):
    """Store MESSAGES through a private Dovecot; returns (the stopped
    Dovecot, {folder: flags_by_subject}). Skips without dovecot."""
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (scripts/install-deps.sh "
                    "check installs dovecot-imapd)")
    Dovecot = load_benchlib().Dovecot
    dv = Dovecot(str(tmp_path), ["alice"], protocols=("imap",), tag="test")
    dv.start()
    seen = {}
    try:
        m = imap_login(dv.imap_port, "alice", load_benchlib().PASSWORD)
        assert m.create("Work")[0] == "OK"
        assert m.create("Work.Sub")[0] == "OK"
        assert m.subscribe("Work")[0] == "OK"
        assert m.subscribe("Work.Sub")[0] == "OK"
        for i, (folder, at_append, _) in enumerate(MESSAGES):
            typ, data = m.append(folder, "(%s)" % at_append if at_append
                                 else None, None, make_message("msg%d" % i))
            assert typ == "OK", data
        for folder in ("INBOX", "Work"):
            m.select(folder)
            mine = [x for x in MESSAGES if x[0] == folder]
            for seq, (_, _, added) in enumerate(mine, 1):
                if added:
                    typ, data = m.store(str(seq), "+FLAGS", "(%s)" % added)
                    assert typ == "OK", data
            seen[folder] = flags_by_subject(m, folder)
        m.logout()
    finally:
        dv.stop()
    return dv, seen


def subscribed(m):
    """The names imaplib session m has subscribed to."""
    typ, data = m.lsub()
    assert typ == "OK", data
    return sorted(re.search(rb'"\." "?([^"]*)"?$', x).group(1).decode()
                  for x in data if x)


def test_dovecot_keywords(daemon_factory, filled):
    dv, seen = filled
    maildir = dv.user_dir("alice")
    # What Dovecot was asked to store is what it gives.
    for i, (folder, at_append, added) in enumerate(MESSAGES):
        assert seen[folder]["msg%d" % i] == set(
            (at_append + " " + added).split()), (i, seen[folder])
    d = daemon_factory(start=False)
    d.add_user("alice")
    shutil.copytree(maildir, d.folder_dir("alice"), dirs_exist_ok=True)
    give_to_owner(d.folder_dir("alice"), d.data_dir)
    d.start()
    m = imap_login(d)
    try:
        for folder in ("INBOX", "Work"):
            assert flags_by_subject(m, folder) == seen[folder], folder
        # The folder offers each keyword as a flag it has.
        assert m.select("INBOX")[0] == "OK"
        _, data = m.response("FLAGS")
        offered = data[0].decode().strip("()").split()
        for kw in KEYWORDS:
            assert kw in offered, offered
    finally:
        m.logout()


def test_dovecot_subscriptions(daemon_factory, filled):
    """Dovecot 2.3's subscriptions file ("V\\t2" header, levels split by
    TAB) is read as the names it holds, and the file mailbell writes
    back is read by Dovecot as the same names."""
    dv, _ = filled
    maildir = Path(dv.user_dir("alice"))
    assert (maildir / "subscriptions").read_bytes().startswith(b"V\t2\n\n")
    d = daemon_factory(start=False)
    d.add_user("alice")
    shutil.copytree(maildir, d.folder_dir("alice"), dirs_exist_ok=True)
    give_to_owner(d.folder_dir("alice"), d.data_dir)
    d.start()
    # The first login adds the special folders, subscribed: the file is
    # written again.
    want = ["Drafts", "Junk", "Sent", "Trash", "Work", "Work.Sub"]
    m = imap_login(d)
    try:
        assert subscribed(m) == want
        assert m.subscribe("INBOX")[0] == "OK"
        assert m.unsubscribe("Work")[0] == "OK"
    finally:
        m.logout()
    want = ["Drafts", "INBOX", "Junk", "Sent", "Trash", "Work.Sub"]
    # Back to Dovecot.
    shutil.copy(d.folder_dir("alice") / "subscriptions",
                maildir / "subscriptions")
    dv.start()
    try:
        m = imap_login(dv.imap_port, "alice", load_benchlib().PASSWORD)
        assert subscribed(m) == want
        m.logout()
    finally:
        dv.stop()
