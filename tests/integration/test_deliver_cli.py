"""
`mailbell deliver`, the local delivery agent: sysexits codes and the
stored file, byte for byte.
"""

import os

import pytest

from conftest import run_cli, split_prefix, write_config

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75
EX_CONFIG = 78

MESSAGE = (b"From: sender@example.net\n"
           b"To: alice@example.org\n"
           b"Subject: local delivery\n"
           b"\n"
           b"Body line.\n"
           b".leading dot stays as is\n"
           b"8bit: caf\xc3\xa9\n")


@pytest.fixture
def store(daemon_factory):
    """A data dir with users alice and bob; no daemon needed."""
    d = daemon_factory(start=False)
    d.add_user("alice")
    d.add_user("bob")
    return d


def deliver(store, *args, input=MESSAGE):
    return run_cli("deliver", "-c", store.config, *args, input=input)


def test_deliver_ok_byte_identical(store):
    r = deliver(store, "-f", "sender@example.net", "alice@example.org")
    assert r.returncode == EX_OK, r.stderr
    files = store.message_files("alice")
    assert len(files) == 1
    assert files[0].parent.name == "new"
    stored = files[0].read_bytes()
    prefix, body = split_prefix(stored)
    assert prefix == [b"Return-Path: <sender@example.net>\n",
                      b"Delivered-To: alice@example.org\n"]
    assert body == MESSAGE
    assert store.tmp_files("alice") == []
    assert store.message_files("bob") == []
    # The UID list knows the new file.
    _, entries = store.uidlist("alice")
    assert list(entries.values()) == [files[0].name]
    assert list(entries) == [1]


def test_deliver_bare_user_and_null_sender(store):
    r = deliver(store, "-f", "", "bob")
    assert r.returncode == EX_OK, r.stderr
    stored = store.messages("bob")
    assert len(stored) == 1
    prefix, body = split_prefix(stored[0])
    assert prefix[0] == b"Return-Path: <>\n"
    assert prefix[1].startswith(b"Delivered-To: bob")
    assert body == MESSAGE


def test_deliver_into_folder(store):
    r = deliver(store, "-f", "sender@example.net", "-m", "Work.Projects",
                "alice@example.org")
    assert r.returncode == EX_OK, r.stderr
    assert store.message_files("alice") == []
    files = store.message_files("alice", "Work.Projects")
    assert len(files) == 1
    assert files[0].parent.parent.name == ".Work.Projects"
    assert split_prefix(files[0].read_bytes())[1] == MESSAGE


def test_deliver_twice_gets_two_uids(store):
    for _ in range(2):
        r = deliver(store, "alice@example.org")
        assert r.returncode == EX_OK, r.stderr
    files = store.message_files("alice")
    assert len(files) == 2
    _, entries = store.uidlist("alice")
    assert sorted(entries) == [1, 2]
    assert sorted(entries.values()) == sorted(f.name for f in files)


def test_unknown_user_is_67(store):
    r = deliver(store, "nosuchuser@example.org")
    assert r.returncode == EX_NOUSER, (r.returncode, r.stderr)
    assert b"nosuchuser" in r.stderr
    assert not (store.data_dir / "mail" / "nosuchuser").exists()


def test_foreign_domain_is_67(store):
    r = deliver(store, "alice@elsewhere.example")
    assert r.returncode == EX_NOUSER, (r.returncode, r.stderr)
    assert store.message_files("alice") == []


def test_empty_message_is_65(store):
    r = deliver(store, "alice@example.org", input=b"")
    assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)
    assert store.message_files("alice") == []
    assert store.tmp_files("alice") == []


def test_nul_byte_is_65(store):
    r = deliver(store, "alice@example.org",
                input=MESSAGE.replace(b"Body line.", b"Body\x00line."))
    assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)
    assert store.message_files("alice") == []
    assert store.tmp_files("alice") == []


def test_oversized_message_is_65(store):
    # The configuration allows 100K.
    big = MESSAGE + b"x" * 200 * 1024 + b"\n"
    r = deliver(store, "alice@example.org", input=big)
    assert r.returncode == EX_DATAERR, (r.returncode, r.stderr)
    assert store.message_files("alice") == []
    assert store.tmp_files("alice") == []


def test_bad_folder_name_is_65_or_64(store):
    r = deliver(store, "-m", "../escape", "alice@example.org")
    assert r.returncode in (EX_USAGE, EX_DATAERR), (r.returncode, r.stderr)
    assert not (store.data_dir / "mail" / "escape").exists()
    assert not (store.data_dir / "escape").exists()
    assert store.message_files("alice") == []


def test_store_failure_is_75_and_leaves_nothing(store):
    # The Maildir's tmp/ is a file: writing fails whoever we run as.
    r = deliver(store, "alice@example.org")
    assert r.returncode == EX_OK, r.stderr
    before = store.message_files("alice")
    tmp = store.folder_dir("alice") / "tmp"
    os.rmdir(tmp)
    tmp.write_bytes(b"not a directory\n")
    r = deliver(store, "alice@example.org")
    assert r.returncode == EX_TEMPFAIL, (r.returncode, r.stderr)
    assert r.stderr.strip() != b""
    assert store.message_files("alice") == before


def test_usage_errors_are_64(store):
    r = deliver(store)                       # no recipient
    assert r.returncode == EX_USAGE, (r.returncode, r.stderr)
    assert r.stderr.strip() != b""
    r = deliver(store, "--no-such-option", "alice@example.org")
    assert r.returncode == EX_USAGE, (r.returncode, r.stderr)
    r = deliver(store, "-m")                 # option without its value
    assert r.returncode == EX_USAGE, (r.returncode, r.stderr)
    assert store.message_files("alice") == []


def test_config_error_is_78(store, tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[server]\ndata_dir = %s\nno_such_key = 1\n"
                   % store.data_dir)
    r = run_cli("deliver", "-c", bad, "alice@example.org", input=MESSAGE)
    assert r.returncode == EX_CONFIG, (r.returncode, r.stderr)
    assert ("%s:3:" % bad).encode() in r.stderr
    assert store.message_files("alice") == []


def test_missing_config_file_is_78(store, tmp_path):
    r = run_cli("deliver", "-c", tmp_path / "missing.conf",
                "alice@example.org", input=MESSAGE)
    assert r.returncode == EX_CONFIG, (r.returncode, r.stderr)


def test_deliver_help(store):
    r = run_cli("deliver", "--help")
    assert r.returncode == 0, r.stderr
    assert b"deliver" in r.stdout and b"RECIPIENT" in r.stdout.upper()
