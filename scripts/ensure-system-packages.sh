#!/usr/bin/env bash
# Make sure the Debian packages the test suite needs are installed, e.g.
#
#     scripts/ensure-system-packages.sh postgresql mosquitto
#
# The real-server tests (PostgreSQL, Mosquitto) need the server binaries, not just client
# libraries; the browser test needs Debian's Chromium. Installs what is missing when we are
# root or have passwordless sudo (CI, dev containers); otherwise says exactly what to install
# and exits 1, rather than prompting.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 PACKAGE..." >&2
    echo "  e.g. $0 postgresql mosquitto" >&2
    exit 2
fi

# Check for what the tests actually run rather than for the package name alone: Debian keeps
# initdb off PATH in a versioned directory, and mosquitto may come from another source.
is_installed() {
    local package=$1
    case "$package" in
        postgresql)
            compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
            ;;
        mosquitto)
            command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto
            ;;
        nginx)
            # The slow-client test runs this binary unprivileged, with a config of its own.
            test -x /usr/sbin/nginx
            ;;
        systemd)
            # tests/test_production.py validates the units with systemd-analyze (no running
            # systemd needed).
            test -x /usr/bin/systemd-analyze
            ;;
        openssl)
            # tests/test_production.py makes a self-signed certificate for nginx with it.
            command -v openssl >/dev/null 2>&1
            ;;
        chromium)
            # The browser test launches exactly this binary (Playwright never downloads one).
            test -x /usr/bin/chromium
            ;;
        *)
            # `dpkg -s` also succeeds for removed packages whose config files remain.
            dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'
            ;;
    esac
}

missing=()
for package in "$@"; do
    if ! is_installed "$package"; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "System packages present: $*"
    exit 0
fi

install_hint() {
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
}

if ! command -v apt-get >/dev/null 2>&1; then
    install_hint
    echo "(apt-get not found: install the equivalent packages with your system's package manager)" >&2
    exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
else
    install_hint
    exit 1
fi

echo "Installing system packages: ${missing[*]}"
${as_root[@]+"${as_root[@]}"} apt-get update
# `env` because sudo may drop DEBIAN_FRONTEND; noninteractive keeps postinst from prompting.
${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"

still_missing=()
for package in "${missing[@]}"; do
    if ! is_installed "$package"; then
        still_missing+=("$package")
    fi
done
if [[ ${#still_missing[@]} -gt 0 ]]; then
    echo "Still missing after apt-get install: ${still_missing[*]}" >&2
    exit 1
fi
echo "System packages present: $*"
