"""
SIGHUP reloads the configuration file: limits, the log level, the
certificate files and the passwd file take effect at once, each change
logged ("reload: imap.login_timeout 60s -> 1s"); keys that need a
restart (ports, addresses, paths) are logged as such and left alone; a
file with an error changes nothing and the log names its line.
"""

import os
import re
import signal
import time

import notifyclient as nc
from conftest import (DOMAIN, ImapConn, free_port, imap_login, wait_until,
                      write_config)

DONE_RE = re.compile(r"reload: done: ")


def reload(d, **overrides):
    """Rewrite d's configuration with overrides (on top of the test
    defaults), then sighup()."""
    write_config(d.config, d.data_dir, **overrides)
    return sighup(d)


def sighup(d):
    """SIGHUP, wait for the reload to finish; returns its log."""
    before = d.log()
    done = len(DONE_RE.findall(before))
    d.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: len(DONE_RE.findall(d.log())) > done, 10), \
        d.log()
    return d.log()[len(before):]


def rcpt(d, user):
    """The reply code to RCPT TO:<user@DOMAIN>."""
    with d.lmtp() as c:
        assert c.cmd("LHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<s@example.net>")[0] == 250
        return c.cmd("RCPT TO:<%s@%s>" % (user, DOMAIN))[0]


def test_limits_take_effect(daemon):
    text = reload(daemon, imap__max_connections_per_ip=2,
                  notify__max_registrations_per_user=1,
                  notify__keepalive="40s", notify__lease="2h",
                  lmtp__max_message_size="50K",
                  imap__login_timeout="1s")
    assert "reload: imap.max_connections_per_ip 100 -> 2\n" in text
    assert "reload: imap.login_timeout 60s -> 1s\n" in text
    assert "reload: notify.max_registrations_per_user 16 -> 1\n" in text
    assert "reload: notify.lease 604800s -> 7200s\n" in text
    assert "reload: lmtp.max_message_size 102400 -> 51200\n" in text
    assert "reload: done: changed=6 need_restart=0 not_applied=0\n" \
        in text, text

    # LMTP offers the new size.
    with daemon.lmtp() as c:
        code, lines = c.cmd("LHLO client.test")
        assert code == 250 and "250 SIZE 51200" in lines, lines

    # The notifier tells the new keepalive and lease, and takes one
    # registration per user now.
    m = imap_login(daemon.ports["imap"], "alice")
    reg = nc.register(m)
    assert (reg.keepalive, reg.lease) == (40, 7200)
    typ, data, _ = nc.xbell(m, "REGISTER")
    assert typ == "NO" and b"[LIMIT]" in data[0], data
    m.logout()

    # Two connections from this address; the third is turned away.
    a, b = daemon.imap(), daemon.imap()
    with daemon.imap() as c:
        assert c.greeting.startswith("* BYE"), c.greeting
    # And one that does not log in goes after a second, not sixty.
    t0 = time.monotonic()
    assert a.line().startswith("* BYE Login timeout")
    assert time.monotonic() - t0 < 10
    a.close()
    b.close()


def test_broken_file_keeps_everything(daemon):
    path = daemon.config
    write_config(path, daemon.data_dir, imap__max_connections_per_ip=1)
    path.write_text(path.read_text() + "\n[imap\n")
    text = sighup(daemon)
    n = len(path.read_text().splitlines())
    assert re.search(r"reload: %s:%d: .*; keeping the running "
                     r"configuration" % (re.escape(str(path)), n), text), text
    assert "imap.max_connections_per_ip" not in text
    # The files the running configuration names are read all the same:
    # a renewed certificate is not held up by a typo.
    assert "tls: reloaded certificate" in text, text
    assert "reload: done: changed=0 need_restart=0 not_applied=0" in text

    # A value out of range, next to a good change: neither is taken.
    write_config(path, daemon.data_dir, imap__max_connections_per_ip=0,
                 imap__login_timeout="5s")
    text = sighup(daemon)
    line = [n for n, s in enumerate(path.read_text().splitlines(), 1)
            if s.startswith("max_connections_per_ip")][0]
    assert ("reload: %s:%d: [imap] max_connections_per_ip: not a number "
            "between 1 and 16384; keeping the running configuration"
            % (path, line)) in text, text
    assert "login_timeout" not in text

    # The old limits hold: several connections from one address.
    conns = [daemon.imap() for _ in range(3)]
    for c in conns:
        assert c.greeting.startswith("* OK"), c.greeting
        c.close()
    assert daemon.alive()


