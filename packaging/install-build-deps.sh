#!/bin/sh
# Installs what building and testing banwarden needs on Debian, if missing.
# Used by `make` and by CI; safe to run again (it installs nothing twice).
set -eu

# Build: pkg-config, and the headers of libsystemd (journal), libnftnl and
# libmnl (nftables over netlink).
# Tests: python3 (fixture generators), util-linux's logger, iproute2 (network
# namespaces), nftables and ipset (to read sets back), systemd-journal-remote
# (journal files from export text), systemd-container and debootstrap (the
# units under a real systemd, in a container), groff-base (the man page
# must render without warnings), curl, openssl and python3-jsonschema (the REST
# API driven by a real client over TLS, its answers checked against
# doc/openapi.json).
# The metrics: python3-prometheus-client (the OpenMetrics text parsed by
# Prometheus' own Python parser).
# Packaging: dpkg-dev (dpkg-shlibdeps finds the .deb's dependencies).
# Benchmarks: time (GNU time: a command's peak RSS, `make bench`), wrk (REST
# bans over TLS, `make bench`).
# The API servers' tests and benchmarks: redis-tools (redis-cli, --pipe,
# --tls), python3-redis (redis-py), openssl (the tests' own CA), curl,
# python3-jsonschema (answers checked against doc/openapi.json).
# The fleet's tests: redis-server, of which they start instances of their own
# (a Unix socket in a temporary directory, or loopback in a network
# namespace; a primary and a replica; AOF), stopped by PID. The system's
# Redis is never used: see below how installing the package starts none.
packages="pkg-config libsystemd-dev libnftnl-dev libmnl-dev python3 iproute2 util-linux nftables ipset systemd-journal-remote systemd-container debootstrap groff-base dpkg-dev time redis-tools redis-server python3-redis openssl wrk curl python3-jsonschema python3-prometheus-client"

missing=""
# The container test of the units: curl asks the REST API over
# banwarden-api.socket.
packages="$packages curl"
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages:$missing; run as root, or: sudo apt-get install$missing" >&2
        exit 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # redis-server's postinst starts the system's Redis: through systemd when
    # it is PID 1, else through /etc/init.d/redis-server (invoke-rc.d), which
    # in a CI container whose runlevel is known would leave a redis-server
    # running on port 6379. Both ways ask policy-rc.d first (invoke-rc.d(8)):
    # while these packages are installed, one that answers 101 ("action
    # forbidden") starts no service at all, unless the system has its own.
    # Under systemd the unit stays enabled, so it starts at the next boot;
    # `systemctl disable redis-server` if that is not wanted.
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# install-build-deps.sh: no service starts while it installs\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install a Rust toolchain (1.89 or newer), e.g. from https://rustup.rs" >&2
    exit 1
fi

# cargo-deb builds the Debian package (`make deb`, and the package test,
# which skips without it). A pinned version, built from crates.io with its
# own lock file; it needs Rust 1.85 or newer. Cargo finds it in
# $CARGO_HOME/bin.
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version >/dev/null 2>&1; then
    echo "installing cargo-deb $CARGO_DEB_VERSION (cargo install, a few minutes)"
    cargo install --quiet --locked --version "$CARGO_DEB_VERSION" cargo-deb
fi

# clippy, for `make test`'s check that time is read through the Clock
# (clippy.toml). A component of the toolchain: rustup adds it if missing.
if ! cargo clippy --version >/dev/null 2>&1; then
    echo "installing clippy (rustup component add clippy)"
    rustup component add clippy
fi
