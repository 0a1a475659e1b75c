//! Command metadata, as real Redis 7.0.15 describes its own commands.
//!
//! BACKGROUND. Redis answers `COMMAND INFO` with, per command: its name, arity, flags, the legacy
//! (first key, last key, step) triple, ACL categories, tips, *key specs* and subcommands; and
//! `COMMAND DOCS` with summaries, versions and argument trees. Cluster clients and client
//! libraries read these replies to learn where the keys of a command are; the dispatcher needs the
//! same facts for arity checks, flags and cluster routing. Typing them in by hand for 240 commands
//! and their subcommands would drift from Redis, so `tools/gen-command-meta` asks a real
//! redis-server 7.0.15 and stores its RESP3 replies verbatim in `redis-7.0.15-commands.resp`,
//! which is embedded here and decoded once, on first use.
//!
//! BEHAVIOR. [`all`] returns every command Redis 7.0.15 has, sorted by name, each with its
//! subcommands. Flags become the bitset below (the `COMMAND INFO` names plus the two flags Redis
//! hides there on purpose, `may_replicate` and `protected`, which are listed in this file from
//! Redis's source). Key specs are decoded into [`KeySpec`] and drive [`find_keys`], a port of
//! Redis's `getKeysFromCommandWithSpecs`: specs first, and for the commands whose specs are
//! incomplete, unknown, have variable flags or do not parse (a bad `numkeys`), the same
//! command-specific `getkeys_proc` fallbacks Redis 7.0.15 has, down to their quirks (C `atoi`
//! for counts, C strings that end at a NUL byte, the last argument never matched as a keyword).
//!
//! The stored `info` and `docs` replies are what `COMMAND INFO` / `COMMAND DOCS` send; the
//! command table trims their subcommand lists to the subcommands rockslot implements.
//!
//! Redis 7.4's hash field expiry commands (HEXPIRE and the rest), which 7.0.15 lacks, come from a
//! second file in the same format, built from 7.4's command JSON by
//! `tools/gen-hfe-command-meta`.

use std::sync::OnceLock;

use bytes::Bytes;
use formats::resp::Reply;
use formats::resp_reply::parse_reply;

use super::args::parse_i64;
use crate::error::CommandError;

/// The stored replies, see `tools/gen-command-meta`.
const DATA: &[u8] = include_bytes!("redis-7.0.15-commands.resp");
/// Redis 7.4's hash field expiry commands, see `tools/gen-hfe-command-meta`.
const HFE_DATA: &[u8] = include_bytes!("redis-7.4-hash-field-expiry-commands.resp");

// Command flags. The bit positions follow Redis's `CMD_*` constants in server.h.
pub const WRITE: u64 = 1 << 0;
pub const READONLY: u64 = 1 << 1;
pub const DENYOOM: u64 = 1 << 2;
pub const MODULE: u64 = 1 << 3;
pub const ADMIN: u64 = 1 << 4;
pub const PUBSUB: u64 = 1 << 5;
pub const NOSCRIPT: u64 = 1 << 6;
pub const BLOCKING: u64 = 1 << 8;
pub const LOADING: u64 = 1 << 9;
pub const STALE: u64 = 1 << 10;
pub const SKIP_MONITOR: u64 = 1 << 11;
pub const SKIP_SLOWLOG: u64 = 1 << 12;
pub const ASKING: u64 = 1 << 13;
pub const FAST: u64 = 1 << 14;
pub const NO_AUTH: u64 = 1 << 15;
/// May produce replication traffic although not a write (not shown by `COMMAND INFO`).
pub const MAY_REPLICATE: u64 = 1 << 16;
pub const NO_MANDATORY_KEYS: u64 = 1 << 19;
/// Refused unless `enable-debug-command` / `enable-module-command` allow it (not shown either).
pub const PROTECTED: u64 = 1 << 20;
pub const NO_ASYNC_LOADING: u64 = 1 << 23;
pub const NO_MULTI: u64 = 1 << 24;
pub const MOVABLE_KEYS: u64 = 1 << 25;
pub const ALLOW_BUSY: u64 = 1 << 26;

