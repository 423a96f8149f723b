#!/bin/sh
# rapids-jar.sh — the RAPIDS jar of a gpu image: picks one build out of JARS (the
# matrix's RAPIDS classifiers, one word each, "NAME|ARCH|CUDA|SHA256|SHA1|URL", the
# RAPIDS_JARS argument of `spark-k8s images plan`) and fetches it into DIR with
# fetch-verified.sh (sha256 and sha1 checked). The build is CLASSIFIER when given
# (--build-arg RAPIDS_CLASSIFIER=cuda13-arm64), else the one for the image's
# architecture (dpkg's amd64 -> x86_64, arm64 -> aarch64: this stage runs on the
# target platform, so that is Docker's TARGETARCH) and CUDA major CUDA (RAPIDS_CUDA:
# the matrix's default, 12). A build the release lacks is refused, naming those it has.
# Usage: rapids-jar.sh DIR JARS CUDA [CLASSIFIER]
# (RAPIDS_JAR_ARCH overrides the architecture; RAPIDS_JAR_DRY_RUN=1 prints the
# fetch-verified.sh command instead of running it.)
set -eu

dir="${1:-}"
jars="${2:-}"
cuda="${3:-}"
classifier="${4:-}"
if [ -z "$dir" ] || [ -z "$jars" ]; then
    echo "rapids-jar: usage: rapids-jar.sh DIR JARS CUDA [CLASSIFIER]" >&2
    exit 2
fi
arch="${RAPIDS_JAR_ARCH:-}"
if [ -z "$arch" ]; then
    arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
fi
case "$arch" in
    amd64) arch=x86_64 ;;
    arm64) arch=aarch64 ;;
esac
if [ -z "$classifier" ] && [ -z "$cuda" ]; then
    echo "rapids-jar: give a CUDA major or a classifier" >&2
    exit 2
fi

set -f # the words are split on spaces, never globbed
chosen=""
have=""
for word in $jars; do
    IFS='|' read -r name build_arch build_cuda sha256 sha1 url <<WORD
$word
WORD
    have="${have:+$have, }$name ($build_arch, CUDA $build_cuda)"
    if [ -n "$classifier" ]; then
        [ "$name" = "$classifier" ] || continue
    elif [ "$name" != "-" ]; then
        if [ "$build_arch" != "$arch" ] || [ "$build_cuda" != "$cuda" ]; then
            continue
        fi
    fi
    chosen="$name"
    break
done
if [ -z "$chosen" ]; then
    if [ -n "$classifier" ]; then
        echo "rapids-jar: RAPIDS has no build '$classifier'; it has $have" >&2
    else
        echo "rapids-jar: RAPIDS has no build for $arch with CUDA $cuda; it has $have" >&2
    fi
    exit 2
fi
if [ -n "$classifier" ]; then
    why="RAPIDS_CLASSIFIER=$classifier"
else
    why="the image's architecture, RAPIDS_CUDA=$cuda"
fi
echo "rapids-jar: $chosen ($build_arch, CUDA $build_cuda: $why)"
dest="$dir/${url##*/}"
if [ "${RAPIDS_JAR_DRY_RUN:-0}" = 1 ]; then
    echo "fetch-verified.sh $url $dest $sha256 $sha1"
    exit 0
fi
exec "$(dirname "$0")/fetch-verified.sh" "$url" "$dest" "$sha256" "$sha1"
