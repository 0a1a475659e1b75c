//! Directive values: how each type reads its arguments, validates them and prints itself.
//!
//! A value is set from a list of arguments: one for ordinary directives, several for the
//! multi-argument ones (`save 3600 1 300 100`, `bind a b`, `client-output-buffer-limit ...`).
//! Every check and every error text is Redis 7.0.15's, because both reach users verbatim: in the
//! FATAL CONFIG FILE ERROR report at startup and in the `-ERR CONFIG SET failed ... - <reason>`
//! reply. Printing is what CONFIG GET answers; CONFIG REWRITE builds its lines from the same
//! values (see rewrite.rs).

use std::path::{Path, PathBuf};

use super::table::{Directive, Kind, NumFormat, Special, StrCheck, SHUTDOWN_NOSAVE, SHUTDOWN_SAVE};
use super::text::{memtoull, strerror, string2ll, strtoll};

/// The most addresses one `bind` accepts (Redis's CONFIG_BINDADDR_MAX).
pub const BIND_MAX: usize = 16;

/// The client classes of `client-output-buffer-limit`, in Redis's order and spelling.
pub const CLIENT_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// One class of `client-output-buffer-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: i64,
}

/// Redis's defaults for normal, replica and pubsub clients.
pub const BUFFER_LIMIT_DEFAULTS: [BufferLimit; 3] = [
    BufferLimit {
        hard_bytes: 0,
        soft_bytes: 0,
        soft_seconds: 0,
    },
    BufferLimit {
        hard_bytes: 256 << 20,
        soft_bytes: 64 << 20,
        soft_seconds: 60,
    },
    BufferLimit {
        hard_bytes: 32 << 20,
        soft_bytes: 8 << 20,
        soft_seconds: 60,
    },
];

pub const OOM_SCORE_ADJ_DEFAULTS: [i64; 3] = [0, 200, 800];
pub const SAVE_DEFAULTS: [(i64, i64); 3] = [(3600, 1), (300, 100), (60, 10000)];
pub const BIND_DEFAULTS: [&str; 2] = ["*", "-::*"];
pub const PERCENTILE_DEFAULTS: [f64; 3] = [50.0, 99.0, 99.9];

/// The current value of one directive.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    /// `None` is "unset", which only directives with `empty_is_null` can be.
    Str(Option<String>),
    Enum(i32),
    Num(i64),
    /// The absolute working directory.
    Dir(PathBuf),
    /// `(seconds, changes)` pairs.
    Save(Vec<(i64, i64)>),
    BufferLimits([BufferLimit; 3]),
    OomScores([i64; 3]),
    /// Keyspace-event flag bits (Redis's NOTIFY_* values).
    Notify(u32),
    Bind(Vec<String>),
    ReplicaOf(Option<(String, i64)>),
    Percentiles(Vec<f64>),
}

/// What setting a value needs to know besides its arguments.
pub struct SetContext<'a> {
    /// The directory a relative `dir` is resolved against (Redis chdirs at each `dir`).
    pub cwd: &'a Path,
    /// Redis's `reading_config_file`: `save` lines accumulate while a file is read.
    pub reading_file: bool,
    /// Whether a `save` line of the file already replaced the default save points.
    pub save_loaded: &'a mut bool,
}

impl Value {
    /// The value a fresh redis-server 7.0.15 has; `cwd` is the default `dir`.
    pub fn default_for(d: &Directive, cwd: &Path) -> Value {
        match d.kind {
            Kind::Bool { default } => Value::Bool(default),
            Kind::Str { default, .. } => Value::Str(default.map(str::to_string)),
            Kind::Enum { default, .. } => Value::Enum(default),
            Kind::Num { default, .. } => Value::Num(default),
            Kind::Special(special) => match special {
                Special::Dir => Value::Dir(cwd.to_path_buf()),
                Special::Save => Value::Save(SAVE_DEFAULTS.to_vec()),
                Special::ClientOutputBufferLimit => Value::BufferLimits(BUFFER_LIMIT_DEFAULTS),
                Special::OomScoreAdjValues => Value::OomScores(OOM_SCORE_ADJ_DEFAULTS),
                Special::NotifyKeyspaceEvents => Value::Notify(0),
                Special::Bind => Value::Bind(BIND_DEFAULTS.iter().map(|s| s.to_string()).collect()),
                Special::ReplicaOf => Value::ReplicaOf(None),
                Special::LatencyPercentiles => Value::Percentiles(PERCENTILE_DEFAULTS.to_vec()),
            },
        }
    }

