"""
Several mailbelld nodes over a three-server NATS cluster (JetStream,
replicas 3) on loopback: the user map, the node records, and new-mail
events crossing from the node that owns a user to the node that holds
the user's UDP registration.
"""

import hashlib
import hmac
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import notifyclient as nc
from cluster_support import (MailCluster, mail_cluster,  # noqa: F401
                             nats_cluster,  # noqa: F401
                             registered_client, wait_for)
from conftest import imap_login, make_message
from mailclients import ImapConn


UDP_RE = re.compile(r"listening: notify udp \S+:(\d+)\s*$", re.M)


def udp_port(node):
    return int(UDP_RE.search(node.log()).group(1))


def deliver(node, rcpt, subject="cluster"):
    return node.deliver([make_message(subject=subject)], rcpt=rcpt)


def test_nodes_and_placement(mail_cluster):
    # Each node writes its record once it has joined.
    mail_cluster.wait_joined()
    mail_cluster.add_user("bob", "b")
    rows = mail_cluster.nodes_table()
    assert rows["b"][-1] == "1" and rows["a"][-1] == "0"
    assert rows["a"][2] == str(mail_cluster["a"].ports["imap"])
    # Placed once; a second place is refused and changes nothing.
    again = mail_cluster.cli("cluster", "place", "bob", "c")
    assert again.returncode == 73
    assert "lives on b already" in again.stderr
    assert mail_cluster.where(mail_cluster["c"], "bob") == "b"
    missing = mail_cluster.cli("cluster", "where", "nobody")
    assert missing.returncode == 67


def test_event_crosses_nodes(mail_cluster):
    """A registration held by node A hears of mail that lands on node B,
    from A's UDP port."""
    a, b = mail_cluster["a"], mail_cluster["b"]
    mail_cluster.add_user("bob", "b")
    c = registered_client(a, "bob")
    assert c.server[1] == udp_port(a)
    t0 = deliver(b, "bob@example.org")
    ev = c.expect(nc.EVENT, timeout=5.0)
    assert time.monotonic() - t0 < 5.0
    assert ev["type"] == nc.MESSAGE_NEW and ev["folder"] == "INBOX"
    assert ev["uid"] == 1 and ev["uidnext"] == 2
    assert ev["messages"] == 1 and ev["unseen"] == 1
    c.ack(ev["number"])
    # Exactly once: no second EVENT for the same message.
    assert c.recv(1.5) is None
    c.close()


def test_events_come_early_and_once(mail_cluster):
    """Each event reaches the other nodes twice, early over plain NATS
    and from the stream: the early copies are used, and each event is
    handed to the notifier once."""
    a, b = mail_cluster["a"], mail_cluster["b"]
    mail_cluster.add_user("bob", "b")
    c = registered_client(a, "bob")
    seen = {}                   # UID -> the EVENT numbers that told it
    for n in range(20):
        deliver(b, "bob@example.org", subject="m%d" % n)
        ev = c.expect(nc.EVENT, timeout=5.0)
        seen.setdefault(ev["uid"], set()).add(ev["number"])
        c.ack(ev["number"])
    # A datagram sent again before its ACK came has the same number.
    while (ev := c.recv(1.5)) is not None:
        if ev.type == nc.EVENT:
            seen.setdefault(ev["uid"], set()).add(ev["number"])
    c.close()
    assert sorted(seen) == list(range(1, 21))
    assert all(len(numbers) == 1 for numbers in seen.values()), seen
    wait_for(lambda: a.metric("cluster_events_received_total") >= 20, 10,
             "a's count of b's events")
    assert a.metric("cluster_events_received_total") == 20
    assert a.metric("cluster_events_early_total") >= 1


