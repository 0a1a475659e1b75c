//! CLIENT: the connection-management container command (ID, SETNAME, GETNAME, LIST, INFO, KILL,
//! PAUSE, UNPAUSE, NO-EVICT, REPLY, GETREDIR, TRACKING, TRACKINGINFO, CACHING, UNBLOCK, HELP).
//!
//! Every other client is idle in `ctx.shared.clients` while this command runs (execution is
//! serialised), and the caller is `ctx.client`; so LIST, INFO and KILL see a consistent registry.
//! KILL removes a victim from the registry at once (Redis frees it synchronously, so a CLIENT
//! LIST right after must not show it) and signals its connection task to close. Killing the
//! caller itself closes its connection after the reply, like Redis's CLOSE_AFTER_REPLY.
//!
//! Client-side caching (TRACKING ON) is not supported: TRACKING ON fails with a clear error,
//! while the introspection commands (GETREDIR, TRACKINGINFO, CACHING) answer what Redis answers
//! for a client whose tracking is off, which is the truth for every rockslot client.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use formats::resp::Reply;

use super::args::parse_i64;
use super::connection::validate_name;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::client::ClientType;
use crate::server::{blocking, unix_ms, ClientState, Ctx, ReplyMode};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("client|id", id),
    ("client|setname", setname),
    ("client|getname", getname),
    ("client|list", list),
    ("client|info", info),
    ("client|kill", kill),
    ("client|pause", pause),
    ("client|unpause", unpause),
    ("client|no-evict", no_evict),
    ("client|reply", reply),
    ("client|getredir", getredir),
    ("client|tracking", tracking),
    ("client|trackinginfo", trackinginfo),
    ("client|caching", caching),
    ("client|unblock", unblock),
    ("client|help", help),
];

/// CLIENT HELP, line for line as Redis 7.0.15 prints it.
const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

/// The reply of a `CONTAINER HELP` subcommand: one status line per text line.
pub fn help_reply(lines: &[&str]) -> Reply {
    Reply::Array(
        lines
            .iter()
            .map(|l| Reply::Simple((*l).to_string().into()))
            .collect(),
    )
}

/// Redis's `addReplySubcommandSyntaxError`: a known subcommand called with an argument count
/// it does not accept.
pub fn subcommand_syntax_error(args: &[Bytes]) -> CommandError {
    let sub: String = String::from_utf8_lossy(&args[1])
        .chars()
        .take(128)
        .collect();
    CommandError::other(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

fn unknown_type(name: &[u8]) -> CommandError {
    CommandError::other(format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(name)
    ))
}

/// Sum of the argument sizes of the executing command (CLIENT LIST `argv-mem` of the caller).
fn argv_mem(args: &[Bytes]) -> usize {
    args.iter().map(Bytes::len).sum()
}

fn id(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(ctx.client.id as i64))
}

fn setname(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    validate_name(&args[2])?;
    ctx.client.name = (!args[2].is_empty()).then(|| args[2].clone());
    Ok(Reply::ok())
}

fn getname(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(ctx.client.name.clone().map_or(Reply::Null, Reply::Bulk))
}

/// The caller's own line: its `cmd=` is the command running now, as in Redis where
/// `c->lastcmd` is set before the command executes.
fn own_line(ctx: &mut Ctx, args: &[Bytes], cmd: &'static str) -> String {
    ctx.client.last_cmd = cmd;
    ctx.client.info_line(argv_mem(args))
}

/// CLIENT LIST [TYPE type | ID id [id ...]]: one `\n`-terminated line per client.
fn list(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let lines = if args.len() == 4 && is(&args[2], "type") {
        let wanted = ClientType::parse(&args[3]).ok_or_else(|| unknown_type(&args[3]))?;
        all_lines(ctx, args, Some(wanted))
    } else if args.len() > 3 && is(&args[2], "id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for arg in &args[3..] {
            ids.push(parse_i64(arg).map_err(|_| CommandError::other("ERR Invalid client ID"))?);
        }
        // In the order asked, repeats included, unknown IDs skipped, as Redis does.
        let own = own_line(ctx, args, "client|list");
        ids.into_iter()
            .filter_map(|id| match u64::try_from(id) {
                Ok(id) if id == ctx.client.id => Some(own.clone()),
                Ok(id) => ctx.shared.clients.get(&id).map(|c| c.info_line(0)),
                Err(_) => None,
            })
            .collect()
    } else if args.len() == 2 {
        all_lines(ctx, args, None)
    } else {
        return Err(CommandError::Syntax);
    };
    let mut out = String::new();
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(Reply::Verbatim(Bytes::from(out)))
}

