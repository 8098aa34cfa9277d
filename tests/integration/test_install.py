"""
mailbell installed as a service: `meson install` of the build under test
into a temporary DESTDIR puts every file in place (the programs, the man
pages, the systemd unit, the sysusers.d and tmpfiles.d entries, the
configuration); systemd's own tools accept the unit and the entries and
reject broken ones; and the installed daemon, started from the installed
configuration with only its data directory and ports changed, serves.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from conftest import (BUILD, DAEMON, LISTENING_RE, READY_TIMEOUT, SOURCE,
                      ImapConn, LmtpConn, sanitizer_report, terminate,
                      wait_until, write_config)

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(SYSTEMD_ANALYZE is None,
                                   reason="systemd-analyze is not installed")
# `systemd-analyze security` rates the unit's exposure from 0 (confined)
# to 10; --threshold takes tenths. The unit scores 1.4: anything a change
# loosens beyond 2.0 fails.
EXPOSURE_MAX = "20"
# nobody and nogroup: an account that is not root, standing in for
# mailbell.
NOBODY = 65534


def build_options(build):
    opts = subprocess.run(["meson", "introspect", str(build),
                           "--buildoptions"], check=True,
                          stdout=subprocess.PIPE).stdout
    return {o["name"]: o["value"] for o in json.loads(opts)}


class Layout:
    """Where the build under test installs each file, from its options,
    as an absolute path (without DESTDIR)."""

    def __init__(self, opts):
        prefix = Path(opts["prefix"])

        def under(value, default=None):
            return prefix / (value or default)   # absolute value wins

        self.sbindir = under(opts["sbindir"])
        self.bindir = under(opts["bindir"])
        self.mandir = under(opts["mandir"])
        self.confdir = under(opts["sysconfdir"]) / "mailbell"
        self.data_dir = under(opts["localstatedir"]) / "lib" / "mailbell"
        self.unitdir = under(opts["systemdsystemunitdir"],
                             "lib/systemd/system")
        self.sysusersdir = under(opts["sysusersdir"], "lib/sysusers.d")
        self.tmpfilesdir = under(opts["tmpfilesdir"], "lib/tmpfiles.d")
        self.daemon = self.sbindir / "mailbelld"
        self.cli = self.bindir / "mailbell"
        self.config = self.confdir / "mailbell.conf"
        self.unit = self.unitdir / "mailbell.service"
        self.sysusers = self.sysusersdir / "mailbell.conf"
        self.tmpfiles = self.tmpfilesdir / "mailbell.conf"
        self.docdir = under(opts["datadir"]) / "doc" / "mailbell"
        self.alerts = self.docdir / "mailbell-alerts.yml"
        self.man = [self.mandir / "man1" / "mailbell.1",
                    self.mandir / "man5" / "mailbell.conf.5",
                    self.mandir / "man8" / "mailbelld.8"]

    def files(self):
        return [self.daemon, self.cli, self.config, self.unit,
                self.sysusers, self.tmpfiles, self.alerts] + self.man


class Installed:
    def __init__(self, destdir, layout):
        self.destdir = destdir
        self.layout = layout

    def path(self, p):
        """p (an installed path) inside DESTDIR."""
        return self.destdir / Path(p).relative_to("/")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    destdir = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild",
                        "--destdir", str(destdir)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, r.stdout.decode()
    return Installed(destdir, Layout(build_options(BUILD)))


def test_every_file_installed(installed):
    missing = [str(p) for p in installed.layout.files()
               if not installed.path(p).is_file()]
    assert not missing, "not installed: %s" % missing
    for prog in (installed.layout.daemon, installed.layout.cli):
        assert os.access(installed.path(prog), os.X_OK), prog


def test_installed_config(installed):
    """The example, with data_dir the installed data directory."""
    text = installed.path(installed.layout.config).read_text()
    example = (SOURCE / "doc" / "mailbell.conf.example").read_text()
    assert re.findall(r"(?m)^data_dir = (.*)$", text) == [
        str(installed.layout.data_dir)]
    assert re.sub(r"(?m)^data_dir = .*$", "", text) == \
        re.sub(r"(?m)^data_dir = .*$", "", example)


def unit_for_verify(installed, tmp_path, text=None):
    """The installed unit, as mailbell.service in tmp_path with its
    programs where DESTDIR holds them (verify checks they exist)."""
    if text is None:
        text = installed.path(installed.layout.unit).read_text()
    daemon = str(installed.layout.daemon)
    assert "ExecStart=%s " % daemon in text, text
    text = text.replace(daemon, str(installed.path(daemon)))
    unit = tmp_path / "mailbell.service"
    unit.write_text(text)
    return unit


def verify(installed, unit):
    # MANPATH: Documentation= names man pages, which must be installed.
    env = dict(os.environ,
               MANPATH=str(installed.path(installed.layout.mandir)))
    return subprocess.run([SYSTEMD_ANALYZE, "verify", str(unit)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60)


@needs_analyze
def test_unit_verifies(installed, tmp_path):
    r = verify(installed, unit_for_verify(installed, tmp_path))
    # A warning (an unknown key, a bad value ignored) is a failure too.
    assert r.returncode == 0 and r.stdout == b"", r.stdout.decode()


@needs_analyze
@pytest.mark.parametrize("breakage", [
    ("Type=notify", "Type=notify\nProtectSytem=strict"),
    ("ExecReload=/bin/kill", "ExecReload=/bin/kil"),
    ("Documentation=man:mailbelld(8)", "Documentation=man:mailbelld(7)"),
])
def test_broken_unit_fails_verify(installed, tmp_path, breakage):
    """verify does catch a misspelt key, a program that does not exist
    and a man page that is not installed, so the test above can fail."""
    text = installed.path(installed.layout.unit).read_text()
    old, new = breakage
    assert old in text
    unit = unit_for_verify(installed, tmp_path, text.replace(old, new, 1))
    r = verify(installed, unit)
    assert r.returncode != 0 or r.stdout != b"", r.stdout.decode()


@needs_analyze
def test_unit_exposure(installed, tmp_path):
    unit = unit_for_verify(installed, tmp_path)
    r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes",
                        "--threshold=" + EXPOSURE_MAX, "--no-pager",
                        str(unit)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    assert r.returncode == 0, r.stdout.decode()


def test_unit_settings(installed):
    """What the daemon relies on: notify readiness, the mailbell account
    from the start, one capability, a writable data directory."""
    text = installed.path(installed.layout.unit).read_text()
    lay = installed.layout
    settings = re.findall(r"(?m)^(\w+)=(.*)$", text)
    keys = dict(settings)
    assert keys["Type"] == "notify"
    assert keys["ExecStart"] == "%s -c %s" % (lay.daemon, lay.config)
    assert keys["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert keys["User"] == "mailbell"
    assert keys["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert keys["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert keys["ProtectSystem"] == "strict"
    data = str(lay.data_dir)
    if data.startswith("/var/lib/"):
        assert keys["StateDirectory"] == data[len("/var/lib/"):]
    else:
        assert keys["ReadWritePaths"] == data


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or
                    shutil.which("systemd-tmpfiles") is None or
                    os.geteuid() != 0,
                    reason="needs systemd-sysusers, systemd-tmpfiles, root")
def test_sysusers_and_tmpfiles(installed, tmp_path):
    """In an empty root, the entries make the mailbell account and its
    data directory: mode 0700, owned by the account."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    r = subprocess.run(["systemd-sysusers", "--root", str(root),
                        str(installed.path(installed.layout.sysusers))],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, r.stdout.decode()
    passwd = [line.split(":") for line in
              (root / "etc" / "passwd").read_text().splitlines()]
    entry = [p for p in passwd if p[0] == "mailbell"]
    assert len(entry) == 1, passwd
    uid, gid = int(entry[0][2]), int(entry[0][3])
    assert entry[0][5] == str(installed.layout.data_dir)

    data = root / installed.layout.data_dir.relative_to("/")
    data.parent.mkdir(parents=True)
    r = subprocess.run(["systemd-tmpfiles", "--root", str(root), "--create",
                        str(installed.path(installed.layout.tmpfiles))],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, r.stdout.decode()
    st = data.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o700, uid, gid)


