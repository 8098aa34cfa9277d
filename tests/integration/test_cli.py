"""
The `mailbell` command line: help and usage errors, `mailbell user` and
`mailbell ports` (whose output nft itself must accept).
"""

import os
import pty
import shutil
import subprocess
import termios
import time

import pytest

from conftest import CLI, run_cli, wait_until, write_config

EX_USAGE = 64
EX_DATAERR = 65
EX_NOUSER = 67
EX_CANTCREAT = 73
EX_CONFIG = 78


@pytest.fixture
def conf(tmp_path):
    data = tmp_path / "data"
    return write_config(tmp_path / "mailbell.conf", data)


def test_help_and_version():
    for args in (["--help"], ["help"], ["-h"]):
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
        assert b"usage: mailbell" in r.stdout
        for cmd in (b"user", b"ports", b"deliver"):
            assert cmd in r.stdout
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.startswith(b"mailbell ")


@pytest.mark.parametrize("cmd", ["user", "ports", "deliver", "config",
                                 "help"])
def test_every_command_has_help(cmd):
    r = run_cli(cmd, "--help")
    assert r.returncode == 0, r.stderr
    # `help --help` is the general usage
    assert r.stdout.startswith(b"usage: mailbell " +
                               (b"" if cmd == "help" else cmd.encode()))
    r = run_cli("help", cmd)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"usage: mailbell " + cmd.encode())


def test_usage_errors_are_64():
    for args in ([], ["frobnicate"], ["--no-such-option"], ["help", "x"],
                 ["user"], ["user", "add"], ["user", "list", "extra"],
                 ["user", "rename", "a"], ["ports", "extra"]):
        r = run_cli(*args)
        assert r.returncode == EX_USAGE, (args, r.returncode, r.stderr)
        assert b"usage: mailbell" in r.stderr, args
        assert r.stdout == b"", args


def add(conf, name, password="pw-one", *where):
    return run_cli("user", "add", name, "--password-stdin", "-c", conf,
                   input=password + "\n")


def test_user_lifecycle(conf, tmp_path):
    data = tmp_path / "data"
    assert add(conf, "alice").returncode == 0
    # -c before the command works as well as after it
    r = run_cli("-c", conf, "user", "add", "bob", "--password-stdin",
                input="pw-two\n")
    assert r.returncode == 0, r.stderr
    passwd = data / "passwd"
    assert passwd.stat().st_mode & 0o777 == 0o600
    text = passwd.read_text()
    assert text.startswith("alice:{SHA512-CRYPT}$6$")
    assert "\nbob:{SHA512-CRYPT}$6$" in text
    assert "pw-one" not in text
    # the Maildir exists at once
    for sub in ("cur", "new", "tmp"):
        assert (data / "mail" / "alice" / sub).is_dir()

    r = run_cli("user", "list", "-c", conf)
    assert (r.returncode, r.stdout) == (0, b"alice\nbob\n")

    r = add(conf, "alice")
    assert r.returncode == EX_CANTCREAT, r.stderr
    assert b"already exists" in r.stderr

    old = passwd.read_text()
    r = run_cli("user", "passwd", "alice", "-c", conf, "--password-stdin",
                input="changed\n")
    assert r.returncode == 0, r.stderr
    assert passwd.read_text() != old
    r = run_cli("user", "passwd", "carol", "-c", conf, "--password-stdin",
                input="x\n")
    assert r.returncode == EX_NOUSER

    r = run_cli("user", "del", "alice", "-c", conf)
    assert r.returncode == 0, r.stderr
    r = run_cli("user", "list", "-c", conf)
    assert r.stdout == b"bob\n"
    # mail is kept
    assert (data / "mail" / "alice" / "new").is_dir()
    r = run_cli("user", "del", "alice", "-c", conf)
    assert r.returncode == EX_NOUSER
    assert b"no such user" in r.stderr


