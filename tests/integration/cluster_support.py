"""Several mailbelld nodes over a NATS cluster, on loopback.

NatsCluster runs Debian's nats-server processes joined in one JetStream
cluster (each with its own store directory and monitoring port);
MailCluster runs mailbelld nodes with a [cluster] section that names
them, one shared secret and one certificate, and places users on nodes
with `mailbell cluster place`.
"""

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import notifyclient as nc
from conftest import (PASSWORD, Daemon, free_port, imap_login, run_cli,
                      terminate, wait_until)

NATS_SERVER = shutil.which("nats-server") or "/usr/bin/nats-server"
NATS_READY_TIMEOUT = 30.0


class NatsServer:
    """One nats-server of a cluster."""

    def __init__(self, root, name, routes_of):
        self.name = name
        self.dir = Path(root) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.new_ports()
        self.routes_of = routes_of
        self.proc = None
        self.log_path = self.dir / "nats-server.log"

    def new_ports(self):
        self.port = free_port()
        self.route_port = free_port()
        self.http_port = free_port()

    def lost_a_port(self):
        """Whether it exited because a port it was given was taken
        between free_port() and its bind (another test's process)."""
        return (self.proc is not None and self.proc.poll() is not None
                and "address already in use" in self.log())

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def write_config(self):
        routes = ", ".join('"nats://127.0.0.1:%d"' % p
                           for p in self.routes_of(self))
        conf = self.dir / "nats.conf"
        conf.write_text(
            'server_name: "%s"\n'
            'listen: "127.0.0.1:%d"\n'
            'http: "127.0.0.1:%d"\n'
            'jetstream {\n  store_dir: "%s"\n}\n'
            # no_advertise: a client knows the servers it was given,
            # so a node given one server can be cut off alone.
            'cluster {\n  name: "mailbell-test"\n  no_advertise: true\n'
            '  listen: "127.0.0.1:%d"\n  routes: [%s]\n}\n'
            % (self.name, self.port, self.http_port, self.dir / "js",
               self.route_port, routes))
        return conf

    def start(self):
        assert self.proc is None
        conf = self.write_config()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [NATS_SERVER, "-c", str(conf)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log)

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self):
        if self.proc is not None:
            terminate(self.proc)
            self.proc = None

    def healthy(self):
        """Whether JetStream answers here (the meta leader is known and
        every stream and consumer of this server is current)."""
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/healthz" % self.http_port,
                    timeout=2) as r:
                return json.load(r).get("status") == "ok"
        except (OSError, ValueError):
            return False

    def clients(self):
        """The names of the clients connected here (/connz)."""
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/connz" % self.http_port,
                    timeout=2) as r:
                return [c.get("name", "") for c in
                        json.load(r).get("connections", [])]
        except (OSError, ValueError):
            return []

    def log(self):
        return self.log_path.read_text(errors="replace") \
            if self.log_path.exists() else ""


class NatsCluster:
    """count nats-server processes in one JetStream cluster."""

    def __init__(self, root, count=3):
        self.servers = []
        for i in range(count):
            self.servers.append(NatsServer(root, "n%d" % (i + 1),
                                           self._routes_of))

    def _routes_of(self, server):
        return [s.route_port for s in self.servers if s is not server]

    @property
    def urls(self):
        return [s.url for s in self.servers]

    def start(self):
        for attempt in range(3):
            for s in self.servers:
                s.start()
            wait_until(lambda: all(s.healthy() or s.lost_a_port()
                                   for s in self.servers),
                       NATS_READY_TIMEOUT)
            if not any(s.lost_a_port() for s in self.servers):
                break
            # Fresh ports for all, as the routes name each other's.
            for s in self.servers:
                s.stop()
                s.new_ports()
                shutil.rmtree(s.dir / "js", ignore_errors=True)
                s.log_path.unlink(missing_ok=True)
        self.wait_healthy()
        return self

    def wait_healthy(self, servers=None):
        servers = servers or [s for s in self.servers if s.proc is not None]
        if not wait_until(lambda: all(s.healthy() for s in servers),
                          NATS_READY_TIMEOUT):
            pytest.fail("nats-server cluster not ready:\n" + "\n".join(
                s.name + ":\n" + s.log()[-3000:] for s in servers))

    def server_of(self, client):
        """The running server client (a connection name) is on."""
        for s in self.servers:
            if s.proc is not None and client in s.clients():
                return s
        pytest.fail("no NATS server has a client named " + client)

    def stop(self):
        for s in self.servers:
            s.stop()


def make_certificate(directory):
    """One self-signed certificate for 127.0.0.1 that every node serves
    and trusts: the nodes' [tls] files and [cluster] ca_file."""
    directory = Path(directory)
    cert, key = directory / "nodes.crt", directory / "nodes.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
         "-subj", "/CN=mailbell-nodes", "-addext",
         "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    key.chmod(0o644)
    return cert, key