    /// The value after setting `args` on top of `current`, or Redis's error text.
    pub fn parse(
        d: &Directive,
        current: &Value,
        args: &[Vec<u8>],
        ctx: &mut SetContext<'_>,
    ) -> Result<Value, String> {
        let first = args.first().map(Vec::as_slice).unwrap_or_default();
        match d.kind {
            Kind::Bool { .. } => parse_yes_no(first).map(Value::Bool),
            Kind::Str {
                empty_is_null,
                check,
                ..
            } => {
                let text = String::from_utf8_lossy(first).into_owned();
                check_string(check, &text)?;
                Ok(Value::Str(if empty_is_null && text.is_empty() {
                    None
                } else {
                    Some(text)
                }))
            }
            Kind::Enum {
                choices, bitflags, ..
            } => parse_enum(choices, bitflags, args).map(Value::Enum),
            Kind::Num {
                lower,
                upper,
                unsigned,
                format,
                ..
            } => parse_number(first, format)
                .and_then(|v| check_bounds(v, lower, upper, unsigned, format))
                .map(Value::Num),
            Kind::Special(special) => match special {
                Special::Dir => parse_dir(args, ctx.cwd).map(Value::Dir),
                Special::Save => parse_save(current, args, ctx).map(Value::Save),
                Special::ClientOutputBufferLimit => {
                    parse_buffer_limits(current, args).map(Value::BufferLimits)
                }
                Special::OomScoreAdjValues => parse_oom_scores(args).map(Value::OomScores),
                Special::NotifyKeyspaceEvents => parse_notify(args).map(Value::Notify),
                Special::Bind => parse_bind(args).map(Value::Bind),
                Special::ReplicaOf => parse_replica_of(args).map(Value::ReplicaOf),
                Special::LatencyPercentiles => parse_percentiles(args).map(Value::Percentiles),
            },
        }
    }

