#!/usr/bin/env bash
# Install imgpub from this action's own checkout into a private virtual environment.
#
# Called by the install step of every composite action in actions/<name>/action.yml:
#
#   - name: Install imgpub
#     id: install
#     shell: bash
#     env:
#       IMGPUB_PYTHON: ${{ steps.setup-python.outputs.python-path }}
#       IMGPUB_EXTRAS: aws
#     run: bash "$GITHUB_ACTION_PATH/../_shared/install.sh"
#
# What runs in a release is exactly what is locked: requirements/<extras>.txt pins every
# runtime dependency of those extras by version and hash (scripts/lock.py writes them;
# Dependabot refreshes them), and the install refuses anything else (--require-hashes,
# --no-deps). imgpub itself is not built: its lib/ is copied into the venv and put on the
# path with a .pth file, so no build backend is downloaded at install time.
#
# Why a venv of our own: the caller's job may have any Python, any packages and any PATH;
# imgpub must neither depend on them nor disturb them (setup-python runs with
# update-environment: false for the same reason).
#
# Why under RUNNER_TEMP, never the tool cache: a venv is code that will run with the job's
# credentials. The runner empties RUNNER_TEMP at the start and end of every job, so a venv
# found there was written by this job (a second imgpub step reuses it in well under a
# second). A venv in the tool cache survives jobs on self-hosted runners, and anyone whose
# job ran there earlier could have planted one under the (public, computable) key. The same
# goes for uv's cache, which is therefore job-private too. A fresh install takes a few
# seconds with uv, so nothing is worth trusting across jobs.
#
# Environment (all optional except IMGPUB_PYTHON):
#   IMGPUB_PYTHON             interpreter to build the venv from (setup-python's python-path)
#   IMGPUB_EXTRAS             pip extras, e.g. "aws" or "azure,aws" (default: none)
#   IMGPUB_INSTALLER          auto (default: uv, else pip), uv or pip
#   IMGPUB_PREINSTALLED_VENV  a venv that already has imgpub (the test harness points this at
#                             the dev venv): used as is, nothing is installed
#   RUNNER_TEMP               the job's private temp folder (the runner always sets it);
#                             outside Actions a private folder under TMPDIR is used
#
# Output (GITHUB_OUTPUT): venv=<path>. The run step receives it through env:
#   IMGPUB_VENV: ${{ steps.install.outputs.venv }}
# Nothing is written to GITHUB_ENV: the caller's later steps stay untouched.
set -euo pipefail

UV_VERSION=0.13.9   # must match requirements/uv.txt

fail() {
  echo "::error title=imgpub install::$1"
  exit 1
}

write_output() {
  # Values are a path (no newline), so the simple NAME=value form is safe.
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  else
    printf '%s=%s\n' "$1" "$2"
  fi
}

[[ $# -eq 0 ]] || fail "unexpected argument '$1'; install.sh takes none (see its header)."

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
lock_name="$(printf '%s' "$extras" | tr ',' '\n' | LC_ALL=C sort | paste -sd- -)"
lock="$repo_root/requirements/${lock_name:-core}.txt"
[[ -f "$lock" ]] || fail "no lock file requirements/${lock_name:-core}.txt for extras '$extras'; run scripts/lock.py."

installer="${IMGPUB_INSTALLER:-auto}"
case "$installer" in auto | uv | pip) ;; *) fail "IMGPUB_INSTALLER=$installer must be auto, uv or pip." ;; esac

# A folder only this job (or, outside Actions, only this user) can have written.
if [[ -n "${RUNNER_TEMP:-}" ]]; then
  private="$RUNNER_TEMP/imgpub"
else
  private="${TMPDIR:-/tmp}/imgpub-$(id -u)"
fi
mkdir -p "$private"
chmod 700 "$private"
[[ -O "$private" ]] || fail "$private is not owned by $(id -un); refusing to install or run code from it."

# Content key: the files that make up this install, the interpreter and the extras.
key="$(
  {
    cd "$repo_root"
    printf 'python %s\nextras %s\ninstaller %s\n' "$("$python" -c 'import sys; print(sys.version)')" "$extras" "$installer"
    find pyproject.toml lib "requirements/$(basename "$lock")" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | LC_ALL=C sort -z \
      | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)"
venv="$private/venv-$key"
marker="$venv/.imgpub-complete"

if [[ -f "$marker" && -x "$venv/bin/imgpub" ]]; then
  echo "Reusing imgpub venv $venv (built earlier in this job)"
  write_output venv "$venv"
  exit 0
fi

quiet=(--quiet)
[[ "${RUNNER_DEBUG:-}" == "1" ]] && quiet=()

find_uv() {
  # A uv of the pinned version on PATH, else one bootstrapped from its hash-pinned wheel.
  local found
  if found="$(command -v uv 2>/dev/null)" && [[ "$("$found" --version 2>/dev/null)" == "uv $UV_VERSION"* ]]; then
    printf '%s\n' "$found"
    return 0
  fi
  local tools="$private/uv-$UV_VERSION"
  if [[ ! -x "$tools/bin/uv" ]]; then
    rm -rf "$tools"
    "$python" -m pip install "${quiet[@]}" --disable-pip-version-check --no-input --no-deps \
      --only-binary :all: --require-hashes --target "$tools" -r "$repo_root/requirements/uv.txt" \
      >&2 || return 1
  fi
  [[ -x "$tools/bin/uv" ]] || return 1
  printf '%s\n' "$tools/bin/uv"
}

echo "::group::Installing imgpub (${extras:-core}) into $venv"
rm -rf "$venv"
uv=""
if [[ "$installer" != pip ]]; then
  uv="$(find_uv)" || uv=""
  [[ -n "$uv" || "$installer" == auto ]] || { echo "::endgroup::"; fail "uv $UV_VERSION is not available (IMGPUB_INSTALLER=uv)."; }
fi
if [[ -n "$uv" ]]; then
  echo "installer: $uv ($UV_VERSION)"
  "$uv" venv "${quiet[@]}" --python "$python" "$venv"
  # The platform's certificate store, as pip uses: runners behind a TLS-inspecting proxy
  # trust its CA there.
  UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}" UV_CACHE_DIR="$private/uv-cache" "$uv" pip install "${quiet[@]}" --python "$venv/bin/python" \
    --require-hashes --no-deps -r "$lock" \
    || { echo "::endgroup::"; fail "uv could not install the locked dependencies (see the log above); re-run, or check the package index."; }
else
  echo "installer: pip"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install "${quiet[@]}" --disable-pip-version-check --no-input \
    --require-hashes --no-deps -r "$lock" \
    || { echo "::endgroup::"; fail "pip could not install the locked dependencies (see the log above); re-run, or check the package index."; }
fi

# imgpub itself: a private copy of lib/ on the venv's path, and a launcher.
mkdir -p "$venv/imgpub"
cp -R "$repo_root/lib" "$venv/imgpub/lib"
find "$venv/imgpub/lib" \( -name '__pycache__' -o -name '*.egg-info' \) -prune -exec rm -rf {} +
purelib="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "$venv/imgpub/lib" >"$purelib/imgpub.pth"
cat >"$venv/bin/imgpub" <<LAUNCHER
#!$venv/bin/python
import sys

from imgpub.cli import main

sys.exit(main())
LAUNCHER
chmod 755 "$venv/bin/imgpub"
"$venv/bin/imgpub" --version >/dev/null || { echo "::endgroup::"; fail "the installed imgpub does not start; see the log above."; }
echo "::endgroup::"
touch "$marker"

write_output venv "$venv"
