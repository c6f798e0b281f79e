# Two commands on a fresh machine: `make demo` and `make test`. Everything they need
# is installed here, pinned: Python packages from uv.lock, Neo4j from Maven Central,
# the npm packages of the federation tests from tests/federation/package-lock.json and
# the browser assets the hub serves itself (GraphiQL, the console's drawing libraries)
# from console/package-lock.json, and the tools that check deploy/: Helm (built from its
# Go module) and kubernetes-validate.

UV_VERSION := 0.13.9
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV := .tools/bin/uv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
NEO4J_BUILT := deploy/neo4j/target/.built
FEDERATION_NPM := tests/federation/node_modules/.installed
CONSOLE_NPM := console/node_modules/.installed
PEER_NPM := bench/peer/node_modules/.installed
# The chart's tools, pinned (tests/deploy fails, never skips, without them).
HELM_VERSION := v4.3.2
KUBERNETES_VALIDATE_VERSION := 1.37.0
HELM_BUILT := .tools/.helm-$(HELM_VERSION)
KUBERNETES_VALIDATE_INSTALLED := .tools/.kubernetes-validate-$(KUBERNETES_VALIDATE_VERSION)

.PHONY: demo test lint typecheck install neo4j neo4j-server postgres-server bench-peer-npm deploy-tools clean

demo: install
	.venv/bin/partnerhub demo

test: install $(NEO4J_BUILT) $(FEDERATION_NPM) deploy-tools lint typecheck
	.venv/bin/pytest

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: install
	.venv/bin/mypy

install: .venv/.synced $(CONSOLE_NPM)

# GraphiQL's scripts and styles (hub/ide.py) and the console's libraries (hub/console),
# served by the hub: no page loads code from another host.
$(CONSOLE_NPM): console/package-lock.json console/package.json
	cd console && npm ci --no-audit --no-fund
	@touch $@

.tools/.bootstrapped: deploy/bootstrap.sh
	./deploy/bootstrap.sh
	@mkdir -p .tools && touch $@

$(UV): .tools/.bootstrapped
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen
	@touch $@

# Apollo composition, gateway and a stand-in subgraph for tests/federation (Node.js).
$(FEDERATION_NPM): tests/federation/package-lock.json tests/federation/package.json
	cd tests/federation && npm ci --no-audit --no-fund
	@touch $@

# @neo4j/graphql on Apollo Server, the peer of bench.peer (not needed by `make test`).
bench-peer-npm: $(PEER_NPM)

$(PEER_NPM): bench/peer/package-lock.json bench/peer/package.json
	cd bench/peer && npm ci --no-audit --no-fund
	@touch $@

deploy-tools: $(HELM_BUILT) $(KUBERNETES_VALIDATE_INSTALLED)

# Helm from source at a pinned version, into .tools/bin (no prebuilt binary can be
# fetched here). The first build takes minutes: see README "Production".
$(HELM_BUILT): .tools/.bootstrapped
	GOBIN=$(CURDIR)/.tools/bin GOFLAGS=-mod=mod go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	@touch $@

# kubernetes-validate bundles Kubernetes' JSON schemas. It needs a newer jsonschema than
# allotropy allows, so it lives in a venv of its own rather than in uv.lock.
$(KUBERNETES_VALIDATE_INSTALLED): $(UV)
	rm -rf .tools/kubernetes-validate
	$(PYTHON) -m venv .tools/kubernetes-validate
	.tools/kubernetes-validate/bin/pip install --quiet kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION)
	@touch $@

neo4j: $(NEO4J_BUILT)

$(NEO4J_BUILT): .tools/.bootstrapped deploy/neo4j/pom.xml $(wildcard deploy/neo4j/src/main/java/partnerhub/neo4j/*.java)
	cd deploy/neo4j && mvn -B -q package
	@touch $@

# A Neo4j for development in the foreground: bolt://127.0.0.1:7687, data in var/neo4j.
neo4j-server: install $(NEO4J_BUILT)
	.venv/bin/python -m deploy.neo4j.launcher --port 7687 --home var/neo4j

# A PostgreSQL for development in the foreground (Debian's binaries): 127.0.0.1:5432,
# user postgres, data in var/postgres.
postgres-server: install
	.venv/bin/python -m deploy.postgres --port 5432 --home var/postgres

clean:
	rm -rf .venv .tools deploy/neo4j/target var tests/federation/node_modules console/node_modules bench/peer/node_modules
