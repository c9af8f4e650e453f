//! `banwarden report [--send | --html]`: the pending daily report, now.

use super::{act_as_storage_owner, load_config, warn, Exit};
use crate::cli::ReportArgs;
use crate::config::ConfigFile;
use crate::mail::{self, Message};
use crate::outbox::MAIL_TIMEOUT;
use crate::report::PendingReport;

pub fn run(file: &ConfigFile, args: &ReportArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    act_as_storage_owner(&config.settings.storage)?;
    let (mut report, warnings) = PendingReport::open(&config.settings.storage)?;
    warnings.into_iter().for_each(warn);
    let Some(rendered) = report.render() else {
        crate::out!("no report lines pending in {}", report.path().display())?;
        return Ok(Exit::Success);
    };
    if !args.send {
        use std::io::Write;
        std::io::stdout().lock().write_all(if args.html {
            rendered.html.as_bytes()
        } else {
            rendered.text.as_bytes()
        })?;
        return Ok(Exit::Success);
    }
    let email = &config.settings.email;
    let subject = format!("{}: daily report of {}", email.subject, rendered.period);
    let message = Message::alternative(email, &subject, &rendered.text, &rendered.html, super::clock().now_us());
    match mail::send_now(email, message, MAIL_TIMEOUT) {
        Ok(()) => {
            // Only now: a failed mail leaves every line pending.
            report.sent(&rendered)?;
            crate::out!(
                "sent the report of {} ({} lines) to {}",
                rendered.period,
                rendered.lines,
                email.to.join(", ")
            )?;
            Ok(Exit::Success)
        }
        Err(e) => {
            eprintln!("error: {e}; the report's lines stay pending");
            Ok(Exit::Failure)
        }
    }
}
