# spark-k8s — build, test, install, run, bench, images.
# `make` builds build/spark-k8s; `make test` installs what the tests need, builds
# (plain and ASan+UBSan) and runs every test; `make run` serves JupyterLab on 8888.

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PY       := /usr/bin/python3
PORT     ?= 8888

# The locked Python environments (kernelspecs/envs): one per Spark line of the
# matrix, and the Jupyter environment (JupyterLab, jupyter_client 8, test tools).
# spark-X.Y-gpu.lock is no environment of its own: the gpu Jupyter images add it to
# spark-X.Y's (GPU_PYTHON=1, install.py --over).
ENVS       := $(BUILD)/envs
ENV_LOCKS  := kernelspecs/envs
SPARK_ENVS := $(filter-out %-gpu,$(patsubst $(ENV_LOCKS)/%.lock,%,$(wildcard $(ENV_LOCKS)/spark-*.lock)))
JPY        := $(ENVS)/jupyter/bin/python

PKGS     := libzmq jansson libcrypto uuid libcurl yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lzmq -ljansson -lcrypto -luuid -lcurl -lyaml)

WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -I. $(PKG_CFLAGS) -MMD -MP
CFLAGS   ?= -O2 -g
LDLIBS   := $(PKG_LIBS) -ldl
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRCS     := $(wildcard kernel/*.c) $(filter-out launcher/cmd/main.c,$(wildcard launcher/*/*.c))
ASMS     := $(wildcard launcher/*/*.S)
TESTS    := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

REL_OBJS := $(SRCS:%.c=$(BUILD)/rel/%.o) $(ASMS:%.S=$(BUILD)/rel/%.o)
SAN_OBJS := $(SRCS:%.c=$(BUILD)/san/%.o) $(ASMS:%.S=$(BUILD)/san/%.o)

# Debian packages: to build; for the kernel environments (the venvs' Python, Spark's
# JVM); for the tests (the older generation of Jupyter, Debian's jupyter_client 7.4
# and ipykernel 6.17, runs the protocol suites; Chromium for the browser tests).
DEB_BUILD := gcc make pkg-config libzmq3-dev libjansson-dev libssl-dev uuid-dev \
             libcurl4-openssl-dev libyaml-dev libcmocka-dev
DEB_ENVS  := python3 python3-venv openjdk-17-jre-headless procps
DEB_TEST  := python3-jupyter-client python3-ipykernel python3-pytest python3-psutil \
             python3-jupyter-kernel-test valgrind shellcheck curl chromium chromium-driver tini \
             clang libclang-rt-14-dev
# To build images without a Docker engine (make images-test): buildah, and debootstrap
# for a base image made from Debian's packages; iproute2 for the smoke test's network.
DEB_IMAGES := buildah debootstrap curl iproute2

.PHONY: all deps deps-run envs jars locks locks-check test unit unit-san valgrind pytest \
        pytest-debian kernel-test install uninstall run bench images images-plan images-pin \
        images-deps images-test images-test-all clean layers
all: layers $(BUILD)/spark-k8s

# The include rule of the C tree (commands -> runtimes -> {spec, kube} -> images ->
# sys; kernel/ includes nothing of launcher/): launcher/layers.py says who may
# include whom, and a file that includes across the rule fails the build.
layers:
	@python3 launcher/layers.py

$(BUILD)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(SANFLAGS) -c $< -o $@
# The embedded files (matrix, logos, session startup file and its package) are listed
# by hand: .incbin is not seen by -MMD.
EMBEDDED := images/matrix.json $(wildcard kernelspecs/*.png kernelspecs/*.svg kernelspecs/*.py \
              kernelspecs/spark_k8s_session/*.py kernelspecs/*.properties)
$(BUILD)/rel/%.o: %.S $(EMBEDDED)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -c $< -o $@
$(BUILD)/san/%.o: %.S $(EMBEDDED)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -c $< -o $@
-include $(wildcard $(BUILD)/rel/*/*.d $(BUILD)/san/*/*.d $(BUILD)/rel/*/*/*.d $(BUILD)/san/*/*/*.d $(BUILD)/tests/*.d $(BUILD)/tests-san/*.d)

$(BUILD)/libspark-k8s.a: $(REL_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libspark-k8s-san.a: $(SAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/spark-k8s: $(BUILD)/rel/launcher/cmd/main.o $(BUILD)/libspark-k8s.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/spark-k8s-san: $(BUILD)/san/launcher/cmd/main.o $(BUILD)/libspark-k8s-san.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libspark-k8s.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libspark-k8s.a $(LDLIBS) -lcmocka
$(BUILD)/tests-san/%: tests/unit/%.c $(BUILD)/libspark-k8s-san.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(SANFLAGS) -o $@ $< $(BUILD)/libspark-k8s-san.a $(LDLIBS) -lcmocka

# Test helpers written in C (fake CUDA runtime, echo runtime for the bench).
$(BUILD)/tests/libcudart-fake.so: tests/unit/fake_cudart.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) -O2 -fPIC -shared -o $@ $<
$(BUILD)/tests/libcuda-fake.so: tests/unit/fake_libcuda.c tests/unit/fake_cudart.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) -O2 -fPIC -shared -Wl,-soname,libcuda.so.1 -o $@ $^
# Kubernetes client test driver (tests/kubernetes): not part of the product.
$(BUILD)/tests/kube-cli: tests/kubernetes/kube_cli.c $(BUILD)/libspark-k8s.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libspark-k8s.a $(LDLIBS)
$(BUILD)/echo-runtime: tests/bench/echo_runtime.c $(BUILD)/libspark-k8s.a
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libspark-k8s.a $(LDLIBS)
$(BUILD)/bench-client: tests/bench/bench_client.c $(BUILD)/libspark-k8s.a
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libspark-k8s.a $(LDLIBS)

# ---- what a fresh machine needs -------------------------------------------------------

# Install the Debian packages of $(1) that are missing.
define deb_install
	@missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
endef

deps:
	$(call deb_install,$(DEB_BUILD) $(DEB_ENVS) $(DEB_TEST))
	@command -v npm >/dev/null 2>&1 || { echo "installing: nodejs npm"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@[ -x tests/images/node_modules/.bin/dockerfile-utils ] || \
	  npm ci --prefix tests/images --no-audit --no-fund --loglevel=error >/dev/null
	@$(MAKE) --no-print-directory envs jars test-jars
deps-run:
	$(call deb_install,$(DEB_BUILD) $(DEB_ENVS))
	@$(MAKE) --no-print-directory envs

# The environments, from the committed locks with pip's hash checking; an environment
# already installed from the same locks is left alone.
envs:
	@for e in $(SPARK_ENVS) jupyter; do \
	  $(PY) $(ENV_LOCKS)/install.py $$e $(ENVS)/$$e || exit 1; done
# The RAPIDS and Iceberg jars of every Spark line, each verified against the sha256 (and
# sha1) the matrix pins, in one cache folder that `make install` takes them from (hard
# links); jars already there and verified are not downloaded again. RAPIDS: this
# machine's architecture with CUDA 12 unless JARS_ARGS says otherwise (--cuda 13,
# --rapids-classifier NAME).
JARS      := $(BUILD)/jars
JARS_ARGS ?=
jars: $(BUILD)/spark-k8s
	$(BUILD)/spark-k8s jars fetch --dir $(JARS) $(JARS_ARGS)

# The jars the lakehouse tests run (tests/lakehouse/jars.lock: Iceberg's REST catalog
# server with its dependencies), from
# Maven Central without Maven, each verified against the lock's sha256; a jar already
# there and verified is not downloaded again. `tests/lakehouse/jars.py lock` re-resolves.
.PHONY: test-jars
test-jars:
	@$(PY) tests/lakehouse/jars.py fetch --dest $(BUILD)/test-jars
# Re-resolve the locks (maintainers; needs PyPI), and check them against their inputs
# and the matrix (offline; part of the tests).
locks:
	$(PY) $(ENV_LOCKS)/lock.py
locks-check:
	$(PY) $(ENV_LOCKS)/lock.py --check

# ---- tests ----------------------------------------------------------------------------

UNIT_BINS     := $(TESTS:%=$(BUILD)/tests/%)
UNIT_SAN_BINS := $(TESTS:%=$(BUILD)/tests-san/%)
TEST_HELPERS  := $(BUILD)/tests/libcudart-fake.so $(BUILD)/tests/libcuda-fake.so $(BUILD)/tests/kube-cli

unit: $(UNIT_BINS) $(TEST_HELPERS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; BUILD=$(BUILD) $$t; done
unit-san: $(UNIT_SAN_BINS) $(TEST_HELPERS)
	@set -e; for t in $(UNIT_SAN_BINS); do echo "== $$t (asan+ubsan)"; \
	  BUILD=$(BUILD) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done
valgrind: $(UNIT_BINS) $(TEST_HELPERS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t (valgrind)"; \
	  BUILD=$(BUILD) valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect $$t >/dev/null; done

# Every Python test runs against a real install in a private prefix (its kernels run
# the kernel environments: real PySpark), driven by the Jupyter environment's Python
# (jupyter_client 8, ipykernel 7, JupyterLab 4); the protocol suites (on each runtime:
# local, and kubernetes against the fake API server) then run again on the local runtime
# with Debian's jupyter_client 7.4 and ipykernel 6.17.
TEST_PREFIX := $(CURDIR)/$(BUILD)/prefix
PYTEST_ARGS ?=
pytest: $(BUILD)/spark-k8s $(BUILD)/spark-k8s-san $(TEST_HELPERS) $(BUILD)/echo-runtime
	rm -rf $(TEST_PREFIX) && $(MAKE) --no-print-directory install PREFIX=$(TEST_PREFIX) >/dev/null
	SPARK_K8S_PREFIX=$(TEST_PREFIX) SPARK_K8S_BUILD=$(CURDIR)/$(BUILD) \
	  $(JPY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests
pytest-debian: $(BUILD)/spark-k8s
	env -u SPARK_K8S_PREFIX SPARK_K8S_BUILD=$(CURDIR)/$(BUILD) \
	  $(PY) -m pytest -q -p no:cacheprovider -m "not kubernetes" tests/protocol

test: deps
	$(MAKE) --no-print-directory all unit unit-san valgrind pytest pytest-debian fuzz-short \
	  fault-rounds-short

# Fault rounds (tests/faults/fault_rounds.py): every way a kernel ends, ROUNDS rounds per
# runtime (kubernetes against the fake API server), counting processes, files, sockets and
# API objects left. `make fault-rounds` (100 per runtime: SECURITY.md), and a short form,
# one round of each way per runtime, in `make test`.
ROUNDS        ?= 100
FAULTS_PREFIX := $(CURDIR)/$(BUILD)/faults-prefix
.PHONY: fault-rounds fault-rounds-short
fault-rounds fault-rounds-short: $(BUILD)/spark-k8s
	rm -rf $(FAULTS_PREFIX) && $(MAKE) --no-print-directory install PREFIX=$(FAULTS_PREFIX) >/dev/null
	SPARK_K8S_PREFIX=$(FAULTS_PREFIX) SPARK_K8S_BUILD=$(CURDIR)/$(BUILD) $(JPY) tests/faults/fault_rounds.py \
	  --rounds $(if $(filter fault-rounds-short,$@),7,$(ROUNDS))

# ---- install and run --------------------------------------------------------------------

# The binary, the kernel environments (PREFIX/lib/spark-k8s/envs/spark-LINE, copied from
# build/envs), the eight kernelspecs running them, and the RAPIDS and Iceberg jars in
# each environment (<env>/share/spark-k8s/jars), verified against the matrix's sha256:
# taken from the cache $(JARS) (hard links on the same file system, else copies),
# downloaded into it first where it lacks them. A jar that cannot be installed fails
# the install; FETCH_JARS=0 installs without them (the gpu and iceberg kernels then
# say so in their first cell; `spark-k8s jars fetch` later).
FETCH_JARS ?= 1
ENV_DIR    := lib/spark-k8s/envs
# The Jupyter server extension (the kernels' Spark UIs under the server's URL): a
# server imports it from here (PYTHONPATH) and enables it from etc/jupyter
# (JUPYTER_CONFIG_PATH); see README.md, "Installing".
SERVEREXT_DIR := lib/spark-k8s/serverext
install: $(BUILD)/spark-k8s envs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/$(ENV_DIR)
	install -m 0755 $(BUILD)/spark-k8s $(DESTDIR)$(PREFIX)/bin/spark-k8s
	ln -sf spark-k8s $(DESTDIR)$(PREFIX)/bin/spark-k8s-gpu-discovery
	@for e in $(SPARK_ENVS); do \
	  $(PY) $(ENV_LOCKS)/install.py $$e $(DESTDIR)$(PREFIX)/$(ENV_DIR)/$$e \
	    --copy-from $(ENVS)/$$e --as $(PREFIX)/$(ENV_DIR)/$$e || exit 1; done
	$(DESTDIR)$(PREFIX)/bin/spark-k8s kernelspec install --prefix $(DESTDIR)$(PREFIX) \
	  --executable $(PREFIX)/bin/spark-k8s --all --replace
	install -d $(DESTDIR)$(PREFIX)/$(SERVEREXT_DIR)/spark_k8s_ui \
	  $(DESTDIR)$(PREFIX)/etc/jupyter/jupyter_server_config.d
	install -m 0644 serverext/spark_k8s_ui/__init__.py $(DESTDIR)$(PREFIX)/$(SERVEREXT_DIR)/spark_k8s_ui/
	printf '{"ServerApp": {"jpserver_extensions": {"spark_k8s_ui": true}}}\n' \
	  >$(DESTDIR)$(PREFIX)/etc/jupyter/jupyter_server_config.d/spark_k8s_ui.json
	@if [ "$(FETCH_JARS)" = 1 ]; then \
	  $(DESTDIR)$(PREFIX)/bin/spark-k8s jars fetch --cache $(CURDIR)/$(JARS) $(JARS_ARGS) || { \
	  echo "spark-k8s: the RAPIDS and Iceberg jars could not all be installed (above); FETCH_JARS=0 installs without them" >&2; exit 1; }; fi

uninstall:
	-$(PREFIX)/bin/spark-k8s kernelspec remove --prefix $(DESTDIR)$(PREFIX) --all
	rm -rf $(DESTDIR)$(PREFIX)/lib/spark-k8s
	rm -f $(DESTDIR)$(PREFIX)/etc/jupyter/jupyter_server_config.d/spark_k8s_ui.json
	rm -f $(DESTDIR)$(PREFIX)/bin/spark-k8s $(DESTDIR)$(PREFIX)/bin/spark-k8s-gpu-discovery

# JupyterLab on PORT with the eight kernels (local runtime), notebooks in notebooks/;
# only spark-k8s kernels are offered (not the Jupyter environment's own python3).
RUN_PREFIX   := $(CURDIR)/$(BUILD)/run
NOTEBOOK_DIR ?= $(CURDIR)/notebooks
run: deps-run
	$(MAKE) --no-print-directory all
	rm -rf $(RUN_PREFIX) && $(MAKE) --no-print-directory install PREFIX=$(RUN_PREFIX) >/dev/null
	@mkdir -p $(NOTEBOOK_DIR)
	@echo "spark-k8s: JupyterLab with the Spark kernels on the local runtime (Spark runs on this"
	@echo "           machine). Open the http://127.0.0.1:$(PORT)/lab?token=... URL printed below"
	@echo "           (another host's browser: this host's name instead of 127.0.0.1)."
	@echo "           Notebooks: $(NOTEBOOK_DIR) (start with 01-first-spark-query.ipynb)."
	@echo "           Kernels on Kubernetes instead (a driver pod, executor pods): run"
	@echo "           SPARK_K8S_RUNTIME=kubernetes make run with a kubeconfig and the images"
	@echo "           (README.md, \"Kubernetes\"; docs/kubernetes.md)."
	@names=$$($(RUN_PREFIX)/bin/spark-k8s kernelspec list --prefix $(RUN_PREFIX) --json | \
	  $(PY) -c 'import json,sys; print(json.dumps(sorted(json.load(sys.stdin)["kernelspecs"])))'); \
	default=$$(echo "$$names" | $(PY) -c 'import json,sys; print([n for n in json.load(sys.stdin) if n.endswith("-baseline")][-1])'); \
	gpus=$$($(RUN_PREFIX)/bin/spark-k8s gpus >/dev/null 2>&1 && echo yes); \
	if [ -z "$$gpus" ] && [ -z "$${SPARK_K8S_RAPIDS_MODE:-}" ]; then \
	  echo "           No GPU here: the GPU kernels run RAPIDS in explain-only mode (queries on the"; \
	  echo "           CPU, spark_k8s.gpu_plan(df) shows what would run on a GPU); set"; \
	  echo "           SPARK_K8S_RAPIDS_MODE=executeOnGPU to override."; \
	  export SPARK_K8S_RAPIDS_MODE=explainOnly; fi; \
	JUPYTER_PATH=$(RUN_PREFIX)/share/jupyter JUPYTER_CONFIG_PATH=$(RUN_PREFIX)/etc/jupyter \
	PYTHONPATH=$(RUN_PREFIX)/$(SERVEREXT_DIR) exec $(JPY) -m jupyterlab --no-browser --allow-root \
	  --ip=0.0.0.0 --port=$(PORT) --port-retries=0 --ServerApp.root_dir=$(NOTEBOOK_DIR) \
	  --KernelSpecManager.allowed_kernelspecs="$$names" \
	  --MappingKernelManager.default_kernel_name="$$default" \
	  --LabApp.app_settings_dir=$(CURDIR)/kernelspecs/lab-settings

# ---- bench, images, fuzz ------------------------------------------------------------------

bench: $(BUILD)/spark-k8s $(BUILD)/echo-runtime $(BUILD)/bench-client envs
	rm -rf $(BUILD)/bench-prefix && $(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(BUILD)/bench-prefix >/dev/null
	SPARK_K8S_PREFIX=$(CURDIR)/$(BUILD)/bench-prefix SPARK_K8S_BUILD=$(CURDIR)/$(BUILD) $(PY) tests/bench/bench.py
	SPARK_K8S_PREFIX=$(CURDIR)/$(BUILD)/bench-prefix $(JPY) tests/bench/bench_spark.py

# Images: docker buildx bake where a Docker engine runs, buildah otherwise (as root;
# chroot isolation unless BUILDAH_ISOLATION says otherwise: Debian's buildah comes
# without an OCI runtime when installed without recommends).
images-plan: $(BUILD)/spark-k8s
	$(BUILD)/spark-k8s images plan
images-pin: $(BUILD)/spark-k8s
	$(BUILD)/spark-k8s images pin
images: $(BUILD)/spark-k8s
	@$(BUILD)/spark-k8s images pin --if-missing || echo "spark-k8s: not every jar checksum could" \
	  "be fetched; the build refuses the images that download a jar without one"
	SPARK_K8S_MATRIX=$(or $(SPARK_K8S_MATRIX),images/matrix.json) \
	  BUILDAH_ISOLATION=$(or $(BUILDAH_ISOLATION),chroot) $(BUILD)/spark-k8s images build
images-deps:
	$(call deb_install,$(DEB_IMAGES))
# Build the runtime and Jupyter images of one line and variant with buildah on a
# debootstrapped base, and run them (tests/images/images-test.sh says what it
# substitutes); the base and the layers are cached under build/images.
IMAGES_TEST_LINE    ?= 4.1
IMAGES_TEST_VARIANT ?= baseline
# IMAGES_TEST_KUBERNETES=1: then, for an iceberg variant, the Kubernetes test on the images
# just built (tests/kubernetes/test_real_images.py; about 2 minutes).
IMAGES_TEST_KUBERNETES ?= 0
images-test: images-deps $(BUILD)/spark-k8s $(if $(filter 1,$(IMAGES_TEST_KUBERNETES)),test-jars)
	@$(PY) $(ENV_LOCKS)/install.py jupyter $(ENVS)/jupyter
	SPARK_K8S=$(CURDIR)/$(BUILD)/spark-k8s JPY=$(CURDIR)/$(JPY) BUILD=$(BUILD) \
	  IMAGES_TEST_KUBERNETES=$(IMAGES_TEST_KUBERNETES) \
	  tests/images/images-test.sh $(IMAGES_TEST_LINE) $(IMAGES_TEST_VARIANT)
# All sixteen: every line and variant of the matrix, each pair built and smoke-tested,
# then a summary with every image's size against its budget (about 2 hours here).
images-test-all: images-deps $(BUILD)/spark-k8s $(if $(filter 1,$(IMAGES_TEST_KUBERNETES)),test-jars)
	@$(PY) $(ENV_LOCKS)/install.py jupyter $(ENVS)/jupyter
	SPARK_K8S=$(CURDIR)/$(BUILD)/spark-k8s JPY=$(CURDIR)/$(JPY) BUILD=$(BUILD) \
	  IMAGES_TEST_KUBERNETES=$(IMAGES_TEST_KUBERNETES) \
	  tests/images/images-test.sh all

# libFuzzer harnesses (tests/fuzz): the wire codec, connection files, kernelspec
# metadata, the admin config file, kubeconfig files, what the API server sends and
# the pod-template merge. Needs Debian's clang and libclang-rt-14-dev (in DEB_TEST).
# `make fuzz` runs each target for FUZZ_TIME seconds, or FUZZ_RUNS executions when
# set, on a corpus in $(BUILD)/fuzz/corpus that starts from tests/fuzz/seeds;
# `make fuzz-short` (part of `make test`) runs each FUZZ_SHORT_RUNS times from its seeds.
FUZZ_TARGETS    := message connection kernelspec config kubeconfig kube_api pod_template
FUZZ_TIME       ?= 60
FUZZ_RUNS       ?=
FUZZ_SHORT_RUNS ?= 3000
FUZZ_FLAGS      := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS       := $(SRCS:%.c=$(BUILD)/fuzz/obj/%.o) $(ASMS:%.S=$(BUILD)/fuzz/obj/%.o)
FUZZ_BINS       := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
.PHONY: fuzz fuzz-short
$(BUILD)/fuzz/obj/%.o: %.c $(wildcard kernel/*.h launcher/*/*.h)
	@mkdir -p $(dir $@)
	clang $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzz/obj/%.o: %.S $(EMBEDDED)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -c $< -o $@
