"""
`mailbell user add|list|passwd|del`, the passwd-file they write, and the
running daemon picking up changes without a restart.
"""

import re
import warnings

import pytest

from conftest import make_message, run_cli

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

HASH_RE = re.compile(r"^\{SHA512-CRYPT\}\$6\$[./0-9A-Za-z]{1,16}\$"
                     r"[./0-9A-Za-z]{86}$")


@pytest.fixture
def store(daemon_factory):
    return daemon_factory(start=False)


def user(store, *args, input=None):
    return run_cli("user", *args, "-c", store.config, input=input)


def passwd_entries(store):
    """{name: password field} of <data_dir>/passwd."""
    entries = {}
    for line in (store.data_dir / "passwd").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        entries[fields[0]] = fields[1]
    return entries


def verifies(field, password):
    assert field.startswith("{SHA512-CRYPT}")
    h = field[len("{SHA512-CRYPT}"):]
    return crypt.crypt(password, h) == h


def listed(store):
    r = user(store, "list")
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().split()


def test_add_list_passwd_del(store):
    r = user(store, "add", "alice", "--password-stdin", input="first pw\n")
    assert r.returncode == 0, r.stderr
    r = user(store, "add", "bob", "--password-stdin", input="bob's pw\n")
    assert r.returncode == 0, r.stderr
    assert listed(store) == ["alice", "bob"]

    entries = passwd_entries(store)
    assert set(entries) == {"alice", "bob"}
    for name in entries:
        assert HASH_RE.match(entries[name]), entries[name]
    assert verifies(entries["alice"], "first pw")
    assert not verifies(entries["alice"], "first pw\n")
    assert verifies(entries["bob"], "bob's pw")
    # Salts are random: equal passwords still hash differently.
    r = user(store, "add", "carol", "--password-stdin", input="first pw\n")
    assert r.returncode == 0, r.stderr
    assert passwd_entries(store)["carol"] != passwd_entries(store)["alice"]

    old = passwd_entries(store)["alice"]
    r = user(store, "passwd", "alice", "--password-stdin",
             input="second pw\n")
    assert r.returncode == 0, r.stderr
    new = passwd_entries(store)["alice"]
    assert new != old and HASH_RE.match(new)
    assert verifies(new, "second pw") and not verifies(new, "first pw")
    assert passwd_entries(store)["bob"] == entries["bob"]

    r = user(store, "del", "bob")
    assert r.returncode == 0, r.stderr
    assert listed(store) == ["alice", "carol"]
    assert "bob" not in passwd_entries(store)


def test_passwd_file_is_dovecot_format(store):
    store.add_user("alice", "pw")
    lines = [l for l in (store.data_dir / "passwd").read_text().splitlines()
             if l and not l.startswith("#")]
    assert len(lines) == 1
    name, rest = lines[0].split(":", 1)
    assert name == "alice"
    assert HASH_RE.match(rest.split(":")[0]), lines[0]
    # Not world-readable: it holds password hashes.
    assert (store.data_dir / "passwd").stat().st_mode & 0o007 == 0


def test_duplicate_add_fails(store):
    store.add_user("alice", "pw")
    before = (store.data_dir / "passwd").read_bytes()
    r = user(store, "add", "alice", "--password-stdin", input="other\n")
    assert r.returncode != 0
    assert b"alice" in r.stderr
    assert (store.data_dir / "passwd").read_bytes() == before


@pytest.mark.parametrize("name", [
    "Alice", "../evil", "a/b", "a:b", ".hidden", "-dash", "sp ace",
    "x" * 65, "caf\u00e9", "a\tb",
])
def test_bad_names_refused(store, name):
    r = user(store, "add", name, "--password-stdin", input="pw\n")
    assert r.returncode != 0, name
    assert r.stderr.strip() != b""
    path = store.data_dir / "passwd"
    assert not path.exists() or name not in passwd_entries(store)
    assert not (store.data_dir / "mail" / name).exists()


def test_empty_password_name_refused(store):
    r = user(store, "add", "", "--password-stdin", input="pw\n")
    assert r.returncode != 0


def test_del_and_passwd_unknown_user_fail(store):
    store.add_user("alice", "pw")
    r = user(store, "del", "nosuch")
    assert r.returncode != 0 and b"nosuch" in r.stderr
    r = user(store, "passwd", "nosuch", "--password-stdin", input="x\n")
    assert r.returncode != 0 and b"nosuch" in r.stderr
    assert listed(store) == ["alice"]


def test_user_help():
    for sub in ((), ("add",), ("del",), ("list",), ("passwd",)):
        r = run_cli("user", *sub, "--help")
        assert r.returncode == 0, (sub, r.stderr)
        assert b"user" in r.stdout, sub
    r = run_cli("--help")
    assert r.returncode == 0
    for cmd in (b"user", b"deliver", b"ports"):
        assert cmd in r.stdout


def lmtp_rcpt(daemon, rcpt):
    with daemon.lmtp() as c:
        assert c.cmd("LHLO client.example.net")[0] == 250
        assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
        code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
        if code == 250:
            assert c.cmd("DATA")[0] == 354
            c.send(make_message("to new user") + b".\r\n")
            assert c.reply()[0] == 250
        return code, lines


def test_new_user_receives_mail_without_restart(daemon):
    code, lines = lmtp_rcpt(daemon, "carol@example.org")
    assert code == 550 and lines[-1].startswith("550 5.1.1"), lines
    daemon.add_user("carol")
    code, lines = lmtp_rcpt(daemon, "carol@example.org")
    assert code == 250, lines
    assert len(daemon.wait_messages("carol", 1)) == 1
    # Local parts match case-insensitively.
    code, lines = lmtp_rcpt(daemon, "Carol@example.org")
    assert code == 250, lines
    assert daemon.starts == 1


def test_deleted_user_refused_without_restart(daemon):
    r = run_cli("user", "del", "bob", "-c", daemon.config)
    assert r.returncode == 0, r.stderr
    code, lines = lmtp_rcpt(daemon, "bob@example.org")
    assert code == 550 and lines[-1].startswith("550 5.1.1"), lines