/// Lines of every client (the caller included) of type `wanted`, in connection order.
fn all_lines(ctx: &mut Ctx, args: &[Bytes], wanted: Option<ClientType>) -> Vec<String> {
    let own = own_line(ctx, args, "client|list");
    let mut clients: Vec<(u64, String)> = ctx
        .shared
        .clients
        .values()
        .filter(|c| wanted.is_none_or(|t| c.client_type == t))
        .map(|c| (c.id, c.info_line(0)))
        .collect();
    if wanted.is_none_or(|t| ctx.client.client_type == t) {
        clients.push((ctx.client.id, own));
    }
    clients.sort_unstable_by_key(|(id, _)| *id);
    clients.into_iter().map(|(_, line)| line).collect()
}

fn info(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut line = own_line(ctx, args, "client|info");
    line.push('\n');
    Ok(Reply::Verbatim(Bytes::from(line)))
}

/// What CLIENT KILL matches on; `None` fields match every client.
#[derive(Default)]
struct KillFilter {
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    client_type: Option<ClientType>,
    id: Option<u64>,
    skip_me: bool,
}

impl KillFilter {
    fn matches(&self, client: &ClientState) -> bool {
        self.addr
            .as_ref()
            .is_none_or(|a| a.as_ref() == client.addr.to_string().as_bytes())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| a.as_ref() == client.laddr.to_string().as_bytes())
            && self.client_type.is_none_or(|t| t == client.client_type)
            && self.id.is_none_or(|id| id == client.id)
    }
}

/// CLIENT KILL ip:port | CLIENT KILL <filter> <value> [<filter> <value> ...]
fn kill(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let old_form = args.len() == 3;
    let filter = if old_form {
        // The old form may kill the caller itself.
        KillFilter {
            addr: Some(args[2].clone()),
            skip_me: false,
            ..KillFilter::default()
        }
    } else if args.len().is_multiple_of(2) {
        parse_kill_filter(&args[2..])?
    } else {
        return Err(CommandError::Syntax);
    };

    let victims: Vec<u64> = ctx
        .shared
        .clients
        .values()
        .filter(|c| filter.matches(c))
        .map(|c| c.id)
        .collect();
    for id in &victims {
        if let Some(mut victim) = ctx.shared.clients.remove(id) {
            // Redis frees the client at once: its subscriptions, watches and blocked keys are
            // gone when KILL returns.
            ctx.shared.forget_client(&mut victim);
            victim.signals.kill();
        }
    }
    let mut killed = victims.len();
    if !filter.skip_me && filter.matches(ctx.client) {
        ctx.after.close = true;
        killed += 1;
    }

    if old_form {
        if killed == 0 {
            return Err(CommandError::other("ERR No such client"));
        }
        return Ok(Reply::ok());
    }
    Ok(Reply::Integer(killed as i64))
}

fn parse_kill_filter(pairs: &[Bytes]) -> Result<KillFilter, CommandError> {
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    for pair in pairs.chunks_exact(2) {
        let (option, value) = (&pair[0], &pair[1]);
        if is(option, "id") {
            let id = parse_i64(value)
                .ok()
                .filter(|id| *id >= 1)
                .ok_or_else(|| CommandError::other("ERR client-id should be greater than 0"))?;
            filter.id = Some(id as u64);
        } else if is(option, "type") {
            filter.client_type = Some(ClientType::parse(value).ok_or_else(|| unknown_type(value))?);
        } else if is(option, "addr") {
            filter.addr = Some(value.clone());
        } else if is(option, "laddr") {
            filter.laddr = Some(value.clone());
        } else if is(option, "user") {
            // Every rockslot client is the `default` user, so the filter matches all or none.
            if value.as_ref() != b"default" {
                return Err(CommandError::other(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(value)
                )));
            }
        } else if is(option, "skipme") {
            filter.skip_me = if is(value, "yes") {
                true
            } else if is(value, "no") {
                false
            } else {
                return Err(CommandError::Syntax);
            };
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(filter)
}

/// CLIENT PAUSE timeout [WRITE|ALL]. A pause only ever extends: a later end time and the stricter
/// mode (ALL over WRITE) win over an ongoing pause, as in Redis's `pauseClients`.
fn pause(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let writes_only = match args.len() {
        3 => false,
        4 if is(&args[3], "write") => true,
        4 if is(&args[3], "all") => false,
        4 => {
            return Err(CommandError::other(
                "ERR CLIENT PAUSE mode must be WRITE or ALL",
            ))
        }
        _ => return Err(subcommand_syntax_error(args)),
    };
    let timeout = parse_i64(&args[2])
        .map_err(|_| CommandError::other("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CommandError::other("ERR timeout is negative"));
    }
    let now = unix_ms();
    // Redis adds the timeout to the clock without a check; an overflowing end time lands in the
    // past there, which is a pause that never holds anybody: the same no-op here.
    let Some(end) = now.checked_add(timeout) else {
        return Ok(Reply::ok());
    };
    let server = ctx.server;
    let current = server.pause_until_ms.load(Ordering::SeqCst);
    if current > now {
        server
            .pause_until_ms
            .store(current.max(end), Ordering::SeqCst);
        let stricter = server.pause_writes_only.load(Ordering::SeqCst) && writes_only;
        server.pause_writes_only.store(stricter, Ordering::SeqCst);
    } else {
        server
            .pause_writes_only
            .store(writes_only, Ordering::SeqCst);
        server.pause_until_ms.store(end, Ordering::SeqCst);
    }
    Ok(Reply::ok())
}

fn unpause(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    ctx.server.pause_until_ms.store(0, Ordering::SeqCst);
    ctx.server.pause_writes_only.store(false, Ordering::SeqCst);
    Ok(Reply::ok())
}

fn no_evict(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    ctx.client.no_evict = if is(&args[2], "on") {
        true
    } else if is(&args[2], "off") {
        false
    } else {
        return Err(CommandError::Syntax);
    };
    Ok(Reply::ok())
}

/// CLIENT REPLY ON|OFF|SKIP. The dispatcher applies the mode: it suppresses this command's own
/// reply for OFF and SKIP, and the next command's reply for SKIP.
fn reply(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if is(&args[2], "on") {
        ctx.client.reply_mode = ReplyMode::On;
    } else if is(&args[2], "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if is(&args[2], "skip") {
        // Like Redis, SKIP does nothing while replies are off.
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CommandError::Syntax);
    }
    Ok(Reply::ok())
}

/// No client tracks keys, so none redirects: Redis's answer for tracking off.
fn getredir(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Integer(-1))
}

