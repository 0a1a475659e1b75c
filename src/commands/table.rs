//! The command table: every command rockslot implements, with Redis's metadata.
//!
//! Command families register `(name, handler)` pairs; subcommands are named `container|sub` as
//! Redis names them. [`CommandTable::new`] joins each registration with its [`CommandMeta`] from
//! Redis 7.0.15 and refuses names Redis does not have, so arity, flags and key positions can
//! never be invented by a handler.
//!
//! Only registered commands exist for clients: an unregistered command is unknown, a container
//! (CONFIG, OBJECT, ...) is visible as soon as one of its subcommands is registered, and its
//! `COMMAND INFO` / `COMMAND DOCS` replies list only the registered subcommands. The table keeps
//! those trimmed replies next to the metadata so COMMAND answers without rebuilding them.
//!
//! [`CommandTable::lookup`] resolves a request with Redis 7.0's checks in Redis's order
//! (`processCommand`: `commandCheckExistence`, then `commandCheckArity`) and Redis's error
//! texts, including how Redis quotes and truncates the arguments of an unknown command.

use std::collections::HashMap;

use bytes::Bytes;
use formats::resp::Reply;
use rustc_hash::FxHashMap;

use super::meta::{self, CommandMeta};
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

/// What every command handler looks like: the execution context and the whole call, command
/// name (and subcommand name) included.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CommandResult;

/// A command clients can call.
pub struct CommandEntry {
    pub meta: &'static CommandMeta,
    pub handler: Handler,
    /// The `COMMAND INFO` entry, listing only registered subcommands.
    pub info: Reply,
    /// The `COMMAND DOCS` value, listing only registered subcommands.
    pub docs: Reply,
    /// Registered subcommands, sorted by name.
    pub subcommands: Vec<CommandEntry>,
}

impl CommandEntry {
    fn subcommand(&self, sub: &[u8]) -> Option<&CommandEntry> {
        self.subcommands.iter().find(|s| {
            meta::subcommand_suffix(&s.meta.name)
                .as_bytes()
                .eq_ignore_ascii_case(sub)
        })
    }

    /// Whether Redis treats this command as a container (argv[1] names a subcommand).
    fn is_container(&self) -> bool {
        !self.meta.subcommands.is_empty()
    }
}

/// The longest command name Redis has is 20 bytes; lowercasing goes through a buffer this big.
const NAME_BUFFER_BYTES: usize = 32;

/// How much of an unknown command's arguments Redis quotes (`commandCheckExistence`).
const ERROR_ARGS_BYTES: usize = 128;

/// Every implemented command, looked up case-insensitively.
pub struct CommandTable {
    /// Top-level commands, sorted by name.
    entries: Vec<CommandEntry>,
    /// Names are the table's own, so FxHash needs no key against crafted collisions.
    by_name: FxHashMap<&'static [u8], usize>,
}

