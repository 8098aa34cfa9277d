"""
The notifier end to end on loopback: XBELL over IMAP, the UDP handshake
(HELLO, CHALLENGE, VERIFY, STATUS), EVENTs for mail delivered by LMTP,
acknowledgement and retransmission, forged, replayed and short
datagrams, endpoint changes, leases, restarts and limits. The client is
tests/integration/notifyclient.py, built on doc/notify-vectors.py.
"""

import re
import socket
import struct
import subprocess
import time

import pytest

from conftest import (DAEMON, imap_login, imaplib_connect, make_message,
                      wait_until)
import notifyclient as nc

UDP_RE = re.compile(r"^mailbelld: listening: notify udp (\S+):(\d+)\s*$",
                    re.M)


def udp_port(daemon):
    ports = {int(p) for _a, p in UDP_RE.findall(daemon.log())}
    return ports.pop()


def metric(daemon, name):
    return daemon.metric(name)


def deliver(daemon, rcpt="alice@example.org", subject="hello"):
    """One message over LMTP; returns the time of the 250 reply."""
    return daemon.deliver([make_message(subject)], rcpt)


@pytest.fixture
def imap(daemon):
    m = imap_login(daemon.ports["imap"], "alice")
    yield m
    try:
        m.logout()
    except Exception:
        pass


def registered(daemon, imap, folders=None):
    reg = nc.register(imap, folders)
    assert reg.port == udp_port(daemon)
    return reg


def verified_client(daemon, imap, folders=None):
    reg = registered(daemon, imap, folders)
    c = nc.UdpClient(reg)
    c.handshake()
    return c


# ---- registration ----

def test_listening_line_and_capability(daemon, imap):
    assert udp_port(daemon) > 0
    typ, data = imap.capability()
    assert typ == "OK"
    assert b"XBELL" in data[0].split()


def test_no_capability_before_login_or_when_disabled(daemon_factory):
    d = daemon_factory(notify__enabled="no")
    d.add_user("alice")
    assert not UDP_RE.search(d.log())
    m = imap_login(d.ports["imap"], "alice")
    typ, data = m.capability()
    assert b"XBELL" not in data[0].split()
    typ, data, _ = nc.xbell(m, "REGISTER")
    assert typ == "BAD"
    m.logout()


def test_capability_not_before_login(daemon):
    m = imaplib_connect(daemon)
    typ, data = m.capability()
    assert b"XBELL" not in data[0].split()
    m.logout()


def test_register_reply(daemon, imap):
    reg = registered(daemon, imap)
    assert reg.version == 1
    assert reg.keepalive == 25
    assert reg.lease == 7 * 24 * 3600
    assert reg.epoch >= 1
    other = nc.register(imap)
    assert other.id != reg.id and other.key != reg.key


def test_register_folders_and_errors(daemon, imap):
    assert imap.create("Work")[0] == "OK"
    registered(daemon, imap, ["INBOX", "Work"])
    typ, data, _ = nc.xbell(imap, "REGISTER", "(Nope)")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    typ, data, _ = nc.xbell(imap, "REGISTER", "INBOX")
    assert typ == "BAD"
    typ, data, _ = nc.xbell(imap, "FROB")
    assert typ == "BAD"


def test_unregister(daemon, imap):
    reg = registered(daemon, imap)
    typ, data, _ = nc.xbell(imap, "UNREGISTER", '"%s"' % reg.id_hex)
    assert typ == "OK", data
    typ, data, _ = nc.xbell(imap, "UNREGISTER", '"%s"' % reg.id_hex)
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    # an unregistered id gets no answer
    c = nc.UdpClient(reg)
    c.hello()
    assert c.recv_raw(0.5) is None
    c.close()


def test_unregister_other_users_id(daemon, imap):
    reg = registered(daemon, imap)
    m = imap_login(daemon.ports["imap"], "bob")
    typ, data, _ = nc.xbell(m, "UNREGISTER", '"%s"' % reg.id_hex)
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    m.logout()
    c = nc.UdpClient(reg)
    c.handshake()
    c.close()


