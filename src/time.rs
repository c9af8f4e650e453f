//! Wall time: rendering journal timestamps the way Pyruse printed them, and
//! the clock.
//!
//! Pyruse saw `__REALTIME_TIMESTAMP` as a timezone-aware `datetime` and
//! printed it with `str()`, so that is the text users find in their logs,
//! mails and reports: `2025-01-01 00:00:24.931461+00:00`, in the machine's
//! local time with its UTC offset. The functions here reproduce that text.
//!
//! The [`Clock`] trait is the only way the crate reads the current time,
//! wall or monotonic: nothing else calls `SystemTime::now()` or
//! `Instant::now()` (clippy's `disallowed-methods`, run by `make test`,
//! keeps it so), so every time-dependent behaviour (a ban's end, the loop's
//! deadlines, the report schedule) can be tested with a [`FixedClock`].

use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Local, Offset, TimeZone, Timelike};

/// Source of "now": wall time for what is dated (a ban's end, a report's
/// day), monotonic time for what is timed (the loop's deadlines).
pub trait Clock: Send + Sync {
    /// Microseconds since the Unix epoch, the unit of `__REALTIME_TIMESTAMP`.
    fn now_us(&self) -> u64;
    /// Monotonic time, which no change of the wall clock moves.
    fn instant(&self) -> Instant;
}

