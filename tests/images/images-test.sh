#!/bin/bash
# images-test.sh — `make images-test`: builds the runtime and Jupyter images of one
# Spark line and variant (default 4.1 baseline) from the committed Dockerfiles with
# buildah, through `spark-k8s images build` (the same plan, build arguments, tags and
# size report as `make images`), then runs them (smoke_buildah.py).
#
# What this machine cannot reach is substituted for this build only, and said:
#   - the base image: a bookworm made with debootstrap from Debian's packages
#     (images/debootstrap-base.sh, cached under BUILD/images) for the matrix's
#     images.base/builder, which come from a registry (BASE_IMAGE, BUILDER_IMAGE);
#   - snapshot.debian.org, when it does not answer: deb.debian.org (DEBIAN_SNAPSHOT
#     empty); the Debian packages keep the matrix's exact versions;
#   - pip's trust, when PIP_CERT names this machine's CA bundle (a TLS-inspecting
#     proxy): given to pip in the build steps as a read-only volume on /etc/xdg/pip
#     (pip.conf + the bundle), and to the jar downloads' curl (FETCH_CA) in the images
#     that download jars; the images keep only the empty mount point.
# Everything else is as the matrix and the locks say (pip --require-hashes).
#
# buildah runs as root with chroot isolation (no daemon, no runc needed) and its
# own storage under BUILD/images (overlay where the kernel allows it, else vfs).
# Usage: images-test.sh [LINE [VARIANT]] | all   env: SPARK_K8S (the binary), JPY (a Python
# with websocket-client and psutil: build/envs/jupyter), BUILD (default build),
# IMAGES_TEST_KUBERNETES=1 (then the Kubernetes test on the built images, iceberg variants)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
line="${1:-4.1}"
variant="${2:-baseline}"
build="$(cd "$root" && mkdir -p "${BUILD:-build}" && cd "${BUILD:-build}" && pwd)"
spark_k8s="${SPARK_K8S:-$build/spark-k8s}"
jpy="${JPY:-$build/envs/jupyter/bin/python}"
work="$build/images"
base_ref="localhost/spark-k8s-debootstrap:bookworm"

say() { printf 'images-test: %s\n' "$*"; }
die() {
    printf 'images-test: %s\n' "$*" >&2
    exit 1
}

# ---- all: every line and variant of the matrix, one pair after another ----
if [ "$line" = all ]; then
    [ -x "$spark_k8s" ] || die "$spark_k8s not built (make build/spark-k8s)"
    mkdir -p "$work"
    pairs="$("$spark_k8s" images plan --json | python3 -c '
import json, sys
for i in json.load(sys.stdin)["images"]:
    if i["kind"] == "jupyter":
        print(i["line"], i["variant"])')"
    results=()
    rc=0
    while read -r l v; do
        log="$work/images-test-$l-$v.log"
        t0=$SECONDS
        if "${BASH_SOURCE[0]}" "$l" "$v" 2>&1 | tee "$log"; then verdict=passed; else verdict=FAILED; rc=1; fi
        results+=("$(printf '%-4s %-12s %-7s %5ss  %s' "$l" "$v" "$verdict" $((SECONDS - t0)) "$log")")
    done <<<"$pairs"
    say "every line and variant (line, variant, verdict, time, log):"
    printf '  %s\n' "${results[@]}"
    say "sizes (image, size MB, budget MB, status), from the builds' own reports:"
    grep -hE '^[^ ]+ +[0-9]+ +[0-9-]+  (ok|OVER BUDGET|no budget)$' "$work"/images-test-*-*.log |
        sort -u | sed 's/^/  /'
    exit $rc
fi

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, buildah's storage, a private network namespace)"
for tool in buildah debootstrap curl ip; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (make images-deps)"
done
[ -x "$spark_k8s" ] || die "$spark_k8s not built (make build/spark-k8s)"
"$jpy" -c 'import websocket, psutil' 2>/dev/null || die "$jpy lacks websocket-client/psutil (make envs)"
mkdir -p "$work"
export BUILDAH_ISOLATION=chroot

# ---- buildah's storage: overlay if it mounts here, else vfs (each in its own root) ----
storage_conf() {
    cat >"$work/storage-$1.conf" <<CONF
[storage]
driver = "$1"
graphroot = "$work/storage-$1"
runroot = "$work/run-$1"
CONF
    export CONTAINERS_STORAGE_CONF="$work/storage-$1.conf"
}
storage_conf overlay
if ! probe="$(buildah from scratch 2>/dev/null)" || ! buildah mount "$probe" >/dev/null 2>&1; then
    [ -n "${probe:-}" ] && buildah rm "$probe" >/dev/null 2>&1
    storage_conf vfs
    say "storage: vfs (overlay does not mount here)"
else
    buildah rm "$probe" >/dev/null
    say "storage: overlay, $work/storage-overlay"
fi

