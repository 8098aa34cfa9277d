#!/usr/bin/python3
"""
mailbell's network lab: a server, a router and a client in three network
namespaces, so the notification channel can be tested through real
stateful firewalls and NAT (nftables and conntrack) on one machine.

    srv  eth0 10.99.1.2/24 fd99:1::2/64     the mail server
     |
    rtr  wan0 10.99.1.1/24 fd99:1::1/64     forwarding, nftables profiles
         lan0 10.99.2.1/24 fd99:2::1/64
     |
    cli  eth0 10.99.2.2/24 fd99:2::2/64     the mail client (mailbell watch)

The addresses exist only inside the namespaces the lab creates; the
namespaces have no route anywhere else. Each lab has a unique namespace
prefix (mbl-PID-RANDOM-), so labs of parallel runs never collide, and
namespaces left by a run that died are removed by the next one.

Firewall profiles, on rtr's forward hook, loaded atomically (`nft -f -`):

    open       nothing filtered
    stateful   ct state established,related accept; other inbound
               (wan0 -> lan0) TCP and UDP dropped
    fixedport  stateful plus one pinhole:
               ip saddr SRV udp sport S udp dport P accept
    nat        stateful plus masquerade on wan0
    blockudp   all UDP dropped both ways; TCP passes
               (with nat=True: behind the same NAT, for live switches)

Usage as a program (root):  /usr/bin/python3 tests/netlab/lab.py selftest
"""

import base64
import errno
import fcntl
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = "/usr/bin/python3"
HERE = Path(__file__).resolve().parent
AGENT = HERE / "agent.py"

SRV4, WAN4, LAN4, CLI4 = "10.99.1.2", "10.99.1.1", "10.99.2.1", "10.99.2.2"
SRV6, WAN6, LAN6, CLI6 = "fd99:1::2", "fd99:1::1", "fd99:2::1", "fd99:2::2"

PROFILES = ("open", "stateful", "fixedport", "nat", "blockudp")
FW_TABLE = "mbl_fw"          # the profile, replaced on every switch
NAT_TABLE = "mbl_nat"        # masquerade, while NAT is on
COUNT_TABLE = "mbl_count"    # datagram counters, kept across switches

LOCK_PATH = Path(tempfile.gettempdir()) / "mailbell-netlab.lock"
NS_RE = re.compile(r"^mbl-(\d+)-[0-9a-f]+-(srv|rtr|cli)$")

CMD_TIMEOUT = 15.0
LINK_TIMEOUT = 10.0


class LabError(Exception):
    pass