$(BUILD)/fuzz/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/fuzz_kube_api: tests/fuzz/fuzz_kube_api.c tests/fuzz/fuzz_kube_pod.c \
  launcher/kube/kube_client.c launcher/runtime/runtime_kube.c tests/fuzz/fuzz_util.h $(BUILD)/fuzz/libfuzz.a
	clang $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ tests/fuzz/fuzz_kube_api.c \
	  tests/fuzz/fuzz_kube_pod.c $(BUILD)/fuzz/libfuzz.a $(LDLIBS)
$(BUILD)/fuzz/fuzz_kubeconfig: launcher/kube/kube_config.c
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(BUILD)/fuzz/libfuzz.a
	clang $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libfuzz.a $(LDLIBS)
fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do mkdir -p $(BUILD)/fuzz/corpus/$$t; echo "== fuzz_$$t"; \
	  $(BUILD)/fuzz/fuzz_$$t $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_TIME)) \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/$$t- \
	    $(BUILD)/fuzz/corpus/$$t tests/fuzz/seeds/$$t </dev/null 2>&1 | grep -v '^#[0-9].*\(pulse\|NEW\|REDUCE\)'; done
fuzz-short: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do rm -rf $(BUILD)/fuzz/short/$$t; mkdir -p $(BUILD)/fuzz/short/$$t; \
	  echo "== fuzz_$$t ($(FUZZ_SHORT_RUNS) runs from its seeds)"; \
	  $(BUILD)/fuzz/fuzz_$$t -runs=$(FUZZ_SHORT_RUNS) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(BUILD)/fuzz/short/$$t- \
	    $(BUILD)/fuzz/short/$$t tests/fuzz/seeds/$$t </dev/null >$(BUILD)/fuzz/short/$$t.log 2>&1 || \
	    { tail -40 $(BUILD)/fuzz/short/$$t.log; exit 1; }; \
	  grep -h 'Done [0-9]* runs' $(BUILD)/fuzz/short/$$t.log; done

clean:
	rm -rf $(BUILD)
