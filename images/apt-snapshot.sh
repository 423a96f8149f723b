#!/bin/sh
# apt-snapshot.sh — points apt at snapshot.debian.org as it was at one moment
# (the matrix's images.debian_snapshot, e.g. 20261125T030000Z) and runs
# `apt-get update`, so every Debian package an image installs is the same on
# every rebuild. apt still verifies the signed indexes and each package's hash.
# With no timestamp it keeps the image's own sources (deb.debian.org).
# Usage: apt-snapshot.sh [TIMESTAMP]
set -eu

stamp="${1:-}"
if [ -n "$stamp" ]; then
    case "$stamp" in
        *[!0-9TZ]* | "")
            echo "apt-snapshot: '$stamp' is not a snapshot timestamp like 20261125T030000Z" >&2
            exit 2
            ;;
    esac
    # the release this base image is (bookworm, ...): its own os-release says
    # shellcheck disable=SC1091
    . /etc/os-release
    codename="${VERSION_CODENAME:?/etc/os-release has no VERSION_CODENAME}"
    rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
    cat >/etc/apt/sources.list.d/snapshot.sources <<SOURCES
Types: deb
URIs: http://snapshot.debian.org/archive/debian/${stamp}
Suites: ${codename} ${codename}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://snapshot.debian.org/archive/debian-security/${stamp}
Suites: ${codename}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    # a snapshot's Release files are past their Valid-Until by design
    echo 'Acquire::Check-Valid-Until "false";' >/etc/apt/apt.conf.d/99snapshot
    echo 'Acquire::Retries "5";' >>/etc/apt/apt.conf.d/99snapshot
fi
apt-get update