def available():
    """(True, "") if a lab can be built here, else (False, reason)."""
    if os.geteuid() != 0:
        return False, "the network lab needs root (network namespaces)"
    for tool in ("ip", "nft", "conntrack", "sysctl"):
        if shutil.which(tool) is None:
            return False, "%s is not installed" % tool
    try:
        r = subprocess.run(["ip", "netns", "list"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=CMD_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "ip netns is unavailable: %s" % e
    if r.returncode != 0:
        return False, "ip netns is unavailable: %s" % r.stderr.decode(
            "utf-8", "replace").strip()
    return True, ""


def run(argv, check=True, timeout=CMD_TIMEOUT, input=None):
    """Run a command with a bounded time; raise LabError on failure."""
    try:
        r = subprocess.run(argv, input=(input or "").encode(),
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LabError("timed out after %ss: %s" % (timeout, " ".join(argv)))
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    if check and r.returncode != 0:
        raise LabError("%s exited %d:\n%s%s" % (" ".join(argv),
                                                r.returncode, out, err))
    return r.returncode, out, err


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as e:
        return e.errno == errno.EPERM
    return True


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Agent:
    """agent.py running inside one namespace; see its docstring."""

    def __init__(self, lab, ns):
        self.ns = ns
        self.proc = lab.popen(ns, [PYTHON, str(AGENT)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)

    def call(self, op, limit=None, **kw):
        """One request; the answer as a dict. Raises LabError if the
        agent fails or does not answer in time."""
        kw["op"] = op
        if limit is None:
            limit = float(kw.get("timeout", 2.0)) + 10.0
        self.proc.stdin.write((json.dumps(kw) + "\n").encode())
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        if not ready:
            raise LabError("agent in %s: no answer to %s in %ss"
                           % (self.ns, op, limit))
        line = self.proc.stdout.readline()
        if not line:
            raise LabError("agent in %s died: %s" % (
                self.ns, self.proc.stderr.read().decode("utf-8", "replace")))
        res = json.loads(line)
        if not res.get("ok"):
            raise LabError("agent in %s: %s failed: %s"
                           % (self.ns, op, res.get("error")))
        return res

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


class Capture:
    """An observer on the path: every frame crossing iface in ns, read by
    a raw AF_PACKET socket in agent.py (what tcpdump would see, without
    needing tcpdump), until stop() returns the payload of each direction
    of each flow."""

    def __init__(self, lab, ns, iface):
        self.agent = lab.agent(ns)
        self.cap = self.agent.call("capture_start", iface=iface)["cap"]

    def stop(self):
        """(frames seen, {(proto, src, sport, dst, dport): payload})."""
        res = self.agent.call("capture_stop", cap=self.cap, limit=30)
        return res["frames"], {
            (f["proto"], f["src"], f["sport"], f["dst"], f["dport"]):
            base64.b64decode(f["data"]) for f in res["flows"]}


class Lab:
    """Three namespaces joined by two veth pairs through a router."""

    def __init__(self, ipv6=True):
        self.prefix = "mbl-%d-%s-" % (os.getpid(), secrets.token_hex(3))
        self.srv = self.prefix + "srv"
        self.rtr = self.prefix + "rtr"
        self.cli = self.prefix + "cli"
        self.ipv6 = ipv6
        self.made = []
        self.agents = []
        self.profile = None
        self.nat_on = False
        self.server_port = None
        self.client_port = None

    # ---- running things in a namespace ----

    def ns_argv(self, ns, argv):
        return ["ip", "netns", "exec", ns] + [str(a) for a in argv]

    def run(self, ns, argv, **kw):
        return run(self.ns_argv(ns, argv), **kw)

    def popen(self, ns, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.ns_argv(ns, argv), **kw)

    def agent(self, ns):
        a = Agent(self, ns)
        self.agents.append(a)
        return a

    def sysctl(self, ns, **values):
        args = ["%s=%s" % (k.replace("__", "."), v) for k, v in
                values.items()]
        self.run(ns, ["sysctl", "-qw"] + args)

    def nft(self, ns, ruleset):
        self.run(ns, ["nft", "-f", "-"], input=ruleset)

    # ---- life cycle ----

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()

    @staticmethod
    def remove_stale():
        """Delete namespaces of labs whose process is gone."""
        _, out, _ = run(["ip", "netns", "list"])
        for line in out.splitlines():
            name = line.split()[0] if line.split() else ""
            m = NS_RE.match(name)
            if m and not _pid_alive(int(m.group(1))):
                Lab._kill_ns(name)
                run(["ip", "netns", "del", name], check=False)

    @staticmethod
    def _kill_ns(ns):
        """SIGKILL every process in the namespace; wait until gone."""
        for _ in range(50):
            rc, out, _ = run(["ip", "netns", "pids", ns], check=False)
            pids = [int(p) for p in out.split()] if rc == 0 else []
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)

    def up(self):
        with open(LOCK_PATH, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.remove_stale()
                for ns in (self.srv, self.rtr, self.cli):
                    run(["ip", "netns", "add", ns])
                    self.made.append(ns)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        try:
            self._build()
        except BaseException:
            self.down()
            raise

    def _build(self):
        for ns in (self.srv, self.rtr, self.cli):
            self.sysctl(ns, net__ipv6__conf__all__accept_dad=0,
                        net__ipv6__conf__default__accept_dad=0,
                        net__ipv6__conf__all__disable_ipv6=0 if self.ipv6
                        else 1,
                        net__ipv6__conf__default__disable_ipv6=0 if self.ipv6
                        else 1)
        self.sysctl(self.rtr, net__ipv4__ip_forward=1,
                    **({"net__ipv6__conf__all__forwarding": 1}
                       if self.ipv6 else {}))
        run(["ip", "link", "add", "eth0", "netns", self.srv, "type", "veth",
             "peer", "name", "wan0", "netns", self.rtr])
        run(["ip", "link", "add", "eth0", "netns", self.cli, "type", "veth",
             "peer", "name", "lan0", "netns", self.rtr])
        plan = {
            self.srv: [("eth0", SRV4, SRV6)],
            self.rtr: [("wan0", WAN4, WAN6), ("lan0", LAN4, LAN6)],
            self.cli: [("eth0", CLI4, CLI6)],
        }
        for ns, links in plan.items():
            cmds = ["link set lo up"]
            for dev, a4, a6 in links:
                cmds.append("addr add %s/24 dev %s" % (a4, dev))
                if self.ipv6:
                    cmds.append("addr add %s/64 dev %s nodad" % (a6, dev))
                cmds.append("link set %s up" % dev)
            run(["ip", "-n", ns, "-batch", "-"], input="\n".join(cmds) + "\n")
        # Routes to the other side only, via the router: nothing else.
        routes = [(self.srv, "10.99.2.0/24", WAN4, "fd99:2::/64", WAN6),
                  (self.cli, "10.99.1.0/24", LAN4, "fd99:1::/64", LAN6)]
        for ns, net4, gw4, net6, gw6 in routes:
            cmds = ["route add %s via %s" % (net4, gw4)]
            if self.ipv6:
                cmds.append("route add %s via %s" % (net6, gw6))
            run(["ip", "-n", ns, "-batch", "-"], input="\n".join(cmds) + "\n")
        self.wait_links()
        self.load_profile("open")

    def link_states(self):
        states = {}
        for ns in (self.srv, self.rtr, self.cli):
            _, out, _ = run(["ip", "-n", ns, "-j", "addr", "show"])
            for link in json.loads(out):
                if link["ifname"] == "lo":
                    continue
                tentative = any(a.get("tentative") for a in
                                link.get("addr_info", []))
                states["%s/%s" % (ns[len(self.prefix):], link["ifname"])] = (
                    link.get("operstate"), tentative)
        return states

    def wait_links(self):
        def all_up():
            s = self.link_states()
            return len(s) == 4 and all(st == "UP" and not t
                                       for st, t in s.values())
        if not wait_for(all_up, LINK_TIMEOUT):
            raise LabError("links not UP within %ss: %r"
                           % (LINK_TIMEOUT, self.link_states()))

    def down(self):
        for a in self.agents:
            try:
                a.close()
            except Exception:
                pass
        self.agents = []
        for ns in reversed(self.made):
            self._kill_ns(ns)
            run(["ip", "netns", "del", ns], check=False)
        self.made = []

    # ---- firewall profiles ----

    def profile_ruleset(self, name, server_port=None, client_port=None,
                        nat=None, nat_now=False, pinhole=None):
        """The nft transaction that loads profile name. Masquerade lives in
        a table of its own (NAT_TABLE), created or deleted only when NAT
        goes on or off (nat_now: whether it is on now), so switching the
        filter under a NAT keeps the NAT bindings of open TCP sessions.
        nat=True adds masquerade to a profile other than "nat". pinhole,
        for fixedport, is the rule to use instead of the lab's own (the
        lab adds the interfaces and a counter)."""
        if name not in PROFILES:
            raise LabError("unknown profile %r" % name)
        nat = name == "nat" or bool(nat)
        fw = ["table inet %s" % FW_TABLE, "delete table inet %s" % FW_TABLE,
              "table inet %s {" % FW_TABLE]
        fw.append("\tcounter pinhole { }")
        fw.append("\tchain forward {")
        fw.append("\t\ttype filter hook forward priority filter; "
                  "policy accept;")
        inbound = 'iifname "wan0" oifname "lan0"'
        if name in ("stateful", "fixedport", "nat"):
            fw.append("\t\tct state established,related accept")
            if name == "fixedport" and pinhole:
                # a rule as given (e.g. by `mailbell ports`), counted
                fw.append("\t\t%s %s" % (inbound, re.sub(
                    r"\baccept\b", 'counter name "pinhole" accept',
                    pinhole, count=1)))
            elif name == "fixedport":
                if server_port is None or client_port is None:
                    raise LabError("fixedport needs server and client ports")
                fw.append("\t\t%s ip saddr %s udp sport %d udp dport %d "
                          'counter name "pinhole" accept'
                          % (inbound, SRV4, server_port, client_port))
                if self.ipv6:
                    fw.append("\t\t%s ip6 saddr %s udp sport %d udp dport %d "
                              'counter name "pinhole" accept'
                              % (inbound, SRV6, server_port, client_port))
            fw.append("\t\t%s meta l4proto { tcp, udp } drop" % inbound)
        elif name == "blockudp":
            fw.append("\t\tmeta l4proto udp drop")
        fw.append("\t}")
        fw.append("}")
        if nat and not nat_now:
            fw.append("table inet %s" % NAT_TABLE)
            fw.append("delete table inet %s" % NAT_TABLE)
            fw.append("table inet %s {" % NAT_TABLE)
            fw.append("\tchain postrouting {")
            fw.append("\t\ttype nat hook postrouting priority srcnat; "
                      "policy accept;")
            fw.append('\t\toifname "wan0" masquerade')
            fw.append("\t}")
            fw.append("}")
        elif not nat and nat_now:
            fw.append("delete table inet %s" % NAT_TABLE)
        return "\n".join(fw) + "\n"

    def load_profile(self, name, server_port=None, client_port=None,
                     flush="udp", nat=None, pinhole=None):
        """Replace rtr's profile in one transaction, then flush conntrack:
        flush="udp" drops the UDP flows only (TCP sessions through a NAT
        survive), "all" every flow, None none. nat=True keeps (or puts)
        masquerade under a profile other than "nat"."""
        nat = name == "nat" or bool(nat)
        self.nft(self.rtr, self.profile_ruleset(name, server_port,
                                                client_port, nat,
                                                self.nat_on, pinhole))
        self.profile = name
        self.nat_on = nat
        if flush:
            self.flush_conntrack(None if flush == "all" else flush)

    def ruleset(self, ns=None):
        return self.run(ns or self.rtr, ["nft", "list", "ruleset"])[1]

    # ---- conntrack ----

    def flush_conntrack(self, proto="udp"):
        if proto is None:
            self.run(self.rtr, ["conntrack", "-F"])
        else:
            # exits 1 when there was nothing to delete
            self.run(self.rtr, ["conntrack", "-D", "-p", proto], check=False)

    def set_udp_timeouts(self, timeout, stream):
        self.sysctl(self.rtr,
                    net__netfilter__nf_conntrack_udp_timeout=int(timeout),
                    net__netfilter__nf_conntrack_udp_timeout_stream=int(
                        stream))

    def conntrack(self, proto="udp"):
        """rtr's flows as dicts: orig and reply (src, dst, sport, dport),
        timeout, flags."""
        _, out, _ = self.run(self.rtr, ["conntrack", "-L", "-p", proto],
                             check=False)
        flows = []
        for line in out.splitlines():
            kv = re.findall(r"(src|dst|sport|dport)=(\S+)", line)
            if len(kv) < 8:
                continue
            orig = dict(kv[:4])
            reply = dict(kv[4:8])
            parts = line.split()
            flows.append({"orig": orig, "reply": reply,
                          "timeout": int(parts[2]) if len(parts) > 2
                          and parts[2].isdigit() else None,
                          "flags": re.findall(r"\[(\w+)\]", line),
                          "line": line})
        return flows

    def client_mappings(self, server_port, client=CLI4):
        """The UDP flows from the client to the server's port, as
        (client port, port the server sees)."""
        return sorted((int(f["orig"]["sport"]), int(f["reply"]["dport"]))
                      for f in self.conntrack("udp")
                      if f["orig"]["src"] == client
                      and int(f["orig"]["dport"]) == server_port)

    # ---- counting the server's datagrams ----

    def install_counters(self, server_port):
        """Count UDP leaving srv (in srv's output hook) and crossing rtr
        from the server side, split by whether the source port is
        server_port. Kept across profile switches."""
        self.server_port = server_port
        srv = ("table inet {t}\ndelete table inet {t}\ntable inet {t} {{\n"
               "\tcounter out_port {{ }}\n\tcounter out_other {{ }}\n"
               "\tchain output {{\n"
               "\t\ttype filter hook output priority filter - 10; "
               "policy accept;\n"
               '\t\toifname "eth0" udp sport {p} counter name "out_port"\n'
               '\t\toifname "eth0" udp sport != {p} counter name '
               '"out_other"\n'
               "\t}}\n}}\n").format(t=COUNT_TABLE, p=server_port)
        rtr = ("table inet {t}\ndelete table inet {t}\ntable inet {t} {{\n"
               "\tcounter fwd_port {{ }}\n\tcounter fwd_other {{ }}\n"
               "\tcounter fwd_to_server {{ }}\n"
               "\tchain forward {{\n"
               "\t\ttype filter hook forward priority filter - 10; "
               "policy accept;\n"
               '\t\tiifname "wan0" udp sport {p} counter name "fwd_port"\n'
               '\t\tiifname "wan0" udp sport != {p} counter name '
               '"fwd_other"\n'
               '\t\tiifname "lan0" udp dport {p} counter name '
               '"fwd_to_server"\n'
               "\t}}\n}}\n").format(t=COUNT_TABLE, p=server_port)
        self.nft(self.srv, srv)
        self.nft(self.rtr, rtr)

    def _counters(self, ns, table):
        rc, out, _ = self.run(ns, ["nft", "-j", "list", "table", "inet",
                                   table], check=False)
        found = {}
        if rc != 0:
            return found
        for obj in json.loads(out).get("nftables", []):
            c = obj.get("counter")
            if c:
                found[c["name"]] = c["packets"]
        return found

    def counters(self):
        """{"srv.out_port": n, "srv.out_other": n, "rtr.fwd_port": n,
        "rtr.fwd_other": n, "rtr.fwd_to_server": n, "rtr.pinhole": n}"""
        found = {}
        for k, v in self._counters(self.srv, COUNT_TABLE).items():
            found["srv." + k] = v
        for k, v in self._counters(self.rtr, COUNT_TABLE).items():
            found["rtr." + k] = v
        fw = self._counters(self.rtr, FW_TABLE)
        found["rtr.pinhole"] = fw.get("pinhole", 0)
        return found


# ---- the lab's own test: sockets across every profile ----

def _udp_exchange(cli, srv, server_sock, server_port, client_sock,
                  dst=SRV4, timeout=1.0):
    """The client sends; returns (what the server saw or None, whether
    the server's reply reached the client)."""
    cli.call("udp_send", sock=client_sock, host=dst, port=server_port,
             data="ping")
    got = srv.call("udp_recv", sock=server_sock, timeout=timeout)
    if got["timeout"]:
        return None, False
    srv.call("udp_send", sock=server_sock, host=got["host"],
             port=got["port"], data="pong")
    back = cli.call("udp_recv", sock=client_sock, timeout=timeout)
    return (got["host"], got["port"]), not back["timeout"]


def _unsolicited(cli, srv, server_sock, client_sock, client_port,
                 dst=CLI4, timeout=0.5):
    """The server sends first, to the client's address; did it arrive?"""
    srv.call("udp_send", sock=server_sock, host=dst, port=client_port,
             data="knock")
    return not cli.call("udp_recv", sock=client_sock,
                        timeout=timeout)["timeout"]


def selftest(log=print):
    """Build a lab and check every profile with plain sockets: UDP request
    and reply, unsolicited UDP from the server, TCP both ways, NAT's
    observed address, the counters, conntrack expiry and a NAT mapping
    that changes after a stray packet. Raises AssertionError."""
    S, P = 4143, 40000
    with Lab() as lab:
        t0 = time.monotonic()
        srv, cli = lab.agent(lab.srv), lab.agent(lab.cli)
        lab.install_counters(S)
        ssock = srv.call("udp_bind", addr="0.0.0.0", port=S)["sock"]
        ssock_other = srv.call("udp_bind", addr="0.0.0.0", port=S + 1)["sock"]
        tsock = srv.call("tcp_listen", addr="0.0.0.0", port=143)["sock"]
        csock = cli.call("udp_bind", addr="0.0.0.0", port=P)["sock"]
        ctcp = cli.call("tcp_listen", addr="0.0.0.0", port=2000)["sock"]
        expect = {
            # profile: (echo ok, seen as, unsolicited ok, pinhole ok,
            #           tcp in ok)
            "open": (True, CLI4, True, True, True),
            "stateful": (True, CLI4, False, False, False),
            "fixedport": (True, CLI4, False, True, False),
            "nat": (True, WAN4, False, False, False),
            "blockudp": (False, None, False, False, True),
        }
        for name in PROFILES:
            lab.load_profile(name, server_port=S, client_port=P, flush="all")
            echo_ok, seen_as, unsol_ok, pin_ok, tcp_in_ok = expect[name]
            # the pinhole: unsolicited from S to P; another port stays shut
            pin = _unsolicited(cli, srv, ssock, csock, P)
            other = _unsolicited(cli, srv, ssock_other, csock, P)
            lab.flush_conntrack(None)
            seen, replied = _udp_exchange(cli, srv, ssock, S, csock)
            assert (seen is not None and replied) == echo_ok, (name, seen,
                                                               replied)
            if seen_as:
                assert seen[0] == seen_as, (name, seen)
            if name == "nat":
                assert lab.client_mappings(S), lab.conntrack()
            assert pin == pin_ok, (name, "pinhole", pin)
            assert other == unsol_ok, (name, "other port", other)
            tcp_out = cli.call("tcp_connect", host=SRV4, port=143,
                               timeout=1)["connected"]
            assert tcp_out, (name, "tcp out")
            assert not srv.call("tcp_accept", sock=tsock,
                                timeout=1)["timeout"]
            tcp_in = srv.call("tcp_connect", host=CLI4, port=2000,
                              timeout=0.5)["connected"]
            assert tcp_in == tcp_in_ok, (name, "tcp in", tcp_in)
            if tcp_in:
                cli.call("tcp_accept", sock=ctcp, timeout=1)
            if lab.ipv6 and name != "blockudp":
                c6 = cli.call("udp_bind", addr="::", port=0)["sock"]
                s6 = srv.call("udp_bind", addr="::", port=S + 2)["sock"]
                seen6, replied6 = _udp_exchange(cli, srv, s6, S + 2, c6,
                                                dst=SRV6)
                assert seen6 and replied6, (name, "ipv6", seen6, replied6)
                assert seen6[0] == (WAN6 if name == "nat" else CLI6), seen6
                cli.call("udp_close", sock=c6)
                srv.call("udp_close", sock=s6)
            if name == "fixedport":
                assert lab.counters()["rtr.pinhole"] >= 1, lab.counters()
            log("lab: profile %-9s ok" % name)
        c = lab.counters()
        assert c["srv.out_port"] > 0 and c["srv.out_other"] > 0, c
        assert c["rtr.fwd_port"] > 0 and c["rtr.fwd_to_server"] > 0, c

        # conntrack expiry: a flow that only went outward, then a reply
        lab.load_profile("stateful", flush="all")
        lab.set_udp_timeouts(2, 4)
        seen, replied = _udp_exchange(cli, srv, ssock, S, csock)
        assert seen and replied
        # conntrack lists no expired flow: wait until this one is gone.
        assert wait_for(lambda: not [f for f in lab.conntrack("udp")
                                     if f["orig"]["dport"] == str(S)],
                        10), lab.conntrack()
        srv.call("udp_send", sock=ssock, host=seen[0], port=seen[1],
                 data="late")
        assert cli.call("udp_recv", sock=csock, timeout=0.5)["timeout"], \
            "a reply after the UDP timeout still passed"
        log("lab: conntrack udp timeout ok")

        # NAT: flush, a stray packet from the server's port into the old
        # mapping, and the client's next datagram gets a new external port
        lab.load_profile("nat", flush="all")
        seen1, replied = _udp_exchange(cli, srv, ssock, S, csock)
        assert seen1 and replied and seen1[0] == WAN4, seen1
        lab.flush_conntrack("udp")
        srv.call("raw_udp", src=SRV4, sport=S, dst=WAN4, dport=seen1[1],
                 data="stray")
        seen2, replied = _udp_exchange(cli, srv, ssock, S, csock)
        assert seen2 and replied, seen2
        assert seen2[1] != seen1[1], ("NAT kept its port", seen1, seen2)
        log("lab: NAT remap after a stray packet ok (%d -> %d)"
            % (seen1[1], seen2[1]))

        # a TCP session through the NAT lives across nat -> blockudp
        # (behind the same NAT) -> nat, while UDP goes dark and back
        # (an observer on the router reads every byte of it)
        observer = Capture(lab, lab.rtr, "lan0")
        conn = cli.call("tcp_open", host=SRV4, port=143, timeout=2)["sock"]
        peer = srv.call("tcp_accept", sock=tsock, timeout=2, keep=True)
        assert peer["host"] == WAN4, peer
        for name in ("nat", "blockudp", "nat"):
            lab.load_profile(name, nat=True)
            srv.call("tcp_send", sock=peer["sock"], data=name)
            got = cli.call("tcp_recv", sock=conn, timeout=2)
            assert got.get("data") == name, (name, got)
            seen, replied = _udp_exchange(cli, srv, ssock, S, csock)
            assert bool(seen and replied) == (name == "nat"), (name, seen)
        log("lab: TCP through the NAT survives profile switches ok")
        frames, flows = observer.stop()
        down = [data for (proto, src, sport, dst, _), data in flows.items()
                if (proto, src, sport, dst) == ("tcp", SRV4, 143, CLI4)]
        assert down == [b"natblockudpnat"], (frames, flows)
        log("lab: the observer on the router read the TCP stream ok")
        log("lab: self-test took %.1fs" % (time.monotonic() - t0))


if __name__ == "__main__":
    ok, why = available()
    if not ok:
        print("lab: " + why, file=sys.stderr)
        sys.exit(77)
    if sys.argv[1:] == ["selftest"]:
        selftest()
    elif sys.argv[1:2] == ["ruleset"] and len(sys.argv) == 3:
        print(Lab().profile_ruleset(sys.argv[2], 4143, 40000), end="")
    else:
        print("usage: lab.py selftest | ruleset PROFILE", file=sys.stderr)
        sys.exit(64)
