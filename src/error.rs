//! The one place where failures become Redis error replies.
//!
//! Every command returns `Result<Reply, CommandError>`; the dispatcher turns a `CommandError`
//! into the exact `-...` line Redis 7.0 sends. Storage faults are logged and reported as a
//! generic error without pretending to be a domain answer.

use formats::resp::Reply;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CommandError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("ERR unknown subcommand '{sub}'. Try {command} HELP.")]
    UnknownSubcommand { command: String, sub: String },
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(String),
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    /// Any other error, with its full wire text (error code included, e.g. `ERR ...`).
    #[error("{0}")]
    Other(String),
    #[error("ERR internal storage error: {0}")]
    Storage(#[from] engine::EngineError),
}

impl CommandError {
    /// `CommandError::Other` from a full error text.
    pub fn other(text: impl Into<String>) -> CommandError {
        CommandError::Other(text.into())
    }

    /// The error reply sent to the client.
    pub fn to_reply(&self) -> Reply {
        if let CommandError::Storage(e) = self {
            tracing::error!("storage error: {e}");
        }
        Reply::Error(self.to_string())
    }
}

/// What every command handler returns.
pub type CommandResult = Result<Reply, CommandError>;
