#!/bin/bash
# check-units.sh BINARY REPO_ROOT
#
# Checks banwarden's systemd units under a real systemd as PID 1: boots a
# Debian bookworm container with systemd-nspawn (own network namespace, so
# the host's ruleset is never touched), installs BINARY, the units, the
# configuration and the ruleset of REPO_ROOT, and prints PASS/FAIL per check.
# Exit status: 0 if every check passed, 1 otherwise, 2 on a setup error.
#
# Environment:
#   BASE=REPO_ROOT/target/nspawn/root  cached debootstrap tree (created when missing;
#                               never modified: the container runs on an overlay above it)
#   WORK=REPO_ROOT/target/nspawn/run   scratch directory (overlay upper, logs)
#   MIRROR=http://deb.debian.org/debian
#   SUITE=bookworm              Debian suite debootstrapped when BASE is missing
#   DEB=path/to/banwarden.deb   install this package (dpkg -i: its maintainer scripts
#                               make the user and enable the units) instead of
#                               BINARY and REPO_ROOT's files; REPO_ROOT still gives
#                               the probe's unit and the checks' expectations
#   KEEP=1                      leave the container running and the overlay in place
#   WATCHDOG_WAIT=65            seconds the daemon must survive with WatchdogSec=30s
#   SECCOMP_KILL=1              extra phase: denied system calls kill (SIGSYS) instead
#                               of EPERM, and dmesg is searched for seccomp audit lines
# Needs root, systemd-container, debootstrap and curl (apt-get install systemd-container
# debootstrap curl: the host's curl talks to the API through /proc/LEADER/root). Works without systemd on the host (no machined: --register=no
# --keep-unit, the container in a cgroup of its own).
set -u
BIN=${1:?usage: check-units.sh BINARY REPO_ROOT}
REPO=${2:?usage: check-units.sh BINARY REPO_ROOT}
BIN=$(readlink -f "$BIN"); REPO=$(readlink -f "$REPO")
HERE=$(dirname "$(readlink -f "$0")")
BASE=${BASE:-$REPO/target/nspawn/root}
WORK=${WORK:-$REPO/target/nspawn/run}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
KEEP=${KEEP:-0}
DEB=${DEB:-}
WATCHDOG_WAIT=${WATCHDOG_WAIT:-65}
SECCOMP_KILL=${SECCOMP_KILL:-1}
MACHINE=bwtest
ROOT=$WORK/root
LOGDIR=$WORK/logs
NSPAWN_PID=
LEADER=
PASSES=0; FAILS=0; FAILED_NAMES=()
T_START=$(date +%s.%N)

