//! `banwarden run`: follow the journal and judge every new entry, and serve
//! the APIs (`api`, `resp`) and share bans with the fleet (`fleet`) when
//! the configuration asks for them.

use std::rc::Rc;

use anyhow::Context as _;

use super::{load_config, owner, Exit};
use crate::api::listen::Inherited;
use crate::api::{Context, Live, Servers, Shared};
use crate::cli::RunArgs;
use crate::config::{ConfigFile, Settings};
use crate::daemon::{signals, Daemon, Options};
use crate::diag;
use crate::journal::sd::Source;
use crate::notify::Notifier;

pub fn run(file: &ConfigFile, args: &RunArgs) -> anyhow::Result<Exit> {
    // First: they change the environment, which only a single thread may do.
    let notifier = Notifier::from_env();
    let mut inherited = Inherited::from_env();
    let Some(config) = load_config(file) else { return Ok(Exit::Invalid) };
    let dropins = crate::config::dropins::describe(&config.dropins);
    // Root running the daemon by hand on the service's storage: act as the
    // service's user, which reads the journal through its group.
    let journal_group: Vec<libc::gid_t> = owner::group_id("systemd-journal").into_iter().collect();
    owner::become_storage_owner(&config.settings.storage, &journal_group)?;
    signals::install().context("installing signal handlers")?;
    let mut source = args.journal.source();
    if let Source::System { other_machines, .. } = &mut source {
        *other_machines = config.settings.journal_other_machines;
    }
    let options = Options { source, from_tail: args.from_tail, config: Some(file.clone()) };
    let serve = config.settings.serves_api();
    let (api, resp) = (config.settings.api.clone(), config.settings.resp.clone());
    let (config_fleet, storage) = (config.settings.fleet.clone(), config.settings.storage.clone());
    let (mut control, metrics) = (config.settings.control.clone(), config.settings.metrics.clone());
    control.socket = control.socket_for(&storage);
    let mut daemon = Daemon::open(config, &options, super::clock())?.with_notifier(notifier);
    // The control socket and the metrics first: the sockets systemd passed
    // for them are theirs before the APIs look at what is left.
    let context =
        crate::control::Context { door: daemon.door(), fleet_storage: config_fleet.as_ref().map(|_| storage.clone()) };
    let control = crate::control::start(&control, metrics.as_ref(), &mut inherited, context, &mut |warning| {
        diag!(Warning, "{warning}")
    })
    .map_err(anyhow::Error::msg)?;
    for (key, listen) in control.as_ref().map(|c| c.listening()).unwrap_or_default() {
        diag!(Info, "serving {key} on {}", crate::api::listen::display(listen));
    }
    // The servers' thread comes after every change of the process's
    // identity and environment above (capabilities and ids are per thread),
    // and after the daemon has opened its door.
    let servers = match serve {
        true => {
            let live = Live::from_settings(api, resp).map_err(anyhow::Error::msg)?;
            let context = Context { door: daemon.door(), listing: daemon.listing(), clock: super::clock() };
            let servers = crate::api::start(Shared::new(context, live), inherited).map_err(anyhow::Error::msg)?;
            for (service, listen) in servers.listening() {
                diag!(Info, "serving {} on {}", service.key(), crate::api::listen::display(&listen));
            }
            Some(Rc::new(servers))
        }
        false => {
            for warning in inherited.leftovers() {
                diag!(Warning, "{warning}");
            }
            None
        }
    };
    // The fleet's thread likewise, with the position saved with the cursor.
    let fleet = match config_fleet {
        Some(settings) => {
            let context = crate::fleet::Context {
                door: daemon.door(),
                known_sets: daemon.known_sets(),
                clock: super::clock(),
                storage: storage.clone(),
                position: daemon.fleet_position(),
            };
            let fleet = crate::fleet::start(settings, context).map_err(anyhow::Error::msg)?;
            daemon = daemon.on_decisions(fleet.announce());
            Some(Rc::new(fleet))
        }
        None => None,
    };
    let hook = servers.clone();
    let fleet_hook = fleet.clone();
    daemon = daemon.on_reload(Box::new(move |settings: &Settings| {
        reload(hook.as_deref(), settings);
        reload_fleet(fleet_hook.as_deref(), settings);
    }));
    diag!(Info, "started, judging entries of {} (rules: {}{dropins})", options.source.describe(), file.path.display());
    let totals = daemon.run(&signals::STOP);
    // No snapshot can be answered any more.
    drop(control);
    // The loop has answered what came through its door; the servers stop
    // taking more (and dropping them waits for the connections under way).
    drop(servers);
    drop(fleet);
    diag!(
        Info,
        "stopped: {} entries judged, {} effects, {} bans, {} step errors, {} API requests",
        totals.judged,
        totals.effects,
        totals.bans,
        totals.step_errors,
        totals.requests
    );
    Ok(Exit::Success)
}

/// The servers take the reloaded settings; with certificates that cannot
/// be read, they keep the old ones (and say why).
fn reload(servers: Option<&Servers>, settings: &Settings) {
    let serve = settings.serves_api();
    let Some(servers) = servers.filter(|_| serve) else {
        if serve != servers.is_some() {
            diag!(
                Warning,
                "api or resp changed from absent to present or back: that takes effect when banwarden restarts"
            );
        }
        return;
    };
    match Live::from_settings(settings.api.clone(), settings.resp.clone()) {
        Ok(live) => servers.reload(live),
        Err(e) => diag!(Err, "the servers keep their settings: {e}"),
    }
}

/// The fleet takes the reloaded settings (names, maps, sharing); starting
/// or stopping it takes a restart.
fn reload_fleet(fleet: Option<&crate::fleet::Fleet>, settings: &Settings) {
    match (fleet, &settings.fleet) {
        (Some(fleet), Some(new)) => fleet.reload(new.clone()),
        (None, None) => {}
        (_, _) => {
            diag!(Warning, "fleet changed from absent to present or back: that takes effect when banwarden restarts")
        }
    }
}
