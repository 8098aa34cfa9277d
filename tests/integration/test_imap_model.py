"""
Two IMAP sessions on one folder, driven by a seeded random program of
STORE, UID STORE, EXPUNGE, UID EXPUNGE, UID MOVE, APPEND, FETCH, SEARCH,
NOOP, IDLE and pipelined commands, with LMTP deliveries in between and
commands of both sessions in flight at once. Every untagged response each session receives is
checked against that session's model of the mailbox (RFC 3501 5.2, 7.4.1;
RFC 2180):

- a sequence number is never stale: FETCH, EXPUNGE and SEARCH name
  1 .. the messages the session has been told of, and a FETCH's UID is
  the one at that position;
- EXISTS never goes down: only EXPUNGE removes a message;
- no EXPUNGE during FETCH, STORE or SEARCH (their UID forms may), nor
  with no command in progress;
- only messages some session marked \\Deleted or moved are expunged;
- UIDs grow with the sequence numbers;
- nothing after BYE but LOGOUT's tagged OK;
- at the end both sessions, and a fresh one, see the same UIDs, and
  each session's last word on a message's flags is the flags it has.

The seed is the test's parameter; MAILBELL_MODEL_SEED=n runs seed n
alone.
"""

import os
import random
import re
import socket

import pytest

from conftest import imap_raw_login, make_message

FETCH_RE = re.compile(rb"^\* (\d+) FETCH \((.*)\)$", re.S)
UID_RE = re.compile(rb"\bUID (\d+)")
FLAGS_RE = re.compile(rb"\bFLAGS \(([^)]*)\)")
NUMBERED_RE = re.compile(rb"^\* (\d+) (EXISTS|RECENT|EXPUNGE)$")
# Untagged responses these commands can bring, besides the numbered ones.
OTHER_UNTAGGED = (b"* OK", b"* FLAGS", b"* SEARCH", b"* BYE", b"* NO")
# RFC 3501 7.4.1: no EXPUNGE while answering these (their UID forms may).
NO_EXPUNGE = ("FETCH", "STORE", "SEARCH")
FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "$label1", "foo"]
OPS = 200	# per seed: about 2 s, 10 s under ASan


class ModelError(AssertionError):
    pass


class World:
    """What is true of the folder whichever session looks."""

    def __init__(self):
        self.deleted = set()	# UIDs some session set \Deleted on or
                                # moved


