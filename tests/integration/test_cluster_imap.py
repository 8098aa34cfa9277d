"""
IMAP on any node of a cluster: a user who lives on node B logs in
through node A, which passes the session on to B (STARTTLS, then
AUTHENTICATE PLAIN as node A for the user) and the bytes both ways;
A answers XBELL itself, from its own UDP port, and refuses COMPRESS.
Three nats-server processes and two mailbelld nodes on loopback
(cluster_support.py).
"""

import base64
import json
import re
import ssl
import urllib.request

import pytest

import notifyclient as nc
from cluster_imap_support import start_nodes, stop_nodes
from cluster_imap_support import two_nodes as make_nodes
from cluster_support import make_certificate, nats_cluster  # noqa: F401
from cluster_support import wait_for
from conftest import PASSWORD, imap_login, imaplib_connect, make_message
from mailclients import ImapConn

UDP_RE = re.compile(r"listening: notify udp \S+:(\d+)\s*$", re.M)


@pytest.fixture
def two_nodes(tmp_path, nats_cluster):  # noqa: F811
    """Nodes a and b, bob living on b."""
    cluster = start_nodes(make_nodes(tmp_path / "mail", nats_cluster))
    cluster.add_user("bob", "b")
    yield cluster
    stop_nodes(cluster)


def deliver(node, subject, rcpt="bob@example.org"):
    node.deliver([make_message(subject=subject)], rcpt=rcpt)


def tls_context(cluster):
    return ssl.create_default_context(cafile=str(cluster.cert))


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


# ---- logging in through another node ----

