#!/usr/bin/env python3
"""Writes attack.export: an sshd brute-force attack in journal export format.

The entries look like what journald records on a Debian server (trusted
fields included), interleaved with ordinary noise. Run it again to
regenerate the file; the output is deterministic.

  203.0.113.50      four rounds of 4 failures: banned 1 h, 1 h, then 30 days
                    (3rd ban in a week), then for good (4th ban in a year)
  2001:db8::bad     4 failures: one 1 h ban (IPv6 set)
  ::ffff:198.51.100.77  4 failures logged as a mapped address: banned as IPv4
  198.51.100.23     3 failures (one with a non-UTF-8 user name): below the
                    threshold of 4, never banned
  192.168.1.10      8 failures from the LAN: allow-listed, never banned
"""
import struct
import sys

BOOT = "5e1f0c6a9b2d4e3f8a7b6c5d4e3f2a1b"
MACHINE = "0d1c2b3a495867768594a3b2c1d0e0f1"
T0 = 1_763_726_400_000_000  # 2025-11-21 12:00:00 UTC, in microseconds
HOUR = 3_600_000_000
DAY = 24 * HOUR
seq = 0


def field(out, name, value):
    data = value if isinstance(value, bytes) else value.encode()
    if b"\n" in data or any(b < 32 and b != 9 for b in data) or not is_utf8(data):
        out.write(name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n")
    else:
        out.write(name.encode() + b"=" + data + b"\n")


def is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def entry(out, t, unit, ident, pid, message, priority=6, facility=4, uid=0):
    global seq
    seq += 1
    field(out, "__CURSOR", f"s=7c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f;i={seq:x};b={BOOT};m={seq * 1000:x};t={t:x};x={seq * 7919:x}")
    field(out, "__REALTIME_TIMESTAMP", str(t))
    field(out, "__MONOTONIC_TIMESTAMP", str(t - T0 + 12_345_678))
    field(out, "_BOOT_ID", BOOT)
    field(out, "_MACHINE_ID", MACHINE)
    field(out, "_HOSTNAME", "web1")
    field(out, "_TRANSPORT", "syslog" if ident != "kernel" else "kernel")
    field(out, "PRIORITY", str(priority))
    field(out, "SYSLOG_FACILITY", str(facility))
    field(out, "SYSLOG_IDENTIFIER", ident)
    field(out, "SYSLOG_PID", str(pid))
    field(out, "_PID", str(pid))
    field(out, "_UID", str(uid))
    field(out, "_GID", str(uid))
    field(out, "_COMM", ident)
    field(out, "_EXE", f"/usr/sbin/{ident}")
    field(out, "_CAP_EFFECTIVE", "1ffffffffff")
    field(out, "_SYSTEMD_CGROUP", f"/system.slice/{unit}")
    field(out, "_SYSTEMD_UNIT", unit)
    field(out, "_SYSTEMD_SLICE", "system.slice")
    field(out, "MESSAGE", message)
    out.write(b"\n")


def noise(out, t, i):
    kind = i % 4
    if kind == 0:
        entry(out, t, "cron.service", "CRON", 4100 + i, "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
    elif kind == 1:
        entry(out, t, "nginx.service", "nginx", 812, f'192.0.2.{i % 200 + 1} - - "GET /index.html HTTP/1.1" 200 {512 + i}', uid=33)
    elif kind == 2:
        entry(out, t, "systemd-logind.service", "systemd-logind", 402, f"New session {i} of user alice.")
    else:
        entry(out, t, "sshd.service", "sshd", 5000 + i, f"Accepted publickey for alice from 192.0.2.9 port {40000 + i} ssh2: ED25519 SHA256:abc")


def failures(out, t, ip, n, user="root", gap=20_000_000):
    for k in range(n):
        user_part = user if k % 2 == 0 else f"invalid user admin{k}"
        entry(out, t + k * gap, "sshd.service", "sshd", 6000 + k,
              f"Failed password for {user_part} from {ip} port {50000 + k} ssh2", priority=6, facility=10)
    return t + n * gap


def main(path):
    with open(path, "wb") as out:
        t = T0
        for i in range(6):
            noise(out, t, i)
            t += 5_000_000
        # A French user's bad UTF-8-less message, as old daemons still write.
        entry(out, t, "sshd.service", "sshd", 5999, "Invalid user jos\xe9 from 198.51.100.23 port 4444".encode("latin-1"))
        t = failures(out, t + 1_000_000, "198.51.100.23", 2)
        t = failures(out, t, "192.168.1.10", 8, user="alice")
        t = failures(out, t, "203.0.113.50", 4)  # 1st ban: 1 h
        for i in range(6, 10):
            noise(out, t, i)
            t += 1_000_000
        t = failures(out, t, "2001:db8::bad", 4)  # IPv6 ban
        t = failures(out, t, "::ffff:198.51.100.77", 4)  # mapped: banned as IPv4
        t = failures(out, T0 + HOUR + 5 * 60_000_000, "203.0.113.50", 4)  # 2nd ban: 1 h
        t = failures(out, T0 + 2 * HOUR + 10 * 60_000_000, "203.0.113.50", 4)  # 3rd in a week: 30 days
        for i in range(10, 14):
            noise(out, t, i)
            t += 60_000_000
        failures(out, T0 + 33 * DAY, "203.0.113.50", 4)  # 4th in a year: permanent


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "attack.export")
