//! DEBUG: the testing and introspection command. rockslot implements the subcommands test suites
//! and client libraries rely on: SLEEP, SET-ACTIVE-EXPIRE, OBJECT, POPULATE, DIGEST and
//! DIGEST-VALUE (see `digest`), RELOAD, ERROR, LOG and HELP. Redis's other subcommands (they
//! inspect or crash Redis's own C structures) answer a clear "not supported" error, and names Redis does not know get Redis's own unknown-subcommand error.
//!
//! Like Redis, DEBUG is refused unless `enable-debug-command` is `yes`, or `local` and the client
//! connects from 127.0.0.1 or ::1. DEBUG SLEEP stops the whole server, as in Redis: it sleeps
//! while holding the execution lock, so no other command runs meanwhile.
//!
//! DEBUG OBJECT reconstructs Redis's report from the stored value, with the rules OBJECT ENCODING
//! and OBJECT REFCOUNT use (see `keys/object.rs`). `serializedlength` is the size of the value's
//! RDB encoding for strings, computed as Redis's `rdbSavedObjectLen` does except that values over
//! 20 bytes are counted uncompressed (Redis tries LZF on them); for collections, whose elements
//! are not read, it is 0. `lru` is the current LRU clock and `lru_seconds_idle` is 0, because no
//! per-key access time is kept. DEBUG OBJECT finds the key without expiring it, like Redis's
//! `dictFind`.

mod digest;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use engine::{Kind, Meta};
use formats::resp::Reply;

use super::args::parse_i64;
use super::client::{help_reply, subcommand_syntax_error};
use super::info::lru_clock;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::persistence::rdb_load;
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[("debug", debug)];

/// DEBUG HELP, line for line as Redis 7.0.15 prints it.
const HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "HELP",
    "    Prints this help.",
];

/// Redis 7.0 DEBUG subcommands rockslot does not implement.
const UNSUPPORTED: &[&str] = &[
    "aof-flush-sleep",
    "assert",
    "change-repl-id",
    "client-eviction",
    "clusterlink",
    "config-rewrite-force-all",
    "crash-and-recover",
    "drop-cluster-packet-filter",
    "htstats",
    "htstats-key",
    "leak",
    "listpack",
    "loadaof",
    "mallctl",
    "mallctl-str",
    "oom",
    "panic",
    "pause-cron",
    "protocol",
    "quicklist",
    "quicklist-packed-threshold",
    "replicate",
    "replybuffer",
    "restart",
    "sdslen",
    "segfault",
    "set-skip-checksum-validation",
    "stringmatch-test",
    "structsize",
];

/// Integers 0..OBJ_SHARED_INTEGERS are shared objects in Redis.
const SHARED_INTEGERS: i64 = 10_000;
/// POPULATE formats key names into a 128-byte C buffer, so names stop at 127 bytes.
const POPULATE_NAME_MAX: usize = 127;

fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    check_enabled(ctx)?;
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"help", 2) => Ok(help_reply(HELP)),
        (b"sleep", 3) => sleep(&args[2]),
        (b"reload", _) => reload(ctx, args),
        (b"set-active-expire", 3) => {
            // Redis reads the flag with atoi: any non-zero number enables, anything else disables.
            let enabled = atoi_is_nonzero(&args[2]);
            ctx.server
                .tunables
                .active_expire
                .store(enabled, Ordering::Relaxed);
            Ok(Reply::ok())
        }
        (b"object", 3) => object(ctx, &args[2]),
        (b"populate", 3..=5) => populate(ctx, args),
        (b"digest", 2) => digest::dataset_reply(ctx),
        (b"digest-value", _) => digest::values_reply(ctx, &args[2..]),
        (b"error", 3) => {
            // Sent as given, with newlines blanked so the error stays one protocol line.
            let text: String = String::from_utf8_lossy(&args[2])
                .chars()
                .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                .collect();
            Ok(Reply::Error(text))
        }
        (b"log", 3) => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
            Ok(Reply::ok())
        }
        (name, _) if UNSUPPORTED.iter().any(|u| u.as_bytes() == name) => {
            Err(CommandError::other(format!(
                "ERR DEBUG {} is not supported by rockslot",
                String::from_utf8_lossy(&args[1]).to_ascii_uppercase()
            )))
        }
        _ => Err(subcommand_syntax_error(args)),
    }
}

/// Redis's protected-command rule for DEBUG (`enable-debug-command`).
fn check_enabled(ctx: &Ctx) -> Result<(), CommandError> {
    let setting = ctx.server.config.read().get_str("enable-debug-command");
    if setting == "yes" || (setting == "local" && ctx.client.is_local()) {
        return Ok(());
    }
    Err(CommandError::other(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it \
         from a local connection, otherwise you need to set this option in the configuration file, and then \
         restart the server.",
    ))
}

