#!/usr/bin/env bash
# check_gpus.sh — on a machine with an NVIDIA GPU, checks `spark-k8s gpus --json`
# against nvidia-smi: device count, names, memory, compute capability and PCI bus
# ids (and UUIDs), and that the spark-k8s-gpu-discovery name prints Spark's addresses for them;
# the answer comes from the NVIDIA driver (libcuda.so.1, what GPU containers have), and where a
# CUDA runtime is installed too, that one must list the same devices.
# Not part of `make test` (it needs a GPU). Run from anywhere:
#     tests/device/check_gpus.sh
# Environment: SPARK_K8S_BIN (the binary; default BUILD/spark-k8s, built with make
# if missing), SPARK_K8S_BUILD (default ./build of this repository), PYTHON (default python3).
# Exit status: 0 all match, 1 a mismatch (each one printed), 2 could not run the
# check, 77 skipped (no nvidia-smi here).
#
# Memory: nvidia-smi prints MiB (rounded down), CUDA bytes. Drivers that report
# memory.reserved (the driver's and firmware's share) may count it in memory.total
# while CUDA's totalGlobalMem leaves it out, so a device matches when CUDA's MiB is
# within 1 MiB of memory.total or of memory.total - memory.reserved. A misread field
# is off by far more than that.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${SPARK_K8S_BUILD:-$repo/build}
bin=${SPARK_K8S_BIN:-$build/spark-k8s}
python=${PYTHON:-python3}

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "check_gpus: nvidia-smi not found: no NVIDIA driver here; skipped"
    exit 77
fi
if ! command -v "$python" >/dev/null 2>&1; then
    echo "check_gpus: $python not found (set PYTHON): it compares the two JSON documents" >&2
    exit 2
fi
if [ ! -x "$bin" ]; then
    echo "check_gpus: building $bin"
    if ! make -C "$repo" --no-print-directory BUILD="$build" "$bin" >&2; then
        echo "check_gpus: could not build $bin" >&2
        exit 2
    fi
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

# nvidia-smi numbers devices in PCI bus order and ignores CUDA_VISIBLE_DEVICES;
# make the CUDA runtime do the same so that indices are comparable too.
unset CUDA_VISIBLE_DEVICES
export CUDA_DEVICE_ORDER=PCI_BUS_ID

nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id,compute_cap \
    --format=csv,noheader,nounits >"$workdir/smi.csv"
# memory.reserved is missing from older drivers: then only memory.total counts.
if ! nvidia-smi --query-gpu=index,memory.reserved --format=csv,noheader,nounits \
    >"$workdir/reserved.csv" 2>/dev/null; then
    : >"$workdir/reserved.csv"
fi
nvidia-smi --query-gpu=index,uuid --format=csv,noheader >"$workdir/uuid.csv"

status=0
"$bin" gpus --json >"$workdir/gpus.json" || status=$?
if [ "$status" -ne 0 ]; then
    echo "check_gpus: MISMATCH: nvidia-smi sees GPUs but '$bin gpus --json' exited $status" >&2
    exit 1
fi

ln -s "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$workdir/spark-k8s-gpu-discovery"
"$workdir/spark-k8s-gpu-discovery" >"$workdir/discovery.json"

echo "nvidia-smi:"
sed 's/^/  /' "$workdir/smi.csv"
echo "spark-k8s gpus:"
"$bin" gpus | sed 's/^/  /'

"$python" - "$workdir/smi.csv" "$workdir/reserved.csv" "$workdir/uuid.csv" "$workdir/gpus.json" \
    "$workdir/discovery.json" <<'EOF'
import csv
import json
import sys

smi_path, reserved_path, uuid_path, gpus_path, discovery_path = sys.argv[1:6]
with open(smi_path) as f:
    smi = [row for row in csv.reader(f, skipinitialspace=True) if row]
reserved = {}
with open(reserved_path) as f:
    for row in csv.reader(f, skipinitialspace=True):
        if len(row) == 2 and row[1].strip().isdigit():
            reserved[int(row[0])] = int(row[1])
