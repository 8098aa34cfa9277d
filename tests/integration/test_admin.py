"""
The admin HTTP service: /health, Prometheus /metrics, loopback only.
"""

import re
import urllib.error
import urllib.request

from conftest import LISTENING_RE, make_message

METRIC_RE = re.compile(r"^(mailbell_[a-z_]+)(\{[^}]*\})? (\S+)$")


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
    assert admin and all(a == "127.0.0.1" for a, _ in admin), admin


def test_metrics_format(daemon):
    values, body = metrics(daemon)
    for name in ("mailbell_lmtp_deliveries_total",
                 "mailbell_lmtp_sessions_total",
                 "mailbell_store_events_total"):
        assert name in values, body
        assert "# TYPE %s counter" % name in body
    assert values["mailbell_lmtp_deliveries_total"] == 0


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
    assert delta("mailbell_lmtp_deliveries_total") == 2, text
    assert delta("mailbell_lmtp_transactions_total") == 1, text
    assert delta("mailbell_lmtp_unknown_recipients_total") == 1, text
    assert delta("mailbell_lmtp_protocol_errors_total") == 1, text
    # Two metric scrapes and one LMTP session in between.
    assert delta("mailbell_lmtp_sessions_total") == 1, text
    assert delta("mailbell_store_events_total") == 2, text
    assert delta("mailbell_lmtp_received_bytes_total") >= len(body), text


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