/// `COMMAND INFO` flag names, in the order Redis lists them.
const FLAG_NAMES: &[(u64, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (MODULE, "module"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

/// Commands declared `MAY_REPLICATE` in Redis 7.0.15's command JSON files.
const MAY_REPLICATE_COMMANDS: &[&str] = &[
    "eval",
    "evalsha",
    "fcall",
    "pfcount",
    "publish",
    "script|flush",
    "script|load",
    "spublish",
];
/// Commands declared `PROTECTED` in Redis 7.0.15's command JSON files.
const PROTECTED_COMMANDS: &[&str] = &["debug", "module|load", "module|loadex", "module|unload"];

// Key spec flags (Redis's `CMD_KEY_*`), in the order `COMMAND INFO` lists them.
pub const KEY_RO: u32 = 1 << 0;
pub const KEY_RW: u32 = 1 << 1;
pub const KEY_OW: u32 = 1 << 2;
pub const KEY_RM: u32 = 1 << 3;
pub const KEY_ACCESS: u32 = 1 << 4;
pub const KEY_UPDATE: u32 = 1 << 5;
pub const KEY_INSERT: u32 = 1 << 6;
pub const KEY_DELETE: u32 = 1 << 7;
pub const KEY_NOT_KEY: u32 = 1 << 8;
pub const KEY_INCOMPLETE: u32 = 1 << 9;
pub const KEY_VARIABLE_FLAGS: u32 = 1 << 10;

const KEY_FLAG_NAMES: &[(u32, &str)] = &[
    (KEY_RO, "RO"),
    (KEY_RW, "RW"),
    (KEY_OW, "OW"),
    (KEY_RM, "RM"),
    (KEY_ACCESS, "access"),
    (KEY_UPDATE, "update"),
    (KEY_INSERT, "insert"),
    (KEY_DELETE, "delete"),
    (KEY_NOT_KEY, "not_key"),
    (KEY_INCOMPLETE, "incomplete"),
    (KEY_VARIABLE_FLAGS, "variable_flags"),
];

/// The names of a key-flag bitset, as `COMMAND GETKEYSANDFLAGS` and `COMMAND INFO` show them.
pub fn key_flag_names(flags: u32) -> impl Iterator<Item = &'static str> {
    KEY_FLAG_NAMES
        .iter()
        .filter(move |(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
}

/// Where a key spec starts looking for keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginSearch {
    /// At a fixed argument index.
    Index(i64),
    /// After `keyword`, searched from `startfrom` (negative: from the end, backwards).
    Keyword { keyword: String, startfrom: i64 },
    /// Keys cannot be found from the arguments alone (SORT's BY/GET patterns).
    Unknown,
}

/// How a key spec finds its keys once it knows where to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindKeys {
    /// `lastkey` relative to the start (negative: from the end), every `keystep`-th argument; a
    /// nonzero `limit` keeps only the first 1/limit of the remaining arguments.
    Range {
        lastkey: i64,
        keystep: i64,
        limit: i64,
    },
    /// The argument at `keynumidx` counts the keys, which start at `firstkey`.
    Keynum {
        keynumidx: i64,
        firstkey: i64,
        keystep: i64,
    },
    Unknown,
}

/// One key spec of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    /// `KEY_*` bits.
    pub flags: u32,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

/// Redis's command-specific key extraction (`getkeys_proc`), used where key specs fall short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetKeysProc {
    /// Redis's `genericGetKeys(store, count, first, 1)`: `count` holds the number of keys that
    /// start at `first`; a nonzero `store` is a destination key listed after them.
    Numkeys {
        store: usize,
        count: usize,
        first: usize,
    },
    Sort,
    SortRo,
    Migrate,
    Georadius,
    Xread,
    Set,
    Bitfield,
}

/// `numkeys` right after the command name (ZUNION, LMPOP, SINTERCARD, ...).
const NUMKEYS_AT_1: GetKeysProc = GetKeysProc::Numkeys {
    store: 0,
    count: 1,
    first: 2,
};
/// A script, function or timeout, then `numkeys` (EVAL, FCALL, BLMPOP, BZMPOP).
const NUMKEYS_AT_2: GetKeysProc = GetKeysProc::Numkeys {
    store: 0,
    count: 2,
    first: 3,
};
/// A destination key, then `numkeys` (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE).
const DEST_THEN_NUMKEYS: GetKeysProc = GetKeysProc::Numkeys {
    store: 1,
    count: 2,
    first: 3,
};

/// Commands with a `getkeys_proc` in Redis 7.0.15's command table.
const GETKEYS_PROCS: &[(&str, GetKeysProc)] = &[
    ("bitfield", GetKeysProc::Bitfield),
    ("blmpop", NUMKEYS_AT_2),
    ("bzmpop", NUMKEYS_AT_2),
    ("eval", NUMKEYS_AT_2),
    ("eval_ro", NUMKEYS_AT_2),
    ("evalsha", NUMKEYS_AT_2),
    ("evalsha_ro", NUMKEYS_AT_2),
    ("fcall", NUMKEYS_AT_2),
    ("fcall_ro", NUMKEYS_AT_2),
    ("georadius", GetKeysProc::Georadius),
    ("georadiusbymember", GetKeysProc::Georadius),
    ("lmpop", NUMKEYS_AT_1),
    ("migrate", GetKeysProc::Migrate),
    ("set", GetKeysProc::Set),
    ("sintercard", NUMKEYS_AT_1),
    ("sort", GetKeysProc::Sort),
    ("sort_ro", GetKeysProc::SortRo),
    ("xread", GetKeysProc::Xread),
    ("xreadgroup", GetKeysProc::Xread),
    ("zdiff", NUMKEYS_AT_1),
    ("zdiffstore", DEST_THEN_NUMKEYS),
    ("zinter", NUMKEYS_AT_1),
    ("zintercard", NUMKEYS_AT_1),
    ("zinterstore", DEST_THEN_NUMKEYS),
    ("zmpop", NUMKEYS_AT_1),
    ("zunion", NUMKEYS_AT_1),
    ("zunionstore", DEST_THEN_NUMKEYS),
];

/// One command (or subcommand) as Redis 7.0.15 describes it.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    /// Lowercase; subcommands as `config|get`.
    pub name: String,
    /// Positive: exact argument count (name included); negative: at least `-arity`.
    pub arity: i64,
    /// The command flags above.
    pub flags: u64,
    pub first_key: i64,
    pub last_key: i64,
    pub step: i64,
    /// ACL categories without the `@`, e.g. `read`, `string`, `fast`.
    pub acl_categories: Vec<String>,
    pub key_specs: Vec<KeySpec>,
    pub getkeys: Option<GetKeysProc>,
    /// This command's `COMMAND INFO` entry, exactly as Redis sent it.
    pub info: Reply,
    /// This command's `COMMAND DOCS` value (the map under its name).
    pub docs: Reply,
    /// Sorted by name.
    pub subcommands: Vec<CommandMeta>,
}

