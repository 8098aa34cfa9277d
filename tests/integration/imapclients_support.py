"""
Helpers for test_imap_clients.py: LMTP delivery of many messages, the
messages themselves, an imaplib view of a user's folders, Maildir reading,
a headless terminal (tmux) for full-screen clients, and a relay that keeps
what a client and the server said to each other.

Every wait is bounded in time.
"""

import base64
import email.utils
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

from conftest import wait_until

DOMAIN = "example.org"
IMAP_TIMEOUT = 30.0

MESSAGE_ID_RE = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.M | re.I)
FETCH_UID_RE = re.compile(rb"\bUID (\d+)")
FETCH_FLAGS_RE = re.compile(rb"\bFLAGS \(([^)]*)\)")


# ---- messages ----

def message_id(data):
    """The Message-ID of a message, as bytes, or None."""
    m = MESSAGE_ID_RE.search(data)
    return m.group(1) if m else None


def simple_message(subject, body="Hello.\r\n", msgid=None, date=None,
                   sender="sender@example.net", to="alice@example.org"):
    msgid = msgid or "<%s@example.net>" % uuid.uuid4().hex
    date = date or email.utils.formatdate(time.time(), localtime=False)
    headers = ["Date: " + date,
               "From: Sender <%s>" % sender,
               "To: Alice <%s>" % to,
               "Subject: " + subject,
               "Message-ID: " + msgid,
               "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=utf-8",
               "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


def mime_message(subject, text, attachment_name, attachment, msgid=None,
                 date=None):
    """multipart/mixed: a text/plain part and a base64 application/pdf
    attachment."""
    msgid = msgid or "<%s@example.net>" % uuid.uuid4().hex
    date = date or email.utils.formatdate(time.time(), localtime=False)
    boundary = "=_mailbell_" + uuid.uuid4().hex
    encoded = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    lines = [
        "Date: " + date,
        "From: Bob Sender <bob@example.net>",
        "To: Alice <alice@example.org>",
        "Subject: " + subject,
        "Message-ID: " + msgid,
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="%s"' % boundary,
        "",
        "This is a multi-part message in MIME format.",
        "",
        "--" + boundary,
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    body = "\r\n".join(lines) + "\r\n" + text
    if not body.endswith("\r\n"):
        body += "\r\n"
    body += ("\r\n--%s\r\n"
             "Content-Type: application/pdf; name=\"%s\"\r\n"
             "Content-Disposition: attachment; filename=\"%s\"\r\n"
             "Content-Transfer-Encoding: base64\r\n"
             "\r\n%s"
             "\r\n--%s--\r\n") % (boundary, attachment_name, attachment_name,
                                  encoded, boundary)
    return body.encode("utf-8")


def numbered_message(i, run):
    """Message i of a set of distinct messages: sizes from a few hundred
    bytes to about 60 KB, lines starting with dots, 8-bit text, long lines,
    MIME attachments, bare headers folded over lines."""
    subject = "message %03d of run %s" % (i, run)
    msgid = "<m%03d.%s@example.net>" % (i, run)
    date = email.utils.formatdate(1600000000 + i * 3600, localtime=False)
    lines = ["Message number %d." % i]
    if i % 5 == 0:
        lines += [".a line that starts with a dot", "..two dots", "."
                  " a dot and a space", "."]
    if i % 3 == 0:
        lines.append("8-bit: caf\u00e9 na\u00efve \u2713 \u00fcber %d" % i)
    if i % 11 == 0:
        lines.append("long " + "x" * 900)
    if i % 13 == 0:
        lines.append("\ttab-indented line with trailing spaces   ")
    if i % 10 == 7:
        # About 60 KB: well within the daemon's message size limit.
        lines += ["filler line %05d for message %d %s" % (n, i, "y" * 20)
                  for n in range(1200)]
    else:
        lines += ["line %d of message %d" % (n, i) for n in range(i % 23)]
    text = "\r\n".join(lines) + "\r\n"
    if i % 7 == 0:
        payload = bytes((i * 31 + n) % 256 for n in range(300 + i * 40))
        return mime_message(subject, text, "data-%03d.bin" % i, payload,
                            msgid=msgid, date=date)
    return simple_message(subject, text, msgid=msgid, date=date)


# ---- delivery ----

def deliver(daemon, messages, rcpt="alice@" + DOMAIN, timeout=30.0):
    """Deliver each message in its own LMTP transaction over one
    connection; every one must be accepted."""
    daemon.deliver(messages, rcpt, timeout=timeout)


# ---- an imaplib view of the server ----

def imap_ok(result, what=""):
    typ, data = result
    assert typ == "OK", (what, typ, data)
    return data


def _fetch_items(data):
    """imaplib FETCH data as [(metadata bytes, literal bytes or None)];
    the metadata joins the text before and after each literal."""
    items = []
    cur_meta, cur_lit = None, None
    for part in data:
        if isinstance(part, tuple):
            if cur_meta is not None:
                items.append((cur_meta, cur_lit))
            cur_meta, cur_lit = part[0], part[1]
        elif part is None:
            continue
        else:
            if cur_meta is not None and cur_lit is not None \
                    and not re.match(rb"^\d+ \(", part):
                cur_meta += b" " + part     # the tail after a literal
                items.append((cur_meta, cur_lit))
                cur_meta, cur_lit = None, None
            else:
                if cur_meta is not None:
                    items.append((cur_meta, cur_lit))
                cur_meta, cur_lit = part, None
    if cur_meta is not None:
        items.append((cur_meta, cur_lit))
    return items


def folder_state(m, folder="INBOX"):
    """{Message-ID: {"uid", "flags", "body"}} of one folder, read with
    EXAMINE so nothing changes."""
    imap_ok(m.select(_quote(folder), readonly=True), "EXAMINE " + folder)
    uids = imap_ok(m.uid("SEARCH", "ALL"), "UID SEARCH ALL")[0].split()
    if not uids:
        return {}
    flags = {}
    for meta, _lit in _fetch_items(
            imap_ok(m.uid("FETCH", "1:*", "(UID FLAGS)"), "FETCH FLAGS")):
        uid = FETCH_UID_RE.search(meta)
        fl = FETCH_FLAGS_RE.search(meta)
        assert uid and fl, meta
        flags[int(uid.group(1))] = set(fl.group(1).decode().split())
    state = {}
    for meta, lit in _fetch_items(
            imap_ok(m.uid("FETCH", "1:*", "(UID BODY.PEEK[])"), "FETCH")):
        uid = FETCH_UID_RE.search(meta)
        assert uid and lit is not None, (meta, lit)
        uid = int(uid.group(1))
        mid = message_id(lit)
        assert mid is not None and mid not in state, (uid, lit[:300])
        state[mid] = {"uid": uid, "flags": flags[uid], "body": lit}
    assert sorted(v["uid"] for v in state.values()) == \
        sorted(int(u) for u in uids), (uids, state.keys())
    return state


def list_folders(m):
    """{name: set of attributes} from LIST "" "*"."""
    out = {}
    for line in imap_ok(m.list('""', "*"), "LIST"):
        mt = re.match(rb'^\(([^)]*)\) (?:"(.)"|NIL) (.*)$', line)
        assert mt, line
        name = mt.group(3).decode()
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1]
        out[name] = set(mt.group(1).decode().split())
    return out


def _quote(name):
    return '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"')