/// The handler of a container that is visible only through its subcommands. Redis's containers
/// without a handler of their own have arity -2, so the dispatcher rejects a bare call before it
/// gets here; this answers the same way should one get through.
fn container_without_handler(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CommandResult {
    let name = args
        .first()
        .map(|n| String::from_utf8_lossy(n).to_lowercase())
        .unwrap_or_default();
    Err(CommandError::WrongArity(name))
}

impl CommandTable {
    /// Builds the table from the registrations of every command family. Every name must exist in
    /// Redis 7.0.15 and be registered once; otherwise the error lists the offending names.
    pub fn new(registrations: &[(&'static str, Handler)]) -> Result<CommandTable, String> {
        let mut handlers: HashMap<&str, Handler> = HashMap::new();
        let mut unknown = Vec::new();
        let mut duplicate = Vec::new();
        for &(name, handler) in registrations {
            if find_meta(meta::all(), name).is_none() {
                unknown.push(name);
            } else if handlers.insert(name, handler).is_some() {
                duplicate.push(name);
            }
        }
        if !unknown.is_empty() || !duplicate.is_empty() {
            return Err(format!(
                "command table: not Redis 7.0.15 commands: [{}]; registered twice: [{}]",
                unknown.join(", "),
                duplicate.join(", ")
            ));
        }
        let mut entries = Vec::new();
        for meta in meta::all() {
            let subcommands: Vec<CommandEntry> = meta
                .subcommands
                .iter()
                .filter_map(|sub| handlers.get(sub.name.as_str()).map(|&h| leaf_entry(sub, h)))
                .collect();
            let handler = match handlers.get(meta.name.as_str()) {
                Some(&handler) => handler,
                None if !subcommands.is_empty() => container_without_handler,
                None => continue,
            };
            entries.push(CommandEntry {
                meta,
                handler,
                info: trimmed_info(meta, &subcommands),
                docs: trimmed_docs(meta, &subcommands),
                subcommands,
            });
        }
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.meta.name.as_bytes(), i))
            .collect();
        Ok(CommandTable { entries, by_name })
    }

    /// The top-level command named `name`, case-insensitively, without allocating.
    fn top(&self, name: &[u8]) -> Option<&CommandEntry> {
        if name.len() > NAME_BUFFER_BYTES {
            return None;
        }
        let mut buf = [0u8; NAME_BUFFER_BYTES];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        self.by_name.get(&*lower).map(|&i| &self.entries[i])
    }

    /// Resolves a call to its command like Redis's `lookupCommand`: the subcommand when the
    /// command is a container and a subcommand name is given, `None` when either is unknown.
    /// No arity check (COMMAND GETKEYS does its own).
    pub fn resolve(&self, args: &[Bytes]) -> Option<&CommandEntry> {
        let base = self.top(args.first()?)?;
        match args.get(1) {
            Some(sub) if base.is_container() => base.subcommand(sub),
            _ => Some(base),
        }
    }

    /// Finds the entry for a request, with Redis 7.0's errors in Redis's order: unknown command,
    /// unknown subcommand of a container, wrong number of arguments.
    pub fn lookup(&self, args: &[Bytes]) -> Result<&CommandEntry, CommandError> {
        let Some(name) = args.first() else {
            return Err(unknown_command(args));
        };
        let entry = match self.resolve(args) {
            Some(entry) => entry,
            None => match self.top(name) {
                Some(_) => return Err(unknown_subcommand(args)),
                None => return Err(unknown_command(args)),
            },
        };
        if !entry.meta.arity_ok(args.len()) {
            return Err(CommandError::WrongArity(entry.meta.name.clone()));
        }
        Ok(entry)
    }

    /// The command with this full name (`get`, `config|get`), case-insensitively, the way
    /// `COMMAND INFO` and `COMMAND DOCS` look names up (Redis's `lookupCommandBySds`).
    pub fn get(&self, name: &str) -> Option<&CommandEntry> {
        self.get_bytes(name.as_bytes())
    }

    /// [`CommandTable::get`] for a name straight from a client.
    pub fn get_bytes(&self, name: &[u8]) -> Option<&CommandEntry> {
        let mut parts = name.split(|&b| b == b'|');
        let base = self.top(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(base),
            (Some(sub), None) if base.is_container() => base.subcommand(sub),
            _ => None,
        }
    }

    /// Top-level implemented commands, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &CommandEntry> {
        self.entries.iter()
    }

    /// Number of top-level implemented commands (`COMMAND COUNT`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The metadata of a full name (`get`, `config|get`); exact lowercase match.
fn find_meta<'m>(all: &'m [CommandMeta], name: &str) -> Option<&'m CommandMeta> {
    match name.split_once('|') {
        None => all.iter().find(|m| m.name == name),
        Some((top, _)) => all
            .iter()
            .find(|m| m.name == top)?
            .subcommands
            .iter()
            .find(|s| s.name == name),
    }
}

fn leaf_entry(meta: &'static CommandMeta, handler: Handler) -> CommandEntry {
    CommandEntry {
        meta,
        handler,
        info: meta.info.clone(),
        docs: meta.docs.clone(),
        subcommands: Vec::new(),
    }
}

