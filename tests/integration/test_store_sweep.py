"""
The tmp/ sweep: files a dead delivery left in a folder's tmp/ are
removed once they are 36 hours old (Maildir), at start and hourly after;
younger ones, a delivery in progress, are never touched.
"""

import os
import time

from conftest import make_message, wait_until

OLD = time.time() - 37 * 3600
NEW_NAME = "%d.M1P1Q1.host" % int(time.time())


def put(path, mtime=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"Subject: left over\r\n\r\nbody\r\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_old_tmp_files_are_swept_at_start(daemon_factory):
    """Old leftovers in INBOX's and a folder's tmp/ vanish after start
    (and the count is logged); a fresh file, an APPEND's file whose
    mtime is its old internal date but whose name is new, and a COPY's
    hard link all stay."""
    d = daemon_factory(start=False)
    d.add_user("alice")
    inbox = d.folder_dir("alice")
    work = d.folder_dir("alice", "Work")
    for sub in ("cur", "new", "tmp"):
        (work / sub).mkdir(parents=True, exist_ok=True)
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    old = [put(inbox / "tmp" / ("%d.M1P9.host" % int(OLD)), OLD),
           put(inbox / "tmp" / "leftover", OLD),
           put(work / "tmp" / ("%d.M2P9.host" % int(OLD)), OLD)]
    fresh = put(inbox / "tmp" / "in-progress")
    appending = put(work / "tmp" / NEW_NAME, OLD)
    linked = put(inbox / "cur" / ("%d.M3P9.host:2,S" % int(OLD)), OLD)
    link = inbox / "tmp" / ("%d.M4P9.host" % int(OLD))
    os.link(linked, link)
    # Owned as the Maildir the daemon made (it may run as another user).
    st = os.stat(inbox)
    for top in (inbox, work):
        for dirpath, dirs, files in os.walk(top):
            for name in [dirpath] + [os.path.join(dirpath, f)
                                     for f in files]:
                os.chown(name, st.st_uid, st.st_gid)
    d.start()
    assert wait_until(lambda: not any(p.exists() for p in old), 10), \
        [p for p in old if p.exists()]
    assert wait_until(lambda: "swept 3 files" in d.log(), 10), d.log()
    assert fresh.exists() and appending.exists() and link.exists()
    # The store still works and the fresh file is left alone after it.
    d.deliver([make_message("after the sweep")], "alice@example.org")
    assert len(d.message_files("alice")) == 2
    assert fresh.exists()