def api_cluster(node):
    url = "http://127.0.0.1:%d/api/cluster" % node.admin_port
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def test_admin_port_shows_the_cluster(mail_cluster):
    """/api/cluster and the metrics: nodes, users, events each way and
    the consumer's lag."""
    a, b = mail_cluster["a"], mail_cluster["b"]
    mail_cluster.add_user("bob", "b")
    mail_cluster.add_user("carol", "c")
    deliver(b, "bob@example.org")
    wait_for(lambda: a.metric("cluster_events_received_total") >= 1, 10,
             "node a to read b's event")
    # The threads' counts reach the metrics within a second.
    wait_for(lambda: b.metric("cluster_events_published_total") >= 1, 5,
             "b's count of published events")
    wait_for(lambda: a.metric("cluster_users") == 2, 5, "the map on a")
    assert a.metric("cluster_connected") == 1
    assert a.metric("cluster_nodes") == 3
    assert a.metric("cluster_publish_queue") == 0
    assert a.metric("cluster_event_seconds_count") >= 1
    st = api_cluster(a)
    assert st["connected"] and st["users"] == 2
    nodes = {n["name"]: n for n in st["nodes"]}
    assert set(nodes) == {"a", "b", "c"}
    assert nodes["a"]["self"] and not nodes["b"]["self"]
    assert all(n["up"] for n in nodes.values())
    assert (nodes["b"]["users"], nodes["c"]["users"]) == (1, 1)
    assert nodes["b"]["lmtp_port"] == b.lmtp_port
    # Each node reports its consumer's lag in its heartbeat: all read.
    wait_for(lambda: all(n["pending"] == 0 for n in
                         api_cluster(a)["nodes"]), 15, "no lag")


def test_no_cluster_no_api(daemon):
    """A single machine has no cluster to show."""
    url = "http://127.0.0.1:%d/api/cluster" % daemon.admin_port
    try:
        urllib.request.urlopen(url, timeout=10)
        raise AssertionError("/api/cluster answered without a cluster")
    except urllib.error.HTTPError as e:
        assert e.code == 404
    assert daemon.metric("cluster_connected") == 0


def test_nats_server_killed_during_deliveries(mail_cluster, nats_cluster):
    """One of three NATS servers killed in the middle of 1,000
    deliveries: every delivery is acknowledged or refused with 4xx, and
    every acknowledged one reaches the registration on another node as
    exactly one notification."""
    a, b = mail_cluster["a"], mail_cluster["b"]
    mail_cluster.add_user("bob", "b")
    c = registered_client(a, "bob")
    total, killed_at, batch = 1000, 300, 20
    seen = {}                   # UID -> the EVENT numbers that told it
    last = [0]                  # the highest EVENT number read

    def take(timeout):
        ev = c.recv(timeout)
        if ev is not None and ev.type == nc.EVENT:
            seen.setdefault(ev["uid"], set()).add(ev["number"])
            last[0] = max(last[0], ev["number"])
        return ev

    acked = set()
    with b.lmtp() as conn:
        code, lines = conn.cmd("LHLO client.test")
        assert code == 250
        for first in range(0, total, batch):
            started = time.monotonic()
            for n in range(first, first + batch):
                if n == killed_at:
                    # The server node b publishes through.
                    nats_cluster.server_of("mailbell-b").kill()
                conn.cmd("MAIL FROM:<sender@example.net>")
                code, lines = conn.cmd("RCPT TO:<bob@example.org>")
                assert code == 250, lines
                code, lines = conn.cmd("DATA")
                assert code == 354
                conn.send(make_message(subject="n%d" % n) + b".\r\n")
                code, lines = conn.reply()
                assert code == 250 or 400 <= code < 500, lines
                if code == 250:
                    acked.add(n + 1)    # UIDs count from 1
            # The batch's notifications, acknowledged with one ACK (it
            # is cumulative), as a client reading them together does:
            # fewer than 32 unacknowledged events, so the notifier
            # never sums them up in a MailboxResync, and ACKs within
            # the 20 a second a client may send (notify-protocol.md).
            deadline = time.monotonic() + 20
            while not acked <= set(seen) and time.monotonic() < deadline:
                take(0.5)
            assert acked <= set(seen), sorted(acked - set(seen))[:5]
            c.ack(last[0])
            time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
    while take(1.5) is not None:
        pass
    # A resend of an unacknowledged EVENT carries its number again; one
    # notification per delivery is one EVENT number per UID.
    assert set(seen) == acked, (len(seen), len(acked))
    assert all(len(numbers) == 1 for numbers in seen.values()), [
        (uid, n) for uid, n in seen.items() if len(n) > 1]
    assert b.metric("cluster_publish_dropped_total") == 0
    c.close()