# ---- the handshake and events ----

def test_handshake_and_event_on_delivery(daemon, imap):
    c = verified_client(daemon, imap)
    st = c.recv(0.3)
    assert st is None
    t0 = deliver(daemon)
    ev = c.expect(nc.EVENT, timeout=1.0)
    latency = time.monotonic() - t0
    assert latency < 1.0
    assert ev["type"] == nc.MESSAGE_NEW
    assert ev["folder"] == "INBOX"
    assert ev["number"] == 1
    assert ev["uid"] == 1 and ev["uidnext"] == 2
    assert ev["messages"] == 1 and ev["unseen"] == 1
    assert ev["uidvalidity"] > 0
    assert len(ev.raw) % 64 == 0 and len(ev.raw) >= 128
    c.ack(1)
    # acknowledged: no retransmission (the first would be due within
    # 1.25 s)
    assert c.recv(1.5) is None
    c.close()


def test_event_and_ack_timed(daemon, imap):
    """The metrics time each notification from the landing to its
    first send, and to its ACK."""
    sent = "notify_event_sent_seconds"
    acked = "notify_event_acked_seconds"
    c = verified_client(daemon, imap)
    before = {k: metric(daemon, k + "_count") for k in (sent, acked)}
    deliver(daemon)
    ev = c.expect(nc.EVENT)
    assert daemon.wait_metric(sent + "_count", before[sent] + 1)
    assert metric(daemon, acked + "_count") == before[acked]
    c.ack(ev["number"])
    assert daemon.wait_metric(acked + "_count", before[acked] + 1)
    assert metric(daemon, sent + "_sum") < 1
    assert metric(daemon, acked + "_sum") < 5
    c.close()


def test_challenge_status_fields(daemon, imap):
    reg = registered(daemon, imap)
    c = nc.UdpClient(reg)
    hello = c.hello()
    ch = c.expect(nc.CHALLENGE)
    assert len(ch.raw) == 84 <= len(hello)
    assert ch["observed"] == c.addr
    assert ch.epoch == reg.epoch
    c.verify(ch["cookie"])
    st = c.expect(nc.STATUS)
    assert st["flags"] == 1
    assert st["keepalive"] == 25
    assert st["observed"] == c.addr
    assert 0 < st["lease"] <= reg.lease
    assert st["last_event"] == 0
    c.keepalive()
    st = c.expect(nc.STATUS)
    assert st["flags"] == 1
    c.close()


def test_no_ack_resent_with_a_fresh_packet_number(daemon, imap):
    # The whole schedule (five sends, 1, 2, 4 and 8 s apart, up to 25%
    # later) is checked in simulated time by
    # tests/unit/notify/test-notify-server.c; here the first resend on
    # the wire.
    c = verified_client(daemon, imap)
    deliver(daemon)
    first = c.expect(nc.EVENT)
    t0 = time.monotonic()
    again = c.expect(nc.EVENT, timeout=5.0)
    gap = time.monotonic() - t0
    assert again["number"] == first["number"] == 1
    assert again.pn != first.pn
    assert again.raw != first.raw
    assert 0.9 <= gap <= 1.25 + 0.5, gap
    # STATUS tells what was sent
    c.keepalive()
    st = c.expect(nc.STATUS)
    assert st["last_event"] == 1
    c.close()


def test_keepalive_ack_stops_retransmission(daemon, imap):
    c = verified_client(daemon, imap)
    deliver(daemon)
    c.expect(nc.EVENT)
    c.keepalive(ack=1)
    st = c.expect(nc.STATUS)
    assert st["last_event"] == 1
    # the first resend would be due within 1.25 s (and no later one
    # comes in simulated time either: tests/unit/notify)
    assert c.recv(1.5) is None
    c.close()


def test_folder_list_filters_events(daemon, imap):
    assert imap.create("Work")[0] == "OK"
    c = verified_client(daemon, imap, ["Work"])
    deliver(daemon)
    assert c.recv(1.0) is None
    imap.append("Work", None, None, make_message("appended"))
    ev = c.expect(nc.EVENT)
    assert ev["type"] == nc.MESSAGE_APPEND
    assert ev["folder"] == "Work"
    c.close()


