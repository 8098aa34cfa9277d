"""
The admin HTTP service: /health, Prometheus /metrics, loopback only.
"""

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

from conftest import (DAEMON, LISTENING_RE, SOURCE, can_connect,
                      make_message, wait_until, write_config)
from mailclients import imap_raw_login

METRIC_RE = re.compile(
    r"^((?:mailbell|process)_[a-z_]+)(\{[^}]*\})? (\S+)$")


def get(daemon, path):
    url = "http://127.0.0.1:%d%s" % (daemon.admin_port, path)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def metrics(daemon):
    status, headers, body = get(daemon, "/metrics")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain"), headers
    values = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            assert not line or line.startswith(("# HELP ", "# TYPE ")), line
            continue
        m = METRIC_RE.match(line)
        assert m, "not Prometheus text format: %r" % line
        values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return values, body


def test_health(daemon):
    status, headers, body = get(daemon, "/health")
    assert status == 200
    assert body in ("ok", "ok\n"), body


def test_admin_listens_on_loopback_only(daemon):
    admin = [(addr, port) for service, addr, port
             in LISTENING_RE.findall(daemon.log()) if service == "admin"]
    assert admin and all(a in ("127.0.0.1", "[::1]") for a, _ in admin), \
        admin


DELIVERED = 'mailbell_lmtp_recipients_total{result="delivered"}'


def test_metrics_format(daemon):
    values, body = metrics(daemon)
    for name in (DELIVERED, 'mailbell_sessions_total{service="lmtp"}',
                 'mailbell_sessions_total{service="imap"}',
                 "mailbell_store_events_total"):
        assert name in values, body
        assert "# TYPE %s counter" % name.split("{")[0] in body
    assert values[DELIVERED] == 0
    # one HELP and TYPE a family, however many series it has
    assert body.count("# TYPE mailbell_notify_datagrams_dropped_total ") \
        == 1
    for reason in ("size", "version", "type", "id", "epoch", "tag",
                   "replay", "payload", "rate", "cookie"):
        assert 'mailbell_notify_datagrams_dropped_total{reason="%s"}' \
            % reason in values
    for result in ("ok", "failed", "unavailable"):
        assert 'mailbell_imap_logins_total{result="%s"}' % result in values


def test_metrics_pass_promtool(daemon):
    """Prometheus's own linter finds nothing in a live scrape (with a
    labelled histogram's series in it)."""
    assert shutil.which("promtool"), "promtool (Debian's prometheus)"
    with imap_raw_login(daemon) as c:
        c.select()
    _, _, body = get(daemon, "/metrics")
    assert 'mailbell_imap_command_seconds_count{command="SELECT"}' in body
    r = subprocess.run(["promtool", "check", "metrics"], input=body,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", \
        (r.stdout, r.stderr)


def test_process_metrics(daemon):
    values, body = metrics(daemon)
    assert values["process_resident_memory_bytes"] > 1 << 20, body
    assert values["process_virtual_memory_bytes"] >= \
        values["process_resident_memory_bytes"]
    # listening sockets, the log, the store's descriptors at least
    assert values["process_open_fds"] >= 4
    assert values["process_max_fds"] >= values["process_open_fds"]
    assert abs(values["process_start_time_seconds"] - time.time()) < 600
    assert values["process_cpu_seconds_total"] >= 0
    # the same figures as the kernel gives anyone who asks
    status = open("/proc/%d/status" % daemon.proc.pid).read()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
    assert 0.5 < values["process_resident_memory_bytes"] / rss < 2
    fds = len(os.listdir("/proc/%d/fd" % daemon.proc.pid))
    assert abs(values["process_open_fds"] - fds) <= 2


def test_metrics_move_after_delivery(daemon):
    before, _ = metrics(daemon)
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<nobody@example.org>")[0] == 550
        assert c.cmd("DATA")[0] == 354
        body = make_message("counted")
        c.send(body + b".\r\n")
        assert [c.reply()[0], c.reply()[0]] == [250, 250]
        assert c.cmd("BOGUS")[0] == 500
        assert c.cmd("QUIT")[0] == 221
    daemon.wait_landed(2)
    after, text = metrics(daemon)

    def delta(name):
        return after[name] - before[name]
    assert delta(DELIVERED) == 2, text
    assert delta("mailbell_lmtp_transactions_total") == 1, text
    assert delta('mailbell_lmtp_recipients_total{result="unknown_user"}') \
        == 1, text
    assert delta("mailbell_lmtp_protocol_errors_total") == 1, text
    # Two metric scrapes and one LMTP session in between.
    assert delta('mailbell_sessions_total{service="lmtp"}') == 1, text
    assert delta("mailbell_store_events_total") == 2, text
    assert delta("mailbell_lmtp_received_bytes_total") >= len(body), text
    # one transaction timed, from its final dot to its replies
    h = "mailbell_lmtp_delivery_seconds"
    assert delta(h + "_count") == 1, text
    assert 0 < delta(h + "_sum") < 10, text
    buckets = [v for k, v in sorted(
        ((k, v) for k, v in after.items() if k.startswith(h + "_bucket")),
        key=lambda kv: float(kv[0].split('"')[1]))]
    assert buckets == sorted(buckets), text
    assert after[h + '_bucket{le="+Inf"}'] == after[h + "_count"], text


def test_unknown_path_404(daemon):
    status, _, _ = get(daemon, "/no-such-page")
    assert status == 404


def test_post_refused(daemon):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/health" % daemon.admin_port, data=b"x=1",
        method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    assert status == 405


def test_imap_command_seconds(daemon):
    before, _ = metrics(daemon)
    with imap_raw_login(daemon) as c:
        c.select()
        assert c.run("a1", b"NOOP")[-1].startswith(b"a1 OK")
        assert c.run("a2", b"UID FETCH 1:* FLAGS")[-1].startswith(b"a2 OK")
    after, text = metrics(daemon)
    h = "mailbell_imap_command_seconds"

    def count(cmd):
        key = '%s_count{command="%s"}' % (h, cmd)
        return after.get(key, 0) - before.get(key, 0)
    for cmd in ("LOGIN", "SELECT", "NOOP", "UID FETCH"):
        assert count(cmd) == 1, (cmd, text)
    assert after['%s_bucket{command="NOOP",le="+Inf"}' % h] == \
        after['%s_count{command="NOOP"}' % h]
    # a series appears once its command has run
    assert '%s_count{command="RENAME"}' % h not in after


def test_imap_idle_wake_seconds(daemon):
    h = "mailbell_imap_idle_wake_seconds"
    before, _ = metrics(daemon)
    with imap_raw_login(daemon) as c:
        c.select()
        c.send("i1 IDLE\r\n")
        assert c.line().startswith("+")
        daemon.deliver([make_message("woken")], "alice@example.org")
        while c.line() != "* 1 EXISTS":
            pass
        c.send("DONE\r\n")
        c.until_tagged("i1")
    after, text = metrics(daemon)
    assert after[h + "_count"] - before[h + "_count"] == 1, text
    # written before the LMTP reply: well under a second
    assert after[h + "_sum"] - before[h + "_sum"] < 1, text
    # IDLE is not timed as a command
    assert 'mailbell_imap_command_seconds_count{command="IDLE"}' \
        not in after


# ---- the token ----

TOKEN = "mb-test-token-0123456789abcdef"


def http_get(sock, path, token=None):
    """One HTTP/1.0 GET on a connected socket: (status, head, body)."""
    req = "GET %s HTTP/1.0\r\nHost: mailbell\r\n" % path
    if token is not None:
        req += "Authorization: Bearer %s\r\n" % token
    sock.sendall((req + "\r\n").encode())
    data = b""
    while len(data) < 1 << 22:
        got = sock.recv(65536)
        if not got:
            break
        data += got
    sock.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), head, body


