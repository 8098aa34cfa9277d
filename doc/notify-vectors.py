#!/usr/bin/python3
"""Print the test vectors of doc/notify-protocol.md.

An independent implementation of the mailbell notification datagrams
(Python's cryptography package, Debian's python3-cryptography), so the C
code in src/notify is checked against bytes it did not produce itself.
Run: /usr/bin/python3 doc/notify-vectors.py
"""
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives import hmac

VERSION = 1
SALT = b"mailbell notify v1"
HEADER = struct.Struct(">BBHQIQ")  # version, type, reserved, id, epoch, pn

HELLO, CHALLENGE, VERIFY, STATUS, KEEPALIVE, ACK, EVENT = 1, 2, 3, 4, 5, 6, 7
MIN_PADDED = 128


def hkdf_extract(salt, ikm):
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def key(secret, epoch):
    """The registration's key in epoch; both directions seal with it."""
    prk = hkdf_extract(SALT, secret)
    info = b"mailbell v1 key" + struct.pack(">I", epoch)
    return HKDFExpand(hashes.SHA256(), 32, info).derive(prk)


def server_secret(master, reg_id, created_epoch):
    """A registration's secret as mailbell makes it from its master key
    (section 2.1; the client only ever sees the result)."""
    info = b"mailbell v1 secret" + struct.pack(">QI", reg_id, created_epoch)
    return HKDFExpand(hashes.SHA256(), 32, info).derive(master)


def nonce(direction, pn):
    """direction (0 c2s, 1 s2c), 3 zero bytes, the packet number."""
    return bytes([direction == b"s2c"]) + bytes(3) + struct.pack(">Q", pn)


def seal(secret, direction, dtype, reg_id, epoch, pn, payload):
    header = HEADER.pack(VERSION, dtype, 0, reg_id, epoch, pn)
    return header + ChaCha20Poly1305(key(secret, epoch)).encrypt(
        nonce(direction, pn), payload, header)


def pad(payload, total):
    need = total - HEADER.size - 16 - len(payload)
    return payload + bytes(max(0, need))


def address(family, port, addr):
    return struct.pack(">BxH", family, port) + addr.ljust(16, b"\0")


def show(name, data):
    print(f"{name} ({len(data)} bytes):")
    hexs = data.hex()
    for i in range(0, len(hexs), 64):
        print("    " + hexs[i:i + 64])


def main():
    secret = bytes(range(32))
    reg_id = 0x0102030405060708
    epoch = 7
    show("key", key(secret, epoch))
    client_nonce = bytes(range(0xa0, 0xa8))
    cookie = bytes(range(0xc0, 0xd0))
    observed = address(4, 40000, bytes([192, 0, 2, 1]))
    show("HELLO c2s pn=0", seal(secret, b"c2s", HELLO, reg_id, epoch, 0,
                               pad(client_nonce, MIN_PADDED)))
    show("CHALLENGE s2c pn=0", seal(secret, b"s2c", CHALLENGE, reg_id,
                                    epoch, 0, client_nonce + cookie + observed))
    show("VERIFY c2s pn=1", seal(secret, b"c2s", VERIFY, reg_id, epoch, 1,
                                pad(cookie, MIN_PADDED)))
    status = struct.pack(">HHIQ", 25, 1, 604800, 0) + observed
    show("STATUS s2c pn=1", seal(secret, b"s2c", STATUS, reg_id, epoch, 1,
                                 status))
    show("KEEPALIVE c2s pn=2 ack=none", seal(
        secret, b"c2s", KEEPALIVE, reg_id, epoch, 2,
        pad(struct.pack(">Q", 0), MIN_PADDED)))
    folder = b"INBOX"
    event = struct.pack(">QBBHIIIII", 1, 1, 0, len(folder), 1700000000, 42,
                        43, 42, 3) + folder
    show("EVENT s2c pn=2 MessageNew INBOX uid=42", seal(
        secret, b"s2c", EVENT, reg_id, epoch, 2, pad(event, 128)))
    show("ACK c2s pn=3 ack=1", seal(secret, b"c2s", ACK, reg_id, epoch, 3,
                                    struct.pack(">Q", 1)))


if __name__ == "__main__":
    main()
