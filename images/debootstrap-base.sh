#!/bin/sh
# debootstrap-base.sh — a Debian base image made here from Debian's own packages,
# for machines that cannot pull the matrix's pinned base image (images.base,
# debian:12.11-slim@sha256:...). It stands in for that image in a test build only,
# through the BASE_IMAGE/BUILDER_IMAGE build arguments; `make images-test` says so.
#
# debootstrap --variant=minbase makes the root file system (Essential + apt, which
# brings debian-archive-keyring: apt-snapshot.sh needs it), slimmed the way Debian's
# -slim images are (debuerreotype-slimify: no man pages, info, docs but copyright
# files, or locales; dpkg told to keep leaving them out), written as a tar with
# numeric owners. A tar already there is kept, so a second run costs nothing.
# Usage: debootstrap-base.sh OUT.tar [SUITE [MIRROR]]   (run as root)
set -eu

out="${1:-}"
suite="${2:-bookworm}"
mirror="${3:-http://deb.debian.org/debian}"
if [ -z "$out" ]; then
    echo "debootstrap-base: usage: debootstrap-base.sh OUT.tar [SUITE [MIRROR]]" >&2
    exit 2
fi
if [ -s "$out" ]; then
    echo "debootstrap-base: $out exists (cached); remove it to make a new one"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "debootstrap-base: debootstrap needs root" >&2
    exit 2
fi
command -v debootstrap >/dev/null 2>&1 || {
    echo "debootstrap-base: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 2
}

work="$(mktemp -d "${TMPDIR:-/tmp}/spark-k8s-debootstrap.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT INT TERM
root="$work/rootfs"

echo "debootstrap-base: debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/log" 2>&1 || {
    tail -20 "$work/log" >&2
    echo "debootstrap-base: debootstrap failed (full log above)" >&2
    exit 1
}

# What debuerreotype-slimify does for the -slim images: dpkg leaves these paths out
# of every later install, and what is there already goes.
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
# as in Debian's -slim images (debuerreotype-slimify)
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
DPKG
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root/usr/share/info"/* "$root/usr/share/linda"/* "$root/usr/share/lintian/overrides"/* \
    "$root/usr/share/locale"/* "$root/usr/share/man"/* "$root/usr/share/groff"/*
# the sources a container image has (deb822, as the debian:12 images), no caches
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -rf "$root/var/lib/apt/lists"/* "$root/var/cache/apt"/*.bin "$root/var/cache/apt/archives"/*.deb \
    "$root/var/log"/*.log "$root/var/log/apt"/* "$root/tmp"/* "$root/root/.bash_history"
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"

tar --numeric-owner --xattrs -C "$root" -cf "$work/rootfs.tar" .
mkdir -p "$(dirname "$out")"
mv "$work/rootfs.tar" "$out"
echo "debootstrap-base: wrote $out ($(du -m "$out" | cut -f1) MB)"
