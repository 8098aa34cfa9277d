"""
A mailbelld node killed and started again (doc/cluster.md, 5.
Failures): while node b is gone, mail for its users given to the other
nodes is refused with 4xx, never acknowledged, and their IMAP logins get
a temporary NO; the other nodes' users go on as before. When b is back
on the same data directory and ports, mail flows again, a registration
held through another node hears of it, and a client registered through
b itself sees b's new epoch, resynchronises and hears of new mail again
(doc/notify-protocol.md, 4.5).
"""

import smtplib
import time

import notifyclient as nc
from cluster_support import (mail_cluster, nats_cluster,  # noqa: F401
                             registered_client, wait_for)
from conftest import PASSWORD, imap_login, make_message
from mailclients import ImapConn

# How long b's users may wait for b to be reachable again once it is
# ready (a's and c's view of b is refreshed by b's heartbeat, every 5 s).
BACK_TIMEOUT = 30.0


def lmtp_one(node, rcpt, subject):
    """One transaction at node's LMTP for the one recipient rcpt:
    (code, text) of the RCPT reply if it was refused, else of DATA."""
    with smtplib.LMTP("127.0.0.1", node.lmtp_port, timeout=30) as client:
        client.ehlo_or_helo_if_needed()
        code, text = client.mail("sender@example.net")
        assert code == 250, (code, text)
        code, text = client.rcpt(rcpt)
        if code != 250:
            client.rset()
            return code, text.decode()
        code, text = client.data(make_message(subject=subject))
        return code, text.decode()


def events(client, count, timeout=10.0):
    """The next count EVENTs client gets (acknowledged), within timeout;
    other datagrams are skipped."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        d = client.recv(max(0.01, deadline - time.monotonic()))
        if d is not None and d.type == nc.EVENT:
            got.append(d)
            client.ack(d["number"])
    assert len(got) == count, (count, got)
    return got


def inbox_count(node, user):
    """The number of messages in user's INBOX, over node's IMAP."""
    m = imap_login(node.ports["imap"], user)
    typ, data = m.status("INBOX", "(MESSAGES)")
    m.logout()
    assert typ == "OK", data
    return int(data[0].split(b"MESSAGES ")[1].rstrip(b")"))


def resync_after_restart(client, node, user, old_epoch):
    """What a client does after a server restart: its keepalive under
    the old epoch gets a CHALLENGE under the new one; VERIFY, STATUS,
    then the folder read again over IMAP. Returns the message count."""
    client.keepalive()
    deadline = time.monotonic() + 10
    ch = None
    while ch is None and time.monotonic() < deadline:
        d = client.recv(max(0.01, deadline - time.monotonic()))
        if d is not None and d.type == nc.CHALLENGE:
            ch = d
    assert ch is not None, "no CHALLENGE to a keepalive after a restart"
    assert ch.epoch > old_epoch, (ch.epoch, old_epoch)
    client.epoch, client.pn = ch.epoch, 0
    client.verify(ch["cookie"])
    st = client.expect(nc.STATUS, timeout=5.0)
    assert st.epoch == ch.epoch and st["flags"] & 1
    return inbox_count(node, user)


def test_node_killed_and_back(mail_cluster):
    a, b, c = mail_cluster["a"], mail_cluster["b"], mail_cluster["c"]
    mail_cluster.add_user("alice", "a")
    mail_cluster.add_user("bob", "b")
    mail_cluster.add_user("bert", "b")
    mail_cluster.add_user("carol", "c")
    mail_cluster.pin_ports("b")

    # Held through a for bob (b's events reach it over NATS), and
    # through b itself for bert.
    via_a = registered_client(a, "bob")
    via_b = registered_client(b, "bert")
    assert lmtp_one(a, "bob@example.org", "before")[0] == 250
    assert lmtp_one(b, "bert@example.org", "before")[0] == 250
    assert events(via_a, 1)[0]["uid"] == 1
    assert events(via_b, 1)[0]["uid"] == 1
    old_epoch = via_b.epoch
    # A registration is answered a moment before it is on disk
    # (notify-saver.c); one lost to a crash before then is made again
    # by its client. This one is meant to survive b's death.
    saved = b.data_dir / "notify" / "registrations"
    wait_for(lambda: saved.exists() and
             via_b.reg.id_hex in saved.read_text(), 10,
             "bert's registration on b's disk")

    # A transaction through a whose relay to b is open when b dies:
    # bob's RCPT was b's 250, his DATA reply must be a 4xx; alice's is
    # a's own 250.
    inflight = smtplib.LMTP("127.0.0.1", a.lmtp_port, timeout=30)
    inflight.ehlo_or_helo_if_needed()
    assert inflight.mail("sender@example.net")[0] == 250
    assert inflight.rcpt("bob@example.org")[0] == 250
    assert inflight.rcpt("alice@example.org")[0] == 250
    mail_cluster.kill("b")
    started = time.monotonic()
    first = inflight.data(make_message(subject="b dies"))
    second = inflight.getreply()
    assert 400 <= first[0] < 500, first
    assert second[0] == 250, second
    assert time.monotonic() - started < 20
    inflight.quit()

    for front in (a, c):
        for user in ("bob", "bert"):
            for n in range(3):
                code, text = lmtp_one(front, user + "@example.org",
                                      "while b is down %d" % n)
                assert 400 <= code < 500, (front.config, user, code, text)
        # The other nodes' users are served as before.
        for user in ("alice", "carol"):
            code, text = lmtp_one(front, user + "@example.org", "b down")
            assert code == 250, (front.config, user, code, text)
    login = ImapConn(a.ports["imap"])
    lines = login.cmd("L", "LOGIN bob %s" % PASSWORD)
    assert lines[-1].startswith("L NO [UNAVAILABLE]"), lines
    login.close()
    assert len(a.message_files("alice")) == 3
    assert len(c.message_files("carol")) == 2
    for node in (a, c):
        assert node.message_files("bob") == []
        assert node.message_files("bert") == []

    b.start()
    # The first delivery through a may still find b unreachable for a
    # moment; it is a 4xx then, and never a 250 that was not stored.
    deadline = time.monotonic() + BACK_TIMEOUT
    while True:
        code, text = lmtp_one(a, "bob@example.org", "b is back")
        assert code == 250 or 400 <= code < 500, (code, text)
        if code == 250:
            break
        assert time.monotonic() < deadline, (code, text)
        time.sleep(0.5)
    assert text.startswith("2.0.0 2 delivered"), text
    code, text = lmtp_one(c, "bob@example.org", "b is back, via c")
    assert code == 250 and text.startswith("2.0.0 3 delivered"), text
    for code, text in (lmtp_one(a, "bert@example.org", "back"),
                       lmtp_one(c, "bert@example.org", "back, via c")):
        assert code == 250, (code, text)
    assert len(b.message_files("bob")) == 3
    assert len(b.message_files("bert")) == 3

    # The registration through a hears of each, once.
    got = events(via_a, 2, timeout=15.0)
    assert [e["uid"] for e in got] == [2, 3], got
    assert got[-1]["messages"] == 3
    assert via_a.recv(1.0) is None

    # The client registered through b: new epoch, resync, events again.
    assert resync_after_restart(via_b, b, "bert", old_epoch) == 3
    assert lmtp_one(a, "bert@example.org", "after the resync")[0] == 250
    ev = events(via_b, 1)[0]
    assert ev.epoch > old_epoch and ev["uid"] == 4, ev
    assert ev["messages"] == 4
    via_a.close()
    via_b.close()
