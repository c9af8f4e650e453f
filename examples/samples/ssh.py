"""sshd's sample journal (examples/sshd/attack.jsonl)."""

import itertools

from sample_journal import DAY, HOUR, MIN, SEC, Host, Proc, session_proc, spaced, utc


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
