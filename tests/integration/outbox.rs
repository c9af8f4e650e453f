//! Mail and the daily report from the real daemon, with a fake sendmail
//! (a script that keeps what it is given), one that fails and one that
//! hangs; the messages are parsed back with Python's `email` package.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::journald::PrivateJournald;
use super::util::{text, wait_until, Daemon};

const RULES: &str = r#"{"actions": {
    "mail": [
        {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "mailme"}},
        {"action": "action_email", "args": {"message": "alert: {MESSAGE}"}}
    ],
    "report": [
        {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "reportme"}},
        {"action": "action_dailyReport", "args": {"level": "WARN", "message": "{MESSAGE}", "details": "FIRSTLAST"}}
    ],
    "probe": [
        {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "probe"}},
        {"action": "action_log", "args": {"message": "judged {MESSAGE}"}}
    ]
}, "storage": "STORAGE", "email": {"from": "banwarden@example.org", "to": ["admin@example.org"],
    "subject": "banwarden on test", "sendmail": ["/bin/sh", "SCRIPT"]}}"#;

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

/// A configuration whose sendmail is a shell script with this body; the
/// script gets the directory to keep mail in as `$OUT`.
fn setup(script: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let script_path = dir.path().join("sendmail.sh");
    std::fs::write(&script_path, format!("OUT='{}'\n{script}\n", out.display())).unwrap();
    let config = dir.path().join("config.json");
    let storage = dir.path().join("state");
    let rules = RULES.replace("STORAGE", storage.to_str().unwrap()).replace("SCRIPT", script_path.to_str().unwrap());
    std::fs::write(&config, rules).unwrap();
    Setup { dir, config }
}

const KEEP: &str = r#"cat > "$OUT/mail.$$.tmp" && mv "$OUT/mail.$$.tmp" "$OUT/mail.$$.eml""#;

fn mails(setup: &Setup) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(setup.dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    found.sort();
    found
}

/// Subject, then each text part decoded, as Python's email package reads them.
fn parse_mail(path: &Path) -> Vec<String> {
    let code = "import email, sys\n\
                m = email.message_from_binary_file(open(sys.argv[1], 'rb'))\n\
                print(str(email.header.make_header(email.header.decode_header(m['Subject']))))\n\
                for part in m.walk():\n\
                \x20   if not part.is_multipart():\n\
                \x20       print('@@PART@@' + part.get_content_type())\n\
                \x20       print(part.get_payload(decode=True).decode(part.get_content_charset()))\n";
    let out = Command::new("python3").args(["-c", code]).arg(path).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).split("@@PART@@").map(str::to_owned).collect()
}

fn start(setup: &Setup, journald: &PrivateJournald) -> Daemon {
    let mut command = Command::new(env!("CARGO_BIN_EXE_banwarden"));
    command.args(["run", "--config", setup.config.to_str().unwrap(), "--journal-namespace", journald.namespace()]);
    Daemon::start(&mut command)
}

fn banwarden(setup: &Setup, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_banwarden")).args(args).arg("--config").arg(&setup.config).output().unwrap()
}

#[test]
fn mail_and_report_lines_from_the_daemon_then_report_send() {
    let Some(journald) = PrivateJournald::start() else { return };
    let setup = setup(KEEP);
    let run = start(&setup, &journald);
    journald.log("mailme", "Prüfung — 東京 =?utf-8?q?x?=");
    for n in 0..3 {
        journald.log("reportme", &format!("repeat offender {}", n % 2));
    }
    assert!(wait_until(10, || mails(&setup).len() == 1), "the mail went out");
    journald.log("probe", "last");
    journald.wait_for("judged last", 1, Duration::from_secs(10));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let mail = parse_mail(&mails(&setup)[0]);
    assert_eq!(mail[0].trim(), "banwarden on test");
    assert_eq!(mail[1].trim(), "text/plain\nalert: Prüfung — 東京 =?utf-8?q?x?=");

    // The report lines are pending on disk, and `report` shows them.
    let out = banwarden(&setup, &["report"]);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(shown.contains("repeat offender 0") && shown.contains("repeat offender 1"), "{shown}");
    let html = text(&banwarden(&setup, &["report", "--html"]).stdout);
    assert!(html.contains("<table") && html.contains("repeat offender 0"), "{html}");
    // Sent now: text and HTML in one mail; then nothing is pending.
    let out = banwarden(&setup, &["report", "--send"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(3 lines) to admin@example.org"), "{}", text(&out.stdout));
    let mail = parse_mail(&mails(&setup)[1]);
    assert!(mail[0].starts_with("banwarden on test: daily report of "), "{mail:?}");
    assert!(mail[1].starts_with("text/plain") && mail[1].contains("repeat offender 1"), "{mail:?}");
    assert!(mail[2].starts_with("text/html") && mail[2].contains("repeat offender 1"), "{mail:?}");
    assert!(text(&banwarden(&setup, &["report"]).stdout).starts_with("no report lines pending"));
}

#[test]
fn a_failing_or_hanging_sendmail_never_holds_the_journal_up() {
    let Some(journald) = PrivateJournald::start() else { return };
    // Fails: the error is logged with the mailer's own words.
    let failing = setup("echo 'relay refused' >&2; exit 1");
    let run = start(&failing, &journald);
    journald.log("mailme", "one");
    journald.log("probe", "after the failing mail");
    journald.wait_for("judged after the failing mail", 1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("mail not sent") && stderr.contains("relay refused"), "{stderr}");

    // Hangs: entries are judged meanwhile, and the daemon still stops
    // promptly, giving up on the mail.
    let hanging = setup("sleep 600");
    let run = start(&hanging, &journald);
    journald.log("mailme", "two");
    let sent = Instant::now();
    journald.log("probe", "after the hanging mail");
    journald.wait_for("judged after the hanging mail", 1, Duration::from_secs(10));
    assert!(sent.elapsed() < Duration::from_secs(5), "judged while the mailer hangs");
    let stopping = Instant::now();
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stopping.elapsed() < Duration::from_secs(10), "stopped in {:?}", stopping.elapsed());
    assert!(stderr.contains("mail not sent"), "{stderr}");
}
