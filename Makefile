# RankEdge: `make demo` runs the main path on the shipped model; `make test` runs every test.
SWIFT ?= swift
CONFIG ?= release
BIN = .build/$(CONFIG)/rankedge

.PHONY: build demo test fuzz swift-test tool-checks clean

build:
	@tools/setup.sh build
	$(SWIFT) build -c $(CONFIG) --product rankedge

demo: build
	$(BIN) demo

# Unit tests, then every tools/check_*.sh (file format interop, NEON under qemu, ONNX cross-checks).
test:
	@tools/setup.sh test
	$(SWIFT) build -c $(CONFIG) --product rankedge
	$(SWIFT) test
	@set -e; for t in tools/check_*.sh; do [ -e "$$t" ] || continue; echo "== $$t"; bash "$$t" $(BIN); done

# Every reader of untrusted files under libFuzzer + AddressSanitizer, FUZZ_SECONDS each (tools/fuzz.sh).
FUZZ_SECONDS ?= 300
fuzz:
	@tools/setup.sh build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

clean:
	rm -rf .build out