say()  { printf '%s\n' "$*"; }
pass() { PASSES=$((PASSES+1)); printf 'PASS  %s\n' "$1"; }
fail() { FAILS=$((FAILS+1)); FAILED_NAMES+=("$1"); printf 'FAIL  %s\n' "$1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/        /'; }
check() { # check NAME DETAIL-ON-FAIL CMD...: PASS if CMD succeeds
    local name=$1 detail=$2; shift 2
    if "$@"; then pass "$name"; else fail "$name" "$detail"; fi
}
die()  { say "SETUP ERROR: $*"; exit 2; }
now()  { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
phase() { say ""; say "== $* =="; PHASE_T=$(now); }
phase_end() { say "   ($1: $(elapsed "$PHASE_T") s)"; TIMES+=("$1 $(elapsed "$PHASE_T")s"); }
TIMES=()

# In the container (nsenter: the command runs with the host's seccomp, not
# nspawn's; it is only used for systemctl, journalctl, nft, banwarden list).
C() { nsenter -t "$LEADER" -a "$@" </dev/null; }
jctl() { C journalctl --no-pager -q "$@"; }
unit_prop() { C systemctl show -P "$2" "$1"; }
wait_until() { # wait_until TIMEOUT CMD...: polls every 0.2 s
    local end; end=$(awk -v t="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + t }'); shift
    until "$@"; do
        awk -v e="$end" -v n="$(now)" 'BEGIN { exit !(n > e) }' && return 1
        sleep 0.2
    done
}
log_count() { # log_count UNIT REGEX: lines of this boot's journal of UNIT matching REGEX
    jctl -b -u "$1" -o cat | grep -cE -- "$2"
}
in_set() { C nft list set inet banwarden "$1" | grep -qF -- "$2"; }
set_line() { C nft list set inet banwarden "$1" | tr -s ' \t\n,' '\n' | grep -A4 -F -- "$2" | tr '\n' ' '; }

brute_force() { # brute_force UNIT LINE-WITH-%d: 5 failures logged as stdout of UNIT.service
    C systemd-run --quiet --wait --collect --unit="$1" -p SyslogIdentifier=sshd \
        sh -c "for i in 1 2 3 4 5; do printf '$2\n' \$i; done" >/dev/null
}

cleanup() {
    if [ "$KEEP" = 1 ] && [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        say "KEEP=1: container left running (nspawn PID $NSPAWN_PID, leader $LEADER); root $ROOT"
        return
    fi
    poweroff_container quiet
    if mountpoint -q "$ROOT"; then umount "$ROOT" || umount -l "$ROOT"; fi
    if [ "$KEEP" != 1 ]; then rm -rf "$WORK/upper" "$WORK/ovl-work"; fi
    for try in 1 2 3 4 5; do
        local left=0
        for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
            [ -d "$h/$MACHINE-check" ] || continue
            find "$h/$MACHINE-check" -depth -type d -exec rmdir {} \; 2>/dev/null
            [ -d "$h/$MACHINE-check" ] && left=1
        done
        [ $left = 0 ] && break; sleep 0.5
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

poweroff_container() {
    [ -n "$NSPAWN_PID" ] || return 0
    kill -0 "$NSPAWN_PID" 2>/dev/null || { NSPAWN_PID=; return 0; }
    local t0; t0=$(now)
    [ -n "$LEADER" ] && kill -RTMIN+4 "$LEADER" 2>/dev/null   # systemd: poweroff
    wait_until 30 eval '! kill -0 '"$NSPAWN_PID"' 2>/dev/null' || {
        kill -TERM "$NSPAWN_PID" 2>/dev/null; wait_until 10 eval '! kill -0 '"$NSPAWN_PID"' 2>/dev/null' ||
        kill -KILL "$NSPAWN_PID" 2>/dev/null; }
    wait "$NSPAWN_PID" 2>/dev/null
    [ "${1:-}" = quiet ] || say "   container powered off in $(elapsed "$t0") s"
    NSPAWN_PID=; LEADER=
}

boot_container() { # boot_container LOGNAME
    local log=$LOGDIR/$1.log
    (
        set --
        if [ ! -d /run/systemd/system ]; then
            # No systemd on the host: nspawn cannot ask machined for a scope, so it
            # runs in a cgroup of its own (the container's systemd manages below it).
            for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
                [ -f "$h/cgroup.procs" ] && mkdir -p "$h/$MACHINE-check" && echo "$BASHPID" > "$h/$MACHINE-check/cgroup.procs"
            done
            [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir -p "/sys/fs/cgroup/$MACHINE-check" &&
                echo "$BASHPID" > "/sys/fs/cgroup/$MACHINE-check/cgroup.procs"
            set -- --register=no --keep-unit
        fi
        # bpf: nspawn's default seccomp filter denies bpf(), and systemd inside then
        # cannot attach IPAddressDeny='s cgroup program ("does not support BPF/cgroup
        # firewalling"); @keyring: KeyringMode= is otherwise skipped.
        SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec setsid systemd-nspawn -b -D "$ROOT" --machine="$MACHINE" \
            --private-network --system-call-filter='bpf @keyring' --console=read-only "$@"
    ) </dev/null >"$log" 2>&1 &
    NSPAWN_PID=$!
    LEADER=
    wait_until 30 eval 'LEADER=$(pgrep -P '"$NSPAWN_PID"' -x systemd)' || { tail -20 "$log"; return 1; }
    local state
    wait_until 60 eval 'state=$(C systemctl is-system-running 2>/dev/null); case $state in running|degraded) true;; *) false;; esac'
    say "   system state: ${state:-unknown} (nspawn PID $NSPAWN_PID, leader $LEADER, log $log)"
    [ "$state" = running ]
}

# ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root"
command -v systemd-nspawn >/dev/null || die "systemd-nspawn missing (apt-get install systemd-container)"
[ -x "$BIN" ] || die "no executable $BIN"
for f in packaging/systemd/banwarden.service packaging/systemd/banwarden-boot.service \
         etc/banwarden/banwarden.json etc/nftables/banwarden.nft; do
    [ -f "$REPO/$f" ] || die "missing $REPO/$f"
done
pgrep -x systemd-nspawn >/dev/null && die "a systemd-nspawn is already running: $(pgrep -a -x systemd-nspawn)"
HOST_RULESET=$(nft list ruleset 2>/dev/null | sha256sum)
mkdir -p "$WORK" "$LOGDIR"

phase "1. base tree ($BASE)"
if [ ! -x "$BASE/lib/systemd/systemd" ]; then
    command -v debootstrap >/dev/null || die "debootstrap missing"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,nftables,libnftnl11,libmnl0,libsystemd0,iproute2,util-linux,procps \
        "$SUITE" "$BASE" "$MIRROR" >"$LOGDIR/debootstrap.log" 2>&1 || die "debootstrap failed, see $LOGDIR/debootstrap.log"
    say "   debootstrap done"
else
    say "   cached"
fi
phase_end "base"

phase "2. install into an overlay above the base"
mountpoint -q "$ROOT" && umount "$ROOT"
rm -rf "$WORK/upper" "$WORK/ovl-work"; mkdir -p "$WORK/upper" "$WORK/ovl-work" "$ROOT"
mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$WORK/upper,workdir=$WORK/ovl-work" "$ROOT" ||
    die "overlay mount failed"
# Whatever an earlier run left in the base tree goes: state, journal, drop-ins.
rm -rf "$ROOT"/var/lib/banwarden "$ROOT"/var/log/journal/*/* "$ROOT"/etc/systemd/system/banwarden*.service.d \
       "$ROOT"/etc/systemd/system/bwprobe.service "$ROOT"/root/*.pl
if [ -n "$DEB" ]; then
    # As an administrator would: the package's maintainer scripts make the
    # user and enable the units (systemd is not running in the chroot, so
    # they start nothing yet).
    install -m0644 "$DEB" "$ROOT/tmp/banwarden.deb"
    OUT=$(chroot "$ROOT" dpkg -i /tmp/banwarden.deb 2>&1); RC=$?
    check "dpkg -i $(basename "$DEB") in the container" "$OUT" test $RC = 0
    rm -f "$ROOT/tmp/banwarden.deb"
    check "the package made the user banwarden, in systemd-journal" "$(chroot "$ROOT" id banwarden 2>&1)" \
        eval 'chroot "$ROOT" id -nG banwarden | grep -qw systemd-journal'
    check "the package enabled banwarden.service and banwarden-boot.service" "" \
        eval 'chroot "$ROOT" systemctl is-enabled banwarden.service banwarden-boot.service >/dev/null 2>&1'
    S=$(chroot "$ROOT" systemctl is-enabled banwarden-api.socket banwarden-resp.socket 2>&1 | tr '\n' ' ')
    check "the package shipped banwarden-api.socket and banwarden-resp.socket disabled [$S]" "" test "$S" = "disabled disabled "
    check "the package made the group banwarden-api" "" eval 'chroot "$ROOT" getent group banwarden-api >/dev/null'
    chroot "$ROOT" systemctl enable nftables.service >/dev/null 2>&1 || die "enable nftables failed"
else
    install -m0755 "$BIN" "$ROOT/usr/bin/banwarden"
    install -m0644 "$REPO/packaging/systemd/banwarden.service" "$REPO/packaging/systemd/banwarden-boot.service" \
        "$REPO/packaging/systemd/banwarden-api.socket" "$REPO/packaging/systemd/banwarden-resp.socket" "$ROOT/etc/systemd/system/"
    install -d -m0755 "$ROOT/etc/banwarden"
    install -m0644 "$REPO/etc/banwarden/banwarden.json" "$ROOT/etc/banwarden/banwarden.json"
    install -m0644 "$REPO/etc/nftables/banwarden.nft" "$ROOT/etc/banwarden/banwarden.nft"
    chroot "$ROOT" getent passwd banwarden >/dev/null ||
        chroot "$ROOT" useradd --system --home-dir /var/lib/banwarden --no-create-home --shell /usr/sbin/nologin \
            --user-group --groups systemd-journal banwarden || die "useradd failed"
    chroot "$ROOT" getent group banwarden-api >/dev/null || chroot "$ROOT" groupadd --system banwarden-api || die "groupadd failed"
    chroot "$ROOT" systemctl enable nftables.service banwarden.service banwarden-boot.service >/dev/null 2>&1 || die "enable failed"
fi
# README's setup: Debian's own /etc/nftables.conf, which starts with
# `flush ruleset`, with banwarden's file included at its end.
check "the container's /etc/nftables.conf is Debian's: it starts with 'flush ruleset'" "$(head -5 "$ROOT/etc/nftables.conf")" \
    eval 'grep -v "^#" "$ROOT/etc/nftables.conf" | grep -m1 . | grep -qx "flush ruleset"'
grep -q '^include "/etc/banwarden/banwarden.nft"' "$ROOT/etc/nftables.conf" ||
    echo 'include "/etc/banwarden/banwarden.nft"' >> "$ROOT/etc/nftables.conf"
echo "$MACHINE" > "$ROOT/etc/hostname"
# The sandbox probe: banwarden.service's [Service] section, another ExecStart.
install -m0755 "$HERE/sandbox-probe.pl" "$ROOT/usr/local/lib/bwprobe.pl"
sed -e 's/^Type=notify/Type=oneshot/' -e '/^\(NotifyAccess\|ExecStartPre\|ExecReload\|WatchdogSec\|Restart\|RestartSec\)=/d' \
    -e 's|^ExecStart=.*|ExecStart=/usr/bin/perl /usr/local/lib/bwprobe.pl|' -e '/^\[Install\]/,$d' \
    -e 's/^Description=.*/Description=banwarden.service confinement probe/' \
    "$REPO/packaging/systemd/banwarden.service" > "$ROOT/etc/systemd/system/bwprobe.service"
MISSING=$(chroot "$ROOT" ldd /usr/bin/banwarden 2>&1 | grep -i 'not found')
check "binary's libraries resolve in $(. "$ROOT/etc/os-release"; echo "$PRETTY_NAME")" "$MISSING" test -z "$MISSING"
phase_end "install"

phase "3. boot"
BOOT_T=$(now)
if boot_container boot1; then pass "boot: systemd reaches 'running'"; else
    fail "boot: systemd reaches 'running'" "$(C systemctl --failed --no-legend 2>&1; tail -5 "$LOGDIR/boot1.log")"
    [ -n "$LEADER" ] || { say "container did not start"; exit 1; }
fi
say "   booted in $(elapsed "$BOOT_T") s"
phase_end "boot"

phase "4. units"
UNITS=$(C systemctl show -P FragmentPath banwarden.service banwarden-boot.service | tr '\n' ' ')
V=$(C systemd-analyze verify --man=no $UNITS 2>&1)
check "systemd-analyze verify --man=no (systemd $(C systemctl --version | awk 'NR==1{print $2}'))" "$V" test -z "$V"
# Every unit shipped, and every unit a shipped drop-in (X.service.d/*.conf)
# changes, as the package installs them (or the two units without one).
if [ -n "$DEB" ]; then
    ASSESS=$(C dpkg -L banwarden | sed -n -e 's|^/\(usr/\)\{0,1\}lib/systemd/system/\([^/]*\.service\)$|\2|p' \
        -e 's|^.*/systemd/system/\([^/]*\.service\)\.d/[^/]*\.conf$|\1|p' | sort -u)
else
    ASSESS="banwarden.service banwarden-boot.service"
fi
check "units to assess: $(echo $ASSESS)" "" eval '[ $(echo "$ASSESS" | wc -w) -ge 2 ]'
for u in $ASSESS; do
    SC=$(C systemd-analyze security --no-pager "$u" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    check "systemd-analyze security $u <= 2.0 (got ${SC:-?})" "" awk -v s="${SC:-99}" 'BEGIN { exit !(s <= 2.0) }'
done
# The unit rated with one drop-in in place: rate_with_dropin FILE NAME
# [FAMILY] (FAMILY: one RestrictAddressFamilies must then hold).
rate_with_dropin() {
    local conf=$1 name=$2 family=${3:-}
    check "drop-in shipped: ${conf#$ROOT}" "" test -f "$conf"
    mkdir -p "$ROOT/etc/systemd/system/banwarden.service.d"
    cp "$conf" "$ROOT/etc/systemd/system/banwarden.service.d/$name.conf"
    C systemctl daemon-reload
    SC=$(C systemd-analyze security --no-pager banwarden.service 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    AF=$(unit_prop banwarden RestrictAddressFamilies)
    check "systemd-analyze security banwarden.service with $name.conf <= 2.0 (got ${SC:-?}; families: $AF)" "" \
        eval 'awk -v s="${SC:-99}" "BEGIN { exit !(s <= 2.0) }" && [[ -z "$family" || "$AF" =~ $family ]]'
    rm -rf "$ROOT/etc/systemd/system/banwarden.service.d"; C systemctl daemon-reload
}
# With the drop-in for TCP listeners the daemon binds itself, as
# doc/security.md gives it.
if [ -n "$DEB" ]; then TCPCONF=$ROOT/usr/share/doc/banwarden/examples/api-tcp.conf
else TCPCONF=$REPO/packaging/systemd/api/tcp.conf; fi
rate_with_dropin "$TCPCONF" api-tcp AF_INET6
# With each of the fleet's drop-ins (Redis over TCP, Redis on this host's
# Unix socket), as doc/fleet.md gives them.
for f in redis-tcp redis-unix; do
    if [ -n "$DEB" ]; then FLEETCONF=$ROOT/usr/share/doc/banwarden/examples/fleet-$f.conf
    else FLEETCONF=$REPO/packaging/systemd/fleet/$f.conf; fi
    rate_with_dropin "$FLEETCONF" "fleet-$f"
done
check "nftables.service loaded the ruleset (set inet banwarden ssh_ban4 exists)" "$(C nft list tables 2>&1)" \
    eval 'C nft list set inet banwarden ssh_ban4 >/dev/null 2>&1'
S="$(unit_prop banwarden-boot ActiveState)/$(unit_prop banwarden-boot SubState)/$(unit_prop banwarden-boot Result)"
check "banwarden-boot.service active (exited), result success [$S]" "$(jctl -b -u banwarden-boot)" test "$S" = "active/exited/success"
BT=$(jctl -b -u banwarden-boot -o cat | grep -E '^restored [0-9]+ bans' | tail -1)
check "banwarden-boot logged '$BT'" "" test -n "$BT"
S="$(unit_prop banwarden ActiveState)/$(unit_prop banwarden SubState)"
check "banwarden.service active (running) [$S]" "$(jctl -b -u banwarden)" test "$S" = "active/running"
check "Type=notify: READY=1 received (start job finished, 'Started' logged)" "" \
    eval 'jctl -b -u banwarden -o cat | grep -q "^Started banwarden.service"'
ST=$(unit_prop banwarden StatusText)
check "sd_notify STATUS= shown: \"$ST\"" "" eval '[[ "$ST" =~ entries\ judged ]]'
BW_PID=$(unit_prop banwarden MainPID); BW_START=$(now)
O1=$(unit_prop banwarden-boot ExecMainStartTimestampMonotonic); N1=$(unit_prop nftables ExecMainExitTimestampMonotonic)
O2=$(unit_prop banwarden ExecMainStartTimestampMonotonic);      B1=$(unit_prop banwarden-boot ExecMainExitTimestampMonotonic)
check "order: nftables done < banwarden-boot start; banwarden-boot done < banwarden start" "$N1 $O1 $B1 $O2" \
    test "$N1" -le "$O1" -a "$B1" -le "$O2"
phase_end "units"

phase "5. confinement"
P=$(C grep -E '^(Uid|Groups|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/"$BW_PID"/status | tr -s '\t\n' '  ')
BWUID=$(C id -u banwarden); JGID=$(C getent group systemd-journal | cut -d: -f3)
conf_ok() {
    grep -q "Uid: $BWUID $BWUID $BWUID $BWUID " <<< "$P" && grep -qE "Groups: ([0-9]+ )*$JGID " <<< "$P" &&
    grep -q "CapEff: 0000000000001000 CapBnd: 0000000000001000 CapAmb: 0000000000001000 " <<< "$P" &&
    grep -q "NoNewPrivs: 1 Seccomp: 2" <<< "$P"
}
check "daemon: uid banwarden, +systemd-journal, CAP_NET_ADMIN only, no_new_privs, seccomp [$P]" "" conf_ok
check "daemon shares PID 1's network namespace (bans the firewall it protects)" "" \
    test "$(C readlink /proc/"$BW_PID"/ns/net)" = "$(C readlink /proc/1/ns/net)"
FW=$(jctl -b -o cat | grep -i 'does not support BPF/cgroup firewalling')
check "IPAddressDeny= enforceable (no 'does not support BPF/cgroup firewalling')" "$FW" test -z "$FW"
UDP=$(C systemd-run --quiet --wait --pipe --collect -p IPAddressDeny=any bash -c 'echo x > /dev/udp/127.0.0.1/9 && echo sent' 2>&1)
check "IPAddressDeny=any blocks IP traffic in this container (control)" "$UDP" eval '[[ "$UDP" =~ "not permitted" ]]'
C systemctl start bwprobe.service >/dev/null 2>&1
PROBE=$(jctl -b -u bwprobe -o cat | grep '^probe ')
while read -r _ name res detail; do
    [ "$name" = done ] && continue
    if [ "$res" = ok ]; then pass "sandbox: $name ($detail)"; else fail "sandbox: $name" "$detail"; fi
done <<< "$PROBE"
check "sandbox probe ran to the end" "$(jctl -b -u bwprobe -o cat | tail -5)" eval 'grep -q "^probe done" <<< "$PROBE"'
phase_end "confinement"

phase "6. bans"
brute_force sshd 'Failed password for root from 203.0.113.9 port 4000%d ssh2'
check "sshd.service failures carry _SYSTEMD_UNIT=sshd.service" "" \
    eval 'jctl -b -u sshd.service -o verbose | grep -q "_SYSTEMD_UNIT=sshd.service"'
check "5 failures (sshd.service) ban 203.0.113.9 in ssh_ban4" "$(jctl -b -u banwarden -n 5)" wait_until 10 in_set ssh_ban4 203.0.113.9
say "   $(set_line ssh_ban4 203.0.113.9)"
check "'Ban from SSH for 203.0.113.9' logged with _TRANSPORT=journal" "" \
    eval 'jctl -b -u banwarden -o verbose --output-fields=MESSAGE,_TRANSPORT MESSAGE="Ban from SSH for 203.0.113.9" | grep -q _TRANSPORT=journal'
brute_force ssh 'Invalid user oracle from 2001:db8::66 port 6000%d'
check "5 'Invalid user' (ssh.service) ban the /64 of 2001:db8::66 in ssh_net6" "" wait_until 10 in_set ssh_net6 2001:db8::/64
brute_force 'sshd@7-10.0.0.1:22-192.0.2.1:5555' 'Connection closed by authenticating user bob 192.0.2.44 port 7000%d [preauth]'
check "5 preauth closes (sshd@...service) ban 192.0.2.44" "" wait_until 10 in_set ssh_ban4 192.0.2.44
C journalctl --rotate >/dev/null 2>&1
brute_force sshd 'Failed password for root from 10.1.2.3 port 4000%d ssh2'
brute_force sshd 'Failed password for root from 198.51.100.7 port 5000%d ssh2'
check "after journalctl --rotate: still bans (198.51.100.7)" "" wait_until 10 in_set ssh_ban4 198.51.100.7
check "private address 10.1.2.3 not banned" "" eval '! in_set ssh_ban4 10.1.2.3'
for i in 1 2 3; do C logger -t banwarden "Ban from SSH for 192.0.2.99"; done
C systemd-run --quiet --wait --collect --unit=fake -p SyslogIdentifier=banwarden \
    sh -c 'for i in 1 2 3; do echo "Ban from SSH for 192.0.2.98"; done' >/dev/null
brute_force sshd 'Failed password for root from 203.0.113.9 port 4100%d ssh2'
brute_force sshd 'Failed password for root from 203.0.113.9 port 4200%d ssh2'
check "recidive: 3rd ban of 203.0.113.9 logs 'Recidive ban from SSH for 203.0.113.9: 3 bans this week'" \
    "$(jctl -b -u banwarden -o cat | tail -5)" wait_until 10 eval 'log_count banwarden "^Recidive ban from SSH for 203.0.113.9: 3 bans this week$" | grep -q 1'
check "recidive ban is 30 days in the kernel [$(set_line ssh_ban4 203.0.113.9)]" "" eval 'set_line ssh_ban4 203.0.113.9 | grep -q "timeout 30d"'
check "forged 'Ban from SSH' lines (logger, other unit) not counted" "" \
    eval '! in_set ssh_ban4 192.0.2.99 && ! in_set ssh_ban4 192.0.2.98 && ! jctl -b -u banwarden -o cat | grep -q "192.0.2.9[89]"'
status_has_bans() { ST=$(unit_prop banwarden StatusText); [[ "$ST" =~ [1-9][0-9]*\ bans,\ 0\ ban\ failures ]]; }
wait_until 5 status_has_bans
check "STATUS= updated (sent once the flow pauses): \"$ST\"" "" status_has_bans
BAD=$(C find /var/lib/banwarden ! -user banwarden -o ! -group banwarden)
check "/var/lib/banwarden: everything owned by banwarden:banwarden" "$BAD" test -z "$BAD"
M=$(C stat -c %a /var/lib/banwarden)
check "/var/lib/banwarden mode 750 (got $M)" "" test "$M" = 750
LIST=$(C banwarden list 2>&1); RC=$?
check "'banwarden list' as root: exit 0, lists 203.0.113.9" "$LIST" eval '[ $RC = 0 ] && grep -q 203.0.113.9 <<< "$LIST"'
BAD=$(C find /var/lib/banwarden ! -user banwarden -o ! -group banwarden)
check "/var/lib/banwarden still banwarden's after root's 'banwarden list'" "$BAD" test -z "$BAD"
phase_end "bans"

phase "7. reload"
N=$(log_count banwarden '^reloaded /etc/banwarden/banwarden.json')
C systemctl reload banwarden; RC=$?
check "systemctl reload: exit 0" "" test $RC = 0
check "daemon logged 'reloaded ...'" "" wait_until 10 eval '[ $(log_count banwarden "^reloaded /etc/banwarden/banwarden.json") -gt $N ]'
cp "$ROOT/etc/banwarden/banwarden.json" "$WORK/banwarden.json.good"
sed -i 's/"re": "^Ban from SSH/"re": "(^Ban from SSH/' "$ROOT/etc/banwarden/banwarden.json"
C systemctl reload banwarden >/dev/null 2>&1; RC=$?
check "broken config: systemctl reload refused (exit $RC) by ExecReload's check" "" test $RC != 0
S="$(unit_prop banwarden ActiveState)/$(unit_prop banwarden SubState)/$(unit_prop banwarden MainPID)"
check "broken config: daemon still active, same PID [$S]" "" test "$S" = "active/running/$BW_PID"
N=$(log_count banwarden 'reload rejected')
C systemctl kill -s HUP --kill-whom=main banwarden
check "broken config + bare SIGHUP: 'reload rejected ... the running rules stay'" "" \
    wait_until 10 eval '[ $(log_count banwarden "reload rejected: .* the running rules stay") -gt $N ]'
S="$(unit_prop banwarden ActiveState)/$(unit_prop banwarden SubState)/$(unit_prop banwarden MainPID)"
check "after rejected SIGHUP: daemon still active, same PID [$S]" "" test "$S" = "active/running/$BW_PID"
brute_force sshd 'Failed password for admin from 198.51.100.23 port 5100%d ssh2'
check "after rejected SIGHUP: old rules still ban (198.51.100.23)" "" wait_until 10 in_set ssh_ban4 198.51.100.23
cp "$WORK/banwarden.json.good" "$ROOT/etc/banwarden/banwarden.json"
C systemctl reload banwarden; RC=$?
check "config restored: reload exit 0" "" test $RC = 0
phase_end "reload"

phase "8. watchdog (WatchdogSec=30s)"
W0=$(unit_prop banwarden WatchdogTimestampMonotonic)
REST=$(awk -v s="$BW_START" -v n="$(now)" -v w="$WATCHDOG_WAIT" 'BEGIN { r = s + w - n; print (r > 0 ? r : 0) }')
say "   waiting ${REST} s more (daemon up >= ${WATCHDOG_WAIT} s)"
sleep "$REST"
S="$(unit_prop banwarden ActiveState)/$(unit_prop banwarden MainPID)/$(unit_prop banwarden NRestarts)"
check "after ${WATCHDOG_WAIT} s: same PID, no restart [$S]" "$(jctl -b -u banwarden | grep -i watchdog)" test "$S" = "active/$BW_PID/0"
W1=$(unit_prop banwarden WatchdogTimestampMonotonic)
check "keep-alives received (WatchdogTimestamp advanced)" "" test "$W1" -gt "$W0"
WD=$(jctl -b | grep -iE 'watchdog timeout|SIGABRT' )
check "no watchdog timeout in the journal" "$WD" test -z "$WD"
phase_end "watchdog"

phase "8b. the REST API through banwarden-api.socket (socket activation)"
# The host's curl reaches the container's socket through the leader's root
# (the base tree has no curl); as host root it connects as root would.
API_SOCK=/run/banwarden/api.sock
api() { # api METHOD PATH: prints curl's HTTP status; the body goes to $WORK/api.body
    rm -f "$WORK/api.body"
    curl -sS -o "$WORK/api.body" -w '%{http_code}' --max-time 30 --unix-socket "/proc/$LEADER/root$API_SOCK" \
        -X "$1" "http://localhost$2" 2>>"$LOGDIR/curl.log"
}
body() { head -c 300 "$WORK/api.body" 2>/dev/null; }
connects_as() { # connects_as USER: USER may connect to the socket (perl-base is in the container)
    C runuser -u "$1" -- perl -MIO::Socket::UNIX -e 'exit(IO::Socket::UNIX->new(Peer => $ARGV[0]) ? 0 : 1)' "$API_SOCK"
}
cp "$ROOT/etc/banwarden/banwarden.json" "$WORK/banwarden.json.noapi"
sed -i 's|^  "storage": |  "api": {"http": ["unix:/run/banwarden/api.sock"]},\n  "storage": |' "$ROOT/etc/banwarden/banwarden.json"
OUT=$(C banwarden check 2>&1); RC=$?
check "banwarden.json with \"api\": {\"http\": [\"unix:$API_SOCK\"]}: banwarden check exit 0" "$OUT" test $RC = 0
# As the unit's comment says: systemd refuses to start a socket unit whose
# service is already running ("Socket service ... already active").
C systemctl enable banwarden-api.socket >/dev/null 2>&1 && C systemctl stop banwarden && C systemctl start banwarden-api.socket; RC=$?
M=$(C stat -c '%a %U %G' "$API_SOCK" 2>&1)
check "systemctl enable, stop banwarden, start banwarden-api.socket: exit 0, $API_SOCK mode 660 root:banwarden-api [$M]" \
    "$(jctl -b -u banwarden-api.socket -o cat | tail -3)" eval '[ $RC = 0 ] && [ "$M" = "660 root banwarden-api" ]'
C systemctl start banwarden; RC=$?
AF=$(unit_prop banwarden RestrictAddressFamilies)
FDS=$(C cat /proc/"$(unit_prop banwarden MainPID)"/environ 2>/dev/null | tr '\0' '\n' | grep -c '^LISTEN_FDNAMES=api$')
check "start banwarden: active, the socket passed as 'api', sandbox as shipped (RestrictAddressFamilies=$AF)" \
    "$(jctl -b -u banwarden -n 10 -o cat)" \
    eval '[ $RC = 0 ] && [ "$(unit_prop banwarden ActiveState)" = active ] && [ "$FDS" = 1 ] && ! [[ "$AF" =~ INET ]]'
C useradd --no-create-home --groups banwarden-api apiuser 2>/dev/null; C useradd --no-create-home stranger 2>/dev/null
check "a member of banwarden-api may connect, another user may not" "" eval 'connects_as apiuser && ! connects_as stranger'

ADDR=203.0.113.77
CODE=$(api PUT /drop/input/any/$ADDR)
check "curl -X PUT http://localhost/drop/input/any/$ADDR on $API_SOCK: 2xx [$CODE $(body)]" "$(jctl -b -u banwarden -n 10 -o cat)" \
    eval '[[ "$CODE" =~ ^2 ]]'
# The socket's peer is root (the host's curl): list's BY column names it.
check "... $ADDR in inet banwarden api_drop4, and in 'banwarden list' as decided by 'api root'" "$(C banwarden list 2>&1 | tail -5)" \
    eval 'in_set api_drop4 $ADDR && C banwarden list 2>/dev/null | grep -F "$ADDR" | grep -qE "api (root|uid 0)"'
CODE=$(api DELETE /drop/input/any/$ADDR)
check "curl -X DELETE /drop/input/any/$ADDR: 2xx, gone from api_drop4 [$CODE $(body)]" "" \
    eval '[[ "$CODE" =~ ^2 ]] && ! in_set api_drop4 $ADDR'

# An accept: banwarden's own rules no longer ban the address while it holds.
ALLOWED=203.0.113.200
CODE=$(api PUT /accept/input/any/203.0.113.192/26)
check "curl -X PUT /accept/input/any/203.0.113.192/26: 2xx, in api_accept4 [$CODE $(body)]" "" \
    eval '[[ "$CODE" =~ ^2 ]] && in_set api_accept4 203.0.113.192/26'
brute_force sshd "Failed password for root from $ALLOWED port 4300%d ssh2"
sleep 2
check "5 sshd failures of $ALLOWED, inside the accept: not banned" "$(set_line ssh_ban4 $ALLOWED)" eval '! in_set ssh_ban4 $ALLOWED'
CODE=$(api DELETE /accept/input/any/203.0.113.192/26)
brute_force sshd "Failed password for root from $ALLOWED port 4400%d ssh2"
check "accept lifted [$CODE]: 5 more failures ban $ALLOWED" "$(jctl -b -u banwarden -n 5 -o cat)" \
    eval '[[ "$CODE" =~ ^2 ]] && wait_until 10 in_set ssh_ban4 $ALLOWED'

# Socket activation proper: a request while the daemon is stopped starts it.
C systemctl stop banwarden
S=$(unit_prop banwarden ActiveState)
CODE=$(api PUT "/drop/input/any/203.0.113.78?expire=10m")
check "daemon stopped [$S]: a PUT on the socket starts it and is answered [$CODE $(body)]" "$(jctl -b -u banwarden -n 10 -o cat)" \
    eval '[ "$S" = inactive ] && [[ "$CODE" =~ ^2 ]] && [ "$(unit_prop banwarden ActiveState)" = active ] && set_line api_drop4 203.0.113.78 | grep -q "expires"'

C systemctl disable --now banwarden-api.socket >/dev/null 2>&1
cp "$WORK/banwarden.json.noapi" "$ROOT/etc/banwarden/banwarden.json"
C systemctl restart banwarden; RC=$?
check "socket disabled, api removed from the configuration: banwarden restarts" "" \
    eval '[ $RC = 0 ] && [ "$(unit_prop banwarden ActiveState)" = active ]'
phase_end "api socket"

phase "9. restart, stop, boot restore"
T0=$(now); C systemctl restart banwarden; RC=$?
NEWPID=$(unit_prop banwarden MainPID)
check "systemctl restart: exit 0 in $(elapsed "$T0") s, new PID $NEWPID, active" "" \
    eval '[ $RC = 0 ] && [ "$NEWPID" != "$BW_PID" ] && [ "$(unit_prop banwarden ActiveState)" = active ]'
check "restart: old process stopped cleanly ('stopped: ...')" "" eval 'jctl -b -u banwarden -o cat | grep -q "^stopped: "'
T0=$(now); C systemctl stop banwarden; RC=$?
S="$(unit_prop banwarden ActiveState)/$(unit_prop banwarden Result)/$(unit_prop banwarden ExecMainCode)/$(unit_prop banwarden ExecMainStatus)"
check "systemctl stop: exit 0 in $(elapsed "$T0") s, inactive, result success, exit 0 [$S]" "" \
    eval '[ $RC = 0 ] && [ "$S" = "inactive/success/1/0" ]'
C systemctl start banwarden; RC=$?
check "systemctl start again: exit 0, active" "" eval '[ $RC = 0 ] && [ "$(unit_prop banwarden ActiveState)" = active ]'
C nft flush set inet banwarden ssh_ban4
check "after 'nft flush set', the running daemon puts the bans back within a second" "" \
    eval 'sleep 1; set_line ssh_ban4 203.0.113.9 | grep -q "timeout 29d" && in_set ssh_ban4 198.51.100.7 && in_set ssh_ban4 192.0.2.44'
C systemctl stop banwarden
C nft flush set inet banwarden ssh_ban4
check "daemon stopped, after 'nft flush set': list says 'not in the kernel set'" "" eval 'C banwarden list 2>/dev/null | grep 203.0.113.9 | grep -q "not in the kernel set"'
C systemctl restart banwarden-boot; RC=$?
check "systemctl restart banwarden-boot: exit 0, result success" "" eval '[ $RC = 0 ] && [ "$(unit_prop banwarden-boot Result)" = success ]'
check "banwarden-boot restored 203.0.113.9 (30d), 198.51.100.7, 192.0.2.44" "" \
    eval 'set_line ssh_ban4 203.0.113.9 | grep -q "timeout 29d" && in_set ssh_ban4 198.51.100.7 && in_set ssh_ban4 192.0.2.44'
C systemctl start banwarden; RC=$?
check "systemctl start banwarden: exit 0, active" "" eval '[ $RC = 0 ] && [ "$(unit_prop banwarden ActiveState)" = active ]'
phase_end "restart/stop/boot"

phase "10. the firewall reloaded: the bans come back, other tables stay"
# A marker the store does not hold: gone after a reload that really emptied
# the sets; the stored bans are back all the same.
MARK=192.0.2.250
mark() { C nft add element inet banwarden ssh_ban4 "{ $MARK }"; }
restores() { log_count banwarden-boot '^restored [0-9]+ bans'; }
bans_back() { set_line ssh_ban4 203.0.113.9 | grep -q "timeout 29d" && in_set ssh_ban4 198.51.100.7 && in_set ssh_net6 2001:db8::/64; }
restored_since() { [ "$(restores)" -gt "$1" ] && bans_back; } # restored_since N: one more restore than N, bans back
restored_after() { restored_since "$1" && ! in_set ssh_ban4 "$MARK"; } # ... and the marker gone
boot_state() { echo "$(unit_prop banwarden-boot ActiveState)/$(unit_prop banwarden-boot SubState)/$(unit_prop banwarden-boot Result)"; }
# A failed ExecReload= leaves Result= alone: its own status tells.
reload_ok() { unit_prop banwarden-boot ExecReload | grep -qE 'code=exited ; status=0( |/)'; }
rules() { C nft list chain inet banwarden input | grep -c ' drop$'; }
RULES=$(rules)
PID10=$(unit_prop banwarden MainPID)

mark; N=$(restores)
C systemctl reload nftables; RC=$?
check "systemctl reload nftables (daemon running): exit 0" "" test $RC = 0
check "... banwarden-boot ran again: stored bans back (203.0.113.9 ~30d, 198.51.100.7, 2001:db8::/64), marker gone" \
    "$(set_line ssh_ban4 203.0.113.9); $(jctl -b -u banwarden-boot -o cat | tail -4)" wait_until 15 restored_after "$N"
check "... banwarden-boot still active (exited), its ExecReload= exited 0 [$(boot_state)]" "$(unit_prop banwarden-boot ExecReload)" \
    eval '[ "$(boot_state)" = active/exited/success ] && reload_ok'
check "... the daemon kept running, same PID" "" test "$(unit_prop banwarden MainPID)" = "$PID10"

C systemctl stop banwarden
mark; N=$(restores)
C systemctl reload nftables; RC=$?
check "systemctl reload nftables (daemon stopped): exit 0" "" test $RC = 0
check "... stored bans back, marker gone" "$(jctl -b -u banwarden-boot -o cat | tail -4)" wait_until 15 restored_after "$N"
check "... the daemon was not started by it" "" test "$(unit_prop banwarden ActiveState)" = inactive

mark; N=$(restores)
C systemctl restart nftables; RC=$?
check "systemctl restart nftables (daemon stopped): exit 0, stored bans back, marker gone" \
    "$(jctl -b -u banwarden-boot -o cat | tail -4)" eval '[ $RC = 0 ] && wait_until 15 restored_after "$N"'
C systemctl start banwarden

mark
OUT=$(C nft -f /etc/banwarden/banwarden.nft 2>&1); RC=$?
check "nft -f /etc/banwarden/banwarden.nft again: exit 0, bans and marker kept, still $RULES drop rules" "$OUT" \
    eval '[ $RC = 0 ] && bans_back && in_set ssh_ban4 "$MARK" && [ "$(rules)" = "$RULES" ]'

# Without nftables.service: banwarden's units never start it (its
# /etc/nftables.conf would flush every other table), and the drop-in
# shipped for such hosts makes banwarden-boot load banwarden's table itself.
C systemctl stop nftables
check "systemctl stop nftables flushed the ruleset and stopped banwarden-boot too (PartOf=) [$(boot_state)]" "$(C nft list tables)" \
    eval '[ "$(unit_prop banwarden-boot ActiveState)" = inactive ] && ! C nft list table inet banwarden >/dev/null 2>&1'
C nft add table ip docker && C nft add chain ip docker DOCKER &&
    C nft add chain ip docker FORWARD '{ type filter hook forward priority 0; }' && C nft add rule ip docker FORWARD jump DOCKER
if [ -n "$DEB" ]; then DROPIN=$ROOT/usr/share/doc/banwarden/examples/boot-load-ruleset.conf
else DROPIN=$REPO/packaging/systemd/boot/load-ruleset.conf; fi
check "drop-in shipped: ${DROPIN#$ROOT}" "" test -f "$DROPIN"
mkdir -p "$ROOT/etc/systemd/system/banwarden-boot.service.d"
cp "$DROPIN" "$ROOT/etc/systemd/system/banwarden-boot.service.d/load-ruleset.conf"
C systemctl daemon-reload
SC=$(C systemd-analyze security --no-pager banwarden-boot.service 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
check "systemd-analyze security banwarden-boot.service with load-ruleset.conf <= 2.0 (got ${SC:-?})" "" \
    awk -v s="${SC:-99}" 'BEGIN { exit !(s <= 2.0) }'
C systemctl restart banwarden; RC=$?
check "with load-ruleset.conf, nftables.service stopped: restart banwarden pulls banwarden-boot in; it loads banwarden.nft, restores" \
    "$(jctl -b -u banwarden-boot -o cat | tail -6)" eval '[ $RC = 0 ] && [ "$(boot_state)" = active/exited/success ] && bans_back'
check "... nftables.service not started by banwarden's units" "" test "$(unit_prop nftables ActiveState)" = inactive
check "... the other table (ip docker) untouched" "$(C nft list tables)" eval 'C nft list chain ip docker FORWARD | grep -q "jump DOCKER"'
mark
C systemctl restart banwarden-boot; RC=$?
check "... restart banwarden-boot (loads banwarden.nft again): ip docker still there, bans and marker kept, $RULES drop rules" \
    "$(C nft list tables; jctl -b -u banwarden-boot -o cat | tail -4)" \
    eval '[ $RC = 0 ] && C nft list chain ip docker FORWARD | grep -q "jump DOCKER" && bans_back && in_set ssh_ban4 "$MARK" && [ "$(rules)" = "$RULES" ]'
# The drop-in stays for the seccomp phase (its nft under kill-on-deny too).

# README's step with nftables.service never started but banwarden-boot
# active (as the package leaves them): a restart, unlike a start, of
# nftables.service restarts banwarden-boot too.
mark; N=$(restores); PRE="$(unit_prop nftables ActiveState)/$(unit_prop banwarden-boot ActiveState)"
C systemctl restart nftables; RC=$?
check "systemctl restart nftables, nftables.service inactive and banwarden-boot active before [$PRE]: bans back, marker gone" \
    "$(jctl -b -u banwarden-boot -o cat | tail -4)" eval '[ $PRE = inactive/active ] && [ $RC = 0 ] && wait_until 15 restored_after "$N"'
C systemctl stop nftables
N=$(restores)
C systemctl start nftables; RC=$?
check "systemctl stop, then start nftables: banwarden-boot started again (WantedBy=nftables.service), bans back" \
    "$(jctl -b -u banwarden-boot -o cat | tail -4)" \
    eval '[ $RC = 0 ] && wait_until 15 restored_since "$N" && [ "$(boot_state)" = active/exited/success ]'
[ "$SECCOMP_KILL" = 1 ] || { rm -rf "$ROOT"/etc/systemd/system/banwarden-boot.service.d; C systemctl daemon-reload; }
phase_end "firewall reloads"

if [ "$SECCOMP_KILL" = 1 ]; then
    phase "11. seccomp: denied system calls kill (SIGSYS) instead of EPERM"
    AUDIT0=$(dmesg 2>/dev/null | grep -c 'type=1326')
    for u in banwarden banwarden-boot; do
        mkdir -p "$ROOT/etc/systemd/system/$u.service.d"
        printf '[Service]\nSystemCallErrorNumber=\n' > "$ROOT/etc/systemd/system/$u.service.d/zz-sigsys.conf"
    done
    C systemctl daemon-reload
    C systemctl restart banwarden-boot banwarden
    brute_force sshd 'Failed password for root from 203.0.113.150 port 4000%d ssh2'
    wait_until 10 in_set ssh_ban4 203.0.113.150
    C systemctl reload banwarden
    N=$(restores); C systemctl reload nftables
    wait_until 15 eval '[ $(restores) -gt '"$N"' ]'
    C systemctl kill -s HUP --kill-whom=main banwarden; sleep 1
    C systemctl stop banwarden; C systemctl start banwarden; sleep 1
    SYS=$(jctl -b | grep -E 'status=31/SYS|code=killed')
    AUDIT=$(dmesg 2>/dev/null | grep 'type=1326' | tail -n +$((AUDIT0+1)) | grep -E 'comm="(banwarden|kill|nft)"')
    check "no SIGSYS: ban, reload, SIGHUP, stop, start, boot (nft of load-ruleset.conf, again on reload of nftables) with kill-on-deny" "$SYS$AUDIT" \
        eval '[ -z "$SYS" ] && [ -z "$AUDIT" ] && in_set ssh_ban4 203.0.113.150 && [ "$(unit_prop banwarden ActiveState)" = active ] && [ "$(unit_prop banwarden-boot Result)" = success ] && reload_ok'
    rm -rf "$ROOT"/etc/systemd/system/banwarden*.service.d; C systemctl daemon-reload
    phase_end "seccomp-kill"
fi

phase "12. reboot: bans come back at boot"
poweroff_container
T0=$(now)
if boot_container boot2; then pass "reboot: systemd reaches 'running' ($(elapsed "$T0") s)"; else fail "reboot: systemd reaches 'running'"; fi
if [ -n "$LEADER" ]; then
    BT=$(jctl -b -u banwarden-boot -o cat | grep -E '^restored [0-9]+ bans' | tail -1)
    check "at boot banwarden-boot: '$BT', 203.0.113.9 back with ~30d [$(set_line ssh_ban4 203.0.113.9)]" "$(jctl -b -u banwarden-boot)" \
        eval '[ "$(unit_prop banwarden-boot Result)" = success ] && set_line ssh_ban4 203.0.113.9 | grep -q "timeout 29d" && in_set ssh_net6 2001:db8::/64'
    check "banwarden.service active after reboot" "" test "$(unit_prop banwarden ActiveState)" = active
    BADLOG=$(jctl -b -p warning -u banwarden -u banwarden-boot -o cat)
    check "no warnings from banwarden's units this boot" "$BADLOG" test -z "$BADLOG"
fi
[ "$KEEP" = 1 ] || poweroff_container
phase_end "reboot"

check "host ruleset unchanged" "" test "$(nft list ruleset 2>/dev/null | sha256sum)" = "$HOST_RULESET"
say ""
say "== $PASSES passed, $FAILS failed; total $(elapsed "$T_START") s =="
say "   times: ${TIMES[*]}"
[ $FAILS = 0 ] || { printf 'failed: %s\n' "${FAILED_NAMES[@]}"; exit 1; }
exit 0
