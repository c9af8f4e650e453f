"""Prosody's sample journal (examples/prosody/attack.jsonl)."""

import itertools

from sample_journal import DAY, HOUR, MIN, SEC, Host, Proc, hexid, session_proc, spaced, utc


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
