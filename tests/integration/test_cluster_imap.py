"""
IMAP on the nodes of a cluster: a node logs in to another for a user
who lives there (STARTTLS, then AUTHENTICATE PLAIN as the node for the
user). Three nats-server processes and two mailbelld nodes on loopback
(cluster_support.py).
"""

import base64
import ssl

import pytest

from cluster_support import (MailCluster,  # noqa: F401
                             nats_cluster, wait_for)
from conftest import make_message
from mailclients import ImapConn

@pytest.fixture
def two_nodes(tmp_path, nats_cluster):
    """Nodes a and b, bob living on b."""
    cluster = MailCluster(tmp_path / "mail", nats_cluster, names=("a", "b"))
    for node in cluster.nodes.values():
        node.start()
    # The first node makes the buckets a moment after it is ready.
    wait_for(lambda: cluster.cli("cluster", "nodes").returncode == 0, 20,
             "the cluster's buckets")
    cluster.wait_joined()
    cluster.add_user("bob", "b")
    yield cluster
    problems = cluster.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def deliver(node, subject, rcpt="bob@example.org"):
    node.deliver([make_message(subject=subject)], rcpt=rcpt)


def tls_context(cluster):
    ctx = ssl.create_default_context(cafile=str(cluster.cert))
    return ctx


def node_login(node, cluster, authcid, secret, tls=True):
    """A raw connection to node's IMAP, after STARTTLS (unless not tls),
    sending AUTHENTICATE PLAIN bob/authcid/secret; the reply lines."""
    c = ImapConn(node.ports["imap"])
    if tls:
        assert c.cmd("s", "STARTTLS")[-1].startswith("s OK")
        c.starttls(tls_context(cluster), server_hostname="127.0.0.1")
    raw = b"bob\0" + authcid.encode() + b"\0" + secret.encode()
    lines = c.cmd("a", "AUTHENTICATE PLAIN " +
                  base64.b64encode(raw).decode())
    return c, lines


def cluster_secret(cluster):
    return cluster.secret.read_text().strip()


# ---- the owner's side ----

def test_node_login_needs_the_secret_and_tls(two_nodes):
    b = two_nodes["b"]
    secret = cluster_secret(two_nodes)
    c, lines = node_login(b, two_nodes, "a", "wrong-" + secret)
    assert lines[-1].startswith("a NO [AUTHENTICATIONFAILED]"), lines
    c.close()
    c, lines = node_login(b, two_nodes, "a", secret, tls=False)
    assert lines[-1].startswith("a NO"), lines
    c.close()
    c, lines = node_login(b, two_nodes, "a", secret)
    assert lines[-1].startswith("a OK [CAPABILITY "), lines
    assert "COMPRESS" not in lines[-1]
    assert c.cmd("z", "COMPRESS DEFLATE")[-1].startswith("z NO")
    c.close()
    log = b.log()
    assert "node login failed for node=a" in log
    assert "(not over TLS)" in log
    assert b.metric("imap_node_logins_total") == 1


def test_node_login_for_a_user_of_another_node_is_refused(two_nodes):
    a = two_nodes["a"]
    c, lines = node_login(a, two_nodes, "b", cluster_secret(two_nodes))
    assert lines[-1].startswith("a NO [UNAVAILABLE]"), lines
    c.close()
