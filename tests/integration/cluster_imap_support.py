"""
Helpers for the IMAP tests of a cluster (test_cluster_imap*.py): two
mailbelld nodes over a NatsCluster, and node A seen as one daemon by a
client of a user who lives on node B.
"""

import shutil

import pytest

from cluster_support import MailCluster


def two_nodes(root, nats):
    """A MailCluster of nodes a and b, not started."""
    return MailCluster(root, nats, names=("a", "b"))


def start_nodes(cluster):
    """Start cluster's nodes; wait until they have joined."""
    return cluster.start()


def stop_nodes(cluster):
    problems = cluster.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


class ThroughFrontDoor:
    """Node front as a client of a user who lives on node home sees the
    server: IMAP (and IMAPS) at front, which passes the session on to
    home; deliveries, Maildirs and everything else at home. data_dir
    holds tls/mailbell.crt, the certificate front serves."""

    def __init__(self, front, home, cert, root):
        self.front, self.home = front, home
        self.ports = dict(home.ports)
        for service in ("imap", "imaps"):
            if service in front.ports:
                self.ports[service] = front.ports[service]
        self.data_dir = root / "front-view"
        (self.data_dir / "tls").mkdir(parents=True, exist_ok=True)
        shutil.copy(cert, self.data_dir / "tls" / "mailbell.crt")

    def __getattr__(self, name):
        return getattr(self.home, name)
