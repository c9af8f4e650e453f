//! `banwarden report [--send | --html]`: the pending daily report, now.

use std::process::ExitCode;

use super::{act_as_storage_owner, load_config, warn, EXIT_INVALID};
use crate::cli::ReportArgs;
use crate::config::ConfigFile;
use crate::mail::{self, Message};
use crate::outbox::MAIL_TIMEOUT;
use crate::report::PendingReport;
use crate::time::{Clock, SystemClock};

pub fn run(file: &ConfigFile, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(file) else { return Ok(ExitCode::from(EXIT_INVALID)) };
    act_as_storage_owner(&config.settings.storage)?;
    let (mut report, warnings) = PendingReport::open(&config.settings.storage)?;
    warnings.into_iter().for_each(warn);
    let Some(rendered) = report.render() else {
        println!("no report lines pending in {}", report.path().display());
        return Ok(ExitCode::SUCCESS);
    };
    if !args.send {
        print!("{}", if args.html { &rendered.html } else { &rendered.text });
        return Ok(ExitCode::SUCCESS);
    }
    let email = &config.settings.email;
    let subject = format!("{}: daily report of {}", email.subject, rendered.period);
    let message = Message::alternative(email, &subject, &rendered.text, &rendered.html, SystemClock.now_us());
    match mail::send_now(email, message, MAIL_TIMEOUT) {
        Ok(()) => {
            // Only now: a failed mail leaves every line pending.
            report.sent(&rendered)?;
            println!("sent the report of {} ({} lines) to {}", rendered.period, rendered.lines, email.to.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}; the report's lines stay pending");
            Ok(ExitCode::from(1))
        }
    }
}
