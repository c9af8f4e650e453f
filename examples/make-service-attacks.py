#!/usr/bin/env python3
"""Writes examples/<service>/attack.jsonl: sample journals for the example
configurations, one JSON object per line as `journalctl -o json` prints them.

Each sample is the journal of one made-up server over a few days: the
service's attackers (some over the threshold, some under it, IPv4 and
IPv6), the administrators' own mistakes from private networks, ordinary
traffic, other units, lines that local users forged with `logger` to get
an innocent address banned, and, as the real journal holds them, the lines
banwarden itself wrote when it banned (`_SYSTEMD_UNIT=banwarden.service`,
`_TRANSPORT=journal`), which the recidive chains count. Every address comes
from the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 2001:db8::/32) or from private ones.

The fields are the ones journald records, trusted ones included: which
unit a process runs in (`_SYSTEMD_UNIT`), its PID, UID, command, and how
the line came in (`_TRANSPORT`). tests/integration/examples.rs replays each
file through its configuration and checks every ban; the expected bans are
listed in each scenario below.

The output is deterministic. Run it again after editing a scenario:

    python3 examples/make-service-attacks.py
"""

import calendar
import datetime
import hashlib
import itertools
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR


def utc(year, month, day, hour=0, minute=0, second=0):
    """Microseconds since the epoch."""
    return calendar.timegm((year, month, day, hour, minute, second)) * SEC


def hexid(*parts, length=32):
    return hashlib.md5("/".join(map(str, parts)).encode()).hexdigest()[:length]


class Proc:
    """A process, as journald describes it in the trusted fields it adds."""

    def __init__(self, pid, comm, exe, cmdline, unit=None, uid=0, gid=None, caps="0", session=None):
        self.pid, self.comm, self.exe, self.cmdline = pid, comm, exe, cmdline
        self.unit, self.uid, self.gid, self.caps, self.session = unit, uid, uid if gid is None else gid, caps, session

    def at(self, pid, cmdline=None):
        """The same program in another process (another connection)."""
        return Proc(pid, self.comm, self.exe, cmdline or self.cmdline, self.unit, self.uid, self.gid, self.caps, self.session)

    def fields(self, host, boot_id):
        f = {
            "_PID": str(self.pid),
            "_UID": str(self.uid),
            "_GID": str(self.gid),
            "_COMM": self.comm,
            "_EXE": self.exe,
            "_CMDLINE": self.cmdline,
            "_CAP_EFFECTIVE": self.caps,
        }
        if self.session is not None:
            user_slice = f"user-{self.uid}.slice"
            f.update({
                "_AUDIT_SESSION": str(self.session),
                "_AUDIT_LOGINUID": str(self.uid),
                "_SYSTEMD_CGROUP": f"/user.slice/{user_slice}/session-{self.session}.scope",
                "_SYSTEMD_SESSION": str(self.session),
                "_SYSTEMD_OWNER_UID": str(self.uid),
                "_SYSTEMD_UNIT": f"session-{self.session}.scope",
                "_SYSTEMD_SLICE": user_slice,
            })
        elif self.unit == "init.scope":
            f.update({"_SYSTEMD_CGROUP": "/init.scope", "_SYSTEMD_UNIT": "init.scope", "_SYSTEMD_SLICE": "-.slice"})
        else:
            f.update({
                "_SYSTEMD_CGROUP": f"/system.slice/{self.unit}",
                "_SYSTEMD_UNIT": self.unit,
                "_SYSTEMD_SLICE": "system.slice",
                "_SYSTEMD_INVOCATION_ID": hexid("invocation", host, boot_id, self.unit),
            })
        return f


def session_proc(session, uid, pid, comm="logger", exe="/usr/bin/logger", cmdline="logger"):
    """A command a logged-in user ran: it lands in the user's session scope."""
    return Proc(pid, comm, exe, cmdline, uid=uid, session=session)


BANWARDEN = Proc(611, "banwarden", "/usr/bin/banwarden", "/usr/bin/banwarden run", "banwarden.service", caps="1000")
SYSTEMD = Proc(1, "systemd", "/usr/lib/systemd/systemd", "/sbin/init", "init.scope", caps="1ffffffffff")
LOGIND = Proc(402, "systemd-logind", "/usr/lib/systemd/systemd-logind", "/usr/lib/systemd/systemd-logind",
              "systemd-logind.service", caps="24420204cf")
