"""Shared pieces of the IMAP benches (idle-latency, idle-memory, bigbox).

A private mailbelld and a private Dovecot on free loopback ports, each
with its own data dir under one temporary directory; process memory (PSS)
of a whole server; a small asyncio IMAP client that holds many sessions
in IDLE; a blocking IMAP client for timing single commands; an LMTP
client that timestamps replies as they are read; the notifier's
datagrams; for bench/cluster, nats-server processes in one JetStream
cluster and CPU time by process and by thread.

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


def make_tls_cert(directory):
    """One self-signed EC P-256 certificate and its key (mode 0600) in
    directory, made with the openssl command: the TLS benches give both
    servers the same one, so neither pays for a costlier key. Returns
    (cert path, key path)."""
    cert = os.path.join(directory, "bench-tls.crt")
    key = os.path.join(directory, "bench-tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "7",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def tls_client_context():
    """An ssl.SSLContext for the bench clients: TLS 1.2 or later, no
    certificate verification (both servers present the bench's own
    self-signed certificate; verifying costs the client only)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


# mailbell's [imap] limits for a bench that opens thousands of sessions
# from a few loopback addresses, up to 50 or more logging in at once
# (the defaults, meant for the Internet, let one address have only 20
# sessions waiting to log in and make the oldest yield to a newer one).
IMAP_MANY_SESSIONS = {"max_connections_per_user": 4096,
                      "max_connections_per_ip": 4096,
                      "max_prelogin_connections_per_ip": 1024}