def test_installed_daemon_serves(installed, tmp_path):
    """The installed mailbelld on the installed configuration, with the
    data in tmp_path and every port free on loopback."""
    text = installed.path(installed.layout.config).read_text()
    data = tmp_path / "data"
    data.mkdir()
    for key, value in (("data_dir", str(data)), ("listen", "127.0.0.1"),
                       ("port", "0"), ("tls_port", "0"),
                       ("udp_port", "0")):
        text, n = re.subn(r"(?m)^%s = .*$" % key, "%s = %s" % (key, value),
                          text)
        assert n >= 1, key
    config = tmp_path / "mailbell.conf"
    config.write_text(text)

    daemon = installed.path(installed.layout.daemon)
    log_path = tmp_path / "mailbelld.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(daemon), "-c", str(config)],
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log)
    try:
        wait_until(lambda: "mailbelld: ready" in log_path.read_text()
                   or proc.poll() is not None, READY_TIMEOUT)
        log = log_path.read_text()
        assert "mailbelld: ready" in log, log
        assert "starting with %s" % config in log, log
        ports = {s: int(p) for s, _a, p in LISTENING_RE.findall(log)}
        with ImapConn(ports["imap"]) as c:
            assert c.greeting.startswith("* OK"), c.greeting
        with LmtpConn(ports["lmtp"]) as c:
            assert c.reply()[0] == 220
        url = "http://127.0.0.1:%d/health" % ports["admin"]
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200
    finally:
        problems = terminate(proc)
    log = log_path.read_text()
    assert not problems, (problems, log)
    assert not sanitizer_report(log), log
    assert (data / "mail").is_dir()


