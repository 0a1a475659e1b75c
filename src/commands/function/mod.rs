//! FUNCTION LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE, STATS, KILL and HELP, and FCALL /
//! FCALL_RO, with Redis 7.0.15's replies and errors.
//!
//! Libraries are kept and checked by [`library`] (registration runs the code in an embedded
//! Lua 5.1, [`lua`]); the handlers parse arguments in Redis's order and read or replace the
//! whole set inside the command's transaction, so a change commits with the command's batch
//! (atomic with MULTI/EXEC, durable like any write) and counts one change (`dirty`), as in Redis.
//!
//! FUNCTION LIST orders libraries, and the functions of each, by name; Redis lists them in the
//! order of its hash tables, which changes from one process to the next. FUNCTION DUMP writes
//! the libraries in that same order, stamped RDB 10 as Redis 7.0 stamps them.
//!
//! FCALL and FCALL_RO find the function and check the key count as Redis does, then reply that
//! running functions is not supported: rockslot keeps libraries (for RDB files, FUNCTION DUMP
//! and RESTORE, and listing) but has no script runtime. FUNCTION KILL therefore never finds a
//! running function, and FUNCTION STATS never shows one.

pub mod library;
mod lua;

use bytes::Bytes;
use formats::rdb::dump::{self, REDIS_7_0_VERSION};
use formats::resp::Reply;

use super::args::parse_i64;
use super::client::{help_reply, subcommand_syntax_error};
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;
use library::{Libraries, ENGINE};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("function|load", load),
    ("function|list", list),
    ("function|delete", delete),
    ("function|flush", flush),
    ("function|dump", dump_libraries),
    ("function|restore", restore),
    ("function|stats", stats),
    ("function|kill", kill),
    ("function|help", help),
    ("fcall", fcall),
    ("fcall_ro", fcall),
];

/// FUNCTION HELP, line for line as Redis 7.0.15 prints it.
const HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

fn err(text: impl std::fmt::Display) -> CommandError {
    CommandError::other(format!("ERR {text}"))
}

/// Stores the changed set and counts the change.
fn store(ctx: &mut Ctx, libraries: &Libraries) {
    libraries.write(&mut ctx.txn);
    ctx.dirty += 1;
}

