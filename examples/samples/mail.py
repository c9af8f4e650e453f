"""The mail servers' sample journals: Dovecot, Postfix and Exim."""

import datetime
import itertools

from sample_journal import DAY, HOUR, MIN, SEC, SYSTEMD, Host, Proc, hexid, session_proc, spaced, utc


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