    /// The text CONFIG GET prints.
    pub fn display(&self, d: &Directive) -> String {
        match self {
            Value::Bool(b) => yes_no(*b).to_string(),
            Value::Str(s) => s.clone().unwrap_or_default(),
            Value::Enum(v) => match d.kind {
                Kind::Enum {
                    choices, bitflags, ..
                } => enum_name(choices, bitflags, *v),
                _ => String::new(),
            },
            Value::Num(v) => match d.kind {
                Kind::Num { format, .. } => display_number(*v, format),
                _ => v.to_string(),
            },
            Value::Dir(path) => path.to_string_lossy().into_owned(),
            Value::Save(points) => points
                .iter()
                .map(|(s, c)| format!("{s} {c}"))
                .collect::<Vec<_>>()
                .join(" "),
            Value::BufferLimits(limits) => CLIENT_CLASSES
                .iter()
                .zip(limits)
                .map(|(class, l)| {
                    format!(
                        "{class} {} {} {}",
                        l.hard_bytes, l.soft_bytes, l.soft_seconds
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
            Value::OomScores(v) => format!("{} {} {}", v[0], v[1], v[2]),
            Value::Notify(flags) => notify_flags_to_string(*flags),
            Value::Bind(addrs) => addrs.join(" "),
            Value::ReplicaOf(primary) => primary
                .as_ref()
                .map(|(h, p)| format!("{h} {p}"))
                .unwrap_or_default(),
            Value::Percentiles(v) => v
                .iter()
                .map(|p| format_percentile(*p))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

pub fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn parse_yes_no(arg: &[u8]) -> Result<bool, String> {
    if arg.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".to_string())
    }
}

/// A path that is a bare name: Redis's `pathIsBaseName`.
fn is_base_name(s: &str) -> bool {
    !s.contains('/') && !s.contains('\\')
}

fn check_string(check: StrCheck, s: &str) -> Result<(), String> {
    let err = |m: &str| Err(m.to_string());
    match check {
        StrCheck::None => Ok(()),
        StrCheck::DbFilename if !is_base_name(s) => {
            err("dbfilename can't be a path, just a filename")
        }
        StrCheck::AofFilename if s.is_empty() => err("appendfilename can't be empty"),
        StrCheck::AofFilename if !is_base_name(s) => {
            err("appendfilename can't be a path, just a filename")
        }
        StrCheck::AofDirname if s.is_empty() => err("appenddirname can't be empty"),
        StrCheck::AofDirname if !is_base_name(s) => {
            err("appenddirname can't be a path, just a dirname")
        }
        StrCheck::Hostname if s.len() >= 256 => err("Hostnames must be less than 256 characters"),
        StrCheck::Hostname
            if !s
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') =>
        {
            err("Hostnames may only contain alphanumeric characters, hyphens or dots")
        }
        StrCheck::ProcTitle if !valid_proc_title(s) => {
            err("template format is invalid or contains unknown variables")
        }
        _ => Ok(()),
    }
}

/// Redis's `validateProcTitleTemplate`: the template expands (`{{` is a literal brace, every
/// `{name}` is a known variable) to something that is not blank. Only `{server-mode}` and
/// `{unixsocket}` may expand to nothing, and `{title}` does during validation.
fn valid_proc_title(template: &str) -> bool {
    let mut rest = template;
    let mut visible = false;
    while let Some(open) = rest.find('{') {
        visible |= rest[..open].trim_matches(' ').chars().next().is_some();
        let after = &rest[open + 1..];
        if after.is_empty() {
            return false;
        }
        if let Some(stripped) = after.strip_prefix('{') {
            visible = true;
            rest = stripped;
            continue;
        }
        let Some(close) = after.find('}') else {
            return false;
        };
        match &after[..close] {
            "listen-addr" | "config-file" | "port" | "tls-port" => visible = true,
            "title" | "server-mode" | "unixsocket" => {}
            _ => return false,
        }
        rest = &after[close + 1..];
    }
    visible || !rest.trim_matches(' ').is_empty()
}

fn enum_error(choices: &[(&str, i32)]) -> String {
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    format!(
        "argument(s) must be one of the following: {}",
        names.join(", ")
    )
}

/// Redis's `configEnumGetValue`: one name, or for bit flags the union of several names.
fn parse_enum(choices: &[(&str, i32)], bitflags: bool, args: &[Vec<u8>]) -> Result<i32, String> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return Err(enum_error(choices));
    }
    let mut value = 0;
    for arg in args {
        let found = choices
            .iter()
            .filter(|(n, _)| n.as_bytes().eq_ignore_ascii_case(arg))
            .map(|(_, v)| *v);
        let mut matched = false;
        for v in found {
            value |= v;
            matched = true;
        }
        if !matched {
            return Err(enum_error(choices));
        }
    }
    if bitflags && value & SHUTDOWN_SAVE != 0 && value & SHUTDOWN_NOSAVE != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
    }
    Ok(value)
}

/// Redis's `configEnumGetName`: the exact match, or for bit flags the names of the set bits in
/// table order; "unknown" when nothing fits.
pub fn enum_name(choices: &[(&str, i32)], bitflags: bool, value: i32) -> String {
    if let Some((name, _)) = choices.iter().find(|(_, v)| *v == value) {
        return name.to_string();
    }
    let mut unmatched = value;
    let mut names = Vec::new();
    if bitflags {
        for (name, v) in choices {
            if *v != 0 && unmatched & v == *v {
                names.push(*name);
                unmatched &= !v;
            }
        }
    }
    if names.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        names.join(" ")
    }
}

/// Redis's `numericParseString`: memory units first, then a percentage, then octal, then a
/// plain integer (only for directives with no special format).
fn parse_number(arg: &[u8], format: NumFormat) -> Result<i64, String> {
    if matches!(format, NumFormat::Memory | NumFormat::MemoryOrPercent) {
        if let Some(bytes) = memtoull(arg) {
            // Stored in a C long long, as Redis does; huge values wrap negative.
            return Ok(bytes as i64);
        }
    }
    if format == NumFormat::MemoryOrPercent && arg.len() > 1 && arg.last() == Some(&b'%') {
        if let Some(percent) = string2ll(&arg[..arg.len() - 1]).filter(|p| *p >= 0) {
            return Ok(-percent);
        }
    }
    if format == NumFormat::Octal {
        let r = strtoll(arg, 8);
        if !r.overflow && r.complete {
            return Ok(r.value);
        }
    }
    if format == NumFormat::Plain {
        if let Some(v) = string2ll(arg) {
            return Ok(v);
        }
    }
    Err(match format {
        NumFormat::MemoryOrPercent => "argument must be a memory or percent value",
        NumFormat::Memory => "argument must be a memory value",
        NumFormat::Octal => "argument couldn't be parsed as an octal number",
        NumFormat::Plain => "argument couldn't be parsed into an integer",
    }
    .to_string())
}

/// Redis's `numericBoundaryCheck`.
fn check_bounds(
    v: i64,
    lower: i64,
    upper: u64,
    unsigned: bool,
    format: NumFormat,
) -> Result<i64, String> {
    if unsigned {
        let u = v as u64;
        if u > upper || u < lower as u64 {
            return Err(if format == NumFormat::Octal {
                format!(
                    "argument must be between {:o} and {upper:o} inclusive",
                    lower as u64
                )
            } else {
                format!(
                    "argument must be between {} and {upper} inclusive",
                    lower as u64
                )
            });
        }
    } else if format == NumFormat::MemoryOrPercent && v < 0 {
        if v < lower {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                -lower
            ));
        }
    } else if v > upper as i64 || v < lower {
        return Err(format!(
            "argument must be between {lower} and {} inclusive",
            upper as i64
        ));
    }
    Ok(v)
}

