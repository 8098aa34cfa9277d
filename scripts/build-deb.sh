#!/bin/sh
# Builds mailbell's Debian package (debian/) from a copy of this source
# tree, so that the tree gets no build output, then runs lintian on it.
# `make deb` runs it; tests/integration/test_deb.py runs it into a
# temporary directory.
#
# Usage: scripts/build-deb.sh [OUTDIR]        (default: build-deb)
# Leaves in OUTDIR mailbell_VERSION_ARCH.deb, its -dbgsym package, the
# .changes and .buildinfo, and the copy it built in (OUTDIR/mailbell/).
# Fails if the build does, or if lintian reports an error (E:).
# Needs Build-Depends (debian/control): `scripts/install-deps.sh deb`.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tree=$out/mailbell
[ "$tree" != "$src" ] || { echo "$0: OUTDIR is the source tree" >&2; exit 64; }

# The files of the working tree as they are, committed or not, without
# what .gitignore leaves out (build folders); every file outside .git
# and the build folders when this is not a git checkout.
list_files() {
	if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$src" ls-files -z --cached --others --exclude-standard
	else
		(cd "$src" && find . -path ./.git -prune -o -path './build*' \
		    -prune -o -path ./var -prune -o -type f -print0)
	fi
}

rm -rf "$tree"
rm -f "$out"/mailbell_* "$out"/mailbell-dbgsym_*
mkdir -p "$tree"
# A file deleted but not yet committed is listed and skipped.
list_files | (cd "$src" && xargs -0 sh -c \
    'for f do [ -e "$f" ] && printf "%s\0" "$f"; done; exit 0' sh) |
    (cd "$src" && xargs -0 cp -p --parents -t "$tree")

cd "$tree"
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
dpkg-buildpackage -b -us -uc
cd "$out"
echo "mailbell: lintian $out/mailbell_${version}_${arch}.changes"
lintian --fail-on error "mailbell_${version}_${arch}.changes"
echo "mailbell: built $out/mailbell_${version}_${arch}.deb"
