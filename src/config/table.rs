//! The directive table: every configuration directive Redis 7.0.15 knows, in one place.
//!
//! Each entry mirrors a line of `static_configs[]` in Redis's src/config.c (plus the directives
//! 7.0.15 added after 7.0.0: `replica-ignore-disk-write-errors`, `propagation-error-behavior`,
//! `shutdown-on-sigint`, `shutdown-on-sigterm`, `socket-mark-id` and the hidden
//! `lua-enable-deprecated-api`): its name, its alias (the pre-7.0 `slave-*`, `*-ziplist-*` and
//! `lua-time-limit` spellings), its type with Redis's bounds and default, whether CONFIG SET may
//! change it, and whether rockslot acts on it today. The defaults are exactly what `CONFIG GET`
//! prints on a fresh redis-server 7.0.15 started without a config file; the unit tests compare
//! the table with a capture of that output.
//!
//! The order is Redis's declaration order. Redis itself answers CONFIG GET and appends CONFIG
//! REWRITE lines in the order of a hash table seeded randomly at each start, so no order is
//! canonical; rockslot uses this one everywhere so its replies are stable.
//!
//! One directive is rockslot's own, hidden from CONFIG GET patterns as Redis's hidden ones are:
//! `rdb-version`, the RDB version SAVE and BGSAVE write (9 by default, up to 12).
//!
//! Directives that only exist in config files (`include`, `rename-command`, `user`,
//! `loadmodule`, `sentinel`, module `name.option` lines) have no entry: the parser handles them.

/// How a string directive validates a new value, on top of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrCheck {
    None,
    /// `dbfilename`: a bare file name.
    DbFilename,
    /// `appendfilename`: a non-empty bare file name.
    AofFilename,
    /// `appenddirname`: a non-empty bare directory name.
    AofDirname,
    /// `cluster-announce-hostname`: letters, digits, `-` and `.`, under 256 bytes.
    Hostname,
    /// `proc-title-template`: balanced `{...}` naming known variables, not blank once expanded.
    ProcTitle,
}

/// How a numeric directive reads and prints its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumFormat {
    /// A plain integer parsed with `string2ll`.
    Plain,
    /// Bytes with optional units (`1k`, `1kb`, `1m`, `1mb`, `1g`, `1gb`).
    Memory,
    /// Bytes, or a percentage `N%` stored as `-N` (`maxmemory-clients`).
    MemoryOrPercent,
    /// An octal number (`unixsocketperm`).
    Octal,
}

/// Directives whose values are not a single scalar; each has its own syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyPercentiles,
}

/// A directive's type, bounds and default.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool {
        default: bool,
    },
    /// A string; `empty_is_null` makes `""` mean "unset" (which CONFIG REWRITE leaves out).
    Str {
        default: Option<&'static str>,
        empty_is_null: bool,
        check: StrCheck,
    },
    /// One of `choices` (case-insensitive); with `bitflags` several may be combined.
    Enum {
        choices: &'static [(&'static str, i32)],
        default: i32,
        bitflags: bool,
    },
    /// An integer stored as a C `long long`. `unsigned` selects Redis's unsigned bound check
    /// (its `unsigned int`, `unsigned long long` and `size_t` directives).
    Num {
        lower: i64,
        upper: u64,
        default: i64,
        unsigned: bool,
        format: NumFormat,
    },
    Special(Special),
}

/// One configuration directive.
#[derive(Debug, Clone, Copy)]
pub struct Directive {
    /// The canonical (7.0) name, lowercase.
    pub name: &'static str,
    /// The older name that still works everywhere.
    pub alias: Option<&'static str>,
    pub kind: Kind,
    /// CONFIG SET may change it (Redis's flag IMMUTABLE_CONFIG is absent).
    pub mutable: bool,
    /// CONFIG SET needs `enable-protected-configs` (Redis's PROTECTED_CONFIG).
    pub protected: bool,
    /// Left out of CONFIG GET patterns; only an exact name finds it (HIDDEN_CONFIG).
    pub hidden: bool,
    /// Takes several arguments in a config line and a space-separated list in CONFIG SET.
    pub multi_arg: bool,
    /// Its value must not appear in logs, SLOWLOG or MONITOR (SENSITIVE_CONFIG).
    pub sensitive: bool,
    /// rockslot acts on the value today; the others are stored and reported only.
    pub effective: bool,
}

