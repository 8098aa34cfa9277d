"""
Acknowledged mail survives SIGKILL: the daemon is killed the instant an
LMTP 250 arrives, restarted on the same data dir, and the message is there,
byte for byte, with its UID in mailbell-uidlist.
"""

import signal

from conftest import make_message, split_prefix

ROUNDS = 5


def test_sigkill_right_after_250(daemon):
    sent = []
    seen = {"alice": {}, "bob": {}}     # base name -> UID, across kills
    for i in range(ROUNDS):
        body = make_message("crash round %d" % i,
                            "Round %d body.\r\n%s\r\n" % (i, "y" * (i * 997)))
        c = daemon.lmtp()
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        first = c.reply()
        second = c.reply()
        # Kill before anything else can happen.
        daemon.proc.send_signal(signal.SIGKILL)
        c.close()
        assert first[0] == 250, first
        assert second[0] == 250, second
        sent.append(body)
        daemon.proc.wait(timeout=10)
        daemon.proc = None
        daemon.start()

        for user in ("alice", "bob"):
            files = daemon.message_files(user)
            bodies = [split_prefix(f.read_bytes())[1] for f in files]
            assert sorted(bodies) == sorted(sent), (user, i)
            _, entries = daemon.uidlist(user)
            names = {f.name.split(":2,")[0] for f in files}
            listed = {n.split(":2,")[0] for n in entries.values()}
            # Every stored message has a UID, and UIDs are unique.
            assert names <= listed, (user, names - listed)
            assert len(entries) == len(set(entries)) >= len(sent)
            # The UID list is appended to: a message keeps its UID
            # across every kill, and a new one gets a UID above them.
            now = {n.split(":2,")[0]: uid for uid, n in entries.items()}
            for name, uid in seen[user].items():
                assert now.get(name) == uid, (user, name)
            old_max = max(seen[user].values(), default=0)
            for name, uid in now.items():
                if name not in seen[user]:
                    assert uid > old_max, (user, name, uid)
            seen[user] = now
        assert daemon.tmp_files("alice") == []
        assert daemon.tmp_files("bob") == []


def test_sigkill_during_concurrent_deliveries_keeps_every_acknowledged(
        daemon):
    conns = []
    bodies = []
    for i in range(8):
        c = daemon.lmtp()
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        body = make_message("concurrent %d" % i)
        bodies.append(body)
        conns.append(c)
    # Send every final dot, then read the replies.
    for c, body in zip(conns, bodies):
        c.send(body + b".\r\n")
    acked = []
    for c, body in zip(conns, bodies):
        code, _ = c.reply()
        if code == 250:
            acked.append(body)
    daemon.kill9()
    for c in conns:
        c.close()
    daemon.start()
    stored = [split_prefix(m)[1] for m in daemon.messages("alice")]
    for body in acked:
        assert body in stored
    assert len(acked) == len(bodies)


def test_sigkill_during_spooled_deliveries_keeps_every_acknowledged(
        daemon_factory):
    """The same with messages over the memory threshold, which are
    written to a spool file as they arrive and given to the first
    recipient (the second gets a copy): SIGKILL right after the 250s
    loses none, and one killed mid-DATA leaves only a tmp/ file."""
    d = daemon_factory(lmtp__max_message_size="10M")
    d.add_user("alice")
    d.add_user("bob")
    conns, bodies = [], []
    for i in range(6):
        c = d.lmtp()
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        bodies.append(make_message("spooled crash %d" % i, "".join(
            "%d line %06d\r\n" % (i, n) for n in range(40000))))
        conns.append(c)
    cut = d.lmtp()
    assert cut.cmd("LHLO client.example.net")[0] == 250
    assert cut.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert cut.cmd("RCPT TO:<alice@example.org>")[0] == 250
    assert cut.cmd("DATA")[0] == 354
    cut.send(bodies[0][:300000])
    for c, body in zip(conns, bodies):
        c.send(body + b".\r\n")
    for c in conns:
        assert [c.reply()[0], c.reply()[0]] == [250, 250]
    d.kill9()
    for c in conns + [cut]:
        c.close()
    d.start()
    for user in ("alice", "bob"):
        stored = [split_prefix(m)[1] for m in d.messages(user)]
        assert sorted(stored) == sorted(bodies), user
    # The cut message's spool, for the tmp/ sweep.
    assert len(d.tmp_files("alice")) <= 1
    assert d.tmp_files("bob") == []
