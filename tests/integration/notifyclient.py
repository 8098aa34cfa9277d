"""
A client of the mailbell notification protocol (doc/notify-protocol.md)
for the integration tests: XBELL over imaplib, and the datagrams built
and opened with the functions of doc/notify-vectors.py (Debian's
python3-cryptography), an implementation independent of the C code.
"""

import base64
import imaplib
import importlib.util
import re
import socket
import struct
import time

from conftest import SOURCE
# XBELL runs on an imaplib session from mailclients.py; test_watch.py
# opens it as nc.imap_login.
from conftest import imap_login  # noqa: F401

_spec = importlib.util.spec_from_file_location(
    "notify_vectors", SOURCE / "doc" / "notify-vectors.py")
nv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nv)

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305  # noqa: E402
from cryptography.exceptions import InvalidTag  # noqa: E402

HELLO, CHALLENGE, VERIFY, STATUS, KEEPALIVE, ACK, EVENT = range(1, 8)
MESSAGE_NEW, MESSAGE_EXPUNGE, FLAGS_SET, FLAGS_CLEAR, MAILBOX_RESYNC, \
    MESSAGE_APPEND = range(1, 7)
HEADER = nv.HEADER
TAG_LEN = 16

imaplib.Commands.setdefault("XBELL", ("AUTH", "SELECTED"))

REGISTERED_RE = re.compile(
    rb'^REGISTERED \(VERSION (\d+) ID "([0-9a-f]{16})" KEY "([A-Za-z0-9+/=]+)" '
    rb'PORT (\d+) KEEPALIVE (\d+) LEASE (\d+) EPOCH (\d+)\)$')


class Registration:
    def __init__(self, version, reg_id, key, port, keepalive, lease, epoch):
        self.version = version
        self.id_hex = reg_id
        self.id = int(reg_id, 16)
        self.key = key
        self.port = port
        self.keepalive = keepalive
        self.lease = lease
        self.epoch = epoch


def xbell(m, *args):
    """Run XBELL with args; returns (typ, data, untagged XBELL lines)."""
    m.untagged_responses.pop("XBELL", None)
    try:
        typ, data = m._simple_command("XBELL", *args)
    except imaplib.IMAP4.error as e:
        # imaplib raises on BAD
        return "BAD", [str(e).encode()], []
    lines = m.untagged_responses.pop("XBELL", [])
    return typ, data, lines


def register(m, folders=None):
    """XBELL REGISTER; returns a Registration (asserts success)."""
    args = ["REGISTER"]
    if folders:
        args.append("(" + " ".join(folders) + ")")
    typ, data, lines = xbell(m, *args)
    assert typ == "OK", (typ, data)
    assert len(lines) == 1, lines
    g = REGISTERED_RE.match(lines[0])
    assert g, lines[0]
    key = base64.b64decode(g.group(3), validate=True)
    assert len(key) == 32
    return Registration(int(g.group(1)), g.group(2).decode(), key,
                        int(g.group(4)), int(g.group(5)), int(g.group(6)),
                        int(g.group(7)))


def decode_addr(b):
    family, port = struct.unpack(">BxH", b[:4])
    if family == 4:
        assert b[8:20] == bytes(12)
        return ("%d.%d.%d.%d" % tuple(b[4:8]), port)
    return (socket.inet_ntop(socket.AF_INET6, b[4:20]), port)


class Datagram:
    """A datagram the client opened: header fields and payload fields."""

    def __init__(self, raw, dtype, reg_id, epoch, pn, payload):
        self.raw = raw
        self.type = dtype
        self.id = reg_id
        self.epoch = epoch
        self.pn = pn
        self.payload = payload
        self.fields = {}
        if dtype == CHALLENGE:
            self.fields = dict(nonce=payload[:8], cookie=payload[8:24],
                               observed=decode_addr(payload[24:44]))
        elif dtype == STATUS:
            ka, flags, lease, last = struct.unpack(">HHIQ", payload[:16])
            self.fields = dict(keepalive=ka, flags=flags, lease=lease,
                               last_event=last,
                               observed=decode_addr(payload[16:36]))
        elif dtype == EVENT:
            (number, etype, _r, flen, uidvalidity, uid, uidnext, messages,
             unseen) = struct.unpack(">QBBHIIIII", payload[:32])
            self.fields = dict(number=number, type=etype,
                               folder=payload[32:32 + flen].decode("ascii"),
                               uidvalidity=uidvalidity, uid=uid,
                               uidnext=uidnext, messages=messages,
                               unseen=unseen)

    def __getitem__(self, key):
        return self.fields[key]

    def __repr__(self):
        return "<Datagram type=%d pn=%d epoch=%d %r>" % (
            self.type, self.pn, self.epoch, self.fields)