# ---- the base image, made here ----
t0=$SECONDS
"$root/images/debootstrap-base.sh" "$work/bookworm-rootfs.tar"
sum="$(sha256sum "$work/bookworm-rootfs.tar" | cut -d' ' -f1)"
have="$(buildah inspect --type image --format '{{index .ImageAnnotations "io.spark-k8s.rootfs.sha256"}}' \
    "$base_ref" 2>/dev/null || true)"
if [ "$have" != "$sum" ]; then
    ctr="$(buildah from scratch)"
    buildah add "$ctr" "$work/bookworm-rootfs.tar" / >/dev/null
    buildah config --cmd '["bash"]' --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --annotation "io.spark-k8s.rootfs.sha256=$sum" "$ctr"
    buildah commit --quiet --rm "$ctr" "$base_ref" >/dev/null
    say "imported the debootstrapped rootfs as $base_ref"
fi
base_s=$((SECONDS - t0))

# ---- what the matrix pins that this machine cannot reach ----
matrix_base="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"]["base"])' \
    "$root/images/matrix.json")"
snapshot="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images"]["debian_snapshot"])' \
    "$root/images/matrix.json")"
subst=(--build-arg "BASE_IMAGE=$base_ref" --build-arg "BUILDER_IMAGE=$base_ref")
say "SUBSTITUTION: base image $base_ref (debootstrap of Debian bookworm) stands in for $matrix_base"
if [ -n "$snapshot" ]; then
    code="$(curl -s -o /dev/null -m 20 -w '%{http_code}' \
        "http://snapshot.debian.org/archive/debian/$snapshot/dists/bookworm/Release" || true)"
    if [ "$code" != 200 ]; then
        subst+=(--build-arg "DEBIAN_SNAPSHOT=")
        say "SUBSTITUTION: snapshot.debian.org does not answer (HTTP ${code:-none}): Debian packages from deb.debian.org, at the matrix's exact versions"
    fi
fi
plan="$(IMAGES="jupyter-$line-$variant" "$spark_k8s" images plan --json)"
read -r runtime_ref jupyter_ref spark_version fetch_ca_taken < <(printf '%s' "$plan" | python3 -c '
import json, sys
p = json.load(sys.stdin)["images"]
print(p[0]["image"], p[1]["image"], p[1]["spark_version"],
      int(any("FETCH_CA" in i["args"] for i in p)))')
builder=()
if [ -n "${PIP_CERT:-}" ] && [ -s "$PIP_CERT" ]; then
    mkdir -p "$work/pip-trust"
    cp "$PIP_CERT" "$work/pip-trust/ca.crt"
    printf '[global]\ncert = /etc/xdg/pip/ca.crt\n' >"$work/pip-trust/pip.conf"
    builder=(--builder-arg "--volume=$work/pip-trust:/etc/xdg/pip:ro")
    say "SUBSTITUTION: pip in the build trusts this machine's CA bundle (PIP_CERT=$PIP_CERT)"
    # curl's jar downloads too, in the images that download jars (the baseline ones do not,
    # and `images build` refuses an argument that no image of the plan takes)
    if [ "$fetch_ca_taken" = 1 ]; then
        subst+=(--build-arg "FETCH_CA=/etc/xdg/pip/ca.crt")
        say "SUBSTITUTION: the jar downloads trust it too (FETCH_CA)"
    fi
fi

# ---- build, through the product's own command ----
t0=$SECONDS
(cd "$root" && IMAGES="jupyter-$line-$variant" "$spark_k8s" images build --builder buildah \
    "${subst[@]}" "${builder[@]}")
build_s=$((SECONDS - t0))

# ---- run them ----
t0=$SECONDS
"$jpy" "$here/smoke_buildah.py" --runtime "$runtime_ref" --jupyter "$jupyter_ref" \
    --spark-version "$spark_version" --line "$line" --variant "$variant"
smoke_s=$((SECONDS - t0))
say "passed: $runtime_ref, $jupyter_ref (base ${base_s}s, build ${build_s}s, smoke ${smoke_s}s)"

# ---- opt-in (IMAGES_TEST_KUBERNETES=1): the Kubernetes test on these images ----
# tests/kubernetes/test_real_images.py runs a kernel pod and an executor pod of the fake
# cluster inside the root filesystems of the images just built (buildah's storage, above)
# and writes an Iceberg table from the executor: iceberg variants only. It fails, rather
# than skips, when it cannot find them. Needs the lakehouse test jars (make test-jars).
if [ "${IMAGES_TEST_KUBERNETES:-0}" = 1 ]; then
    case "-$variant-" in
    *-iceberg-*)
        t0=$SECONDS
        (cd "$root" && SPARK_K8S_REAL_IMAGES="$line-$variant" SPARK_K8S_REAL_IMAGES_REQUIRED=1 \
            SPARK_K8S_BUILD="$build" "$jpy" -m pytest -q -p no:cacheprovider -m kubernetes \
            tests/kubernetes/test_real_images.py)
        say "passed: the Kubernetes test on $runtime_ref, $jupyter_ref ($((SECONDS - t0))s)"
        ;;
    *) say "IMAGES_TEST_KUBERNETES=1: no Kubernetes test for $variant (it needs an iceberg variant)" ;;
    esac
fi
