"""
A full disk, made real: the mail root on a small tmpfs (root only;
skipped otherwise), filled by a file beside the users' Maildirs and
freed again by removing it. Every command that writes answers the RFC
5530 code a client understands, NO [OVERQUOTA], leaves the store as it
was, and works again once there is room.
"""

import os
import shutil
import subprocess

import pytest

from conftest import make_message


@pytest.fixture
def full_disk(daemon_factory):
    """A daemon whose mail root is a 4 MiB tmpfs (unmounted at the end),
    and a function that fills it (fill(True)) or frees it (fill(False))."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    d = daemon_factory(start=False)
    mail = d.data_dir / "mail"
    mail.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700",
                        "tmpfs", str(mail)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode().strip())
    filler = mail / "filler"

    def fill(full):
        if not full:
            filler.unlink()
            return
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)

    try:
        d.add_user("alice")
        d.add_user("bob")
        d.start()
        yield d, fill
        d.stop()
    finally:
        subprocess.run(["umount", "-l", str(mail)], check=False)


def test_append_on_full_disk_is_overquota(full_disk):
    """APPEND on a full disk answers NO [OVERQUOTA] and stores nothing;
    once space is freed the same APPEND succeeds."""
    d, fill = full_disk
    msg = make_message("no room", "line\r\n" * 2000)
    with d.imap() as c:
        c.login()
        lines = c.cmd("a", "APPEND INBOX {%d+}\r\n" % len(msg) +
                      msg.decode())
        assert lines[-1].startswith("a OK [APPENDUID "), lines
        fill(True)
        lines = c.cmd("b", "APPEND INBOX {%d+}\r\n" % len(msg) +
                      msg.decode())
        assert lines[-1].startswith("b NO [OVERQUOTA] "), lines
        assert d.tmp_files("alice") == []
        assert len(d.message_files("alice")) == 1
        fill(False)
        lines = c.cmd("c", "APPEND INBOX {%d+}\r\n" % len(msg) +
                      msg.decode())
        assert lines[-1].startswith("c OK [APPENDUID "), lines
        lines = c.cmd("d", "STATUS INBOX (MESSAGES)")
        assert "(MESSAGES 2)" in lines[0], lines
    assert len(d.message_files("alice")) == 2


def test_multiappend_on_full_disk_keeps_none(full_disk):
    """MULTIAPPEND whose second message finds the disk full answers NO
    [OVERQUOTA], and the first, which fitted, is not kept either (RFC
    3502: all or nothing); nothing stays in tmp/."""
    d, fill = full_disk
    small = make_message("fits", "line\r\n" * 500)
    large = make_message("too big", "line\r\n" * 150000)
    cmd = b"APPEND INBOX (\\Seen) {%d+}\r\n%s {%d+}\r\n%s" % (
        len(small), small, len(large), large)
    with d.imap() as c:
        c.login()
        lines = c.cmd("a", "STATUS INBOX (MESSAGES)")
        assert "(MESSAGES 0)" in lines[0], lines
        fill(True)
        # Room for the small one only.
        filler = d.data_dir / "mail" / "filler"
        os.truncate(filler, filler.stat().st_size - 128 * 1024)
        c.send(b"b " + cmd + b"\r\n")
        lines = c.until_tagged("b")
        assert lines[-1].startswith("b NO [OVERQUOTA] "), lines
        assert d.tmp_files("alice") == []
        assert d.message_files("alice") == []
        fill(False)
        c.send(b"c " + cmd + b"\r\n")
        lines = c.until_tagged("c")
        assert lines[-1].startswith("c OK [APPENDUID "), lines
        assert lines[-1].split()[4] == "1:2]", lines
    assert len(d.message_files("alice")) == 2


def old_format_list(d, user, folder):
    """Write folder's UID list in the format of earlier versions, which
    is rewritten whole (a new file) at its first change: on a full disk
    that write fails, where appending a record to the list's last block
    may not."""
    head, entries = d.uidlist(user, folder)
    _magic, _version, uidvalidity, uidnext = head.split()
    path = d.folder_dir(user, folder) / "mailbell-uidlist"
    path.write_text("mailbell-uidlist 1 %s %s\n" % (uidvalidity, uidnext) +
                    "".join("%d %s\n" % (uid, name)
                            for uid, name in sorted(entries.items())))


def test_copy_on_full_disk_is_overquota(full_disk):
    """COPY whose UID list cannot be written answers NO [OVERQUOTA] and
    leaves the target as it was."""
    d, fill = full_disk
    d.deliver([make_message("one"), make_message("two")],
              "alice@example.org")
    with d.imap() as c:
        c.login()
        assert c.cmd("a", "SELECT INBOX")[-1].startswith("a OK ")
        assert c.cmd("b", "STATUS Trash (MESSAGES)")[-1].startswith("b OK")
        old_format_list(d, "alice", "Trash")
        fill(True)
        lines = c.cmd("c", "COPY 1:2 Trash")
        assert lines[-1].startswith("c NO [OVERQUOTA] "), lines
        fill(False)
        assert d.message_files("alice", "Trash") == []
        assert d.tmp_files("alice", "Trash") == []
        lines = c.cmd("d", "COPY 1:2 Trash")
        assert lines[-1].startswith("d OK [COPYUID "), lines
    assert len(d.message_files("alice", "Trash")) == 2


def test_move_on_full_disk_is_overquota(full_disk):
    """MOVE that cannot commit answers NO [OVERQUOTA], and the messages
    stay where they were (nothing lost, nothing doubled)."""
    d, fill = full_disk
    d.deliver([make_message("one"), make_message("two")],
              "alice@example.org")
    with d.imap() as c:
        c.login()
        assert c.cmd("a", "SELECT INBOX")[-1].startswith("a OK ")
        assert c.cmd("s", "STATUS Junk (MESSAGES)")[-1].startswith("s OK")
        old_format_list(d, "alice", "Junk")
        fill(True)
        lines = c.cmd("b", "MOVE 1:2 Junk")
        assert lines[-1].startswith("b NO [OVERQUOTA] "), lines
        assert not any("EXPUNGE" in l for l in lines), lines
        fill(False)
        lines = c.cmd("c", "STATUS Junk (MESSAGES)")
        assert "(MESSAGES 0)" in lines[0], lines
    assert len(d.message_files("alice")) == 2
    assert d.message_files("alice", "Junk") == []


def test_create_on_full_disk_leaves_no_folder(full_disk):
    """CREATE whose UID list cannot be written answers NO [OVERQUOTA]
    and leaves no half-made folder: LIST does not show it and nothing of
    it is on disk. Once there is room the same CREATE succeeds."""
    d, fill = full_disk
    with d.imap() as c:
        c.login()
        fill(True)
        lines = c.cmd("a", "CREATE Projects")
        assert lines[-1].startswith("a NO [OVERQUOTA] "), lines
        lines = c.cmd("b", 'LIST "" "*"')
        assert lines[-1].startswith("b OK "), lines
        assert not any("Projects" in l for l in lines), lines
        assert not d.folder_dir("alice", "Projects").exists()
        fill(False)
        lines = c.cmd("c", "CREATE Projects")
        assert lines[-1].startswith("c OK "), lines
        lines = c.cmd("d", "SELECT Projects")
        assert lines[-1].startswith("d OK "), lines
    assert (d.folder_dir("alice", "Projects") / "mailbell-uidlist").exists()


def test_first_login_on_full_disk_makes_no_half_folders(full_disk):
    """A first login makes Sent, Drafts, Trash and Junk, each subscribed.
    On a full disk the login still succeeds but no half-made special
    folder is left (one left unsubscribed would stay so); the next login
    with room makes them all, subscribed."""
    d, fill = full_disk
    fill(True)
    with d.imap() as c:
        c.login("bob")
        lines = c.cmd("a", 'LIST "" "*"')
        assert lines[-1].startswith("a OK "), lines
        assert lines[:-1] == ['* LIST (\\HasNoChildren) "." INBOX'], lines
    fill(False)
    with d.imap() as c:
        c.login("bob")
        lines = c.cmd("b", 'LSUB "" "*"')
        assert lines[-1].startswith("b OK "), lines
        for name in ("Sent", "Drafts", "Trash", "Junk"):
            assert any(l.endswith(" " + name) for l in lines), lines


def test_create_special_use_on_full_disk(full_disk):
    """CREATE ... (USE (...)) whose folder fits but whose special-use
    file does not answers NO [OVERQUOTA] too, not a server bug, and
    leaves no folder without its use; with room it succeeds."""
    d, fill = full_disk
    filler = d.data_dir / "mail" / "filler"
    with d.imap() as c:
        c.login()
        fill(True)
        # Room for one page: the folder's UID list, not the special-use
        # file written after it.
        os.truncate(filler, os.stat(filler).st_size - 4096)
        lines = c.cmd("a", "CREATE Stash (USE (\\Archive))")
        assert lines[-1].startswith("a NO [OVERQUOTA] "), lines
        assert not d.folder_dir("alice", "Stash").exists()
        fill(False)
        lines = c.cmd("b", "CREATE Stash (USE (\\Archive))")
        assert lines[-1].startswith("b OK "), lines
        lines = c.cmd("c", 'LIST "" "Stash"')
        assert lines[0] == '* LIST (\\HasNoChildren \\Archive) "." Stash', (
            lines)