class Session:
    def __init__(self, daemon, name, world, log):
        self.name = name
        self.world = world
        self.log = log
        self.c = imap_raw_login(daemon)
        self.uids = []		# by sequence number - 1; None: not known yet
        self.flags = []		# ... their flags but \Recent, once told
        self.bye = False
        self.tagn = 0
        self.pending = []	# (tag, kind) of the commands in flight
        got = self.c.select()
        self.check(got, "SELECT")
        self.learn_uids()

    # ---- sending and receiving ----

    def send(self, kind, text, literal=None):
        """Send a command (kind names it for the checks); the caller
        then reads its answer with finish()."""
        if not self.pending:
            self.unsolicited()
        self.tagn += 1
        tag = "%s%d" % (self.name, self.tagn)
        self.log.append("%s: %s %s" % (self.name, tag, text))
        if literal is None:
            self.c.send("%s %s\r\n" % (tag, text))
        else:
            self.c.send(("%s %s {%d+}\r\n" % (tag, text, len(literal)))
                        .encode() + literal + b"\r\n")
        self.pending.append((tag, kind))
        return tag

    def finish(self):
        """Read the first command's responses up to its tagged one,
        checking each; returns them."""
        tag, kind = self.pending.pop(0)
        got = self.c.until(tag)
        self.check(got, kind)
        return got

    def run(self, kind, text, literal=None):
        self.send(kind, text, literal)
        return self.finish()

    def unsolicited(self):
        """What the server sent with no command in progress: RFC 3501
        7.4.1 allows no EXPUNGE then."""
        sock = self.c.sock
        timeout = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            data = self.c.file.peek(1)
        except (BlockingIOError, socket.timeout):
            data = b""
        finally:
            sock.settimeout(timeout)
        if not data:
            return
        got = []
        while True:
            sock.settimeout(0.0)
            try:
                if not self.c.file.peek(1):
                    break
            except (BlockingIOError, socket.timeout):
                break
            finally:
                sock.settimeout(timeout)
            got.append(self.c.response())
        self.check(got, "none")

    # ---- the checks ----

    def fail(self, why, resp):
        raise ModelError("%s: %s: %r\nmodel %r\nlast commands:\n%s" % (
            self.name, why, resp, self.uids, "\n".join(self.log[-12:])))

    def check(self, responses, kind):
        for r in responses:
            if self.bye and not r.startswith(b"%s" % self.name.encode()):
                self.fail("response after BYE", r)
            if not r.startswith(b"* "):
                if r.split(b" ", 2)[1:2] == [b"BAD"]:
                    self.fail("BAD", r)
                continue
            m = NUMBERED_RE.match(r)
            if m:
                self.numbered(int(m.group(1)), m.group(2), kind, r)
            elif FETCH_RE.match(r):
                self.fetch(r)
            elif r.startswith(b"* SEARCH"):
                self.search(r, kind)
            elif r.startswith(b"* BYE"):
                self.bye = True
            elif not r.startswith(OTHER_UNTAGGED):
                self.fail("unexpected response", r)

    def numbered(self, n, what, kind, r):
        if what == b"EXISTS":
            if n < len(self.uids):
                self.fail("EXISTS went down without EXPUNGE", r)
            self.flags.extend([None] * (n - len(self.uids)))
            self.uids.extend([None] * (n - len(self.uids)))
        elif what == b"RECENT":
            if n > len(self.uids):
                self.fail("more recent than exist", r)
        else:
            if kind in NO_EXPUNGE or kind == "none":
                self.fail("EXPUNGE during %s" % kind, r)
            if not 1 <= n <= len(self.uids):
                self.fail("EXPUNGE of a stale sequence number", r)
            uid = self.uids.pop(n - 1)
            self.flags.pop(n - 1)
            if uid is not None:
                if uid not in self.world.deleted:
                    self.fail("EXPUNGE of UID %d, never \\Deleted" % uid,
                              r)

    def fetch(self, r):
        m = FETCH_RE.match(r)
        n = int(m.group(1))
        if not 1 <= n <= len(self.uids):
            self.fail("FETCH of a stale sequence number", r)
        f = FLAGS_RE.search(m.group(2))
        if f is not None:
            self.flags[n - 1] = set(f.group(1).split()) - {b"\\Recent"}
        u = UID_RE.search(m.group(2))
        if u is None:
            return
        uid = int(u.group(1))
        known = self.uids[n - 1]
        if known is not None and known != uid:
            self.fail("FETCH: sequence number %d is UID %d, not %d" % (
                n, known, uid), r)
        before = [x for x in self.uids[:n - 1] if x is not None]
        after = [x for x in self.uids[n:] if x is not None]
        if (before and before[-1] >= uid) or (after and after[0] <= uid):
            self.fail("FETCH: UIDs out of order", r)
        self.uids[n - 1] = uid

    def search(self, r, kind):
        nums = [int(x) for x in r[len(b"* SEARCH"):].split()]
        if kind == "SEARCH":
            for n in nums:
                if not 1 <= n <= len(self.uids):
                    self.fail("SEARCH: stale sequence number %d" % n, r)
        else:
            for uid in nums:
                if not self.may_hold(uid):
                    self.fail("UID SEARCH: UID %d not in the view" % uid,
                              r)

    def may_hold(self, uid):
        """Is uid one of the view's UIDs, or can it be at a position
        whose UID is not known yet?"""
        low = 0
        for i, x in enumerate(self.uids):
            if x is not None:
                if x == uid:
                    return True
                low = x
                continue
            high = next((y for y in self.uids[i + 1:] if y is not None),
                        None)
            if low < uid and (high is None or uid < high):
                return True
        return False

    def learn_uids(self):
        """Ask the UIDs of every message (FETCH 1:* (UID)); an EXISTS
        in its answer names messages "*" did not, so ask again."""
        for _ in range(10):
            if None not in self.uids:
                return
            got = self.run("FETCH", "FETCH %d:* (UID)" % (
                self.uids.index(None) + 1))
            assert got[-1].split(b" ")[1] == b"OK", got
        self.fail("FETCH n:* left UIDs unknown", b"")

    def known(self):
        return [(i + 1, u) for i, u in enumerate(self.uids) if u is not None]