def uids_and_flags(node, user):
    """{UID: flags} of user's INBOX, read directly from node's IMAP."""
    m = imap_login(node.ports["imap"], user)
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    m.logout()
    out = {}
    for item in data:
        if item is None:
            continue
        text = item.decode() if isinstance(item, bytes) else item[0].decode()
        uid = int(re.search(r"UID (\d+)", text).group(1))
        out[uid] = re.search(r"FLAGS \(([^)]*)\)", text).group(1)
    return out


def test_move_copies_and_switches(mail_cluster):
    """cluster move: the Maildir with its UIDs and flags on the new node,
    the map naming it, the old copy put aside, and new mail there
    notified through another node."""
    a, b, c = mail_cluster["a"], mail_cluster["b"], mail_cluster["c"]
    mail_cluster.add_user("bob", "b")
    for n in range(5):
        deliver(b, "bob@example.org", subject="before %d" % n)
    m = imap_login(b.ports["imap"], "bob")
    m.select("INBOX")
    m.uid("STORE", "2", "+FLAGS", "(\\Seen \\Flagged)")
    m.logout()
    before = uids_and_flags(b, "bob")
    assert len(before) == 5

    # Held through a from before the move: it must hear of new mail
    # only, never of the moved mail as if it had just landed. Made once
    # a has read b's events so far (five MessageNew, one FlagsSet): one
    # still in the stream would reach it as news of the first mail.
    wait_for(lambda: a.metric("cluster_events_received_total") >= 6, 10,
             "a to read b's events")
    reg = registered_client(a, "bob")
    # Sessions open during the move: in IDLE on b, and passed on to b
    # through a. Both end, so that their clients log in again (at c).
    idling = []
    for node in (b, a):
        conn = ImapConn(node.ports["imap"])
        conn.login("bob")
        conn.select()
        conn.send("i IDLE\r\n")
        assert conn.line().startswith("+ ")
        idling.append(conn)
    out = mail_cluster.cli("cluster", "move", "bob", "c")
    assert out.returncode == 0, out.stderr
    assert "bob lives on c" in out.stdout
    for conn in idling:
        lines = conn.until_tagged("i")
        assert lines[-1].startswith("i OK"), lines
        bye = conn.line()
        assert bye.startswith("* BYE [UNAVAILABLE]"), bye
        conn.close()
    for node in (a, b, c):
        wait_for(lambda: mail_cluster.where(node, "bob") == "c", 10,
                 "the map naming c")
    assert uids_and_flags(c, "bob") == before
    aside = list((b.data_dir / "mail" / ".moved").iterdir())
    assert len(aside) == 1 and aside[0].name.startswith("bob.")
    assert not (b.data_dir / "mail" / "bob").exists()

    # New mail lands on c with the next UID; the registration held by a
    # hears of it, and of nothing before it.
    deliver(c, "bob@example.org", subject="after")
    ev = reg.expect(nc.EVENT, timeout=5.0)
    assert ev["uid"] == 6 and ev["messages"] == 6
    reg.close()
    # A second move back, and a move to where it is, are fine too.
    again = mail_cluster.cli("cluster", "move", "bob", "c")
    assert again.returncode == 0 and "already" in again.stdout
    back = mail_cluster.cli("cluster", "move", "bob", "b")
    assert back.returncode == 0, back.stderr
    wait_for(lambda: mail_cluster.where(b, "bob") == "b", 10, "back on b")
    assert len(uids_and_flags(b, "bob")) == 6


def subjects(node, user):
    """The Subject of every message in user's INBOX on node."""
    m = imap_login(node.ports["imap"], user)
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*",
                      "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    m.logout()
    return [re.search(rb"Subject: (\S+)", item[1]).group(1).decode()
            for item in data if isinstance(item, tuple)]


def lmtp_once(conn, rcpt, subject):
    """One transaction on conn: the final reply code (RCPT's if it was
    refused)."""
    code, lines = conn.cmd("MAIL FROM:<sender@example.net>")
    assert code == 250, lines
    code, lines = conn.cmd("RCPT TO:<%s>" % rcpt)
    if code != 250:
        assert 400 <= code < 500, lines
        conn.cmd("RSET")
        return code
    code, lines = conn.cmd("DATA")
    assert code == 354, lines
    conn.send(make_message(subject=subject) + b".\r\n")
    code, lines = conn.reply()
    assert code == 250 or 400 <= code < 500, lines
    return code


