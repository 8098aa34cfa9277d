"""
The admin port's JSON routes: /api/status (what the status page and
`mailbell status` show), and the paged /api/registrations and
/api/sessions, driven by real IMAP, LMTP and UDP clients.
"""

import json
import signal
import time
import urllib.error
import urllib.request

import notifyclient as nc
from conftest import free_port, imap_login, make_message, run_cli, wait_until
from mailclients import imap_raw_login


def api(daemon, path, token=None):
    """(status, parsed JSON or text) of GET path on the admin port."""
    req = urllib.request.Request("http://127.0.0.1:%d%s"
                                 % (daemon.admin_port, path))
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.headers["Content-Type"] == "application/json"
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_status_moves_with_deliveries(daemon):
    status, before = api(daemon, "/api/status")
    assert status == 200
    assert before["version"] and before["uptime_seconds"] >= 0
    services = {p["service"] for p in before["ports"]}
    assert {"imap", "imaps", "lmtp", "admin"} <= services, before["ports"]
    daemon.deliver([make_message("one"), make_message("two")])
    _, after = api(daemon, "/api/status")
    assert after["totals"]["deliveries"] - \
        before["totals"]["deliveries"] == 2
    # the history takes a sample a second: both appear within a few
    assert wait_until(lambda: sum(api(daemon, "/api/status")[1]
                                  ["history"]["deliveries"]) == 2, 5)
    h = api(daemon, "/api/status")[1]["history"]
    assert h["interval_seconds"] == 1
    assert len({len(v) for k, v in h.items() if isinstance(v, list)}) == 1
    assert len(h["deliveries"]) <= 900


def test_registrations_by_state_and_paged(daemon):
    m = imap_login(daemon, "alice")
    regs = [nc.register(m) for _ in range(3)]
    c = nc.UdpClient(regs[0])
    c.handshake()
    _, st = api(daemon, "/api/status")
    assert st["registrations"] == {"total": 3, "verified": 1, "waiting": 2,
                                   "unreachable": 0}
    _, page = api(daemon, "/api/registrations?limit=2")
    assert page["total"] == 3 and page["limit"] == 2
    assert len(page["registrations"]) == 2
    _, rest = api(daemon, "/api/registrations?offset=2&limit=2")
    assert len(rest["registrations"]) == 1
    rows = {r["id"]: r for r in page["registrations"] +
            rest["registrations"]}
    assert set(rows) == {r.id_hex for r in regs}
    first = rows[regs[0].id_hex]
    assert first["state"] == "verified" and first["user"] == "alice"
    assert first["endpoint"].startswith("127.0.0.1:")
    assert first["folders"] == 0 and first["unacked"] == 0
    assert all(rows[r.id_hex]["state"] == "waiting" and
               rows[r.id_hex]["endpoint"] is None for r in regs[1:])
    # an event not yet acknowledged
    daemon.deliver([make_message("counted")])
    c.expect(nc.EVENT)
    assert wait_until(lambda: [
        r for r in api(daemon, "/api/registrations")[1]["registrations"]
        if r["id"] == regs[0].id_hex][0]["unacked"] == 1, 5)
    c.close()
    m.logout()


def test_sessions_listed(daemon):
    with imap_raw_login(daemon) as c, daemon.lmtp() as lmtp:
        c.select()
        assert lmtp.cmd("LHLO client.test")[0] == 250
        _, page = api(daemon, "/api/sessions")
        by = {s["service"]: s for s in page["sessions"]}
        assert page["total"] == 2, page
        assert by["imap"]["user"] == "alice"
        assert by["imap"]["state"] == "selected"
        assert by["imap"]["folder"] == "INBOX"
        assert by["imap"]["tls"] is False
        assert by["imap"]["peer"].startswith("127.0.0.1:")
        assert by["lmtp"]["user"] is None and by["lmtp"]["state"] == "ready"
        assert 0 <= by["imap"]["connected_seconds"] < 60
    assert wait_until(lambda: api(daemon, "/api/sessions")[1]["total"] == 0,
                      5)


def test_bad_pages_refused(daemon):
    for query in ("limit=0", "limit=1001", "limit=x", "offset=-1",
                  "offset=99999999999"):
        status, text = api(daemon, "/api/sessions?" + query)
        assert status == 400, (query, text)
        assert "limit a number from 1 to 1000" in text


# ---- mailbell status ----

def status_cli(daemon, *args):
    return run_cli("status", "-c", str(daemon.config), *args)


def test_mailbell_status(daemon_factory, tmp_path):
    d = daemon_factory(admin__port=str(free_port()))
    d.add_user("alice")
    d.deliver([make_message("counted")])
    r = status_cli(d)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("mailbell ") and "up 0d" in out, out
    assert "registrations   0: verified 0, waiting 0, unreachable 0" in out
    assert "since start     delivered 1," in out, out
    assert "  lmtp" in out and "  admin" in out
    r = status_cli(d, "--json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["totals"]["deliveries"] == 1
    assert st["version"] == api(d, "/api/status")[1]["version"]


def test_mailbell_status_with_token_and_without_server(daemon_factory,
                                                       tmp_path):
    token = tmp_path / "admin.token"
    token.write_text("status-token-0123456789abcdef\n")
    token.chmod(0o600)
    port = free_port()
    d = daemon_factory(admin__port=str(port), admin__token_file=str(token))
    r = status_cli(d, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sessions"]["imap"] == 0
    # the token as the daemon knows it is needed: a wrong one is refused
    token.write_text("status-token-0123456789abcdeX\n")
    r = status_cli(d)
    assert r.returncode == 77 and b"token was refused" in r.stderr
    d.stop()
    r = status_cli(d)
    assert r.returncode == 69 and b"is mailbelld running" in r.stderr, \
        r.stderr


def test_status_lists_recent_problems(daemon):
    """The last warnings of the log are in /api/status (and so on the
    page): a configuration file broken for a reload is one."""
    _, st = api(daemon, "/api/status")
    before = len(st["problems"])
    text = daemon.config.read_text()
    daemon.config.write_text(text + "\n[imap]\nlogin_timeout = forever\n")
    daemon.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: any(
        "keeping the running configuration" in p["text"]
        for p in api(daemon, "/api/status")[1]["problems"]), 10)
    problems = api(daemon, "/api/status")[1]["problems"]
    assert len(problems) == before + 1, problems
    assert abs(problems[-1]["time"] - time.time()) < 60
    daemon.config.write_text(text)
