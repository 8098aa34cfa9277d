#!/usr/bin/python3
"""
A small helper that the mailbell network lab runs inside one of its
namespaces (`ip netns exec NS /usr/bin/python3 agent.py`). It reads one
JSON request per line on stdin and answers one JSON line on stdout, so a
test in the host namespace can open sockets, send and receive datagrams,
connect over TCP, deliver over LMTP and ask IMAP for its capabilities from
inside the namespace. Every operation carries its own timeout. The agent
exits when stdin closes.

Requests ({"op": ..., ...}) and answers ({"ok": true, ...} or
{"ok": false, "error": "..."}):

  udp_bind     addr, port(0)             -> sock, port
  udp_send     sock, host, port, data    -> sent
  udp_recv     sock, timeout             -> data, host, port | timeout
  udp_close    sock
  tcp_listen   addr, port(0)             -> sock, port
  tcp_accept   sock, timeout, keep       -> host, port[, sock] | timeout
  tcp_open     host, port, timeout       -> sock (a connection kept open)
  tcp_send     sock, data
  tcp_recv     sock, timeout             -> data, closed | timeout
  tcp_connect  host, port, timeout       -> connected | error
  raw_udp      src, sport, dst, dport, data: one IPv4 UDP datagram from
               any source port (a "stray packet"), built by hand
  lmtp         host, port, sender, rcpt, message, timeout -> code, text
  imap_caps    host, port, timeout[, user, password]
                                         -> caps[, login, caps_auth]
  imap_script  host, port, timeout, commands: each sent in clear with a
               tag, read up to its tagged reply -> greeting, replies
               (a list of lists of lines)
  capture_start  iface: every frame that crosses it, either way, read
               with a raw AF_PACKET socket (what tcpdump would see)
                                         -> cap
  capture_stop   cap  -> frames, flows: for each direction of each TCP
               or UDP flow proto, src, sport, dst, dport and its payload
               (base64; TCP in sequence order, each byte once)
"""

import base64
import json
import select
import smtplib
import socket
import struct
import sys
import threading

socks = {}
captures = {}


def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def op_udp_bind(r):
    addr = r.get("addr", "0.0.0.0")
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    s.bind((addr, int(r.get("port", 0))))
    sid = len(socks) + 1
    socks[sid] = s
    return {"sock": sid, "port": s.getsockname()[1]}


def op_udp_send(r):
    s = socks[r["sock"]]
    n = s.sendto(r["data"].encode(), (r["host"], int(r["port"])))
    return {"sent": n}


def op_udp_recv(r):
    s = socks[r["sock"]]
    ready, _, _ = select.select([s], [], [], float(r.get("timeout", 2)))
    if not ready:
        return {"timeout": True}
    data, peer = s.recvfrom(65536)
    return {"timeout": False, "data": data.decode("utf-8", "replace"),
            "host": peer[0], "port": peer[1]}


def op_udp_close(r):
    socks.pop(r["sock"]).close()
    return {}


def op_tcp_listen(r):
    addr = r.get("addr", "0.0.0.0")
    s = socket.socket(fam(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(r.get("port", 0))))
    s.listen(8)
    sid = len(socks) + 1
    socks[sid] = s
    return {"sock": sid, "port": s.getsockname()[1]}


def op_tcp_accept(r):
    s = socks[r["sock"]]
    ready, _, _ = select.select([s], [], [], float(r.get("timeout", 2)))
    if not ready:
        return {"timeout": True}
    c, peer = s.accept()
    res = {"timeout": False, "host": peer[0], "port": peer[1]}
    if r.get("keep"):
        sid = len(socks) + 1
        socks[sid] = c
        res["sock"] = sid
    else:
        c.close()
    return res


def op_tcp_open(r):
    c = socket.create_connection((r["host"], int(r["port"])),
                                 timeout=float(r.get("timeout", 2)))
    sid = len(socks) + 1
    socks[sid] = c
    return {"sock": sid}


def op_tcp_send(r):
    socks[r["sock"]].sendall(r["data"].encode())
    return {}


def op_tcp_recv(r):
    s = socks[r["sock"]]
    ready, _, _ = select.select([s], [], [], float(r.get("timeout", 2)))
    if not ready:
        return {"timeout": True}
    try:
        data = s.recv(65536)
    except OSError as e:
        return {"timeout": False, "closed": True, "error": str(e)}
    return {"timeout": False, "closed": not data,
            "data": data.decode("utf-8", "replace")}


def op_tcp_connect(r):
    try:
        c = socket.create_connection((r["host"], int(r["port"])),
                                     timeout=float(r.get("timeout", 2)))
    except OSError as e:
        return {"connected": False, "error": str(e)}
    c.close()
    return {"connected": True}


def op_raw_udp(r):
    data = r.get("data", "").encode()
    src, dst = r["src"], r["dst"]
    sport, dport = int(r["sport"]), int(r["dport"])
    length = 8 + len(data)
    pseudo = (socket.inet_aton(src) + socket.inet_aton(dst)
              + struct.pack("!BBH", 0, socket.IPPROTO_UDP, length))
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo + hdr + data) or 0xffff
    hdr = struct.pack("!HHHH", sport, dport, length, csum)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    try:
        s.bind((src, 0))
        s.sendto(hdr + data, (dst, 0))
    finally:
        s.close()
    return {}


