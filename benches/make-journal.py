#!/usr/bin/env python3
"""Writes N journal entries in export format on stdout, for the journal
benchmark: what a web and mail server logs (the mix of workload.rs), with
the ~20 fields of a real entry. Pipe it into
`/lib/systemd/systemd-journal-remote --split-mode=none -o DIR/bench.journal -`.

Usage: make-journal.py N
"""
import random
import sys

rng = random.Random(20251121)
T0 = 1_763_726_400_000_000
BOOT = "5e1f0c6a9b2d4e3f8a7b6c5d4e3f2a1b"
MACHINE = "0d1c2b3a495867768594a3b2c1d0e0f1"
NOISE_UNITS = ["cron.service", "systemd-logind.service", "dbus.service", "systemd-resolved.service", "containerd.service"]


def ip():
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def message(i):
    r = rng.random()
    if r < 0.30:
        return rng.choice(NOISE_UNITS), "systemd", 6, f"pam_unix(cron:session): session closed for user root ({i})"
    if r < 0.40:
        return "php8.2-fpm.service", "php-fpm", 5, f"[pool www] child {i} started"
    if r < 0.60:
        return "nginx.service", "nginx", 6, f'{ip()} - - [21/Nov/2025:12:00:00 +0000] "GET /articles/{i} HTTP/1.1" 200 5123 "-" "Mozilla/5.0"'
    if r < 0.72:
        return "sshd.service", "sshd", 6, f"Accepted publickey for deploy from {ip()} port {30000 + i % 30000} ssh2: ED25519 SHA256:x"
    if r < 0.82:
        return "dovecot.service", "dovecot", 6, f"imap-login: Login: user=<alice>, method=PLAIN, rip={ip()}, lip=192.0.2.1, mpid={i}, TLS"
    if r < 0.92:
        return "exim4.service", "exim", 6, f"1tXyZa-000{i}-AB => alice@example.org R=local_user T=mail_spool"
    if r < 0.95:
        return "sshd.service", "sshd", 7, f"debug1: channel {i}: free: client-session"
    if r < 0.98:
        return "sshd.service", "sshd", 6, f"Failed password for invalid user admin from {ip()} port {40000 + i % 20000} ssh2"
    return "nginx.service", "nginx", 6, f'{ip()} - - [21/Nov/2025:12:00:00 +0000] "GET /wp-login.php HTTP/1.1" 404 162 "-" "zgrab/0.x"'


def main(n):
    out = sys.stdout.buffer
    for i in range(n):
        unit, ident, prio, msg = message(i)
        pid = 1000 + i % 30000
        t = T0 + i * 10_000
        lines = [
            f"__CURSOR=s=7c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f;i={i + 1:x};b={BOOT};m={i:x};t={t:x};x={i:x}",
            f"__REALTIME_TIMESTAMP={t}",
            f"__MONOTONIC_TIMESTAMP={i * 10_000 + 1_000_000}",
            f"_BOOT_ID={BOOT}",
            f"_MACHINE_ID={MACHINE}",
            "_HOSTNAME=web1",
            "_TRANSPORT=syslog",
            f"PRIORITY={prio}",
            "SYSLOG_FACILITY=3",
            f"SYSLOG_IDENTIFIER={ident}",
            f"SYSLOG_PID={pid}",
            f"_PID={pid}",
            "_UID=0",
            "_GID=0",
            f"_COMM={ident}",
            f"_EXE=/usr/sbin/{ident}",
            f"_CMDLINE=/usr/sbin/{ident} -D",
            "_CAP_EFFECTIVE=1ffffffffff",
            f"_SYSTEMD_CGROUP=/system.slice/{unit}",
            f"_SYSTEMD_UNIT={unit}",
            "_SYSTEMD_SLICE=system.slice",
            f"MESSAGE={msg}",
        ]
        out.write(("\n".join(lines) + "\n\n").encode())


if __name__ == "__main__":
    main(int(sys.argv[1]))