def source_addresses(n, per_address=4000):
    """Loopback source addresses for n client connections, at most
    per_address from each (mailbell's [imap] max_connections_per_ip is
    at most 4096): 127.0.0.1, 127.0.0.2, ..."""
    count = max(1, -(-n // per_address))
    return ["127.0.0.%d" % (i + 1) for i in range(count)]


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

def proc_stat_fields(pid):
    """The fields of /proc/PID/stat after the command (state, ppid, ...,
    utime at [11], stime at [12]), or None if pid is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # the command name may hold spaces or parentheses: split after ')'
    return stat[stat.rfind(")") + 2:].split()


def children_map():
    """pid -> list of child pids, from /proc/*/stat."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        rest = proc_stat_fields(name)
        if rest is not None:
            kids.setdefault(int(rest[1]), []).append(int(name))
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
                 max_conns=0, mail_fsync="always", tls=None):
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
        self.tls = tls
        self.imap_port = None
        self.imaps_port = None
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

    def ssl_conf(self):
        """TLS off, or (tls = (cert, key)) required: implicit TLS on the
        imaps listener with that certificate."""
        if not self.tls:
            return "ssl = no\ndisable_plaintext_auth = no"
        return ("ssl = required\nssl_cert = <%s\nssl_key = <%s"
                % self.tls)

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
            imaps = "port = 0"
            if self.tls:
                self.imaps_port = free_port()
                imaps = ("address = 127.0.0.1\n    port = %d\n    ssl = yes"
                         % self.imaps_port)
            listeners += f"""
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    {imaps}
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
{self.ssl_conf()}
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
        for p in (self.imap_port, self.imaps_port, self.lmtp_port):
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

    def __init__(self, tmp, users, build_dir, extra=None, name="mailbell",
                 tls=None):
        self.name = name
        self.dir = os.path.join(tmp, name)
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "mailbell.conf")
        self.log_path = os.path.join(self.dir, "mailbelld.log")
        self.daemon = os.path.join(build_dir, "src", "daemon", "mailbelld")
        self.cli = os.path.join(build_dir, "src", "client", "mailbell")
        self.users = list(users)
        self.extra = extra or {}
        self.tls = tls
        self.proc = None
        self.imap_port = None
        self.imaps_port = None
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
            "imap": {"port": "0", "tls_port": "0"},
            "admin": {"port": "0"},
            "notify": {"enabled": "no"},
        }
        if self.tls:
            sections["tls"] = {"cert_file": self.tls[0],
                               "key_file": self.tls[1]}
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
            ms = re.search(r"listening: imaps tcp 127\.0\.0\.1:(\d+)", text)
            if "mailbelld: ready" in text:
                self.imap_port = int(mi.group(1)) if mi else None
                self.imaps_port = int(ms.group(1)) if ms else None
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
                             timeout=300.0, ssl=None, sources=None):
    """Open k sessions in IDLE, round-robin over users, at most parallel
    logins in flight; raise ImapError on the first failure or when the
    whole set is not idle within timeout seconds. With ssl (an
    ssl.SSLContext) each session starts with a TLS handshake (port is
    then an implicit-TLS port); sources, a list of loopback addresses,
    spreads the connections' source addresses round-robin."""
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
            extra = {}
            if ssl is not None:
                extra["ssl"] = ssl
                extra["ssl_handshake_timeout"] = max(1.0, left)
            if sources:
                extra["local_addr"] = (sources[i % len(sources)], 0)
            _tr, s = await asyncio.wait_for(loop.create_connection(
                lambda: IdleSession(loop, user, on_exists, i),
                "127.0.0.1", port, **extra), left)
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


# ---------------------------------------------------------------- notify
# Pieces of the notifier benches (notify-latency, notify-memory,
# notify-rate): registrations over IMAP (XBELL REGISTER, pipelined), the
# datagrams of doc/notify-protocol.md (Debian's python3-cryptography,
# imported only here), a probe that holds registrations on one UDP
# socket and stamps each EVENT as it is read, and the C load client
# bench/notify-load.

NOTIFY_REGISTERED_RE = re.compile(
    rb'\* XBELL REGISTERED \(VERSION (\d+) ID "([0-9a-f]{16})" '
    rb'KEY "([A-Za-z0-9+/=]+)" PORT (\d+) KEEPALIVE (\d+) LEASE (\d+) '
    rb'EPOCH (\d+)\)')


class NotifyReg:
    """One registration as XBELL REGISTER answered it."""
    __slots__ = ("user", "id_hex", "id", "key_b64", "key", "port",
                 "keepalive", "lease", "epoch", "pn", "aead", "nonce",
                 "verified", "ack")

    def __init__(self, user, m):
        import base64
        self.user = user
        self.id_hex = m.group(2).decode()
        self.id = int(self.id_hex, 16)
        self.key_b64 = m.group(3).decode()
        self.key = base64.b64decode(self.key_b64)
        self.port = int(m.group(4))
        self.keepalive = int(m.group(5))
        self.lease = int(m.group(6))
        self.epoch = int(m.group(7))
        self.pn = 0
        self.verified = False
        self.ack = 0
        self.aead = self.nonce = None

    def line(self):
        """A line of notify-load's registration file."""
        return "%s %s %d %d %d\n" % (self.id_hex, self.key_b64, self.epoch,
                                     self.port, self.keepalive)


def mailbell_log_port(mb, what):
    """The port a running Mailbell logged for 'imap tcp', 'lmtp tcp',
    'admin tcp' or 'notify udp' on 127.0.0.1, or None."""
    m = re.search(r"listening: %s 127\.0\.0\.1:(\d+)" % re.escape(what),
                  mb.log_text())
    return int(m.group(1)) if m else None


def mailbell_metrics(mb):
    """The admin server's Prometheus metrics as {name: value} (labels
    kept in the name); {} when unreachable."""
    port = mailbell_log_port(mb, "admin tcp")
    if port is None:
        return {}
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data = b""
            while len(data) < (8 << 20):
                d = s.recv(65536)
                if not d:
                    break
                data += d
    except OSError:
        return {}
    out = {}
    for line in data.split(b"\r\n\r\n", 1)[-1].decode(
            errors="replace").splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(" ", 1)
        if len(parts) == 2:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


def xbell_register(port, user, count, window=256, timeout=300.0):
    """count registrations for user over one IMAP session (LOGIN, then
    XBELL REGISTER pipelined, at most window in flight). Returns the
    NotifyReg list; raises ImapError on a refusal."""
    cli = ImapClient(port, timeout=timeout)
    try:
        cli.login(user)
        regs = []
        sent = 0
        buf = cli.buf
        deadline = time.monotonic() + timeout
        while len(regs) < count:
            if time.monotonic() > deadline:
                raise ImapError("%s: XBELL REGISTER timed out" % user)
            if sent - len(regs) < window // 2 and sent < count:
                n = min(window - (sent - len(regs)), count - sent)
                cli.sock.sendall(b"".join(b"r%d XBELL REGISTER\r\n" % (sent + i)
                                          for i in range(n)))
                sent += n
            d = cli.sock.recv(1 << 20)
            if not d:
                raise ImapError("%s: connection closed during XBELL" % user)
            buf += d
            end = buf.rfind(b"\r\n")
            if end < 0:
                continue
            lines = bytes(buf[:end]).split(b"\r\n")
            del buf[:end + 2]
            for ln in lines:
                if ln.startswith(b"* XBELL REGISTERED"):
                    m = NOTIFY_REGISTERED_RE.match(ln)
                    if not m:
                        raise ImapError("%s: %r" % (user, ln[:200]))
                    regs.append(NotifyReg(user, m))
                elif ln.startswith(b"r") and \
                        ln.split(b" ", 2)[1:2] != [b"OK"]:
                    raise ImapError("%s: XBELL REGISTER: %r"
                                    % (user, ln[:200]))
        return regs
    finally:
        cli.close()


def xbell_register_users(port, users, per_user, threads=8, timeout=600.0):
    """per_user registrations for each of users, over threads parallel
    IMAP sessions. Returns every NotifyReg, grouped user by user."""
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        futs = [ex.submit(xbell_register, port, u, per_user, 256, timeout)
                for u in users]
        out = []
        for f in futs:
            out.extend(f.result(timeout=timeout))
    return out


def add_mailbell_users_parallel(mb, users, threads=8):
    """mailbell user add for many users, a few at once (each waits for
    the passwd file's lock)."""
    import concurrent.futures

    def one(u):
        subprocess.run([mb.cli, "-c", mb.conf, "user", "add", u,
                        "--password-stdin"], input=PASSWORD + "\n",
                       text=True, check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        list(ex.map(one, users))


_NOTIFY_HDR = None


def _notify_crypto():
    global _NOTIFY_HDR
    import struct
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    if _NOTIFY_HDR is None:
        _NOTIFY_HDR = struct.Struct(">BBHQIQ")
    return struct, ChaCha20Poly1305


def notify_keys(reg):
    """Derive reg's key, both directions' (doc/notify-protocol.md 3.2)."""
    import hashlib
    import hmac
    import struct
    prk = hmac.new(b"mailbell notify v1", reg.key, hashlib.sha256).digest()
    info = b"mailbell v1 key" + struct.pack(">I", reg.epoch)
    _struct, aead = _notify_crypto()
    reg.aead = aead(hmac.new(prk, info + b"\x01", hashlib.sha256).digest())


def _nonce(s2c, pn):
    """direction (0 c2s, 1 s2c), 3 zero bytes, the packet number."""
    return (int(s2c) << 88 | pn).to_bytes(12, "big")


def notify_seal(reg, dtype, payload, pad=128):
    struct, _a = _notify_crypto()
    need = pad - 24 - 16 - len(payload)
    if need > 0:
        payload += bytes(need)
    hdr = _NOTIFY_HDR.pack(1, dtype, 0, reg.id, reg.epoch, reg.pn)
    data = hdr + reg.aead.encrypt(_nonce(False, reg.pn), payload, hdr)
    reg.pn += 1
    return data


def notify_open(reg, data):
    """(type, payload) of an s2c datagram for reg, or None."""
    from cryptography.exceptions import InvalidTag
    if len(data) < 40:
        return None
    _v, dtype, _r, _id, epoch, pn = _NOTIFY_HDR.unpack(data[:24])
    if epoch != reg.epoch:
        return None
    try:
        return dtype, reg.aead.decrypt(_nonce(True, pn), data[24:],
                                     data[:24])
    except InvalidTag:
        return None


class NotifyProbe(asyncio.DatagramProtocol):
    """Registrations on one UDP socket of the timing client. After
    handshake(), every EVENT is stamped (time.perf_counter() when read),
    opened, acknowledged and passed to on_event(reg, event number,
    when)."""

    def __init__(self, regs, on_event=None):
        self.regs = {r.id: r for r in regs}
        self.on_event = on_event
        self.transport = None
        self.server = None
        self.waiting = None
        self.done = None
        self.bad = 0

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    def datagram_received(self, data, addr):
        now = time.perf_counter()
        if len(data) < 40:
            return
        struct, _a = _notify_crypto()
        reg = self.regs.get(int.from_bytes(data[4:12], "big"))
        if reg is None:
            self.bad += 1
            return
        if data[1] == 4 and reg.verified:
            return          # STATUS to a keepalive: nothing to learn
        got = notify_open(reg, data)
        if got is None:
            self.bad += 1
            return
        dtype, pl = got
        if dtype == 7:                                  # EVENT
            number = struct.unpack(">Q", pl[:8])[0]
            if number == reg.ack + 1:
                reg.ack = number
            self.transport.sendto(notify_seal(reg, 6, struct.pack(
                ">Q", reg.ack), pad=0), self.server)
            if self.on_event is not None:
                self.on_event(reg, number, now)
        elif dtype == 2 and pl[:8] == reg.nonce:        # CHALLENGE
            self.transport.sendto(notify_seal(reg, 3, pl[8:24]),
                                  self.server)
        elif dtype == 4 and (pl[3] & 1) and not reg.verified:  # STATUS
            reg.verified = True
            self.waiting -= 1
            if self.waiting == 0 and self.done is not None and \
                    not self.done.done():
                self.done.set_result(True)

    async def handshake(self, port, timeout=30.0):
        """Verify every registration from this socket (HELLO, resent
        each second while unanswered). Returns how many verified."""
        loop = asyncio.get_running_loop()
        self.server = ("127.0.0.1", port)
        for r in self.regs.values():
            if r.aead is None:
                notify_keys(r)
        self.waiting = sum(1 for r in self.regs.values() if not r.verified)
        self.done = loop.create_future()
        deadline = loop.time() + timeout
        while self.waiting > 0 and loop.time() < deadline:
            for r in self.regs.values():
                if not r.verified:
                    r.nonce = os.urandom(8)
                    self.transport.sendto(notify_seal(r, 1, r.nonce),
                                          self.server)
            try:
                await asyncio.wait_for(asyncio.shield(self.done),
                                       min(1.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                pass
        return sum(1 for r in self.regs.values() if r.verified)

    def keepalives(self):
        struct, _a = _notify_crypto()
        for r in self.regs.values():
            self.transport.sendto(notify_seal(r, 5, struct.pack(
                ">Q", r.ack)), self.server)


class NotifyLoad:
    """The C load client bench/notify-load (build_dir/bench/notify-load;
    compiled with cc into tmp when the build has none) holding
    registrations: start() verifies them all, mark() and report() read
    its counters."""

    def __init__(self, build_dir, tmp):
        self.exe = os.path.join(build_dir, "bench", "notify-load")
        self.tmp = tmp
        self.proc = None
        self.ready = None
        if not os.access(self.exe, os.X_OK):
            self.exe = os.path.join(tmp, "notify-load")
            if not os.access(self.exe, os.X_OK):
                subprocess.run(["cc", "-O2", "-D_GNU_SOURCE", "-o", self.exe,
                                os.path.join(BENCH_DIR, "notify-load.c"),
                                "-lcrypto"], check=True, timeout=120)

    def start(self, regs, sockets=0, seconds=1800, portfile=None,
              timeout=600.0, name="regs"):
        path = os.path.join(self.tmp, "notify-load.%s" % name)
        with open(path, "w") as f:
            for r in regs:
                f.write(r.line())
        cmd = [self.exe, "-t", str(seconds)]
        if sockets:
            cmd += ["-s", str(sockets)]
        if portfile:
            cmd += ["-P", portfile]
        self.proc = subprocess.Popen(cmd + [path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        line = self._line(timeout)
        m = re.match(r"ready verified=(\d+) failed=(\d+) sockets=(\d+) "
                     r"seconds=([\d.]+)", line or "")
        if not m:
            self.stop()
            raise RuntimeError("notify-load: %r" % line)
        self.ready = dict(verified=int(m.group(1)), failed=int(m.group(2)),
                          sockets=int(m.group(3)),
                          seconds=float(m.group(4)))
        return self.ready

    def _line(self, timeout):
        import select
        r, _w, _x = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return None
        return self.proc.stdout.readline().strip()

    def command(self, cmd, timeout=30.0):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._line(timeout)

    def mark(self):
        return self.command("mark")

    def report(self):
        line = self.command("report") or ""
        return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", line)}

    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5)


def smaps_kib(pids, field):
    """Sum of one /proc/PID/smaps_rollup field (e.g. "Pss_Anon", which
    unlike Pss does not move when other processes map or unmap the same
    shared libraries) over pids, in KiB."""
    total = 0
    prefix = field + ":"
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith(prefix):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def udp_socket_drops(port):
    """Datagrams the kernel dropped for the UDP socket(s) bound to port
    on 127.0.0.1 or a wildcard address (its receive buffer was full),
    from /proc/net/udp and /proc/net/udp6; None if none is found."""
    total, found = 0, False
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) < 13:
                        continue
                    if int(fields[1].rsplit(":", 1)[1], 16) == port:
                        total += int(fields[-1])
                        found = True
        except OSError:
            continue
    return total if found else None


# ---------------------------------------------------------------- cluster
# Pieces of bench/cluster: Debian's nats-server processes joined in one
# JetStream cluster on free loopback ports (each with its own store
# directory and monitoring port), and CPU time from /proc/PID/stat.

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """utime + stime (seconds) summed over pids (every thread of each),
    from /proc/PID/stat; processes that exited count nothing."""
    ticks = 0
    for p in pids:
        rest = proc_stat_fields(p)
        if rest is not None:
            ticks += int(rest[11]) + int(rest[12])
    return ticks / CLK_TCK


def thread_cpu_seconds(pid):
    """CPU seconds of each living thread of pid (its run time in
    nanoseconds, /proc/PID/task/TID/schedstat, free of the clock tick's
    rounding), summed by kind: "loop" (the thread whose id is pid:
    mailbelld's event loop), "store" (threads named store-*) and "other"
    (the rest: a cluster node's NATS threads and the NATS client's
    own)."""
    out = {"loop": 0.0, "store": 0.0, "other": 0.0}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for t in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                comm = f.read().strip()
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                secs = int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
        kind = "loop" if int(t) == pid else \
            "store" if comm.startswith("store-") else "other"
        out[kind] += secs
    return out


class NatsCluster:
    """count nats-server processes in one JetStream cluster on loopback,
    each in tmp/NAME with its client, route and monitoring ports free
    ones. start() returns once every server's /healthz says ok."""

    def __init__(self, tmp, count=3, name="nats"):
        import shutil
        self.exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.dir = os.path.join(tmp, name)
        self.servers = []
        for i in range(count):
            self.servers.append({
                "name": "n%d" % (i + 1),
                "dir": os.path.join(self.dir, "n%d" % (i + 1)),
                "port": free_port(), "route": free_port(),
                "http": free_port(), "proc": None})

    def available(self):
        return os.access(self.exe, os.X_OK)

    @property
    def urls(self):
        return ["nats://127.0.0.1:%d" % s["port"] for s in self.servers]

    def version(self):
        r = subprocess.run([self.exe, "--version"], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.strip()

    def start(self, timeout=30.0):
        for s in self.servers:
            os.makedirs(s["dir"], exist_ok=True)
            routes = ", ".join('"nats://127.0.0.1:%d"' % o["route"]
                               for o in self.servers if o is not s)
            conf = os.path.join(s["dir"], "nats.conf")
            with open(conf, "w") as f:
                f.write('server_name: "%s"\nlisten: "127.0.0.1:%d"\n'
                        'http: "127.0.0.1:%d"\n'
                        'jetstream {\n  store_dir: "%s"\n}\n'
                        'cluster {\n  name: "mailbell-bench"\n'
                        '  listen: "127.0.0.1:%d"\n  routes: [%s]\n}\n'
                        % (s["name"], s["port"], s["http"],
                           os.path.join(s["dir"], "js"), s["route"],
                           routes))
            with open(os.path.join(s["dir"], "nats-server.log"), "ab") as lf:
                s["proc"] = subprocess.Popen(
                    [self.exe, "-c", conf], stdin=subprocess.DEVNULL,
                    stdout=lf, stderr=lf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._healthy(s) for s in self.servers):
                return self
            if any(s["proc"].poll() is not None for s in self.servers):
                break
            time.sleep(0.2)
        raise RuntimeError("nats-server cluster not ready; see %s"
                           % self.dir)

    @staticmethod
    def _healthy(s):
        import json
        import urllib.request
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/healthz" % s["http"],
                    timeout=2) as r:
                return json.load(r).get("status") == "ok"
        except (OSError, ValueError):
            return False

    def pids(self):
        return [s["proc"].pid for s in self.servers
                if s["proc"] is not None and s["proc"].poll() is None]

    def stop(self):
        for s in self.servers:
            p = s["proc"]
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for s in self.servers:
            s["proc"] = None