uuids = {}
with open(uuid_path) as f:
    for row in csv.reader(f, skipinitialspace=True):
        if len(row) == 2:
            uuids[int(row[0])] = row[1].strip()
with open(gpus_path) as f:
    gpus = json.load(f)
with open(discovery_path) as f:
    discovery = json.load(f)

problems = []


def bus(text):
    """'00000000:65:00.0' (nvidia-smi) and '0000:65:00.0' (CUDA) as numbers."""
    domain, bus_no, rest = text.strip().split(":")
    device, function = rest.split(".")
    return (int(domain, 16), int(bus_no, 16), int(device, 16), int(function, 16))


devices = gpus["devices"]
if len(devices) != len(smi):
    problems.append(f"count: nvidia-smi {len(smi)}, spark-k8s {len(devices)}")
by_bus = {bus(d["pci_bus_id"]): d for d in devices}
for index, name, total, bus_id, cc in smi:
    dev = by_bus.get(bus(bus_id))
    where = f"GPU {index} ({bus_id})"
    if dev is None:
        problems.append(f"{where}: not listed by spark-k8s")
        continue
    if str(dev["index"]) != index:
        problems.append(f"{where}: index {dev['index']} in spark-k8s, {index} in nvidia-smi")
    if dev["name"] != name:
        problems.append(f"{where}: name {dev['name']!r} in spark-k8s, {name!r} in nvidia-smi")
    mib = dev["memory_bytes"] / (1024 * 1024)
    candidates = [int(total)]
    if int(index) in reserved:
        candidates.append(int(total) - reserved[int(index)])
    if not any(abs(mib - c) <= 1 for c in candidates):
        problems.append(f"{where}: memory {mib:.1f} MiB in spark-k8s, nvidia-smi total {total} MiB"
                        f" (reserved {reserved.get(int(index), 'unknown')} MiB)")
    if dev["compute_capability"] != cc:
        problems.append(f"{where}: compute capability {dev['compute_capability']} in spark-k8s, {cc} in nvidia-smi")
    if int(index) in uuids and dev["uuid"] != uuids[int(index)]:
        problems.append(f"{where}: uuid {dev['uuid']} in spark-k8s, {uuids[int(index)]} in nvidia-smi")
    print(f"ok {where}: {name}, {mib:.1f} MiB (nvidia-smi {total}), cc {cc}, uuid {dev['uuid']}")

expected = {"name": "gpu", "addresses": [str(i) for i in range(len(smi))]}
if discovery != expected:
    problems.append(f"spark-k8s-gpu-discovery printed {discovery}, expected {expected}")

for p in problems:
    print(f"check_gpus: MISMATCH: {p}", file=sys.stderr)
print(f"check_gpus: {len(smi)} GPU(s), runtime {gpus['runtime']}, driver {gpus['driver']}, "
      f"{gpus['library']}: {'FAIL' if problems else 'all match'}")
sys.exit(1 if problems else 0)
EOF
status=$?

# The default search asks the NVIDIA driver (libcuda.so.1) first, as a GPU container has
# no CUDA runtime; where a CUDA runtime is installed too, it must list the same devices.
cudart=$(ldconfig -p 2>/dev/null | awk '/libcudart[.]so[.][0-9]+ /{print $1; exit}')
if [ "$status" -eq 0 ] && [ -n "$cudart" ]; then
    SPARK_K8S_CUDART="$cudart" "$bin" gpus --json >"$workdir/gpus-cudart.json" || status=1
    "$python" - "$workdir/gpus.json" "$workdir/gpus-cudart.json" <<'EOF' || status=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("index", "name", "memory_bytes", "compute_capability", "pci_bus_id", "uuid")
same = [[{k: d[k] for k in keys} for d in x["devices"]] for x in (a, b)]
print(f"check_gpus: {a['library']} and {b['library']}: "
      f"{'the same devices' if same[0] == same[1] else 'MISMATCH'}")
sys.exit(0 if same[0] == same[1] else 1)
EOF
fi
exit "$status"
