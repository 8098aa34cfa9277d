"""
Guessing and exhaustion: password checks off the event loop, failed-login
penalties by address and network, the pre-login deadline, per-address
admission and the oldest pre-login or idle session yielding when the
tables are full. Floods come from many loopback addresses (127.0.0.N:
each is a client address of its own). Outcomes are asserted with generous
bounds; how fast anything is belongs in bench/.
"""

import re
import select
import socket
import threading
import time

from conftest import PASSWORD, make_message, wait_until


def test_unknown_user_costs_a_password_check(daemon):
    """Timing must not tell which users exist: an unknown user, a name
    that is not a user name at all and an address in a foreign domain
    each cost one password check, as a known user does."""
    before = daemon.metric("imap_password_checks_total")
    # each from an address of its own, so no penalty adds up
    for n, name in enumerate(["alice", "nosuchuser", '"Not A Name!"',
                              "alice@example.net"]):
        with daemon.imap(source="127.0.2.%d" % (n + 1), timeout=20) as c:
            assert c.cmd("a", "LOGIN %s wrong" % name)[-1].startswith(
                "a NO [AUTHENTICATIONFAILED]")
    with daemon.imap() as c:
        c.login("bob", PASSWORD)
    assert daemon.metric("imap_password_checks_total") == before + 5


def logged_ms(daemon, ip, what):
    """The milliseconds of each "what N ms" log line about ip, in
    order."""
    return [int(ms) for ms in re.findall(
        r"imap: peer=%s:\d+: %s (\d+) ms" % (re.escape(ip), what),
        daemon.log())]


def answered(daemon, ip):
    return logged_ms(daemon, ip, "failed login answered in")


def held(daemon, ip):
    return logged_ms(daemon, ip, "login held")


def fail_once(daemon, ip):
    """One wrong LOGIN from ip on a fresh connection, answered."""
    with daemon.imap(source=ip, timeout=40) as c:
        assert c.cmd("a", "LOGIN alice wrong")[-1].startswith(
            "a NO [AUTHENTICATIONFAILED]")


def test_penalty_grows_across_connections(daemon):
    """Failures from one address make every later login from it, on any
    connection, wait twice as long, up to the cap, before it is even
    checked (a right password too); another /24 is not touched, and a
    successful login forgets the address's failures."""
    ip = "127.0.0.10"
    for _ in range(4):
        fail_once(daemon, ip)
    # 1 s (plus up to 2 s at random) for the first, then held 2, 4, 8 s
    assert answered(daemon, ip)[0] <= 3000, daemon.log()
    assert held(daemon, ip) == [2000, 4000, 8000]
    # the right password waits as long as a wrong one would
    with daemon.imap(source=ip) as c:
        c.send("a LOGIN alice %s\r\n" % PASSWORD)
        assert wait_until(lambda: len(held(daemon, ip)) == 4, 10)
        assert held(daemon, ip)[3] == 15000
    # another /24 is not held; a neighbour in this one is, a little
    fail_once(daemon, "127.0.1.10")
    assert held(daemon, "127.0.1.10") == []
    assert answered(daemon, "127.0.1.10")[0] <= 3000
    fail_once(daemon, "127.0.0.11")
    assert held(daemon, "127.0.0.11") == [2000]
    # a success forgets the address's failures
    ip = "127.0.9.1"
    fail_once(daemon, ip)
    with daemon.imap(source=ip, timeout=20) as c:
        c.login()
    assert held(daemon, ip) == [2000]
    fail_once(daemon, ip)
    assert held(daemon, ip) == [2000]
    assert answered(daemon, ip)[1] <= 3000


def test_login_deadline_ignores_trickle(daemon_factory):
    """A byte now and then re-arms the read timeout, but not the login
    deadline from accept: the trickling session gets a BYE, while one
    that logged in outlives the deadline."""
    d = daemon_factory(imap__login_timeout="3s")
    d.add_user("alice")
    with d.imap() as early:
        early.login()
        slow = socket.create_connection(("127.0.0.1", d.ports["imap"]),
                                        timeout=20)
        t0 = time.monotonic()
        got = b""
        reset = False
        with slow:
            # generous: a 3 s deadline on a loaded machine
            while time.monotonic() - t0 < 20:
                try:
                    slow.send(b"a")
                    if select.select([slow], [], [], 0.5)[0]:
                        data = slow.recv(4096)
                        if not data:
                            break
                        got += data
                except ConnectionResetError:
                    # a byte that arrived after the close made the
                    # kernel answer RST, which may discard the BYE
                    reset = True
                    break
                except OSError:
                    break
        assert b"* BYE Login timeout" in got or reset, got
        assert time.monotonic() - t0 < 20
        assert early.cmd("n", "NOOP") == ["n OK NOOP completed"]
    assert d.metric("imap_login_timeouts_total") == 1


