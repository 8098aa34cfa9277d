"""
mailbell's Debian package (marked `deb`): scripts/build-deb.sh, what
`make deb` runs, builds it from a copy of the source tree under test into
a temporary directory and leaves the tree as it was. The package holds
every file `meson install` puts in place, /etc/mailbell/mailbell.conf as
a conffile, and maintainer scripts that make the mailbell account and
its data directory and enable the unit; its programs run and accept its
configuration; lintian finds no error.

The build takes about 20 s on two cores. It is made from the source, not
from the build under test, so it runs once per `make check`: in the build
without sanitizers. `pytest -m "not deb"` leaves it out.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, SOURCE

# A package build, from copying the tree to lintian, on a loaded machine.
BUILD_TIMEOUT = 900
# What `meson install` puts in place (see tests/integration/test_install.py),
# where the package holds it.
DAEMON = "usr/sbin/mailbelld"
CLI = "usr/bin/mailbell"
CONFIG = "etc/mailbell/mailbell.conf"
SYSUSERS = "usr/lib/sysusers.d/mailbell.conf"
TMPFILES = "usr/lib/tmpfiles.d/mailbell.conf"
PACKAGE_FILES = [
    DAEMON, CLI, CONFIG, SYSUSERS, TMPFILES,
    "lib/systemd/system/mailbell.service",
    "usr/share/man/man1/mailbell.1.gz",
    "usr/share/man/man5/mailbell.conf.5.gz",
    "usr/share/man/man8/mailbelld.8.gz",
    "usr/share/doc/mailbell/copyright",
    "usr/share/doc/mailbell/changelog.gz",
]
# Left in a tree that dpkg-buildpackage ran in.
BUILD_LEFTOVERS = ["debian/mailbell", "debian/.debhelper", "debian/files",
                   "debian/debhelper-build-stamp", "debian/mailbell.substvars"]


def sanitized(build):
    opts = subprocess.run(["meson", "introspect", str(build),
                           "--buildoptions"], check=True,
                          stdout=subprocess.PIPE).stdout
    values = {o["name"]: o["value"] for o in json.loads(opts)}
    return values.get("b_sanitize", "none") != "none"


missing = [t for t in ("dpkg-buildpackage", "dh", "lintian")
           if shutil.which(t) is None]
pytestmark = [
    pytest.mark.deb,
    pytest.mark.skipif(bool(missing), reason="not installed: %s (run "
                       "scripts/install-deps.sh deb)" % ", ".join(missing)),
    pytest.mark.skipif(not missing and sanitized(BUILD),
                       reason="the package is built once, in the build "
                       "without sanitizers"),
]


def git_status():
    """The tree's changed and untracked files, or None without git."""
    r = subprocess.run(["git", "-C", str(SOURCE), "status", "--porcelain",
                        "--untracked-files=all"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.stdout.decode() if r.returncode == 0 else None


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120, **kw)
    assert r.returncode == 0, (cmd, r.stdout.decode())
    return r.stdout.decode()


class Package:
    def __init__(self, out):
        tree = out / "mailbell"
        self.version = run(["dpkg-parsechangelog", "-S", "Version"],
                           cwd=tree).strip()
        arch = run(["dpkg-architecture", "-q", "DEB_HOST_ARCH"]).strip()
        self.deb = out / ("mailbell_%s_%s.deb" % (self.version, arch))
        self.changes = out / ("mailbell_%s_%s.changes" % (self.version,
                                                         arch))
        self.root = out / "root"
        self.control = out / "control"

    def field(self, name):
        return run(["dpkg-deb", "-f", str(self.deb), name]).strip()


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("deb")
    before = git_status()
    r = subprocess.run([str(SOURCE / "scripts" / "build-deb.sh"), str(out)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
    log = r.stdout.decode()
    assert r.returncode == 0, log[-6000:]
    assert git_status() == before, "build-deb.sh changed the tree"
    pkg = Package(out)
    assert pkg.deb.is_file() and pkg.changes.is_file(), sorted(
        p.name for p in out.iterdir())
    run(["dpkg-deb", "-x", str(pkg.deb), str(pkg.root)])
    run(["dpkg-deb", "-e", str(pkg.deb), str(pkg.control)])
    return pkg


def test_tree_untouched(package):
    """Nothing of the build in the source tree or next to it."""
    left = [p for p in BUILD_LEFTOVERS if (SOURCE / p).exists()]
    left += [p.name for p in SOURCE.glob("obj-*")]
    left += [p.name for p in SOURCE.parent.glob("mailbell_*.deb")]
    assert not left, left


def test_package_files(package):
    listing = run(["dpkg-deb", "-c", str(package.deb)])
    paths = {line.split()[-1].lstrip("./") for line in listing.splitlines()}
    absent = [p for p in PACKAGE_FILES if p not in paths]
    assert not absent, (absent, listing)
    for prog in (DAEMON, CLI):
        assert os.access(package.root / prog, os.X_OK), prog


def test_conffile(package):
    """An upgrade keeps a local edit of the configuration."""
    conffiles = (package.control / "conffiles").read_text().split()
    assert conffiles == ["/" + CONFIG], conffiles


def test_version_is_meson_version(package):
    text = (SOURCE / "meson.build").read_text()
    version = re.search(r"version: '([^']+)'", text).group(1)
    assert package.version.split("-")[0] == version, package.version
    out = run([str(package.root / DAEMON), "--version"])
    assert out.strip() == "mailbelld %s" % version, out


def test_depends(package):
    """The libraries it links, and the systemd-sysusers the postinst runs."""
    depends = package.field("Depends")
    for dep in ("libc6", "libevent-2.1-7", "libgmime-3.0-0", "libinih1",
                "libjansson4", "libssl3", "libsystemd0",
                "systemd | systemd-standalone-sysusers"):
        assert dep in depends, depends
    # the status page draws with it, and shows its figures without
    assert "libjs-chart.js" in package.field("Recommends")


def test_maintainer_scripts(package):
    """postinst makes the account, then its data directory (owned by the
    account), then enables the unit and starts it if systemd runs."""
    postinst = (package.control / "postinst").read_text()
    steps = ["systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} "
             "mailbell.conf",
             "systemd-tmpfiles ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} --create "
             "mailbell.conf",
             "deb-systemd-helper enable 'mailbell.service'",
             "deb-systemd-invoke $_dh_action 'mailbell.service'"]
    at = [postinst.find(s) for s in steps]
    assert -1 not in at and at == sorted(at), (at, postinst)
    postrm = (package.control / "postrm").read_text()
    assert "rmdir /var/lib/mailbell" in postrm, postrm
    assert "deb-systemd-helper purge 'mailbell.service'" in postrm, postrm


def test_packaged_entries(package):
    sysusers = (package.root / SYSUSERS).read_text()
    assert re.search(r"(?m)^u mailbell - .* /var/lib/mailbell$", sysusers)
    tmpfiles = (package.root / TMPFILES).read_text()
    assert re.search(r"(?m)^d /var/lib/mailbell 0700 mailbell mailbell -$",
                     tmpfiles), tmpfiles


def test_packaged_config_checks(package):
    """The packaged daemon accepts the packaged configuration."""
    config = package.root / CONFIG
    assert "\ndata_dir = /var/lib/mailbell\n" in config.read_text()
    out = run([str(package.root / DAEMON), "-c", str(config),
               "--check-config"])
    assert out.strip() == "config OK", out


def test_lintian(package):
    r = subprocess.run(["lintian", "--fail-on", "error",
                        str(package.changes)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    out = r.stdout.decode()
    errors = [line for line in out.splitlines() if line.startswith("E:")]
    assert not errors and r.returncode == 0, out
