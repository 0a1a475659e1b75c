//! COMMAND and its subcommands: the server describing its own commands.
//!
//! Clients call these to learn what the server implements and where the keys of a call are:
//! redis-cli for hints and completion, cluster clients to route by key without parsing each
//! command, client libraries to read docs and tips. Every answer comes from the command table,
//! so it covers exactly the commands rockslot implements, with Redis 7.0.15's own metadata.
//!
//! BEHAVIOR, as Redis 7.0.15 (`commandCommand` and friends in server.c):
//! - `COMMAND` and `COMMAND INFO` without names: every command's info entry. Redis lists them in
//!   hash-table order, which no client relies on; the table's order is by name.
//! - `COMMAND INFO name...`: one entry per name, null for unknown names; `COMMAND DOCS name...`:
//!   a map with the known names only. Names may be `container|sub`.
//! - `COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p]`: full names, subcommands after
//!   their container; no modules exist, so a MODULE filter matches nothing.
//! - `COMMAND GETKEYS` / `GETKEYSANDFLAGS`: the keys of a full call, checked in Redis's order
//!   (known command, has keys at all, arity, then the keys themselves).

use bytes::Bytes;
use formats::resp::Reply;

use super::meta::{self, key_flag_names, KeyRef, NO_MANDATORY_KEYS};
use super::table::{CommandEntry, Handler};
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("command", command),
    ("command|count", count),
    ("command|info", info),
    ("command|docs", docs),
    ("command|list", list),
    ("command|getkeys", getkeys),
    ("command|getkeysandflags", getkeys_and_flags),
    ("command|help", help),
];

/// `COMMAND HELP`, line for line as Redis 7.0.15 prints it.
const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

fn command(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Array(
        ctx.server.commands.iter().map(|e| e.info.clone()).collect(),
    ))
}

fn count(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(ctx.server.commands.len() as i64))
}

fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CommandResult {
    if args.len() == 2 {
        return command(ctx, args);
    }
    let table = &ctx.server.commands;
    let entries = args[2..].iter().map(|name| {
        table
            .get_bytes(name)
            .map_or(Reply::Null, |e| e.info.clone())
    });
    Ok(Reply::Array(entries.collect()))
}

fn docs_pair(entry: &CommandEntry) -> (Reply, Reply) {
    (Reply::bulk(entry.meta.name.clone()), entry.docs.clone())
}

fn docs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CommandResult {
    let table = &ctx.server.commands;
    let pairs = if args.len() == 2 {
        table.iter().map(docs_pair).collect()
    } else {
        args[2..]
            .iter()
            .filter_map(|name| table.get_bytes(name))
            .map(docs_pair)
            .collect()
    };
    Ok(Reply::Map(pairs))
}

/// A `COMMAND LIST FILTERBY` filter.
enum Filter<'a> {
    None,
    Module,
    AclCategory(&'a [u8]),
    Pattern(&'a [u8]),
}

impl Filter<'_> {
    fn keeps(&self, entry: &CommandEntry) -> bool {
        match self {
            Filter::None => true,
            Filter::Module => false,
            Filter::AclCategory(cat) => entry
                .meta
                .acl_categories
                .iter()
                .any(|c| c.as_bytes().eq_ignore_ascii_case(cat)),
            Filter::Pattern(pattern) => {
                formats::glob::string_match(pattern, entry.meta.name.as_bytes(), true)
            }
        }
    }
}

fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CommandResult {
    let mut filter = Filter::None;
    let mut i = 2;
    while i < args.len() {
        // Redis takes exactly one FILTERBY <type> <arg> as the last three arguments.
        if !args[i].eq_ignore_ascii_case(b"filterby") || args.len() - 1 - i != 2 {
            return Err(CommandError::Syntax);
        }
        let kind = &args[i + 1];
        filter = if kind.eq_ignore_ascii_case(b"module") {
            Filter::Module
        } else if kind.eq_ignore_ascii_case(b"aclcat") {
            Filter::AclCategory(&args[i + 2])
        } else if kind.eq_ignore_ascii_case(b"pattern") {
            Filter::Pattern(&args[i + 2])
        } else {
            return Err(CommandError::Syntax);
        };
        i += 3;
    }
    let mut names = Vec::new();
    for entry in ctx.server.commands.iter() {
        for e in std::iter::once(entry).chain(&entry.subcommands) {
            if filter.keeps(e) {
                names.push(Reply::bulk(e.meta.name.clone()));
            }
        }
    }
    Ok(Reply::Array(names))
}

/// The keys of the call in `args[2..]`, with Redis's errors (`getKeysSubcommandImpl`).
fn keys_of_call(ctx: &Ctx<'_>, call: &[Bytes]) -> Result<Option<Vec<KeyRef>>, CommandError> {
    let entry = ctx
        .server
        .commands
        .resolve(call)
        .ok_or_else(|| CommandError::other("ERR Invalid command specified"))?;
    if !meta::has_keys(entry.meta) {
        return Err(CommandError::other("ERR The command has no key arguments"));
    }
    if !entry.meta.arity_ok(call.len()) {
        return Err(CommandError::other(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys = meta::find_keys(entry.meta, call, false);
    if !keys.is_empty() {
        return Ok(Some(keys));
    }
    if entry.meta.flags & NO_MANDATORY_KEYS != 0 {
        return Ok(None);
    }
    Err(CommandError::other(
        "ERR Invalid arguments specified for command",
    ))
}

fn getkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CommandResult {
    let call = &args[2..];
    let keys = keys_of_call(ctx, call)?.unwrap_or_default();
    Ok(Reply::Array(
        keys.iter()
            .map(|k| Reply::Bulk(call[k.pos].clone()))
            .collect(),
    ))
}

fn getkeys_and_flags(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CommandResult {
    let call = &args[2..];
    let keys = keys_of_call(ctx, call)?.unwrap_or_default();
    let pairs = keys.iter().map(|k| {
        let flags = key_flag_names(k.flags)
            .map(|f| Reply::Simple(f.to_string().into()))
            .collect();
        Reply::Array(vec![Reply::Bulk(call[k.pos].clone()), Reply::Set(flags)])
    });
    Ok(Reply::Array(pairs.collect()))
}

fn help(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Array(
        HELP.iter()
            .map(|line| Reply::Simple((*line).to_string().into()))
            .collect(),
    ))
}