class Trickler:
    """Sessions that never log in, each sending a byte every few seconds
    from its own loopback address, reconnecting when the daemon closes
    them: a slowloris attack."""

    def __init__(self, port, sources, per_source, interval=2.0):
        self.port = port
        self.slots = [src for src in sources for _ in range(per_source)]
        self.socks = [None] * len(self.slots)
        self.interval = interval
        self.stop = threading.Event()
        self.connects = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self, i):
        try:
            s = socket.create_connection(
                ("127.0.0.1", self.port), timeout=2,
                source_address=(self.slots[i], 0))
            s.setblocking(False)
            self.socks[i] = s
            self.connects += 1
        except OSError:
            self.socks[i] = None

    def run(self):
        while not self.stop.is_set():
            for i, s in enumerate(self.socks):
                if s is None:
                    self.connect(i)
                    continue
                try:
                    while s.recv(4096):
                        pass
                    # EOF: the daemon closed it
                    s.close()
                    self.socks[i] = None
                    continue
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    self.socks[i] = None
                    continue
                try:
                    s.send(b"x")
                except OSError:
                    s.close()
                    self.socks[i] = None
            self.stop.wait(self.interval)

    def __enter__(self):
        for i in range(len(self.slots)):
            self.connect(i)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
        for s in self.socks:
            if s is not None:
                s.close()


def real_client_in(d, source):
    """A client from source logs in and selects INBOX; False if it is
    refused at once, as a full table refuses while its oldest session is
    within its grace."""
    with d.imap(source=source, timeout=20) as c:
        if c.greeting == "* BYE Too many connections, try again later":
            return False
        c.login()
        c.select()
    return True


def test_slowloris_flood_does_not_lock_out_users(daemon_factory):
    """Sessions that never log in, from many addresses, fill the
    pre-login table; the oldest yield to new sessions, so a real client
    from another address still logs in, and a session logged in before
    the flood is never evicted."""
    d = daemon_factory(imap__max_prelogin_connections="40",
                       imap__max_prelogin_connections_per_ip="4")
    d.add_user("alice")
    with d.imap() as early:
        early.login()
        # one address cannot hold more than its share
        extra = [d.imap(source="127.0.4.1") for _ in range(4)]
        with d.imap(source="127.0.4.1", greeting=False) as c:
            assert c.line() == ("* BYE [UNAVAILABLE] Too many connections "
                                "from your address waiting to log in")
        for c in extra:
            c.close()
        sources = ["127.0.3.%d" % n for n in range(1, 21)]
        with Trickler(d.ports["imap"], sources, 4):
            assert wait_until(
                lambda: d.metric('sessions_yielded_total{service="imap"}') > 0, 30)
            # A real client gets in through the flood: told to try again
            # only while every waiting session is within its grace
            # (IMAP_PRELOGIN_GRACE_MS), then let in.
            assert wait_until(lambda: real_client_in(d, "127.0.0.200"), 30)
            assert early.cmd("n", "NOOP") == ["n OK NOOP completed"]
            assert d.metric('sessions_active{service="imap"}') <= 40 + 1 + 4
    assert d.alive()


def test_lmtp_idle_flood_does_not_stop_delivery(daemon):
    """More idle LMTP connections than the session table holds, from
    several addresses, trickling bytes: the idle ones yield, so a
    delivery still gets through."""
    sources = ["127.0.6.%d" % n for n in range(1, 4)]
    with Trickler(daemon.lmtp_port, sources, 100):
        assert wait_until(
            lambda: daemon.metric('sessions_yielded_total{service="lmtp"}') > 0, 30)
        daemon.deliver([make_message("through the flood")], timeout=20)
        assert daemon.wait_messages("alice", 1)
    assert daemon.alive()


def test_long_password_flood_leaves_bystander_served(daemon):
    """Hundreds of LOGINs with 500-byte wrong passwords from several
    addresses: the password checks run off the event loop, so a
    bystander's LOGIN and SELECT are still answered (within a bound
    generous enough for a loaded machine), and the daemon keeps
    serving."""
    before = daemon.metric("imap_password_checks_total")
    wrong = "x" * 500
    login = ("a LOGIN alice %s\r\nb LOGIN bob %s\r\nc LOGIN carol %s\r\n"
             % (wrong, wrong, wrong)).encode()
    flood = []
    try:
        for n in range(1, 9):
            for _ in range(20):
                s = socket.create_connection(
                    ("127.0.0.1", daemon.ports["imap"]), timeout=10,
                    source_address=("127.0.7.%d" % n, 0))
                s.sendall(login)
                flood.append(s)
        assert wait_until(
            lambda: daemon.metric("imap_password_checks_total")
            >= before + 100, 30)
        t0 = time.monotonic()
        with daemon.imap(source="127.0.8.1", timeout=30) as c:
            c.login()
            c.select()
        assert time.monotonic() - t0 < 20
        # every connection's first LOGIN was checked; the others are
        # held for their address's penalty before any check
        assert wait_until(
            lambda: daemon.metric("imap_password_checks_total")
            >= before + 160, 30)
    finally:
        for s in flood:
            s.close()
    assert daemon.alive()