def seeds():
    if os.environ.get("MAILBELL_MODEL_SEED"):
        return [int(os.environ["MAILBELL_MODEL_SEED"])]
    return [1, 2]


OPS_WEIGHTS = {
    "store": 3, "uidstore": 2, "delete": 3, "expunge": 2, "uidexpunge": 1,
    "move": 1, "append": 2, "deliver": 2, "fetch": 3, "uidfetch": 1,
    "search": 2, "uidsearch": 1, "noop": 1, "idle": 1, "conflict": 3,
    "pipeline": 1,
}


def by_number(rng, s):
    """A FETCH, STORE or SEARCH by sequence number on s's view: none of
    them may bring an EXPUNGE."""
    n = len(s.uids)
    a = rng.randint(1, n)
    b = rng.randint(a, n)
    return rng.choice([
        ("FETCH", "FETCH %d:%d (UID FLAGS)" % (a, b)),
        ("STORE", "STORE %d:%d %sFLAGS (%s)" % (
            a, b, rng.choice("+-"), rng.choice(FLAGS))),
        ("SEARCH", "SEARCH %s" % rng.choice(
            ["ALL", "DELETED", "KEYWORD foo", "%d:%d" % (a, b), "UNSEEN"])),
    ])


def remove(rng, s):
    """s marks a few messages it knows \\Deleted and expunges them."""
    known = s.known()
    if known:
        picks = rng.sample(known, min(len(known), rng.randint(1, 2)))
        s.world.deleted.update(u for _, u in picks)
        s.run("UID STORE", "UID STORE %s +FLAGS.SILENT (\\Deleted)" %
              ",".join(str(u) for _, u in picks))
        for _, uid in picks:	# .SILENT: s is not told
            if uid in s.uids and s.flags[s.uids.index(uid)] is not None:
                s.flags[s.uids.index(uid)].add(b"\\Deleted")
    s.run("EXPUNGE", "EXPUNGE")


def start(rng, s, other, daemon, world, counter, op):
    """Send op's command on s; False if it was done whole here."""
    if op == "deliver":
        counter[0] += 1
        daemon.deliver([make_message("d%d" % counter[0])])
        return False
    if op == "idle":
        idle(s, other, rng)
        return False
    if op in ("uidstore", "delete", "move"):
        known = s.known()
        if not known:
            op = "noop"
        else:
            picks = rng.sample(known, min(len(known), rng.randint(1, 3)))
            uids = ",".join(str(u) for _, u in picks)
    if op in ("delete", "move"):
        world.deleted.update(u for _, u in picks)
    if op == "conflict":
        # The other session removes messages s has not been told of
        # yet, then s works by sequence number.
        remove(rng, other)
        if rng.random() < 0.5:
            counter[0] += 1
            daemon.deliver([make_message("c%d" % counter[0])])
        op = "numbered"
    if op in ("numbered", "pipeline", "store") and not s.uids:
        op = "noop"
    if op == "numbered":
        s.send(*by_number(rng, s))
    elif op == "pipeline":
        for _ in range(3):
            s.send(*by_number(rng, s))
        s.send("NOOP", "NOOP")
    elif op == "store":
        s.send("STORE", "STORE 1:* %sFLAGS (%s)" % (
            rng.choice("+-"), rng.choice(FLAGS)))
    elif op == "uidstore":
        s.send("UID STORE", "UID STORE %s %sFLAGS (%s)" % (
            uids, rng.choice("+-"), rng.choice(FLAGS)))
    elif op == "delete":
        s.send("UID STORE", "UID STORE %s +FLAGS (\\Deleted)" % uids)
    elif op == "move":
        s.send("UID MOVE", "UID MOVE %s Trash" % uids)
    elif op == "expunge":
        s.send("EXPUNGE", "EXPUNGE")
    elif op == "uidexpunge":
        s.send("UID EXPUNGE", "UID EXPUNGE 1:*")
    elif op == "append":
        counter[0] += 1
        s.send("APPEND", "APPEND INBOX", make_message("a%d" % counter[0]))
    elif op in ("fetch", "search"):
        s.send(*by_number(rng, s) if s.uids else ("NOOP", "NOOP"))
    elif op == "uidfetch":
        s.send("UID FETCH", "UID FETCH 1:* (FLAGS)")
    elif op == "uidsearch":
        s.send("UID SEARCH", "UID SEARCH %s" % rng.choice(
            ["ALL", "DELETED", "UNKEYWORD foo"]))
    else:
        s.send("NOOP", "NOOP")
    return True