/// CLIENT TRACKING ON is refused; OFF is what every client already is.
fn tracking(_ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if is(&args[2], "on") {
        Err(CommandError::other(
            "ERR CLIENT TRACKING (client-side caching) is not supported by rockslot",
        ))
    } else if is(&args[2], "off") {
        Ok(Reply::ok())
    } else {
        Err(CommandError::Syntax)
    }
}

/// Redis's reply for a client whose tracking is off.
fn trackinginfo(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(Reply::Map(vec![
        (Reply::bulk("flags"), Reply::Set(vec![Reply::bulk("off")])),
        (Reply::bulk("redirect"), Reply::Integer(-1)),
        (Reply::bulk("prefixes"), Reply::Array(vec![])),
    ]))
}

/// Redis checks the tracking mode before anything else; tracking is never on here.
fn caching(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Err(CommandError::other(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode \
         enabled",
    ))
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: answers a client blocked on keys as if its timeout had
/// passed, or with an `UNBLOCKED` error; 1 if there was such a client, else 0.
fn unblock(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let with_error = match args.len() {
        3 => false,
        4 if is(&args[3], "timeout") => false,
        4 if is(&args[3], "error") => true,
        4 => {
            return Err(CommandError::other(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => return Err(subcommand_syntax_error(args)),
    };
    let id = parse_i64(&args[2])?;
    let Some(mut target) = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.shared.clients.remove(&id))
    else {
        return Ok(Reply::Integer(0));
    };
    let reply = match &target.blocked {
        None => None,
        Some(_) if with_error => Some(Reply::error(
            "UNBLOCKED client unblocked via CLIENT UNBLOCK",
        )),
        Some(blocked) => Some(blocked.timeout_reply.clone()),
    };
    let unblocked = reply.is_some();
    if let Some(reply) = reply {
        blocking::unblock(ctx.shared, &mut target, reply);
    }
    ctx.shared.clients.insert(target.id, target);
    Ok(Reply::Integer(unblocked as i64))
}

fn help(_ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    Ok(help_reply(HELP))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn error(list: &[&str]) -> String {
        match parse_kill_filter(&args(list)) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn kill_filters_parse_like_redis() {
        let filter =
            parse_kill_filter(&args(&["ID", "7", "skipme", "NO", "type", "replica"])).unwrap();
        assert_eq!(filter.id, Some(7));
        assert!(!filter.skip_me);
        assert_eq!(filter.client_type, Some(ClientType::Replica));
        assert!(
            parse_kill_filter(&args(&["addr", "1.2.3.4:5"]))
                .unwrap()
                .skip_me
        );
        assert_eq!(
            error(&["id", "0"]),
            "ERR client-id should be greater than 0"
        );
        assert_eq!(
            error(&["id", "x"]),
            "ERR client-id should be greater than 0"
        );
        assert_eq!(error(&["type", "foo"]), "ERR Unknown client type 'foo'");
        assert_eq!(error(&["user", "bob"]), "ERR No such user 'bob'");
        assert_eq!(error(&["skipme", "maybe"]), "ERR syntax error");
        assert_eq!(error(&["maxage", "1"]), "ERR syntax error");
        assert_eq!(error(&["user", "default"]), "");
    }

    #[test]
    fn client_type_names() {
        assert_eq!(ClientType::parse(b"SLAVE"), Some(ClientType::Replica));
        assert_eq!(ClientType::parse(b"master"), Some(ClientType::Primary));
        assert_eq!(ClientType::parse(b"PubSub"), Some(ClientType::PubSub));
        assert_eq!(ClientType::parse(b"normal"), Some(ClientType::Normal));
        assert_eq!(ClientType::parse(b"primary"), None);
    }
}
