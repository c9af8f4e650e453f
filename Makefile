# banwarden: build, demo, test. Every target installs missing build
# dependencies first (Debian packages; needs root the first time).

CARGO ?= cargo
BIN := target/release/banwarden

.PHONY: all deps build demo test bench clean

all: build

deps:
	@sh packaging/install-build-deps.sh

build: deps
	$(CARGO) build --release --locked

# Runs the rules of examples/recidive.json over a recorded sshd attack and
# shows what banwarden would do, one JSON line per effect.
demo: build
	@echo "== check examples/recidive.json"
	@$(BIN) check --config examples/recidive.json
	@echo "== replay examples/attack.export through it (effects on stdout, summary on stderr)"
	@$(BIN) replay --config examples/recidive.json --input examples/attack.export

test: deps
	$(CARGO) test --locked --all-targets

# Figures for doc/performance.md.
bench: deps
	$(CARGO) bench --locked --bench workflow

clean:
	$(CARGO) clean