class UdpClient:
    """One client socket speaking for one registration."""

    def __init__(self, reg, server_port=None, sock=None, host="127.0.0.1"):
        self.reg = reg
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.server = (host, server_port or reg.port)
        if sock is None:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.bind((host, 0))
        self.sock = sock
        self.epoch = reg.epoch
        self.pn = 0
        self.seen = set()       # (epoch, pn) of s2c datagrams opened
        self.sent = []          # raw datagrams sent, for replay tests

    @property
    def addr(self):
        return self.sock.getsockname()[:2]

    def close(self):
        self.sock.close()

    # ---- sending ----

    def seal(self, dtype, payload, epoch=None, pn=None, key=None,
             pad=nv.MIN_PADDED):
        epoch = self.epoch if epoch is None else epoch
        if pn is None:
            pn = self.pn
            self.pn += 1
        if pad:
            payload = nv.pad(payload, pad)
        return nv.seal(key or self.reg.key, b"c2s", dtype, self.reg.id,
                       epoch, pn, payload)

    def send_raw(self, data):
        self.sent.append(data)
        self.sock.sendto(data, self.server)

    def send(self, dtype, payload, **kw):
        data = self.seal(dtype, payload, **kw)
        self.send_raw(data)
        return data

    def hello(self, nonce=b"\xa0" * 8, **kw):
        self.nonce = nonce
        return self.send(HELLO, nonce, **kw)

    def verify(self, cookie, **kw):
        return self.send(VERIFY, cookie, **kw)

    def keepalive(self, ack=0, **kw):
        return self.send(KEEPALIVE, struct.pack(">Q", ack), **kw)

    def ack(self, n, **kw):
        return self.send(ACK, struct.pack(">Q", n), pad=0, **kw)

    # ---- receiving ----

    def open(self, data):
        """Open an s2c datagram (any epoch); None if it does not
        authenticate."""
        if len(data) < HEADER.size + TAG_LEN:
            return None
        version, dtype, _r, reg_id, epoch, pn = HEADER.unpack(
            data[:HEADER.size])
        if version != 1 or reg_id != self.reg.id:
            return None
        try:
            payload = ChaCha20Poly1305(nv.key(self.reg.key, epoch)).decrypt(
                nv.nonce(b"s2c", pn), data[HEADER.size:], data[:HEADER.size])
        except InvalidTag:
            return None
        assert (epoch, pn) not in self.seen, "server reused a packet number"
        self.seen.add((epoch, pn))
        return Datagram(data, dtype, reg_id, epoch, pn, payload)

    def recv(self, timeout=2.0):
        """The next datagram that authenticates, or None on timeout.
        Checks that it came from the server's port."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(2048)
            except socket.timeout:
                return None
            assert src[:2] == self.server, (
                "datagram from %r, not from the server's port %r"
                % (src, self.server))
            d = self.open(data)
            if d is not None:
                return d

    def recv_raw(self, timeout=1.0):
        """Any datagram at all (bytes), or None."""
        self.sock.settimeout(timeout)
        try:
            data, _src = self.sock.recvfrom(2048)
            return data
        except socket.timeout:
            return None

    def expect(self, dtype, timeout=2.0):
        d = self.recv(timeout)
        assert d is not None, "no datagram of type %d within %ss" % (
            dtype, timeout)
        assert d.type == dtype, d
        return d

    # ---- the handshake ----

    def handshake(self, timeout=2.0):
        """HELLO, CHALLENGE, VERIFY, STATUS; returns the STATUS."""
        self.hello()
        ch = self.expect(CHALLENGE, timeout)
        assert ch["nonce"] == self.nonce
        if ch.epoch != self.epoch:
            self.epoch = ch.epoch
            self.pn = 0
        self.verify(ch["cookie"])
        st = self.expect(STATUS, timeout)
        assert st["flags"] & 1
        return st