def test_user_bad_input(conf, tmp_path):
    r = add(conf, "Alice")
    assert r.returncode == EX_DATAERR
    assert b"invalid user name" in r.stderr
    r = add(conf, "../x")
    assert r.returncode == EX_DATAERR
    r = add(conf, "carol", "")
    assert r.returncode == EX_DATAERR
    assert b"empty password" in r.stderr
    r = add(conf, "carol", "x" * 300)
    assert r.returncode == EX_DATAERR
    assert b"too long" in r.stderr
    assert not (tmp_path / "data" / "passwd").exists()


def test_user_bad_config_is_78(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[server]\ndata_dir = %s\n[imap]\nport = 99999\n"
                   % (tmp_path / "data"))
    r = run_cli("user", "list", "-c", bad)
    assert r.returncode == EX_CONFIG
    assert ("%s:4: [imap] port:" % bad).encode() in r.stderr


def test_password_needs_a_terminal(conf):
    # a new session has no controlling terminal
    r = subprocess.run([str(CLI), "user", "add", "dave", "-c", str(conf)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, start_new_session=True,
                       timeout=30)
    assert r.returncode == EX_USAGE, r.stderr
    assert b"--password-stdin" in r.stderr


def echo_on(fd):
    """Whether the terminal of pty master fd echoes what is typed."""
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)


