"""
A node's UDP registrations kept in NATS (the mailbell-registrations
bucket, doc/cluster.md 5): a node that comes back without its notify
directory (a new machine given its name and address, or a lost disk)
resumes its registrations, and its clients resynchronise as after any
restart, without registering again; NATS never holds the master key in
the clear.
"""

import re
import shutil
import socket

import notifyclient as nc
from cluster_support import (MailCluster, mail_cluster,  # noqa: F401
                             nats_cluster,  # noqa: F401
                             registered_client, wait_for)
from conftest import make_message

# The registrations file with no registration in it: its first line.
EMPTY_FILE = len("# mailbell notify registrations 2\n")
KEPT_RE = re.compile(r"notifier state kept in NATS \(epoch (\d+), (\d+) "
                     r"bytes of registrations")
EPOCH_RE = re.compile(r"notify: epoch (\d+), (\d+) registrations")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fixed_udp_port(node, port):
    """node's notifier on port at every start (a replacement machine
    keeps the node's address), and its debug lines logged."""
    text = node.config.read_text()
    text = text.replace("udp_port = 0", "udp_port = %d" % port)
    text = text.replace("[server]\n", "[server]\nlog_level = debug\n", 1)
    node.config.write_text(text)


def wait_kept(node, epoch, min_bytes):
    """Until node has written its state of this epoch, with at least
    min_bytes of registrations, to NATS."""
    wait_for(lambda: any(int(e) == epoch and int(n) >= min_bytes
                         for e, n in KEPT_RE.findall(node.log())),
             15, "node %s's state in NATS" % node.config)


def started_epoch(node):
    m = EPOCH_RE.search(node.log())
    return int(m.group(1)), int(m.group(2))


def test_lost_notify_directory_restored_from_nats(tmp_path, nats_cluster):
    """Node a loses its notify directory between two runs: it takes its
    master key, registrations and epoch from NATS, and a client
    registered through it before, for a user living on b, hears of the
    restart (a CHALLENGE under a later epoch) and then of mail delivered
    on b, without registering again."""
    cluster = MailCluster(tmp_path / "mail", nats_cluster)
    a, b = cluster["a"], cluster["b"]
    fixed_udp_port(a, free_udp_port())
    cluster.start()
    try:
        cluster.add_user("bob", "b")
        c = registered_client(a, "bob")
        old_epoch = c.epoch
        wait_kept(a, old_epoch, EMPTY_FILE + 16)
        notify_dir = a.data_dir / "notify"
        master = (notify_dir / "master-key").read_text()

        a.stop()
        shutil.rmtree(notify_dir)
        a.start()
        # The client's next keepalive, under the old epoch, is answered
        # under a new one (doc/notify-protocol.md 4.5).
        ka = c.keepalive()
        ch = c.expect(nc.CHALLENGE, timeout=5.0)
        epoch, count = started_epoch(a)
        assert ch.epoch == epoch and len(ch.raw) <= len(ka)
        assert epoch > old_epoch and count == 1
        assert "notify state of node a restored from NATS" in a.log()
        assert (notify_dir / "master-key").read_text() == master
        c.epoch = ch.epoch
        c.pn = 0
        c.verify(ch["cookie"])
        st = c.expect(nc.STATUS)
        assert st["flags"] & 1 and st["last_event"] == 0

        b.deliver([make_message(subject="after")], rcpt="bob@example.org")
        ev = c.expect(nc.EVENT, timeout=10.0)
        assert ev.epoch == epoch and ev["number"] == 1
        assert ev["type"] == nc.MESSAGE_NEW and ev["folder"] == "INBOX"
        assert ev["uid"] == 1
        c.ack(ev["number"])
        c.close()
        # The bucket follows the new epoch.
        wait_kept(a, epoch, EMPTY_FILE + 16)
    finally:
        problems = cluster.stop()
    assert not problems, problems


def test_plain_restart_keeps_local_files(mail_cluster):
    """With its notify directory intact a node starts from it (the next
    epoch, nothing read from NATS) and brings the bucket up to date."""
    a = mail_cluster["a"]
    mail_cluster.add_user("bob", "b")
    c = registered_client(a, "bob")
    a.restart()
    assert "restored from NATS" not in a.log()
    epoch, count = started_epoch(a)
    assert epoch == c.epoch + 1 and count == 1
    wait_for(lambda: any(int(e) == epoch for e, _n in
                         KEPT_RE.findall(a.log())), 15, "the new epoch")
    c.close()


def test_bucket_never_holds_the_master_key(tmp_path, nats_cluster):
    """What NATS stores of a node's state (its servers' files on disk)
    holds neither the master key's bytes nor its hex, nor the
    registrations file's text."""
    cluster = MailCluster(tmp_path / "mail", nats_cluster)
    a = cluster["a"]
    fixed_udp_port(a, free_udp_port())
    cluster.start()
    try:
        check_sealed(cluster, nats_cluster)
    finally:
        problems = cluster.stop()
    assert not problems, problems


def check_sealed(cluster, nats_cluster):
    a = cluster["a"]
    cluster.add_user("bob", "b")
    c = registered_client(a, "bob")
    wait_kept(a, c.epoch, EMPTY_FILE + 16)
    hex_key = (a.data_dir / "notify" / "master-key").read_text().strip()
    raw_key = bytes.fromhex(hex_key)
    regs = (a.data_dir / "notify" / "registrations").read_bytes()
    line = regs.splitlines()[1]
    stored = b""
    for server in nats_cluster.servers:
        for path in server.dir.rglob("*"):
            if path.is_file() and "registrations" in str(path):
                stored += path.read_bytes()
    # The value is there (its key names it)...
    assert b"$KV.mailbell-registrations.a" in stored
    # ...sealed.
    assert raw_key not in stored
    assert hex_key.encode() not in stored
    assert line not in stored and b"mailbell notify" not in stored
    c.close()


def test_no_nats_at_start_starts_without(tmp_path, nats_cluster):
    """A node whose notify directory is gone and that cannot reach NATS
    at start logs it and starts without registrations (a fresh master
    key), as a node out of a cluster would."""
    cluster = MailCluster(tmp_path / "mail", nats_cluster,
                          node_nats={"a": ["nats://127.0.0.1:1"]},
                          names=("a",))
    a = cluster["a"]
    a.start()
    try:
        assert re.search(r"no notify state here and none read from NATS",
                         a.log())
        assert started_epoch(a) == (1, 0)
    finally:
        problems = cluster.stop()
    assert not problems, problems