fn display_number(v: i64, format: NumFormat) -> String {
    match format {
        NumFormat::MemoryOrPercent if v < 0 => format!("{}%", v.unsigned_abs()),
        NumFormat::Memory | NumFormat::MemoryOrPercent => (v as u64).to_string(),
        NumFormat::Octal => format!("{:o}", v as u64),
        NumFormat::Plain => v.to_string(),
    }
}

/// `dir`: Redis chdirs, so the directory must exist; the value is then the resolved path that
/// `getcwd` would return.
fn parse_dir(args: &[Vec<u8>], cwd: &Path) -> Result<PathBuf, String> {
    let [arg] = args else {
        return Err("wrong number of arguments".to_string());
    };
    if arg.is_empty() {
        return Err("No such file or directory".to_string());
    }
    let path = cwd.join(String::from_utf8_lossy(arg).as_ref());
    let resolved = std::fs::canonicalize(&path).map_err(|e| strerror(&e))?;
    if !resolved.is_dir() {
        return Err("Not a directory".to_string());
    }
    Ok(resolved)
}

/// `save`: pairs of seconds (at least 1) and changes (at least 0); `save ""` means none.
/// While a config file is read, the first `save` line replaces the defaults and later ones add
/// to it; outside a file (CONFIG SET, or after an `include` ended, as in Redis) each replaces.
fn parse_save(
    current: &Value,
    args: &[Vec<u8>],
    ctx: &mut SetContext<'_>,
) -> Result<Vec<(i64, i64)>, String> {
    let reset = args.len() == 1 && args[0].is_empty();
    let args = if reset { &[][..] } else { args };
    let invalid = || "Invalid save parameters".to_string();
    if !args.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let mut points = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let seconds = strtoll(&pair[0], 10);
        let changes = strtoll(&pair[1], 10);
        if !seconds.complete || seconds.value < 1 || !changes.complete || changes.value < 0 {
            return Err(invalid());
        }
        // Redis keeps the change count in a C int.
        points.push((seconds.value, i64::from(changes.value as i32)));
    }
    let mut base = match current {
        Value::Save(old) if !reset => old.clone(),
        _ => Vec::new(),
    };
    if !ctx.reading_file || !*ctx.save_loaded {
        base.clear();
    }
    if ctx.reading_file {
        *ctx.save_loaded = true;
    }
    base.extend(points);
    Ok(base)
}

/// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds> ...`: all groups are
/// checked before any is applied; classes not named keep their limits.
fn parse_buffer_limits(current: &Value, args: &[Vec<u8>]) -> Result<[BufferLimit; 3], String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    let mut limits = match current {
        Value::BufferLimits(l) => *l,
        _ => BUFFER_LIMIT_DEFAULTS,
    };
    let mut updates = Vec::with_capacity(args.len() / 4);
    for group in args.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => {
                return Err(
                    "Invalid client class specified in buffer limit configuration.".to_string(),
                )
            }
        };
        let hard = memtoull(&group[1]);
        let soft = memtoull(&group[2]);
        let seconds = strtoll(&group[3], 10);
        // Redis keeps the seconds in a C int while it checks them.
        let soft_seconds = i64::from(seconds.value as i32);
        match (hard, soft) {
            (Some(hard_bytes), Some(soft_bytes)) if seconds.complete && soft_seconds >= 0 => {
                updates.push((
                    class,
                    BufferLimit {
                        hard_bytes,
                        soft_bytes,
                        soft_seconds,
                    },
                ));
            }
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .to_string(),
                )
            }
        }
    }
    for (class, limit) in updates {
        limits[class] = limit;
    }
    Ok(limits)
}