const IMMUTABLE: u8 = 1;
const PROTECTED: u8 = 1 << 1;
const HIDDEN: u8 = 1 << 2;
const MULTI_ARG: u8 = 1 << 3;
const SENSITIVE: u8 = 1 << 4;
const EFFECTIVE: u8 = 1 << 5;

const fn directive(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    kind: Kind,
) -> Directive {
    Directive {
        name,
        alias,
        kind,
        mutable: flags & IMMUTABLE == 0,
        protected: flags & PROTECTED != 0,
        hidden: flags & HIDDEN != 0,
        multi_arg: flags & MULTI_ARG != 0,
        sensitive: flags & SENSITIVE != 0,
        effective: flags & EFFECTIVE != 0,
    }
}

const fn yes_no(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    default: bool,
) -> Directive {
    directive(name, alias, flags, Kind::Bool { default })
}

/// A string that stays a string when empty (Redis's ALLOW_EMPTY_STRING).
const fn text(name: &'static str, flags: u8, default: &'static str, check: StrCheck) -> Directive {
    directive(
        name,
        None,
        flags,
        Kind::Str {
            default: Some(default),
            empty_is_null: false,
            check,
        },
    )
}

/// A string with no default whose empty value means "unset" (Redis's EMPTY_STRING_IS_NULL).
const fn optional(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    check: StrCheck,
) -> Directive {
    directive(
        name,
        alias,
        flags,
        Kind::Str {
            default: None,
            empty_is_null: true,
            check,
        },
    )
}

const fn choice(
    name: &'static str,
    flags: u8,
    choices: &'static [(&'static str, i32)],
    default: i32,
) -> Directive {
    directive(
        name,
        None,
        flags,
        Kind::Enum {
            choices,
            default,
            bitflags: flags & MULTI_ARG != 0,
        },
    )
}

/// A signed integer (Redis's `int`, `long`, `long long`, `ssize_t`, `time_t`, `off_t`).
const fn signed(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    bounds: (i64, i64),
    default: i64,
    format: NumFormat,
) -> Directive {
    let (lower, upper) = bounds;
    directive(
        name,
        alias,
        flags,
        Kind::Num {
            lower,
            upper: upper as u64,
            default,
            unsigned: false,
            format,
        },
    )
}

/// An unsigned integer (Redis's `unsigned int`, `unsigned long long`, `size_t`).
const fn unsigned(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    bounds: (i64, u64),
    default: i64,
    format: NumFormat,
) -> Directive {
    let (lower, upper) = bounds;
    directive(
        name,
        alias,
        flags,
        Kind::Num {
            lower,
            upper,
            default,
            unsigned: true,
            format,
        },
    )
}

const fn special(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    which: Special,
) -> Directive {
    directive(name, alias, flags, Kind::Special(which))
}

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: u64 = u32::MAX as u64;
const LONG_MAX: i64 = i64::MAX;
const MB: i64 = 1024 * 1024;

use NumFormat::{Memory, MemoryOrPercent, Octal, Plain};

pub const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
/// syslog(3) facility codes, as `LOG_USER` and `LOG_LOCAL0..7`.
pub const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
pub const REPL_DISKLESS_LOAD: &[(&str, i32)] =
    &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
pub const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
pub const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 1),
    ("volatile-lfu", 2),
    ("volatile-random", 3),
    ("volatile-ttl", 4),
    ("allkeys-lru", 5),
    ("allkeys-lfu", 6),
    ("allkeys-random", 7),
    ("noeviction", 0),
];
pub const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 2), ("always", 1), ("no", 0)];
/// `yes` and `relative` are the same setting; CONFIG GET prints the first, `yes`.
pub const OOM_SCORE_ADJ: &[(&str, i32)] =
    &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
pub const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
pub const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
pub const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
pub const ENDPOINT_TYPE: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
pub const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
pub const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] =
    &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
