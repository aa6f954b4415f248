#!/usr/bin/env bash
# Install imgpub from this action's own checkout into an isolated virtual environment.
#
# Called by the install step of every composite action in actions/<name>/action.yml:
#
#   - name: Install imgpub
#     id: install
#     shell: bash
#     env:
#       IMGPUB_PYTHON: ${{ steps.setup-python.outputs.python-path }}
#     run: bash "$GITHUB_ACTION_PATH/../_shared/install.sh"
#
# Why a venv of our own: the caller's job may have any Python, any packages and any PATH;
# imgpub must neither depend on them nor disturb them (setup-python runs with
# update-environment: false for the same reason).
#
# Why keyed by a content hash: the venv lives under $RUNNER_TOOL_CACHE/imgpub/<key>, where
# <key> hashes pyproject.toml, every file under lib/, the interpreter's version and the
# extras. A second imgpub step in the same job (or a re-run on a self-hosted runner) finds
# the finished venv and skips pip entirely; a different imgpub ref gets a different key, so
# two versions never share a venv. A venv records absolute paths, so it is built in place and
# marked complete only at the very end; a half-built one (a cancelled job) is rebuilt.
#
# Environment (all optional except IMGPUB_PYTHON):
#   IMGPUB_PYTHON             interpreter to build the venv from (setup-python's python-path)
#   IMGPUB_EXTRAS             pip extras, e.g. "aws" or "aws,github" (default: none)
#   IMGPUB_PREINSTALLED_VENV  a venv that already has imgpub (the test harness points this at
#                             the dev venv): used as is, nothing is installed
#   RUNNER_TOOL_CACHE         cache root (the runner always sets it; falls back to RUNNER_TEMP
#                             or /tmp outside Actions)
#
# Usage: install.sh [--print-key]
#   --print-key  only write key=<content key> and venv=<path> (for an actions/cache step)
#
# Output (GITHUB_OUTPUT): venv=<path>. The run step receives it through env:
#   IMGPUB_VENV: ${{ steps.install.outputs.venv }}
# Nothing is written to GITHUB_ENV: the caller's later steps stay untouched.
set -euo pipefail

fail() {
  echo "::error title=imgpub install::$1"
  exit 1
}

write_output() {
  # Values are a path or a hex key (no newline), so the simple NAME=value form is safe.
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  else
    printf '%s=%s\n' "$1" "$2"
  fi
}

print_key=false
case "${1:-}" in
  --print-key) print_key=true ;;
  "") ;;
  *) fail "unknown argument '$1'; the only option is --print-key" ;;
esac

if [[ -n "${IMGPUB_PREINSTALLED_VENV:-}" ]]; then
  [[ -x "$IMGPUB_PREINSTALLED_VENV/bin/python" ]] \
    || fail "IMGPUB_PREINSTALLED_VENV=$IMGPUB_PREINSTALLED_VENV has no bin/python; unset it or point it at a venv with imgpub installed."
  echo "Using the preinstalled venv $IMGPUB_PREINSTALLED_VENV"
  write_output venv "$IMGPUB_PREINSTALLED_VENV"
  exit 0
fi

python="${IMGPUB_PYTHON:-}"
[[ -n "$python" ]] || fail "IMGPUB_PYTHON is not set; pass steps.setup-python.outputs.python-path to the install step through env:."
[[ -x "$python" ]] || fail "IMGPUB_PYTHON=$python is not an executable interpreter."

# The repository root is two levels above this script (actions/_shared/install.sh). -P resolves
# symlinks, so a symlinked _shared (the test harness's sample action uses one) still finds it.
script_dir="$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -P "$script_dir/../.." && pwd)"
[[ -f "$repo_root/pyproject.toml" ]] || fail "no pyproject.toml at $repo_root; the action checkout is incomplete."

extras="${IMGPUB_EXTRAS:-}"
extras="${extras// /}"
[[ "$extras" =~ ^[a-z0-9,-]*$ ]] || fail "IMGPUB_EXTRAS='$extras' must be a comma-separated list of extras such as 'aws,github'."

# Content key: the files pip would install, the interpreter and the extras.
key="$(
  {
    cd "$repo_root"
    printf 'python %s\nextras %s\n' "$("$python" -c 'import sys; print(sys.version)')" "$extras"
    find pyproject.toml lib -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | LC_ALL=C sort -z \
      | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)"

cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/imgpub"
venv="$cache_root/$key"
marker="$venv/.imgpub-complete"

if [[ "$print_key" == true ]]; then
  # For an actions/cache step between "compute key" and "install" (see actions/README.md).
  write_output key "$key"
  write_output venv "$venv"
  exit 0
fi

if [[ -f "$marker" && -x "$venv/bin/imgpub" ]]; then
  echo "Reusing imgpub venv $venv (key $key)"
  write_output venv "$venv"
  exit 0
fi

echo "::group::Installing imgpub into $venv"
rm -rf "$venv"
mkdir -p "$cache_root"
"$python" -m venv "$venv"
quiet=(--quiet)
[[ "${RUNNER_DEBUG:-}" == "1" ]] && quiet=()
# Build from a private copy of exactly the hashed files (plus the README pyproject.toml names):
# setuptools writes build/ and *.egg-info next to the sources, and the action's checkout
# should stay as it was fetched.
src="$(mktemp -d "${RUNNER_TEMP:-/tmp}/imgpub-src.XXXXXX")"
trap 'rm -rf "$src"' EXIT
cp "$repo_root/pyproject.toml" "$src/"
[[ -f "$repo_root/README.md" ]] && cp "$repo_root/README.md" "$src/"
cp -R "$repo_root/lib" "$src/lib"
find "$src/lib" \( -name '__pycache__' -o -name '*.egg-info' \) -prune -exec rm -rf {} +
target="$src"
[[ -n "$extras" ]] && target="$src[$extras]"
if ! "$venv/bin/python" -m pip install "${quiet[@]}" --disable-pip-version-check --no-input "$target"; then
  echo "::endgroup::"
  fail "pip could not install $target (see the log above); re-run, or check the package index."
fi
echo "::endgroup::"
[[ -x "$venv/bin/imgpub" ]] || fail "pip finished but $venv/bin/imgpub is missing."
touch "$marker"

write_output venv "$venv"
