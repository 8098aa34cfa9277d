"""
Several mailbelld nodes over a three-server NATS cluster (JetStream,
replicas 3) on loopback: the user map, the node records, and new-mail
events crossing from the node that owns a user to the node that holds
the user's UDP registration.
"""

import re
import time

import notifyclient as nc
from cluster_support import (mail_cluster, nats_cluster,  # noqa: F401
                             wait_for)
from conftest import imap_login, make_message


UDP_RE = re.compile(r"listening: notify udp \S+:(\d+)\s*$", re.M)


def udp_port(node):
    return int(UDP_RE.search(node.log()).group(1))


def deliver(node, rcpt, subject="cluster"):
    return node.deliver([make_message(subject=subject)], rcpt=rcpt)


def registered_client(node, user):
    """A UDP client registered through node's IMAP and verified."""
    m = imap_login(node.ports["imap"], user)
    reg = nc.register(m)
    m.logout()
    c = nc.UdpClient(reg)
    c.handshake()
    return c


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
