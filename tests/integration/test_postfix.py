"""
A real MTA in front of mailbell: a private Postfix instance (its own
configuration, queue and log in a temporary directory) accepts SMTP on a
free 127.0.0.1 port and hands mail for example.org to mailbelld over LMTP.
swaks submits the message by SMTP; it must land in the right Maildir.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import free_port, wait_until

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"
POSTSUPER = shutil.which("postsuper") or "/usr/sbin/postsuper"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"

MASTER_CF = """\
# service type private unpriv chroot wakeup maxproc command
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {dir}
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
syslog_name = postfix-mailbell-test
myhostname = mx.postfix.test
mydomain = postfix.test
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
smtp_dns_support_level = disabled
disable_dns_lookups = yes
virtual_mailbox_domains = example.org
virtual_mailbox_maps =
smtpd_reject_unlisted_recipient = no
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
lmtp_host_lookup = native
smtpd_banner = $myhostname ESMTP
biff = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


class Postfix:
    """A private Postfix instance in its own directory."""

    def __init__(self, lmtp_port):
        # Postfix daemons run as the postfix user and chdir into the queue:
        # the directory must be reachable by it (pytest's tmp dirs are 0700).
        self.dir = Path(tempfile.mkdtemp(prefix="mailbell-postfix-"))
        os.chmod(self.dir, 0o755)
        self.smtp_port = free_port()
        (self.dir / "main.cf").write_text(
            MAIN_CF.format(dir=self.dir, lmtp_port=lmtp_port))
        (self.dir / "master.cf").write_text(
            MASTER_CF.format(listen="127.0.0.1:%d" % self.smtp_port))
        for sub in ("queue", "data"):
            (self.dir / sub).mkdir()
        shutil.chown(self.dir / "data", "postfix", "postfix")
        self.started = False

    def run(self, *args, check=True):
        r = subprocess.run([POSTFIX, "-c", str(self.dir)] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if check:
            assert r.returncode == 0, (args, r.stdout.decode(), self.log())
        return r

    def start(self):
        self.run("set-permissions", check=False)
        self.run("check")
        self.run("start")
        self.started = True
        # master binds the smtpd port itself; wait until it accepts.
        import socket

        def accepting():
            try:
                socket.create_connection(("127.0.0.1", self.smtp_port),
                                         timeout=1).close()
                return True
            except OSError:
                return False
        assert wait_until(accepting, 20, 0.1), self.log()

    def flush(self):
        subprocess.run([POSTQUEUE, "-c", str(self.dir), "-f"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)

    def stop(self):
        if self.started:
            self.run("stop", check=False)
            # master exits asynchronously; wait for its pid file to go.
            pid = self.dir / "queue" / "pid" / "master.pid"
            wait_until(lambda: not pid.exists() or not _pid_alive(pid), 15,
                       0.1)
            self.started = False

    def log(self):
        p = self.dir / "maillog"
        return p.read_text(errors="replace") if p.exists() else ""

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _pid_alive(pidfile):
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 0)
        return True
    except (OSError, ValueError, IndexError):
        return False


@pytest.fixture
def postfix(daemon):
    if os.geteuid() != 0:
        pytest.skip("a private Postfix instance needs root")
    pf = Postfix(daemon.lmtp_port)
    try:
        pf.start()
        yield pf
    finally:
        pf.stop()
        pf.cleanup()


def test_postfix_relays_smtp_to_mailbell_lmtp(daemon, postfix):
    subject = "through postfix %d" % time.monotonic_ns()
    r = subprocess.run(
        [SWAKS, "--server", "127.0.0.1:%d" % postfix.smtp_port,
         "--from", "sender@example.net", "--to", "alice@example.org",
         "--header", "Subject: " + subject,
         "--body", "Relayed by Postfix to mailbell.\n"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=60)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    assert "<-  250 2.0.0 Ok: queued as" in out, out

    def landed():
        msgs = daemon.messages("alice")
        if not msgs:
            postfix.flush()
        return msgs
    msgs = wait_until(landed, 20, 0.5)
    assert len(msgs) == 1, "nothing delivered; postfix log:\n" + postfix.log()
    msg = msgs[0]
    assert msg.startswith(b"Return-Path: <sender@example.net>\r\n"
                          b"Delivered-To: alice@example.org\r\n") or \
        msg.startswith(b"Return-Path: <sender@example.net>\n"
                       b"Delivered-To: alice@example.org\n"), msg[:200]
    assert ("Subject: " + subject).encode() in msg
    assert b"Relayed by Postfix to mailbell." in msg
    assert daemon.messages("bob") == []
    # Postfix logged the LMTP delivery as sent, relayed to our port.
    assert wait_until(lambda: "status=sent" in postfix.log(), 10, 0.2), \
        postfix.log()
    assert "relay=127.0.0.1[127.0.0.1]:%d" % daemon.lmtp_port in postfix.log()


def test_postfix_bounces_unknown_user(daemon, postfix):
    r = subprocess.run(
        [SWAKS, "--server", "127.0.0.1:%d" % postfix.smtp_port,
         "--from", "sender@example.net", "--to", "nosuchuser@example.org",
         "--body", "For nobody.\n"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=60)
    assert r.returncode == 0, r.stdout.decode(errors="replace")
    # mailbell's 550 5.1.1 is a permanent failure: Postfix bounces it.
    assert wait_until(lambda: "status=bounced" in postfix.log(), 20, 0.5), \
        postfix.log()
    assert "550 5.1.1" in postfix.log()
    assert daemon.messages("alice") == []
