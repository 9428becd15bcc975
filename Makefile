# Thin wrapper over CMake: installs missing Debian packages, builds, demos, tests.
PREFIX   ?= /usr/local
BUILD    ?= build
TESTDIR  ?= build-test
BENCHDIR ?= build-bench
BENCH_N  ?= 1000000
FUZZDIR  ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE    ?= cmake

DEB_PACKAGES := build-essential cmake pkg-config libssl-dev liblmdb-dev lmdb-utils libcbor-dev \
                libcmocka-dev libinih-dev libjansson-dev python3 python3-cbor2 \
                python3-cryptography

# Only for `make fuzz`: clang and its libFuzzer/sanitizer runtimes.
FUZZ_PACKAGES := clang libclang-rt-dev
FUZZ_HARNESSES := entry export receipt policy batch

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo test bench torture fuzz install clean format

all: build

# Install only what is missing, so a machine that has everything never calls apt.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	$(CMAKE) --build $(BUILD) -j $(JOBS)

demo: build
	RXLEDGER=$(CURDIR)/$(BUILD)/cli/rxledger TAMPER=$(CURDIR)/$(BUILD)/tests/tools/rxl-tamper \
	  bash cli/demo.sh $(CURDIR)/demo-ledger

# The optimised build runs first: -O2 sees warnings (truncation, flow) that -O0 does not.
test: build
	$(CMAKE) -S . -B $(TESTDIR) -DCMAKE_BUILD_TYPE=Debug -DRXLEDGER_SANITIZE=ON
	$(CMAKE) --build $(TESTDIR) -j $(JOBS)
	cd $(TESTDIR) && ctest --output-on-failure -j $(JOBS)

# The long versions of the crash tests (docs/reliability.md): 500 kills,
# 500 power cuts, 4 writers x 1,000 appends with readers.
torture: build
	RXLEDGER=$(CURDIR)/$(BUILD)/cli/rxledger TAMPER=$(CURDIR)/$(BUILD)/tests/tools/rxl-tamper \
	  KILLS=500 bash tests/cli/test_crash.sh
	RXLEDGER=$(CURDIR)/$(BUILD)/cli/rxledger TAMPER=$(CURDIR)/$(BUILD)/tests/tools/rxl-tamper \
	  PC_SHIM=$(CURDIR)/$(BUILD)/tests/powercut/pc_shim.so CUTS=500 PC_STEPS=250 \
	  bash tests/cli/test_powercut.sh
	RXLEDGER=$(CURDIR)/$(BUILD)/cli/rxledger TAMPER=$(CURDIR)/$(BUILD)/tests/tools/rxl-tamper \
	  CONC_N=1000 bash tests/cli/test_concurrency4.sh

# A Release tree, then the table of figures against this machine's own limits
# (docs/performance.md). BENCH_N=100000 for a quick run; the 10M-entry ledger
# of the second proof row (BENCH_PROOF_N, 0 skips it) is written once and kept
# in $(BENCHDIR)/proofs.
bench: deps
	$(CMAKE) -S . -B $(BENCHDIR) -DCMAKE_BUILD_TYPE=Release
	$(CMAKE) --build $(BENCHDIR) -j $(JOBS) --target rxl-bench rxledger
	rm -rf $(BENCHDIR)/data && mkdir -p $(BENCHDIR)/data
	BENCH_PROOF_DIR=$(CURDIR)/$(BENCHDIR)/proofs $(BENCHDIR)/tests/bench/rxl-bench \
	  $(BENCHDIR)/data $(BENCH_N)
	rm -rf $(BENCHDIR)/data

# libFuzzer (clang) on each harness of tests/fuzz for FUZZ_SECONDS, on a scratch
# copy of its corpus; fails on any crash, leak or sanitizer report.
fuzz:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_PACKAGES) $(FUZZ_PACKAGES)"
	CC=clang $(CMAKE) -S . -B $(FUZZDIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRXLEDGER_FUZZ=ON
	$(CMAKE) --build $(FUZZDIR) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_HARNESSES))
	bash tests/fuzz/run.sh $(FUZZDIR)/tests/fuzz $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TESTDIR) $(BENCHDIR) $(FUZZDIR) demo-ledger