def test_flags_and_expunge_events(daemon, imap):
    deliver(daemon)
    c = verified_client(daemon, imap)
    imap.select("INBOX")
    imap.store("1", "+FLAGS", "(\\Seen)")
    ev = c.expect(nc.EVENT)
    assert ev["type"] == nc.FLAGS_SET and ev["uid"] == 1
    assert ev["unseen"] == 0
    c.ack(ev["number"])
    imap.store("1", "+FLAGS", "(\\Deleted)")
    ev = c.expect(nc.EVENT)
    assert ev["type"] == nc.FLAGS_SET
    c.ack(ev["number"])
    imap.expunge()
    ev = c.expect(nc.EVENT)
    assert ev["type"] == nc.MESSAGE_EXPUNGE and ev["messages"] == 0
    c.close()


def test_other_users_mail_sends_nothing(daemon, imap):
    c = verified_client(daemon, imap)
    deliver(daemon, "bob@example.org")
    assert c.recv(1.0) is None
    c.close()


def test_unverified_gets_no_events(daemon, imap):
    reg = registered(daemon, imap)
    c = nc.UdpClient(reg)
    c.hello()
    c.expect(nc.CHALLENGE)
    deliver(daemon)
    assert c.recv(1.0) is None
    c.close()


def test_more_than_32_unacked_becomes_resync(daemon, imap):
    c = verified_client(daemon, imap)
    for i in range(34):
        imap.append("INBOX", None, None, make_message("m%d" % i))
    events = {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        d = c.recv(0.5)
        if d is None:
            break
        events[d["number"]] = d
    resyncs = [d for d in events.values() if d["type"] == nc.MAILBOX_RESYNC]
    assert resyncs, sorted(events)
    assert resyncs[0]["folder"] == ""
    assert max(events) == 34
    assert metric(daemon, "notify_resyncs_total") >= 1
    c.close()


# ---- hostile datagrams ----

def test_forged_datagram_dropped_and_counted(daemon, imap):
    reg = registered(daemon, imap)
    c = nc.UdpClient(reg)
    c.hello(key=bytes(32))
    assert c.recv_raw(1.0) is None
    assert metric(daemon, 'notify_datagrams_dropped_total{reason="tag"}') == 1
    # unknown id
    other = nc.Registration(1, "00000000000000ff", bytes(32), reg.port, 25,
                            60, reg.epoch)
    nc.UdpClient(other, sock=c.sock).hello()
    assert c.recv_raw(0.5) is None
    assert metric(daemon, 'notify_datagrams_dropped_total{reason="id"}') == 1
    c.close()


def test_replayed_datagram_dropped(daemon, imap):
    c = verified_client(daemon, imap)
    c.keepalive()
    c.expect(nc.STATUS)
    c.send_raw(c.sent[-1])
    assert c.recv_raw(1.0) is None
    assert metric(daemon, 'notify_datagrams_dropped_total{reason="replay"}') == 1
    # a replayed HELLO from another socket gets nothing either
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    other.sendto(c.sent[0], c.server)
    other.settimeout(0.5)
    with pytest.raises(socket.timeout):
        other.recvfrom(2048)
    other.close()
    assert metric(daemon, 'notify_datagrams_dropped_total{reason="replay"}') == 2
    c.close()


FLOOD_CHUNK = 2000
FLOOD_CHUNKS = 10
FLOOD_SECONDS = 30


def test_flood_of_forgeries_and_old_replays_keeps_client_on_udp(daemon,
                                                                  imap):
    """A flood of forged HELLOs naming an unverified registration, and
    of replays of a keepalive captured before a restart naming a
    verified one, both from another socket: no key derivation for any
    of them, and the real client's keepalives are answered throughout
    (its budget is its endpoint's own) and its EVENT arrives."""
    c = verified_client(daemon, imap)
    c.keepalive()
    c.expect(nc.STATUS)
    old = c.sent[-1]
    imap.logout()
    daemon.restart()
    c.server = ("127.0.0.1", udp_port(daemon))
    c.keepalive()
    ch = c.expect(nc.CHALLENGE)
    c.epoch, c.pn = ch.epoch, 0
    c.verify(ch["cookie"])
    c.expect(nc.STATUS)
    m = imap_login(daemon.ports["imap"], "alice")
    unverified = nc.register(m)
    m.logout()

    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attacker.bind(("127.0.0.1", 0))
    forged = nc.UdpClient(unverified, server_port=c.server[1],
                          sock=attacker).seal(nc.HELLO, b"\xa0" * 8,
                                              key=bytes(32))
    derivations = metric(daemon, "notify_key_derivations_total")
    tags = metric(daemon, 'notify_datagrams_dropped_total{reason="tag"}')
    rate = metric(daemon, 'notify_datagrams_dropped_total{reason="rate"}')
    deadline = time.monotonic() + FLOOD_SECONDS
    sent = 0
    for _chunk in range(FLOOD_CHUNKS):
        if time.monotonic() > deadline:
            break
        for i in range(FLOOD_CHUNK):
            attacker.sendto(forged if i % 2 else old, c.server)
        sent += FLOOD_CHUNK
        # the client is still answered on UDP, in the thick of it
        c.keepalive()
        c.expect(nc.STATUS)
    attacker.close()
    assert sent >= FLOOD_CHUNK
    # the daemon read much of the flood (loopback may drop a little)
    assert wait_until(lambda: metric(daemon, 'notify_datagrams_dropped_total{reason="tag"}')
                      - tags >= sent // 4, 10)
    assert metric(daemon, 'notify_datagrams_dropped_total{reason="rate"}') - rate >= sent // 4
    # none of it cost a key derivation (the old epoch's key was kept
    # from the client's own keepalive after the restart)
    assert metric(daemon, "notify_key_derivations_total") <= derivations + 1
    deliver(daemon)
    ev = c.expect(nc.EVENT)
    assert ev["number"] == 1
    c.close()


def test_short_and_garbage_datagrams_get_nothing(daemon, imap):
    reg = registered(daemon, imap)
    c = nc.UdpClient(reg)
    # a HELLO of 127 bytes: authentic, but short of the padding rule
    c.send(nc.HELLO, b"\xa0" * 8, pad=127)
    assert c.recv_raw(0.5) is None
    c.send_raw(b"\x01")
    c.send_raw(b"GET / HTTP/1.0\r\n\r\n" * 10)
    c.send_raw(bytes(1300))
    assert c.recv_raw(0.5) is None
    m = daemon.metrics()
    assert m['mailbell_notify_datagrams_dropped_total{reason="size"}'] >= 3
    assert m["mailbell_notify_datagrams_sent_total"] == 0
    c.close()


def test_bad_cookie_dropped(daemon, imap):
    reg = registered(daemon, imap)
    c = nc.UdpClient(reg)
    c.hello()
    ch = c.expect(nc.CHALLENGE)
    c.verify(bytes(16))
    assert c.recv(0.5) is None
    # a cookie made for another endpoint does not verify this one
    other = nc.UdpClient(reg)
    other.pn = c.pn
    c.pn += 1
    other.verify(ch["cookie"])
    assert other.recv(0.5) is None
    assert metric(daemon, 'notify_datagrams_dropped_total{reason="cookie"}') == 2
    c.verify(ch["cookie"])
    c.expect(nc.STATUS)
    other.close()
    c.close()


def test_new_endpoint_challenged_before_events_move(daemon, imap):
    c = verified_client(daemon, imap)
    # the same registration, speaking from another socket (a NAT rebind)
    moved = nc.UdpClient(c.reg)
    moved.pn = c.pn
    moved.epoch = c.epoch
    moved.seen = c.seen
    moved.keepalive()
    ch = moved.expect(nc.CHALLENGE)
    assert len(ch.raw) <= 128
    assert ch["observed"] == moved.addr
    # not verified yet: events still go to the old endpoint
    deliver(daemon)
    ev = c.expect(nc.EVENT)
    assert moved.recv(0.5) is None
    # once verified, the unacked event moves there
    moved.verify(ch["cookie"])
    st = moved.expect(nc.STATUS)
    assert st["flags"] == 1
    ev2 = moved.expect(nc.EVENT)
    assert ev2["number"] == ev["number"]
    moved.ack(ev2["number"])
    assert c.recv(1.5) is None
    c.close()
    moved.close()


def test_hello_from_other_socket_gets_challenge_only(daemon, imap):
    c = verified_client(daemon, imap)
    other = nc.UdpClient(c.reg)
    other.pn = c.pn + 10
    other.epoch = c.epoch
    other.seen = c.seen
    other.hello()
    other.expect(nc.CHALLENGE)
    deliver(daemon)
    assert other.recv(1.0) is None
    c.expect(nc.EVENT)
    c.close()
    other.close()


def test_ipv6_and_ipv4_sockets_share_the_port(daemon_factory):
    d = daemon_factory(server__listen="127.0.0.1, ::1")
    d.add_user("alice")
    wheres = [a for a, _p in UDP_RE.findall(d.log())]
    assert sorted(wheres) == ["127.0.0.1", "[::1]"], d.log()
    m = imap_login(d.ports["imap"], "alice")
    reg = registered(d, m)
    c6 = nc.UdpClient(reg, host="::1")
    st = c6.handshake()
    assert st["observed"] == c6.addr
    deliver(d)
    assert c6.expect(nc.EVENT)["type"] == nc.MESSAGE_NEW
    # the same registration moving to IPv4 is challenged there first
    c4 = nc.UdpClient(reg)
    c4.pn = c6.pn
    c4.seen = c6.seen
    c4.keepalive()
    ch = c4.expect(nc.CHALLENGE)
    c4.verify(ch["cookie"])
    assert c4.expect(nc.STATUS)["observed"] == c4.addr
    c4.close()
    c6.close()
    m.logout()


def test_wildcard_socket_replies_from_the_address_used(daemon_factory):
    # With listen = *, replies and events leave from the address the
    # client sent to (127.0.0.2 here), or a NAT would drop them.
    d = daemon_factory(server__listen="*")
    d.add_user("alice")
    wheres = sorted(a for a, _p in UDP_RE.findall(d.log()))
    assert "0.0.0.0" in wheres, d.log()
    m = imap_login(d.ports["imap"], "alice")
    reg = registered(d, m)
    c = nc.UdpClient(reg)
    c.server = ("127.0.0.2", reg.port)
    c.handshake()
    deliver(d)
    assert c.expect(nc.EVENT)["type"] == nc.MESSAGE_NEW
    c.close()
    m.logout()


# ---- leases, restarts, persistence ----

def test_lease_outlives_imap_session(daemon):
    m = imap_login(daemon.ports["imap"], "alice")
    reg = registered(daemon, m)
    m.logout()
    c = nc.UdpClient(reg)
    c.handshake()
    deliver(daemon)
    assert c.expect(nc.EVENT)["type"] == nc.MESSAGE_NEW
    c.close()


def test_restart_new_epoch_challenge_and_persisted(daemon, imap):
    c = verified_client(daemon, imap)
    old_epoch = c.epoch
    imap.logout()
    daemon.restart()
    assert (daemon.data_dir / "notify" / "registrations").exists()
    assert int((daemon.data_dir / "notify" / "epoch").read_text()) == \
        old_epoch + 1
    c.server = ("127.0.0.1", udp_port(daemon))
    ka = c.keepalive()
    ch = c.expect(nc.CHALLENGE)
    assert ch.epoch == old_epoch + 1
    assert len(ch.raw) <= len(ka)
    c.epoch = ch.epoch
    c.pn = 0
    c.verify(ch["cookie"])
    st = c.expect(nc.STATUS)
    assert st["flags"] == 1 and st["last_event"] == 0
    deliver(daemon)
    ev = c.expect(nc.EVENT)
    assert ev["number"] == 1 and ev.epoch == old_epoch + 1
    c.close()


def saved_registration(daemon, imap):
    """A registration made over imap, once it is in the registrations
    file: (the registration, the file's path)."""
    reg = registered(daemon, imap)
    path = daemon.data_dir / "notify" / "registrations"
    assert wait_until(lambda: path.exists()
                      and reg.id_hex in path.read_text(), 5)
    return reg, path


def test_registration_survives_sigkill(daemon, imap):
    reg, path = saved_registration(daemon, imap)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # the file holds no secret: it derives from the master key
    assert reg.key.hex() not in path.read_text()
    assert (reg.id_hex + " - ") in path.read_text()
    master = daemon.data_dir / "notify" / "master-key"
    assert oct(master.stat().st_mode & 0o777) == "0o600"
    imap.logout()
    daemon.kill9()
    daemon.start()
    reverify(daemon, reg)


def reverify(daemon, reg):
    """A client of reg, after a restart: HELLO, CHALLENGE, VERIFY,
    STATUS (asserts each)."""
    c = nc.UdpClient(reg, server_port=udp_port(daemon))
    c.hello()
    ch = c.expect(nc.CHALLENGE)
    assert ch.epoch == reg.epoch + 1
    c.epoch, c.pn = ch.epoch, 0
    c.verify(ch["cookie"])
    c.expect(nc.STATUS)
    c.close()


def test_registration_from_an_older_file_kept(daemon, imap):
    """An older mailbell's file carries each secret itself (format 1):
    its registrations work without the master key, and are written back
    with their secrets."""
    reg, path = saved_registration(daemon, imap)
    imap.logout()
    daemon.stop()
    path.write_text(path.read_text()
                    .replace(" registrations 2", " registrations 1")
                    .replace(reg.id_hex + " - ",
                             reg.id_hex + " " + reg.key.hex() + " "))
    (daemon.data_dir / "notify" / "master-key").unlink()
    daemon.start()
    reverify(daemon, reg)
    daemon.stop()
    assert (reg.id_hex + " " + reg.key.hex() + " ") in path.read_text()


def test_registrations_end_with_their_master_key(daemon, imap):
    """Without the master key its registrations' secrets are gone: they
    are skipped, and their clients get no answer (so register again)."""
    reg, path = saved_registration(daemon, imap)
    imap.logout()
    daemon.stop()
    (daemon.data_dir / "notify" / "master-key").unlink()
    daemon.start()
    assert "1 registrations skipped" in daemon.log()
    assert metric(daemon, "notify_registrations") == 0
    c = nc.UdpClient(reg, server_port=udp_port(daemon))
    c.hello()
    assert c.recv_raw(0.5) is None
    c.close()


def test_configured_keepalive_and_lease(daemon_factory):
    d = daemon_factory(notify__keepalive="15s", notify__lease="2h")
    d.add_user("alice")
    m = imap_login(d.ports["imap"], "alice")
    reg = nc.register(m)
    assert (reg.keepalive, reg.lease) == (15, 7200)
    st = nc.UdpClient(reg).handshake()
    assert st["keepalive"] == 15
    assert 7190 <= st["lease"] <= 7200
    m.logout()


def test_old_epoch_ack_and_verify_dropped(daemon, imap):
    c = verified_client(daemon, imap)
    imap.logout()
    daemon.restart()
    c.server = ("127.0.0.1", udp_port(daemon))
    c.ack(0)
    assert c.recv_raw(0.5) is None
    assert metric(daemon, 'notify_datagrams_dropped_total{reason="epoch"}') == 1
    c.close()


def test_password_change_ends_registrations(daemon, imap):
    c = verified_client(daemon, imap)
    r = daemon.cli("user", "passwd", "alice", "-c", str(daemon.config),
                   "--password-stdin", input="another-pw\n")
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: metric(daemon, "notify_registrations") == 0,
                      10)
    c.keepalive()
    assert c.recv_raw(0.5) is None
    c.close()


def test_user_deletion_ends_registrations(daemon, imap):
    registered(daemon, imap)
    r = daemon.cli("user", "del", "alice", "-c", str(daemon.config))
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: metric(daemon, "notify_revoked_total") == 1,
                      10)


