"""The web servers' sample journals: nginx and Nextcloud."""

import datetime
import itertools
import json

from sample_journal import DAY, HOUR, MIN, SEC, Host, Proc, hexid, session_proc, spaced, utc


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