def run_on_tty(args, answers, timeout=30.0):
    """Run the CLI on a new pseudo-terminal, typing each answer after a
    prompt; returns (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(str(CLI), [str(CLI)] + [str(a) for a in args])
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
        if pending and shown.rstrip().endswith(b"password:"):
            # The answer goes once the prompt has turned echo off.
            assert wait_until(lambda: not echo_on(fd), 10), shown
            os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


def test_password_prompt_twice_without_echo(conf):
    code, shown = run_on_tty(["user", "add", "erin", "-c", conf],
                             ["s3cret-word", "s3cret-word"])
    assert code == 0, shown
    assert shown.count(b"password:") == 2
    assert b"s3cret-word" not in shown
    r = run_cli("user", "list", "-c", conf)
    assert b"erin\n" in r.stdout

    code, shown = run_on_tty(["user", "passwd", "erin", "-c", conf],
                             ["one", "two"])
    assert code == EX_DATAERR, shown
    assert b"do not match" in shown


def ports(conf):
    r = run_cli("ports", "-c", conf)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def nft_accepts(text, tmp_path):
    nft = shutil.which("nft") or "/usr/sbin/nft"
    if not os.path.exists(nft):
        pytest.skip("nft is not installed")
    path = tmp_path / "rules.nft"
    path.write_text(text)
    r = subprocess.run([nft, "-c", "-f", str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if r.returncode != 0 and b"Operation not permitted" in r.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN")
    assert r.returncode == 0, r.stderr.decode()


def rules(text):
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_ports_table_and_rules(tmp_path):
    conf = write_config(tmp_path / "p.conf", tmp_path / "data",
                        server__listen="192.0.2.10, 2001:db8::10",
                        imap__port=993, imap__tls_port=1993,
                        lmtp__port=24, admin__port=8080,
                        notify__udp_port=4500)
    out = ports(conf)
    assert str(conf) in out
    table = out.split("table inet mailbell", 1)[0]
    for line in ("[imap] port            993", "[lmtp] port            24",
                 "[imap] tls_port        1993",
                 "[notify] udp_port      4500"):
        assert line in table, table
    assert "client's fixed one" in table and "--udp-port" in table
    got = rules(out)
    assert "ct state established,related accept" in got
    assert ('ip daddr { 192.0.2.10 } tcp dport 993 accept comment '
            '"mailbell IMAP"') in got
    assert ('ip6 daddr { 2001:db8::10 } tcp dport 993 accept comment '
            '"mailbell IMAP"') in got
    assert ('ip6 daddr { 2001:db8::10 } tcp dport 1993 accept comment '
            '"mailbell IMAP over TLS"') in got
    assert any("tcp dport 24 accept" in r for r in got)
    assert any("tcp dport 8080 accept" in r for r in got)
    assert any("udp dport 4500 accept" in r for r in got)
    # nothing but these five ports is opened, and no UDP source range
    opened = [r for r in got if "dport" in r]
    assert len(opened) == 10
    assert not any("1024-65535" in r for r in got)
    # the client needs no inbound rule: its example only accepts replies
    client = out.split("table inet mailbell_client", 1)[1]
    assert "ct state established,related accept" in client
    assert "udp dport 4500" in client and "dport 4500 accept" in client
    nft_accepts(out, tmp_path)


def test_ports_dynamic_and_disabled(tmp_path):
    conf = write_config(tmp_path / "p.conf", tmp_path / "data",
                        server__listen="*", notify__enabled="no",
                        imap__tls_port=1993, lmtp__port=2424,
                        admin__port=9000)
    out = ports(conf)
    # IMAP is port 0: shown as dynamic, and no rule can name it
    assert "[imap] port            dynamic (chosen at start)" in out
    assert "[imap] port = 0: picked at start" in out
    got = rules(out)
    assert "tcp dport 2424 accept comment \"mailbell LMTP from the MTA\"" \
        in got
    # a wildcard listen keeps the admin port on loopback
    admin = [r for r in got if "dport 9000" in r]
    assert admin == [
        'ip daddr { 127.0.0.1 } tcp dport 9000 accept comment '
        '"mailbell admin HTTP"',
        'ip6 daddr { ::1 } tcp dport 9000 accept comment '
        '"mailbell admin HTTP"']
    # IMAPS has its rule on any address, like LMTP
    assert 'tcp dport 1993 accept comment "mailbell IMAP over TLS"' in got
    assert len([r for r in got if "dport" in r]) == 4
    assert not any("udp" in r for r in got)
    assert "notify  disabled" in out
    nft_accepts(out, tmp_path)


def test_ports_default_configuration(tmp_path):
    r = run_cli("ports")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "embedded default" in out
    got = rules(out)
    for port, proto in ((1143, "tcp"), (1993, "tcp"), (2424, "tcp"),
                        (8143, "tcp"),
                        (4143, "udp")):
        assert any("ip daddr { 127.0.0.1 } %s dport %d accept" % (proto, port)
                   in r for r in got), (port, got)
    nft_accepts(out, tmp_path)


def test_config_prints_default_and_effective(tmp_path):
    r = run_cli("config")
    assert r.returncode == 0, r.stderr
    default = tmp_path / "default.conf"
    default.write_bytes(r.stdout)
    # the default text is itself a valid file with the default ports
    r = run_cli("config", "-c", default)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    for line in ("data_dir = ./var", "listen = 127.0.0.1", "port = 1143",
                 "port = 2424", "port = 8143", "udp_port = 4143",
                 "enabled = yes", "max_message_size = 52428800",
                 "tls_port = 1993", "plaintext_auth = loopback"):
        assert line + "\n" in out, (line, out)
    assert "[tls]\n# cert_file, key_file: not set" in out, out
    tls = tmp_path / "tls.conf"
    tls.write_text("[imap]\nplaintext_auth = no\n[tls]\n"
                   "cert_file = /etc/ssl/m.pem\nkey_file = /etc/ssl/m.key\n")
    r = run_cli("config", "-c", tls)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    for line in ("plaintext_auth = no", "cert_file = /etc/ssl/m.pem",
                 "key_file = /etc/ssl/m.key"):
        assert line + "\n" in out, (line, out)
    bad = tmp_path / "bad.conf"
    bad.write_text("[notify]\nenabled = perhaps\n")
    r = run_cli("config", "-c", bad)
    assert r.returncode == EX_CONFIG
    assert ("%s:2: [notify] enabled:" % bad).encode() in r.stderr