fn parse_oom_scores(args: &[Vec<u8>]) -> Result<[i64; 3], String> {
    if args.len() != 3 {
        return Err("wrong number of arguments".to_string());
    }
    let mut values = [0; 3];
    for (slot, arg) in values.iter_mut().zip(args) {
        let r = strtoll(arg, 10);
        if !r.complete || !(-2000..=2000).contains(&r.value) {
            return Err(
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                    .to_string(),
            );
        }
        *slot = r.value;
    }
    Ok(values)
}

// Keyspace-notification classes (Redis's NOTIFY_* bits) are defined once, in `server::notify`.
use crate::server::notify::{
    EVICTED as NOTIFY_EVICTED, EXPIRED as NOTIFY_EXPIRED, GENERIC as NOTIFY_GENERIC,
    HASH as NOTIFY_HASH, KEYEVENT as NOTIFY_KEYEVENT, KEYSPACE as NOTIFY_KEYSPACE,
    KEY_MISS as NOTIFY_KEY_MISS, LIST as NOTIFY_LIST, MODULE as NOTIFY_MODULE, NEW as NOTIFY_NEW,
    SET as NOTIFY_SET, STREAM as NOTIFY_STREAM, STRING as NOTIFY_STRING, ZSET as NOTIFY_ZSET,
};

/// What `A` stands for (it leaves out `m` and `n`).
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// Redis's `keyspaceEventsStringToFlags`.
pub fn notify_flags_from_str(classes: &[u8]) -> Option<u32> {
    classes.iter().try_fold(0, |flags, c| {
        let bit = match c {
            b'A' => NOTIFY_ALL,
            b'g' => NOTIFY_GENERIC,
            b'$' => NOTIFY_STRING,
            b'l' => NOTIFY_LIST,
            b's' => NOTIFY_SET,
            b'h' => NOTIFY_HASH,
            b'z' => NOTIFY_ZSET,
            b'x' => NOTIFY_EXPIRED,
            b'e' => NOTIFY_EVICTED,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b't' => NOTIFY_STREAM,
            b'm' => NOTIFY_KEY_MISS,
            b'd' => NOTIFY_MODULE,
            b'n' => NOTIFY_NEW,
            _ => return None,
        };
        Some(flags | bit)
    })
}

/// Redis's `keyspaceEventsFlagsToString`: `A` replaces the classes it covers, and then (as in
/// Redis) `n` is not printed either.
pub fn notify_flags_to_string(flags: u32) -> String {
    let mut out = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        out.push('A');
    } else {
        let classes = [
            (NOTIFY_GENERIC, 'g'),
            (NOTIFY_STRING, '$'),
            (NOTIFY_LIST, 'l'),
            (NOTIFY_SET, 's'),
            (NOTIFY_HASH, 'h'),
            (NOTIFY_ZSET, 'z'),
            (NOTIFY_EXPIRED, 'x'),
            (NOTIFY_EVICTED, 'e'),
            (NOTIFY_STREAM, 't'),
            (NOTIFY_MODULE, 'd'),
            (NOTIFY_NEW, 'n'),
        ];
        out.extend(
            classes
                .iter()
                .filter(|(bit, _)| flags & bit != 0)
                .map(|(_, c)| *c),
        );
    }
    for (bit, c) in [
        (NOTIFY_KEYSPACE, 'K'),
        (NOTIFY_KEYEVENT, 'E'),
        (NOTIFY_KEY_MISS, 'm'),
    ] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

fn parse_notify(args: &[Vec<u8>]) -> Result<u32, String> {
    let [arg] = args else {
        return Err("wrong number of arguments".to_string());
    };
    notify_flags_from_str(arg)
        .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string())
}

fn parse_bind(args: &[Vec<u8>]) -> Result<Vec<String>, String> {
    if args.len() > BIND_MAX {
        return Err("Too many bind addresses specified.".to_string());
    }
    if args.len() == 1 && args[0].is_empty() {
        return Ok(Vec::new());
    }
    Ok(args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect())
}