impl CommandMeta {
    /// Whether `argc` arguments (the command name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        if self.arity > 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The subcommand called `sub` (the part after `|`), case-insensitively.
    pub fn subcommand(&self, sub: &[u8]) -> Option<&CommandMeta> {
        self.subcommands.iter().find(|s| {
            subcommand_suffix(&s.name)
                .as_bytes()
                .eq_ignore_ascii_case(sub)
        })
    }
}

/// The part of `container|sub` after the bar (the whole name for a plain command).
pub fn subcommand_suffix(name: &str) -> &str {
    name.split_once('|').map_or(name, |(_, sub)| sub)
}

/// The embedded data did not decode; it is generated, so this means a bad regeneration.
#[derive(Debug, thiserror::Error)]
#[error("command metadata: {0}")]
pub struct MetaError(String);

fn malformed(what: impl std::fmt::Display) -> MetaError {
    MetaError(what.to_string())
}

/// Every command of Redis 7.0.15 and 7.4's hash field expiry commands, sorted by name.
pub fn all() -> &'static [CommandMeta] {
    static ALL: OnceLock<Vec<CommandMeta>> = OnceLock::new();
    let both = || -> Result<Vec<CommandMeta>, MetaError> {
        let mut all = load(DATA)?;
        all.extend(load(HFE_DATA)?);
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    };
    ALL.get_or_init(|| match both() {
        Ok(all) => all,
        // The data is compiled in and checked by the tests below; failing here is a build bug.
        Err(e) => panic!("embedded {e}"),
    })
}

/// The top-level command called `name` (lowercase).
pub fn find(name: &str) -> Option<&'static CommandMeta> {
    let all = all();
    all.binary_search_by(|m| m.name.as_str().cmp(name))
        .ok()
        .map(|i| &all[i])
}

fn load(mut data: &[u8]) -> Result<Vec<CommandMeta>, MetaError> {
    let mut commands = Vec::new();
    while !data.is_empty() {
        let (record, used) = parse_reply(data)
            .map_err(malformed)?
            .ok_or_else(|| malformed("truncated"))?;
        data = &data[used..];
        let fields = match record {
            // The header line says where the data came from.
            Reply::Simple(_) => continue,
            Reply::Array(fields) => fields,
            other => return Err(malformed(format!("unexpected record {other:?}"))),
        };
        let [name, info, docs] =
            <[Reply; 3]>::try_from(fields).map_err(|_| malformed("record is not a triple"))?;
        let name = text(&name).ok_or_else(|| malformed("record without a name"))?;
        let info = match info {
            Reply::Array(mut entries) if entries.len() == 1 => entries.remove(0),
            _ => return Err(malformed(format!("{name}: COMMAND INFO is not one entry"))),
        };
        let docs = match docs {
            Reply::Map(mut pairs) if pairs.len() == 1 => pairs.remove(0).1,
            _ => return Err(malformed(format!("{name}: COMMAND DOCS is not one entry"))),
        };
        commands.push(build(info, docs).map_err(|e| malformed(format!("{name}: {}", e.0)))?);
    }
    commands.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(commands)
}