def test_port_change_needs_restart(daemon):
    old = daemon.ports["imap"]
    new = free_port()
    text = reload(daemon, imap__port=new, imap__login_timeout="30s")
    assert ("reload: imap.port 0 -> %d not applied: needs a restart\n"
            % new) in text, text
    assert "reload: imap.login_timeout 60s -> 30s\n" in text
    assert "changed=1 need_restart=1 not_applied=0" in text
    with ImapConn(old) as c:
        assert c.greeting.startswith("* OK"), c.greeting
        c.login()
    try:
        ImapConn(new, timeout=2).close()
        raise AssertionError("port %d serves without a restart" % new)
    except ConnectionRefusedError:
        pass


def test_passwd_file_read_again(daemon):
    """An edit that keeps the passwd file's size, inode and modification
    time is not noticed by a lookup; SIGHUP reads it all the same."""
    passwd = daemon.data_dir / "passwd"
    assert rcpt(daemon, "alice") == 250
    st = os.stat(passwd)
    text = passwd.read_text()
    assert "\nbob:" in "\n" + text
    with open(passwd, "r+") as f:
        f.write(text.replace("bob:", "eve:", 1))
    os.utime(passwd, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(passwd).st_size == st.st_size
    assert rcpt(daemon, "eve") == 550
    log = reload(daemon)
    assert "reload: %s: 2 users\n" % passwd in log, log
    assert rcpt(daemon, "eve") == 250
    assert rcpt(daemon, "bob") == 550
    # eve has bob's password line, so bob's password.
    m = imap_login(daemon.ports["imap"], "eve")
    m.logout()


def test_cli_user_add_then_sighup(daemon):
    daemon.add_user("carol")
    log = reload(daemon)
    assert "passwd: 3 users" in log
    assert rcpt(daemon, "carol") == 250


def test_log_level(daemon):
    connected = re.compile(r"imap: peer=\S+: connected")
    with daemon.imap():
        pass
    assert not connected.search(daemon.log())
    text = reload(daemon, server__log_level="debug")
    assert "reload: server.log_level info -> debug\n" in text
    with daemon.imap():
        pass
    assert wait_until(lambda: connected.search(daemon.log()), 10), \
        daemon.log()
    text = reload(daemon, server__log_level="info")
    assert "reload: server.log_level debug -> info\n" in text
    with daemon.imap():
        pass
    with daemon.imap() as c:
        c.login()
    assert not connected.search(daemon.log().split(text)[-1])


def test_certificate_files_change(daemon_factory, tmp_path):
    """New [tls] file names are taken when they load; names of files that
    do not load keep the running certificate and names."""
    from test_tls import new_cert, openssl_fingerprint
    d = daemon_factory()
    crt, key = tmp_path / "c.pem", tmp_path / "k.pem"
    new_cert(crt, key, "reloaded")
    text = reload(d, tls__cert_file=crt, tls__key_file=key)
    assert "reload: tls.cert_file (unset) -> %s\n" % crt in text, text
    assert "tls: reloaded certificate %s sha256=%s" % (
        crt, openssl_fingerprint(crt)) in text
    missing = tmp_path / "missing.pem"
    text = reload(d, tls__cert_file=missing, tls__key_file=key)
    assert "tls: reload failed, keeping the certificate sha256=%s" % (
        openssl_fingerprint(crt)) in text, text
    assert ("reload: tls.cert_file %s -> %s not applied: the certificate "
            "cannot be used" % (crt, missing)) in text
    assert "changed=0 need_restart=0 not_applied=1" in text