fn parse_replica_of(args: &[Vec<u8>]) -> Result<Option<(String, i64)>, String> {
    let [host, port] = args else {
        return Err("wrong number of arguments".to_string());
    };
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        return Ok(None);
    }
    let r = strtoll(port, 10);
    // Redis stores the port in a C int before checking it.
    let port = i64::from(r.value as i32);
    if !r.complete || !(0..=65535).contains(&port) {
        return Err("Invalid master port".to_string());
    }
    Ok(Some((String::from_utf8_lossy(host).into_owned(), port)))
}

/// Redis's `string2d`: a whole-string `strtod` that refuses blanks, NaN and out-of-range values.
fn string2d(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v: f64 = text.parse().ok()?;
    let unsigned = text.trim_start_matches(['+', '-']);
    let literal_infinity = unsigned
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("inf"));
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or_default();
    let overflowed = v.is_infinite() && !literal_infinity;
    let underflowed = v == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if v.is_nan() || overflowed || underflowed {
        return None;
    }
    Some(v)
}

fn parse_percentiles(args: &[Vec<u8>]) -> Result<Vec<f64>, String> {
    if args.len() == 1 && args[0].is_empty() {
        return Ok(Vec::new());
    }
    args.iter()
        .map(|arg| {
            let p = string2d(arg).ok_or_else(|| {
                "Invalid latency-tracking-info-percentiles parameters".to_string()
            })?;
            if !(0.0..=100.0).contains(&p) {
                return Err(
                    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                        .to_string(),
                );
            }
            Ok(p)
        })
        .collect()
}

