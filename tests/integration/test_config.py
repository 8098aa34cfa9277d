"""
Configuration errors refuse to start with "FILE:LINE: [section] key:
reason"; --check-config; a port in use; `mailbell ports`.
"""

import re
import shutil
import socket
import subprocess

import pytest

from conftest import (DAEMON, READY_TIMEOUT, free_port, run_cli,
                      wait_until, write_config)

EX_CONFIG = 78
NFT = shutil.which("nft") or "/usr/sbin/nft"


def run_daemon(*args, timeout=READY_TIMEOUT):
    """Run mailbelld to completion (it must exit on its own)."""
    return subprocess.run([str(DAEMON)] + [str(a) for a in args],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def key_line(path, section, key):
    """1-based line number of key in [section] of path."""
    current = None
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"\s*\[(\w+)\]", line)
        if m:
            current = m.group(1)
        elif current == section and line.split("=")[0].strip() == key:
            return n
    raise AssertionError("no [%s] %s in %s" % (section, key, path))


def line_of(path, text):
    """1-based line number of the first line of path containing text."""
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if text in line:
            return n
    raise AssertionError("%r not in %s" % (text, path))


@pytest.fixture
def conf(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    return tmp_path / "mailbell.conf", data


def refuses(conf_path, line, expected):
    """mailbelld and --check-config both refuse conf_path, naming the file
    and line and `expected` ("[section] key")."""
    for args in (("-c", conf_path), ("--check-config", "-c", conf_path)):
        r = run_daemon(*args)
        err = r.stderr.decode(errors="replace")
        assert r.returncode != 0, (args, err)
        assert "%s:%d: %s" % (conf_path, line, expected) in err, err
        assert "mailbelld: ready" not in err
    return err


def test_unknown_key(conf):
    path, data = conf
    write_config(path, data, server__frobnicate="yes")
    err = refuses(path, key_line(path, "server", "frobnicate"),
                  "[server] frobnicate: ")
    assert "unknown key" in err


def test_unknown_section(conf):
    path, data = conf
    write_config(path, data, bogus__key="1")
    err = refuses(path, line_of(path, "[bogus]"), "[bogus]")
    assert "unknown section" in err


@pytest.mark.parametrize("value", ["70000", "-1", "abc", "24x", ""])
def test_bad_port_value(conf, value):
    path, data = conf
    write_config(path, data, lmtp__port=value)
    refuses(path, key_line(path, "lmtp", "port"), "[lmtp] port: ")


def test_bad_size_value(conf):
    path, data = conf
    write_config(path, data, lmtp__max_message_size="12Q")
    refuses(path, key_line(path, "lmtp", "max_message_size"),
            "[lmtp] max_message_size: ")


def test_same_port_twice(conf):
    path, data = conf
    port = free_port()
    write_config(path, data, lmtp__port=port, admin__port=port)
    r = run_daemon("--check-config", "-c", path)
    err = r.stderr.decode(errors="replace")
    assert r.returncode != 0, err
    assert "%s:%d:" % (path, key_line(path, "admin", "port")) in err, err
    assert str(port) in err


def test_check_config_ok(conf):
    path, data = conf
    write_config(path, data)
    r = run_daemon("--check-config", "-c", path)
    assert r.returncode == 0, r.stderr
    # It checks; it does not start anything.
    assert b"listening:" not in r.stderr
    assert b"ready" not in r.stderr


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.conf"
    r = run_daemon("-c", missing)
    assert r.returncode != 0
    assert str(missing).encode() in r.stderr


def test_lmtp_port_in_use(conf):
    path, data = conf
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        write_config(path, data, lmtp__port=port)
        r = run_daemon("-c", path)
    err = r.stderr.decode(errors="replace")
    assert r.returncode != 0, err
    assert "127.0.0.1:%d" % port in err, err
    assert "Address already in use" in err, err
    assert "mailbelld: ready" not in err


def test_admin_port_in_use(conf):
    path, data = conf
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        write_config(path, data, admin__port=port)
        r = run_daemon("-c", path)
    err = r.stderr.decode(errors="replace")
    assert r.returncode != 0, err
    assert str(port) in err and "Address already in use" in err, err


def test_cli_config_error_is_78(conf):
    path, data = conf
    write_config(path, data, imap__color="blue")
    r = run_cli("user", "list", "-c", path)
    assert r.returncode == EX_CONFIG, (r.returncode, r.stderr)
    line = key_line(path, "imap", "color")
    assert ("%s:%d: [imap] color: " % (path, line)).encode() in r.stderr


def test_daemon_help_and_usage():
    r = run_daemon("--help")
    assert r.returncode == 0
    assert b"-c" in r.stdout and b"--check-config" in r.stdout
    r = run_daemon("--no-such-option")
    assert r.returncode == 64, r.stderr


def nft_ruleset(text):
    """The nftables part of `mailbell ports`: from the first `table` line
    (or an nft shebang) to the end of its braces."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*(#!.*nft|table\s+\S+\s+\S+\s*\{)", line):
            start = i
            break
    else:
        raise AssertionError("no nftables table in:\n" + text)
    out, depth, seen = [], 0, False
    for line in lines[start:]:
        out.append(line)
        depth += line.count("{") - line.count("}")
        seen = seen or "{" in line
        if seen and depth == 0:
            break
    return "\n".join(out) + "\n"


def test_ports_lists_every_port_and_valid_nftables(conf, tmp_path):
    path, data = conf
    lmtp, admin, imap, udp = free_port(), free_port(), free_port(), \
        free_port()
    assert len({lmtp, admin, imap, udp}) == 4
    write_config(path, data, lmtp__port=lmtp, admin__port=admin,
                 imap__port=imap, notify__udp_port=udp)
    r = run_cli("ports", "-c", path)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, r.stderr
    for port in (lmtp, admin, imap, udp):
        assert re.search(r"\b%d\b" % port, out), (port, out)
    assert re.search(r"\budp\b", out, re.I) and re.search(r"\btcp\b", out,
                                                           re.I), out
    rules = nft_ruleset(out)
    for port in (imap, udp):
        assert str(port) in rules, (port, rules)
    rules_file = tmp_path / "ports.nft"
    rules_file.write_text(rules)
    if shutil.which("nft") is None:
        pytest.skip("nft not installed")
    check = subprocess.run([NFT, "-c", "-f", str(rules_file)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    assert check.returncode == 0, (check.stderr.decode(errors="replace"),
                                   rules)


def test_ports_help():
    r = run_cli("ports", "--help")
    assert r.returncode == 0, r.stderr
    assert b"ports" in r.stdout


def test_bad_log_level(conf):
    path, data = conf
    write_config(path, data, server__log_level="verbose")
    refuses(path, key_line(path, "server", "log_level"),
            "[server] log_level: must be info or debug")


def test_log_level_debug(daemon_factory):
    """log_level = debug logs what -v does; info (the default) does
    not."""
    quiet = daemon_factory("quiet")
    loud = daemon_factory("loud", server__log_level="debug")
    for d in (quiet, loud):
        with d.imap():
            pass
    assert wait_until(lambda: re.search(r"imap: peer=\S+: connected",
                                        loud.log()), 10), loud.log()
    assert not re.search(r"imap: peer=\S+: connected", quiet.log()), \
        quiet.log()
    out = run_cli("config", "-c", str(loud.config)).stdout.decode()
    assert "log_level = debug" in out
