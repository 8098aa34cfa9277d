#!/bin/sh
# Installs the Debian packages mailbell needs to build, run, test and
# package: install-deps.sh run|check|deb.
# Idempotent: when every package is present it touches no network at all.
set -eu

# What building and running need. libsystemd-dev: sd_notify(3), which
# tells systemd when mailbelld is ready, reloading or stopping.
# libnats-dev: the NATS client several nodes speak with ([cluster]).
RUN_PKGS="meson ninja-build pkg-config gcc libc6-dev libevent-dev libssl-dev
libgmime-3.0-dev libinih-dev libcrypt-dev zlib1g-dev libjansson-dev
libjs-chart.js libsystemd-dev libnats-dev"
# What building the Debian package needs besides (`make deb`, and
# tests/integration/test_deb.py): dpkg-buildpackage, debhelper (with
# dh_installsysusers) and lintian. The package's Build-Depends
# (debian/control) are RUN_PKGS and what they pull in.
DEB_PKGS="dpkg-dev build-essential debhelper lintian"
# What the test suite and the benchmarks drive: real clients and servers.
# libsasl2-modules: mbsync's AUTHENTICATE PLAIN (only a Recommends).
# python3-cryptography: the tests' own notification-protocol client.
# clang, libclang-rt-14-dev: the fuzzers (libFuzzer and the ASan and
# UBSan runtimes are in libclang-rt-14-dev, which clang only recommends).
# testssl.sh: the IMAPS port checked as an outside scanner sees it.
# prometheus: promtool, which checks /metrics as Prometheus reads it.
# chromium, chromium-driver, python3-selenium: the status page in a real
# browser.
# systemd: systemd-analyze, systemd-sysusers and systemd-tmpfiles, which
# check the installed unit and entries as systemd reads them.
# nats-server: the NATS cluster the cluster tests run nodes over.
CHECK_PKGS="libcmocka-dev python3 python3-pytest python3-cryptography swaks
postfix curl isync libsasl2-modules neomutt tmux nftables conntrack iproute2
dovecot-lmtpd dovecot-imapd procps clang libclang-rt-14-dev testssl.sh
prometheus systemd nats-server
chromium chromium-driver python3-selenium $DEB_PKGS"

case "${1:-run}" in
run) PKGS=$RUN_PKGS ;;
check) PKGS="$RUN_PKGS $CHECK_PKGS" ;;
deb) PKGS="$RUN_PKGS $DEB_PKGS" ;;
*) echo "usage: $0 run|check|deb" >&2; exit 64 ;;
esac

missing=""
for p in $PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "mailbell: installing missing Debian packages:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "mailbell: run as root: apt-get install$missing" >&2
		exit 1
	fi
fi
# Postfix asks how to configure itself; the tests run private instances only.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
# Packages installed by apt-get must not start system-wide daemons
# (Postfix, Dovecot) behind the user's back: deny service starts meanwhile.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	added_policy=1
fi
cleanup() { [ -n "$added_policy" ] && $SUDO rm -f "$policy"; return 0; }
trap cleanup EXIT
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y --no-install-recommends $missing; then
	$SUDO apt-get update
	# shellcheck disable=SC2086
	$SUDO apt-get install -y --no-install-recommends $missing
fi
