"""
LMTP in a cluster: any node takes mail for any user and relays each
recipient who lives on another node to that node's LMTP, replying per
recipient in RCPT order with the owner's own replies (mailbelld(8),
LMTP IN A CLUSTER). Three mailbelld nodes over a three-server NATS
cluster on loopback (cluster_support.py), driven with Python's
smtplib.LMTP as an MTA would.
"""

import re
import signal
import smtplib

from cluster_support import (mail_cluster, nats_cluster,  # noqa: F401
                             wait_for)
from conftest import make_message, wait_until


def lmtp(node):
    client = smtplib.LMTP("127.0.0.1", node.lmtp_port, timeout=30)
    client.ehlo_or_helo_if_needed()
    return client


def transaction(client, recipients, msg, sender="sender@example.net",
                options=()):
    """MAIL, one RCPT per recipient and, if one was accepted, DATA.
    Returns ([RCPT replies], [DATA replies, one per accepted recipient,
    in RCPT order]); the replies are (code, text) with text as str."""
    code, text = client.mail(sender, list(options))
    assert code == 250, (code, text)
    rcpt = [client.rcpt(r) for r in recipients]
    rcpt = [(code, text.decode()) for code, text in rcpt]
    accepted = sum(1 for code, _ in rcpt if code == 250)
    if accepted == 0:
        client.rset()
        return rcpt, []
    first = client.data(msg)
    data = [first] + [client.getreply() for _ in range(accepted - 1)]
    return rcpt, [(code, text.decode()) for code, text in data]


def test_relayed_to_the_owner(mail_cluster):
    """Mail for a user on b, given to a, lands in b's Maildir (never
    a's), and a's 250 comes only once b has stored it."""
    a, b = mail_cluster["a"], mail_cluster["b"]
    mail_cluster.add_user("bob", "b")
    body = make_message(subject="via a") + b".a line with a dot\r\n"
    with lmtp(a) as client:
        rcpt, data = transaction(client, ["bob@example.org"], body)
        assert rcpt == [(250, "2.1.5 <bob@example.org> OK")]
        assert len(data) == 1 and data[0][0] == 250, data
        # b's 250 came first, and a passes b's on: b's UID.
        assert data[0][1] == "2.0.0 1 delivered to <bob@example.org>"
        files = b.message_files("bob")
        assert len(files) == 1
    assert a.message_files("bob") == []
    stored = files[0].read_bytes()
    assert stored.endswith(body)
    assert b"Delivered-To: bob@example.org\r\n" in stored
    assert re.search(r"lmtp: peer=\S+ user=bob node=b: relayed: 250 ",
                     a.log())
    assert re.search(r"lmtp: peer=\S+ user=bob: delivered uid=1", b.log())
    assert a.metric('lmtp_relayed_recipients_total{result="delivered"}') \
        == 1
    wait_for(lambda: a.metric("lmtp_relay_connections_active") == 0,
             10, "the relay connection to close")


def test_mixed_recipients_in_order(mail_cluster):
    """Recipients on a, on b, on c and unknown in one transaction: each
    gets its own reply at RCPT and after DATA, in RCPT order."""
    a, b, c = mail_cluster["a"], mail_cluster["b"], mail_cluster["c"]
    mail_cluster.add_user("alice", "a")
    mail_cluster.add_user("bob", "b")
    mail_cluster.add_user("carol", "c")
    with lmtp(a) as client:
        rcpt, data = transaction(
            client, ["bob@example.org", "nobody@example.org",
                     "alice@example.org", "carol@example.org"],
            make_message(subject="mixed"))
    assert [code for code, _ in rcpt] == [250, 550, 250, 250], rcpt
    assert rcpt[1][1].startswith("5.1.1 <nobody@example.org>")
    assert [code for code, _ in data] == [250, 250, 250], data
    for (_, text), user in zip(data, ["bob", "alice", "carol"]):
        assert text.endswith("delivered to <%s@example.org>" % user), data
    assert len(b.message_files("bob")) == 1
    assert len(a.message_files("alice")) == 1
    assert len(c.message_files("carol")) == 1
    for node, user in ((a, "bob"), (a, "carol"), (b, "alice"),
                       (c, "alice")):
        assert node.message_files(user) == [], (node.config, user)


