# spark-k8s — build, test, install, run, bench, images.
# `make` builds build/spark-k8s; `make test` installs what the tests need, builds
# (plain and ASan+UBSan) and runs every test; `make run` serves Jupyter on 8888.

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PY       := /usr/bin/python3
PORT     ?= 8888

WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS   ?= -O2 -g
LDLIBS   := -lzmq -ljansson -lcrypto -luuid -lcurl -lyaml -ldl
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRCS     := $(wildcard kernel/*.c) $(filter-out launcher/main.c,$(wildcard launcher/*.c))
ASMS     := $(wildcard launcher/*.S)
TESTS    := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

REL_OBJS := $(SRCS:%.c=$(BUILD)/rel/%.o) $(ASMS:%.S=$(BUILD)/rel/%.o)
SAN_OBJS := $(SRCS:%.c=$(BUILD)/san/%.o) $(ASMS:%.S=$(BUILD)/san/%.o)

# Debian packages the build and the tests need (`make deps` installs the missing ones).
DEB_BUILD := gcc make pkg-config libzmq3-dev libjansson-dev libssl-dev uuid-dev \
             libcurl4-openssl-dev libyaml-dev libcmocka-dev
DEB_TEST  := clang libclang-rt-14-dev python3 python3-jupyter-client python3-ipykernel jupyter-notebook \
             python3-pytest python3-jsonschema python3-jupyter-kernel-test python3-nbclient \
             python3-yaml python3-cryptography valgrind shellcheck procps curl \
             chromium chromium-driver python3-selenium python3-psutil
DEB_RUN   := python3 python3-ipykernel jupyter-notebook

.PHONY: all deps deps-run test unit unit-san valgrind pytest kernel-test install uninstall run bench \
        images images-plan images-pin clean
all: $(BUILD)/spark-k8s

$(BUILD)/rel/%.o: %.c $(wildcard kernel/*.h launcher/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
$(BUILD)/san/%.o: %.c $(wildcard kernel/*.h launcher/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(SANFLAGS) -c $< -o $@
$(BUILD)/rel/%.o: %.S images/matrix.json $(wildcard kernelspecs/*.png kernelspecs/*.svg kernelspecs/*.py)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -c $< -o $@
$(BUILD)/san/%.o: %.S images/matrix.json $(wildcard kernelspecs/*.png kernelspecs/*.svg kernelspecs/*.py)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -c $< -o $@

$(BUILD)/libspark-k8s.a: $(REL_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libspark-k8s-san.a: $(SAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/spark-k8s: $(BUILD)/rel/launcher/main.o $(BUILD)/libspark-k8s.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/spark-k8s-san: $(BUILD)/san/launcher/main.o $(BUILD)/libspark-k8s-san.a
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libspark-k8s.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/tests-san/%: tests/unit/%.c $(BUILD)/libspark-k8s-san.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Test helpers written in C (fake CUDA runtime, echo runtime for the bench).
$(BUILD)/tests/libcudart-fake.so: tests/unit/fake_cudart.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) -O2 -fPIC -shared -o $@ $<
# Kubernetes client test driver (tests/kubernetes): not part of the product.
$(BUILD)/tests/kube-cli: tests/kubernetes/kube_cli.c $(BUILD)/libspark-k8s.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/echo-runtime: tests/bench/echo_runtime.c $(BUILD)/libspark-k8s.a
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bench-client: tests/bench/bench_client.c $(BUILD)/libspark-k8s.a
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@missing=$$(for p in $(DEB_BUILD) $(DEB_TEST); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@command -v npm >/dev/null 2>&1 || { echo "installing: nodejs npm"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@[ -x tests/images/node_modules/.bin/dockerfile-utils ] || \
	  npm ci --prefix tests/images --no-audit --no-fund --loglevel=error >/dev/null
deps-run:
	@missing=$$(for p in $(DEB_BUILD) $(DEB_RUN); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

UNIT_BINS     := $(TESTS:%=$(BUILD)/tests/%)
UNIT_SAN_BINS := $(TESTS:%=$(BUILD)/tests-san/%)
TEST_HELPERS  := $(BUILD)/tests/libcudart-fake.so $(BUILD)/tests/kube-cli

unit: $(UNIT_BINS) $(TEST_HELPERS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; BUILD=$(BUILD) $$t; done
unit-san: $(UNIT_SAN_BINS) $(TEST_HELPERS)
	@set -e; for t in $(UNIT_SAN_BINS); do echo "== $$t (asan+ubsan)"; \
	  BUILD=$(BUILD) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done
valgrind: $(UNIT_BINS) $(TEST_HELPERS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t (valgrind)"; \
	  BUILD=$(BUILD) valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect $$t >/dev/null; done

# Protocol, kernelspec, image and Kubernetes tests run against a real install in a
# private prefix, with the real jupyter_client.
TEST_PREFIX := $(CURDIR)/$(BUILD)/prefix
pytest: $(BUILD)/spark-k8s $(BUILD)/spark-k8s-san $(TEST_HELPERS) $(BUILD)/echo-runtime
	rm -rf $(TEST_PREFIX) && $(MAKE) --no-print-directory install PREFIX=$(TEST_PREFIX) >/dev/null
	SPARK_K8S_PREFIX=$(TEST_PREFIX) SPARK_K8S_BUILD=$(CURDIR)/$(BUILD) \
	  $(PY) -m pytest -q -p no:cacheprovider tests

test: deps
	$(MAKE) --no-print-directory all unit unit-san valgrind pytest fuzz-short fault-rounds-short

# Fault rounds (tests/faults/fault_rounds.py): every way a kernel ends, ROUNDS rounds per
# runtime (kubernetes against the fake API server), counting processes, files, sockets and
# API objects left. `make fault-rounds` (100 per runtime: SECURITY.md), and a short form,
# one round of each way per runtime, in `make test`.
ROUNDS        ?= 100
FAULTS_PREFIX := $(CURDIR)/$(BUILD)/faults-prefix
.PHONY: fault-rounds fault-rounds-short
fault-rounds fault-rounds-short: $(BUILD)/spark-k8s
	rm -rf $(FAULTS_PREFIX) && $(MAKE) --no-print-directory install PREFIX=$(FAULTS_PREFIX) >/dev/null
	SPARK_K8S_PREFIX=$(FAULTS_PREFIX) SPARK_K8S_BUILD=$(CURDIR)/$(BUILD) $(PY) tests/faults/fault_rounds.py \
	  --rounds $(if $(filter fault-rounds-short,$@),7,$(ROUNDS))

install: $(BUILD)/spark-k8s
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/spark-k8s $(DESTDIR)$(PREFIX)/bin/spark-k8s
	ln -sf spark-k8s $(DESTDIR)$(PREFIX)/bin/spark-k8s-gpu-discovery
	$(DESTDIR)$(PREFIX)/bin/spark-k8s kernelspec install --prefix $(DESTDIR)$(PREFIX) \
	  --executable $(PREFIX)/bin/spark-k8s --all --replace

uninstall:
	-$(PREFIX)/bin/spark-k8s kernelspec remove --prefix $(DESTDIR)$(PREFIX) --all
	rm -f $(DESTDIR)$(PREFIX)/bin/spark-k8s $(DESTDIR)$(PREFIX)/bin/spark-k8s-gpu-discovery

RUN_PREFIX := $(CURDIR)/$(BUILD)/run
NOTEBOOK_DIR ?= $(CURDIR)/notebooks
run: deps-run
	$(MAKE) --no-print-directory all
	rm -rf $(RUN_PREFIX) && $(MAKE) --no-print-directory install PREFIX=$(RUN_PREFIX) >/dev/null
	@mkdir -p $(NOTEBOOK_DIR)
	@echo "spark-k8s: open the http://127.0.0.1:$(PORT)/?token=... URL printed below (or this host's name"
	@echo "           instead of 127.0.0.1); kernels: Spark 3.5 and 4.1, local runtime; notebooks in $(NOTEBOOK_DIR)"
	JUPYTER_PATH=$(RUN_PREFIX)/share/jupyter exec $(PY) -m notebook --no-browser --allow-root \
	  --ip=0.0.0.0 --port=$(PORT) --port-retries=0 --notebook-dir=$(NOTEBOOK_DIR)

bench: $(BUILD)/spark-k8s $(BUILD)/echo-runtime $(BUILD)/bench-client
	rm -rf $(BUILD)/bench-prefix && $(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(BUILD)/bench-prefix >/dev/null
	SPARK_K8S_PREFIX=$(CURDIR)/$(BUILD)/bench-prefix SPARK_K8S_BUILD=$(CURDIR)/$(BUILD) $(PY) tests/bench/bench.py

images-plan: $(BUILD)/spark-k8s
	$(BUILD)/spark-k8s images plan
images-pin: $(BUILD)/spark-k8s
	$(BUILD)/spark-k8s images pin
images: $(BUILD)/spark-k8s
	$(BUILD)/spark-k8s images pin --if-missing
	SPARK_K8S_MATRIX=$(or $(SPARK_K8S_MATRIX),images/matrix.json) $(BUILD)/spark-k8s images build

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
$(BUILD)/fuzz/obj/%.o: %.c $(wildcard kernel/*.h launcher/*.h)
	@mkdir -p $(dir $@)
	clang $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(BUILD)/fuzz/obj/%.o: %.S images/matrix.json $(wildcard kernelspecs/*.png kernelspecs/*.svg kernelspecs/*.py)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -c $< -o $@
$(BUILD)/fuzz/libfuzz.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/fuzz_kube_api: tests/fuzz/fuzz_kube_api.c tests/fuzz/fuzz_kube_pod.c \
  launcher/kube_client.c launcher/runtime_kube.c tests/fuzz/fuzz_util.h $(BUILD)/fuzz/libfuzz.a
	clang $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ tests/fuzz/fuzz_kube_api.c \
	  tests/fuzz/fuzz_kube_pod.c $(BUILD)/fuzz/libfuzz.a $(LDLIBS)
$(BUILD)/fuzz/fuzz_kubeconfig: launcher/kube_config.c
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
