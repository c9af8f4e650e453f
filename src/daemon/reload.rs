//! Loading the configuration again on SIGHUP, without stopping.
//!
//! All or nothing: the new file is compiled first, and if it has a single
//! error the running rules stay, with every problem logged. Otherwise, in
//! this order: the bans the old rules asked for are carried out; the live
//! counters move to the new rules, table by table without copying a key
//! (those of counters the new rules no longer name are dropped, and said
//! so; each keeps the new rules' `counterMaxKeys`); the reader copies the
//! fields the new rules name; the never-ban list (the new `neverBan`, this
//! host's addresses as followed now), mail settings and identifier follow; the
//! sets the new rules name are watched for firewall reloads (`reconcile`);
//! the APIs' sets, allow sets and listing follow the new `api`, and the
//! API servers are told (new users, certificates read again).
//!
//! What does not change without a restart: the storage directory (the
//! store, cursor and counters stay where they are, and a warning says so),
//! and the journal read (a command-line choice, and `journalOtherMachines`,
//! which takes effect at the next start, with a warning too). DNAT captures are
//! not carried over: they live for seconds.

use super::reconcile::Occasion;
use super::Daemon;
use crate::config::{self, ConfigError};
use crate::diag;
use crate::firewall::check::SetNeed;
use crate::vocab::Backend;

impl Daemon {
    /// Loads the configuration file again; see the module doc.
    pub(super) fn reload(&mut self) {
        let Some(file) = self.config_file.clone() else {
            diag!(Warning, "SIGHUP ignored: this daemon was not started from a configuration file");
            return;
        };
        self.notifier.reloading();
        let path = &file.path;
        diag!(Info, "reloading {}", path.display());
        let new = match file.load() {
            Ok(new) => new,
            Err(e) => {
                log_rejection(&e);
                self.figures.reload_rejected();
                let status = format!("reload rejected, old rules running; {}", self.status_line());
                self.notifier.ready(&status);
                return;
            }
        };
        for warning in &new.warnings {
            diag!(Warning, "{warning}");
        }
        let pairs = new.set_pairs();
        let dropins = config::dropins::describe(&new.dropins);
        let config::Config { mut workflow, mut settings, sets, stats, .. } = new;
        // `debug`: the libraries' debug lines, shown from now on or no more.
        crate::diag::log_debug(settings.debug);

        // The bans the old rules asked for go out before anything changes.
        self.flush_bans();
        self.outbox.flush();

        // The counters the new rules name move over as they are: no key is
        // copied, so this takes microseconds whatever their number. A save
        // being written walks the old ones: it starts again later.
        self.counters_saver.abandon();
        let old = std::mem::take(self.workflow.counters_mut());
        let restored = workflow.counters_mut().take_over(old);
        diag!(Info, "kept {} counter keys across the reload", restored.keys);
        if !restored.dropped_categories.is_empty() {
            diag!(Notice, "counters the new rules do not use were dropped: {}", restored.dropped_categories.join(", "));
        }

        if settings.storage != self.settings.storage {
            diag!(
                Warning,
                "storage changed from {} to {}: this takes effect at the next restart; until then bans, counters and the position stay in {}",
                self.settings.storage.display(),
                settings.storage.display(),
                self.settings.storage.display()
            );
            settings.storage = self.settings.storage.clone();
        }
        if settings.journal_other_machines != self.settings.journal_other_machines {
            diag!(
                Warning,
                "journalOtherMachines changed to {}: this takes effect at the next restart; until then the journals opened at start are read",
                settings.journal_other_machines
            );
        }
        self.reader.set_fields(workflow.fields(), settings.decoder);
        // The configured part from the new file, this host's addresses as
        // they are now (followed, or not, as the new file says).
        self.follow_addresses(settings.never_ban_local);
        settings.never_ban = self.with_addresses(&settings.never_ban);
        workflow.set_never_ban(settings.never_ban.clone());
        self.queue.bans().set_never_ban(settings.never_ban.clone());
        self.queue.bans().set_pairs(pairs);
        self.outbox.set_email(settings.email.clone());
        let mut needs: Vec<SetNeed> = sets.iter().map(|u| u.need()).collect();
        needs.extend(settings.api_set_needs());
        for problem in self.queue.bans().check_sets(&needs) {
            diag!(Warning, "{problem}");
        }
        // The sets the new rules name are watched from now on; listening
        // anew (it had failed, or no nftables set was concerned), what was
        // missed meanwhile is made good.
        let watched = super::watch::watched(&sets, &settings);
        self.known_sets.replace(watched.clone());
        self.reconciler.set_named(watched);
        // The fleet shares what the new file says (starting or stopping
        // the fleet itself takes a restart: see `cmd/run.rs`).
        self.queue.reshare(settings.fleet.clone());
        if self.watch_firewall() {
            self.reconciler.all(self.queue.bans(), Some(Backend::Nft), Occasion::Listening, &mut super::log);
        }
        // Step errors are counted per step of a workflow: start afresh,
        // keeping the total.
        self.totals.step_errors += self.observer.total();
        self.observer = Default::default();
        self.workflow = workflow;
        self.settings = settings;
        // The APIs' sets, allow sets and listing as the new file says, and
        // their servers told.
        self.serve_sets();
        if let Some(hook) = &mut self.reload_hook {
            hook(&self.settings);
        }
        self.reloads += 1;
        self.figures.reloaded(self.clock.now_us(), &self.workflow);
        diag!(Info, "reloaded {}{dropins}: {stats}", path.display());
        let status = self.status_line();
        self.notifier.ready(&status);
    }
}

fn log_rejection(error: &ConfigError) {
    match error {
        ConfigError::Invalid { path, errors, warnings } => {
            for error in errors {
                diag!(Err, "{error}");
            }
            for warning in warnings {
                diag!(Warning, "{warning}");
            }
            diag!(Err, "reload rejected: {path} has {} error(s); the running rules stay", errors.len());
        }
        other => diag!(Err, "reload rejected: {other}; the running rules stay"),
    }
}