/// `%f` with trailing zeros (and a trailing point) removed, as Redis's `trimDoubleString`.
pub fn format_percentile(p: f64) -> String {
    let text = format!("{p:.6}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::{lookup, Directive};
    use super::*;

    fn directive(name: &str) -> &'static Directive {
        lookup(name.as_bytes())
            .map(|e| e.directive())
            .expect("known directive")
    }

    fn set(name: &str, args: &[&str]) -> Result<String, String> {
        let d = directive(name);
        let cwd = Path::new("/");
        let current = Value::default_for(d, cwd);
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mut save_loaded = false;
        let mut ctx = SetContext {
            cwd,
            reading_file: false,
            save_loaded: &mut save_loaded,
        };
        Value::parse(d, &current, &args, &mut ctx).map(|v| v.display(d))
    }

    #[test]
    fn booleans() {
        assert_eq!(set("daemonize", &["YES"]), Ok("yes".into()));
        assert_eq!(
            set("daemonize", &["maybe"]),
            Err("argument must be 'yes' or 'no'".into())
        );
    }

    #[test]
    fn memory_units_and_bounds() {
        assert_eq!(set("maxmemory", &["1gb"]), Ok("1073741824".into()));
        assert_eq!(set("maxmemory", &["1K"]), Ok("1000".into()));
        assert_eq!(
            set("maxmemory", &["99999999999999999999"]),
            Ok("18446744073709551615".into())
        );
        assert_eq!(
            set("maxmemory", &["10x"]),
            Err("argument must be a memory value".into())
        );
        assert_eq!(
            set("maxmemory", &["-1"]),
            Err("argument must be a memory value".into())
        );
        assert_eq!(
            set("proto-max-bulk-len", &["1"]),
            Err("argument must be between 1048576 and 9223372036854775807 inclusive".into())
        );
        assert_eq!(
            set("hash-max-listpack-value", &["99999999999999999999"]),
            Err("argument must be between 0 and 9223372036854775807 inclusive".into())
        );
        assert_eq!(set("maxmemory-clients", &["10%"]), Ok("10%".into()));
        assert_eq!(set("maxmemory-clients", &["0%"]), Ok("0".into()));
        assert_eq!(set("maxmemory-clients", &["1mb"]), Ok("1048576".into()));
        assert_eq!(
            set("maxmemory-clients", &["101%"]),
            Err("percentage argument must be less or equal to 100".into())
        );
        assert_eq!(
            set("maxmemory-clients", &["-5"]),
            Err("argument must be a memory or percent value".into())
        );
    }

    #[test]
    fn integers() {
        assert_eq!(set("timeout", &["5"]), Ok("5".into()));
        for bad in ["+5", " 5", "05", "0x5", "abc", ""] {
            assert_eq!(
                set("timeout", &[bad]),
                Err("argument couldn't be parsed into an integer".into()),
                "{bad}"
            );
        }
        assert_eq!(
            set("timeout", &["-1"]),
            Err("argument must be between 0 and 2147483647 inclusive".into())
        );
        assert_eq!(
            set("databases", &["0"]),
            Err("argument must be between 1 and 2147483647 inclusive".into())
        );
        assert_eq!(
            set("maxclients", &["0"]),
            Err("argument must be between 1 and 4294967295 inclusive".into())
        );
        assert_eq!(
            set("socket-mark-id", &["-1"]),
            Err("argument must be between 0 and 4294967295 inclusive".into())
        );
        assert_eq!(set("list-max-ziplist-size", &["-5"]), Ok("-5".into()));
    }

    #[test]
    fn octal() {
        assert_eq!(set("unixsocketperm", &["700"]), Ok("700".into()));
        assert_eq!(
            set("unixsocketperm", &["999"]),
            Err("argument couldn't be parsed as an octal number".into())
        );
        assert_eq!(
            set("unixsocketperm", &["1000"]),
            Err("argument must be between 0 and 777 inclusive".into())
        );
    }

    #[test]
    fn enums() {
        assert_eq!(set("appendfsync", &["ALWAYS"]), Ok("always".into()));
        assert_eq!(
            set("appendfsync", &["sometimes"]),
            Err("argument(s) must be one of the following: everysec, always, no".into())
        );
        assert_eq!(set("oom-score-adj", &["relative"]), Ok("yes".into()));
        assert_eq!(
            set("loglevel", &["nothing"]),
            Err("argument(s) must be one of the following: debug, verbose, notice, warning".into())
        );
        assert_eq!(
            set("shutdown-on-sigint", &["force", "save"]),
            Ok("save force".into())
        );
        assert_eq!(
            set("shutdown-on-sigint", &["default", "now"]),
            Ok("now".into())
        );
        assert_eq!(
            set("shutdown-on-sigint", &["default"]),
            Ok("default".into())
        );
        assert_eq!(
            set("shutdown-on-sigint", &["save", "nosave"]),
            Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into())
        );
        assert_eq!(
            set("shutdown-on-sigint", &[]),
            Err(
                "argument(s) must be one of the following: default, save, nosave, now, force"
                    .into()
            )
        );
    }

    #[test]
    fn strings() {
        assert_eq!(
            set("dbfilename", &["a/b"]),
            Err("dbfilename can't be a path, just a filename".into())
        );
        assert_eq!(
            set("appendfilename", &[""]),
            Err("appendfilename can't be empty".into())
        );
        assert_eq!(
            set("appenddirname", &["a/b"]),
            Err("appenddirname can't be a path, just a dirname".into())
        );
        assert_eq!(
            set("cluster-announce-hostname", &["a_b"]),
            Err("Hostnames may only contain alphanumeric characters, hyphens or dots".into())
        );
        assert_eq!(
            set("cluster-announce-hostname", &["node-1.example"]),
            Ok("node-1.example".into())
        );
        assert_eq!(set("pidfile", &[""]), Ok(String::new()));
        assert_eq!(
            set("proc-title-template", &["{title} {port}"]),
            Ok("{title} {port}".into())
        );
        for bad in [
            "{foo}",
            "{title",
            "{server-mode}",
            "{title} {server-mode}",
            "x{",
        ] {
            assert_eq!(
                set("proc-title-template", &[bad]),
                Err("template format is invalid or contains unknown variables".into()),
                "{bad}"
            );
        }
        assert!(set("proc-title-template", &["{{literal"]).is_ok());
    }

    #[test]
    fn save_points() {
        assert_eq!(set("save", &["10", "1", "20", "2"]), Ok("10 1 20 2".into()));
        assert_eq!(set("save", &[""]), Ok(String::new()));
        assert_eq!(set("save", &[]), Ok(String::new()));
        assert_eq!(set("save", &["+10", "1"]), Ok("10 1".into()));
        for bad in [
            &["10"][..],
            &["0", "1"],
            &["a", "b"],
            &["1", "-1"],
            &["1", "2", ""],
        ] {
            assert_eq!(
                set("save", bad),
                Err("Invalid save parameters".into()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn save_lines_accumulate_only_while_reading_a_file() {
        let d = directive("save");
        let cwd = Path::new("/");
        let mut save_loaded = false;
        let mut value = Value::default_for(d, cwd);
        for line in [&["900", "1"][..], &["300", "10"]] {
            let args: Vec<Vec<u8>> = line.iter().map(|a| a.as_bytes().to_vec()).collect();
            let mut ctx = SetContext {
                cwd,
                reading_file: true,
                save_loaded: &mut save_loaded,
            };
            value = Value::parse(d, &value, &args, &mut ctx).expect("valid");
        }
        assert_eq!(value.display(d), "900 1 300 10");
        let mut ctx = SetContext {
            cwd,
            reading_file: true,
            save_loaded: &mut save_loaded,
        };
        value = Value::parse(d, &value, &[Vec::new()], &mut ctx).expect("valid");
        assert_eq!(value.display(d), "");
    }

    #[test]
    fn buffer_limits() {
        assert_eq!(
            set(
                "client-output-buffer-limit",
                &["slave", "1", "2", "3", "REPLICA", "4", "5", "6"]
            ),
            Ok("normal 0 0 0 slave 4 5 6 pubsub 33554432 8388608 60".into())
        );
        assert_eq!(
            set(
                "client-output-buffer-limit",
                &["pubsub", "1mb", "2kb", "+3"]
            ),
            Ok("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2048 3".into())
        );
        assert_eq!(
            set("client-output-buffer-limit", &["normal", "0", "0"]),
            Err("Wrong number of arguments in buffer limit configuration.".into())
        );
        assert_eq!(
            set("client-output-buffer-limit", &["master", "0", "0", "0"]),
            Err("Invalid client class specified in buffer limit configuration.".into())
        );
        assert_eq!(
            set("client-output-buffer-limit", &["normal", "1x", "0", "0"]),
            Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()
            )
        );
        assert_eq!(
            set("client-output-buffer-limit", &["normal", "1", "2", "-1"]),
            Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()
            )
        );
    }

    #[test]
    fn notify_flags_round_trip_like_redis() {
        for (input, shown) in [
            ("KEA", "AKE"),
            ("Elgx", "glxE"),
            ("An", "A"),
            ("AKEm", "AKEm"),
            ("nm", "nm"),
            ("$", "$"),
            ("", ""),
        ] {
            assert_eq!(
                set("notify-keyspace-events", &[input]),
                Ok(shown.into()),
                "{input}"
            );
        }
        assert_eq!(
            set("notify-keyspace-events", &["Q"]),
            Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
        );
        assert_eq!(
            set("notify-keyspace-events", &["a", "b"]),
            Err("wrong number of arguments".into())
        );
    }

    #[test]
    fn other_specials() {
        assert_eq!(
            set("oom-score-adj-values", &["0", "200", "+800"]),
            Ok("0 200 800".into())
        );
        assert_eq!(
            set("oom-score-adj-values", &["1", "2"]),
            Err("wrong number of arguments".into())
        );
        assert_eq!(
            set("oom-score-adj-values", &["1", "2", "3000"]),
            Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into())
        );
        assert_eq!(
            set("bind", &["127.0.0.1", "-::1"]),
            Ok("127.0.0.1 -::1".into())
        );
        assert_eq!(set("bind", &[""]), Ok(String::new()));
        let many: Vec<String> = (0..17).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            set("bind", &many),
            Err("Too many bind addresses specified.".into())
        );
        assert_eq!(set("replicaof", &["h", "6379"]), Ok("h 6379".into()));
        assert_eq!(set("replicaof", &["NO", "one"]), Ok(String::new()));
        assert_eq!(
            set("replicaof", &["h", "99999"]),
            Err("Invalid master port".into())
        );
        assert_eq!(
            set("replicaof", &["h"]),
            Err("wrong number of arguments".into())
        );
        assert_eq!(
            set(
                "latency-tracking-info-percentiles",
                &["99.9999999", "0.0000001", "1e1"]
            ),
            Ok("100 0 10".into())
        );
        assert_eq!(
            set("latency-tracking-info-percentiles", &[""]),
            Ok(String::new())
        );
        assert_eq!(
            set("latency-tracking-info-percentiles", &["101"]),
            Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into()
            )
        );
        for bad in ["abc", "nan", "1e999", " 1", "1e-999"] {
            assert_eq!(
                set("latency-tracking-info-percentiles", &[bad]),
                Err("Invalid latency-tracking-info-percentiles parameters".into()),
                "{bad}"
            );
        }
        assert_eq!(
            set("dir", &["/nonexistent/x"]),
            Err("No such file or directory".into())
        );
        assert_eq!(set("dir", &["/"]), Ok("/".into()));
    }
}
