"""
Bounded memory: a message over SPOOL_INLINE_MAX (64 KiB) goes to a file
as it arrives, so many large messages in flight at once cost the daemon
about what small ones do. Forty LMTP sessions and twenty APPENDs, each
with a 49 MiB message sent round-robin in 1 MiB pieces (all open at
once), keep the daemon's resident memory under RSS_BOUND, and every
message is then stored intact. Held in memory, even the twenty APPENDs
(980 MiB) would pass the bound several times over, with the sanitizer
build's allowance too.

Disk: those two tests keep their data directory on tmpfs (/dev/shm):
the spool's pages there are page cache written with write(), never
mapped by the daemon, so not its resident memory, and no disk has to
take 2 GB of writes and fsyncs (on one, the LMTP test took twice as
long). Each checks for the space (and the memory tmpfs takes it from)
first; the directory goes at the end.
"""

import os
import subprocess
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import make_message, split_prefix, under_asan, wait_until

MIB = 1024 * 1024
MESSAGE_SIZE = 49 * MIB
CHUNK = MIB
# Held in memory without spooling: 40 x 49 MiB = 1960 MiB over LMTP,
# 20 x 49 MiB = 980 MiB by APPEND. With spooling a session holds its
# read buffer (256 KiB) and at most 64 KiB of message plus one read; the
# daemon itself is under 20 MiB.
RSS_BOUND = 200 * MIB
# The same counts in the sanitizer build: there the tests take about 20
# and 10 s, up to 35 and 16 s on a busy machine (16 and 9 s in the normal
# build), as the messages on tmpfs cost no disk time.
LMTP_SESSIONS = 40
APPEND_SESSIONS = 20
TMPFS = Path("/dev/shm")
# AddressSanitizer keeps freed memory in a quarantine (256 MiB by
# default) before reusing it: every read buffer passed through counts.
ASAN_QUARANTINE = 256 * MIB


def rss_bound(pid):
    """RSS_BOUND, plus the quarantine in a sanitizer build."""
    return RSS_BOUND + (ASAN_QUARANTINE if under_asan(pid) else 0)