/// DEBUG SLEEP seconds: the argument is read like C's `strtod` (the longest numeric prefix, 0 when
/// there is none), so Redis's "DEBUG SLEEP abc" is an immediate OK here too.
fn sleep(arg: &[u8]) -> CommandResult {
    let seconds = strtod_prefix(arg);
    if let Ok(duration) = Duration::try_from_secs_f64(seconds) {
        std::thread::sleep(duration);
    }
    Ok(Reply::ok())
}

/// Whether C's `atoi` reads a non-zero number: after blanks and one sign, a leading run of
/// digits that is not all zeros.
fn atoi_is_nonzero(arg: &[u8]) -> bool {
    let start = arg
        .iter()
        .position(|b| !C_SPACE.contains(b))
        .unwrap_or(arg.len());
    let rest = &arg[start..];
    let digits = rest
        .strip_prefix(b"-")
        .or_else(|| rest.strip_prefix(b"+"))
        .unwrap_or(rest);
    digits
        .iter()
        .take_while(|d| d.is_ascii_digit())
        .any(|&d| d != b'0')
}

/// C's `isspace` in the "C" locale.
const C_SPACE: &[u8] = b" \t\n\x0b\x0c\r";

/// The value of the longest prefix of `arg` that C's `strtod` would read as a decimal number.
fn strtod_prefix(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let text = text.trim_start_matches(|c: char| c.is_ascii() && C_SPACE.contains(&(c as u8)));
    let bytes = text.as_bytes();
    let digits_from = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut end = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let int_end = digits_from(end);
    let mut has_digits = int_end > end;
    end = int_end;
    if bytes.get(end) == Some(&b'.') {
        let frac_end = digits_from(end + 1);
        has_digits |= frac_end > end + 1;
        end = frac_end;
    }
    if !has_digits {
        return 0.0;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exp_end = digits_from(end + 1 + sign);
        if exp_end > end + 1 + sign {
            end = exp_end;
        }
    }
    text[..end].parse().unwrap_or(0.0)
}

/// The integer a string value is stored as when Redis gives it the "int" encoding.
fn int_value(value: &[u8]) -> Option<i64> {
    if value.len() > 20 {
        return None;
    }
    parse_i64(value).ok()
}

/// Bytes of an RDB length prefix (`rdbSaveLen`).
fn rdb_len_bytes(len: u64) -> u64 {
    match len {
        0..0x40 => 1,
        0x40..0x4000 => 2,
        _ if len <= u64::from(u32::MAX) => 5,
        _ => 9,
    }
}

/// Bytes of a string in an RDB file, without LZF compression: integers that fit 32 bits take the
/// integer encodings (`rdbEncodeInteger`), everything else a length prefix and the bytes.
fn string_serialized_len(value: &[u8]) -> u64 {
    match int_value(value) {
        Some(v) if i8::try_from(v).is_ok() => 2,
        Some(v) if i16::try_from(v).is_ok() => 3,
        Some(v) if i32::try_from(v).is_ok() => 5,
        _ => rdb_len_bytes(value.len() as u64) + value.len() as u64,
    }
}

/// DEBUG OBJECT key
fn object(ctx: &mut Ctx, key: &[u8]) -> CommandResult {
    let db = ctx.db();
    let Some(meta) = ctx.txn.get(db, key)?.cloned() else {
        return Err(CommandError::NoSuchKey);
    };
    let encoding = crate::commands::keys::object::value_encoding(ctx, &meta);
    let (refcount, serialized) = match meta.kind {
        Kind::String => {
            // Redis shares the integers 0..9999 unless an LRU/LFU policy with a memory limit
            // needs per-object access data.
            let policy = ctx.server.config.read().get_str("maxmemory-policy");
            let limited = ctx.server.config.read().get_int("maxmemory") != 0;
            let sharing = !(limited && (policy.ends_with("-lru") || policy.ends_with("-lfu")));
            let shared =
                int_value(&meta.body).is_some_and(|v| (0..SHARED_INTEGERS).contains(&v)) && sharing;
            (
                if shared { i64::from(i32::MAX) } else { 1 },
                string_serialized_len(&meta.body),
            )
        }
        _ => (1, 0),
    };
    let mut text = format!(
        "Value at:{:p} refcount:{refcount} encoding:{encoding} serializedlength:{serialized} lru:{} \
         lru_seconds_idle:0",
        &meta,
        lru_clock()
    );
    if meta.kind == Kind::List {
        let listpack_max = ctx.server.config.read().get_int("list-max-listpack-size");
        text.push_str(&format!(
            " ql_nodes:1 ql_avg_node:{:.2} ql_listpack_max:{listpack_max} ql_compressed:0 ql_uncompressed_size:0",
            meta.count as f64
        ));
    }
    Ok(Reply::Simple(text.into()))
}