/// The text of a bulk or simple string.
pub(crate) fn text(reply: &Reply) -> Option<&str> {
    match reply {
        Reply::Bulk(b) => std::str::from_utf8(b).ok(),
        Reply::Simple(s) => Some(s),
        _ => None,
    }
}

/// The value under `key` in a map reply.
pub(crate) fn map_get<'r>(map: &'r Reply, key: &str) -> Option<&'r Reply> {
    match map {
        Reply::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| text(k) == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn int(reply: &Reply) -> Result<i64, MetaError> {
    match reply {
        Reply::Integer(n) => Ok(*n),
        other => Err(malformed(format!("expected an integer, got {other:?}"))),
    }
}

fn names(reply: &Reply) -> Result<Vec<&str>, MetaError> {
    match reply {
        Reply::Set(items) | Reply::Array(items) => items
            .iter()
            .map(|i| text(i).ok_or_else(|| malformed("expected a name")))
            .collect(),
        other => Err(malformed(format!("expected a set of names, got {other:?}"))),
    }
}

/// One command from its `COMMAND INFO` entry and its `COMMAND DOCS` value.
fn build(info: Reply, docs: Reply) -> Result<CommandMeta, MetaError> {
    let Reply::Array(fields) = &info else {
        return Err(malformed("info entry is not an array"));
    };
    if fields.len() != 10 {
        return Err(malformed("info entry does not have 10 fields"));
    }
    let name = text(&fields[0])
        .ok_or_else(|| malformed("no name"))?
        .to_string();
    let mut flags = 0;
    for flag in names(&fields[2])? {
        let (bit, _) = FLAG_NAMES
            .iter()
            .find(|(_, n)| *n == flag)
            .ok_or_else(|| malformed(format!("flag {flag}")))?;
        flags |= bit;
    }
    if MAY_REPLICATE_COMMANDS.contains(&name.as_str()) {
        flags |= MAY_REPLICATE;
    }
    if PROTECTED_COMMANDS.contains(&name.as_str()) {
        flags |= PROTECTED;
    }
    let acl_categories = names(&fields[6])?
        .iter()
        .map(|c| c.trim_start_matches('@').to_string())
        .collect();
    // Redis 7.0 sends the key specs as a RESP3 set.
    let key_specs = match &fields[8] {
        Reply::Set(specs) | Reply::Array(specs) => {
            specs.iter().map(key_spec).collect::<Result<_, _>>()?
        }
        _ => return Err(malformed("key specs are not a set")),
    };
    // A container lists its subcommands in an array; everything else sends an empty set.
    let (Reply::Array(sub_infos) | Reply::Set(sub_infos)) = &fields[9] else {
        return Err(malformed("subcommands are not an array"));
    };
    let mut subcommands = Vec::with_capacity(sub_infos.len());
    for sub_info in sub_infos {
        let sub_name = match sub_info {
            Reply::Array(f) => f.first().and_then(text).unwrap_or_default(),
            _ => "",
        };
        let sub_docs = map_get(&docs, "subcommands")
            .and_then(|subs| map_get(subs, sub_name))
            .ok_or_else(|| malformed(format!("no docs for {sub_name}")))?;
        subcommands.push(build(sub_info.clone(), sub_docs.clone())?);
    }
    subcommands.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(CommandMeta {
        arity: int(&fields[1])?,
        flags,
        first_key: int(&fields[3])?,
        last_key: int(&fields[4])?,
        step: int(&fields[5])?,
        acl_categories,
        key_specs,
        getkeys: GETKEYS_PROCS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p),
        subcommands,
        name,
        info,
        docs,
    })
}

fn spec_int(spec: Option<&Reply>, key: &str) -> Result<i64, MetaError> {
    spec.and_then(|s| map_get(s, key))
        .ok_or_else(|| malformed(format!("key spec without {key}")))
        .and_then(int)
}