def test_move_under_load(mail_cluster):
    """cluster move while mail for the user streams in through another
    node: each message is refused with 4xx (and sent again, as an MTA
    would) or acknowledged, every acknowledged one is on the new node
    once, and the registration held by a third node hears of each
    exactly once."""
    a, b, c = mail_cluster["a"], mail_cluster["b"], mail_cluster["c"]
    mail_cluster.add_user("bob", "b")
    reg = registered_client(a, "bob")
    total, move_at, batch = 250, 80, 20
    seen = {}                   # UID -> the EVENT numbers that told it
    last = [0]
    moved = []

    def take(timeout):
        ev = reg.recv(timeout)
        if ev is not None and ev.type == nc.EVENT:
            seen.setdefault(ev["uid"], set()).add(ev["number"])
            last[0] = max(last[0], ev["number"])
        return ev

    def move():
        moved.append(mail_cluster.cli("cluster", "move", "bob", "c"))

    mover = threading.Thread(target=move)
    acked, refused = 0, 0
    with a.lmtp() as conn:
        code, lines = conn.cmd("LHLO client.test")
        assert code == 250
        for first in range(0, total, batch):
            started = time.monotonic()
            for n in range(first, min(first + batch, total)):
                if n == move_at:
                    mover.start()
                deadline = time.monotonic() + 30
                while lmtp_once(conn, "bob@example.org", "n%d" % n) != 250:
                    refused += 1
                    assert time.monotonic() < deadline, "still refused"
                    time.sleep(0.05)
                acked += 1
            # As in the test above: read the batch's events, then one
            # cumulative ACK, so none is summed up in a MailboxResync.
            deadline = time.monotonic() + 20
            while len(seen) < acked and time.monotonic() < deadline:
                take(0.5)
            assert len(seen) == acked, (len(seen), acked)
            reg.ack(last[0])
            time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
    mover.join(timeout=60)
    assert moved and moved[0].returncode == 0, moved and moved[0].stderr
    while take(1.5) is not None:
        pass
    reg.close()
    assert mail_cluster.where(a, "bob") == "c"
    # Every message on c once, in the order it was acknowledged.
    assert subjects(c, "bob") == ["n%d" % n for n in range(total)]
    assert not (b.data_dir / "mail" / "bob").exists()
    # One EVENT per message, for exactly the UIDs c holds.
    assert set(seen) == set(range(1, total + 1)), sorted(
        set(range(1, total + 1)) ^ set(seen))[:5]
    assert all(len(numbers) == 1 for numbers in seen.values())
    # The move was felt: some messages were sent again.
    assert refused > 0


def test_move_refuses_data_begun_before(mail_cluster):
    """A transaction whose RCPT the old node accepted before the move
    is refused with 451 at the end of DATA, not written into the
    Maildir that was copied away."""
    b, c = mail_cluster["b"], mail_cluster["c"]
    mail_cluster.add_user("bob", "b")
    deliver(b, "bob@example.org", subject="first")
    with b.lmtp() as conn:
        assert conn.cmd("LHLO client.test")[0] == 250
        assert conn.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert conn.cmd("RCPT TO:<bob@example.org>")[0] == 250
        out = mail_cluster.cli("cluster", "move", "bob", "c")
        assert out.returncode == 0, out.stderr
        assert conn.cmd("DATA")[0] == 354
        conn.send(make_message(subject="late") + b".\r\n")
        code, lines = conn.reply()
        assert code == 451 and "moving" in lines[-1], lines
    assert subjects(c, "bob") == ["first"]
    # Sent again, as the MTA does, it lands on c.
    deliver(b, "bob@example.org", subject="late")
    assert subjects(c, "bob") == ["first", "late"]


