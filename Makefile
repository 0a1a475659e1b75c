# One entry point for people and CI: `make run`, `make test`, `make lint`, `make bench`.
#
# Builds go to a fixed cache outside the clone unless CARGO_TARGET_DIR is set, so every clone
# and worktree reuses the one release build of RocksDB (a cold build takes several minutes).

SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/rockslot/target
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: deps build run test lint bench

deps:
	scripts/install-deps.sh

build: deps
	cargo build --release --bin rockslot

run: build
	scripts/run.sh

test: deps
	cargo test --release --workspace

lint: deps
	cargo fmt --all -- --check
	cargo clippy --release --workspace --all-targets -- -D warnings

bench: build
	cargo build --release --example txbench --example streambench
	scripts/bench.sh