fn key_spec(reply: &Reply) -> Result<KeySpec, MetaError> {
    let mut flags = 0;
    for flag in names(map_get(reply, "flags").ok_or_else(|| malformed("key spec without flags"))?)?
    {
        let (bit, _) = KEY_FLAG_NAMES
            .iter()
            .find(|(_, n)| *n == flag)
            .ok_or_else(|| malformed(format!("key flag {flag}")))?;
        flags |= bit;
    }
    let part = |name: &str| {
        let part =
            map_get(reply, name).ok_or_else(|| malformed(format!("key spec without {name}")))?;
        let kind = map_get(part, "type").and_then(text).unwrap_or_default();
        Ok::<_, MetaError>((kind, map_get(part, "spec")))
    };
    let begin_search = match part("begin_search")? {
        ("index", spec) => BeginSearch::Index(spec_int(spec, "index")?),
        ("keyword", spec) => BeginSearch::Keyword {
            keyword: spec
                .and_then(|s| map_get(s, "keyword"))
                .and_then(text)
                .ok_or_else(|| malformed("keyword spec without keyword"))?
                .to_string(),
            startfrom: spec_int(spec, "startfrom")?,
        },
        ("unknown", _) => BeginSearch::Unknown,
        (other, _) => return Err(malformed(format!("begin_search type {other}"))),
    };
    let find_keys = match part("find_keys")? {
        ("range", spec) => FindKeys::Range {
            lastkey: spec_int(spec, "lastkey")?,
            keystep: spec_int(spec, "keystep")?,
            limit: spec_int(spec, "limit")?,
        },
        ("keynum", spec) => FindKeys::Keynum {
            keynumidx: spec_int(spec, "keynumidx")?,
            firstkey: spec_int(spec, "firstkey")?,
            keystep: spec_int(spec, "keystep")?,
        },
        ("unknown", _) => FindKeys::Unknown,
        (other, _) => return Err(malformed(format!("find_keys type {other}"))),
    };
    Ok(KeySpec {
        flags,
        begin_search,
        find_keys,
    })
}

/// One key found in a command's arguments: its index and its `KEY_*` flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u32,
}

/// Whether the command can have key arguments at all (Redis's `doesCommandHaveKeys`).
pub fn has_keys(meta: &CommandMeta) -> bool {
    meta.getkeys.is_some() || meta.key_specs.iter().any(|s| s.flags & KEY_NOT_KEY == 0)
}

/// The keys of a call, exactly like Redis's `getKeysFromCommandWithSpecs`. `args` is the whole
/// call, command name (and subcommand name) included. `include_not_keys` also returns the
/// arguments whose spec is `not_key` (the channels of sharded pub/sub, which cluster mode routes
/// like keys). The arity is not checked here.
pub fn find_keys(meta: &CommandMeta, args: &[Bytes], include_not_keys: bool) -> Vec<KeyRef> {
    let has_keyspec = meta.key_specs.iter().any(|s| s.flags & KEY_NOT_KEY == 0);
    let has_varflags = meta
        .key_specs
        .iter()
        .any(|s| s.flags & KEY_VARIABLE_FLAGS != 0);
    if has_keyspec && !has_varflags {
        if let Some(keys) = keys_from_specs(meta, args, include_not_keys) {
            return keys;
        }
    }
    match meta.getkeys {
        Some(proc_) => proc_keys(proc_, args),
        None => Vec::new(),
    }
}

/// The positions of the keys of a call (see [`find_keys`]), after checking its arity.
pub fn key_positions(meta: &CommandMeta, args: &[Bytes]) -> Result<Vec<usize>, CommandError> {
    if !meta.arity_ok(args.len()) {
        return Err(CommandError::WrongArity(meta.name.clone()));
    }
    Ok(find_keys(meta, args, false)
        .into_iter()
        .map(|k| k.pos)
        .collect())
}

/// An argument as C sees it: Redis compares arguments with `strcasecmp`, which stops at a NUL.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter()
        .position(|&b| b == 0)
        .map_or(arg, |end| &arg[..end])
}

fn arg_is(args: &[Bytes], i: i64, word: &str) -> bool {
    usize::try_from(i)
        .ok()
        .and_then(|i| args.get(i))
        .is_some_and(|a| c_str(a).eq_ignore_ascii_case(word.as_bytes()))
}

/// C's `atoi` as glibc implements it: `(int)strtol(s, NULL, 10)`, which skips leading
/// whitespace, stops at the first non-digit and saturates at the `long` range before the cast.
fn atoi(arg: &[u8]) -> i32 {
    let s = c_str(arg);
    let mut i = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .unwrap_or(s.len());
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut magnitude: i128 = 0;
    while let Some(d) = s.get(i).filter(|d| d.is_ascii_digit()) {
        magnitude = (magnitude * 10 + i128::from(d - b'0')).min(i128::from(i64::MAX) + 1);
        i += 1;
    }
    let value = if negative { -magnitude } else { magnitude };
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64 as i32
}