def test_owner_down(mail_cluster):
    """With b stopped, b's users get 451 through a, never 250; a's own
    users are still delivered."""
    a, b = mail_cluster["a"], mail_cluster["b"]
    mail_cluster.add_user("alice", "a")
    mail_cluster.add_user("bob", "b")
    b.stop()
    with lmtp(a) as client:
        rcpt, data = transaction(
            client, ["bob@example.org", "alice@example.org"],
            make_message(subject="b is down"))
        assert rcpt[0][0] == 451, rcpt
        assert rcpt[0][1].startswith("4.4."), rcpt
        assert rcpt[1][0] == 250, rcpt
        assert data == [(250, "2.0.0 1 delivered to <alice@example.org>")]
        # Again, b's user alone: still 451, the transaction goes on.
        rcpt, data = transaction(client, ["bob@example.org"],
                                 make_message())
        assert rcpt[0][0] == 451 and data == [], rcpt
    assert a.message_files("bob") == []
    failed = sum(a.metric('lmtp_relayed_recipients_total{result="%s"}' % r)
                 for r in ("unreachable", "unavailable"))
    assert failed == 2
    assert a.metric('lmtp_relayed_recipients_total{result="delivered"}') \
        == 0


def reload_max_size(node, size):
    """Set node's [lmtp] max_message_size and SIGHUP it."""
    text = node.config.read_text()
    text = re.sub(r"max_message_size = \S+", "max_message_size = " + size,
                  text)
    node.config.write_text(text)
    done = node.log().count("reload: done")
    node.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: node.log().count("reload: done") > done, 10)


def test_owner_refusals_pass_through(mail_cluster):
    """What b refuses, a's client hears as b said it: an unknown user
    at RCPT, SIZE over b's limit at RCPT (b refused MAIL FROM), and a
    message over b's limit after DATA."""
    a, b = mail_cluster["a"], mail_cluster["b"]
    mail_cluster.add_user("alice", "a")
    mail_cluster.add_user("bob", "b")
    # erin is placed on b but only a's passwd file has her.
    a.add_user("erin")
    mail_cluster.cli("cluster", "place", "erin", "b")
    wait_for(lambda: mail_cluster.where(a, "erin") == "b", 10,
             "erin placed on b")
    reload_max_size(b, "10K")
    # Over b's 10K, within a's 100K.
    big = make_message(subject="big") + (b"y" * 70 + b"\r\n") * 300
    with lmtp(a) as client:
        rcpt, _ = transaction(client, ["erin@example.org"], big)
        assert rcpt == [(550, "5.1.1 <erin@example.org> User unknown")]
        # SIZE goes on to b, whose MAIL refusal answers the RCPT.
        rcpt, data = transaction(
            client, ["bob@example.org", "alice@example.org"], big,
            options=["SIZE=%d" % len(big)])
        assert rcpt[0][0] == 552 and rcpt[0][1].startswith("5.3.4 "), rcpt
        assert data == [(250, "2.0.0 1 delivered to <alice@example.org>")]
        # Without SIZE b refuses the message itself, after the dot.
        rcpt, data = transaction(
            client, ["alice@example.org", "bob@example.org"], big)
        assert [code for code, _ in rcpt] == [250, 250], rcpt
        assert data[0] == (250, "2.0.0 2 delivered to <alice@example.org>")
        assert data[1][0] == 552 and data[1][1].startswith("5.3.4 <bob@")
    assert b.message_files("bob") == []
    assert a.metric('lmtp_relayed_recipients_total{result="rejected"}') \
        == 2
    assert a.metric('lmtp_relayed_recipients_total{result="failed"}') == 1
