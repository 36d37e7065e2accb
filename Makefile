# The two commands: `make run` and `make test`. Each installs missing Debian
# packages first (scripts/install-deps.sh), then builds with CMake + Ninja.
DATA ?= ./quipu-data
LISTEN ?= 127.0.0.1:8080
# The citizens' OpenID Connect provider (issuer URL). Empty: `make run` starts
# the DEVELOPMENT provider (dev/oidc, test citizens) on OIDC_LISTEN beside the node.
OIDC_ISSUER ?=
OIDC_LISTEN ?= 127.0.0.1:8081
OIDC_CLIENT_ID ?=
OIDC_CLIENT_SECRET_FILE ?=
OIDC_DOCUMENT_CLAIM ?=
JOBS ?= $(shell nproc)
# `make test` also runs the whole suite under ASan + UBSan (build-asan/);
# SANITIZE=0 skips that second pass for a quicker local loop.
SANITIZE ?= 1

.PHONY: run test bench national build deps deps-bench asan release fuzz clean

deps:
	@scripts/install-deps.sh

deps-bench:
	@scripts/install-deps.sh --bench

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

run: build
	DATA='$(DATA)' LISTEN='$(LISTEN)' OIDC_ISSUER='$(OIDC_ISSUER)' OIDC_LISTEN='$(OIDC_LISTEN)' \
	  OIDC_CLIENT_ID='$(OIDC_CLIENT_ID)' OIDC_CLIENT_SECRET_FILE='$(OIDC_CLIENT_SECRET_FILE)' \
	  OIDC_DOCUMENT_CLAIM='$(OIDC_DOCUMENT_CLAIM)' \
	  scripts/run-dev.sh ./build/quipu serve --data $(DATA) --listen $(LISTEN)

test: build
	ctest --preset default -j $(JOBS)
	@$(MAKE) --no-print-directory release
ifneq ($(SANITIZE),0)
	@$(MAKE) --no-print-directory asan
endif

bench: deps-bench build
	bench/run-all.sh

# Bolivia's whole history (31.2M approvals; N= for fewer): ingest, the raw
# LMDB ceiling, audit, bytes per entry (bench/national.sh).
national: build
	bench/national.sh

# libFuzzer targets with clang, 60 s each; found inputs join tests/fuzz/corpus.
fuzz:
	bench/fuzz.sh 60

# What a packager builds: Release (-O3) with warnings as errors, and its tests.
release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	ctest --preset release -j $(JOBS)

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

clean:
	rm -rf build build-asan build-release build-fuzz
