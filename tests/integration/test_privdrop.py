"""
Giving up root: started as root, mailbelld and the mailbell CLI hand the
data directory over to the account they run as without ever following a
symbolic link, and never keep root's privileges, [server] user or not.
These tests need root; they are skipped otherwise.
"""

import os
import pwd
import re
import resource
import subprocess

import pytest

from conftest import CLI_TIMEOUT, DAEMON, PASSWORD, READY_TIMEOUT, run_cli

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def status_fields(pid):
    """The Uid, Gid and Cap* lines of /proc/PID/status, as lists."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("Uid", "Gid", "CapEff", "CapPrm", "CapInh",
                        "Groups"):
                out[name] = value.split()
    return out


def test_root_without_user_runs_as_system_account(daemon_factory):
    d = daemon_factory()
    m = re.search(r"^mailbelld: running as user (\S+): started as root "
                  r"without \[server\] user", d.log(), re.M)
    assert m, d.log()
    account = pwd.getpwnam(m.group(1))
    assert m.group(1) in ("mailbell", "nobody")
    st = status_fields(d.proc.pid)
    assert st["Uid"] == [str(account.pw_uid)] * 4, st
    assert st["Gid"] == [str(account.pw_gid)] * 4, st
    assert "0" not in st["Uid"] + st["Gid"] + st["Groups"], st
    assert int(st["CapEff"][0], 16) == 0, st
    assert int(st["CapPrm"][0], 16) == 0, st
    # The data directory is the account's, and the server works.
    assert os.stat(d.data_dir).st_uid == account.pw_uid
    assert os.stat(d.data_dir / "mail").st_uid == account.pw_uid
    d.add_user("alice")
    d.deliver([b"Subject: as nobody\r\n\r\nhi\r\n"])
    assert len(d.message_files("alice")) == 1


def open_file_limits(pid):
    """The soft and hard "Max open files" of /proc/PID/limits."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return [int(v) for v in line.split()[3:5]]
    raise AssertionError("no open file limit for %d" % pid)


def test_open_file_limit_fits_a_full_session_table(daemon_factory):
    # Started with the common soft limit of 1024, mailbelld raises it to
    # what 16,384 IMAP sessions (two sockets each when passed on to
    # another node) and 256 LMTP sessions need, or says it cannot.
    need = 2 * 16384 + 256 + 1024
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    d = daemon_factory(start=False)
    d.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                           (1024, hard))
    d.start()
    soft, hard_now = open_file_limits(d.proc.pid)
    if hard_now >= need:
        assert soft == need, (soft, hard_now)
        assert "open file limit" not in d.log(), d.log()
    else:
        assert soft == hard_now, (soft, hard_now)
        assert "mailbelld: open file limit is %d, below the %d" % (
            soft, need) in d.log(), d.log()


def test_handover_never_follows_a_symlink(daemon_factory):
    d = daemon_factory()
    d.add_user("alice")
    d.stop()
    owner = os.stat(d.data_dir).st_uid
    assert owner != 0
    account = pwd.getpwuid(owner)
    target = d.dir / "root-owned"
    target.mkdir()
    os.chmod(target, 0o755)
    # The account swaps its mail root for a link to root's directory.
    subprocess.run(
        ["/bin/sh", "-c", "mv mail mail.old && ln -s %s mail" % target],
        cwd=d.data_dir, user=account.pw_uid, group=account.pw_gid,
        extra_groups=[], check=True)
    assert os.path.islink(d.data_dir / "mail")

    r = subprocess.run([str(DAEMON), "-c", str(d.config)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=READY_TIMEOUT)
    assert r.returncode != 0, r.stderr
    assert b"symbolic link" in r.stderr, r.stderr
    r = run_cli("user", "add", "bob", "-c", str(d.config),
                "--password-stdin", input=PASSWORD + "\n",
                timeout=CLI_TIMEOUT)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert b"symbolic link" in r.stderr, r.stderr
    r = run_cli("deliver", "alice", "-c", str(d.config),
                input="Subject: x\n\nhi\n", timeout=CLI_TIMEOUT)
    assert r.returncode != 0, (r.stdout, r.stderr)

    st = os.stat(target)
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert os.listdir(target) == []


def test_data_dir_itself_a_symlink_is_refused(daemon_factory):
    d = daemon_factory(start=False)
    real = d.dir / "real-data"
    real.mkdir()
    os.rmdir(d.data_dir)
    os.symlink(real, d.data_dir)
    r = subprocess.run([str(DAEMON), "-c", str(d.config)],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=READY_TIMEOUT)
    assert r.returncode != 0, r.stderr
    assert b"symbolic link" in r.stderr, r.stderr
    assert os.stat(real).st_uid == 0