/// The `COMMAND INFO` entry with only the registered subcommands in its 10th field.
fn trimmed_info(meta: &CommandMeta, subcommands: &[CommandEntry]) -> Reply {
    let mut info = meta.info.clone();
    if meta.subcommands.is_empty() {
        // Redis sends an empty set there for commands that are not containers.
        return info;
    }
    if let Reply::Array(fields) = &mut info {
        if let Some(subs) = fields.get_mut(9) {
            *subs = Reply::Array(subcommands.iter().map(|s| s.info.clone()).collect());
        }
    }
    info
}

/// The `COMMAND DOCS` value with only the registered subcommands in its `subcommands` map (which
/// Redis leaves out for a command without subcommands).
fn trimmed_docs(meta: &CommandMeta, subcommands: &[CommandEntry]) -> Reply {
    let mut docs = meta.docs.clone();
    if meta.subcommands.is_empty() {
        return docs;
    }
    if let Reply::Map(pairs) = &mut docs {
        if subcommands.is_empty() {
            pairs.retain(|(k, _)| meta::text(k) != Some("subcommands"));
        } else if let Some((_, subs)) = pairs
            .iter_mut()
            .find(|(k, _)| meta::text(k) == Some("subcommands"))
        {
            *subs = Reply::Map(
                subcommands
                    .iter()
                    .map(|s| (Reply::bulk(s.meta.name.clone()), s.docs.clone()))
                    .collect(),
            );
        }
    }
    docs
}

/// An argument as C's `%s` prints it: up to the first NUL, at most `max` bytes.
fn c_prefix(arg: &[u8], max: usize) -> &[u8] {
    let end = arg
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(arg.len())
        .min(max);
    &arg[..end]
}

/// Error text built from client bytes: Redis replaces CR and LF so the error stays one line.
fn error_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ")
}

/// `unknown command '%.128s', with args beginning with: ` followed by `'%.*s' ` for each
/// argument while fewer than 128 bytes are quoted, each cut to the bytes still allowed.
fn unknown_command(args: &[Bytes]) -> CommandError {
    let name = args
        .first()
        .map_or(&b""[..], |n| c_prefix(n, ERROR_ARGS_BYTES));
    let mut quoted = Vec::new();
    for arg in args.iter().skip(1) {
        if quoted.len() >= ERROR_ARGS_BYTES {
            break;
        }
        // The precision is what is left of the 128 bytes before this argument's quotes.
        let budget = ERROR_ARGS_BYTES - quoted.len();
        quoted.push(b'\'');
        quoted.extend_from_slice(c_prefix(arg, budget));
        quoted.extend_from_slice(b"' ");
    }
    CommandError::UnknownCommand {
        name: error_text(name),
        args: error_text(&quoted),
    }
}

