#!/bin/bash
# The live demo (`make demo`): the real `banwarden run` in a sandbox, banning
# an SSH brute force, then escalating a repeat offender.
#
# It runs the configuration a package installs (etc/banwarden/banwarden.json)
# on the ruleset it ships (etc/nftables/banwarden.nft). The sandbox: a
# network namespace of its own (the host's firewall is not touched), a private journald instance (the
# host's journal is not touched), and a temporary storage directory. Every
# process is stopped by its PID and everything is removed at the end, also
# on Ctrl-C. Needs root. Usage: examples/demo.sh [path/to/banwarden]
set -euo pipefail

BIN=$(realpath "${1:-target/release/banwarden}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOURNALD=/lib/systemd/systemd-journald
NAME="banwarden-demo-$$"
NETNS="$NAME"
WORK=$(mktemp -d /tmp/banwarden-demo.XXXXXX)
MACHINE_ID=$(cat /etc/machine-id)
JOURNALD_PID="" HOLDER_PID="" DAEMON_PID=""

[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespace, journald instance)" >&2; exit 1; }
for tool in ip nft logger journalctl python3 curl redis-cli "$JOURNALD"; do
    command -v "$tool" > /dev/null || { echo "demo: $tool is missing (make deps installs it)" >&2; exit 1; }
done

cleanup() {
    set +e
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2> /dev/null && wait "$DAEMON_PID" 2> /dev/null
    [ -n "$HOLDER_PID" ] && kill "$HOLDER_PID" 2> /dev/null && wait "$HOLDER_PID" 2> /dev/null
    [ -n "$JOURNALD_PID" ] && kill "$JOURNALD_PID" 2> /dev/null && wait "$JOURNALD_PID" 2> /dev/null
    ip netns delete "$NETNS" 2> /dev/null
    rm -rf "$WORK" "/run/systemd/journal.$NAME" "/run/systemd/journald@$NAME.conf.d" \
        "/var/log/journal/$MACHINE_ID.$NAME" "/run/log/journal/$MACHINE_ID.$NAME"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "sandbox: network namespace $NETNS with etc/nftables/banwarden.nft"
ip netns add "$NETNS"
ip netns exec "$NETNS" nft -f "$ROOT/etc/nftables/banwarden.nft"

say "sandbox: private journald instance $NAME"
mkdir -p "/run/systemd/journald@$NAME.conf.d"
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\nForwardToSyslog=no\nForwardToWall=no\n' \
    > "/run/systemd/journald@$NAME.conf.d/demo.conf"
"$JOURNALD" "$NAME" 2> "$WORK/journald.log" &
JOURNALD_PID=$!
for _ in $(seq 100); do [ -S "/run/systemd/journal.$NAME/stdout" ] && break; sleep 0.05; done
# A hand-started journald instance exits after 30 s without a stream client:
# hold one open for the demo's life.
python3 - "/run/systemd/journal.$NAME/stdout" <<'EOF' &
import signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"banwarden-demo\n\n6\n0\n0\n0\n0\n")
signal.sigwait([signal.SIGTERM])
EOF
HOLDER_PID=$!

# In a sandbox, entries cannot carry journald's trusted _SYSTEMD_UNIT field
# (there is no ssh.service, and the daemon is not banwarden.service), so
# this copy of the default configuration routes sshd lines on
# SYSLOG_IDENTIFIER (still with the test of _UID 0) and takes banwarden's
# own lines on _UID 0, the user the daemon runs as here, instead of its
# unit. On a real server, keep _SYSTEMD_UNIT: any local user can write
# lines with the identifier "sshd" (doc/security.md).
python3 - "$ROOT/etc/banwarden/banwarden.json" "$WORK" > "$WORK/banwarden.json" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
chains = config["actions"]
chains["Route sshd entries"][0]["args"] = {"field": "SYSLOG_IDENTIFIER", "re": "^sshd(?:-session)?$"}
own = chains["Route banwarden's own ban messages"]
uid0 = {"filter": "filter_equals", "args": {"field": "_UID", "value": 0}}
own[:] = [uid0 if step["args"]["field"] == "_SYSTEMD_UNIT" else step for step in own]
config["storage"] = sys.argv[2] + "/state"
# The API servers on Unix sockets of the sandbox (no password: the
# socket's mode guards them).
config["api"] = {"http": ["unix:" + sys.argv[2] + "/api.sock"]}
config["resp"] = {"listen": ["unix:" + sys.argv[2] + "/resp.sock"]}
# `banwarden status` asks the daemon over this socket.
config["control"] = {"socket": sys.argv[2] + "/control"}
json.dump(config, sys.stdout, indent=1)
EOF
in_ns() { ip netns exec "$NETNS" "$@"; }
banwarden() { in_ns "$BIN" --config "$WORK/banwarden.json" "$@"; }

say "banwarden check --kernel"
banwarden check --kernel

say "banwarden run, following journal namespace $NAME"
# Not through a shell function: `ip netns exec` execs banwarden, so $! is
# banwarden's own PID, which the cleanup stops.
ip netns exec "$NETNS" "$BIN" --config "$WORK/banwarden.json" run --journal-namespace "$NAME" 2> "$WORK/daemon.log" &
DAEMON_PID=$!
sleep 0.5

sshd() { logger -u "/run/systemd/journal.$NAME/dev-log" -t sshd "$1"; }
count() { journalctl --namespace "$NAME" --no-pager -q -o cat SYSLOG_IDENTIFIER=banwarden | grep -c "$1" || true; }
wait_for() { # wait_for PATTERN COUNT
    for _ in $(seq 200); do [ "$(count "$1")" -ge "$2" ] && return; sleep 0.05; done
    echo "demo: timed out waiting for \"$1\"; daemon log:" >&2; cat "$WORK/daemon.log" >&2; exit 1
}
attack() { # attack ADDRESS: five failed passwords, the default threshold
    for port in 50001 50002 50003 50004 50005; do sshd "Failed password for root from $1 port $port ssh2"; done
}
show_set() {
    local elements
    elements=$(in_ns nft list set inet banwarden ssh_ban4 | sed -n 's/^[[:space:]]*elements = /elements = /p')
    echo "nft list set inet banwarden ssh_ban4: ${elements:-no elements}"
}

say "an SSH brute force from 203.0.113.7 (5 failed passwords): banned for 1 hour"
attack 203.0.113.7
# The LAN address is on the default allow-list: counted nowhere, never banned.
for port in 1 2 3 4 5 6; do sshd "Failed password for admin from 192.168.1.20 port 4000$port ssh2"; done
wait_for "Ban from SSH for 203.0.113.7" 1
show_set

say "a local user forges banwarden's ban line through syslog: it does not count"
logger -u "/run/systemd/journal.$NAME/dev-log" -t banwarden "Ban from SSH for 198.51.100.66"

say "203.0.113.7 comes back twice more: the third ban in a week is for 30 days"
attack 203.0.113.7
wait_for "Ban from SSH for 203.0.113.7" 2
attack 203.0.113.7
wait_for "Recidive ban from SSH for 203.0.113.7" 1
show_set

say "and three times more: the sixth ban in a year is for good"
for n in 4 5 6; do attack 203.0.113.7; wait_for "Ban from SSH for 203.0.113.7" $n; done
wait_for "Permanent ban from SSH for 203.0.113.7" 1
show_set
if in_ns nft list set inet banwarden ssh_ban4 | grep -q 198.51.100.66; then
    echo "demo: the forged line was acted upon" >&2; exit 1
fi

say "what the journal holds under the name banwarden (the daemon's lines, read back for recidive, and the forgery, which came through syslog, not from the daemon)"
journalctl --namespace "$NAME" --no-pager -o short-precise SYSLOG_IDENTIFIER=banwarden

say "other programs ban through the daemon: rfw's URL with curl, RedisPushIptables' command with redis-cli"
for _ in $(seq 100); do [ -S "$WORK/api.sock" ] && [ -S "$WORK/resp.sock" ] && break; sleep 0.05; done
curl -sS --unix-socket "$WORK/api.sock" -X PUT "http://localhost/drop/input/any/198.51.100.23?expire=10m"; echo
redis-cli -s "$WORK/resp.sock" ttl_drop_insert 198.51.100.0/28 600
say "an accept: 203.0.113.99 is allowed, and the rules' ban of it is refused while it is"
curl -sS --unix-socket "$WORK/api.sock" -X PUT "http://localhost/accept/input/any/203.0.113.99?expire=1h"; echo
attack 203.0.113.99
for _ in $(seq 100); do grep -q "203.0.113.99 is allowed" "$WORK/daemon.log" && break; sleep 0.05; done
grep "203.0.113.99 is allowed" "$WORK/daemon.log" || { echo "demo: the accept did not stop the ban" >&2; exit 1; }
for set in api_drop4 api_drop_net4; do
    in_ns nft list set inet banwarden $set | sed -n "s/^[[:space:]]*elements = /nft list set inet banwarden $set: /p"
done

say "banwarden list: the store and the kernel side by side, with each ban's reason"
banwarden list

say "banwarden why 203.0.113.7: its ban, the rule and counter behind it, the entry found again in the journal"
banwarden why --journal-namespace "$NAME" 203.0.113.7

say "banwarden status: what the running daemon has done"
banwarden status

say "banwarden unban 203.0.113.7: kernel set and store in one step"
banwarden unban 203.0.113.7
show_set

say "the daemon's own log (stderr)"
kill "$DAEMON_PID"; wait "$DAEMON_PID" || true; DAEMON_PID=""
cat "$WORK/daemon.log"
say "done: namespace, journald instance and files removed"