def op_lmtp(r):
    timeout = float(r.get("timeout", 10))
    conn = smtplib.LMTP(r["host"], int(r["port"]), timeout=timeout)
    try:
        code, text = conn.ehlo("netlab.test")
        conn.mail(r["sender"])
        code, text = conn.rcpt(r["rcpt"])
        if code != 250:
            return {"code": code, "text": text.decode("utf-8", "replace")}
        code, text = conn.data(r["message"].encode())
        return {"code": code, "text": text.decode("utf-8", "replace")}
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            pass


def op_imap_caps(r):
    """CAPABILITY before login, and after LOGIN if user is given."""
    c = socket.create_connection((r["host"], int(r["port"])),
                                 timeout=float(r.get("timeout", 5)))
    f = c.makefile("rb")

    def command(tag, line):
        c.sendall(("%s %s\r\n" % (tag, line)).encode())
        caps, status = [], None
        for _ in range(50):
            text = f.readline(8192).decode("utf-8", "replace").strip()
            if not text:
                break
            m = text.upper()
            if m.startswith("* CAPABILITY"):
                caps.extend(text.split()[2:])
            if text.startswith(tag + " "):
                status = text
                break
        return caps, status

    def quote(s):
        return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')

    try:
        greeting = f.readline(8192).decode("utf-8", "replace").strip()
        caps, _ = command("c1", "CAPABILITY")
        res = {"greeting": greeting, "caps": caps}
        if r.get("user"):
            _, status = command("c2", "LOGIN %s %s" % (
                quote(r["user"]), quote(r["password"])))
            res["login"] = status
            res["caps_auth"], _ = command("c3", "CAPABILITY")
        command("c4", "LOGOUT")
        return res
    finally:
        f.close()
        c.close()


def op_imap_script(r):
    """Commands in clear text, each to its tagged reply."""
    c = socket.create_connection((r["host"], int(r["port"])),
                                 timeout=float(r.get("timeout", 5)))
    f = c.makefile("rb")
    try:
        greeting = f.readline(8192).decode("utf-8", "replace").strip()
        replies = []
        for n, line in enumerate(r["commands"]):
            tag = "s%d" % n
            c.sendall(("%s %s\r\n" % (tag, line)).encode())
            got = []
            while True:
                text = f.readline(8192).decode("utf-8", "replace")
                if not text:
                    got.append("(closed)")
                    break
                got.append(text.strip())
                if text.startswith(tag + " "):
                    break
            replies.append(got)
        return {"greeting": greeting, "replies": replies}
    finally:
        f.close()
        c.close()


ETH_P_ALL = 0x0003


def _capture(cap):
    while not cap["stop"]:
        ready, _, _ = select.select([cap["sock"]], [], [], 0.1)
        if ready:
            cap["frames"].append(cap["sock"].recv(65536))


def op_capture_start(r):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    s.bind((r["iface"], 0))
    cid = len(captures) + 1
    cap = {"sock": s, "frames": [], "stop": False}
    cap["thread"] = threading.Thread(target=_capture, args=(cap,),
                                     daemon=True)
    cap["thread"].start()
    captures[cid] = cap
    return {"cap": cid}


def _segment(frame):
    """(proto, src, sport, dst, dport, seq, payload) of an Ethernet
    frame carrying IPv4 or IPv6 with TCP or UDP, else None."""
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        proto, body = ip[9], ip[ihl:total]
        src = socket.inet_ntop(socket.AF_INET, ip[12:16])
        dst = socket.inet_ntop(socket.AF_INET, ip[16:20])
    elif etype == 0x86DD and len(ip) >= 40:
        plen = struct.unpack("!H", ip[4:6])[0]
        proto, body = ip[6], ip[40:40 + plen]
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
    else:
        return None
    if proto == 6 and len(body) >= 20:
        sport, dport, seq = struct.unpack("!HHI", body[:8])
        return ("tcp", src, sport, dst, dport, seq,
                body[(body[12] >> 4) * 4:])
    if proto == 17 and len(body) >= 8:
        sport, dport = struct.unpack("!HH", body[:4])
        return ("udp", src, sport, dst, dport, None, body[8:])
    return None


def op_capture_stop(r):
    cap = captures.pop(r["cap"])
    cap["stop"] = True
    cap["thread"].join(timeout=5)
    # Frames the thread had not read yet (it lags on a busy machine)
    # are in the socket still: read them too.
    cap["sock"].setblocking(False)
    try:
        while True:
            cap["frames"].append(cap["sock"].recv(65536))
    except BlockingIOError:
        pass
    cap["sock"].close()
    flows = {}
    for frame in cap["frames"]:
        seg = _segment(frame)
        if seg is None or not seg[6]:
            continue
        flows.setdefault(seg[:5], []).append((seg[5], seg[6]))
    out = []
    for key, segs in flows.items():
        if key[0] == "tcp":
            # in sequence order, a retransmission counted once
            data, seen = b"", set()
            base = segs[0][0]
            for seq, payload in sorted(segs, key=lambda x: (x[0] - base)
                                       % (1 << 32)):
                if seq not in seen:
                    seen.add(seq)
                    data += payload
        else:
            data = b"".join(p for _, p in segs)
        out.append({"proto": key[0], "src": key[1], "sport": key[2],
                    "dst": key[3], "dport": key[4],
                    "data": base64.b64encode(data).decode()})
    return {"frames": len(cap["frames"]), "flows": out}


OPS = {name[3:]: fn for name, fn in globals().items()
       if name.startswith("op_")}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            res = OPS[req["op"]](req)
            res["ok"] = True
        except Exception as e:  # report every failure to the caller
            res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
