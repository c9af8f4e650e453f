# banwarden: build, demo, test. Every target installs missing build
# dependencies first (Debian packages; needs root the first time).

CARGO ?= cargo
BIN := target/release/banwarden

.PHONY: all deps build demo test bench deb clean

all: build

deps:
	@sh packaging/install-build-deps.sh

build: deps
	$(CARGO) build --release --locked

# The real daemon in a sandbox (a network namespace and a private journald,
# both removed afterwards): an SSH brute force, banned, then escalated.
demo: build
	@bash examples/demo.sh $(BIN)

# clippy with one lint denied: time is read through crate::time::Clock
# (clippy.toml), so that every schedule can be tested with a fake clock.
test: deps
	$(CARGO) clippy --locked --lib --bins -- -A clippy::all -D clippy::disallowed_methods
	$(CARGO) test --locked --all-targets

# Every benchmark, medians of 5 runs, and doc/performance.md rewritten
# from them (benches/suite.py; needs root, about 22 minutes, 7 of them
# for the spray of 10,000,000 addresses).
bench: build
	python3 benches/suite.py

deb: deps
	$(CARGO) deb --locked

clean:
	$(CARGO) clean
