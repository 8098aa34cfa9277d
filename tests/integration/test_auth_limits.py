"""
Guessing and exhaustion: password checks off the event loop, failed-login
penalties by address and network, the pre-login deadline, per-address
admission and the oldest pre-login or idle session yielding when the
tables are full. Floods come from many loopback addresses (127.0.0.N:
each is a client address of its own). Outcomes are asserted with generous
bounds; how fast anything is belongs in bench/.
"""

from conftest import PASSWORD


def test_unknown_user_costs_a_password_check(daemon):
    """Timing must not tell which users exist: an unknown user, a name
    that is not a user name at all and an address in a foreign domain
    each cost one password check, as a known user does."""
    before = daemon.metric("imap_password_checks_total")
    with daemon.imap() as c:
        assert c.cmd("a", "LOGIN alice wrong")[-1].startswith(
            "a NO [AUTHENTICATIONFAILED]")
        assert c.cmd("b", "LOGIN nosuchuser wrong")[-1].startswith(
            "b NO [AUTHENTICATIONFAILED]")
    with daemon.imap() as c:
        assert c.cmd("c", 'LOGIN "Not A Name!" wrong')[-1].startswith(
            "c NO [AUTHENTICATIONFAILED]")
        assert c.cmd("d", "LOGIN alice@example.net wrong")[-1].startswith(
            "d NO [AUTHENTICATIONFAILED]")
        c.login("bob", PASSWORD)
    assert daemon.metric("imap_password_checks_total") == before + 5
