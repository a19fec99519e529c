#!/bin/sh
# Set up everything a command needs, from a fresh clone, idempotently.
#   scripts/bootstrap.sh run    virtual environment with the runtime dependencies
#   scripts/bootstrap.sh test   the same with the test dependencies, plus the Debian packages the
#                               tests drive (real apt/dpkg, dnf/rpm, zypper, Chromium), installed with
#                               apt-get when running as root
set -eu
cd "$(dirname "$0")/.."
purpose=${1:-run}
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}

say() { printf '%s\n' "bootstrap: $*" >&2; }

# Debian packages the tests drive. Each line: package, then a command that proves it is present.
TEST_DEBS="dnf:dnf rpm:rpmbuild createrepo-c:createrepo_c zypper:zypper apt-utils:apt-ftparchive dpkg-dev:dpkg-scanpackages chromium:chromium"

need_apt() {
    missing=""
    for pair in $TEST_DEBS; do
        pkg=${pair%%:*}; cmd=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
    done
    printf '%s' "$missing"
}

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    say "the control plane needs Python >= 3.11; $PY is $("$PY" --version 2>&1). Set PYTHON=python3.11 or newer."
    exit 2
fi

if [ "$purpose" = test ]; then
    missing=$(need_apt)
    if [ -n "$missing" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            say "installing Debian packages:$missing"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
        else
            say "not root: Debian packages$missing are missing; the tests that drive them will skip"
        fi
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY" -m venv "$VENV" 2>/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            say "installing python3-venv"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$VENV"; "$PY" -m venv "$VENV"
        else
            say "cannot create a virtual environment: install python3-venv"; exit 2
        fi
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip
fi

extras=""; [ "$purpose" = test ] && extras="[test]"
stamp="$VENV/.installed-$purpose-$(cat pyproject.toml | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
    say "installing Python dependencies ($purpose)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".$extras"
    touch "$stamp"
fi