/// The machine's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[allow(clippy::disallowed_methods, reason = "the one place that reads the machine's clocks")]
impl Clock for SystemClock {
    fn now_us(&self) -> u64 {
        // A clock set before 1970 is broken; the epoch is as good an answer as any.
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to, for tests. Atomic so that it can be
/// shared (`Arc<FixedClock>`) with the code under test and moved from outside.
/// [`advance`](Self::advance) moves both clocks; [`set`](Self::set) only the
/// wall clock (as an admin setting the date would).
#[derive(Debug)]
pub struct FixedClock {
    wall_us: AtomicU64,
    base: Instant,
    elapsed_us: AtomicU64,
}

impl FixedClock {
    #[allow(clippy::disallowed_methods, reason = "a base for the fake monotonic clock; only offsets matter")]
    pub fn new(now_us: u64) -> FixedClock {
        FixedClock { wall_us: AtomicU64::new(now_us), base: Instant::now(), elapsed_us: AtomicU64::new(0) }
    }

    pub fn set(&self, now_us: u64) {
        self.wall_us.store(now_us, Ordering::Relaxed);
    }

    pub fn advance(&self, by_us: u64) {
        self.wall_us.fetch_add(by_us, Ordering::Relaxed);
        self.elapsed_us.fetch_add(by_us, Ordering::Relaxed);
    }
}

impl Clock for FixedClock {
    fn now_us(&self) -> u64 {
        self.wall_us.load(Ordering::Relaxed)
    }

    fn instant(&self) -> Instant {
        self.base + Duration::from_micros(self.elapsed_us.load(Ordering::Relaxed))
    }
}

/// Renders like Python's `str(datetime)` of a timezone-aware datetime:
/// `2025-01-01 00:00:24.931461+00:00`; the `.ffffff` part omitted when
/// microseconds are 0; offset as `+HH:MM` (and `+HH:MM:SS` if it has seconds,
/// as Python does).
pub fn format_python_datetime(time_us: u64, utc_offset_secs: i32) -> String {
    let mut out = String::with_capacity(32);
    let _ = write_python_datetime(&mut out, time_us, utc_offset_secs);
    out
}

/// The same in the machine's local time zone at that instant (chrono's
/// `Local`, which honours `TZ`).
pub fn format_local(time_us: u64) -> String {
    let mut out = String::with_capacity(32);
    let _ = write_local(&mut out, time_us);
    out
}

/// [`format_local`] into any writer, for callers that must not allocate.
pub fn write_local(out: &mut impl Write, time_us: u64) -> fmt::Result {
    write_python_datetime(out, time_us, local_offset_secs(time_us))
}

/// [`format_python_datetime`] into any writer.
pub fn write_python_datetime(out: &mut impl Write, time_us: u64, utc_offset_secs: i32) -> fmt::Result {
    let local_us = i64::try_from(time_us).ok().and_then(|us| us.checked_add(i64::from(utc_offset_secs) * 1_000_000));
    let Some(t) = local_us.and_then(DateTime::from_timestamp_micros) else {
        // Past chrono's calendar (some 262,000 years away; Python stops at
        // year 9999). The raw number at least loses nothing.
        return write!(out, "{time_us}");
    };
    write!(out, "{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second())?;
    let micros = time_us % 1_000_000;
    if micros != 0 {
        write!(out, ".{micros:06}")?;
    }
    let sign = if utc_offset_secs < 0 { '-' } else { '+' };
    let offset = utc_offset_secs.unsigned_abs();
    let (hours, minutes, seconds) = (offset / 3600, offset / 60 % 60, offset % 60);
    write!(out, "{sign}{hours:02}:{minutes:02}")?;
    if seconds != 0 {
        write!(out, ":{seconds:02}")?;
    }
    Ok(())
}

/// The local zone's offset from UTC at that instant (it changes with DST).
fn local_offset_secs(time_us: u64) -> i32 {
    // An instant always has exactly one local time, so `single` only fails
    // for instants chrono cannot represent; UTC is the harmless fallback.
    i64::try_from(time_us)
        .ok()
        .and_then(|us| Local.timestamp_micros(us).single())
        .map_or(0, |t| t.offset().fix().local_minus_utc())
}

/// Parses a time given on the command line (`--since`, `--until`), as
/// microseconds since the epoch: `@SECONDS`, RFC 3339
/// (`2025-11-21T12:00:00Z`), local `YYYY-MM-DD[ HH:MM[:SS]]`, `now`,
/// `today`, `yesterday`, or relative to `now_us`: `-2h`, `-30min`, `-1d`,
/// `+10s` (units s, min, h, d, w, as systemd.time(7) spells them).
pub fn parse_time(text: &str, now_us: u64) -> Result<u64, String> {
    use chrono::{Local, NaiveDate, NaiveDateTime, TimeZone};
    let t = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a time: try \"2025-11-21 13:00\", \"2025-11-21T12:00:00Z\", \"@1763726400\" or \"-2h\""
        )
    };
    let from_local = |naive: NaiveDateTime| -> Result<u64, String> {
        let local = Local.from_local_datetime(&naive).earliest().ok_or_else(bad)?;
        u64::try_from(local.timestamp_micros()).map_err(|_| bad())
    };
    let midnight = |days_back: u64| -> Result<u64, String> {
        let now = Local.timestamp_micros(now_us as i64).single().ok_or_else(bad)?;
        let day = now.date_naive() - chrono::Days::new(days_back);
        from_local(day.and_hms_opt(0, 0, 0).expect("midnight exists"))
    };
    match t {
        "now" => return Ok(now_us),
        "today" => return midnight(0),
        "yesterday" => return midnight(1),
        _ => {}
    }
    if let Some(secs) = t.strip_prefix('@') {
        let secs: f64 = secs.parse().map_err(|_| bad())?;
        return if (0.0..1e13).contains(&secs) { Ok((secs * 1e6).round() as u64) } else { Err(bad()) };
    }
    if let Some(sign) = t.chars().next().filter(|c| *c == '-' || *c == '+') {
        let body = &t[1..];
        let split = body.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = body[..split].parse().map_err(|_| bad())?;
        let unit_us: u64 = match body[split..].trim() {
            "s" | "sec" | "second" | "seconds" => 1_000_000,
            "m" | "min" | "minute" | "minutes" => 60_000_000,
            "h" | "hour" | "hours" => 3_600_000_000,
            "d" | "day" | "days" => 86_400_000_000,
            "w" | "week" | "weeks" => 604_800_000_000,
            _ => return Err(bad()),
        };
        let delta = n.checked_mul(unit_us).ok_or_else(bad)?;
        return if sign == '-' {
            now_us.checked_sub(delta).ok_or_else(bad)
        } else {
            now_us.checked_add(delta).ok_or_else(bad)
        };
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return u64::try_from(dt.timestamp_micros()).map_err(|_| bad());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, format) {
            return from_local(naive);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return from_local(date.and_hms_opt(0, 0, 0).expect("midnight exists"));
    }
    Err(bad())
}

/// Parses a ban duration: whole seconds (`3600`), or units as nft and
/// systemd.time(7) write them (`3d31m16s`, `1h`, `500ms`, `1h 30min`,
/// `2weeks`), read by `humantime`, whose units are a superset of those
/// documented (`M` and `y`, a month and a year, too).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    humantime::parse_duration(t).map_err(|e| {
        format!("{text:?} is not a duration ({e}): seconds (\"3600\") or nft style (\"1d12h\", \"3d31m16s\")")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_735_689_624_931_461; // 2025-01-01 00:00:24.931461 UTC

    #[test]
    fn python_str_of_aware_datetime() {
        // Each expected value is what Python 3.11 prints for the same datetime.
        assert_eq!(format_python_datetime(T, 0), "2025-01-01 00:00:24.931461+00:00");
        assert_eq!(format_python_datetime(T, 3600), "2025-01-01 01:00:24.931461+01:00");
        assert_eq!(format_python_datetime(T, -(5 * 3600 + 30 * 60)), "2024-12-31 18:30:24.931461-05:30");
        assert_eq!(format_python_datetime(T, 3601), "2025-01-01 01:00:25.931461+01:00:01");
        assert_eq!(format_python_datetime(T, -3601), "2024-12-31 23:00:23.931461-01:00:01");
    }

    #[test]
    fn whole_seconds_have_no_fraction() {
        assert_eq!(format_python_datetime(1_735_689_624_000_000, 0), "2025-01-01 00:00:24+00:00");
        assert_eq!(format_python_datetime(5, 0), "1970-01-01 00:00:00.000005+00:00");
        assert_eq!(format_python_datetime(0, 0), "1970-01-01 00:00:00+00:00");
    }

    #[test]
    fn out_of_calendar_times_render_raw() {
        assert_eq!(format_python_datetime(u64::MAX, 0), u64::MAX.to_string());
    }