/// FUNCTION LOAD [REPLACE] code
fn load(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut replace = false;
    let mut at = 2;
    while at < args.len() - 1 {
        if !args[at].eq_ignore_ascii_case(b"replace") {
            return Err(err(format_args!(
                "Unknown option given: {}",
                String::from_utf8_lossy(&args[at])
            )));
        }
        replace = true;
        at += 1;
    }
    if at >= args.len() {
        return Err(err("Function code is missing"));
    }
    let mut libraries = Libraries::read(&ctx.txn)?;
    let name = libraries.load(&args[at], replace)?;
    store(ctx, &libraries);
    Ok(Reply::bulk(name))
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
fn list(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if !with_code && arg.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && arg.eq_ignore_ascii_case(b"libraryname") {
            if i >= args.len() - 1 {
                return Err(err("library name argument was not given"));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(err(format_args!(
                "Unknown argument {}",
                String::from_utf8_lossy(arg)
            )));
        }
        i += 1;
    }
    let libraries = Libraries::read(&ctx.txn)?;
    let listed = libraries
        .libraries
        .iter()
        .filter(|l| pattern.is_none_or(|p| formats::glob::string_match(p, &l.name, true)))
        .map(|l| {
            let mut functions: Vec<_> = l.functions.iter().collect();
            functions.sort_by(|a, b| a.name.cmp(&b.name));
            let functions = functions
                .into_iter()
                .map(|f| {
                    Reply::Map(vec![
                        (Reply::bulk("name"), Reply::bulk(f.name.clone())),
                        (
                            Reply::bulk("description"),
                            f.description.clone().map_or(Reply::Null, Reply::bulk),
                        ),
                        (
                            Reply::bulk("flags"),
                            Reply::Set(
                                f.flag_names()
                                    .map(|n| Reply::Simple(n.to_string().into()))
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect();
            let mut fields = vec![
                (Reply::bulk("library_name"), Reply::bulk(l.name.clone())),
                (Reply::bulk("engine"), Reply::bulk(ENGINE)),
                (Reply::bulk("functions"), Reply::Array(functions)),
            ];
            if with_code {
                fields.push((Reply::bulk("library_code"), Reply::bulk(l.code.clone())));
            }
            Reply::Map(fields)
        })
        .collect();
    Ok(Reply::Array(listed))
}

/// FUNCTION DELETE library-name
fn delete(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut libraries = Libraries::read(&ctx.txn)?;
    if libraries.remove(&args[2]).is_none() {
        return Err(err("Library not found"));
    }
    store(ctx, &libraries);
    Ok(Reply::ok())
}

/// FUNCTION FLUSH [ASYNC|SYNC]: both modes empty the set at once (it is one record).
fn flush(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    match args.len() {
        2 => {}
        3 if args[2].eq_ignore_ascii_case(b"sync") || args[2].eq_ignore_ascii_case(b"async") => {}
        3 => return Err(err("FUNCTION FLUSH only supports SYNC|ASYNC option")),
        _ => return Err(subcommand_syntax_error(args)),
    }
    store(ctx, &Libraries::default());
    Ok(Reply::ok())
}

/// FUNCTION DUMP: every library's code, stamped RDB 10 with a CRC-64.
fn dump_libraries(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let libraries = Libraries::read(&ctx.txn)?;
    let compression = ctx.server.config.read().get_bool("rdbcompression");
    let payload = dump::encode_functions(
        libraries.libraries.iter().map(|l| l.code.as_slice()),
        REDIS_7_0_VERSION,
        compression,
    );
    Ok(Reply::bulk(payload))
}

/// How FUNCTION RESTORE treats the libraries already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Flush,
    Append,
    Replace,
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]
fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if args.len() > 4 {
        return Err(subcommand_syntax_error(args));
    }
    let policy = match args.get(3).map(|a| a.to_ascii_lowercase()) {
        None => Policy::Append,
        Some(p) if p == b"append" => Policy::Append,
        Some(p) if p == b"replace" => Policy::Replace,
        Some(p) if p == b"flush" => Policy::Flush,
        Some(_) => {
            return Err(err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
    };
    let codes = dump::decode_functions(&args[2], REDIS_7_0_VERSION).map_err(err)?;
    let mut restored = Libraries::default();
    for code in codes {
        restored.load(&code, false)?;
    }
    let libraries = match policy {
        Policy::Flush => restored,
        Policy::Append | Policy::Replace => {
            let mut libraries = Libraries::read(&ctx.txn)?;
            libraries.join(restored, policy == Policy::Replace)?;
            libraries
        }
    };
    store(ctx, &libraries);
    Ok(Reply::ok())
}

/// FUNCTION STATS: no running function, and the LUA engine's counts.
fn stats(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    let libraries = Libraries::read(&ctx.txn)?;
    let counts = Reply::Map(vec![
        (
            Reply::bulk("libraries_count"),
            Reply::Integer(libraries.libraries.len() as i64),
        ),
        (
            Reply::bulk("functions_count"),
            Reply::Integer(libraries.function_count() as i64),
        ),
    ]);
    Ok(Reply::Map(vec![
        (Reply::bulk("running_script"), Reply::Null),
        (
            Reply::bulk("engines"),
            Reply::Map(vec![(Reply::bulk(ENGINE), counts)]),
        ),
    ]))
}

/// FUNCTION KILL: nothing ever runs.
fn kill(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Err(CommandError::other(
        "NOTBUSY No scripts in execution right now.",
    ))
}

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(HELP))
}

/// FCALL / FCALL_RO function numkeys [key ...] [arg ...]: Redis's checks, then the refusal.
fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let libraries = Libraries::read(&ctx.txn)?;
    if libraries.function(&args[1]).is_none() {
        return Err(err("Function not found"));
    }
    let numkeys = parse_i64(&args[2]).map_err(|_| err("Bad number of keys provided"))?;
    if numkeys > args.len() as i64 - 3 {
        return Err(err("Number of keys can't be greater than number of args"));
    }
    if numkeys < 0 {
        return Err(err("Number of keys can't be negative"));
    }
    Err(err(
        "rockslot does not run functions: FCALL and FCALL_RO are not supported",
    ))
}
