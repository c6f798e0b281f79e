#!/usr/bin/env bash
# Installs the system tools the build needs when a fresh machine lacks them
# (Debian packages), then nothing else. Safe to run again.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# Helm, for the chart's tests, is built from its Go module (`make deploy-tools`).
command -v go >/dev/null 2>&1 || missing+=(golang-go)
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || missing+=(python3 python3-venv)
# The tests start their own PostgreSQL from /usr/lib/postgresql/<version>/bin (the
# package's own cluster and service are not used).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# Browser tests run in Debian's Chromium (headless).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi
