# The one test command: `make test` runs every check the project has.
# Tools that are not on the machine are installed into a cache outside the
# clone ($(TOOLS)), from the package registries.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TOOLS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/datastudio-gateway/tools
BUF_VERSION := 1.75.0
BUF := $(TOOLS)/node_modules/.bin/buf
CARGO_DENY_VERSION := 0.20.2
CARGO_DENY := $(TOOLS)/cargo-deny-$(CARGO_DENY_VERSION)/bin/cargo-deny
export PATH := $(TOOLS)/node_modules/.bin:$(PATH)

.PHONY: test fmt-check clippy deny cargo-test redis-server proto-lint helm-test demo-smoke clients-test browser-test gen-clients proto-baseline demo build bench profile instructions

test: fmt-check clippy deny cargo-test proto-lint helm-test demo-smoke clients-test browser-test
	@echo "make test: all checks passed"

demo:
	cargo run --release -- demo

build:
	cargo build --release --locked

# Benchmarks (not part of `test`, which only builds and self-checks them):
# the README "Performance" table, a flamegraph of the gateway under load, and instructions per
# call under callgrind.
bench:
	bash bench/run.sh

profile:
	bash bench/profile.sh

instructions:
	bash bench/instructions.sh

fmt-check:
	cargo fmt --all -- --check

# Twice: with every target (tests turn on the test-util feature), and the
# shipped library and binary alone, where test-only code is absent and any
# code only tests use shows up as dead.
clippy:
	cargo clippy --all-targets --locked -- -D warnings
	cargo clippy --locked -- -D warnings

# Licences and banned crates (deny.toml); built once into the tools cache from crates.io.
$(CARGO_DENY):
	cargo install cargo-deny --version $(CARGO_DENY_VERSION) --locked --root $(TOOLS)/cargo-deny-$(CARGO_DENY_VERSION)

deny: $(CARGO_DENY)
	$(CARGO_DENY) --locked check licenses bans

cargo-test: redis-server
	cargo test --all-targets --locked

# The shared-limiter tests (tests/redis.rs) start a real redis-server: install Debian's
# package when it is missing (idempotent, non-interactive).
redis-server:
	bash scripts/install-redis-server.sh

$(BUF):
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --silent @bufbuild/buf@$(BUF_VERSION)

proto-lint: $(BUF)
	$(BUF) lint
	$(BUF) format --diff --exit-code proto

helm-test:
	@if [ -x scripts/helm-test.sh ] || [ -f scripts/helm-test.sh ]; then bash scripts/helm-test.sh; else echo "helm: no chart yet"; fi

demo-smoke:
	bash scripts/demo-smoke.sh

# Client stubs (clients/): Go, Python, Java and TypeScript suites against one
# demo gateway, generated code freshness, buf breaking against the baseline.
clients-test:
	TOOLS=$(TOOLS) BUF_VERSION=$(BUF_VERSION) bash scripts/clients-test.sh

# The TypeScript client in headless Chromium (from the distribution's packages) over
# gRPC-Web, cross-origin, against a demo gateway.
browser-test:
	TOOLS=$(TOOLS) bash scripts/browser-test.sh

# Regenerate the checked-in client stubs after a proto change.
gen-clients:
	TOOLS=$(TOOLS) BUF_VERSION=$(BUF_VERSION) bash scripts/gen-clients.sh

# Move the API compatibility baseline to the current protos: only in a commit
# that deliberately breaks datastudio.v1 (and says why), see README.
proto-baseline: $(BUF)
	$(BUF) build --exclude-source-info -o proto/baseline/datastudio-v1.binpb
