"""Shared pieces of the IMAP benches (idle-latency, idle-memory, bigbox).

A private mailbelld and a private Dovecot on free loopback ports, each
with its own data dir under one temporary directory; process memory (PSS)
of a whole server; a small asyncio IMAP client that holds many sessions
in IDLE; a blocking IMAP client for timing single commands; an LMTP
client that timestamps replies as they are read.

Only the Python standard library; run with Debian's /usr/bin/python3.
"""

import asyncio
import os
import pwd
import re
import resource
import signal
import socket
import subprocess
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
PASSWORD = "bench"


def log(msg):
    print(msg, flush=True)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def raise_nofile(want):
    """Raise this process's soft descriptor limit towards want (up to the
    hard limit; as root, the hard limit too). Returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if want > hard and os.geteuid() == 0:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    new = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        return new
    return soft


def fmt_ms(v):
    if v is None:
        return "n/a"
    if v == float("inf"):
        return "inf"
    if v >= 100:
        return "%.0fms" % v
    if v >= 10:
        return "%.1fms" % v
    return "%.2fms" % v


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a list; inf sorts last."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


# ---------------------------------------------------------------- memory

def children_map():
    """pid -> list of child pids, from /proc/*/stat."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces or parentheses: split after ')'
        rest = stat[stat.rfind(")") + 2:].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def process_tree(root):
    """root and all its descendants."""
    kids = children_map()
    out, todo = [], [root]
    while todo and len(out) < 100000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pss_kib(pids):
    """Sum of Pss over pids (KiB) from /proc/PID/smaps_rollup; processes
    that exited meanwhile count nothing. Returns (kib, processes)."""
    total, n = 0, 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        n += 1
                        break
        except OSError:
            continue
    return total, n


# ---------------------------------------------------------------- servers

class Dovecot:
    """A private Dovecot instance: passwd-file users (plain passwords),
    Maildir under its own directory, IMAP and/or LMTP on free loopback
    ports. mail_fsync defaults to always (each delivery durable before
    its 250, as mailbell's); extra is appended to dovecot.conf verbatim."""

    def __init__(self, tmp, users, mail_user="mail", protocols=("imap",
                 "lmtp"), extra="", name="dovecot", tag="bench",
                 max_conns=0, mail_fsync="always"):
        self.name = name
        self.dir = os.path.join(tmp, name)
        self.mail = os.path.join(self.dir, "mail")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.users = list(users)
        self.protocols = protocols
        self.extra = extra
        self.tag = tag
        self.max_conns = max_conns
        self.mail_fsync = mail_fsync
        self.pw = pwd.getpwnam(mail_user) if os.geteuid() == 0 else \
            pwd.getpwuid(os.geteuid())
        self.imap_port = None
        self.lmtp_port = None
        self.started = False

    @staticmethod
    def version():
        r = subprocess.run(["dovecot", "--version"], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.strip()

    def limits_conf(self):
        """Process and connection limits that let max_conns clients in at
        once (each IMAP session is a process of its own)."""
        if self.max_conns <= 0:
            return ""
        n = self.max_conns + 100
        return f"""
default_process_limit = {n}
default_client_limit = {4 * n + 1000}
default_vsz_limit = 0
service imap {{
  process_limit = {n}
}}
service imap-login {{
  process_limit = {n}
}}
protocol imap {{
  mail_max_userip_connections = {n}
}}
"""

    def user_dir(self, user):
        return os.path.join(self.mail, user)

    def start(self):
        for d in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        uid, gid = self.pw.pw_uid, self.pw.pw_gid
        os.chmod(self.dir, 0o755)
        os.chown(self.mail, uid, gid)
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in self.users:
                f.write("%s:{PLAIN}%s:%d:%d::%s/%s::\n"
                        % (u, PASSWORD, uid, gid, self.mail, u))
        me = pwd.getpwuid(os.geteuid()).pw_name
        internal = "dovecot" if os.geteuid() == 0 else me
        login = "dovenull" if os.geteuid() == 0 else me
        listeners = ""
        if "imap" in self.protocols:
            self.imap_port = free_port()
            listeners += f"""
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        if "lmtp" in self.protocols:
            self.lmtp_port = free_port()
            listeners += f"""
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0
  }}
}}
"""
        with open(self.conf, "w") as f:
            f.write(f"""# private Dovecot instance for a mailbell bench
protocols = {" ".join(self.protocols)}
base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.log_path}
instance_name = dovecot-{self.tag}-{os.getpid()}-{self.name}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {min(uid, 500)}
first_valid_gid = {min(gid, 500)}
mail_location = maildir:{self.mail}/%n
mail_fsync = {self.mail_fsync}
lmtp_save_to_detail_mailbox = no
auth_username_format = %Ln
passdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
userdb {{
  driver = passwd-file
  args = {self.dir}/users
}}
{listeners}
{self.limits_conf()}
{self.extra}
""")
        subprocess.run(["dovecot", "-c", self.conf], check=True, timeout=30)
        self.started = True
        for p in (self.imap_port, self.lmtp_port):
            if p is not None and not wait_port(p, 15):
                raise RuntimeError("%s did not listen on port %d; see %s"
                                   % (self.name, p, self.log_path))

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "run", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        m = self.master_pid()
        return process_tree(m) if m else []

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if not self.started:
            return
        self.started = False
        subprocess.run(["doveadm", "-c", self.conf, "stop"], timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.dir, "run", "master.pid")
        deadline = time.monotonic() + 20
        while os.path.exists(pidfile) and time.monotonic() < deadline:
            time.sleep(0.05)


class Mailbell:
    """A private mailbelld: its own data dir and configuration, IMAP and
    LMTP on ports the daemon picks (port = 0) and logs. extra is a dict
    section -> {key: value} merged into the configuration."""

    name = "mailbell"

    def __init__(self, tmp, users, build_dir, extra=None, name="mailbell"):
        self.name = name
        self.dir = os.path.join(tmp, name)
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "mailbell.conf")
        self.log_path = os.path.join(self.dir, "mailbelld.log")
        self.daemon = os.path.join(build_dir, "src", "daemon", "mailbelld")
        self.cli = os.path.join(build_dir, "src", "client", "mailbell")
        self.users = list(users)
        self.extra = extra or {}
        self.proc = None
        self.imap_port = None
        self.lmtp_port = None

    def available(self):
        return os.access(self.daemon, os.X_OK) and os.access(self.cli, os.X_OK)

    def version(self):
        r = subprocess.run([self.daemon, "--version"], capture_output=True,
                           text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0] \
            if (r.stdout or r.stderr).strip() else "?"

    def user_dir(self, user):
        return os.path.join(self.data, "mail", user)

    def write_conf(self):
        sections = {
            "server": {"data_dir": self.data, "listen": "127.0.0.1"},
            "lmtp": {"port": "0"},
            "imap": {"port": "0"},
            "admin": {"port": "0"},
            "notify": {"enabled": "no"},
        }
        for sec, kv in self.extra.items():
            sections.setdefault(sec, {}).update(kv)
        with open(self.conf, "w") as f:
            f.write("# private mailbell instance for a bench\n")
            for sec, kv in sections.items():
                f.write("\n[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))

    def add_users(self, users):
        for u in users:
            subprocess.run([self.cli, "-c", self.conf, "user", "add", u,
                            "--password-stdin"], input=PASSWORD + "\n",
                           text=True, check=True, timeout=30,
                           stdout=subprocess.DEVNULL)

    def prepare(self):
        """Data dir, configuration and users, without starting."""
        os.makedirs(self.data, exist_ok=True)
        self.write_conf()
        self.add_users(self.users)

    def start(self, prepared=False):
        if not prepared:
            self.prepare()
        logf = open(self.log_path, "a+")
        start_at = logf.tell()
        self.proc = subprocess.Popen([self.daemon, "-c", self.conf],
                                     stdout=logf, stderr=logf)
        deadline = time.monotonic() + 15
        ok = False
        while time.monotonic() < deadline:
            logf.seek(start_at)
            text = logf.read()
            mi = re.search(r"listening: imap tcp 127\.0\.0\.1:(\d+)", text)
            ml = re.search(r"listening: lmtp tcp 127\.0\.0\.1:(\d+)", text)
            if "mailbelld: ready" in text:
                self.imap_port = int(mi.group(1)) if mi else None
                self.lmtp_port = int(ml.group(1)) if ml else None
                ok = True
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        logf.close()
        if not ok:
            raise RuntimeError("mailbelld did not become ready; see %s"
                               % self.log_path)

    def pids(self):
        if self.proc is None or self.proc.poll() is not None:
            return []
        return process_tree(self.proc.pid)

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def no_mailbell_hint(mb, build_dir):
    return ("mailbell not built (%s missing); build with: meson setup %s "
            "&& ninja -C %s" % (mb.daemon, build_dir, build_dir))


# ---------------------------------------------------------------- IMAP

class ImapError(Exception):
    pass


class ImapClient:
    """A blocking IMAP client for timing one command at a time. Reads
    whole responses in bulk (no per-line parsing until the tagged reply
    is in) so that the client adds little to a 100,000-line FETCH."""

    def __init__(self, port, timeout=120):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.n = 0
        greeting = self._read_line()
        if not greeting.startswith(b"* OK"):
            raise ImapError("greeting: %r" % greeting[:200])

    def _read_line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ImapError("connection closed")
            self.buf += d
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[:i + 2]
        return line

    def command(self, cmd):
        """Send one command; return (seconds, status, untagged bytes,
        tagged line). Time runs from the send to the tagged reply."""
        self.n += 1
        tag = b"t%d" % self.n
        data = tag + b" " + cmd.encode() + b"\r\n"
        marker = b"\r\n" + tag + b" "
        t0 = time.perf_counter()
        self.sock.sendall(data)
        buf = self.buf
        search_from = 0
        while True:
            if buf.startswith(tag + b" "):
                i = -2
            else:
                i = buf.find(marker, search_from)
            if i != -1:
                j = buf.find(b"\r\n", i + 2)
                if j != -1:
                    break
                search_from = max(0, i)     # tagged line not complete yet
            else:
                search_from = max(0, len(buf) - len(marker))
            d = self.sock.recv(1 << 20)
            if not d:
                raise ImapError("connection closed during %r" % cmd)
            buf += d
        t1 = time.perf_counter()
        untagged = bytes(buf[:i + 2]) if i >= 0 else b""
        tagged = bytes(buf[i + 2:j])
        del buf[:j + 2]
        status = tagged.split(b" ", 2)[1].decode(errors="replace") \
            if b" " in tagged else "?"
        return t1 - t0, status, untagged, tagged

    def login(self, user, password=PASSWORD):
        _t, st, _u, tagged = self.command('LOGIN %s "%s"' % (user, password))
        if st != "OK":
            raise ImapError("LOGIN %s: %r" % (user, tagged[:200]))

    def close(self):
        try:
            self.sock.sendall(b"z LOGOUT\r\n")
        except OSError:
            pass
        self.sock.close()


class IdleSession(asyncio.Protocol):
    """One IMAP session driven to IDLE on INBOX: LOGIN, SELECT, IDLE.
    After '+', every '* n EXISTS' goes to on_exists(session, n, when),
    when being time.perf_counter() at the moment the bytes were read."""

    def __init__(self, loop, user, on_exists=None, ident=0):
        self.loop = loop
        self.user = user
        self.ident = ident
        self.on_exists = on_exists
        self.ready = loop.create_future()
        self.closed = loop.create_future()
        self.transport = None
        self.buf = b""
        self.state = "greeting"
        self.exists = None
        self.last_line = b""

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _fail(self, why):
        if not self.ready.done():
            self.ready.set_exception(ImapError("%s: %s" % (self.user, why)))
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data):
        now = time.perf_counter()
        self.buf += data
        while True:
            i = self.buf.find(b"\r\n")
            if i < 0:
                break
            line = self.buf[:i]
            self.buf = self.buf[i + 2:]
            self.last_line = line
            self._line(line, now)

    def _line(self, line, now):
        st = self.state
        if line.startswith(b"* ") and line.endswith(b" EXISTS"):
            try:
                n = int(line[2:-7])
            except ValueError:
                return
            self.exists = n
            if st == "idle" and self.on_exists is not None:
                self.on_exists(self, n, now)
            return
        if line.startswith(b"* BYE"):
            self._fail("server said %r" % line[:200])
            return
        if st == "greeting":
            if line.startswith(b"* OK"):
                self.state = "login"
                self.transport.write(b'a LOGIN %s "%s"\r\n'
                                     % (self.user.encode(),
                                        PASSWORD.encode()))
            else:
                self._fail("greeting %r" % line[:200])
        elif st == "login" and line.startswith(b"a "):
            if line.startswith(b"a OK"):
                self.state = "select"
                self.transport.write(b"b SELECT INBOX\r\n")
            else:
                self._fail("LOGIN: %r" % line[:200])
        elif st == "select" and line.startswith(b"b "):
            if line.startswith(b"b OK"):
                self.state = "idle-wait"
                self.transport.write(b"c IDLE\r\n")
            else:
                self._fail("SELECT: %r" % line[:200])
        elif st == "idle-wait":
            if line.startswith(b"+"):
                self.state = "idle"
                if not self.ready.done():
                    self.ready.set_result(self)
            elif line.startswith(b"c "):
                self._fail("IDLE: %r" % line[:200])

    def connection_lost(self, exc):
        if not self.ready.done():
            self.ready.set_exception(ImapError(
                "%s: connection closed in state %s (last line %r)"
                % (self.user, self.state, self.last_line[:200])))
        if not self.closed.done():
            self.closed.set_result(True)
        self.state = "closed"

    def close(self):
        if self.transport is not None and not self.transport.is_closing():
            try:
                if self.state == "idle":
                    self.transport.write(b"DONE\r\nz LOGOUT\r\n")
            finally:
                self.transport.close()


async def open_idle_sessions(port, users, k, on_exists=None, parallel=50,
                             timeout=300.0):
    """Open k sessions in IDLE, round-robin over users, at most parallel
    logins in flight; raise ImapError on the first failure or when the
    whole set is not idle within timeout seconds."""
    loop = asyncio.get_running_loop()
    sessions = []
    sem = asyncio.Semaphore(parallel)
    deadline = loop.time() + timeout

    async def one(i):
        async with sem:
            user = users[i % len(users)]
            left = deadline - loop.time()
            if left <= 0:
                raise ImapError("timed out opening sessions")
            _tr, s = await asyncio.wait_for(loop.create_connection(
                lambda: IdleSession(loop, user, on_exists, i),
                "127.0.0.1", port), left)
            sessions.append(s)
            await asyncio.wait_for(asyncio.shield(s.ready),
                                   max(0.1, deadline - loop.time()))

    tasks = [asyncio.ensure_future(one(i)) for i in range(k)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await close_sessions(sessions)
        raise
    return sessions


async def close_sessions(sessions, timeout=30.0):
    for s in sessions:
        s.close()
    pending = [s.closed for s in sessions if not s.closed.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)


# ---------------------------------------------------------------- LMTP

class LmtpError(Exception):
    pass


class _LmtpProto(asyncio.Protocol):
    def __init__(self, loop):
        self.lines = asyncio.Queue()
        self.buf = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        now = time.perf_counter()
        self.buf += data
        while True:
            i = self.buf.find(b"\r\n")
            if i < 0:
                break
            self.lines.put_nowait((now, self.buf[:i]))
            self.buf = self.buf[i + 2:]

    def connection_lost(self, exc):
        self.lines.put_nowait((time.perf_counter(), None))


class LmtpClient:
    """One LMTP connection; deliver() pipelines MAIL, RCPT and DATA and
    returns the perf_counter() time at which the final 250 was read
    (sent_at: when the message and its final dot were written)."""

    def __init__(self, port, domain="localhost", timeout=30.0):
        self.port = port
        self.domain = domain
        self.timeout = timeout
        self.proto = None
        self.sent_at = None

    async def _reply(self):
        """(time, code, last line) of one possibly multi-line reply."""
        while True:
            when, line = await asyncio.wait_for(self.proto.lines.get(),
                                                self.timeout)
            if line is None:
                raise LmtpError("LMTP connection closed")
            if len(line) < 4 or line[3:4] != b"-":
                return when, line[:3], line

    async def connect(self):
        loop = asyncio.get_running_loop()
        _tr, self.proto = await loop.create_connection(
            lambda: _LmtpProto(loop), "127.0.0.1", self.port)
        _w, code, line = await self._reply()
        if code != b"220":
            raise LmtpError("greeting %r" % line)
        self.proto.transport.write(b"LHLO bench.localhost\r\n")
        _w, code, line = await self._reply()
        if code != b"250":
            raise LmtpError("LHLO: %r" % line)

    async def deliver(self, user, body):
        tr = self.proto.transport
        tr.write(b"MAIL FROM:<bench@localhost>\r\nRCPT TO:<%s@%s>\r\n"
                 b"DATA\r\n" % (user.encode(), self.domain.encode()))
        for want in (b"250", b"250", b"354"):
            _w, code, line = await self._reply()
            if code != want:
                raise LmtpError("%s: expected %s, got %r"
                                % (user, want.decode(), line))
        self.sent_at = time.perf_counter()
        tr.write(body + b".\r\n")
        when, code, line = await self._reply()
        if code != b"250":
            raise LmtpError("%s: DATA: %r" % (user, line))
        return when

    def close(self):
        tr = self.proto.transport if self.proto is not None else None
        if tr is not None and not tr.is_closing():
            tr.write(b"QUIT\r\n")
            tr.close()


def message(i, size=0):
    """A small RFC 5322 message with CRLF line ends (no dot-stuffing
    needed: no line starts with '.')."""
    body = ("Hello, message %d.\r\n" % i)
    if size > len(body):
        pad = "x" * 70 + "\r\n"
        body += pad * ((size - len(body)) // len(pad))
    return ("From: Bench Sender <sender@localhost>\r\n"
            "To: <bench@localhost>\r\n"
            "Subject: bench message %d\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
            "Message-ID: <bench.%d@localhost>\r\n"
            "\r\n" % (i, i) + body).encode()