/// Bit flags; `save` and `nosave` exclude each other.
pub const SHUTDOWN_ON_SIGNAL: &[(&str, i32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
pub const SHUTDOWN_SAVE: i32 = 1;
pub const SHUTDOWN_NOSAVE: i32 = 2;

/// `enable-protected-configs` values that let a client change protected directives.
pub const PROTECTED_ACTION_YES: i32 = 1;
pub const PROTECTED_ACTION_LOCAL: i32 = 2;

/// Every directive, in Redis's declaration order.
pub static DIRECTIVES: &[Directive] = &[
    // Booleans.
    yes_no("rdbchecksum", None, IMMUTABLE, true),
    yes_no("daemonize", None, IMMUTABLE | EFFECTIVE, false),
    yes_no("io-threads-do-reads", None, IMMUTABLE, false),
    yes_no("always-show-logo", None, IMMUTABLE, false),
    yes_no("protected-mode", None, EFFECTIVE, true),
    yes_no("rdbcompression", None, 0, true),
    yes_no("rdb-del-sync-files", None, 0, false),
    yes_no("activerehashing", None, 0, true),
    yes_no("stop-writes-on-bgsave-error", None, 0, true),
    yes_no("set-proc-title", None, IMMUTABLE, true),
    yes_no("dynamic-hz", None, 0, true),
    yes_no("lazyfree-lazy-eviction", None, 0, false),
    yes_no("lazyfree-lazy-expire", None, EFFECTIVE, false),
    yes_no("lazyfree-lazy-server-del", None, EFFECTIVE, false),
    yes_no("lazyfree-lazy-user-del", None, 0, false),
    yes_no("lazyfree-lazy-user-flush", None, 0, false),
    yes_no("repl-disable-tcp-nodelay", None, 0, false),
    yes_no("repl-diskless-sync", None, 0, true),
    yes_no("aof-rewrite-incremental-fsync", None, 0, true),
    yes_no("no-appendfsync-on-rewrite", None, EFFECTIVE, false),
    yes_no("cluster-require-full-coverage", None, 0, true),
    yes_no("rdb-save-incremental-fsync", None, 0, true),
    yes_no("aof-load-truncated", None, EFFECTIVE, true),
    yes_no("aof-use-rdb-preamble", None, EFFECTIVE, true),
    yes_no("aof-timestamp-enabled", None, EFFECTIVE, false),
    yes_no(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        0,
        false,
    ),
    yes_no("replica-lazy-flush", Some("slave-lazy-flush"), 0, false),
    yes_no(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        EFFECTIVE,
        true,
    ),
    yes_no(
        "replica-read-only",
        Some("slave-read-only"),
        EFFECTIVE,
        true,
    ),
    yes_no(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        0,
        true,
    ),
    yes_no("jemalloc-bg-thread", None, 0, true),
    yes_no("activedefrag", None, 0, false),
    yes_no("syslog-enabled", None, IMMUTABLE, false),
    yes_no("cluster-enabled", None, IMMUTABLE | EFFECTIVE, false),
    yes_no("appendonly", None, EFFECTIVE, false),
    yes_no("cluster-allow-reads-when-down", None, 0, false),
    yes_no("cluster-allow-pubsubshard-when-down", None, 0, true),
    yes_no("crash-log-enabled", None, 0, true),
    yes_no("crash-memcheck-enabled", None, 0, true),
    yes_no("use-exit-on-panic", None, HIDDEN, false),
    yes_no("disable-thp", None, IMMUTABLE, true),
    yes_no("cluster-allow-replica-migration", None, 0, true),
    yes_no("replica-announced", None, 0, true),
    yes_no("latency-tracking", None, 0, true),
    yes_no("aof-disable-auto-gc", None, EFFECTIVE, false),
    yes_no("replica-ignore-disk-write-errors", None, 0, false),
    yes_no("lua-enable-deprecated-api", None, IMMUTABLE | HIDDEN, false),
    // rockslot's own: the RDB version SAVE and BGSAVE write (9: every Redis from 6.0 loads it;
    // 12: Redis 7.4's, the first that keeps hash field expire times). Hidden, so CONFIG GET
    // patterns answer exactly as Redis 7.0.15 does.
    signed(
        "rdb-version",
        None,
        HIDDEN | EFFECTIVE,
        (9, 12),
        9,
        NumFormat::Plain,
    ),
    // Strings.
    text("aclfile", IMMUTABLE, "", StrCheck::None),
    optional("unixsocket", None, IMMUTABLE, StrCheck::None),
    optional("pidfile", None, IMMUTABLE | EFFECTIVE, StrCheck::None),
    optional(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        0,
        StrCheck::None,
    ),
    optional("masteruser", None, SENSITIVE | EFFECTIVE, StrCheck::None),
    optional("cluster-announce-ip", None, 0, StrCheck::None),
    text(
        "cluster-config-file",
        IMMUTABLE,
        "nodes.conf",
        StrCheck::None,
    ),
    optional("cluster-announce-hostname", None, 0, StrCheck::Hostname),
    text("syslog-ident", IMMUTABLE, "redis", StrCheck::None),
    text(
        "dbfilename",
        PROTECTED | EFFECTIVE,
        "dump.rdb",
        StrCheck::DbFilename,
    ),
    text(
        "appendfilename",
        IMMUTABLE | EFFECTIVE,
        "appendonly.aof",
        StrCheck::AofFilename,
    ),
    text(
        "appenddirname",
        IMMUTABLE | EFFECTIVE,
        "appendonlydir",
        StrCheck::AofDirname,
    ),
    optional("server_cpulist", None, IMMUTABLE, StrCheck::None),
    optional("bio_cpulist", None, IMMUTABLE, StrCheck::None),
    optional("aof_rewrite_cpulist", None, IMMUTABLE, StrCheck::None),
    optional("bgsave_cpulist", None, IMMUTABLE, StrCheck::None),
    text("ignore-warnings", 0, "", StrCheck::None),
    text(
        "proc-title-template",
        0,
        "{title} {listen-addr} {server-mode}",
        StrCheck::ProcTitle,
    ),
    optional("bind-source-addr", None, 0, StrCheck::None),
    text("logfile", IMMUTABLE | EFFECTIVE, "", StrCheck::None),
    optional("masterauth", None, SENSITIVE | EFFECTIVE, StrCheck::None),
    optional("requirepass", None, SENSITIVE | EFFECTIVE, StrCheck::None),
    // Enumerations.
    choice("supervised", IMMUTABLE, SUPERVISED, 0),
    choice("syslog-facility", IMMUTABLE, SYSLOG_FACILITY, 128),
    choice("repl-diskless-load", 0, REPL_DISKLESS_LOAD, 0),
    choice("loglevel", EFFECTIVE, LOGLEVEL, 2),
    choice("maxmemory-policy", 0, MAXMEMORY_POLICY, 0),
    choice("appendfsync", EFFECTIVE, APPENDFSYNC, 2),
    choice("oom-score-adj", 0, OOM_SCORE_ADJ, 0),
    choice("acl-pubsub-default", 0, ACL_PUBSUB_DEFAULT, 0),
    choice("sanitize-dump-payload", 0, SANITIZE_DUMP_PAYLOAD, 0),
    choice("enable-protected-configs", IMMUTABLE, PROTECTED_ACTION, 0),
    choice(
        "enable-debug-command",
        IMMUTABLE | EFFECTIVE,
        PROTECTED_ACTION,
        0,
    ),
    choice("enable-module-command", IMMUTABLE, PROTECTED_ACTION, 0),
    choice("cluster-preferred-endpoint-type", 0, ENDPOINT_TYPE, 0),
    choice(
        "propagation-error-behavior",
        0,
        PROPAGATION_ERROR_BEHAVIOR,
        0,
    ),
    choice("shutdown-on-sigint", MULTI_ARG, SHUTDOWN_ON_SIGNAL, 0),
    choice("shutdown-on-sigterm", MULTI_ARG, SHUTDOWN_ON_SIGNAL, 0),
    // Integers (C int).
    signed(
        "databases",
        None,
        IMMUTABLE | EFFECTIVE,
        (1, INT_MAX),
        16,
        Plain,
    ),
    signed("port", None, EFFECTIVE, (0, 65535), 6379, Plain),
    signed(
        "io-threads",
        None,
        IMMUTABLE | EFFECTIVE,
        (1, 128),
        1,
        Plain,
    ),
    signed(
        "auto-aof-rewrite-percentage",
        None,
        EFFECTIVE,
        (0, INT_MAX),
        100,
        Plain,
    ),
    signed(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        0,
        (0, INT_MAX),
        10,
        Plain,
    ),
    signed(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        0,
        (INT_MIN, INT_MAX),
        -2,
        Plain,
    ),
    signed("tcp-keepalive", None, EFFECTIVE, (0, INT_MAX), 300, Plain),
    signed("cluster-migration-barrier", None, 0, (0, INT_MAX), 1, Plain),
    signed("active-defrag-cycle-min", None, 0, (1, 99), 1, Plain),
    signed("active-defrag-cycle-max", None, 0, (1, 99), 25, Plain),
    signed(
        "active-defrag-threshold-lower",
        None,
        0,
        (0, 1000),
        10,
        Plain,
    ),
    signed(
        "active-defrag-threshold-upper",
        None,
        0,
        (0, 1000),
        100,
        Plain,
    ),
    signed("lfu-log-factor", None, 0, (0, INT_MAX), 10, Plain),
    signed("lfu-decay-time", None, 0, (0, INT_MAX), 1, Plain),
    signed(
        "replica-priority",
        Some("slave-priority"),
        0,
        (0, INT_MAX),
        100,
        Plain,
    ),
    signed("repl-diskless-sync-delay", None, 0, (0, INT_MAX), 5, Plain),
    signed("maxmemory-samples", None, 0, (1, INT_MAX), 5, Plain),
    signed("maxmemory-eviction-tenacity", None, 0, (0, 100), 10, Plain),
    signed("timeout", None, EFFECTIVE, (0, INT_MAX), 0, Plain),
    signed(
        "replica-announce-port",
        Some("slave-announce-port"),
        0,
        (0, 65535),
        0,
        Plain,
    ),
    signed("tcp-backlog", None, IMMUTABLE, (0, INT_MAX), 511, Plain),
    signed("cluster-port", None, IMMUTABLE, (0, 65535), 0, Plain),
    signed("cluster-announce-bus-port", None, 0, (0, 65535), 0, Plain),
    signed("cluster-announce-port", None, 0, (0, 65535), 0, Plain),
    signed("cluster-announce-tls-port", None, 0, (0, 65535), 0, Plain),
    signed("repl-timeout", None, 0, (1, INT_MAX), 60, Plain),
    signed(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        0,
        (1, INT_MAX),
        10,
        Plain,
    ),
    signed("list-compress-depth", None, 0, (0, INT_MAX), 0, Plain),
    signed(
        "rdb-key-save-delay",
        None,
        HIDDEN,
        (INT_MIN, INT_MAX),
        0,
        Plain,
    ),
    signed("key-load-delay", None, HIDDEN, (INT_MIN, INT_MAX), 0, Plain),
    signed("active-expire-effort", None, 0, (1, 10), 1, Plain),
    signed("hz", None, EFFECTIVE, (0, INT_MAX), 10, Plain),
    signed(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        EFFECTIVE,
        (0, INT_MAX),
        0,
        Plain,
    ),
    signed(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        EFFECTIVE,
        (0, INT_MAX),
        10,
        Plain,
    ),
    signed("watchdog-period", None, HIDDEN, (0, INT_MAX), 0, Plain),
    signed("shutdown-timeout", None, 0, (0, INT_MAX), 10, Plain),
    signed(
        "repl-diskless-sync-max-replicas",
        None,
        0,
        (0, INT_MAX),
        0,
        Plain,
    ),
    // Unsigned int.
    unsigned("maxclients", None, EFFECTIVE, (1, UINT_MAX), 10000, Plain),
    unsigned("unixsocketperm", None, IMMUTABLE, (0, 0o777), 0, Octal),
    unsigned("socket-mark-id", None, IMMUTABLE, (0, UINT_MAX), 0, Plain),
    // Unsigned long (Redis checks these bounds as signed).
    signed(
        "active-defrag-max-scan-fields",
        None,
        0,
        (1, LONG_MAX),
        1000,
        Plain,
    ),
    signed("slowlog-max-len", None, 0, (0, LONG_MAX), 128, Plain),
    signed("acllog-max-len", None, 0, (0, LONG_MAX), 128, Plain),
    // Long long.
    signed(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        0,
        (0, LONG_MAX),
        5000,
        Plain,
    ),
    signed("cluster-node-timeout", None, 0, (0, LONG_MAX), 15000, Plain),
    signed(
        "slowlog-log-slower-than",
        None,
        0,
        (-1, LONG_MAX),
        10000,
        Plain,
    ),
    signed(
        "latency-monitor-threshold",
        None,
        0,
        (0, LONG_MAX),
        0,
        Plain,
    ),
    signed(
        "proto-max-bulk-len",
        None,
        EFFECTIVE,
        (MB, LONG_MAX),
        512 * MB,
        Memory,
    ),
    signed(
        "stream-node-max-entries",
        None,
        0,
        (0, LONG_MAX),
        100,
        Plain,
    ),
    signed("repl-backlog-size", None, 0, (1, LONG_MAX), MB, Memory),
    // Unsigned long long.
    unsigned("maxmemory", None, 0, (0, u64::MAX), 0, Memory),
    unsigned(
        "cluster-link-sendbuf-limit",
        None,
        0,
        (0, u64::MAX),
        0,
        Memory,
    ),
    // size_t.
    unsigned(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        0,
        (0, LONG_MAX as u64),
        512,
        Plain,
    ),
    unsigned(
        "set-max-intset-entries",
        None,
        0,
        (0, LONG_MAX as u64),
        512,
        Plain,
    ),
    unsigned(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        0,
        (0, LONG_MAX as u64),
        128,
        Plain,
    ),
    unsigned(
        "active-defrag-ignore-bytes",
        None,
        0,
        (1, LONG_MAX as u64),
        100 * MB,
        Memory,
    ),
    unsigned(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        0,
        (0, LONG_MAX as u64),
        64,
        Memory,
    ),
    unsigned(
        "stream-node-max-bytes",
        None,
        0,
        (0, LONG_MAX as u64),
        4096,
        Memory,
    ),
    unsigned(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        0,
        (0, LONG_MAX as u64),
        64,
        Memory,
    ),
    unsigned(
        "hll-sparse-max-bytes",
        None,
        0,
        (0, LONG_MAX as u64),
        3000,
        Memory,
    ),
    unsigned(
        "tracking-table-max-keys",
        None,
        0,
        (0, LONG_MAX as u64),
        1_000_000,
        Plain,
    ),
    unsigned(
        "client-query-buffer-limit",
        None,
        EFFECTIVE,
        (MB, LONG_MAX as u64),
        1024 * MB,
        Memory,
    ),
    // ssize_t, time_t, off_t.
    signed(
        "maxmemory-clients",
        None,
        0,
        (-100, LONG_MAX),
        0,
        MemoryOrPercent,
    ),
    signed("repl-backlog-ttl", None, 0, (0, LONG_MAX), 3600, Plain),
    signed(
        "auto-aof-rewrite-min-size",
        None,
        EFFECTIVE,
        (0, LONG_MAX),
        64 * MB,
        Memory,
    ),
    signed(
        "loading-process-events-interval-bytes",
        None,
        HIDDEN,
        (1024, INT_MAX),
        2 * MB,
        Plain,
    ),
    // TLS (Debian builds Redis with TLS support).
    signed("tls-port", None, 0, (0, 65535), 0, Plain),
    signed(
        "tls-session-cache-size",
        None,
        0,
        (0, INT_MAX),
        20 * 1024,
        Plain,
    ),
    signed(
        "tls-session-cache-timeout",
        None,
        0,
        (0, INT_MAX),
        300,
        Plain,
    ),
    yes_no("tls-cluster", None, 0, false),
    yes_no("tls-replication", None, 0, false),
    choice("tls-auth-clients", 0, TLS_AUTH_CLIENTS, 1),
    yes_no("tls-prefer-server-ciphers", None, 0, false),
    yes_no("tls-session-caching", None, 0, true),
    optional("tls-cert-file", None, 0, StrCheck::None),
    optional("tls-key-file", None, 0, StrCheck::None),
    optional("tls-key-file-pass", None, 0, StrCheck::None),
    optional("tls-client-cert-file", None, 0, StrCheck::None),
    optional("tls-client-key-file", None, 0, StrCheck::None),
    optional("tls-client-key-file-pass", None, 0, StrCheck::None),
    optional("tls-dh-params-file", None, 0, StrCheck::None),
    optional("tls-ca-cert-file", None, 0, StrCheck::None),
    optional("tls-ca-cert-dir", None, 0, StrCheck::None),
    optional("tls-protocols", None, 0, StrCheck::None),
    optional("tls-ciphers", None, 0, StrCheck::None),
    optional("tls-ciphersuites", None, 0, StrCheck::None),
    // Special syntax.
    special("dir", None, PROTECTED | EFFECTIVE, Special::Dir),
    special("save", None, MULTI_ARG, Special::Save),
    special(
        "client-output-buffer-limit",
        None,
        MULTI_ARG,
        Special::ClientOutputBufferLimit,
    ),
    special(
        "oom-score-adj-values",
        None,
        MULTI_ARG,
        Special::OomScoreAdjValues,
    ),
    special(
        "notify-keyspace-events",
        None,
        EFFECTIVE,
        Special::NotifyKeyspaceEvents,
    ),
    special("bind", None, MULTI_ARG | EFFECTIVE, Special::Bind),
    special(
        "replicaof",
        Some("slaveof"),
        IMMUTABLE | MULTI_ARG | EFFECTIVE,
        Special::ReplicaOf,
    ),
    special(
        "latency-tracking-info-percentiles",
        None,
        MULTI_ARG,
        Special::LatencyPercentiles,
    ),
];

/// A registered name: the directive's index in [`DIRECTIVES`] and whether the name used was
/// its alias. Redis registers aliases as separate entries, which is visible: CONFIG GET
/// patterns list both names, and CONFIG SET accepts a name and its alias in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    pub index: usize,
    pub alias: bool,
}

impl Entry {
    pub fn directive(self) -> &'static Directive {
        &DIRECTIVES[self.index]
    }

    /// The registered name (the alias for an alias entry).
    pub fn name(self) -> &'static str {
        let d = self.directive();
        match (self.alias, d.alias) {
            (true, Some(alias)) => alias,
            _ => d.name,
        }
    }
}

