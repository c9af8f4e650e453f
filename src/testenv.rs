//! The one rule for tests that need something of the machine (root, a
//! program, a group): where it is missing, the test prints `skipped: WHY` on
//! stderr and returns, so that `cargo test` passes on a developer's laptop;
//! under CI (`CI=true`, as GitHub Actions, GitLab CI and most others set it)
//! it fails instead. A CI machine is prepared for every test (`make deps`), so
//! a missing requirement there is a broken machine, and a kernel test that
//! "passes" without root has proved nothing.
//!
//! Every skip goes through [`require`]. The decision itself is the pure
//! [`decide`], tested below.
//!
//! This file is compiled twice: as `crate::testenv` for the unit tests, and
//! into the integration-test binary (by `tests/integration/journald.rs`, with
//! `#[path]`; benches include that file too), so that both follow one rule.
//! It therefore names nothing of the crate.

use std::fmt::Display;

/// What a test does about one of its requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Run,
    Skip,
    Fail,
}

/// `ci` is the value of the environment variable `CI`; `met` whether the
/// requirement is met. Any case of "true" counts as CI (AppVeyor sets `True`).
pub fn decide(ci: Option<&str>, met: bool) -> Decision {
    match (met, ci) {
        (true, _) => Decision::Run,
        (false, Some(ci)) if ci.eq_ignore_ascii_case("true") => Decision::Fail,
        (false, _) => Decision::Skip,
    }
}

/// Whether the test can go on: `met` says whether what it needs is here,
/// `why` what is missing, as in "needs root (network namespaces)". When not,
/// prints `skipped: WHY` and returns false, or panics under `CI=true`.
#[track_caller]
pub fn require(met: bool, why: impl Display) -> bool {
    let ci = std::env::var("CI").ok();
    match decide(ci.as_deref(), met) {
        Decision::Run => true,
        Decision::Skip => {
            eprintln!("skipped: {why}");
            false
        }
        Decision::Fail => panic!("{why}, but CI=true: a skip here would hide a broken CI machine"),
    }
}

/// [`require`] for root, which `what` needs.
#[track_caller]
pub fn require_root(what: &str) -> bool {
    // SAFETY: geteuid(2) cannot fail and has no side effects.
    let root = unsafe { libc::geteuid() } == 0;
    require(root, format_args!("needs root ({what})"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_requirement_skips_except_under_ci() {
        // Imported here: benches include this file too, with cfg(test) but without the test.
        use super::{decide, Decision};
        assert_eq!(decide(None, true), Decision::Run);
        assert_eq!(decide(Some("true"), true), Decision::Run);
        assert_eq!(decide(None, false), Decision::Skip);
        assert_eq!(decide(Some("true"), false), Decision::Fail);
        assert_eq!(decide(Some("True"), false), Decision::Fail);
        // Only the value CI systems set counts: anything else is a developer's machine.
        assert_eq!(decide(Some("false"), false), Decision::Skip);
        assert_eq!(decide(Some(""), false), Decision::Skip);
    }
}