/// `getPositiveLongFromObjectOrReply` with Redis's default message.
fn non_negative(arg: &[u8]) -> Result<u64, CommandError> {
    parse_i64(arg)
        .ok()
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| CommandError::other("ERR value is out of range, must be positive"))
}

/// DEBUG POPULATE count [prefix] [size]: string keys `prefix:N` (default `key:N`) holding
/// `value:N`, cut or zero-padded to `size` bytes when a size is given; existing keys are kept.
/// Like Redis it bypasses the change counter (and so replication). The whole population is one
/// write batch, so a huge count costs memory in proportion until it commits.
fn populate(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let count = non_negative(&args[2])?;
    let size = match args.get(4) {
        Some(arg) => non_negative(arg)? as usize,
        None => 0,
    };
    let prefix: &[u8] = args.get(3).map_or(b"key", |p| p.as_ref());
    let db = ctx.db();
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        key.truncate(POPULATE_NAME_MAX);
        if ctx.lookup(&key)?.is_some() {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if size > 0 {
            value.resize(size, 0);
        }
        ctx.txn.put(db, &key, Meta::string(value, 0))?;
    }
    Ok(Reply::ok())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves the dataset to `dbfilename` (unless NOSAVE),
/// empties the data and the function libraries (unless NOFLUSH) and loads the file back, as
/// Redis does; other clients wait meanwhile. With NOFLUSH a library the file also holds fails
/// the load, as in Redis, and so does a key (Redis panics and exits there: "Duplicated key
/// found in RDB file"; rockslot replies the load error and keeps serving); MERGE replaces both.
fn reload(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut options = rdb_load::Reload::default();
    for option in &args[2..] {
        match option.to_ascii_lowercase().as_slice() {
            b"nosave" => options.no_save = true,
            b"noflush" => options.no_flush = true,
            b"merge" => options.merge = true,
            _ => {
                return Err(CommandError::other(
                    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                ))
            }
        }
    }
    match rdb_load::reload(ctx.server, ctx.shared, options) {
        Ok(_) => {
            tracing::warn!("DB reloaded by DEBUG RELOAD");
            Ok(Reply::ok())
        }
        Err(rdb_load::LoadError::Save(e)) => {
            tracing::warn!("DEBUG RELOAD: {e}");
            Err(CommandError::other("ERR"))
        }
        Err(e) => {
            tracing::warn!("DEBUG RELOAD failed: {e}");
            Err(CommandError::other("ERR Error trying to load the RDB dump"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_arguments_read_like_strtod() {
        assert_eq!(strtod_prefix(b"0.1"), 0.1);
        assert_eq!(strtod_prefix(b" 2"), 2.0);
        assert_eq!(strtod_prefix(b"1.5abc"), 1.5);
        assert_eq!(strtod_prefix(b".5"), 0.5);
        assert_eq!(strtod_prefix(b"1e-1x"), 0.1);
        assert_eq!(strtod_prefix(b"3e"), 3.0);
        assert_eq!(strtod_prefix(b"-1"), -1.0);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(strtod_prefix(b"."), 0.0);
        assert_eq!(strtod_prefix(b""), 0.0);
    }

    #[test]
    fn active_expire_flag_reads_like_atoi() {
        for (arg, enabled) in [
            (&b"1"[..], true),
            (b"2", true),
            (b" -1", true),
            (b"1abc", true),
            (b"0", false),
        ] {
            assert_eq!(atoi_is_nonzero(arg), enabled, "{arg:?}");
        }
        for arg in [&b"x"[..], b"", b"00", b"+", b"0.5"] {
            assert!(!atoi_is_nonzero(arg), "{arg:?}");
        }
    }

    #[test]
    fn serialized_lengths_match_redis_for_strings() {
        // Values checked against DEBUG OBJECT of redis-server 7.0.15.
        for (value, expected) in [
            (&b"hello"[..], 6),
            (b"", 1),
            (b"123", 2),
            (b"-5", 2),
            (b"12345", 3),
            (b"99999999999", 12),
            (b"1.5", 4),
            (b"0123", 5),
        ] {
            assert_eq!(string_serialized_len(value), expected, "{value:?}");
        }
        assert_eq!(string_serialized_len(&[b'x'; 100]), 102);
        assert_eq!(rdb_len_bytes(16_383), 2);
        assert_eq!(rdb_len_bytes(16_384), 5);
        assert_eq!(rdb_len_bytes(1 << 32), 9);
    }
}
