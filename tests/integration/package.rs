//! The packages. The man page `doc/man/banwarden.8` and the shell
//! completions under `packaging/completions/` are generated from the
//! command line definition (`banwarden::cli::Cli`, with the hand-written
//! sections of `packaging/man/banwarden.8.in`) and compared with the
//! committed files: `BANWARDEN_BLESS=1` rewrites them. The shipped
//! ruleset, loaded again and again in a network namespace, keeps its bans
//! and leaves other tables alone. The Debian package is built with
//! cargo-deb, inspected, then installed, upgraded, removed and purged in a
//! scratch root (`dpkg --root`), maintainer scripts included, without
//! touching the host's dpkg database, users or units.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;

use banwarden::cli::Cli;

use super::bans::Netns;
use super::docs::{documented_paths, not_installed};
use super::util::{golden_file, require, require_root, root, text};

const MAN_TEMPLATE: &str = "packaging/man/banwarden.8.in";

/// Each shell's completion script, under packaging/completions/.
const COMPLETIONS: [(Shell, &str); 3] =
    [(Shell::Bash, "banwarden.bash"), (Shell::Zsh, "_banwarden"), (Shell::Fish, "banwarden.fish")];

/// The global arguments, shown once in OPTIONS rather than per command.
const GLOBAL: [&str; 3] = ["config", "help", "version"];

#[test]
fn man_page_is_generated_from_the_command_line() {
    golden_file(&root().join("doc/man/banwarden.8"), &man_page());
}

#[test]
fn man_page_documents_every_command_and_option() {
    let page = man_page();
    let cli = built();
    for (name, sub) in commands_of(&cli) {
        assert!(page.contains(&format!(".SS \"banwarden {name}\"")), "{name} missing");
        for arg in sub.get_arguments().filter(|a| !GLOBAL.contains(&a.get_id().as_str())) {
            if let Some(long) = arg.get_long() {
                let flag = format!("\\-\\-{}", long.replace('-', "\\-"));
                assert!(page.contains(&flag), "{name} {flag} missing");
            }
        }
    }
    for section in ["FILES", "SIGNALS", "ENVIRONMENT", "EXIT STATUS", "EXAMPLES", "SEE ALSO"] {
        assert!(page.contains(&format!("\n.SH {section}\n")), "no {section} section");
    }
}