CRON = Proc(0, "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "cron.service", caps="1ffffffffff")


class Host:
    """One machine's journal: entries are added in any order, written in
    time order with the cursors and sequence numbers journald would give."""

    def __init__(self, name, boots):
        self.name = name
        self.machine_id = hexid("machine", name)
        self.seqnum_id = hexid("seqnum", name)
        self.boots = [(start, hexid("boot", name, start)) for start in boots]
        self.entries = []

    def _add(self, t, proc, head, message, extra=None):
        self.entries.append((t, len(self.entries), proc, head, message, extra or {}))

    def syslog(self, t, proc, ident, message, priority=6, facility=1, with_pid=True):
        """A line sent to /dev/log (syslog(3), logger)."""
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        head = {"_TRANSPORT": "syslog", "PRIORITY": str(priority), "SYSLOG_FACILITY": str(facility),
                "SYSLOG_IDENTIFIER": ident}
        if with_pid:
            head["SYSLOG_PID"] = str(proc.pid)
        head["SYSLOG_TIMESTAMP"] = f"{stamp:%b} {stamp.day:2d} {stamp:%H:%M:%S} "
        self._add(t, proc, head, message)

    def journal(self, t, proc, ident, message, priority=6, facility=None, extra=None):
        """A line sent with the journal's native protocol (sd_journal_send,
        `logger --journald`, banwarden's action_log)."""
        head = {"_TRANSPORT": "journal", "PRIORITY": str(priority)}
        if facility is not None:
            head["SYSLOG_FACILITY"] = str(facility)
        head["SYSLOG_IDENTIFIER"] = ident
        self._add(t, proc, head, message, extra)

    def banwarden(self, t, message, priority=5):
        """What banwarden's action_log wrote: MESSAGE, PRIORITY and
        SYSLOG_IDENTIFIER, and the trusted fields journald adds."""
        self.journal(t, BANWARDEN, "banwarden", message, priority)

    def systemd(self, t, unit, message, message_id):
        self.journal(t, SYSTEMD, "systemd", message, facility=3,
                     extra={"MESSAGE_ID": message_id, "UNIT": unit, "CODE_FILE": "src/core/job.c"})

    def new_session(self, t, session, user, uid):
        self.journal(t, LOGIND, "systemd-logind", f"New session {session} of user {user}.", facility=4,
                     extra={"MESSAGE_ID": "8d45620c1a4348dbb17410da57c60c66", "SESSION_ID": str(session),
                            "USER_ID": user, "LEADER": str(3000 + session)})

    def cron(self, t, pid, command):
        proc = CRON.at(pid)
        self.syslog(t, proc, "CRON", "pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)",
                    facility=10)
        self.syslog(t + 2000, proc, "CRON", f"(root) CMD ({command})", facility=9)
        self.syslog(t + 41000, proc, "CRON", "pam_unix(cron:session): session closed for user root", facility=10)

    def write(self, path):
        self.entries.sort(key=lambda e: (e[0], e[1]))
        lines = []
        for seq, (t, _, proc, head, message, extra) in enumerate(self.entries, start=1):
            start, boot_id = max(b for b in self.boots if b[0] <= t)
            monotonic = t - start + 4_812_331
            record = {
                "__CURSOR": f"s={self.seqnum_id};i={seq:x};b={boot_id};m={monotonic:x};t={t:x};"
                            f"x={hexid(self.name, seq, t, length=16)}",
                "__REALTIME_TIMESTAMP": str(t),
                "__MONOTONIC_TIMESTAMP": str(monotonic),
                "__SEQNUM": str(seq),
                "__SEQNUM_ID": self.seqnum_id,
                "_BOOT_ID": boot_id,
            }
            record.update(head)
            record.update(extra)
            record.update(proc.fields(self.name, boot_id))
            record.update({
                "_MACHINE_ID": self.machine_id,
                "_HOSTNAME": self.name,
                "_RUNTIME_SCOPE": "system",
                "_SOURCE_REALTIME_TIMESTAMP": str(t - 37),
                "MESSAGE": message,
            })
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        return len(lines)


def spaced(t, count, gap):
    """`count` times from `t`, `gap` apart."""
    return [t + i * gap for i in range(count)]


# --------------------------------------------------------------------------
# sshd: a Debian server upgraded from Debian 12 (OpenSSH 9.2, every line
# from `sshd`) to Debian 13 (OpenSSH 10.0: the listener is `sshd`, each
# connection's lines come from `sshd-session`) on day 2. The unit is
# Debian's ssh.service throughout. Threshold: 5 failures in 10 minutes,
# 1 hour; recidive: 3 bans in a week, 30 days; 6 in a year, for good.
#
# An offence is a failed password (or keyboard-interactive round), a
# MaxAuthTries disconnection, a user refused by AllowUsers/DenyUsers/
# AllowGroups/DenyGroups, a connection OpenSSH 9.8+ drops for its
# failed-authentication penalty (LogLevel VERBOSE), and, once per
# connection, the lines of a connection that never authenticated: an
# invalid user, a failed "none" or public key for one, a client that
# closed, reset or disconnected while authenticating. So a key-probing bot
# counts one per connection, and a user who mistypes a password once, or
# gives up at the password prompt, stays far below the threshold.
#
# Expected bans (inet banwarden ssh_ban4; an IPv6 attacker banned by its /64 in ssh_net6):
#   203.0.113.50            3600, 3600, 3600 then 2592000 (3rd ban in a week)
#   2001:db8:dead:beef::77  3600 six times, 4 days apart, then permanent
#   203.0.113.99            3600 (user names that name 192.0.2.153)
#   203.0.113.120           3600 (public keys for invalid users, one per connection)
#   2001:db8:c0de:1::5      3600 (keys for root: disconnects and resets)
#   198.51.100.130          3600 (root, refused by AllowUsers)
#   203.0.113.140           3600 (passwords, then dropped by PerSourcePenalties)
# Never banned: 198.51.100.23 and 2001:db8:1234::5 (under the threshold),
# 192.168.1.20, 10.8.0.6, fd00:1:2::3, 127.0.0.1 (private), 192.0.2.66
# (forged sshd lines), 198.51.100.200 (forged ban lines), 192.0.2.153
# (named inside a user name), 192.0.2.9 and 2001:db8:feed::10 (logins),
# 198.51.100.170 (bob: gives up at a prompt, mistypes once, logs in),
# 198.51.100.171 (carol: her agent offers other keys first),
# 198.51.100.172 (a monitoring check that only reads the banner).
# --------------------------------------------------------------------------

def sshd_sample():
    t0 = utc(2025, 11, 17, 6)
    upgrade = t0 + 2 * DAY + 9 * HOUR
    host = Host("bastion", [t0 - 3 * DAY, upgrade + 4 * MIN])
    old_sshd = Proc(0, "sshd", "/usr/sbin/sshd", "sshd: unknown [priv]", "ssh.service", caps="1ffffffffff")
    new_sshd = Proc(0, "sshd-session", "/usr/lib/openssh/sshd-session", "sshd-session: unknown [priv]",
                    "ssh.service", caps="1ffffffffff")
    listener = Proc(0, "sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
                    "ssh.service", caps="1ffffffffff")
    pids = itertools.count(21000, 7)

    def connection(t, lines, gap=2 * SEC, user="unknown"):
        """One SSH connection: its lines, from the process of its era."""
        base = old_sshd if t < upgrade else new_sshd
        ident = "sshd" if t < upgrade else "sshd-session"
        proc = base.at(next(pids), f"{base.comm}: {user} [priv]")
        for i, (message, priority) in enumerate(lines):
            host.syslog(t + i * gap, proc, ident, message, priority=priority, facility=4)
        return t + len(lines) * gap

    info, err = 6, 3

    def invalid_user(t, ip, port, user, failures=1):
        lines = [(f"Invalid user {user} from {ip} port {port}", info)]
        lines += [(f"Failed password for invalid user {user} from {ip} port {port} ssh2", info)] * failures
        lines += [(f"Connection closed by invalid user {user} {ip} port {port} [preauth]", info)]
        return connection(t, lines)

    def root_passwords(t, ip, port, failures):
        """Failed passwords, then the client drops the connection: one
        offence more (the line a key-probing bot leaves too)."""
        lines = [(f"Failed password for root from {ip} port {port} ssh2", info)] * failures
        lines += [(f"Connection closed by authenticating user root {ip} port {port} [preauth]", info)]
        return connection(t, lines, user="root")

    def polite_root(t, ip, port, failures, user="root"):
        """Failed passwords, then the client says goodbye while still
        authenticating: one offence more, as when it hangs up."""
        lines = [(f"Failed password for {user} from {ip} port {port} ssh2", info)] * failures
        lines += [(f"Received disconnect from {ip} port {port}:11: Bye Bye [preauth]", info),
                  (f"Disconnected from authenticating user {user} {ip} port {port} [preauth]", info)]
        return connection(t, lines, user=user)

    # Ordinary days: cron, and alice logging in.
    for day in range(22):
        host.cron(t0 + day * DAY + 17 * MIN, 3100 + day, "cd / && run-parts --report /etc/cron.hourly")
        t = t0 + day * DAY + 7 * HOUR + 31 * MIN
        ip = "192.0.2.9" if day % 2 == 0 else "2001:db8:feed::10"
        connection(t, [
            (f"Accepted publickey for alice from {ip} port {50122 + day} ssh2: ED25519 "
             "SHA256:Qm9ndXNLZXlGb3JBbGljZVRoYXRJc0Zha2VPbmx5", info),
            ("pam_unix(sshd:session): session opened for user alice(uid=1000) by alice(uid=0)", info),
        ], user="alice")
        host.new_session(t + 3 * SEC, 40 + day, "alice", 1000)
        # Her logout, 40 minutes later, from the same monitor process.
        connection(t + 40 * MIN, [
            (f"Received disconnect from {ip} port {50122 + day}:11: disconnected by user", info),
            (f"Disconnected from user alice {ip} port {50122 + day}", info),
            ("pam_unix(sshd:session): session closed for user alice", info),
        ], gap=10_000, user="alice")

    # 203.0.113.50, first ban: invalid user names, 5 offences in 13 s.
    t = t0 + 1 * HOUR + 12 * MIN
    t = invalid_user(t, "203.0.113.50", 40122, "admin", failures=2) + SEC  # 3 offences
    invalid_user(t, "203.0.113.50", 40150, "oracle")  # 5th, 2 s later: banned
    host.banwarden(t + 2 * SEC + 300_000, "Ban from SSH for 203.0.113.50")

    # 198.51.100.23 stays under the threshold: 4 offences, then 4 more
    # 15 minutes later, when the first ones have expired.
    t = t0 + 2 * HOUR + 5 * MIN
    t = polite_root(t, "198.51.100.23", 51000, 1)
    connection(t + 20 * SEC, [
        ("Invalid user test from 198.51.100.23 port 51002", info),
        ("Failed password for invalid user test from 198.51.100.23 port 51002 ssh2", info),
        ("Received disconnect from 198.51.100.23 port 51002:11: Bye Bye [preauth]", info),
        ("Disconnected from invalid user test 198.51.100.23 port 51002 [preauth]", info),
    ])
    root_passwords(t0 + 2 * HOUR + 20 * MIN, "198.51.100.23", 51030, 3)

    # Private addresses: alice's forgotten password on the LAN, bob on the VPN.
    t = connection(t0 + 3 * HOUR, [("Failed password for alice from 192.168.1.20 port 52200 ssh2", info)] * 3
                   + [("Connection closed by authenticating user alice 192.168.1.20 port 52200 [preauth]", info)],
                   gap=4 * SEC, user="alice")
    t = connection(t + 10 * SEC, [("Failed password for alice from 192.168.1.20 port 52210 ssh2", info)] * 6
                   + [("error: maximum authentication attempts exceeded for alice from 192.168.1.20 port 52210 "
                       "ssh2 [preauth]", err)], gap=4 * SEC, user="alice")
    connection(t + 30 * SEC, [("Accepted password for alice from 192.168.1.20 port 52230 ssh2", info)], user="alice")
    connection(t0 + 4 * HOUR, [("Failed password for bob from 10.8.0.6 port 40001 ssh2", info)] * 6, gap=3 * SEC,
               user="bob")

    # 203.0.113.50, second ban: root passwords.
    t = root_passwords(t0 + 6 * HOUR + 40 * MIN, "203.0.113.50", 41000, 3) + 2 * SEC  # 4 offences
    polite_root(t, "203.0.113.50", 41016, 1)  # the 5th at t
    host.banwarden(t + 300_000, "Ban from SSH for 203.0.113.50")

    # 203.0.113.99 tries to get 192.0.2.153 banned with user names that look
    # like the end of a line; the address at the end is its own.
    t = t0 + 11 * HOUR
    t = invalid_user(t, "203.0.113.99", 51000, "admin from 192.0.2.153 port 22", failures=2) + SEC
    invalid_user(t, "203.0.113.99", 51010, "root from 192.0.2.153 port 22")
    host.banwarden(t + 2 * SEC + 300_000, "Ban from SSH for 203.0.113.99")

    # Mallory, a local user, forges sshd lines about 192.0.2.66 ...
    mallory = session_proc(12, 1001, 7310)
    host.new_session(t0 + 19 * HOUR, 12, "mallory", 1001)
    for i, t in enumerate(spaced(t0 + 19 * HOUR + 2 * MIN, 6, 5 * SEC)):
        host.syslog(t, mallory.at(7311 + i), "sshd", f"Failed password for root from 192.0.2.66 port {4444 + i} ssh2",
                    priority=5)
    # ... and copies of banwarden's ban line about 198.51.100.200: with
    # logger's syslog, with logger --journald, and from a web application
    # she controls. Three in a week would mean a 30-day ban.
    host.syslog(t0 + 19 * HOUR + 5 * MIN, mallory.at(7320), "banwarden", "Ban from SSH for 198.51.100.200", priority=5)
    host.journal(t0 + 19 * HOUR + 6 * MIN, mallory.at(7321, "logger --journald"), "banwarden",
                 "Ban from SSH for 198.51.100.200", priority=5)
    webapp = Proc(8802, "gitea", "/usr/local/bin/gitea", "/usr/local/bin/gitea web", "gitea.service", uid=115)
    host.journal(t0 + 19 * HOUR + 7 * MIN, webapp, "banwarden", "Ban from SSH for 198.51.100.200", priority=5)

    # Private IPv6 and localhost: never counted.
    connection(t0 + DAY + 2 * HOUR, [("Invalid user deploy from fd00:1:2::3 port 33000", info),
                                     ("Failed password for invalid user deploy from fd00:1:2::3 port 33000 ssh2",
                                      info)] * 3)
    connection(t0 + DAY + 3 * HOUR, [("Failed password for alice from 127.0.0.1 port 58000 ssh2", info)] * 5,
               user="alice")
    # 2001:db8:1234::5: 3 offences, under the threshold.
    invalid_user(t0 + DAY + 4 * HOUR, "2001:db8:1234::5", 60400, "ubuntu", failures=2)

    # The upgrade to Debian 13: from now on, sshd-session.
    host.systemd(upgrade, "ssh.service", "Stopping ssh.service - OpenBSD Secure Shell server...",
                 "de5b426a63be47a7b6ac3eaac82e2f6f")
    host.systemd(upgrade + 5 * MIN, "ssh.service", "Starting ssh.service - OpenBSD Secure Shell server...",
                 "7d4958e842da4a758f6c1cdc7b36dcc5")
    host.syslog(upgrade + 5 * MIN + 80_000, listener.at(712), "sshd", "Server listening on 0.0.0.0 port 22.",
                facility=4)
    host.syslog(upgrade + 5 * MIN + 81_000, listener.at(712), "sshd", "Server listening on :: port 22.", facility=4)
    host.systemd(upgrade + 5 * MIN + 90_000, "ssh.service", "Started ssh.service - OpenBSD Secure Shell server.",
                 "39f53479d3a045ac8e11786248231fbf")

    # 203.0.113.50, third ban in a week: a key-probing bot, then passwords
    # until MaxAuthTries. banwarden's line for it triggers the 30-day ban.
    t = t0 + 2 * DAY + 14 * HOUR + 20 * MIN
    t = connection(t, [("Connection closed by authenticating user root 203.0.113.50 port 45000 [preauth]", info)],
                   user="root")
    t = connection(t + SEC, [("Connection closed by authenticating user root 203.0.113.50 port 45002 [preauth]",
                              info)], user="root") + SEC
    connection(t, [
        ("Failed password for root from 203.0.113.50 port 45010 ssh2", info),
        ("Failed password for root from 203.0.113.50 port 45010 ssh2", info),
        ("error: maximum authentication attempts exceeded for root from 203.0.113.50 port 45010 ssh2 [preauth]",
         err),
        ("Disconnecting authenticating user root 203.0.113.50 port 45010: Too many authentication failures "
         "[preauth]", info),
    ], user="root")
    host.banwarden(t + 4 * SEC + 300_000, "Ban from SSH for 203.0.113.50")  # the 5th: MaxAuthTries
    host.banwarden(t + 4 * SEC + 300_400, "Recidive ban from SSH for 203.0.113.50: 3 bans this week")

    # 203.0.113.120 probes public keys for user names that do not exist:
    # each connection logs four lines and counts once; the 5th connection
    # is banned.
    t = t0 + 3 * DAY + 2 * HOUR + 7 * MIN
    for i, user in enumerate(["oracle", "ubuntu", "git", "postgres", "deploy"]):
        ip, port = "203.0.113.120", 33410 + i * 6
        t = connection(t, [
            (f"Invalid user {user} from {ip} port {port}", info),
            (f"Failed none for invalid user {user} from {ip} port {port} ssh2", info),
            (f"Failed publickey for invalid user {user} from {ip} port {port} ssh2: RSA "
             "SHA256:aW52YWxpZFVzZXJQcm9iZUtleU51bWJlck9uZQ", info),
            (f"Connection closed by invalid user {user} {ip} port {port} [preauth]", info),
        ], gap=300_000) + 3 * SEC
    host.banwarden(t - 3 * SEC + 300_000, "Ban from SSH for 203.0.113.120")

    # 2001:db8:c0de:1::5 offers keys for root and leaves: politely
    # (disconnect) or not (reset), one offence per connection.
    t = t0 + 3 * DAY + 4 * HOUR + 30 * MIN
    for i in range(5):
        ip, port = "2001:db8:c0de:1::5", 41200 + i * 2
        if i % 2:
            lines = [(f"Connection reset by authenticating user root {ip} port {port} [preauth]", info)]
        else:
            lines = [(f"Received disconnect from {ip} port {port}:11: Bye Bye [preauth]", info),
                     (f"Disconnected from authenticating user root {ip} port {port} [preauth]", info)]
        t = connection(t, lines, gap=200_000, user="root") + 4 * SEC
    host.banwarden(t - 4 * SEC + 300_000, "Ban from SSH for 2001:db8:c0de:1::5")

    # 198.51.100.130 tries root, which `AllowUsers alice bob carol` refuses
    # before any password: two connections.
    t = t0 + 3 * DAY + 6 * HOUR
    for port in (52001, 52013):
        ip, start = "198.51.100.130", t  # the 5th offence: the second connection's first line
        t = connection(t, [
            (f"User root from {ip} not allowed because not listed in AllowUsers", info),
            (f"Failed password for invalid user root from {ip} port {port} ssh2", info),
            (f"Failed password for invalid user root from {ip} port {port} ssh2", info),
            (f"Connection closed by invalid user root {ip} port {port} [preauth]", info),
        ], user="root") + SEC
    host.banwarden(start + 300_000, "Ban from SSH for 198.51.100.130")

    # 203.0.113.140: three wrong passwords earn it OpenSSH's penalty
    # (PerSourcePenalties, OpenSSH 9.8+); the listener drops its next
    # connections, at LogLevel VERBOSE with a line each.
    t = t0 + 3 * DAY + 8 * HOUR + 15 * MIN
    t = connection(t, [("Failed password for root from 203.0.113.140 port 60110 ssh2", info)] * 3, user="root")
    for i in range(2):
        host.syslog(t + i * 5 * SEC, listener.at(712), "sshd",
                    f"drop connection #0 from [203.0.113.140]:{60112 + i * 2} on [192.0.2.22]:22 penalty: "
                    "failed authentication", facility=4)
    host.banwarden(t + 5 * SEC + 300_000, "Ban from SSH for 203.0.113.140")

    # Legitimate sessions, none counted enough to ban. carol's agent offers
    # two other keys first (logged once failures reach MaxAuthTries/2).
    t = t0 + 3 * DAY + 9 * HOUR
    connection(t, [
        ("Failed publickey for carol from 198.51.100.171 port 38844 ssh2: ED25519 "
         "SHA256:Q2Fyb2xzT2xkV29ya0tleVRoYXRJc05vdExpc3RlZA", info),
        ("Failed publickey for carol from 198.51.100.171 port 38844 ssh2: RSA "
         "SHA256:Q2Fyb2xzR2l0SHViS2V5Tm90T25UaGlzU2VydmVy", info),
        ("Accepted publickey for carol from 198.51.100.171 port 38844 ssh2: ED25519 "
         "SHA256:Q2Fyb2xzUmlnaHRLZXlGb3JUaGlzU2VydmVyIQ", info),
        ("pam_unix(sshd:session): session opened for user carol(uid=1003) by carol(uid=0)", info),
    ], user="carol")
    # A monitoring service checks the port every 5 minutes: it reads the
    # banner and hangs up before authenticating (no user in the line).
    for i, t in enumerate(spaced(t0 + 4 * DAY + HOUR, 12, 5 * MIN)):
        connection(t, [(f"Connection closed by 198.51.100.172 port {47000 + i} [preauth]", info)])
    # bob, two days running: gives up at the password prompt, then
    # mistypes his password once, logs in and, later, out.
    for day in (5, 6):
        t = t0 + day * DAY + 8 * HOUR + 50 * MIN
        ip, port = "198.51.100.170", 50510 + day * 4
        t = connection(t, [(f"Connection closed by authenticating user bob {ip} port {port} [preauth]", info)],
                       user="bob") + 20 * SEC
        connection(t, [
            (f"Failed password for bob from {ip} port {port + 2} ssh2", info),
            (f"Accepted password for bob from {ip} port {port + 2} ssh2", info),
            ("pam_unix(sshd:session): session opened for user bob(uid=1002) by bob(uid=0)", info),
        ], gap=3 * SEC, user="bob")
        connection(t + 2 * HOUR, [
            (f"Received disconnect from {ip} port {port + 2}:11: disconnected by user", info),
            (f"Disconnected from user bob {ip} port {port + 2}", info),
            ("pam_unix(sshd:session): session closed for user bob", info),
        ], gap=10_000, user="bob")

    # 2001:db8:dead:beef::77 comes back every 4 days: one 1-hour ban each
    # time (never 3 in a week), and the 6th in a year is for good.
    rounds = [t0 + 9 * HOUR + 10 * MIN, t0 + 4 * DAY + 11 * HOUR, t0 + 8 * DAY + 10 * HOUR,
              t0 + 12 * DAY + 16 * HOUR, t0 + 16 * DAY + 9 * HOUR + 30 * MIN, t0 + 20 * DAY + 22 * HOUR]
    for n, t in enumerate(rounds, start=1):
        ip = "2001:db8:dead:beef::77"
        if n % 2:
            t = invalid_user(t, ip, 60000 + n * 100, "pi", failures=2)
            t = invalid_user(t + SEC, ip, 60001 + n * 100, "git")
        else:
            t = connection(t, [(f"Failed keyboard-interactive/pam for invalid user ftp from {ip} port "
                                f"{60000 + n * 100} ssh2", info)] * 2)
            t = root_passwords(t + SEC, ip, 60002 + n * 100, 2)
        host.banwarden(t + SEC, f"Ban from SSH for {ip}")
    host.banwarden(t + SEC + 300, f"Permanent ban from SSH for {ip} after 6 bans this year", priority=4)
    return host


# --------------------------------------------------------------------------
# nginx: a Debian 12 web server (nginx 1.22) logging to the journal with
#   error_log  syslog:server=unix:/dev/log,nohostname warn;
#   access_log syslog:server=unix:/dev/log,nohostname,tag=nginx_access combined;
# Offences: HTTP basic authentication failures, requests refused by an
# access rule (deny), limit_req and limit_conn rejections (error log), 5
# in 10 minutes, 1 hour; requests for well-known exploit paths answered
# 404 (access log), 3 in 10 minutes, 1 day.
#
# Expected bans (inet banwarden web_ban4; an IPv6 attacker banned by its /64 in web_net6):
#   203.0.113.77 3600, 2001:db8:bad:1::99 3600,
#   198.51.100.14 86400, 2001:db8:5ca:1::e 86400,
#   198.51.100.33 3600 (knocks on /admin/, which only the office may see),
#   203.0.113.55 3600 (too many connections at once: limit_conn)
# Never banned: 203.0.113.120 and 198.51.100.90 (under the thresholds),
# 192.168.10.5, 10.0.0.8, fd00::8 (private), 192.0.2.150 and 192.0.2.151
# (forged by a local user), 192.0.2.44 (an ordinary visitor),
# 198.51.100.34 (refused /admin/ twice).
# --------------------------------------------------------------------------

def nginx_sample():
    t0 = utc(2025, 11, 18, 6)
    host = Host("web1", [t0 - 9 * DAY])
    workers = [Proc(1402 + i, "nginx", "/usr/sbin/nginx", "nginx: worker process", "nginx.service", uid=33)
               for i in range(2)]
    connection = itertools.count(5821)

    def error(t, level, text, priority=3, worker=0, with_connection=True):
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        proc = workers[worker]
        conn = f"*{next(connection)} " if with_connection else ""
        host.syslog(t, proc, "nginx", f"{stamp:%Y/%m/%d %H:%M:%S} [{level}] {proc.pid}#{proc.pid}: {conn}{text}",
                    priority=priority, facility=23, with_pid=False)

    def access(t, ip, request, status, size, user="-", agent="Mozilla/5.0 (X11; Linux x86_64; rv:132.0) "
               "Gecko/20100101 Firefox/132.0", referer="-", worker=1):
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        host.syslog(t, workers[worker], "nginx_access",
                    f'{ip} - {user} [{stamp:%d/%b/%Y:%H:%M:%S} +0000] "{request}" {status} {size} "{referer}" '
                    f'"{agent}"', facility=23, with_pid=False)

    site = 'server: intranet.example.org, request: "{}", host: "intranet.example.org"'

    def mismatch(t, ip, user, request="GET /admin/ HTTP/1.1"):
        error(t, "error", f'user "{user}": password mismatch, client: {ip}, {site.format(request)}')
        access(t + 300, ip, request, 401, 179, user=user)

    def not_found(t, ip, user, request="GET /admin/ HTTP/1.1"):
        error(t, "error", f'user "{user}" was not found in "/etc/nginx/htpasswd", client: {ip}, '
              f'{site.format(request)}')
        access(t + 300, ip, request, 401, 179, user=user)

    def limited(t, ip, excess):
        request = "POST /login HTTP/2.0"
        error(t, "error", f'limiting requests, excess: {excess} by zone "login", client: {ip}, '
              f'{site.format(request)}')
        access(t + 200, ip, request, 503, 197)

    # Ordinary traffic.
    for i, t in enumerate(spaced(t0 + 10 * MIN, 40, 7 * MIN)):
        visitor = "192.0.2.44" if i % 3 else "2001:db8:feed::44"
        access(t, visitor, ["GET / HTTP/2.0", "GET /static/app.css HTTP/2.0", "GET /news/ HTTP/2.0",
                            "GET /favicon.ico HTTP/2.0"][i % 4], 404 if i % 4 == 3 else 200, 162 if i % 4 == 3
               else 5120 + i, referer="https://intranet.example.org/")
    error(t0 + 40 * MIN, "error", f'no user/password was provided for basic authentication, client: 192.0.2.44, '
          f'{site.format("GET /admin/ HTTP/2.0")}')
    access(t0 + 40 * MIN + 300, "192.0.2.44", "GET /admin/ HTTP/2.0", 401, 179)
    access(t0 + 40 * MIN + 4 * SEC, "192.0.2.44", "GET /admin/ HTTP/2.0", 200, 9841, user="carol")
    error(t0 + 50 * MIN, "warn", "an upstream response is buffered to a temporary file "
          "/var/lib/nginx/proxy/7/45/0000000457 while reading upstream, client: 192.0.2.44, "
          f'{site.format("GET /reports/2025.pdf HTTP/2.0")}, upstream: "http://127.0.0.1:8080/reports/2025.pdf"',
          priority=4)

    # 203.0.113.77 guesses passwords for /admin/: banned at the 5th.
    t = t0 + HOUR + 3 * MIN
    for user, when in [("admin", 0), ("admin", 3), ("root", 5), ("admin", 9), ("test", 12)]:
        (not_found if user in ("root", "test") else mismatch)(t + when * SEC, "203.0.113.77", user)
    host.banwarden(t + 12 * SEC + 600, "Ban from nginx for 203.0.113.77: 5 failed logins, forbidden or rate-limited requests")

    # 2001:db8:bad:1::99 hammers the login form past limit_req.
    t = t0 + 2 * HOUR + 10 * MIN
    error(t - 2 * SEC, "warn", f'delaying request, excess: 0.560, by zone "login", client: 2001:db8:bad:1::99, '
          f'{site.format("POST /login HTTP/2.0")}', priority=4)
    for i in range(5):
        limited(t + i * 400_000, "2001:db8:bad:1::99", f"{10 + i}.{(i * 137) % 1000:03d}")
    host.banwarden(t + 2 * SEC, "Ban from nginx for 2001:db8:bad:1::99: 5 failed logins, forbidden or rate-limited requests")

    # Under the threshold: 3 wrong passwords.
    for i in range(3):
        mismatch(t0 + 3 * HOUR + i * 20 * SEC, "203.0.113.120", "webmaster")

    # A colleague on the LAN with the wrong password, many times; an
    # internal scanner; a script on the office's IPv6 network.
    for i in range(7):
        mismatch(t0 + 3 * HOUR + 30 * MIN + i * 15 * SEC, "192.168.10.5", "dave")
    for i, path in enumerate(["/.git/config", "/.env", "/phpmyadmin/", "/wp-login.php"]):
        access(t0 + 3 * HOUR + 45 * MIN + i * SEC, "10.0.0.8", f"GET {path} HTTP/1.1", 404, 162, agent="Nuclei")
    for i in range(6):
        limited(t0 + 3 * HOUR + 50 * MIN + i * 300_000, "fd00::8", f"{5 + i}.000")

    # 198.51.100.14: a scanner looking for secrets and WordPress.
    t = t0 + 4 * HOUR + 22 * MIN
    access(t, "198.51.100.14", "GET / HTTP/1.1", 200, 5120, agent="Mozilla/5.0 zgrab/0.x")
    for i, (request, agent) in enumerate([("GET /.env HTTP/1.1", "Mozilla/5.0 zgrab/0.x"),
                                          ("GET /.git/config HTTP/1.1", "Mozilla/5.0 zgrab/0.x"),
                                          ("POST /wp-login.php HTTP/1.1", "Mozilla/5.0 (Windows NT 10.0)")]):
        access(t + (i + 1) * SEC, "198.51.100.14", request, 404, 162, agent=agent)
    host.banwarden(t + 3 * SEC + 500, "Ban from nginx for 198.51.100.14: 3 requests for well-known exploit paths")

    # 2001:db8:5ca:1::e: the same over IPv6, router and PHP exploits.
    t = t0 + 5 * HOUR + 40 * MIN
    for i, request in enumerate(["GET /phpmyadmin/ HTTP/1.1",
                                 "POST /vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php HTTP/1.1",
                                 "GET /cgi-bin/luci/;stok=/locale?form=country HTTP/1.1"]):
        access(t + i * 2 * SEC, "2001:db8:5ca:1::e", request, 404, 162, agent="Go-http-client/1.1")
    host.banwarden(t + 4 * SEC + 500, "Ban from nginx for 2001:db8:5ca:1::e: 3 requests for well-known exploit paths")

    # 198.51.100.33 keeps asking for /admin/, which `allow 192.0.2.0/24;
    # deny all;` keeps for the office; 198.51.100.34 tries twice only.
    t = t0 + 6 * HOUR + 30 * MIN
    for i in range(5):
        error(t + i * 20 * SEC, "error", f'access forbidden by rule, client: 198.51.100.33, '
              f'{site.format("GET /admin/ HTTP/1.1")}')
        access(t + i * 20 * SEC + 200, "198.51.100.33", "GET /admin/ HTTP/1.1", 403, 153)
    host.banwarden(t + 80 * SEC + 500, "Ban from nginx for 198.51.100.33: 5 failed logins, forbidden or "
                   "rate-limited requests")
    for i in range(2):
        error(t + 10 * MIN + i * MIN, "error", f'access forbidden by rule, client: 198.51.100.34, '
              f'{site.format("GET /admin/ HTTP/2.0")}')
        access(t + 10 * MIN + i * MIN + 200, "198.51.100.34", "GET /admin/ HTTP/2.0", 403, 153)

    # 203.0.113.55 opens more connections at once than `limit_conn addr 20`
    # allows.
    t = t0 + 6 * HOUR + 50 * MIN
    for i in range(5):
        error(t + i * 150_000, "error", f'limiting connections by zone "addr", client: 203.0.113.55, '
              f'{site.format("GET /download/big.iso HTTP/1.1")}')
        access(t + i * 150_000 + 100, "203.0.113.55", "GET /download/big.iso HTTP/1.1", 503, 197,
               agent="Wget/1.21.3")
    host.banwarden(t + 600_000 + 500, "Ban from nginx for 203.0.113.55: 5 failed logins, forbidden or "
                   "rate-limited requests")

    # Under the threshold: 2 probes.
    access(t0 + 6 * HOUR, "198.51.100.90", "GET /.env HTTP/1.1", 404, 162, agent="curl/8.5.0")
    access(t0 + 6 * HOUR + 3 * SEC, "198.51.100.90", "POST /xmlrpc.php HTTP/1.1", 404, 162, agent="curl/8.5.0")

    # Mallory, a local user, writes lines in nginx's name.
    mallory = session_proc(5, 1001, 9101)
    host.new_session(t0 + 7 * HOUR, 5, "mallory", 1001)
    for i in range(4):
        t = t0 + 7 * HOUR + MIN + i * SEC
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        host.syslog(t, mallory.at(9102 + i), "nginx_access",
                    f'192.0.2.150 - - [{stamp:%d/%b/%Y:%H:%M:%S} +0000] "GET /.env HTTP/1.1" 404 162 "-" '
                    '"curl/8.5.0"', priority=5, with_pid=False)
    for i in range(6):
        t = t0 + 7 * HOUR + 2 * MIN + i * SEC
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        host.syslog(t, mallory.at(9110 + i), "nginx",
                    f'{stamp:%Y/%m/%d %H:%M:%S} [error] 1402#1402: *{9000 + i} user "admin": password mismatch, '
                    f'client: 192.0.2.151, {site.format("GET /admin/ HTTP/1.1")}', priority=5, with_pid=False)
    host.cron(t0 + 8 * HOUR + 17 * MIN, 4410, "cd / && run-parts --report /etc/cron.hourly")
    return host


# --------------------------------------------------------------------------
# dovecot: a mail server upgraded from Debian 12 (Dovecot 2.3.19:
# "Disconnected: Connection closed (auth failed, ...)") to Debian 13
# (Dovecot 2.4: "Login aborted: ... (auth_failed)") on day 1. Threshold:
# 5 connections that failed to log in, or that tried a password in clear
# text where only TLS allows it (disable_plaintext_auth), in 10 minutes,
# 1 hour; recidive: 3 bans in a week, 7 days.
#
# Expected bans (inet banwarden mail_ban4; an IPv6 attacker banned by its /64 in mail_net6):
#   203.0.113.40        3600, 3600, 3600 then 604800 (3rd ban in a week)
#   203.0.113.44        3600 (passwords in clear text on POP3 without TLS)
#   203.0.113.41        3600 (user names that name 192.0.2.173)
#   2001:db8:4a:1::25   3600
#   198.51.100.45       3600 (seen as ::ffff:198.51.100.45 on an IPv6 socket)
# Never banned: 198.51.100.46 (under the threshold), 192.168.1.7,
# ::ffff:192.168.1.8, 10.0.0.12 (private), 192.0.2.171 (forged dovecot
# lines), 192.0.2.172 (forged ban lines), 192.0.2.173 (named in user names),
# 192.0.2.9 and 2001:db8:feed::9 (alice reads her mail), 198.51.100.99
# (hangs up during the TLS handshake).
# --------------------------------------------------------------------------

def dovecot_sample():
    t0 = utc(2025, 11, 19, 6)
    upgrade = t0 + DAY - HOUR
    host = Host("mx1", [t0 - 20 * DAY, upgrade])
    log = Proc(812, "log", "/usr/lib/dovecot/log", "dovecot/log", "dovecot.service")
    session_ids = itertools.count(10_000, 7919)

    def line(t, text, priority=6):
        host.syslog(t, log, "dovecot", text, priority=priority, facility=2, with_pid=False)

    def session():
        return "<" + hexid("session", next(session_ids), length=16) + ">"

    def failed(t, proto, user, rip, lip="192.0.2.25", attempts=1, secs=2, method="PLAIN"):
        if t < upgrade:
            text = f"{proto}-login: Disconnected: Connection closed (auth failed, {attempts} attempts in {secs} secs)"
        else:
            text = (f"{proto}-login: Login aborted: Connection closed (auth failed, {attempts} attempts in {secs} "
                    "secs) (auth_failed)")
        line(t, f"{text}: user=<{user}>, method={method}, rip={rip}, lip={lip}, TLS, session={session()}")

    # Ordinary mail reading.
    for i, t in enumerate(spaced(t0 + 20 * MIN, 30, 67 * MIN)):
        rip = "192.0.2.9" if i % 2 else "2001:db8:feed::9"
        pid = 5012 + i
        line(t, f"imap-login: Login: user=<alice@example.org>, method=PLAIN, rip={rip}, lip=192.0.2.25, "
             f"mpid={pid}, TLS, session={session()}")
        line(t + 3 * MIN, f"imap(alice@example.org)<{pid}><{hexid('s', i, length=16)}>: Disconnected: Logged out "
             f"in=312 out={10488 + i} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 "
             "body_bytes=0")
    line(t0 + 25 * MIN, "imap-login: Disconnected: Connection closed (no auth attempts in 0 secs): user=<>, "
         f"rip=198.51.100.99, lip=192.0.2.25, TLS handshaking: Connection closed, session={session()}")

    # 203.0.113.40: three rounds, the third is a recidive.
    for t, proto, users in [
        (t0 + HOUR + 20 * MIN, "imap", ["admin", "info", "sales", "test", "office"]),
        (t0 + 7 * HOUR + 5 * MIN, "imap", ["admin@example.org", "info@example.org", "contact@example.org",
                                            "support@example.org", "billing@example.org"]),
        (t0 + DAY + 2 * HOUR + 40 * MIN, "pop3", ["admin", "postmaster", "webmaster", "root", "user"]),
    ]:
        for i, user in enumerate(users):
            failed(t + i * 9 * SEC, proto, user, "203.0.113.40", attempts=1 + i % 3, secs=2 + 4 * (i % 3))
        host.banwarden(t + 36 * SEC + 300, "Ban from dovecot for 203.0.113.40")
    host.banwarden(t + 36 * SEC + 700, "Recidive ban from dovecot for 203.0.113.40: 3 bans this week")

    # A phone with an old password on the LAN, a monitoring check with a
    # wrong one, a laptop through an IPv6 socket: private, never counted.
    for i in range(8):
        failed(t0 + 2 * HOUR + i * 5 * MIN, "imap", "bob@example.org", "192.168.1.7", lip="192.168.1.2")
    for i in range(5):
        failed(t0 + 3 * HOUR + i * MIN, "imap", "monitor", "10.0.0.12", lip="10.0.0.2")
    # Under the threshold.
    for i in range(4):
        failed(t0 + 4 * HOUR + i * 30 * SEC, "imap", "info@example.org", "198.51.100.46")

    # 203.0.113.44 sends passwords in clear text to POP3 on port 110, which
    # only takes them after STLS: refused before any password is checked.
    for i, user in enumerate(["admin", "info", "test", "sales", "webmaster"]):
        line(t0 + 5 * HOUR + i * 7 * SEC, f"pop3-login: Aborted login (tried to use disallowed plaintext auth): "
             f"user=<{user}>, rip=203.0.113.44, lip=192.0.2.25, session={session()}")
    host.banwarden(t0 + 5 * HOUR + 28 * SEC + 300, "Ban from dovecot for 203.0.113.44")

    # 203.0.113.41 tries to get 192.0.2.173 banned with user names that
    # repeat the end of the line; the last rip= is its own.
    for i in range(5):
        failed(t0 + 9 * HOUR + i * 10 * SEC, "imap",
               f"x{i}>, method=PLAIN, rip=192.0.2.173, lip=192.0.2.25, TLS, session=<0000>", "203.0.113.41")
    host.banwarden(t0 + 9 * HOUR + 41 * SEC, "Ban from dovecot for 203.0.113.41")

    # Mallory, a local user, forges dovecot lines and ban lines.
    mallory = session_proc(8, 1001, 6620)
    host.new_session(t0 + 15 * HOUR, 8, "mallory", 1001)
    for i in range(6):
        host.syslog(t0 + 15 * HOUR + MIN + i * SEC, mallory.at(6621 + i), "dovecot",
                    "imap-login: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): "
                    f"user=<admin>, method=PLAIN, rip=192.0.2.171, lip=192.0.2.25, TLS, session=<{i:016x}>",
                    priority=5, with_pid=False)
    host.syslog(t0 + 15 * HOUR + 3 * MIN, mallory.at(6630), "banwarden", "Ban from dovecot for 192.0.2.172",
                priority=5)
    host.journal(t0 + 15 * HOUR + 4 * MIN, mallory.at(6631, "logger --journald"), "banwarden",
                 "Ban from dovecot for 192.0.2.172", priority=5)
    roundcube = Proc(7730, "php-fpm8.2", "/usr/sbin/php-fpm8.2", "php-fpm: pool roundcube", "php8.2-fpm.service",
                     uid=33)
    host.journal(t0 + 15 * HOUR + 5 * MIN, roundcube, "banwarden", "Ban from dovecot for 192.0.2.172", priority=5)

    # The upgrade to Dovecot 2.4.
    host.systemd(upgrade + 2 * MIN, "dovecot.service",
                 "Starting dovecot.service - Dovecot IMAP/POP3 email server...", "7d4958e842da4a758f6c1cdc7b36dcc5")
    line(upgrade + 2 * MIN + 300_000, "master: Dovecot v2.4.1-4 (7d8c0e5759) starting up for imap, pop3, "
         "submission, lmtp, sieve")

    # An IPv6 attacker on the submission service.
    for i in range(5):
        failed(t0 + DAY + 5 * HOUR + i * 20 * SEC, "submission", f"user{i}@example.org", "2001:db8:4a:1::25",
               lip="2001:db8:4a::25", method="LOGIN")
    host.banwarden(t0 + DAY + 5 * HOUR + 81 * SEC, "Ban from dovecot for 2001:db8:4a:1::25")

    # POP3S listens on an IPv6 socket that also takes IPv4: addresses come
    # as IPv4-mapped ones. The attacker's is banned in the IPv4 set; the
    # office's is private all the same.
    for i in range(5):
        failed(t0 + DAY + 7 * HOUR + i * 12 * SEC, "pop3", f"test{i}", "::ffff:198.51.100.45",
               lip="::ffff:192.0.2.25")
    host.banwarden(t0 + DAY + 7 * HOUR + 49 * SEC, "Ban from dovecot for ::ffff:198.51.100.45")
    for i in range(6):
        failed(t0 + DAY + 8 * HOUR + i * 40 * SEC, "pop3", "carol@example.org", "::ffff:192.168.1.8",
               lip="::ffff:192.168.1.2")
    return host


# --------------------------------------------------------------------------
# postfix: Debian 12 (Postfix 3.7, unit postfix@-.service), submission and
# smtps services with their own syslog_name, Dovecot SASL; smtps logs the
# client's port too (-o smtpd_client_port_logging=yes: unknown[IP]:PORT).
# Offences: SASL failures, 5 in 10 minutes, 1 hour; relay attempts, 3 in
# an hour, 1 day; recidive: 3 SASL bans in a week, 7 days. A failure
# because Dovecot's auth service went away ("Connection lost to
# authentication server") is not the client's: not counted.
#
# Expected bans (inet banwarden mail_ban4; an IPv6 attacker banned by its /64 in mail_net6):
#   203.0.113.60    3600, 3600, 3600 then 604800 (3rd ban in a week)
#   2001:db8:60::2  3600
#   198.51.100.80   86400 (relay attempts)
# Never banned: 198.51.100.81 and 203.0.113.62 (under the thresholds),
# 192.168.2.30, fd00:2::30 (private), 192.0.2.180 (forged smtpd lines),
# 192.0.2.181 (forged ban lines), 192.0.2.182 (a spam subject that quotes
# a SASL failure, logged by cleanup), 209.85.221.41 and 192.0.2.9 (mail),
# 198.51.100.185 (an office's users while Dovecot's auth restarted).
# --------------------------------------------------------------------------

def postfix_sample():
    t0 = utc(2025, 11, 20, 6)
    host = Host("mx2", [t0 - 31 * DAY])
    unit = "postfix@-.service"
    pids = itertools.count(30100, 13)
    queue_ids = itertools.count(1)

    def smtpd(service):
        name = {"smtp": "postfix/smtpd", "submission": "postfix/submission/smtpd", "smtps": "postfix/smtps/smtpd"}
        cmdline = "smtpd -n smtp -t inet -u -c -o stress= -s 2" if service == "smtp" else \
            f"smtpd -n {service} -t inet -u -o syslog_name=postfix/{service}"
        if service == "smtps":
            cmdline += " -o smtpd_client_port_logging=yes"
        return Proc(next(pids), "smtpd", "/usr/lib/postfix/sbin/smtpd", cmdline, unit, uid=107, gid=114), name[service]

    def client(proc, ident, ip):
        """The client as smtpd names it: with its port where the service logs it."""
        return f"unknown[{ip}]:{40000 + proc.pid % 20000}" if ident == "postfix/smtps/smtpd" else f"unknown[{ip}]"

    def queue_id():
        return "4" + hexid("queue", next(queue_ids), length=9).upper()

    def sasl_failures(t, service, ip, users, mechanism="LOGIN", gap=12 * SEC, reason=None):
        proc, ident = smtpd(service)
        peer = client(proc, ident, ip)
        host.syslog(t, proc, ident, f"connect from {peer}", facility=2)
        for i, user in enumerate(users):
            why = reason or ("UGFzc3dvcmQ6" if mechanism == "LOGIN" else "(reason unavailable)")
            host.syslog(t + (i + 1) * gap, proc, ident, f"warning: {peer}: SASL {mechanism} authentication "
                        f"failed: {why}, sasl_username={user}", priority=4, facility=2)
        end = t + (len(users) + 1) * gap
        host.syslog(end, proc, ident, f"lost connection after AUTH from {peer}", facility=2)
        host.syslog(end + 500, proc, ident, f"disconnect from {peer} ehlo=1 auth=0/{len(users)} "
                    f"commands=1/{len(users) + 1}", facility=2)
        return end

    def relay_attempt(t, ip, helo, rcpt):
        proc, ident = smtpd("smtp")
        host.syslog(t, proc, ident, f"connect from unknown[{ip}]", facility=2)
        host.syslog(t + SEC, proc, ident, f"NOQUEUE: reject: RCPT from unknown[{ip}]: 454 4.7.1 <{rcpt}>: Relay "
                    f"access denied; from=<newsletter@example.net> to=<{rcpt}> proto=ESMTP helo=<{helo}>",
                    priority=6, facility=2)
        host.syslog(t + 2 * SEC, proc, ident, f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1 "
                    "commands=4/5", facility=2)

    # Ordinary mail in and out.
    qmgr = Proc(1180, "qmgr", "/usr/lib/postfix/sbin/qmgr", "qmgr -l -t unix -u", unit, uid=107, gid=114)
    for i, t in enumerate(spaced(t0 + 12 * MIN, 24, 2 * HOUR + 11 * MIN)):
        qid = queue_id()
        if i % 2:
            proc, ident = smtpd("smtp")
            peer = "mail-wr1-f41.google.com[209.85.221.41]"
            host.syslog(t, proc, ident, f"connect from {peer}", facility=2)
            host.syslog(t + SEC, proc, ident, f"{qid}: client={peer}", facility=2)
            host.syslog(t + 3 * SEC, proc, ident, f"disconnect from {peer} ehlo=2 starttls=1 mail=1 rcpt=1 data=1 "
                        "quit=1 commands=7", facility=2)
        else:
            proc, ident = smtpd("submission")
            host.syslog(t, proc, ident, "connect from unknown[192.0.2.9]", facility=2)
            host.syslog(t + SEC, proc, ident, f"{qid}: client=unknown[192.0.2.9], sasl_method=PLAIN, "
                        "sasl_username=alice@example.org", facility=2)
            host.syslog(t + 3 * SEC, proc, ident, "disconnect from unknown[192.0.2.9] ehlo=2 starttls=1 auth=1 "
                        "mail=1 rcpt=1 data=1 quit=1 commands=8", facility=2)
        host.syslog(t + 2 * SEC, qmgr, "postfix/qmgr", f"{qid}: from=<alice@example.org>, size={2048 + i}, "
                    "nrcpt=1 (queue active)", facility=2)

    # 203.0.113.60, three rounds: the third ban in a week is for 7 days.
    for t, service, mechanism in [(t0 + HOUR, "submission", "LOGIN"), (t0 + 9 * HOUR, "smtps", "PLAIN"),
                                  (t0 + 2 * DAY + 4 * HOUR, "submission", "LOGIN")]:
        end = sasl_failures(t, service, "203.0.113.60", [f"{u}@example.org" for u in
                                                         ("info", "admin", "sales", "contact", "office")],
                            mechanism=mechanism)
        host.banwarden(end - 12 * SEC + 300, "Ban from postfix for 203.0.113.60")
    host.banwarden(end - 12 * SEC + 700, "Recidive ban from postfix for 203.0.113.60: 3 bans this week")

    # Under the threshold: 3 failures.
    sasl_failures(t0 + 3 * HOUR, "submission", "198.51.100.81", ["test", "test1", "test2"])
    # The office's scan-to-mail printer with an old password; a script on
    # the office's IPv6 network: private, never counted.
    sasl_failures(t0 + 4 * HOUR, "submission", "192.168.2.30", ["scanner@example.org"] * 7, mechanism="PLAIN",
                  gap=40 * SEC)
    sasl_failures(t0 + 5 * HOUR, "submission", "fd00:2::30", ["backup@example.org"] * 5, gap=20 * SEC)

    # An IPv6 attacker on smtps.
    end = sasl_failures(t0 + DAY + 2 * HOUR, "smtps", "2001:db8:60::2", ["root", "admin", "postmaster", "test",
                                                                          "guest"], mechanism="PLAIN", gap=5 * SEC)
    host.banwarden(end - 5 * SEC + 300, "Ban from postfix for 2001:db8:60::2")

    # An open-relay tester: 3 relay attempts within the hour, a day's ban;
    # another one tries twice only.
    for i in range(3):
        relay_attempt(t0 + DAY + 6 * HOUR + i * 17 * MIN, "198.51.100.80", "WIN-Q3C1L8N0P2E",
                      f"check{i}@mailinator.example")
    host.banwarden(t0 + DAY + 6 * HOUR + 34 * MIN + SEC + 300, "Ban from postfix for 198.51.100.80: 3 relay attempts")
    for i in range(2):
        relay_attempt(t0 + DAY + 8 * HOUR + i * 25 * MIN, "203.0.113.62", "User", "abuse@example.com")

    # Dovecot restarts (an upgrade) while an office's mail clients log in
    # through its NAT address: Postfix loses its auth connection and each
    # attempt fails, the clients retry. No client's fault.
    t = t0 + DAY + 9 * HOUR
    host.journal(t, SYSTEMD, "systemd", "Stopping dovecot.service - Dovecot IMAP/POP3 email server...", facility=3,
                 extra={"MESSAGE_ID": "de5b426a63be47a7b6ac3eaac82e2f6f", "UNIT": "dovecot.service"})
    for i, user in enumerate(["alice", "bob", "carol", "dave", "erin", "frank", "alice", "bob"]):
        sasl_failures(t + 2 * SEC + i * 4 * SEC, "smtps" if i in (3, 6) else "submission", "198.51.100.185",
                      [f"{user}@example.org"], mechanism="PLAIN", gap=SEC, reason="Connection lost to authentication server")
    host.journal(t + 40 * SEC, SYSTEMD, "systemd", "Started dovecot.service - Dovecot IMAP/POP3 email server.",
                 facility=3, extra={"MESSAGE_ID": "39f53479d3a045ac8e11786248231fbf", "UNIT": "dovecot.service"})

    # A spam run whose subject quotes a SASL failure about 192.0.2.182;
    # header_checks makes cleanup log it (from postfix's unit, but not
    # from smtpd, and not at the start of the line).
    cleanup = Proc(31999, "cleanup", "/usr/lib/postfix/sbin/cleanup", "cleanup -z -t unix -u -c", unit, uid=107,
                   gid=114)
    for i in range(5):
        qid = queue_id()
        host.syslog(t0 + DAY + 10 * HOUR + i * MIN, cleanup, "postfix/cleanup",
                    f"{qid}: warning: header Subject: warning: unknown[192.0.2.182]: SASL LOGIN authentication "
                    "failed: UGFzc3dvcmQ6 from mail-wr1-f41.google.com[209.85.221.41]; from=<x@example.com> "
                    "to=<alice@example.org> proto=ESMTP helo=<mail-wr1-f41.google.com>", priority=4, facility=2)

    # Mallory, a local user, forges smtpd lines and ban lines.
    mallory = session_proc(3, 1001, 5510)
    host.new_session(t0 + DAY + 12 * HOUR, 3, "mallory", 1001)
    for i in range(6):
        host.syslog(t0 + DAY + 12 * HOUR + MIN + i * SEC, mallory.at(5511 + i), "postfix/smtpd",
                    "warning: unknown[192.0.2.180]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, "
                    "sasl_username=admin", priority=5)
    for i in range(3):
        host.journal(t0 + DAY + 12 * HOUR + 3 * MIN + i * SEC, mallory.at(5520 + i, "logger --journald"),
                     "banwarden", "Ban from postfix for 192.0.2.181", priority=5)
    host.cron(t0 + DAY + 13 * HOUR + 17 * MIN, 6100, "cd / && run-parts --report /etc/cron.hourly")
    return host


# --------------------------------------------------------------------------
# exim: Debian 12 (Exim 4.96, unit exim4.service) logging to syslog
# (log_file_path = syslog, syslog_duplication = false; syslog_timestamp
# left at its default, so every line starts with Exim's own time stamp).
# Offences: failed SMTP AUTH, 5 in 10 minutes, 1 hour; relay attempts,
# 3 in an hour, 1 day; recidive: 3 AUTH bans in a week, 7 days.
#
# Expected bans (inet banwarden mail_ban4; an IPv6 attacker banned by its /64 in mail_net6):
#   203.0.113.70    3600, 3600, 3600 then 604800 (3rd ban in a week)
#   203.0.113.71    3600 (HELO names 192.0.2.190)
#   2001:db8:70::7  3600
#   198.51.100.99   86400 (relay attempts)
# Never banned: 198.51.100.72 (under the threshold), 192.168.4.4, 10.1.1.1
# (private), 192.0.2.190 (only in a HELO name), 192.0.2.191 (forged exim
# lines), 192.0.2.192 (forged ban lines), 192.0.2.9 and 198.51.100.2 (mail).
# --------------------------------------------------------------------------

def exim_sample():
    t0 = utc(2025, 11, 21, 6)
    host = Host("mx3", [t0 - 12 * DAY])
    exim = Proc(0, "exim4", "/usr/sbin/exim4", "/usr/sbin/exim4 -bd -q30m", "exim4.service", uid=105, gid=111)
    pids = itertools.count(40100, 17)
    message_ids = itertools.count(1)

    def line(t, text, pid=None, priority=6):
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        host.syslog(t, exim.at(pid or next(pids)), "exim", f"{stamp:%Y-%m-%d %H:%M:%S} {text}", priority=priority,
                    facility=2)

    def auth_failed(t, authenticator, peer, user):
        line(t, f"{authenticator} authenticator failed for {peer}: 535 Incorrect authentication data (set_id={user})")

    def relay(t, peer, sender, rcpt):
        line(t, f"{peer} F=<{sender}> rejected RCPT <{rcpt}>: relay not permitted")

    # Ordinary mail.
    for i, t in enumerate(spaced(t0 + 25 * MIN, 20, 3 * HOUR + 7 * MIN)):
        mid = "1tF" + hexid("exim", next(message_ids), length=3) + "-00" + hexid("m", i, length=4).upper() + "-Qw"
        pid = next(pids)
        line(t, f"{mid} <= alice@example.org H=(laptop) [192.0.2.9] P=esmtpsa "
             "X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=plain_server:alice@example.org S=" + str(1843 + i)
             + f" id={hexid('id', i, length=12)}@example.org", pid)
        line(t + SEC, f"{mid} => bob@example.net R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.2] "
             'X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C="250 2.0.0 OK"', pid)
        line(t + SEC + 2000, f"{mid} Completed", pid)

    # 203.0.113.70, three rounds in a week.
    for t in [t0 + HOUR + 30 * MIN, t0 + 8 * HOUR, t0 + 3 * DAY + 3 * HOUR]:
        for i, user in enumerate(["info@example.org", "admin@example.org", "test", "sales@example.org",
                                  "postmaster@example.org"]):
            auth_failed(t + i * 11 * SEC, "login_server" if i % 2 else "plain_server", "H=(User) [203.0.113.70]",
                        user)
        host.banwarden(t + 44 * SEC + 300, "Ban from exim for 203.0.113.70")
    host.banwarden(t + 44 * SEC + 700, "Recidive ban from exim for 203.0.113.70: 3 bans this week")

    # 203.0.113.71 says HELO [192.0.2.190]: Exim logs it in parentheses,
    # before the real address.
    for i in range(5):
        auth_failed(t0 + 2 * HOUR + i * 20 * SEC, "login_server", "H=([192.0.2.190]) [203.0.113.71]", f"user{i}")
    host.banwarden(t0 + 2 * HOUR + 80 * SEC + 300, "Ban from exim for 203.0.113.71")

    # Under the threshold; private addresses.
    for i in range(4):
        auth_failed(t0 + 3 * HOUR + i * MIN, "plain_server", "H=(WIN-JS9RL0T7C2B) [198.51.100.72]", "admin")
    for i in range(6):
        auth_failed(t0 + 4 * HOUR + i * 2 * MIN, "plain_server", "H=(laptop) [192.168.4.4]", "dave@example.org")
    for i in range(3):
        relay(t0 + 4 * HOUR + 30 * MIN + i * MIN, "H=app.office.lan [10.1.1.1]", "app@office.lan",
              f"customer{i}@example.com")

    # An IPv6 attacker with a reverse DNS name.
    for i in range(5):
        auth_failed(t0 + DAY + HOUR + i * 15 * SEC, "plain_server",
                    "H=mail.example.net (mail.example.net) [2001:db8:70::7]", f"admin{i}")
    host.banwarden(t0 + DAY + HOUR + 60 * SEC + 300, "Ban from exim for 2001:db8:70::7")

    # An open-relay tester.
    for i in range(3):
        relay(t0 + DAY + 5 * HOUR + i * 11 * MIN, "H=(WIN-8OKL3P0G2KA) [198.51.100.99]", "spameri@tiscali.example",
              "victim@yahoo.example")
    host.banwarden(t0 + DAY + 5 * HOUR + 22 * MIN + 300, "Ban from exim for 198.51.100.99: 3 relay attempts")

    # Mallory, a local user, forges exim lines and ban lines.
    mallory = session_proc(6, 1001, 8810)
    host.new_session(t0 + DAY + 9 * HOUR, 6, "mallory", 1001)
    for i in range(6):
        t = t0 + DAY + 9 * HOUR + MIN + i * SEC
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        host.syslog(t, mallory.at(8811 + i), "exim", f"{stamp:%Y-%m-%d %H:%M:%S} login_server authenticator failed "
                    "for H=(x) [192.0.2.191]: 535 Incorrect authentication data (set_id=admin)", priority=5)
    host.syslog(t0 + DAY + 9 * HOUR + 3 * MIN, mallory.at(8820), "banwarden", "Ban from exim for 192.0.2.192",
                priority=5)
    host.journal(t0 + DAY + 9 * HOUR + 4 * MIN, mallory.at(8821, "logger --journald"), "banwarden",
                 "Ban from exim for 192.0.2.192", priority=5)
    host.journal(t0 + DAY + 9 * HOUR + 5 * MIN, mallory.at(8822, "logger --journald"), "banwarden",
                 "Ban from exim for 192.0.2.192", priority=5)
    host.cron(t0 + DAY + 10 * HOUR + 17 * MIN, 9100, "cd / && run-parts --report /etc/cron.hourly")
    return host


# --------------------------------------------------------------------------
# nextcloud: Debian 12, Nextcloud 31 on PHP-FPM 8.2 (unit
# php8.2-fpm.service), with 'log_type' => 'syslog' (the tag is
# 'syslog_tag', default "Nextcloud"). Every line is Nextcloud's JSON record.
# Threshold: 5 failed logins in 10 minutes, 1 hour.
#
# Expected bans (inet banwarden web_ban4; an IPv6 attacker banned by its /64 in web_net6):
#   203.0.113.30 3600, 2001:db8:77::1 3600,
#   203.0.113.31 3600 (login names that name 192.0.2.161)
# Never banned: 198.51.100.61 (under the threshold), 192.168.0.42,
# 127.0.0.1 (private), 192.0.2.160 (forged records), 192.0.2.161 (named in
# login names), 203.0.113.88 and 192.0.2.20 (a trusted-domain warning).
# --------------------------------------------------------------------------

def nextcloud_sample():
    t0 = utc(2025, 11, 22, 6)
    host = Host("cloud", [t0 - 6 * DAY])
    workers = [Proc(2201 + i, "php-fpm8.2", "/usr/sbin/php-fpm8.2", "php-fpm: pool www", "php8.2-fpm.service",
                    uid=33) for i in range(3)]
    request_ids = itertools.count(1)
    browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 " \
              "Safari/537.36"

    def record(t, remote, message, level=2, app="no app in context", method="POST", url="/login", user="--",
               agent=browser, worker=0, proc=None, ident="Nextcloud"):
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        entry = {"reqId": hexid("req", next(request_ids), length=20), "level": level,
                 "time": f"{stamp:%Y-%m-%dT%H:%M:%S}+00:00", "remoteAddr": remote, "user": user, "app": app,
                 "method": method, "url": url, "message": message, "userAgent": agent, "version": "31.0.10.2"}
        # As PHP's json_encode with JSON_UNESCAPED_SLASHES writes it.
        text = json.dumps(entry, separators=(",", ":"))
        priority = {0: 7, 1: 6, 2: 4, 3: 3, 4: 2}[level]
        host.syslog(t, proc or workers[worker], ident, text, priority=priority, facility=1)

    def login_failed(t, remote, login, **kwargs):
        record(t, remote, f"Login failed: {login} (Remote IP: {remote})", **kwargs)

    # Ordinary warnings.
    record(t0 + 20 * MIN, "203.0.113.88", "Trusted domain error. \"203.0.113.88\" tried to access using "
           "\"192.0.2.20\" as host.", app="core", method="GET", url="/", agent="curl/8.5.0")
    cron = Proc(0, "php8.2", "/usr/bin/php8.2", "php -f /var/www/nextcloud/cron.php", "nextcloud-cron.service",
                uid=33)
    for i in range(8):
        record(t0 + 40 * MIN + i * 5 * HOUR, "--", "Could not connect to appstore: cURL error 28: Operation timed out "
               "after 60000 milliseconds", app="appstoreFetcher", method="--", url="--", agent="--",
               proc=cron.at(5100 + i))

    # 203.0.113.30: a login-form brute force.
    t = t0 + HOUR + 10 * MIN
    for i, login in enumerate(["admin", "admin", "root", "nextcloud", "administrator"]):
        login_failed(t + i * 7 * SEC, "203.0.113.30", login, worker=i % 3)
    host.banwarden(t + 28 * SEC + 400, "Ban from Nextcloud for 203.0.113.30")

    # 2001:db8:77::1: WebDAV basic authentication, as a sync client would.
    t = t0 + 3 * HOUR
    for i in range(5):
        login_failed(t + i * 3 * SEC, "2001:db8:77::1", "admin", method="PROPFIND", url="/remote.php/dav/files/admin/",
                     agent="Mozilla/5.0 (Linux) mirall/3.14.3", worker=(i + 1) % 3)
    host.banwarden(t + 12 * SEC + 400, "Ban from Nextcloud for 2001:db8:77::1")

    # 203.0.113.31 puts 192.0.2.161 into its login names, quotes included:
    # the record's remoteAddr is its own, and JSON escapes the quotes.
    t = t0 + 5 * HOUR
    for i, login in enumerate(["x (Remote IP: 192.0.2.161)", 'x","remoteAddr":"192.0.2.161',
                               "x (Remote IP: 192.0.2.161)", 'x","remoteAddr":"192.0.2.161',
                               "x (Remote IP: 192.0.2.161)"]):
        login_failed(t + i * 4 * SEC, "203.0.113.31", login, worker=i % 3)
    host.banwarden(t + 16 * SEC + 400, "Ban from Nextcloud for 203.0.113.31")

    # Under the threshold; private addresses: a colleague on the LAN, and
    # the reverse proxy's address before 'trusted_proxies' was set.
    for i in range(3):
        login_failed(t0 + 6 * HOUR + i * MIN, "198.51.100.61", "test")
    for i in range(7):
        login_failed(t0 + 7 * HOUR + i * 30 * SEC, "192.168.0.42", "erin")
    for i in range(6):
        login_failed(t0 + 8 * HOUR + i * 20 * SEC, "127.0.0.1", "frank")

    # Mallory, a local user, writes records in Nextcloud's name.
    mallory = session_proc(9, 1001, 4410)
    host.new_session(t0 + 9 * HOUR, 9, "mallory", 1001)
    for i in range(6):
        record(t0 + 9 * HOUR + MIN + i * SEC, "192.0.2.160", "Login failed: admin (Remote IP: 192.0.2.160)",
               proc=mallory.at(4411 + i))
    return host


# --------------------------------------------------------------------------
# prosody: Debian 12, Prosody 0.12 (unit prosody.service) logging to
# syslog (log = { info = "*syslog" }) with mod_log_auth from
# prosody-modules, which logs each failed SASL authentication. Threshold:
# 5 "not-authorized" failures in 10 minutes, 1 hour.
#
# Expected bans (inet banwarden xmpp_ban4; an IPv6 attacker banned by its /64 in xmpp_net6):
#   203.0.113.90 3600, 2001:db8:90::9 3600
# Never banned: 198.51.100.91 (under the threshold), 198.51.100.93 (failed
# for a server-side reason), 192.168.3.3 (private), 192.0.2.190 (forged
# lines).
# --------------------------------------------------------------------------

def prosody_sample():
    t0 = utc(2025, 11, 23, 6)
    host = Host("chat", [t0 - 2 * DAY])
    prosody = Proc(733, "prosody", "/usr/bin/lua5.4", "lua5.4 /usr/bin/prosody -F", "prosody.service", uid=110,
                   gid=117)
    sessions = itertools.count(1)

    def line(t, source, text, priority=6):
        host.syslog(t, prosody, "prosody", f"{source}: {text}", priority=priority, facility=3)

    def client():
        return "c2s" + hexid("c2s", next(sessions), length=12)

    def failures(t, ip, users, condition="not-authorized", gap=6 * SEC):
        for i, user in enumerate(users):
            session = client()
            line(t + i * gap, session, "Client connected")
            line(t + i * gap + 900_000, session, f"Failed authentication attempt ({condition}) for user {user} "
                 f"from IP: {ip}")
            line(t + i * gap + 1_200_000, session, "Client disconnected: connection closed")

    # Ordinary sessions and server-to-server traffic.
    for i, t in enumerate(spaced(t0 + 15 * MIN, 12, 97 * MIN)):
        session = client()
        line(t, session, "Client connected")
        line(t + SEC, session, "Authenticated as alice@example.org")
        line(t + 20 * MIN, session, "Client disconnected: connection closed")
    line(t0 + 33 * MIN, "s2sout" + hexid("s2s", 1, length=12),
         "Outgoing s2s connection example.org->jabber.example.net complete")

    failures(t0 + HOUR, "203.0.113.90", ["admin", "admin", "test", "root", "support"])
    host.banwarden(t0 + HOUR + 25 * SEC + 300, "Ban from Prosody for 203.0.113.90")
    failures(t0 + 2 * HOUR, "2001:db8:90::9", ["alice", "alice", "alice", "bob", "bob"], gap=10 * SEC)
    host.banwarden(t0 + 2 * HOUR + 41 * SEC + 300, "Ban from Prosody for 2001:db8:90::9")

    failures(t0 + 3 * HOUR, "198.51.100.91", ["admin", "admin", "admin"])
    # The authentication backend was down: not the clients' fault.
    failures(t0 + 4 * HOUR, "198.51.100.93", ["carol"] * 6, condition="temporary-auth-failure", gap=30 * SEC)
    failures(t0 + 5 * HOUR, "192.168.3.3", ["dave"] * 6, gap=20 * SEC)

    # Mallory, a local user, writes lines in Prosody's name.
    mallory = session_proc(4, 1001, 3310)
    host.new_session(t0 + 6 * HOUR, 4, "mallory", 1001)
    for i in range(6):
        host.syslog(t0 + 6 * HOUR + MIN + i * SEC, mallory.at(3311 + i), "prosody",
                    f"c2s{i:012x}: Failed authentication attempt (not-authorized) for user admin from IP: "
                    "192.0.2.190", priority=5)
    host.cron(t0 + 7 * HOUR + 17 * MIN, 2300, "cd / && run-parts --report /etc/cron.hourly")
    return host


SAMPLES = {
    "sshd": sshd_sample,
    "nginx": nginx_sample,
    "dovecot": dovecot_sample,
    "postfix": postfix_sample,
    "exim": exim_sample,
    "nextcloud": nextcloud_sample,
    "prosody": prosody_sample,
}


def main():
    for service, sample in SAMPLES.items():
        path = os.path.join(HERE, service, "attack.jsonl")
        count = sample().write(path)
        print(f"{os.path.relpath(path)}: {count} entries")


if __name__ == "__main__":
    main()