def test_node_that_loses_nats(tmp_path, nats_cluster):
    """A node cut off from NATS serves and notifies its own users; the
    events of other nodes wait in the stream, its own in memory, and
    each arrives once when it is back."""
    third = nats_cluster.servers[2]
    cluster = MailCluster(tmp_path / "mail", nats_cluster,
                          node_nats={"b": [third.url]}).start()
    try:
        a, b = cluster["a"], cluster["b"]
        cluster.add_user("alice", "a")
        cluster.add_user("bob", "b")
        at_b_alice = registered_client(b, "alice")
        at_b_bob = registered_client(b, "bob")
        at_a_bob = registered_client(a, "bob")

        third.kill()
        wait_for(lambda: b.metric("cluster_connected") == 0, 15,
                 "node b to lose NATS")
        # b's own user: delivered, logged in, notified by b.
        deliver(b, "bob@example.org", subject="local")
        ev = at_b_bob.expect(nc.EVENT, timeout=5.0)
        assert ev["uid"] == 1
        at_b_bob.ack(ev["number"])
        imap_login(b.ports["imap"], "bob").logout()
        # alice's mail lands on a; b hears nothing of it yet, nor a of
        # bob's.
        deliver(a, "alice@example.org", subject="away")
        assert at_b_alice.recv(1.5) is None
        assert at_a_bob.recv(0.5) is None

        third.start()
        wait_for(lambda: b.metric("cluster_connected") == 1, 30,
                 "node b to reach NATS again")
        for client in (at_b_alice, at_a_bob):
            ev = client.expect(nc.EVENT, timeout=15.0)
            assert ev["uid"] == 1
            client.ack(ev["number"])
            # Once: at most a resend of that EVENT (crossing the ACK).
            while (again := client.recv(1.5)) is not None:
                assert again.type != nc.EVENT or again["number"] == \
                    ev["number"], again
        for client in (at_b_alice, at_b_bob, at_a_bob):
            client.close()
    finally:
        problems = cluster.stop()
    assert not problems, problems


def nats_request(url, subject, headers, timeout=5.0):
    """One request over NATS's text protocol: the reply's headers."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    head = "NATS/1.0\r\n" + "".join("%s: %s\r\n" % kv
                                    for kv in headers.items()) + "\r\n"
    with socket.create_connection((host, int(port)), timeout) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"INFO ")
        s.sendall(b'CONNECT {"headers":true,"verbose":false}\r\n'
                  b"SUB _INBOX.t 1\r\nPING\r\n")
        assert f.readline() == b"PONG\r\n"
        s.sendall(("HPUB %s _INBOX.t %d %d\r\n%s\r\n" % (
            subject, len(head), len(head), head)).encode())
        while True:
            line = f.readline()
            if line.startswith(b"HMSG"):
                hlen, total = map(int, line.split()[-2:])
                data = f.read(total + 2)[:total]
                break
            assert line in (b"PING\r\n", b"+OK\r\n"), line
    lines = data[:hlen].decode().split("\r\n")[1:]
    return dict(x.split(": ", 1) for x in lines if ": " in x)


def move_signature(secret, fields):
    msg = b"\0".join([b"mailbell move v1"] + [f.encode() for f in fields])
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def test_move_requests_need_the_secret(mail_cluster, nats_cluster):
    """Any client of NATS may publish to a node's move subject: only a
    request signed with the cluster secret, and fresh, reads a user's
    files there."""
    b = mail_cluster["b"]
    mail_cluster.add_user("bob", "b")
    deliver(b, "bob@example.org")
    secret = mail_cluster.secret.read_text().strip().encode()
    url = nats_cluster.urls[0]

    def ask(key, when, auth=None):
        fields = ["list", "bob", "", "0", str(when)]
        h = {"Mb-Op": "list", "Mb-User": "bob", "Mb-Offset": "0",
             "Mb-Time": str(when)}
        h["Mb-Auth"] = auth or move_signature(key, fields)
        return nats_request(url, "mailbell.move.b", h)

    now = int(time.time())
    good = ask(secret, now)
    assert good.get("Mb-Status") == "ok", good
    for bad in (ask(b"not-the-secret", now), ask(secret, now - 600),
                ask(secret, now, auth="00" * 32)):
        assert bad.get("Mb-Status") == "error", bad
        assert "signed" in bad.get("Mb-Error", ""), bad
    assert "without a valid signature refused" in b.log()