# ---- Maildir ----

def maildir_messages(path):
    """{Message-ID: {"path", "flags", "body"}} of a local Maildir."""
    out = {}
    for sub in ("new", "cur"):
        d = Path(path) / sub
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if not p.is_file() or p.name.startswith("."):
                continue
            data = p.read_bytes()
            mid = message_id(data)
            assert mid is not None and mid not in out, (p, data[:300])
            flags = p.name.split(":2,", 1)[1] if ":2," in p.name else ""
            out[mid] = {"path": p, "flags": flags, "body": data}
    return out


def set_maildir_flags(path, flags):
    """Give a Maildir message exactly these flags (letters), moving it to
    cur/ as a mail reader does. Returns the new path."""
    path = Path(path)
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / ("%s:2,%s" % (base,
                                                     "".join(sorted(flags))))
    os.rename(path, new)
    return new


def make_maildir(path):
    for sub in ("cur", "new", "tmp"):
        (Path(path) / sub).mkdir(parents=True, exist_ok=True)
    return Path(path)


# ---- a relay that keeps the conversation ----

class TapRelay:
    """A TCP relay on loopback to the daemon's port that keeps a copy of
    what each side sent, for a client whose commands cannot be read
    otherwise. conversations(): per connection, (client bytes, server
    bytes). In clear text only. Always closed by close()."""

    def __init__(self, port):
        self.port_to = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets = []
        self.records = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                near, _ = self.listener.accept()
                far = socket.create_connection(("127.0.0.1", self.port_to),
                                               timeout=IMAP_TIMEOUT)
            except OSError:
                return
            far.settimeout(None)
            record = (bytearray(), bytearray())
            with self.lock:
                self.sockets += [near, far]
                self.records.append(record)
            for src, dst, buf in ((near, far, record[0]),
                                  (far, near, record[1])):
                threading.Thread(target=self._pump, args=(src, dst, buf),
                                 daemon=True).start()

    def _pump(self, src, dst, buf):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    buf.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def conversations(self):
        with self.lock:
            return [(bytes(c), bytes(s)) for c, s in self.records]

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                s.close()


