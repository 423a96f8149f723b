#!/bin/bash
# smoke.sh — runs the built images where a Docker engine exists: each runtime image
# runs `spark-submit --version` and `spark-k8s-gpu-discovery` (and its gpu variants
# `spark-k8s gpus`); each Jupyter image becomes healthy, answers on 8888, and runs a
# notebook (nbclient, from the image's Jupyter environment) on its Spark kernel that
# sums 0..10^6-1 in local mode. Without a Docker engine it reports SKIPPED and exits
# 77, never a pass (tests/images/images-test.sh runs the same images with buildah).
# Usage: tests/images/smoke.sh   (IMAGES=, REGISTRY= select as for `make images`;
#        SPARK_K8S=path/to/spark-k8s, default build/spark-k8s)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
spark_k8s="${SPARK_K8S:-$root/build/spark-k8s}"

if ! command -v docker >/dev/null 2>&1; then
    echo "SKIPPED: no docker client on PATH"
    exit 77
fi
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "SKIPPED: no Docker engine reachable (docker version cannot reach the daemon)"
    exit 77
fi
if [ ! -x "$spark_k8s" ]; then
    echo "smoke: $spark_k8s not built (make build/spark-k8s)" >&2
    exit 2
fi

# The images to try, from the plan: "kind ref spark_version variant" per line.
plan="$("$spark_k8s" images plan --json || true)"
mapfile -t images < <(printf '%s' "$plan" | python3 -c '
import json, sys
for i in json.load(sys.stdin)["images"]:
    print(i["kind"], i["image"], i["spark_version"], i["variant"])
')
if [ "${#images[@]}" -eq 0 ]; then
    echo "smoke: the plan lists no images" >&2
    exit 2
fi

built=0
for line in "${images[@]}"; do
    read -r _ ref _ _ <<<"$line"
    if docker image inspect "$ref" >/dev/null 2>&1; then
        built=$((built + 1))
    fi
done
if [ "$built" -eq 0 ]; then
    echo "SKIPPED: none of the ${#images[@]} planned images is built here (make images)"
    exit 77
fi

containers=()
cleanup() {
    local c
    for c in "${containers[@]}"; do
        docker rm -f "$c" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT

gpu_flags=()
if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia; then
    gpu_flags=(--gpus all)
fi

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

for line in "${images[@]}"; do
    read -r kind ref version variant <<<"$line"
    if ! docker image inspect "$ref" >/dev/null 2>&1; then
        echo "skipped: $ref (not built)"
        continue
    fi
    if [ "$kind" = runtime ]; then
        out="$(docker run --rm "$ref" spark-submit --version 2>&1)" || { fail "$ref: spark-submit --version"; continue; }
        grep -q "version $version" <<<"$out" || fail "$ref: spark-submit does not say version $version"
        out="$(docker run --rm "$ref" spark-k8s-gpu-discovery 2>&1)" || fail "$ref: spark-k8s-gpu-discovery"
        grep -q '"name"' <<<"$out" || fail "$ref: spark-k8s-gpu-discovery printed '$out'"
        case "-$variant-" in
            *-gpu-*)
                rc=0
                docker run --rm "${gpu_flags[@]}" "$ref" spark-k8s gpus || rc=$?
                if [ "${#gpu_flags[@]}" -gt 0 ]; then
                    [ "$rc" -eq 0 ] || fail "$ref: spark-k8s gpus exited $rc with GPUs attached"
                else
                    # no GPU here: it must run and say so (3 no library, 4 no driver, 5 no device)
                    case "$rc" in 0 | 3 | 4 | 5) ;; *) fail "$ref: spark-k8s gpus exited $rc" ;; esac
                fi
                ;;
        esac
        echo "ok: $ref"
        continue
    fi

    cid="$(docker run -d -p 127.0.0.1::8888 "$ref")"
    containers+=("$cid")
    status=starting
    for _ in $(seq 1 60); do
        status="$(docker inspect --format '{{.State.Health.Status}}' "$cid")"
        [ "$status" = healthy ] && break
        [ "$status" = unhealthy ] && break
        sleep 3
    done
    if [ "$status" != healthy ]; then
        fail "$ref: not healthy ($status)"
        docker logs "$cid" 2>&1 | tail -20 >&2
        continue
    fi
    port="$(docker port "$cid" 8888/tcp | head -1)"
    port="${port##*:}"
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/api', timeout=10)" \
        || { fail "$ref: nothing answers on 8888"; continue; }
    result="$(docker exec -i "$cid" /usr/local/lib/spark-k8s/envs/jupyter/bin/python - <<'PY'
from jupyter_client.kernelspec import KernelSpecManager
import nbformat
from nbclient import NotebookClient

names = sorted(n for n in KernelSpecManager().find_kernel_specs() if n.startswith("spark"))
nb = nbformat.v4.new_notebook()
nb.cells.append(nbformat.v4.new_code_cell(
    'print(spark.range(10**6).selectExpr("sum(id)").collect()[0][0])'))
NotebookClient(nb, kernel_name=names[0], timeout=600).execute()
print(nb.cells[0].outputs[-1]["text"].strip())
PY
)" || { fail "$ref: the notebook did not run"; continue; }
    [ "$(tail -1 <<<"$result")" = 499999500000 ] || fail "$ref: the notebook printed '$result', not 499999500000"
    echo "ok: $ref"
done

if [ "$failures" -gt 0 ]; then
    echo "smoke: $failures failure(s)" >&2
    exit 1
fi
echo "smoke: ${#images[@]} images passed"
