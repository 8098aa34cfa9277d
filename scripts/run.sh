#!/bin/sh
# What `make run` runs: start mailbelld in the foreground on its embedded
# default configuration (loopback ports, data in ./var of the source
# tree), after printing how to try it out.
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

cat <<USAGE
mailbell: starting mailbelld on its embedded default configuration
  IMAP (mail clients) 127.0.0.1:1143
  LMTP (delivery)     127.0.0.1:2424
  notify (UDP)        127.0.0.1:4143  (the new-mail doorbell)
  admin (HTTP)        http://127.0.0.1:8143/  (/health, /metrics)
  data                $src/var  (users in var/passwd, mail in var/mail)

In another terminal, from $src:
  add a user (asks for the password twice, or reads one line from stdin):
    $cli user add alice
    echo 'secret' | $cli user add alice --password-stdin
  watch for new mail (UDP doorbell, falling back to IMAP IDLE):
    echo 'secret' > pw && $cli watch --server 127.0.0.1 --user alice --password-file pw
In a third terminal, deliver a message over LMTP:
    swaks --protocol LMTP --server 127.0.0.1:2424 --to alice@localhost
  or with the local delivery agent:
    printf 'Subject: hello\\n\\nHi!\\n' | $cli deliver alice
  the watcher prints it at once; it lands in ./var/mail/alice/new/ and
  mailbelld logs a "landed:" line.
  read it over IMAP (curl asks for the password):
    curl -u alice 'imap://127.0.0.1:1143/INBOX;UID=1'

Ctrl-C stops mailbelld (it finishes every delivery it accepted first).
USAGE

exec "$daemon" "$@"