/// Finds a directive by canonical name or alias, case-insensitively. Commands read tunables
/// by name on hot paths, so this is a hash lookup (names and aliases are lowercase).
pub fn lookup(name: &[u8]) -> Option<Entry> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static [u8], Entry>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut index = std::collections::HashMap::new();
        for (i, d) in DIRECTIVES.iter().enumerate() {
            index.entry(d.name.as_bytes()).or_insert(Entry {
                index: i,
                alias: false,
            });
        }
        for (i, d) in DIRECTIVES.iter().enumerate() {
            if let Some(alias) = d.alias {
                index.entry(alias.as_bytes()).or_insert(Entry {
                    index: i,
                    alias: true,
                });
            }
        }
        index
    });
    match index.get(name) {
        Some(entry) => Some(*entry),
        None if name.iter().any(u8::is_ascii_uppercase) => {
            index.get(name.to_ascii_lowercase().as_slice()).copied()
        }
        None => None,
    }
}

/// Every registered name in table order, each alias right after its directive.
pub fn entries() -> impl Iterator<Item = Entry> {
    DIRECTIVES.iter().enumerate().flat_map(|(index, d)| {
        let alias = d.alias.map(|_| Entry { index, alias: true });
        std::iter::once(Entry {
            index,
            alias: false,
        })
        .chain(alias)
    })
}