class MailCluster:
    """mailbelld nodes a, b, c... joined through a NatsCluster."""

    def __init__(self, root, nats, names=("a", "b", "c"), replicas=3,
                 node_nats=None, **overrides):
        """node_nats: {name: [URL]} for a node that is to reach only
        those NATS servers (default: every one)."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.nats = nats
        self.secret = self.root / "cluster.secret"
        self.secret.write_text("c2VjcmV0LW9mLXRoZS1tYWlsYmVsbC1ub2Rlcw\n")
        self.secret.chmod(0o600)
        self.cert, self.key = make_certificate(self.root)
        self.nodes = {}
        for name in names:
            d = self.root / ("node-" + name)
            d.mkdir(exist_ok=True)
            settings = {
                "tls__cert_file": self.cert,
                "tls__key_file": self.key,
                "cluster__node": name,
                "cluster__nats": ", ".join((node_nats or {}).get(
                    name, nats.urls)),
                "cluster__host": "127.0.0.1",
                "cluster__secret_file": self.secret,
                "cluster__ca_file": self.cert,
                "cluster__replicas": replicas,
            }
            settings.update(overrides)
            self.nodes[name] = Daemon(d, **settings)

    def __getitem__(self, name):
        return self.nodes[name]

    def start(self):
        for node in self.nodes.values():
            node.start()
        self.wait_joined()
        return self

    def add_user(self, user, home, password=PASSWORD):
        """Add user to every node's passwd file (the same users
        everywhere) and place it on node home."""
        for node in self.nodes.values():
            node.add_user(user, password)
        self.place(user, home)

    def place(self, user, home):
        out = self.cli("cluster", "place", user, home)
        assert out.returncode == 0, out.stderr
        # Every node hears of the placement before the test goes on.
        for node in self.nodes.values():
            if not wait_until(lambda: self.where(node, user) == home, 10):
                pytest.fail("%s does not see %s on %s" % (
                    node.config, user, home))

    def where(self, node, user):
        out = cli_text("-c", str(node.config), "cluster", "where", user)
        return out.stdout.strip() if out.returncode == 0 else None

    def cli(self, *args, node="a"):
        return cli_text("-c", str(self.nodes[node].config), *args)

    def nodes_table(self, node="a", strict=True):
        """`mailbell cluster nodes` as {name: [columns]} ({} before the
        first node has made the buckets, unless strict)."""
        out = self.cli("cluster", "nodes", node=node)
        if out.returncode == 69 and not strict:
            return {}
        assert out.returncode == 0, out.stderr
        return {line.split()[0]: line.split()
                for line in out.stdout.splitlines()[1:]}

    def wait_joined(self, timeout=20.0):
        """Until every node's record says it is up."""
        wait_for(lambda: set(self.nodes_table(strict=False)) ==
                 set(self.nodes) and
                 all(r[5] == "up" for r in self.nodes_table().values()),
                 timeout, "every node's record")

    def kill(self, name):
        """SIGKILL node name's mailbelld (a crash: no shutdown)."""
        self.nodes[name].kill9()

    def pin_ports(self, name):
        """Write node name's ports of this start (IMAP, IMAPS, LMTP,
        admin, notify UDP) into its configuration, so that it comes back
        where the other nodes and the clients knew it."""
        node = self.nodes[name]
        udp = re.search(r"listening: notify udp \S+:(\d+)\s*$",
                        node.log(), re.M)
        ports = {("imap", "port"): node.ports["imap"],
                 ("imap", "tls_port"): node.ports.get("imaps", 0),
                 ("lmtp", "port"): node.ports["lmtp"],
                 ("admin", "port"): node.ports["admin"],
                 ("notify", "udp_port"): int(udp.group(1))}
        section, lines = None, []
        for line in node.config.read_text().splitlines():
            m = re.match(r"\[(\w+)\]$", line)
            if m:
                section = m.group(1)
            key = line.split(" = ", 1)[0]
            if (section, key) in ports:
                line = "%s = %d" % (key, ports[(section, key)])
            lines.append(line)
        node.config.write_text("\n".join(lines) + "\n")

    def stop(self):
        problems = []
        for node in self.nodes.values():
            node.stop()
            problems.extend(node.problems)
        return problems


def cli_text(*args):
    """run_cli with stdout and stderr as text."""
    out = run_cli(*args)
    out.stdout = out.stdout.decode(errors="replace")
    out.stderr = out.stderr.decode(errors="replace")
    return out


def registered_client(node, user):
    """A UDP client registered through node's IMAP and verified."""
    m = imap_login(node.ports["imap"], user)
    reg = nc.register(m)
    m.logout()
    c = nc.UdpClient(reg)
    c.handshake()
    return c


def wait_for(predicate, timeout=10.0, what="condition"):
    if not wait_until(predicate, timeout):
        pytest.fail("timed out waiting for " + what)


@pytest.fixture
def nats_cluster(tmp_path):
    cluster = NatsCluster(tmp_path / "nats").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def mail_cluster(tmp_path, nats_cluster):
    cluster = MailCluster(tmp_path / "mail", nats_cluster).start()
    yield cluster
    problems = cluster.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


__all__ = ["NatsCluster", "MailCluster", "nats_cluster", "mail_cluster",
           "registered_client", "wait_for", "time"]