def test_prefix_usr_paths(tmp_path):
    """Configured for /usr, as a distribution does: the programs under
    /usr, the configuration in /etc, the data in /var/lib/mailbell,
    made by StateDirectory=."""
    build = tmp_path / "build"
    r = subprocess.run(["meson", "setup", str(build), str(SOURCE),
                        "--prefix=/usr", "-Dtests=false"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    assert r.returncode == 0, r.stdout.decode()
    lay = Layout(build_options(build))
    assert lay.config == Path("/etc/mailbell/mailbell.conf")
    assert lay.data_dir == Path("/var/lib/mailbell")
    gen = build / "systemd"
    unit = (gen / "mailbell.service").read_text()
    assert ("\nExecStart=/usr/sbin/mailbelld -c /etc/mailbell/mailbell.conf\n"
            in unit), unit
    assert "\nStateDirectory=mailbell\n" in unit, unit
    assert "\nReadWritePaths=" not in unit, unit
    assert "\ndata_dir = /var/lib/mailbell\n" in (
        gen / "mailbell.conf").read_text()
    assert "d /var/lib/mailbell 0700 mailbell mailbell -" in (
        gen / "tmpfiles.conf").read_text()


def free_low_port():
    """A TCP port below 1024 free on 127.0.0.1, or None."""
    for port in range(700, 1024):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return None


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0,
                    reason="needs setpriv and root")
@pytest.mark.parametrize("with_cap", [True, False])
def test_low_port_as_account(tmp_path, with_cap):
    """As the unit runs it: never root, no new privileges, and of all
    capabilities CAP_NET_BIND_SERVICE alone (ambient), which is what a
    port below 1024 needs and all it needs; without it the bind fails
    and mailbelld says which port."""
    port = free_low_port()
    if port is None:
        pytest.skip("no free port below 1024")
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, NOBODY, NOBODY)
    config = write_config(tmp_path / "mailbell.conf", data, imap__port=port)
    caps = "-all,+net_bind_service" if with_cap else "-all"
    cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
           "--clear-groups", "--no-new-privs", "--bounding-set=" + caps,
           "--inh-caps=" + caps, "--ambient-caps=" + caps,
           str(DAEMON), "-c", str(config)]
    log_path = tmp_path / "mailbelld.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log)
    try:
        wait_until(lambda: "mailbelld: ready" in log_path.read_text()
                   or proc.poll() is not None, READY_TIMEOUT)
        log = log_path.read_text()
        if not with_cap:
            assert proc.wait(timeout=READY_TIMEOUT) == 1, log
            assert "imap: cannot listen on 127.0.0.1:%d" % port in log, log
            return
        assert "mailbelld: ready" in log, log
        assert "running as user" not in log, log    # nothing to drop
        with ImapConn(port) as c:
            assert c.greeting.startswith("* OK"), c.greeting
    finally:
        problems = terminate(proc) if with_cap else []
    assert not problems, (problems, log_path.read_text())