# ---- limits ----

def test_per_user_limit(daemon_factory):
    d = daemon_factory(notify__max_registrations_per_user="2")
    d.add_user("alice")
    m = imap_login(d.ports["imap"], "alice")
    nc.register(m)
    nc.register(m)
    typ, data, lines = nc.xbell(m, "REGISTER")
    assert typ == "NO" and b"[LIMIT]" in data[0] and not lines
    m.logout()


def test_thousand_registrations(daemon_factory):
    d = daemon_factory(notify__max_registrations_per_user="1000",
                       notify__max_registrations="1000")
    d.add_user("alice")
    m = imap_login(d.ports["imap"], "alice")
    t0 = time.monotonic()
    regs = [nc.register(m) for _ in range(1000)]
    took = time.monotonic() - t0
    assert took < 30, took
    typ, data, _ = nc.xbell(m, "REGISTER")
    assert typ == "NO" and b"[LIMIT]" in data[0]
    clients = [nc.UdpClient(reg) for reg in regs]
    # Handshakes a hundred at a time, as clients starting together would
    # (UDP may drop some of a burst: those try again, as clients do).
    for i in range(0, len(clients), 100):
        batch = clients[i:i + 100]
        for attempt in range(3):
            waiting = [c for c in batch if not getattr(c, "ok", False)]
            if not waiting:
                break
            for c in waiting:
                c.hello()
            for c in waiting:
                ch = c.recv(3)
                if ch is not None and ch.type == nc.CHALLENGE:
                    c.verify(ch["cookie"])
                    st = c.recv(3)
                    c.ok = st is not None and st.type == nc.STATUS
        assert all(c.ok for c in batch)
    t0 = deliver(d)
    for c in clients:
        ev = c.expect(nc.EVENT, 5)
        assert ev["number"] == 1
        c.ack(1)
    took = time.monotonic() - t0
    assert took < 5, took
    assert metric(d, "notify_registrations") == 1000
    for c in clients:
        c.close()
    m.logout()