# ---- a headless terminal ----

class Terminal:
    """A detached tmux session of a fixed size on its own tmux server
    (its own socket), always killed by close()."""

    def __init__(self, command, env, width=132, height=40):
        self.socket = "mailbell-%d-%s" % (os.getpid(), uuid.uuid4().hex[:12])
        self.name = "t"
        self.env = dict(env)
        self.env.pop("TMUX", None)
        self.env.pop("TMUX_PANE", None)
        r = self._tmux("new-session", "-d", "-s", self.name,
                       "-x", str(width), "-y", str(height), command,
                       config=True)
        assert r.returncode == 0, r.stderr

    def _tmux(self, *args, config=False):
        cmd = ["tmux", "-L", self.socket]
        if config:
            cmd += ["-f", "/dev/null"]
        return subprocess.run(cmd + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=self.env, timeout=15, text=True)

    def screen(self):
        r = self._tmux("capture-pane", "-p", "-J", "-t", self.name)
        return r.stdout if r.returncode == 0 else ""

    def keys(self, *keys, literal=False):
        args = ["send-keys", "-t", self.name]
        if literal:
            args.append("-l")
        r = self._tmux(*(args + list(keys)))
        assert r.returncode == 0, r.stderr

    def wait_for(self, predicate, timeout=30.0, what=""):
        """Poll the screen until predicate(screen) holds; fail with the
        last screen otherwise."""
        shown = [""]

        def showing():
            shown[0] = self.screen()
            return predicate(shown[0])
        if wait_until(showing, timeout, interval=0.2):
            return shown[0]
        raise AssertionError("terminal never showed %s within %ss; screen:\n%s"
                             % (what, timeout, shown[0]))

    def wait_text(self, needle, timeout=30.0):
        return self.wait_for(lambda s: needle in s, timeout, repr(needle))

    def wait_all(self, needles, absent=(), timeout=30.0):
        """Wait for a screen that shows every one of needles and none of
        absent."""
        return self.wait_for(
            lambda s: all(n in s for n in needles)
            and not any(a in s for a in absent), timeout,
            "%r without %r" % (list(needles), list(absent)))

    def close(self):
        try:
            self._tmux("kill-server")
        except (OSError, subprocess.TimeoutExpired):
            pass


def tool(name):
    path = shutil.which(name)
    assert path, "%s is not installed (scripts/install-deps.sh check)" % name
    return path
