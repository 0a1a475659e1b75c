//! Log lines that read like Redis's: `<pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <level> <message>`,
//! with Redis's level marks (`.` debug, `-` verbose, `*` notice, `#` warning), written to stdout
//! (`logfile ""`) or appended to the log file.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct RedisFormat {
    pid: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 → (year, month 1-12, day 1-31), Howard Hinnant's civil_from_days.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `25 Nov 2026 22:15:02.123` in UTC.
pub fn timestamp(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let in_day = secs.rem_euclid(86_400);
    format!(
        "{day:02} {} {year} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(month - 1) as usize],
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        unix_ms.rem_euclid(1000)
    )
}

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mark = match *event.metadata().level() {
            Level::ERROR | Level::WARN => '#',
            Level::INFO => '*',
            Level::DEBUG => '-',
            Level::TRACE => '.',
        };
        write!(
            writer,
            "{}:M {} {} ",
            self.pid,
            timestamp(super::unix_ms()),
            mark
        )?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Maps Redis's `loglevel` onto tracing levels.
fn level_for(loglevel: &str) -> Level {
    match loglevel {
        "debug" => Level::TRACE,
        "verbose" => Level::DEBUG,
        "warning" => Level::WARN,
        _ => Level::INFO,
    }
}

/// Installs the global logger. `logfile` empty = stdout.
pub fn init(logfile: &str, loglevel: &str) -> std::io::Result<()> {
    let format = RedisFormat {
        pid: std::process::id(),
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level_for(loglevel))
        .event_format(format);
    if logfile.is_empty() {
        let _ = builder.with_writer(std::io::stdout).try_init();
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)?;
        let _ = builder.with_writer(std::sync::Mutex::new(file)).try_init();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_redis_style() {
        assert_eq!(timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(timestamp(1_795_734_902_123), "26 Nov 2026 23:15:02.123");
    }
}