/// Redis's `getKeysUsingKeySpecs` without `GET_KEYSPEC_RETURN_PARTIAL`: `None` when a spec is
/// invalid for these arguments or incomplete, which sends the caller to the `getkeys_proc`.
fn keys_from_specs(
    meta: &CommandMeta,
    args: &[Bytes],
    include_not_keys: bool,
) -> Option<Vec<KeyRef>> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for spec in &meta.key_specs {
        if spec.flags & KEY_NOT_KEY != 0 && !include_not_keys {
            continue;
        }
        let first = match &spec.begin_search {
            BeginSearch::Index(pos) => *pos,
            BeginSearch::Keyword { keyword, startfrom } => {
                let (start, end) = if *startfrom > 0 {
                    (*startfrom, argc - 1)
                } else {
                    (argc + startfrom, 1)
                };
                // Redis stops before `end`: the last argument (or the first, searching
                // backwards) is never taken for the keyword.
                let mut i = start;
                let mut found = None;
                while i != end && (1..argc).contains(&i) {
                    if arg_is(args, i, keyword) {
                        found = Some(i + 1);
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                match found {
                    Some(first) => first,
                    None => continue,
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (first, last, step) = match spec.find_keys {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (first, last, keystep)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                let count_arg = usize::try_from(first + keynumidx)
                    .ok()
                    .and_then(|i| args.get(i))?;
                let numkeys = parse_i64(count_arg).ok().filter(|n| *n >= 0)?;
                // Redis adds the count as a C int.
                let first = first + firstkey;
                (first, first + i64::from(numkeys as i32) - 1, keystep)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || step < 1 {
            return None;
        }
        keys.extend((first..=last).step_by(step as usize).map(|pos| KeyRef {
            pos: pos as usize,
            flags: spec.flags,
        }));
        if spec.flags & KEY_INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

/// The `getkeys_proc` functions of Redis 7.0.15 (db.c), argument quirks included.
fn proc_keys(proc_: GetKeysProc, args: &[Bytes]) -> Vec<KeyRef> {
    let argc = args.len() as i64;
    let key = |pos: i64, flags: u32| KeyRef {
        pos: pos as usize,
        flags,
    };
    match proc_ {
        GetKeysProc::Numkeys {
            store,
            count,
            first,
        } => {
            let num = args.get(count).map_or(0, |a| i64::from(atoi(a)));
            if num < 1 || num > argc - first as i64 {
                return Vec::new();
            }
            let mut keys: Vec<KeyRef> = (0..num).map(|i| key(first as i64 + i, 0)).collect();
            if store != 0 {
                keys.push(key(store as i64, 0));
            }
            keys
        }
        GetKeysProc::SortRo => vec![key(1, KEY_RO | KEY_ACCESS)],
        GetKeysProc::Sort => {
            let mut store = None;
            let mut i = 2;
            while i < argc {
                if arg_is(args, i, "limit") {
                    i += 2;
                } else if arg_is(args, i, "store") && i + 1 < argc {
                    // The last STORE wins, and the scan goes on from its key, like SORT.
                    store = Some(i + 1);
                } else if arg_is(args, i, "get") || arg_is(args, i, "by") {
                    i += 1;
                }
                i += 1;
            }
            let mut keys = vec![key(1, KEY_RO | KEY_ACCESS)];
            keys.extend(store.map(|pos| key(pos, KEY_OW | KEY_UPDATE)));
            keys
        }
        GetKeysProc::Migrate => {
            let (mut first, mut num) = (3, 1);
            let mut i = 6;
            while i < argc {
                if arg_is(args, i, "keys") {
                    // KEYS needs an empty key argument; otherwise MIGRATE replies with a syntax
                    // error and there are no keys.
                    if args.get(3).is_some_and(|k| !c_str(k).is_empty()) {
                        num = 0;
                    } else {
                        first = i + 1;
                        num = argc - first;
                    }
                    break;
                }
                if arg_is(args, i, "auth") {
                    i += 1;
                } else if arg_is(args, i, "auth2") {
                    i += 2;
                }
                i += 1;
            }
            (first..first + num)
                .map(|pos| key(pos, KEY_RW | KEY_ACCESS | KEY_DELETE))
                .collect()
        }
        GetKeysProc::Georadius => {
            let mut stored = None;
            let mut i = 5;
            while i < argc {
                if (arg_is(args, i, "store") || arg_is(args, i, "storedist")) && i + 1 < argc {
                    stored = Some(i + 1);
                    i += 1;
                }
                i += 1;
            }
            let mut keys = vec![key(1, 0)];
            keys.extend(stored.map(|pos| key(pos, 0)));
            keys
        }
        GetKeysProc::Xread => {
            let mut streams = None;
            let mut i = 1;
            while i < argc {
                if arg_is(args, i, "block") || arg_is(args, i, "count") {
                    i += 1;
                } else if arg_is(args, i, "group") {
                    i += 2;
                } else if arg_is(args, i, "streams") {
                    streams = Some(i);
                    break;
                } else if !arg_is(args, i, "noack") {
                    break;
                }
                i += 1;
            }
            let Some(streams) = streams else {
                return Vec::new();
            };
            let num = argc - streams - 1;
            if num == 0 || num % 2 != 0 {
                return Vec::new();
            }
            (streams + 1..streams + 1 + num / 2)
                .map(|pos| key(pos, 0))
                .collect()
        }
        GetKeysProc::Set => {
            let get = (3..argc).any(|i| arg_is(args, i, "get"));
            vec![key(
                1,
                if get {
                    KEY_RW | KEY_ACCESS | KEY_UPDATE
                } else {
                    KEY_OW | KEY_UPDATE
                },
            )]
        }
        GetKeysProc::Bitfield => {
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let remaining = argc - i - 1;
                if arg_is(args, i, "get") && remaining >= 2 {
                    i += 2;
                } else if (arg_is(args, i, "set") || arg_is(args, i, "incrby")) && remaining >= 3 {
                    readonly = false;
                    break;
                } else if arg_is(args, i, "overflow") && remaining >= 1 {
                    i += 1;
                } else {
                    // A syntax error: safer to assume a write, as Redis does.
                    readonly = false;
                    break;
                }
                i += 1;
            }
            vec![key(
                1,
                if readonly {
                    KEY_RO | KEY_ACCESS
                } else {
                    KEY_RW | KEY_ACCESS | KEY_UPDATE
                },
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    /// The keys `COMMAND GETKEYS` reports: the named arguments.
    fn keys(line: &str) -> Vec<String> {
        let args = args(line);
        let name = String::from_utf8_lossy(&args[0]).to_lowercase();
        let mut meta = find(&name).unwrap();
        if !meta.subcommands.is_empty() && args.len() > 1 {
            meta = meta.subcommand(&args[1]).unwrap();
        }
        find_keys(meta, &args, false)
            .iter()
            .map(|k| String::from_utf8_lossy(&args[k.pos]).into_owned())
            .collect()
    }

    #[test]
    fn embedded_data_decodes() {
        let all = all();
        // `COMMAND COUNT` of redis-server 7.0.15, plus 7.4's nine hash field expiry commands.
        assert_eq!(all.len(), 240 + 9);
        let hexpire = find("hexpire").unwrap();
        assert_eq!(
            (
                hexpire.arity,
                hexpire.first_key,
                hexpire.last_key,
                hexpire.step
            ),
            (-6, 1, 1, 1)
        );
        assert_eq!(hexpire.flags, WRITE | DENYOOM | FAST);
        assert_eq!(find("httl").unwrap().flags, READONLY | FAST);
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
        let get = find("get").unwrap();
        assert_eq!(
            (get.arity, get.first_key, get.last_key, get.step),
            (2, 1, 1, 1)
        );
        assert_eq!(get.flags, READONLY | FAST);
        assert_eq!(get.acl_categories, ["read", "string", "fast"]);
        assert_eq!(
            get.key_specs,
            [KeySpec {
                flags: KEY_RO | KEY_ACCESS,
                begin_search: BeginSearch::Index(1),
                find_keys: FindKeys::Range {
                    lastkey: 0,
                    keystep: 1,
                    limit: 0
                },
            }]
        );
        assert_eq!(
            map_get(&get.docs, "summary").and_then(text),
            Some("Get the value of a key")
        );
        let config = find("config").unwrap();
        let names: Vec<&str> = config.subcommands.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "config|get",
                "config|help",
                "config|resetstat",
                "config|rewrite",
                "config|set"
            ]
        );
        let config_get = config.subcommand(b"GET").unwrap();
        assert_eq!(config_get.arity, -3);
        assert_eq!(config_get.flags, ADMIN | NOSCRIPT | LOADING | STALE);
        assert_eq!(
            map_get(&config_get.docs, "since").and_then(text),
            Some("2.0.0")
        );
        assert_ne!(find("eval").unwrap().flags & MAY_REPLICATE, 0);
        assert_ne!(find("debug").unwrap().flags & PROTECTED, 0);
        assert!(GETKEYS_PROCS.iter().all(|(name, _)| find(name).is_some()));
        assert!(MAY_REPLICATE_COMMANDS
            .iter()
            .chain(PROTECTED_COMMANDS)
            .all(|name| {
                let (top, sub) = name
                    .split_once('|')
                    .map_or((*name, None), |(t, s)| (t, Some(s)));
                find(top).is_some_and(|m| sub.is_none_or(|s| m.subcommand(s.as_bytes()).is_some()))
            }));
    }

    // The expectations below are what `COMMAND GETKEYS <call>` answered on redis-server 7.0.15
    // (an empty list: "ERR Invalid arguments specified for command", or an empty array for
    // commands flagged no_mandatory_keys).

    #[test]
    fn key_specs_like_redis() {
        assert_eq!(keys("GET k"), ["k"]);
        assert_eq!(keys("MSET a 1 b 2 c 3"), ["a", "b", "c"]);
        assert_eq!(keys("DEL a b c"), ["a", "b", "c"]);
        assert_eq!(keys("OBJECT ENCODING k"), ["k"]);
        assert_eq!(keys("LCS a b"), ["a", "b"]);
        assert_eq!(keys("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), ["d", "a", "b"]);
        assert_eq!(keys("ZUNION 2 a b"), ["a", "b"]);
        assert_eq!(keys("EVAL s 2 a b c"), ["a", "b"]);
        assert_eq!(keys("EVAL s 0"), Vec::<String>::new());
        assert_eq!(keys("XREAD COUNT 2 STREAMS a b 0 0"), ["a", "b"]);
        assert_eq!(keys("XREADGROUP GROUP g c STREAMS a 0"), ["a"]);
        assert_eq!(keys("GEORADIUS k 0 0 1 km STORE d"), ["k", "d"]);
        assert_eq!(keys("BLMPOP 0 2 a b LEFT"), ["a", "b"]);
        assert_eq!(keys("SINTERCARD 2 a b LIMIT 1"), ["a", "b"]);
        assert_eq!(keys("SPUBLISH ch m"), Vec::<String>::new());
    }

    #[test]
    fn fallbacks_like_redis() {
        // string2ll refuses "02", Redis's atoi fallback takes it and lists the destination last.
        assert_eq!(keys("ZUNIONSTORE d 02 a b"), ["a", "b", "d"]);
        assert_eq!(keys("EVAL s 02 a b"), ["a", "b"]);
        assert_eq!(keys("ZUNIONSTORE d 0 a b"), Vec::<String>::new());
        assert_eq!(keys("SORT k BY x GET y STORE d"), ["k", "d"]);
        assert_eq!(keys("SORT_RO k BY x GET y"), ["k"]);
        assert_eq!(keys("MIGRATE h p  0 10 KEYS a b"), ["a", "b"]);
        assert_eq!(keys("MIGRATE h p k 0 10 KEYS a b"), Vec::<String>::new());
        assert_eq!(keys("MIGRATE h p k 0 10 COPY"), ["k"]);
        assert_eq!(keys("SET k v"), ["k"]);
        assert_eq!(keys("BITFIELD k GET u8 0"), ["k"]);
    }

    #[test]
    fn key_flags_like_redis() {
        let flags = |line: &str| {
            let args = args(line);
            let meta = find(&String::from_utf8_lossy(&args[0]).to_lowercase()).unwrap();
            find_keys(meta, &args, false)
                .iter()
                .map(|k| key_flag_names(k.flags).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        assert_eq!(flags("SET k v"), [["OW", "update"]]);
        assert_eq!(flags("SET k v GET"), [["RW", "access", "update"]]);
        assert_eq!(flags("BITFIELD k GET u8 0"), [["RO", "access"]]);
        assert_eq!(flags("BITFIELD k SET u8 0 1"), [["RW", "access", "update"]]);
        assert_eq!(
            flags("SORT k STORE d"),
            [vec!["RO", "access"], vec!["OW", "update"]]
        );
        assert_eq!(flags("EVAL s 1 a"), [["RW", "access", "update"]]);
    }

    #[test]
    fn atoi_like_glibc() {
        assert_eq!(atoi(b" 12abc"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"4294967297"), 1);
        assert_eq!(atoi(b"99999999999999999999"), -1);
        assert_eq!(atoi(b"1\x002"), 1);
    }

    #[test]
    fn key_positions_checks_arity() {
        let get = find("get").unwrap();
        assert_eq!(key_positions(get, &args("GET k")).unwrap(), [1]);
        let err = key_positions(get, &args("GET a b")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
    }
}
