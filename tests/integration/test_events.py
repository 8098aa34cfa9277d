"""
The "message landed" event fires exactly once per new message, whatever
path the message took: LMTP, `mailbell deliver` in another process, or
another program writing into the Maildir (tmp/ then rename into new/, as
mutt and procmail do).
"""

import os
import socket
import time

import pytest

from conftest import give_to_owner, make_message, run_cli, wait_until

_seq = [0]


def drop_into_maildir(folder_dir, content, sub="new", info=""):
    """Write like a Maildir-aware program: unique name in tmp/, then
    rename into new/ (or cur/ with an info suffix)."""
    _seq[0] += 1
    name = "%d.M%dP%dQ%d.%s" % (int(time.time()), _seq[0] * 1000,
                                os.getpid(), _seq[0], socket.gethostname())
    tmp = folder_dir / "tmp" / name
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    final = folder_dir / sub / (name + info)
    os.rename(tmp, final)
    return final


def make_maildir(path):
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def settle_count(daemon, user, folder, expected):
    """Wait for expected events, then until the daemon has nothing left
    that could announce a duplicate; return them all.

    A second event for a message could only come from a folder sync the
    watcher started (a delivery announces itself before its reply), and
    wait_idle returns once every sync queued for changes made so far has
    announced what it found."""
    daemon.wait_landed(expected, user, folder, timeout=10)
    assert daemon.wait_idle(), daemon.log()
    return daemon.landed(user, folder)


@pytest.fixture
def watched(daemon_factory):
    """A daemon whose user alice already has an INBOX and a folder
    "Lists" on disk before it starts."""
    d = daemon_factory(start=False)
    d.add_user("alice")
    d.add_user("bob")
    make_maildir(d.folder_dir("alice"))
    make_maildir(d.folder_dir("alice", "Lists"))
    give_to_owner(d.folder_dir("alice"), d.data_dir)
    d.start()
    return d


def test_lmtp_one_event_per_recipient(daemon):
    body = make_message("event via lmtp")
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        assert [c.reply()[0], c.reply()[0]] == [250, 250]
    alice = settle_count(daemon, "alice", "INBOX", 1)
    bob = settle_count(daemon, "bob", "INBOX", 1)
    assert len(alice) == 1, daemon.log()
    assert len(bob) == 1, daemon.log()
    assert alice[0][3] == 1 and bob[0][3] == 1
    # The event's UID is the one in the UID list.
    _, entries = daemon.uidlist("alice")
    assert list(entries) == [1]
    assert alice[0][2] > 0
    assert len(daemon.landed()) == 2


def test_lmtp_repeated_deliveries_count_exactly(daemon):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        for i in range(5):
            assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
            assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(make_message("repeat %d" % i) + b".\r\n")
            assert c.reply()[0] == 250
    events = settle_count(daemon, "alice", "INBOX", 5)
    assert [e[3] for e in events] == [1, 2, 3, 4, 5], daemon.log()


def test_mailbell_deliver_one_event(daemon):
    r = run_cli("deliver", "-c", daemon.config, "-f", "sender@example.net",
                "alice@example.org", input=make_message("via deliver"))
    assert r.returncode == 0, r.stderr
    events = settle_count(daemon, "alice", "INBOX", 1)
    assert len(events) == 1, daemon.log()
    _, entries = daemon.uidlist("alice")
    assert [e[3] for e in events] == list(entries)


def test_mailbell_deliver_into_new_folder_one_event(daemon):
    r = run_cli("deliver", "-c", daemon.config, "-m", "Archive",
                "alice@example.org", input=make_message("into folder"))
    assert r.returncode == 0, r.stderr
    events = settle_count(daemon, "alice", "Archive", 1)
    assert len(events) == 1, daemon.log()
    assert daemon.landed("alice", "INBOX") == []


def test_external_program_into_new(watched):
    path = drop_into_maildir(watched.folder_dir("alice"),
                             make_message("dropped by procmail"))
    events = settle_count(watched, "alice", "INBOX", 1)
    assert len(events) == 1, watched.log()
    _, entries = watched.uidlist("alice")
    assert entries.get(events[0][3], "").split(":2,")[0] == path.name


def test_external_program_into_cur_with_flags(watched):
    drop_into_maildir(watched.folder_dir("alice"),
                      make_message("moved to cur by mutt"), sub="cur",
                      info=":2,S")
    events = settle_count(watched, "alice", "INBOX", 1)
    assert len(events) == 1, watched.log()


def test_external_program_into_existing_folder(watched):
    drop_into_maildir(watched.folder_dir("alice", "Lists"),
                      make_message("list mail"))
    events = settle_count(watched, "alice", "Lists", 1)
    assert len(events) == 1, watched.log()
    assert watched.landed("alice", "INBOX") == []


def test_external_burst_each_once(watched):
    for i in range(10):
        drop_into_maildir(watched.folder_dir("alice"),
                          make_message("burst %d" % i))
    events = settle_count(watched, "alice", "INBOX", 10)
    uids = [e[3] for e in events]
    assert sorted(uids) == list(range(1, 11)), watched.log()


def test_mixed_paths_no_duplicates(watched):
    # LMTP, deliver and a dropped file into one folder: three messages,
    # three events, three distinct UIDs.
    with watched.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(make_message("mixed lmtp") + b".\r\n")
        assert c.reply()[0] == 250
    r = run_cli("deliver", "-c", watched.config, "alice@example.org",
                input=make_message("mixed deliver"))
    assert r.returncode == 0, r.stderr
    drop_into_maildir(watched.folder_dir("alice"), make_message("mixed drop"))
    events = settle_count(watched, "alice", "INBOX", 3)
    assert sorted(e[3] for e in events) == [1, 2, 3], watched.log()


def test_mail_present_at_start_is_not_news(watched):
    drop_into_maildir(watched.folder_dir("alice"), make_message("before"))
    assert len(settle_count(watched, "alice", "INBOX", 1)) == 1
    watched.restart()
    # The syncs of the folders found at start are done once it is idle.
    assert watched.wait_idle(), watched.log()
    # Across both runs there is still exactly one event for it.
    assert len(watched.landed("alice", "INBOX")) == 1, watched.all_logs()
    assert wait_until(watched.alive, 1)