/// Every `banwarden` command line in EXAMPLES names a command that exists
/// and only options that command (or the global ones) takes.
#[test]
fn man_page_examples_use_existing_commands_and_options() {
    let page = man_page();
    let examples = page.split("\n.SH EXAMPLES\n").nth(1).expect("an EXAMPLES section");
    let examples = examples.split("\n.SH ").next().unwrap();
    let cli = built();
    let commands = commands_of(&cli);
    let mut seen = 0;
    for line in examples.lines() {
        let text = line.replace("\\fB", "").replace("\\fR", "").replace("\\-", "-");
        // A command starts a line or follows `&&` or `|`.
        let segments = text.split(['|', '&']).map(str::trim);
        for invocation in segments.filter_map(|segment| segment.strip_prefix("banwarden ")) {
            let words: Vec<&str> = invocation.split_whitespace().collect();
            let (name, sub) = commands
                .iter()
                .filter(|(name, _)| words.join(" ").starts_with(name.as_str()))
                .max_by_key(|(name, _)| name.len())
                .unwrap_or_else(|| panic!("no such command: banwarden {invocation}"));
            for flag in words.iter().filter_map(|w| w.strip_prefix("--")) {
                let known = sub.get_arguments().chain(cli.get_arguments()).any(|a| a.get_long() == Some(flag));
                assert!(known, "banwarden {name} has no --{flag}: {line}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} examples");
}

/// `groff -ww` warns about any construct it does not understand or finds
/// dubious; a man page must render without a word.
#[test]
fn man_page_renders_without_warnings() {
    let groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    if !require(groff.is_ok(), "groff not found (Debian package groff-base)") {
        return;
    }
    let mut groff = groff.unwrap();
    groff.stdin.take().unwrap().write_all(man_page().as_bytes()).unwrap();
    let out = groff.wait_with_output().unwrap();
    assert!(out.status.success(), "groff: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "groff warns");
}

#[test]
fn completions_are_generated_from_the_command_line() {
    for (shell, file) in COMPLETIONS {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "banwarden", &mut script);
        golden_file(&root().join("packaging/completions").join(file), &String::from_utf8(script).unwrap());
    }
}

fn built() -> clap::Command {
    let mut cli = Cli::command();
    cli.build();
    cli
}

/// doc/man/banwarden.8: the template with the generated parts put in.
fn man_page() -> String {
    let cli = built();
    let template = std::fs::read_to_string(root().join(MAN_TEMPLATE)).expect(MAN_TEMPLATE);
    let mut page = format!(
        ".\\\" Generated from src/cli.rs and {MAN_TEMPLATE} by\n\
         .\\\" tests/integration/package.rs: edit those, then run\n\
         .\\\" BANWARDEN_BLESS=1 cargo test --test integration package\n"
    );
    for line in template.lines().skip_while(|line| line.starts_with(".\\\"")) {
        match line {
            "@HEAD@" => page.push_str(&head(&cli)),
            "@OPTIONS@" => page.push_str(&rendered(|w| Man::new(cli.clone()).render_options_section(w))),
            "@COMMANDS@" => page.push_str(&commands(&cli)),
            _ => {
                page.push_str(line);
                page.push('\n');
            }
        }
    }
    page
}

/// The string `\*(Aq` for an apostrophe that every chunk clap_mangen renders
/// starts by defining: the page defines it once, before the title.
const AQ_PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// What clap_mangen renders, without its preamble.
fn rendered(render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    render(&mut out).expect("rendered");
    let out = String::from_utf8(out).expect("roff is UTF-8");
    out.strip_prefix(AQ_PREAMBLE).map(str::to_owned).unwrap_or(out)
}

/// Title, NAME, SYNOPSIS (one line per command) and the start of
/// DESCRIPTION (the command's long help, if it has one; the template goes
/// on from there).
fn head(cli: &clap::Command) -> String {
    let version = cli.get_version().expect("version");
    // Written here rather than by Man::render_title, which leaves out an
    // empty date instead of quoting it, shifting the other fields.
    // No hyphenation, ragged right: option and file names stay whole.
    let mut out =
        format!("{AQ_PREAMBLE}.TH BANWARDEN 8 \"\" \"banwarden {version}\" \"System Administration\"\n.nh\n.ad l\n");
    out.push_str(&rendered(|w| Man::new(cli.clone()).render_name_section(w)));
    out.push_str(".SH SYNOPSIS\n");
    let lines: Vec<String> = commands_of(cli)
        .into_iter()
        .map(|(name, sub)| format!("\\fBbanwarden\\fR [\\fB\\-\\-config\\fR \\fIFILE\\fR] {}\n", synopsis(&name, sub)))
        .chain(["\\fBbanwarden\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR\n".to_owned()])
        .collect();
    out.push_str(&lines.join(".br\n"));
    out.push_str(".SH DESCRIPTION\n");
    if let Some(long) = cli.get_long_about() {
        out.push_str(&paragraphs(&long.to_string()));
    }
    out
}

/// The commands with their full names, without clap's `help` (the
/// synopsis shows `--help`): a command of commands (`fleet`) stands for
/// each of its own (`fleet status`).
fn commands_of(cli: &clap::Command) -> Vec<(String, &clap::Command)> {
    let mut out = Vec::new();
    for sub in cli.get_subcommands().filter(|sub| sub.get_name() != "help") {
        match sub.has_subcommands() {
            true => out.extend(commands_of(sub).into_iter().map(|(name, s)| (format!("{} {name}", sub.get_name()), s))),
            false => out.push((sub.get_name().to_owned(), sub)),
        }
    }
    out
}

/// A command's name and arguments, roff-formatted: `banwarden ban` shows
/// as `ban [--set SET] ... ADDRESS`.
fn synopsis(name: &str, sub: &clap::Command) -> String {
    let mut words = vec![format!("\\fB{}\\fR", escape(name))];
    let args = sub.get_arguments().filter(|a| !GLOBAL.contains(&a.get_id().as_str()));
    let (positionals, options): (Vec<_>, Vec<_>) = args.partition(|a| a.is_positional());
    for arg in options {
        let long = arg.get_long().expect("options are long");
        let mut word = format!("\\fB\\-\\-{}\\fR", escape(long));
        if arg.get_num_args().expect("built").takes_values() {
            word.push_str(&format!(" \\fI{}\\fR", escape(&value_name(arg))));
        }
        if !arg.is_required_set() {
            word = format!("[{word}]");
        }
        if matches!(arg.get_action(), clap::ArgAction::Append) {
            word.push_str("\\&...");
        }
        words.push(word);
    }
    for arg in positionals {
        let word = format!("\\fI{}\\fR", escape(&value_name(arg)));
        words.push(if arg.is_required_set() { word } else { format!("[{word}]") });
    }
    words.join(" ")
}

fn value_name(arg: &clap::Arg) -> String {
    match arg.get_value_names() {
        Some(names) => names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" "),
        None => arg.get_id().as_str().to_uppercase(),
    }
}

/// COMMANDS: for each subcommand its synopsis, what it does and each of
/// its options (clap_mangen's own subcommand section lists names only).
fn commands(cli: &clap::Command) -> String {
    let mut out = String::from(".SH COMMANDS\n");
    for (name, sub) in commands_of(cli) {
        out.push_str(&format!(".SS \"banwarden {name}\"\n"));
        out.push_str(&format!("\\fBbanwarden\\fR {}\n.PP\n", synopsis(&name, sub)));
        let about = sub.get_long_about().or(sub.get_about()).expect("every command has a help text");
        out.push_str(&paragraphs(&about.to_string()));
        let mut own = sub.clone();
        for id in GLOBAL {
            if own.get_arguments().any(|a| a.get_id() == id) {
                own = own.mut_arg(id, |a| a.hide(true));
            }
        }
        let options = rendered(|w| Man::new(own).render_options_section(w));
        if !options.is_empty() {
            let items = options.strip_prefix(".SH OPTIONS\n").expect("one OPTIONS section, no help headings");
            out.push_str(items);
        }
    }
    out
}

/// A word for roff: a backslash is `\e`, a hyphen a minus sign `\-` (what
/// one types in a terminal).
fn escape(word: &str) -> String {
    word.replace('\\', "\\e").replace('-', "\\-")
}

/// Running text: escaped, no line read as a request, a blank line
/// starting a new paragraph.
fn paragraphs(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let escaped = escape(line.trim_end());
        if escaped.is_empty() {
            out.push_str(".PP\n");
            continue;
        }
        if escaped.starts_with('.') || escaped.starts_with('\'') {
            out.push_str("\\&");
        }
        out.push_str(&escaped);
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// The shipped ruleset

pub const RULESET: &str = "etc/nftables/banwarden.nft";

/// Other tools' tables, as they might stand when banwarden's file is loaded
/// again: Docker's, ufw's (iptables-nft), libvirt's, and an admin's
/// `inet filter`. The namespace also holds `ip banwarden` and `ip6
/// banwarden` (bans.rs's sets): same name, other family.
const OTHER_TABLES: &str = "
table ip docker {
    chain DOCKER { }
    chain FORWARD { type filter hook forward priority 0; policy accept; jump DOCKER; }
}
table ip filter {
    chain ufw-user-input { tcp dport 22 accept; }
    chain INPUT { type filter hook input priority 0; policy drop; jump ufw-user-input; }
}
table ip libvirt_network {
    set nets { type ipv4_addr; flags interval; elements = { 192.168.122.0/24 }; }
    chain guest_nat { type nat hook postrouting priority 100; ip saddr @nets masquerade; }
}
table inet filter {
    set trusted { type ipv4_addr; elements = { 198.51.100.1 }; }
    chain input { type filter hook input priority 0; policy accept; ip saddr @trusted accept; }
}
";

/// Runs `nft ARGS` in the namespace; its standard output.
pub fn nft_in(ns: &Netns, args: &[&str]) -> String {
    let out = Command::new("ip").args(["netns", "exec", &ns.name, "nft"]).args(args).output().unwrap();
    assert!(out.status.success(), "nft {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Every table of the namespace but `inet banwarden`, listed in full.
fn other_tables(ns: &Netns) -> String {
    let tables = nft_in(ns, &["list", "tables"]);
    let mut listing = String::new();
    for table in tables.lines().filter(|t| *t != "table inet banwarden") {
        let words: Vec<&str> = table.split_whitespace().collect();
        assert_eq!(words.len(), 3, "{table}");
        listing.push_str(&nft_in(ns, &["list", "table", words[1], words[2]]));
    }
    listing
}

/// The rules of banwarden's chain (the allow sets' accepts, the ban sets'
/// drops), one per line, in order, without handles.
pub fn banwarden_rules(ns: &Netns) -> Vec<String> {
    let chain = nft_in(ns, &["list", "chain", "inet", "banwarden", "input"]);
    chain.lines().map(str::trim).filter(|l| l.ends_with(" drop") || l.ends_with(" accept")).map(str::to_owned).collect()
}

/// The file's top-level commands name no table but its own, and none
/// empties or deletes anything but its own chains' rules: no `flush
/// ruleset`, `flush table`, `flush set`, `delete`, `destroy`.
#[test]
fn the_shipped_ruleset_touches_its_own_table_only() {
    let ruleset = std::fs::read_to_string(root().join(RULESET)).unwrap();
    let mut flushes = 0;
    let mut depth = 0;
    for (n, line) in ruleset.lines().enumerate() {
        let code = line.split('#').next().unwrap().trim();
        let at = format!("{RULESET}:{}: {line}", n + 1);
        let words: Vec<&str> = code.split_whitespace().collect();
        if depth == 0 && !words.is_empty() {
            // `table inet banwarden {`, or `add rule inet banwarden input ...`.
            let (command, target) = match words[0] {
                "table" => ("table", &words[1..]),
                command => (command, words.get(2..).unwrap_or_default()),
            };
            assert!(target.starts_with(&["inet", "banwarden"]), "a command beyond its own table: {at}");
            match command {
                "table" | "add" | "create" | "insert" => {}
                "flush" if words[1] == "chain" => flushes += 1,
                _ => panic!("{command}: nothing but its own chains' rules may be flushed, nothing deleted: {at}"),
            }
        }
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
    }
    assert_eq!(depth, 0, "{RULESET}: unbalanced braces");
    assert!(flushes >= 1, "{RULESET} flushes its chain before adding the rules again");
}

/// Loading the shipped ruleset again, as often as one likes, keeps the bans
/// in its sets, leaves one copy of each rule, and changes no other table.
#[test]
fn the_shipped_ruleset_loads_again_keeping_bans_and_other_tables() {
    let Some(ns) = Netns::new("{}") else { return };
    ns.nft_script(OTHER_TABLES);
    let others = other_tables(&ns);
    let file = root().join(RULESET);
    let load = || nft_in(&ns, &["-f", file.to_str().unwrap()]);

    load();
    let rules = banwarden_rules(&ns);
    let table = nft_in(&ns, &["list", "table", "inet", "banwarden"]);
    let sets = table.lines().filter(|l| l.trim_start().starts_with("set ")).count();
    assert_eq!(rules.len(), sets, "a rule per set: {rules:?}");
    ns.nft_script(
        "add element inet banwarden ssh_ban4 { 192.0.2.1 timeout 1h, 192.0.2.2 }
         add element inet banwarden ssh_ban6 { 2001:db8::1 }
         add element inet banwarden web_ban4 { 198.51.100.7 timeout 10m }",
    );
    load();
    load();

    let ssh4 = ns.elements("inet", "ssh_ban4");
    assert_eq!(ssh4.iter().map(|(ip, _)| ip.as_str()).collect::<Vec<_>>(), ["192.0.2.1", "192.0.2.2"]);
    assert!(ssh4[0].1.is_some_and(|left| left > 3500), "the timed ban keeps its time left: {ssh4:?}");
    assert_eq!(ssh4[1].1, None, "the permanent ban stays permanent");
    assert_eq!(ns.elements("inet", "ssh_ban6"), [("2001:db8::1".to_owned(), None)]);
    assert_eq!(ns.elements("inet", "web_ban4").len(), 1);
    assert_eq!(banwarden_rules(&ns), rules, "the rules are replaced, not added again");
    assert_eq!(other_tables(&ns), others, "another table changed");
}

// ---------------------------------------------------------------------------
// The Debian package

/// Builds the .deb with cargo-deb, checks what it holds, then installs it
/// into a scratch root and plays its life there: install, upgrade (the
/// same version again), remove, purge.
#[test]
fn debian_package_builds_installs_and_purges() {
    if !require_root("the maintainer scripts chown, dpkg --root wants root") {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let has_cargo_deb = Command::new(&cargo).args(["deb", "--version"]).output().is_ok_and(|o| o.status.success());
    if !require(has_cargo_deb, "cargo-deb is not installed (packaging/install-build-deps.sh installs it)") {
        return;
    }
    assert!(
        root().join("doc/man/banwarden.json.5").exists(),
        "doc/man/banwarden.json.5 is missing: the package ships it (it is written with the configuration guide)"
    );

    let deb = build_deb(&cargo);
    inspect(&deb);

    let host_before = host_state();
    let scratch = tempfile::tempdir().expect("scratch root");
    let dir = scratch.path();
    let started = Instant::now();
    install_and_check(dir, &deb);
    upgrade_hands_root_owned_state_over(dir, &deb);
    remove_and_purge(dir);
    eprintln!("package: dpkg --root install, upgrade, remove, purge: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(host_state(), host_before, "the host was touched");
    under_a_real_systemd(&deb);
}

/// The package under a real systemd as PID 1: `packaging/test/check-units.sh`
/// boots Debian in a systemd-nspawn container (a network namespace of its
/// own), installs the .deb with dpkg (its scripts make the user and enable
/// the units), and checks start-up order, READY/STATUS, the sandbox as
/// applied (uid, capabilities, seccomp, file system, address families),
/// bans and recidive from units' output, forged lines ignored, reload
/// (good, refused, bare SIGHUP), the watchdog, stop/restart, the bans
/// back after nftables.service reloads, restarts or stops and starts
/// (Debian's /etc/nftables.conf, `flush ruleset` first; the daemon running
/// or not) while banwarden's units never start nftables.service, the REST
/// API through banwarden-api.socket (curl on the Unix socket), the
/// restore at boot, and that nothing allowed trips the system call filter.
/// The Debian tree is made once with debootstrap under target/nspawn
/// (about 2 minutes).
fn under_a_real_systemd(deb: &Path) {
    for tool in ["systemd-nspawn", "debootstrap"] {
        let found =
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
        if !require(found, format_args!("the package under systemd: {tool} is missing (make deps installs it)")) {
            return;
        }
    }
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(root().join("packaging/test/check-units.sh"))
        .arg(root().join("target/release/banwarden"))
        .arg(root())
        .env("DEB", deb)
        // Twice the keep-alive period is enough to see keep-alives arrive.
        .env("WATCHDOG_WAIT", "35")
        .output()
        .expect("check-units.sh runs");
    let report = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success() && report.contains(" passed, 0 failed"), "{report}");
    eprintln!("package: under systemd in a container: {:.1} s", started.elapsed().as_secs_f64());
}

/// Runs `cargo deb` into a directory of its own under target/.
///
/// It shares the target directory with `cargo test`, which does not
/// deadlock: cargo holds a profile directory's build lock only while it
/// compiles, and this build is a release one (target/release, where
/// `make build` then finds it). It runs at the lowest priority, so that
/// the tests running beside it keep the CPU their timeouts count on.
fn build_deb(cargo: &str) -> PathBuf {
    let out_dir = root().join("target/package-test");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let started = Instant::now();
    let out = Command::new("nice")
        .args(["-n", "19", cargo, "deb", "--locked", "--output"])
        .arg(&out_dir)
        .current_dir(root())
        .output()
        .expect("cargo deb runs");
    assert!(out.status.success(), "cargo deb failed:\n{}", text(&out.stderr));
    eprintln!("package: cargo deb: {:.1} s", started.elapsed().as_secs_f64());
    let debs: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    eprintln!("package: {} ({} bytes)", debs[0].display(), std::fs::metadata(&debs[0]).unwrap().len());
    debs.into_iter().next().unwrap()
}

fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(out.status.success(), "{command:?}: {}\n{}", out.status, text(&out.stderr));
    out
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    text(&run(Command::new("dpkg-deb").args(args).arg(deb)).stdout)
}

/// The files (every path the docs name among them), the control fields
/// and the conffiles.
fn inspect(deb: &Path) {
    let listing = dpkg_deb(&["--contents"], deb);
    // The path is the 6th column; a symbolic link has " -> target" after it.
    let paths: Vec<&str> = listing.lines().filter_map(|l| l.split_whitespace().nth(5)).collect();
    for expected in [
        "./usr/bin/banwarden",
        "./lib/systemd/system/banwarden.service",
        "./lib/systemd/system/banwarden-boot.service",
        "./lib/systemd/system/banwarden-api.socket",
        "./lib/systemd/system/banwarden-resp.socket",
        "./usr/lib/sysusers.d/banwarden.conf",
        "./usr/lib/tmpfiles.d/banwarden.conf",
        "./etc/banwarden/banwarden.json",
        "./etc/banwarden/banwarden.nft",
        "./usr/share/man/man8/banwarden.8.gz",
        "./usr/share/man/man5/banwarden.json.5.gz",
        "./usr/share/bash-completion/completions/banwarden",
        "./usr/share/zsh/vendor-completions/_banwarden",
        "./usr/share/fish/vendor_completions.d/banwarden.fish",
        "./usr/share/doc/banwarden/copyright",
        "./usr/share/doc/banwarden/changelog.Debian.gz",
        "./usr/share/lintian/overrides/banwarden",
        "./usr/share/doc/banwarden/README.md",
        "./usr/share/doc/banwarden/doc/bans.md",
        "./usr/share/doc/banwarden/doc/configuration.md",
        "./usr/share/doc/banwarden/examples/recidive.json",
        "./usr/share/doc/banwarden/examples/recidive.nft",
        "./usr/share/doc/banwarden/examples/mail-local-mta.conf",
        "./usr/share/doc/banwarden/examples/mail-smtp-relay.conf",
        "./usr/share/doc/banwarden/examples/boot-load-ruleset.conf",
        "./usr/share/doc/banwarden/examples/api-tcp.conf",
        "./usr/share/doc/banwarden/examples/banwarden-api-tcp.socket",
        "./usr/share/doc/banwarden/examples/banwarden-metrics.socket",
        "./usr/share/doc/banwarden/examples/fleet-redis-tcp.conf",
        "./usr/share/doc/banwarden/examples/fleet-redis-unix.conf",
        "./usr/share/doc/banwarden/doc/fleet.md",
        "./usr/share/doc/banwarden/examples/fleet.json",
    ] {
        assert!(paths.contains(&expected), "{expected} not in the package:\n{listing}");
    }
    // Every file the docs send users to (an `include`, `nft -f`, a path
    // under /etc/banwarden/ ...) is in the package: docs.rs checks the
    // same against Cargo.toml's assets without building it.
    let installed: BTreeSet<String> = paths
        .iter()
        .map(|p| p.trim_start_matches('.').trim_end_matches('/').to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let missing = not_installed(&documented_paths(), &installed);
    assert!(missing.is_empty(), "the docs name paths the package does not install:\n{}", missing.join("\n"));
    let binary: Vec<&str> =
        listing.lines().find(|l| l.ends_with("./usr/bin/banwarden")).unwrap().split_whitespace().collect();
    assert_eq!(binary[..2], ["-rwxr-xr-x", "0/0"], "{binary:?}");
    let size: u64 = binary[2].parse().unwrap();
    assert!(size < 15_000_000, "the binary is stripped (its symbols go to the -dbgsym package): {size} bytes");

    let control = dpkg_deb(&["--field"], deb);
    let field = |name: &str| {
        control
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} field:\n{control}"))
            .to_owned()
    };
    let deps = field("Depends");
    for lib in ["libsystemd0", "libnftnl11", "libmnl0", "libc6"] {
        assert!(deps.contains(lib), "Depends: {deps}");
    }
    let changelog = std::fs::read_to_string(root().join("packaging/debian/changelog")).unwrap();
    let top = changelog.lines().next().unwrap_or_default();
    assert!(
        top.starts_with(&format!("banwarden ({}) ", field("Version"))),
        "packaging/debian/changelog needs an entry for this version: {top}"
    );
    assert_eq!(field("Section"), "net");
    assert_eq!(field("Priority"), "optional");
    assert!(field("Recommends").contains("nftables"));
    assert!(field("Suggests").contains("ipset"));

    let conffiles = text(&run(Command::new("dpkg-deb").arg("--info").arg(deb).arg("conffiles")).stdout);
    assert_eq!(
        conffiles.lines().collect::<Vec<_>>(),
        // The drop-in directory's README ships it (cargo-deb makes every
        // file under /etc a conffile).
        ["/etc/banwarden/banwarden.json", "/etc/banwarden/banwarden.d/README", "/etc/banwarden/banwarden.nft"]
    );
    for script in ["postinst", "prerm", "postrm"] {
        run(Command::new("dpkg-deb").arg("--info").arg(deb).arg(script));
    }
}

/// `dpkg --root=DIR` with what it needs there: an empty database, its own
/// log, unmet dependencies allowed (the scratch root has no libc), and the
/// maintainer scripts run in place with DPKG_ROOT=DIR rather than chrooted
/// (there is no shell in DIR).
fn dpkg(dir: &Path, args: &[&str]) -> Output {
    let admin = dir.join("var/lib/dpkg");
    for sub in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(sub)).unwrap();
    }
    for file in ["status", "available"] {
        let path = admin.join(file);
        if !path.exists() {
            std::fs::write(path, "").unwrap();
        }
    }
    // dpkg wants ldconfig and start-stop-daemon on the PATH, under /usr/sbin.
    let path = format!(
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:{}",
        std::env::var("PATH").unwrap_or_default()
    );
    run(Command::new("dpkg")
        .arg(format!("--root={}", dir.display()))
        .arg(format!("--log={}", dir.join("dpkg.log").display()))
        .args(["--force-depends", "--force-script-chrootless"])
        .args(args)
        .env("PATH", path))
}

/// The user's "uid:gid" in DIR/etc/passwd, and its line.
fn passwd_entry(dir: &Path) -> Option<(u32, u32, String)> {
    let passwd = std::fs::read_to_string(dir.join("etc/passwd")).ok()?;
    let line = passwd.lines().find(|l| l.starts_with("banwarden:"))?;
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().ok()?, fields[3].parse().ok()?, line.to_owned()))
}

/// The links enabling the units make (`WantedBy=`), under etc/systemd/system.
const ENABLEMENT_LINKS: [(&str, &str); 3] = [
    ("multi-user.target.wants", "banwarden.service"),
    ("multi-user.target.wants", "banwarden-boot.service"),
    ("nftables.service.wants", "banwarden-boot.service"),
];

fn install_and_check(dir: &Path, deb: &Path) {
    dpkg(dir, &["--install", deb.to_str().unwrap()]);
    let status = run(Command::new("dpkg-query").arg(format!("--root={}", dir.display())).args([
        "-W",
        "-f",
        "${Status}",
        "banwarden",
    ]));
    assert_eq!(text(&status.stdout), "install ok installed");

    let (uid, gid, line) = passwd_entry(dir).expect("user banwarden in etc/passwd");
    assert!(uid > 0 && uid < 1000, "a system user: {line}");
    assert!(line.ends_with(":/var/lib/banwarden:/usr/sbin/nologin"), "{line}");
    let group = std::fs::read_to_string(dir.join("etc/group")).unwrap();
    let journal = group.lines().find(|l| l.starts_with("systemd-journal:")).expect("group systemd-journal");
    assert!(journal.rsplit(':').next().unwrap().split(',').any(|m| m == "banwarden"), "{journal}");
    assert!(group.lines().any(|l| l.starts_with("banwarden-api:")), "the group of the API's sockets:\n{group}");

    let state = std::fs::metadata(dir.join("var/lib/banwarden")).expect("var/lib/banwarden");
    assert_eq!((state.uid(), state.gid(), state.mode() & 0o7777), (uid, gid, 0o750));

    // banwarden-boot.service is also wanted by nftables.service, so that
    // a start of the firewall (after a stop, which flushed it) restores.
    for (wants, unit) in ENABLEMENT_LINKS {
        let link = dir.join("etc/systemd/system").join(wants).join(unit);
        let target = std::fs::read_link(&link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
        assert_eq!(target, Path::new("/lib/systemd/system").join(unit));
    }
    // The API's sockets are shipped disabled: the API is off until configured.
    for socket in ["banwarden-api.socket", "banwarden-resp.socket"] {
        let link = dir.join("etc/systemd/system/sockets.target.wants").join(socket);
        assert!(std::fs::symlink_metadata(&link).is_err(), "{} enabled by the install", link.display());
    }

    let bin = dir.join("usr/bin/banwarden");
    let config = dir.join("etc/banwarden/banwarden.json");
    let out = run(Command::new(&bin).arg("check").arg("--config").arg(&config));
    assert!(text(&out.stdout).contains(": valid: "), "{}", text(&out.stdout));
}

/// An upgrade from a version that ran as root (the state directory and
/// its files root's) hands them to the user banwarden, links not followed.
fn upgrade_hands_root_owned_state_over(dir: &Path, deb: &Path) {
    let (uid, gid, _) = passwd_entry(dir).unwrap();
    let state = dir.join("var/lib/banwarden");
    std::os::unix::fs::chown(&state, Some(0), Some(0)).unwrap();
    let store = state.join("action_nftBan.json");
    std::fs::write(&store, "[]\n").unwrap();
    let outside = dir.join("outside");
    std::fs::write(&outside, "").unwrap();
    std::os::unix::fs::symlink(&outside, state.join("link")).unwrap();

    dpkg(dir, &["--install", deb.to_str().unwrap()]);
    for path in [&state, &store] {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{} handed over", path.display());
    }
    let outside = std::fs::metadata(&outside).unwrap();
    assert_eq!((outside.uid(), outside.gid()), (0, 0), "a symbolic link is not followed");
}

fn remove_and_purge(dir: &Path) {
    dpkg(dir, &["--remove", "banwarden"]);
    assert!(!dir.join("usr/bin/banwarden").exists());
    assert!(dir.join("etc/banwarden/banwarden.json").exists(), "conffiles stay until purge");
    assert!(dir.join("var/lib/banwarden/action_nftBan.json").exists(), "the store stays until purge");

    dpkg(dir, &["--purge", "banwarden"]);
    assert!(!dir.join("etc/banwarden/banwarden.json").exists());
    assert!(!dir.join("var/lib/banwarden").exists(), "purge removes the state");
    let system = dir.join("etc/systemd/system");
    for (wants, unit) in ENABLEMENT_LINKS {
        assert!(std::fs::symlink_metadata(system.join(wants).join(unit)).is_err(), "{unit} still in {wants}");
        assert!(std::fs::symlink_metadata(system.join(unit)).is_err(), "{unit} masked");
    }
    assert!(passwd_entry(dir).is_some(), "the system user stays");
}

/// What the scratch install must leave alone on the host.
fn host_state() -> Vec<String> {
    let mut state = vec![std::fs::read_to_string("/etc/passwd").unwrap_or_default()];
    for path in [
        "/var/lib/banwarden",
        "/etc/banwarden/banwarden.nft",
        "/lib/systemd/system/banwarden.service",
        "/etc/systemd/system/multi-user.target.wants/banwarden.service",
        "/var/lib/systemd/deb-systemd-helper-enabled/banwarden.service.dsh-also",
    ] {
        state.push(format!("{path}: {}", Path::new(path).exists()));
    }
    let status = std::fs::read_to_string("/var/lib/dpkg/status").unwrap_or_default();
    state.push(format!("host dpkg knows banwarden: {}", status.contains("\nPackage: banwarden\n")));
    state
}