/// The index of a canonical name; only for names this module knows exist.
pub fn index_of(name: &str) -> Option<usize> {
    DIRECTIVES.iter().position(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn lookup_finds_every_name_and_alias_in_any_case() {
        for (i, d) in DIRECTIVES.iter().enumerate() {
            assert_eq!(
                d.name,
                d.name.to_ascii_lowercase(),
                "lookup's index wants lowercase"
            );
            assert_eq!(lookup(d.name.as_bytes()).map(|e| e.index), Some(i));
            let upper = d.name.to_ascii_uppercase();
            assert_eq!(
                lookup(upper.as_bytes()).map(|e| (e.index, e.alias)),
                Some((i, false))
            );
            if let Some(alias) = d.alias {
                assert_eq!(alias, alias.to_ascii_lowercase());
                assert_eq!(
                    lookup(alias.as_bytes()),
                    Some(Entry {
                        index: i,
                        alias: true
                    })
                );
            }
        }
        assert_eq!(lookup(b"no-such-directive"), None);
    }

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut seen = HashSet::new();
        for entry in entries() {
            let name = entry.name();
            assert_eq!(name, name.to_ascii_lowercase());
            assert!(seen.insert(name), "duplicate {name}");
        }
    }

    #[test]
    fn lookup_finds_names_and_aliases_case_insensitively() {
        let e = lookup(b"SLAVEOF").expect("slaveof");
        assert!(e.alias);
        assert_eq!(e.directive().name, "replicaof");
        assert_eq!(e.name(), "slaveof");
        let e = lookup(b"Hash-Max-Listpack-Entries").expect("hash");
        assert!(!e.alias);
        assert_eq!(
            lookup(b"lua-time-limit").map(|e| e.directive().name),
            Some("busy-reply-threshold")
        );
        assert!(lookup(b"include").is_none());
        assert!(lookup(b"nope").is_none());
    }

    #[test]
    fn effective_directives_are_the_agreed_list() {
        let effective: HashSet<&str> = DIRECTIVES
            .iter()
            .filter(|d| d.effective)
            .map(|d| d.name)
            .collect();
        let expected: HashSet<&str> = [
            "rdb-version",
            "port",
            "bind",
            "dir",
            "logfile",
            "loglevel",
            "pidfile",
            "daemonize",
            "databases",
            "requirepass",
            "protected-mode",
            "maxclients",
            "timeout",
            "tcp-keepalive",
            "proto-max-bulk-len",
            "client-query-buffer-limit",
            "appendfsync",
            "hz",
            "dbfilename",
            "cluster-enabled",
            "enable-debug-command",
            "io-threads",
            "notify-keyspace-events",
            "appendonly",
            "aof-load-truncated",
            "appendfilename",
            "appenddirname",
            "auto-aof-rewrite-percentage",
            "auto-aof-rewrite-min-size",
            "aof-timestamp-enabled",
            "aof-disable-auto-gc",
            "no-appendfsync-on-rewrite",
            "lazyfree-lazy-expire",
            "lazyfree-lazy-server-del",
            "replicaof",
            "replica-read-only",
            "replica-serve-stale-data",
            "masterauth",
            "masteruser",
            "min-replicas-to-write",
            "min-replicas-max-lag",
            "aof-use-rdb-preamble",
        ]
        .into_iter()
        .collect();
        assert_eq!(effective, expected);
    }

    #[test]
    fn immutable_directives_match_redis() {
        // Captured from redis-server 7.0.15: `CONFIG SET <name> <current value>` answers
        // "can't set immutable config" for exactly these names (aliases included).
        let immutable: HashSet<&str> = entries()
            .filter(|e| !e.directive().mutable)
            .map(Entry::name)
            .collect();
        let expected: HashSet<&str> = [
            "aclfile",
            "always-show-logo",
            "aof_rewrite_cpulist",
            "appenddirname",
            "appendfilename",
            "bgsave_cpulist",
            "bio_cpulist",
            "cluster-config-file",
            "cluster-enabled",
            "cluster-port",
            "daemonize",
            "databases",
            "disable-thp",
            "enable-debug-command",
            "enable-module-command",
            "enable-protected-configs",
            "io-threads",
            "io-threads-do-reads",
            "logfile",
            "pidfile",
            "rdbchecksum",
            "replicaof",
            "server_cpulist",
            "set-proc-title",
            "slaveof",
            "socket-mark-id",
            "supervised",
            "syslog-enabled",
            "syslog-facility",
            "syslog-ident",
            "tcp-backlog",
            "unixsocket",
            "unixsocketperm",
            "lua-enable-deprecated-api",
        ]
        .into_iter()
        .collect();
        assert_eq!(immutable, expected);
        let protected: HashSet<&str> = DIRECTIVES
            .iter()
            .filter(|d| d.protected)
            .map(|d| d.name)
            .collect();
        assert_eq!(protected, ["dir", "dbfilename"].into_iter().collect());
    }
}
