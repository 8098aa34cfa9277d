#!/bin/sh
# What `make run` runs: start mailbelld in the foreground on its embedded
# default configuration (loopback ports, data in ./var of the source
# tree), after printing how to try it out, and once it is up, its TLS
# certificate's fingerprint and how to point a client at it.
#
# usage: scripts/run.sh BUILD_DIR [mailbelld options...]
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [mailbelld options...]" >&2
	exit 64
fi
build=$1
shift

# The embedded default keeps its data in ./var: run from the source tree
# so `make run` and the commands printed below agree on where that is.
src=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in
/*) ;;
*) build=$(cd "$build" && pwd) ;;
esac
cd "$src"
# Print paths relative to the source tree when the build lives inside it.
case "$build" in
"$src"/*) b=${build#"$src"/} ;;
*) b=$build ;;
esac

daemon=$b/src/daemon/mailbelld
cli=$b/src/client/mailbell
if [ ! -x "$daemon" ]; then
	echo "run.sh: $daemon is missing: build first (make build)" >&2
	exit 1
fi

# Started as root, mailbelld never keeps root's privileges: without
# [server] user it becomes the mailbell account, or nobody where there is
# none. It hands ./var and ./var/mail over itself; what an earlier run as
# root left below them goes to that account too, never following a
# symbolic link (-P -h), so the mail stays readable to the daemon.
runs_as=
if [ "$(id -u)" = 0 ]; then
	if id mailbell >/dev/null 2>&1; then
		runs_as=mailbell
	else
		runs_as=nobody
	fi
	if [ -d var ] && [ ! -L var ]; then
		chown -R -P -h "$runs_as": var
	fi
	runs_as="
  runs as            $runs_as  (started as root; var/ is handed to it)"
fi

cat <<USAGE
mailbell: starting mailbelld on its embedded default configuration
  IMAP (mail clients) 127.0.0.1:1143  (STARTTLS)
  IMAPS (IMAP on TLS) 127.0.0.1:1993
  LMTP (delivery)     127.0.0.1:2424
  notify (UDP)        127.0.0.1:4143  (the new-mail doorbell)
  admin (HTTP)        http://127.0.0.1:8143/  (live status page; /metrics)
  data                $src/var  (users in var/passwd, mail in var/mail)$runs_as

In another terminal, from $src:
  add a user (asks for the password twice, or reads one line from stdin):
    $cli user add alice
    echo 'secret' | $cli user add alice --password-stdin
  watch for new mail (UDP doorbell, falling back to IMAP IDLE):
    echo 'secret' > pw && $cli watch --server 127.0.0.1 --user alice --password-file pw --ca var/tls/mailbell.crt
In a third terminal, deliver a message over LMTP:
    swaks --protocol LMTP --server 127.0.0.1:2424 --to alice@localhost
  or with the local delivery agent:
    printf 'Subject: hello\\n\\nHi!\\n' | $cli deliver alice
  the watcher prints it at once; it lands in ./var/mail/alice/new/ and
  mailbelld logs a "landed:" line.
  read it over IMAP on TLS (curl asks for the password):
    curl --cacert var/tls/mailbell.crt -u alice 'imaps://127.0.0.1:1993/INBOX;UID=1'
  see what the server is doing: http://127.0.0.1:8143/ in a browser, or
    $cli status

Ctrl-C stops mailbelld (it finishes every delivery it accepted first).
USAGE

# mailbelld's log goes through the loop below, which adds the
# certificate's details once the daemon has logged them (it makes a
# self-signed certificate at first start). The loop ignores Ctrl-C, so it
# prints the daemon's last lines and ends when the daemon closes its
# output.
"$daemon" "$@" 2>&1 | (
	trap '' INT
	imaps=
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		*" listening: imaps tcp "*)
			imaps=${line##* } ;;
		*" tls: certificate "*" sha256="*)
			fp=${line##*sha256=}
			cert=${line#*tls: certificate }
			cert=${cert%% sha256=*}
			cat <<TLS

mailbell: TLS certificate $cert
  SHA-256 fingerprint $fp
  IMAPS ${imaps:-(not listening)}, STARTTLS on the IMAP port; clients trust the file:
    curl --cacert $cert -u alice 'imaps://${imaps:-127.0.0.1:1993}/'
    openssl s_client -connect ${imaps:-127.0.0.1:1993} -CAfile $cert
    $cli watch --server 127.0.0.1 --user alice --password-file pw --ca $cert
      (or --tls-fingerprint $fp)

TLS
			;;
		esac
	done
)