# ---- configuration ----

@pytest.mark.parametrize("key,value,message", [
    ("keepalive", "10s", "[notify] keepalive: not a duration"),
    ("keepalive", "6m", "[notify] keepalive: not a duration"),
    ("lease", "30s", "[notify] lease: not a duration"),
    ("max_registrations_per_user", "0", "not a number"),
    ("max_registrations", "many", "not a number"),
])
def test_bad_notify_config(tmp_path, key, value, message):
    conf = tmp_path / "m.conf"
    conf.write_text("[notify]\n%s = %s\n" % (key, value))
    r = subprocess.run([str(DAEMON), "-c", str(conf), "--check-config"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=10)
    assert r.returncode != 0
    assert message in r.stderr.decode()


def test_saves_follow_changes_and_shutdown_writes_the_last(daemon, imap):
    """Saves run off the event loop: each change reaches the file, one
    made while a save is in flight included, and a clean stop writes
    what is left."""
    path = daemon.data_dir / "notify" / "registrations"
    first = registered(daemon, imap)
    assert wait_until(lambda: path.exists()
                      and first.id_hex in path.read_text(), 5)
    regs = [registered(daemon, imap) for _ in range(10)]
    typ, data, _ = nc.xbell(imap, "UNREGISTER", '"%s"' % first.id_hex)
    assert typ == "OK", data

    def saved():
        text = path.read_text()
        return first.id_hex not in text and \
            all(r.id_hex in text for r in regs)
    assert wait_until(saved, 5)
    # a change just before a clean stop is on disk after it
    typ, data, _ = nc.xbell(imap, "UNREGISTER", '"%s"' % regs[0].id_hex)
    assert typ == "OK", data
    last = registered(daemon, imap)
    imap.logout()
    daemon.restart()
    text = path.read_text()
    assert regs[0].id_hex not in text and last.id_hex in text
    assert all(r.id_hex in text for r in regs[1:])