/// `unknown subcommand '%.128s'. Try %s HELP.` with the command name as the client typed it,
/// uppercased.
fn unknown_subcommand(args: &[Bytes]) -> CommandError {
    let command = args
        .first()
        .map_or(&b""[..], |n| c_prefix(n, usize::MAX))
        .to_ascii_uppercase();
    let sub = args
        .get(1)
        .map_or(&b""[..], |s| c_prefix(s, ERROR_ARGS_BYTES));
    CommandError::UnknownSubcommand {
        command: error_text(&command),
        sub: error_text(sub),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use formats::resp::Reply;

    fn ok(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CommandResult {
        Ok(Reply::ok())
    }

    fn table() -> CommandTable {
        CommandTable::new(&[
            ("get", ok),
            ("config|get", ok),
            ("config|set", ok),
            ("command", ok),
        ])
        .unwrap()
    }

    fn call(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn error(table: &CommandTable, args: &[Bytes]) -> String {
        match table.lookup(args) {
            Ok(entry) => panic!("{} found", entry.meta.name),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn registrations_must_be_redis_commands() {
        let err = CommandTable::new(&[
            ("get", ok),
            ("frobnicate", ok),
            ("config|nope", ok),
            ("get", ok),
        ])
        .err()
        .unwrap();
        assert_eq!(err, "command table: not Redis 7.0.15 commands: [frobnicate, config|nope]; registered twice: [get]");
    }

    #[test]
    fn every_family_registers_redis_commands() {
        let table = CommandTable::new(&crate::commands::registrations()).unwrap();
        assert!(table.get("command|getkeys").is_some());
    }

    #[test]
    fn lookup_is_case_insensitive_and_checks_arity() {
        let table = table();
        assert_eq!(table.lookup(&call("GeT k")).unwrap().meta.name, "get");
        assert_eq!(
            table.lookup(&call("CONFIG get x")).unwrap().meta.name,
            "config|get"
        );
        assert_eq!(
            error(&table, &call("get")),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            error(&table, &call("CONFIG GET")),
            "ERR wrong number of arguments for 'config|get' command"
        );
        // A bare container fails on its own arity, as in Redis.
        assert_eq!(
            error(&table, &call("config")),
            "ERR wrong number of arguments for 'config' command"
        );
    }

    #[test]
    fn unknown_commands_and_subcommands_like_redis() {
        let table = table();
        // Texts observed from redis-server 7.0.15.
        assert_eq!(
            error(&table, &call("foo a b")),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        assert_eq!(
            error(&table, &call("foo")),
            "ERR unknown command 'foo', with args beginning with: "
        );
        assert_eq!(
            error(&table, &call("set k v")),
            "ERR unknown command 'set', with args beginning with: 'k' 'v' "
        );
        assert_eq!(
            error(&table, &call("config rewrite")),
            "ERR unknown subcommand 'rewrite'. Try CONFIG HELP."
        );
        assert_eq!(
            error(&table, &call("cOnfig x y")),
            "ERR unknown subcommand 'x'. Try CONFIG HELP."
        );
        // No subcommand of OBJECT is registered: the container does not exist either.
        assert_eq!(
            error(&table, &call("object encoding k")),
            "ERR unknown command 'object', with args beginning with: 'encoding' 'k' "
        );
        let long = format!("foo {} {} z", "a".repeat(100), "b".repeat(100));
        let expected = format!(
            "ERR unknown command 'foo', with args beginning with: '{}' '{}' ",
            "a".repeat(100),
            "b".repeat(25)
        );
        assert_eq!(error(&table, &call(&long)), expected);
        let args = vec![Bytes::from("f\r\no"), Bytes::from_static(b"x\0y")];
        assert_eq!(
            error(&table, &args),
            "ERR unknown command 'f  o', with args beginning with: 'x' "
        );
    }

    #[test]
    fn get_by_full_name() {
        let table = table();
        assert_eq!(table.get("CONFIG|Get").unwrap().meta.name, "config|get");
        assert_eq!(table.get("config").unwrap().meta.name, "config");
        assert!(table.get("config|rewrite").is_none());
        assert!(table.get("get|x").is_none());
        assert!(table.get("config|get|x").is_none());
        assert!(table.get("").is_none());
        assert_eq!(
            table
                .iter()
                .map(|e| e.meta.name.as_str())
                .collect::<Vec<_>>(),
            ["command", "config", "get"]
        );
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn info_and_docs_list_only_registered_subcommands() {
        let table = table();
        let config = table.get("config").unwrap();
        let Reply::Array(fields) = &config.info else {
            panic!("info is an array")
        };
        let Reply::Array(subs) = &fields[9] else {
            panic!("subcommands are an array")
        };
        let names: Vec<_> = subs
            .iter()
            .map(|s| match s {
                Reply::Array(f) => meta::text(&f[0]).unwrap_or_default().to_string(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(names, ["config|get", "config|set"]);
        let Some(Reply::Map(docs)) = meta::map_get(&config.docs, "subcommands") else {
            panic!("docs have subcommands")
        };
        assert_eq!(
            docs.iter()
                .map(|(k, _)| meta::text(k).unwrap_or_default())
                .collect::<Vec<_>>(),
            ["config|get", "config|set"]
        );
        // Registered alone, a container shows no subcommands at all.
        let command = table.get("command").unwrap();
        assert!(meta::map_get(&command.docs, "subcommands").is_none());
    }
}