def token_file(tmp_path, text=TOKEN, mode=0o600):
    path = tmp_path / "admin.token"
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def test_token_off_loopback(daemon_factory, remote_peer, tmp_path):
    """Bound off loopback, /metrics and /api want the token, from the
    other host and on loopback alike."""
    server, connect = remote_peer
    d = daemon_factory(admin__listen="127.0.0.1, " + server,
                       admin__token_file=str(token_file(tmp_path)))
    port = d.admin_port
    assert wait_until(lambda: can_connect(connect, port), 10)
    status, head, _ = http_get(connect(port), "/metrics")
    assert status == 401, head
    assert 'WWW-Authenticate: Bearer realm="mailbell"' in head
    for wrong in ("wrong-token-0123456789abcdef", TOKEN[:-1], TOKEN + "x",
                  ""):
        assert http_get(connect(port), "/metrics", wrong)[0] == 401, wrong
    for path in ("/api/status", "/api/registrations", "/api/sessions"):
        assert http_get(connect(port), path)[0] == 401, path
        assert http_get(connect(port), path, TOKEN)[0] == 200, path
    # the page and its script hold nothing of the server's
    assert http_get(connect(port), "/")[0] == 200
    assert http_get(connect(port), "/static/chart.min.js")[0] == 200
    status, _, body = http_get(connect(port), "/metrics", TOKEN)
    assert status == 200 and "mailbell_sessions_total" in body
    assert http_get(connect(port), "/health")[0] == 200
    local = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert http_get(local, "/metrics")[0] == 401
    local = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert http_get(local, "/metrics", TOKEN)[0] == 200


def check_config(tmp_path, **overrides):
    conf = write_config(tmp_path / "c.conf", tmp_path / "data", **overrides)
    return subprocess.run([str(DAEMON), "-c", str(conf)],
                          capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_off_loopback_needs_a_token(tmp_path):
    r = check_config(tmp_path, admin__listen="192.0.2.1")
    assert r.returncode != 0
    assert "[admin] listen: 192.0.2.1 is not a loopback address: set " \
        "[admin] token_file too" in r.stderr, r.stderr


def test_bad_token_files_refused(tmp_path):
    for text, mode, why in ((TOKEN, 0o644, "readable by everyone"),
                            ("short", 0o600, "not a token"),
                            ("has space " + TOKEN, 0o600, "not a token")):
        r = check_config(tmp_path, admin__token_file=str(
            token_file(tmp_path, text, mode)))
        assert r.returncode != 0 and why in r.stderr, (text, r.stderr)
    r = check_config(tmp_path,
                     admin__token_file=str(tmp_path / "missing"))
    assert r.returncode != 0 and "cannot read" in r.stderr, r.stderr


# ---- the sample alerting rules ----

def test_alert_rules_check_and_name_real_metrics(daemon):
    """doc/mailbell-alerts.yml passes promtool, and every metric its
    rules use is one mailbelld exports."""
    rules = SOURCE / "doc" / "mailbell-alerts.yml"
    r = subprocess.run(["promtool", "check", "rules", str(rules)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, (r.stdout, r.stderr)
    with imap_raw_login(daemon) as c:
        c.select()
    _, body = metrics(daemon)
    used = set(re.findall(r"\b((?:mailbell|process)_[a-z_]+)",
                          rules.read_text()))
    assert len(used) >= 8, used
    for name in used:
        assert re.search(r"^%s[{ ]" % name, body, re.M), name
