#!/bin/sh
# fetch-verified.sh — downloads URL to DEST and checks it against the sha256 the
# image matrix pins (and against the sha1, Maven's, when one is given); refuses a
# download without a sha256, and removes DEST when a sum does not match.
# Usage: fetch-verified.sh URL DEST SHA256 [SHA1]
# env: FETCH_CA, a CA bundle to trust besides the system's (a TLS-inspecting proxy's;
# the sums, not TLS, are what the jar is held to).
set -eu

url="${1:-}"
dest="${2:-}"
sha256="${3:-}"
sha1="${4:-}"
if [ -z "$url" ] || [ -z "$dest" ]; then
    echo "fetch-verified: usage: fetch-verified.sh URL DEST SHA256 [SHA1]" >&2
    exit 2
fi
if [ -z "$sha256" ]; then
    echo "fetch-verified: no sha256 for $url in the image matrix (run spark-k8s images pin): refusing an unverified download" >&2
    exit 2
fi
curl --fail --silent --show-error --location --retry 5 --retry-delay 3 --proto '=https' \
    --tlsv1.2 ${FETCH_CA:+--cacert "$FETCH_CA"} --output "$dest" "$url"
if ! printf '%s  %s\n' "$sha256" "$dest" | sha256sum --check --strict --quiet >/dev/null 2>&1; then
    got=$(sha256sum "$dest" | cut -d' ' -f1)
    rm -f "$dest"
    echo "fetch-verified: $url: sha256 is $got, the matrix says $sha256; not installed" >&2
    exit 1
fi
if [ -n "$sha1" ] && ! printf '%s  %s\n' "$sha1" "$dest" | sha1sum --check --strict --quiet >/dev/null 2>&1; then
    got=$(sha1sum "$dest" | cut -d' ' -f1)
    rm -f "$dest"
    echo "fetch-verified: $url: sha1 is $got, the matrix says $sha1; not installed" >&2
    exit 1
fi
echo "fetch-verified: $dest verified (sha256 $sha256)"