def test_login_select_fetch_through_a(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    deliver(b, "landed on b")
    m = imap_login(a, "bob")
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"Subject: landed on b" in data[0][1]
    # The session is B's: a folder made through A is made on B.
    assert m.create("Made-through-a")[0] == "OK"
    assert b.folder_dir("bob", "Made-through-a").is_dir()
    assert not a.folder_dir("bob", "Made-through-a").exists()
    assert m.logout()[0] == "BYE"
    assert "passed on to node=b" in a.log()
    assert "node login node=a user=bob" in b.log()
    assert a.metric("imap_proxied_total") == 1
    assert b.metric("imap_node_logins_total") == 1


def test_login_answer_carries_owner_capabilities(two_nodes):
    a = two_nodes["a"]
    c = ImapConn(a.ports["imap"])
    lines = c.cmd("L", "LOGIN bob %s" % PASSWORD)
    assert lines[-1].startswith("L OK [CAPABILITY IMAP4rev1 "), lines
    # The owner offers no COMPRESS to a node; XBELL is there.
    assert "COMPRESS" not in lines[-1] and " XBELL" in lines[-1]
    # COMPRESS is refused at the front door, the session goes on.
    assert c.cmd("z", "COMPRESS DEFLATE")[-1].startswith("z NO [CANNOT]")
    assert c.cmd("n", "NOOP")[-1].startswith("n OK")
    c.close()


def test_authenticate_plain_through_a(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    deliver(b, "sasl")
    m = imaplib_connect(a)
    typ, _ = m.authenticate(
        "PLAIN", lambda _: b"\0bob\0" + PASSWORD.encode())
    assert typ == "OK"
    assert m.select("INBOX") == ("OK", [b"1"])
    m.logout()


def test_wrong_password_is_checked_at_the_front(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    c = ImapConn(a.ports["imap"])
    lines = c.cmd("L", "LOGIN bob wrong-password")
    assert lines[-1].startswith("L NO [AUTHENTICATIONFAILED]"), lines
    c.close()
    assert "node login" not in b.log()


def test_pipelined_commands_after_login_reach_the_owner(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    deliver(b, "one")
    c = ImapConn(a.ports["imap"])
    c.send("L LOGIN bob %s\r\ns SELECT INBOX\r\nf FETCH 1 (FLAGS)\r\n"
           % PASSWORD)
    assert c.until_tagged("L")[-1].startswith("L OK")
    assert c.until_tagged("s")[-1].startswith("s OK [READ-WRITE]")
    got = c.until_tagged("f")
    assert got[0].startswith("* 1 FETCH (FLAGS (")
    assert got[-1].startswith("f OK")
    c.close()


def test_append_with_literals_through_a(two_nodes):
    """Synchronising and non-synchronising literals cross the proxy, and
    a literal the owner refuses (no such folder) is never sent."""
    a, b = two_nodes["a"], two_nodes["b"]
    c = ImapConn(a.ports["imap"])
    c.login("bob")
    msg = make_message(subject="appended")
    c.send(b"p APPEND INBOX {%d}\r\n" % len(msg))
    assert c.line().startswith("+ ")
    c.send(msg + b"\r\n")
    assert c.until_tagged("p")[-1].startswith("p OK [APPENDUID")
    c.send(b"q APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    assert c.until_tagged("q")[-1].startswith("q OK [APPENDUID")
    c.send(b"r APPEND Nowhere {%d}\r\n" % len(msg))
    assert c.line().startswith("r NO [TRYCREATE]")
    # No literal follows; the next line is a command again.
    assert c.cmd("x", "XBELL UNREGISTER 0000000000000000")[-1] \
        .startswith("x NO [NONEXISTENT]")
    assert c.cmd("n", "NOOP")[-1].startswith("n OK")
    c.close()
    b.wait_messages("bob", 2)


def test_idle_through_a_sees_a_delivery_to_b(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    deliver(b, "first")
    c = ImapConn(a.ports["imap"])
    c.login("bob")
    c.select()
    c.send("i IDLE\r\n")
    assert c.line().startswith("+ ")
    deliver(b, "second")
    assert c.line() == "* 2 EXISTS"
    c.send("DONE\r\n")
    assert c.until_tagged("i")[-1].startswith("i OK")
    c.close()


# ---- XBELL is the front door's ----

def test_xbell_register_through_a_answers_with_a_port(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    m = imap_login(a, "bob")
    reg = nc.register(m)
    assert reg.port == int(UDP_RE.search(a.log()).group(1))
    assert reg.port != int(UDP_RE.search(b.log()).group(1))
    m.logout()
    # The registration is A's: a client verifies with A and hears of
    # mail delivered to B from A.
    client = nc.UdpClient(reg)
    client.handshake()
    deliver(b, "ring")
    ev = client.expect(nc.EVENT, timeout=10.0)
    assert ev["type"] == nc.MESSAGE_NEW
    client.close()
    assert a.metric("notify_registrations") == 1
    assert b.metric("notify_registrations") == 0


def test_xbell_with_a_literal_through_a(two_nodes):
    """The front door sends the "+" for a literal of its own command
    itself, between two of the owner's responses."""
    a = two_nodes["a"]
    c = ImapConn(a.ports["imap"])
    c.login("bob")
    c.send("x XBELL REGISTER ({5}\r\n")
    assert c.line().startswith("+ ")
    c.send("INBOX)\r\n")
    lines = c.until_tagged("x")
    assert lines[0].startswith("* XBELL REGISTERED (VERSION "), lines
    assert lines[-1].startswith("x OK"), lines
    assert c.cmd("n", "NOOP")[-1].startswith("n OK")
    c.close()
    assert a.metric("notify_registrations") == 1


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


def test_owner_certificate_is_checked(tmp_path, nats_cluster):  # noqa: F811
    """A front door whose ca_file does not hold the CA of the owner's
    certificate does not log in there."""
    cluster = make_nodes(tmp_path / "mail", nats_cluster)
    other_dir = tmp_path / "other-ca"
    other_dir.mkdir()
    other, _key = make_certificate(other_dir)
    conf = cluster["a"].config
    conf.write_text(conf.read_text().replace(
        "ca_file = %s" % cluster.cert, "ca_file = %s" % other))
    start_nodes(cluster)
    try:
        cluster.add_user("bob", "b")
        c = ImapConn(cluster["a"].ports["imap"])
        lines = c.cmd("L", "LOGIN bob %s" % PASSWORD)
        assert lines[-1].startswith("L NO [UNAVAILABLE]"), lines
        c.close()
        log = cluster["a"].log()
        assert "cannot pass user=bob on to node=b" in log
        assert "TLS: certificate not trusted" in log, log[-2000:]
        assert "node login" not in cluster["b"].log()
    finally:
        stop_nodes(cluster)


# ---- the owner gone ----

def test_owner_stopped_gives_unavailable(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    b.stop()
    c = ImapConn(a.ports["imap"])
    lines = c.cmd("L", "LOGIN bob %s" % PASSWORD)
    assert lines[-1].startswith("L NO [UNAVAILABLE]"), lines
    # Still not logged in: a command of the authenticated state is BAD.
    assert c.cmd("s", "SELECT INBOX")[-1].startswith("s BAD")
    c.close()
    assert a.metric("imap_proxy_failures_total") >= 1


def test_owner_closing_ends_the_client_session(two_nodes):
    a, b = two_nodes["a"], two_nodes["b"]
    c = ImapConn(a.ports["imap"])
    c.login("bob")
    b.stop()
    lines = []
    while True:
        line = c.line()
        if line is None:
            break
        lines.append(line)
    assert any(line.startswith("* BYE") for line in lines), lines
    c.close()
    wait_for(lambda: a.metric("imap_proxied_sessions") == 0,
             10, "the proxied session to go")


# ---- the admin port ----

def test_admin_lists_the_proxied_session(two_nodes):
    a = two_nodes["a"]
    m = imap_login(a, "bob")
    with urllib.request.urlopen("http://127.0.0.1:%d/api/sessions"
                                % a.admin_port, timeout=10) as r:
        rows = json.load(r)["sessions"]
    imap = [row for row in rows if row["service"] == "imap"]
    assert len(imap) == 1
    assert imap[0]["state"] == "proxied" and imap[0]["node"] == "b"
    assert imap[0]["user"] == "bob"
    assert a.metric("imap_proxied_sessions") == 1
    m.logout()
    wait_for(lambda: a.metric("imap_proxied_sessions") == 0,
             10, "the proxied session to go")
