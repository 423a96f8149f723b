#!/bin/sh
# fetch-verified.sh — downloads URL to DEST and checks it against the checksum the
# image matrix pins (SHA-512, else SHA-1, the checksum Maven Central publishes);
# refuses a download with neither, and removes DEST when it does not match.
# Usage: fetch-verified.sh URL DEST SHA512 [SHA1]
set -eu

url="${1:-}"
dest="${2:-}"
sha512="${3:-}"
sha1="${4:-}"
if [ -z "$url" ] || [ -z "$dest" ]; then
    echo "fetch-verified: usage: fetch-verified.sh URL DEST SHA512 [SHA1]" >&2
    exit 2
fi
if [ -z "$sha512" ] && [ -z "$sha1" ]; then
    echo "fetch-verified: no checksum for $url in the image matrix: refusing an unverified download" >&2
    exit 2
fi
curl --fail --silent --show-error --location --retry 5 --retry-delay 3 --proto '=https' \
    --tlsv1.2 --output "$dest" "$url"
if [ -n "$sha512" ]; then
    if ! printf '%s  %s\n' "$sha512" "$dest" | sha512sum --check --strict --quiet; then
        rm -f "$dest"
        echo "fetch-verified: SHA-512 mismatch for $url" >&2
        exit 1
    fi
else
    if ! printf '%s  %s\n' "$sha1" "$dest" | sha1sum --check --strict --quiet; then
        rm -f "$dest"
        echo "fetch-verified: SHA-1 mismatch for $url" >&2
        exit 1
    fi
fi
echo "fetch-verified: $dest verified"
