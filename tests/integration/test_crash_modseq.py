"""
MODSEQs survive SIGKILL (RFC 7162 asks that no MODSEQ a client was told
goes backwards): one session pipelines STOREs of keywords and \\Seen
under CONDSTORE, another watches in IDLE, and the daemon is killed while
the STOREs still run. After a restart every message's MODSEQ is at
least the highest either session was told for it, HIGHESTMODSEQ at
least every one told, every acknowledged keyword is on its message, and
the next change gets a MODSEQ above them all.
"""

import re
import socket
import threading

from conftest import imap_raw_login, wait_until
from imap_msg_support import deliver_numbered, highest

MESSAGES = 40
STORES = 3000
FETCH_RE = re.compile(rb"^\* \d+ FETCH \(UID (\d+) MODSEQ \((\d+)\)(.*)\)$")


def store_target(i):
    """STORE i: its UID and, if it adds one, its keyword. Pairs of
    STOREs go to each message in turn: a keyword and \\Seen on, then
    \\Seen off (keywords stay), so every STORE changes its message."""
    uid = (i // 2) % MESSAGES + 1
    return uid, ("k%d" % (i // (2 * MESSAGES) % 10) if i % 2 == 0 else None)


def store_line(i):
    uid, kw = store_target(i)
    if kw is not None:
        return b"s%d UID STORE %d +FLAGS (%s \\Seen)\r\n" % (
            i, uid, kw.encode())
    return b"s%d UID STORE %d -FLAGS (\\Seen)\r\n" % (i, uid)


class Reader(threading.Thread):
    """Reads a connection's responses until EOF, noting each MODSEQ told
    per UID, every tagged OK, and a count for the killer to watch."""

    def __init__(self, conn):
        super().__init__(daemon=True)
        self.conn = conn
        self.told = {}
        self.acked = set()
        self.lines = 0

    def run(self):
        try:
            while True:
                r = self.conn.response()
                if r is None:
                    return
                self.lines += 1
                m = FETCH_RE.match(r)
                if m:
                    uid, ms = int(m.group(1)), int(m.group(2))
                    self.told[uid] = max(self.told.get(uid, 0), ms)
                m = re.match(rb"s(\d+) OK", r)
                if m:
                    self.acked.add(int(m.group(1)))
        except (OSError, socket.timeout, ValueError):
            return


def test_sigkill_during_condstore_stores(daemon):
    deliver_numbered(daemon, MESSAGES)
    writer = imap_raw_login(daemon)
    watcher = imap_raw_login(daemon)
    for c in (writer, watcher):
        assert c.run("e", "ENABLE CONDSTORE")[-1].startswith(b"e OK")
    told_high = highest(writer.select())
    watcher.select()
    watcher.send(b"i IDLE\r\n")
    assert watcher.response().startswith(b"+ ")
    wr, wa = Reader(writer), Reader(watcher)
    wr.start()
    wa.start()
    writer.send(b"".join(store_line(i) for i in range(STORES)))
    # Kill in the middle of the stream.
    assert wait_until(lambda: len(wr.acked) >= 100, 30.0, interval=0.001)
    daemon.kill9()
    wr.join(10)
    wa.join(10)
    writer.close()
    watcher.close()
    assert 0 < len(wr.acked) < STORES, "the kill came too late"

    told = {}
    for r in (wr, wa):
        for uid, ms in r.told.items():
            told[uid] = max(told.get(uid, 0), ms)
    daemon.start()
    c = imap_raw_login(daemon)
    high = highest(c.select())
    assert high >= max(list(told.values()) + [told_high])
    now = {}
    flags = {}
    for line in c.run("f", "UID FETCH 1:* (MODSEQ FLAGS)")[:-1]:
        m = FETCH_RE.match(line)
        assert m, line
        now[int(m.group(1))] = int(m.group(2))
        flags[int(m.group(1))] = m.group(3).decode()
    for uid, ms in told.items():
        assert now[uid] >= ms, (uid, now[uid], ms)
    for i in wr.acked:
        uid, kw = store_target(i)
        if kw is not None:
            have = re.search(r"FLAGS \(([^)]*)\)", flags[uid]).group(1)
            assert kw in have.split(), (i, uid, flags[uid])
    # The next change is above everything told before the crash.
    st = c.run("n", "UID STORE 1 +FLAGS (\\Flagged)")
    m = FETCH_RE.match(st[0])
    assert m and int(m.group(2)) > high, st
    c.close()