def vm_rss(pid):
    """Resident memory of pid in bytes, from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def mem_available():
    """MemAvailable of /proc/meminfo in bytes (tmpfs pages come from
    it)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def need_space(path, count):
    need = count * MESSAGE_SIZE * 5 // 4
    free = shutil.disk_usage(path).free
    if free < need:
        pytest.skip("needs %d MiB free under %s, has %d MiB"
                    % (need // MIB, path, free // MIB))
    # Room for the tmpfs pages and then as much again to spare.
    if mem_available() < 2 * need:
        pytest.skip("needs %d MiB of available memory for tmpfs, has "
                    "%d MiB" % (2 * need // MIB, mem_available() // MIB))


@pytest.fixture
def tmpfs_dir():
    """A directory on tmpfs, removed with everything in it at the end
    (a test names it before daemon_factory, so its daemons stop
    first); traversable, so a daemon started as root that runs as a system
    account reaches the data directory in it."""
    if not TMPFS.is_dir() or not os.access(TMPFS, os.W_OK):
        pytest.skip("no writable %s" % TMPFS)
    path = Path(tempfile.mkdtemp(prefix="mailbell-memory-", dir=TMPFS))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def bulk_body():
    """MESSAGE_SIZE bytes of CRLF lines (no line starts with a dot)."""
    line = b"%s\r\n" % (b"0123456789abcdef" * 4 + b"xyz")
    n = MESSAGE_SIZE // len(line)
    return line * n + b"y" * (MESSAGE_SIZE - n * len(line) - 2) + b"\r\n"


def send_round_robin(conns, heads, bulk, pid):
    """Send every head + bulk on its connection, the head and then bulk
    in CHUNK pieces, one piece per connection in turn, so all transfers
    are in flight at once (bulk is shared, not copied per connection).
    Returns the largest RSS seen between rounds."""
    for c, h in zip(conns, heads):
        c.send(h)
    peak = vm_rss(pid)
    view = memoryview(bulk)
    for off in range(0, len(bulk), CHUNK):
        piece = view[off:off + CHUNK]
        for c in conns:
            c.send(piece)
        peak = max(peak, vm_rss(pid))
    return peak


def stored_heads(paths, heads, bulk, prefixed):
    """The index in heads of each stored message: head + bulk exactly,
    after the two lines LMTP delivery prepends if prefixed. Compared in
    place (no copies, no hashing of 2 GB), so checking stays quick."""
    found = []
    for path in paths:
        data = path.read_bytes()
        off = data.index(b"\n", data.index(b"\n") + 1) + 1 if prefixed \
            else 0
        match = [i for i, h in enumerate(heads)
                 if len(data) == off + len(h) + len(bulk)
                 and data.startswith(h, off)
                 and data.startswith(bulk, off + len(h))]
        assert len(match) == 1, "%s is none of the messages sent" % path
        found.extend(match)
    return sorted(found)


def test_lmtp_large_messages_in_flight_bounded_rss(tmpfs_dir,
                                                  daemon_factory):
    d = daemon_factory(subdir=tmpfs_dir / "d", lmtp__max_message_size="50M")
    count = LMTP_SESSIONS
    d.add_user("alice")
    d.add_user("bob")
    need_space(d.data_dir, count)
    bulk = bulk_body()
    conns, heads = [], []
    for i in range(count):
        c = d.lmtp(timeout=120)
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<%s@example.org>"
                     % ("alice" if i % 2 else "bob"))[0] == 250
        assert c.cmd("DATA")[0] == 354
        conns.append(c)
        heads.append(make_message("big %d" % i, ""))
    base = vm_rss(d.proc.pid)
    # Everything but the final dot: every message is in flight.
    peak = send_round_robin(conns, heads, bulk, d.proc.pid)
    assert peak < rss_bound(d.proc.pid), "RSS %d MiB with %d messages " \
        "in flight (baseline %d MiB)" % (peak // MIB, count, base // MIB)
    for c in conns:
        c.send(b".\r\n")
    for c in conns:
        code, lines = c.reply()
        assert code == 250, lines
        c.close()
    files = []
    for user in ("alice", "bob"):
        assert d.tmp_files(user) == []
        files.extend(d.message_files(user))
    assert stored_heads(files, heads, bulk, True) == list(range(count))
    print("lmtp: %d x %d MiB in flight: RSS baseline %d MiB, peak %d MiB"
          % (count, MESSAGE_SIZE // MIB, base // MIB, peak // MIB))
    shutil.rmtree(d.data_dir / "mail")


def test_lmtp_spooled_message_to_several_recipients(daemon_factory):
    """One spooled message, three recipients (alice twice): each copy
    has its own prefix and the whole body."""
    d = daemon_factory(lmtp__max_message_size="1M")
    d.add_user("alice")
    d.add_user("bob")
    body = make_message("spooled", "".join(
        "line %06d of a message larger than the memory threshold\r\n" % i
        for i in range(8000)))
    assert len(body) > 300 * 1024
    with d.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        for rcpt in ("alice", "bob", "alice"):
            assert c.cmd("RCPT TO:<%s@example.org>" % rcpt)[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        for _ in range(3):
            code, lines = c.reply()
            assert code == 250, lines
    for user, n in (("alice", 2), ("bob", 1)):
        msgs = d.wait_messages(user, n)
        assert len(msgs) == n
        for m in msgs:
            prefix, rest = split_prefix(m)
            assert prefix[1] == b"Delivered-To: %s@example.org\r\n" \
                % user.encode()
            assert rest == body
        assert d.tmp_files(user) == []


def test_lmtp_disconnect_mid_spool_leaves_nothing(daemon_factory):
    d = daemon_factory(lmtp__max_message_size="10M")
    d.add_user("alice")
    c = d.lmtp()
    assert c.cmd("LHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(make_message("cut", "x" * 70 + "\r\n") * 20000)
    # The spool file exists while the message arrives...
    assert wait_until(lambda: len(d.tmp_files("alice")) == 1, 10)
    c.close()
    # ...and goes with the session.
    assert d.wait_metric('sessions_active{service="lmtp"}', 0)
    assert d.wait_idle()
    assert d.tmp_files("alice") == []
    assert d.message_files("alice") == []


def test_imap_large_appends_in_flight_bounded_rss(tmpfs_dir,
                                                  daemon_factory):
    daemon = daemon_factory(subdir=tmpfs_dir / "d")
    count = APPEND_SESSIONS
    daemon.add_user("alice")
    need_space(daemon.data_dir, count)
    bulk = bulk_body()
    conns, heads = [], []
    for i in range(count):
        c = daemon.imap(timeout=120)
        c.login()
        head = make_message("append %d" % i, "")
        # LITERAL+: no round trip, the literal follows at once.
        c.send(b"a APPEND INBOX (\\Seen) {%d+}\r\n"
               % (len(head) + len(bulk)))
        conns.append(c)
        heads.append(head)
    base = vm_rss(daemon.proc.pid)
    peak = send_round_robin(conns, heads, bulk, daemon.proc.pid)
    assert peak < rss_bound(daemon.proc.pid), "RSS %d MiB with %d " \
        "APPENDs in flight (baseline %d MiB)" % (peak // MIB, count,
                                                  base // MIB)
    for c in conns:
        c.send(b"\r\n")
    for c in conns:
        lines = c.until_tagged("a")
        assert lines[-1].startswith("a OK [APPENDUID "), lines
        c.close()
    assert daemon.tmp_files("alice") == []
    files = daemon.message_files("alice")
    assert len(files) == count
    assert stored_heads(files, heads, bulk, False) == list(range(count))
    print("imap: %d x %d MiB APPENDs in flight: RSS baseline %d MiB, "
          "peak %d MiB" % (count, MESSAGE_SIZE // MIB, base // MIB,
                           peak // MIB))
    shutil.rmtree(daemon.data_dir / "mail")


def test_imap_spooled_append_to_folder(daemon):
    """A literal over the memory threshold lands intact in the folder
    named, with its flags and internal date, and nothing stays in any
    tmp/."""
    body = make_message("spooled append", "".join(
        "line %06d of an APPEND larger than the memory threshold\r\n" % i
        for i in range(4000)))
    assert len(body) > 128 * 1024
    with daemon.imap() as c:
        c.login()
        assert c.cmd("c", "CREATE Work")[-1].startswith("c OK")
        c.send(b'a APPEND Work (\\Flagged) "01-Feb-2024 10:00:00 +0000" '
               b"{%d}\r\n" % len(body))
        assert c.line().startswith("+ ")
        c.send(body + b"\r\n")
        lines = c.until_tagged("a")
        assert lines[-1].startswith("a OK [APPENDUID "), lines
        c.send(b"m APPEND Missing {%d+}\r\n" % len(body) + body + b"\r\n")
        lines = c.until_tagged("m")
        assert lines[-1].startswith("m NO [TRYCREATE]"), lines
    files = daemon.message_files("alice", "Work")
    assert len(files) == 1 and files[0].name.endswith(":2,F")
    path = files[0]
    assert path.read_bytes() == body
    assert int(path.stat().st_mtime) == 1706781600
    for folder in ("INBOX", "Work"):
        assert daemon.tmp_files("alice", folder) == []


def test_lmtp_spool_failure_is_452_and_leaves_nothing(daemon_factory):
    """A spool file that cannot be made (alice's tmp/ is not a
    directory, as a broken or full disk would refuse it) gives 452 for
    every recipient; the session goes on and bob's mail still lands."""
    d = daemon_factory(lmtp__max_message_size="1M")
    d.add_user("alice")
    d.add_user("bob")
    d.deliver([make_message("first")], "alice@example.org")
    tmp = d.folder_dir("alice") / "tmp"
    tmp.rmdir()
    tmp.write_bytes(b"")
    body = make_message("spooled", "x" * 70 + "\r\n") * 2000
    with d.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        for _ in range(2):
            code, lines = c.reply()
            assert code == 452 and lines[-1].startswith("452 4.3.1 "), lines
        assert c.cmd("NOOP")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        assert c.reply()[0] == 250
    assert len(d.message_files("alice")) == 1
    assert len(d.message_files("bob")) == 1
    assert d.tmp_files("bob") == []
    assert "cannot spool the message" in d.log()


@pytest.fixture
def full_disk_daemon(daemon_factory):
    """A daemon whose mail root is an 8 MiB tmpfs (needs root to mount;
    unmounted at the end)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    d = daemon_factory(start=False, lmtp__max_message_size="50M")
    mail = d.data_dir / "mail"
    mail.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700",
                        "tmpfs", str(mail)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode().strip())
    try:
        d.add_user("alice")
        d.start()
        yield d
        d.stop()
    finally:
        subprocess.run(["umount", "-l", str(mail)], check=False)


def test_full_disk_spool_is_refused_and_removed(full_disk_daemon):
    """A spooled message that fills the disk is refused (LMTP 452,
    APPEND NO), its file is gone at once, and a small message still
    fits afterwards: no space is held by a failed spool."""
    d = full_disk_daemon
    big = make_message("too big for the disk", "z" * 78 + "\r\n") * 120000
    assert len(big) > 12 * MIB
    with d.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(big + b".\r\n")
        code, lines = c.reply()
        assert code == 452 and lines[-1].startswith("452 4.3.1 "), lines
    assert d.tmp_files("alice") == []
    d.deliver([make_message("fits")], "alice@example.org")
    assert len(d.message_files("alice")) == 1
    with d.imap(timeout=60) as c:
        c.login()
        c.send(b"a APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
        lines = c.until_tagged("a")
        assert lines[-1].startswith("a NO "), lines
        assert d.tmp_files("alice") == []
        lines = c.cmd("b", "APPEND INBOX {5+}\r\nsmall")
        assert lines[-1].startswith("b OK [APPENDUID "), lines
    assert len(d.message_files("alice")) == 2
