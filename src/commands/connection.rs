//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET.

use bytes::Bytes;
use formats::resp::Reply;

use super::args::parse_i64;
use super::table::Handler;
use crate::error::{CommandError, CommandResult};
use crate::server::{Ctx, ReplyMode};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("hello", hello),
    ("auth", auth),
    ("select", select),
    ("quit", quit),
    ("reset", reset),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    if args.len() > 2 {
        return Err(CommandError::WrongArity("ping".into()));
    }
    if ctx.client.protocol == 2 && ctx.client.subscriptions.total() > 0 {
        // In Pub/Sub mode a RESP2 PING answers in the shape of a message: [pong, payload].
        let payload = args.get(1).cloned().unwrap_or_default();
        return Ok(Reply::Array(vec![
            Reply::bulk("pong"),
            Reply::Bulk(payload),
        ]));
    }
    Ok(match args.get(1) {
        Some(payload) => Reply::Bulk(payload.clone()),
        None => Reply::Simple("PONG".into()),
    })
}

fn echo(_ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    Ok(Reply::Bulk(args[1].clone()))
}

/// Checks a password for the default user (`requirepass`).
fn check_password(ctx: &mut Ctx, user: Option<&[u8]>, password: &[u8]) -> Result<(), CommandError> {
    let required = ctx.server.tunables.requirepass.read().clone();
    let user_ok = user.is_none_or(|u| u == b"default");
    match required {
        None if user.is_none() => Err(CommandError::other(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        )),
        None if user_ok => {
            ctx.client.authenticated = true;
            Ok(())
        }
        Some(pass) if user_ok && pass.as_ref() == password => {
            ctx.client.authenticated = true;
            Ok(())
        }
        _ => Err(CommandError::other(
            "WRONGPASS invalid username-password pair or user is disabled.",
        )),
    }
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    match args.len() {
        2 => check_password(ctx, None, &args[1])?,
        3 => check_password(ctx, Some(&args[1]), &args[2])?,
        _ => return Err(CommandError::Syntax),
    }
    Ok(Reply::ok())
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let mut protocol = None;
    let mut i = 1;
    if args.len() > 1 {
        let version = parse_i64(&args[1]).map_err(|_| {
            CommandError::other("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&version) {
            return Err(CommandError::other("NOPROTO unsupported protocol version"));
        }
        protocol = Some(version as u8);
        i = 2;
    }
    let mut name = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        let option = args[i].to_ascii_lowercase();
        if option == b"auth" && more >= 2 {
            check_password(ctx, Some(&args[i + 1]), &args[i + 2])?;
            i += 3;
        } else if option == b"setname" && more >= 1 {
            let candidate = args[i + 1].clone();
            validate_name(&candidate)?;
            name = Some(candidate);
            i += 2;
        } else {
            return Err(CommandError::other(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if ctx.server.requires_auth() && !ctx.client.authenticated {
        return Err(CommandError::other(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
             <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP \
             protocol version at the same time",
        ));
    }
    if let Some(name) = name {
        ctx.client.name = (!name.is_empty()).then_some(name);
    }
    if let Some(p) = protocol {
        ctx.client.protocol = p;
    }
    let field = |k: &str, v: Reply| (Reply::bulk(Bytes::copy_from_slice(k.as_bytes())), v);
    Ok(Reply::Map(vec![
        field("server", Reply::bulk("redis")),
        field("version", Reply::bulk("7.0.15")),
        field("proto", Reply::Integer(ctx.client.protocol as i64)),
        field("id", Reply::Integer(ctx.client.id as i64)),
        field("mode", Reply::bulk("standalone")),
        field("role", Reply::bulk("master")),
        field("modules", Reply::Array(vec![])),
    ]))
}

/// Client names may not contain spaces, newlines or other special characters (CLIENT SETNAME,
/// HELLO SETNAME).
pub fn validate_name(name: &[u8]) -> Result<(), CommandError> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CommandError::other(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn select(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let index = parse_i64(&args[1])
        .map_err(|_| CommandError::other("ERR value is not an integer or out of range"))?;
    ctx.client.db = ctx.check_db(index)?;
    Ok(Reply::ok())
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    ctx.after.close = true;
    Ok(Reply::ok())
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) -> CommandResult {
    ctx.client.db = 0;
    ctx.client.protocol = 2;
    ctx.client.name = None;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.no_evict = false;
    if ctx.client.monitor {
        ctx.client.monitor = false;
        let id = ctx.client.id;
        ctx.shared.monitors.retain(|m| *m != id);
    }
    ctx.client.authenticated = !ctx.server.requires_auth();
    ctx.client.multi = None;
    ctx.shared.watchers.unwatch_all(ctx.client);
    ctx.shared.pubsub.forget(ctx.client);
    Ok(Reply::Simple("RESET".into()))
}
