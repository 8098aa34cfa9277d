"""
Guessing and exhaustion: password checks off the event loop, failed-login
penalties by address and network, the pre-login deadline, per-address
admission and the oldest pre-login or idle session yielding when the
tables are full. Floods come from many loopback addresses (127.0.0.N:
each is a client address of its own). Outcomes are asserted with generous
bounds; how fast anything is belongs in bench/.
"""

import re

from conftest import PASSWORD, wait_until


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


def failure_delays(daemon, ip):
    """The delays (ms) the daemon chose for failed logins from ip, in
    order."""
    return [int(ms) for ms in re.findall(
        r"imap: %s:\d+: failed login answered in (\d+) ms" % re.escape(ip),
        daemon.log())]


def fail_once(daemon, ip, count):
    """One wrong LOGIN from ip on a fresh connection; leave as soon as
    the daemon has chosen its delay (the count-th from ip)."""
    with daemon.imap(source=ip) as c:
        c.send("a LOGIN alice wrong\r\n")
        assert wait_until(lambda: len(failure_delays(daemon, ip)) >= count,
                          10.0), daemon.log()


def test_penalty_grows_across_connections(daemon):
    """Failures from one address make the next one, on any connection,
    wait twice as long, up to the cap; another /24 is not touched, and a
    successful login forgets the address's failures."""
    for n in range(1, 6):
        fail_once(daemon, "127.0.0.10", n)
    delays = failure_delays(daemon, "127.0.0.10")
    # 1 s doubling, plus up to 2 s at random, at most 15 s
    assert delays[0] <= 3000, delays
    assert delays[3] >= 8000, delays
    assert delays[4] == 15000, delays
    fail_once(daemon, "127.0.1.10", 1)
    assert failure_delays(daemon, "127.0.1.10")[0] <= 3000
    # the /24 of the guesser counts a quarter per failure for neighbours
    fail_once(daemon, "127.0.0.11", 1)
    assert failure_delays(daemon, "127.0.0.11")[0] <= 4000
    with daemon.imap(source="127.0.0.10") as c:
        c.login()
    fail_once(daemon, "127.0.0.10", 6)
    assert failure_delays(daemon, "127.0.0.10")[5] < 8000
