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

test: deps
	$(CARGO) test --locked --all-targets

# Figures for doc/performance.md (journal, live and bans need root).
bench: deps
	$(CARGO) bench --locked --bench workflow
	$(CARGO) bench --locked --bench journal
	$(CARGO) bench --locked --bench live
	$(CARGO) bench --locked --bench bans

# The Debian package: target/debian/banwarden_VERSION-1_ARCH.deb, and its
# debug symbols beside it (banwarden-dbgsym_*.ddeb). packaging/README.md
# says what is in it.
deb: deps
	$(CARGO) deb --locked

clean:
	$(CARGO) clean