def step(rng, s, other, daemon, world, counter):
    """Start one random command on s (and maybe one on other and a
    delivery, all in flight at once); read their answers."""
    op = rng.choices(list(OPS_WEIGHTS), list(OPS_WEIGHTS.values()))[0]
    if not start(rng, s, other, daemon, world, counter, op):
        return
    if rng.random() < 0.5 and other.uids:
        other.send(*rng.choice([("NOOP", "NOOP"), ("EXPUNGE", "EXPUNGE"),
                                by_number(rng, other)]))
        if rng.random() < 0.3:
            counter[0] += 1
            daemon.deliver([make_message("p%d" % counter[0])])
        while other.pending:
            other.finish()
    while s.pending:
        s.finish()
    if rng.random() < 0.1:
        s.learn_uids()


def idle(s, other, rng):
    """s idles while other changes the folder; what s hears in IDLE
    (EXPUNGE allowed) is checked when it is DONE."""
    tag = s.send("IDLE", "IDLE")
    before = []
    while True:
        line = s.c.response()
        assert line is not None and not line.startswith(
            tag.encode()), (before, line)
        if line.startswith(b"+"):
            break
        before.append(line)
    s.check(before, "IDLE")
    known = other.known()
    if known:
        _, uid = rng.choice(known)
        s.world.deleted.add(uid)
        other.run("UID STORE", "UID STORE %d +FLAGS (\\Deleted)" % uid)
        other.run("EXPUNGE", "EXPUNGE")
    s.c.send("DONE\r\n")
    s.finish()


@pytest.mark.parametrize("seed", seeds())
def test_two_sessions_model(daemon, seed):
    rng = random.Random(seed)
    world = World()
    log = ["seed %d" % seed]
    daemon.deliver([make_message("m%d" % i) for i in range(6)])
    a = Session(daemon, "A", world, log)
    b = Session(daemon, "B", world, log)
    counter = [0]
    for _ in range(OPS):
        s, other = (a, b) if rng.random() < 0.5 else (b, a)
        step(rng, s, other, daemon, world, counter)
    # Both see everything, and the same as a fresh session.
    for s in (a, b):
        s.run("NOOP", "NOOP")
        s.learn_uids()
    assert a.uids == b.uids, (a.uids, b.uids)
    fresh = Session(daemon, "C", world, log)
    assert fresh.uids == a.uids
    # Every flag change a session was due to hear of, it heard of.
    if fresh.uids:
        fresh.run("FETCH", "FETCH 1:* (FLAGS)")
    for s in (a, b):
        for uid, mine, truth in zip(s.uids, s.flags, fresh.flags):
            assert mine is None or mine == truth, (s.name, uid, mine,
                                                   truth)
    for s in (a, b, fresh):
        got = s.run("LOGOUT", "LOGOUT")
        assert got[-1].split(b" ")[1] == b"OK", got
        rest = s.c.file.read()
        assert rest == b"", "%s: %r after LOGOUT" % (s.name, rest)