    #[test]
    fn local_uses_the_local_offset_of_that_instant() {
        for t in [T, T + 182 * 86_400 * 1_000_000] {
            let offset = Local.timestamp_micros(t as i64).unwrap().offset().fix().local_minus_utc();
            assert_eq!(format_local(t), format_python_datetime(t, offset));
        }
    }

    /// Runs `local_in_child` in a child process with `TZ` set: the variable is
    /// process-wide, and tests run in parallel threads.
    #[test]
    fn local_honours_tz() {
        let cases = [
            // POSIX TZ strings need no tzdata; note their inverted sign.
            ("UTC0", T, "2025-01-01 00:00:24.931461+00:00"),
            ("IST-5:30", T, "2025-01-01 05:30:24.931461+05:30"),
            ("EST5EDT,M3.2.0,M11.1.0", T, "2024-12-31 19:00:24.931461-05:00"),
            ("EST5EDT,M3.2.0,M11.1.0", 1_751_328_000_000_000, "2025-06-30 20:00:00-04:00"),
        ];
        let exe = std::env::current_exe().unwrap();
        for (tz, t, expected) in cases {
            let child = std::process::Command::new(&exe)
                .args(["--exact", "time::tests::local_in_child"])
                .env("TZ", tz)
                .env("BW_TIME_CHILD", format!("{t} {expected}"))
                .output()
                .unwrap();
            let report = String::from_utf8_lossy(&child.stdout);
            // "1 passed" also proves the filter found the test.
            assert!(child.status.success() && report.contains("1 passed"), "TZ={tz}: expected {expected}\n{report}");
        }
    }

    #[test]
    fn local_in_child() {
        let Ok(case) = std::env::var("BW_TIME_CHILD") else { return };
        let (t, expected) = case.split_once(' ').unwrap();
        assert_eq!(format_local(t.parse().unwrap()), expected);
    }

    #[test]
    fn fixed_clock_moves_when_told() {
        let clock = FixedClock::new(10);
        assert_eq!(clock.now_us(), 10);
        clock.advance(5);
        assert_eq!(clock.now_us(), 15);
        let before = clock.instant();
        clock.set(3);
        assert_eq!(clock.now_us(), 3);
        assert_eq!(clock.instant(), before, "setting the date does not move monotonic time");
        clock.advance(1000);
        assert_eq!(clock.instant() - before, Duration::from_millis(1));
        let dynamic: &dyn Clock = &SystemClock;
        assert!(dynamic.now_us() > T, "the system clock is past 2025");
    }

    #[test]
    fn parse_command_line_times() {
        let now = 1_763_726_400_000_000; // 2025-11-21T12:00:00Z
        assert_eq!(parse_time("@1763726400", now), Ok(now));
        assert_eq!(parse_time("@1.5", now), Ok(1_500_000));
        assert_eq!(parse_time("2025-11-21T12:00:00Z", now), Ok(now));
        assert_eq!(parse_time("2025-11-21T13:00:00+01:00", now), Ok(now));
        assert_eq!(parse_time("now", now), Ok(now));
        assert_eq!(parse_time("-2h", now), Ok(now - 7_200_000_000));
        assert_eq!(parse_time("-30min", now), Ok(now - 1_800_000_000));
        assert_eq!(parse_time("+1d", now), Ok(now + 86_400_000_000));
        // Local forms: the same instant as chrono's reading of local time.
        let local = chrono::NaiveDate::from_ymd_opt(2025, 11, 21).unwrap().and_hms_opt(13, 0, 0).unwrap();
        let expected =
            chrono::TimeZone::from_local_datetime(&chrono::Local, &local).earliest().unwrap().timestamp_micros() as u64;
        assert_eq!(parse_time("2025-11-21 13:00", now), Ok(expected));
        assert_eq!(parse_time("2025-11-21 13:00:00", now), Ok(expected));
        assert!(parse_time("2025-11-21", now).unwrap() <= expected);
        assert!(parse_time("today", now).unwrap() <= now);
        assert!(parse_time("yesterday", now).unwrap() < parse_time("today", now).unwrap());
        for bad in ["", "soon", "-2", "-2y", "@x", "2025-13-01", "@-5"] {
            let err = parse_time(bad, now).unwrap_err();
            assert!(err.contains("is not a time"), "{bad}: {err}");
        }
    }

    #[test]
    fn parse_ban_durations() {
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("3d31m16s"), Ok(Duration::from_secs(3 * 86400 + 31 * 60 + 16)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m500ms"), Ok(Duration::from_millis(60_500)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("1h30min"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2days"), Ok(Duration::from_secs(2 * 86400)));
        // Forms humantime adds: spaces between parts, `hr`, `mins`.
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2hr 5mins"), Ok(Duration::from_secs(7500)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)), "humantime takes fractions");
        for bad in ["", "h", "1x", "-1", "1h-5m", "99999999999999999999d"] {
            assert!(parse_duration(bad).unwrap_err().contains("is not a duration"), "{bad}");
        }
    }
}
