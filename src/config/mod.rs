//! redis.conf: the node's configuration, read and written the way redis-server 7.0.15 does it.
//!
//! BACKGROUND. rockslot starts like redis-server: `rockslot [config-file] [--directive value ...]
//! [-]`. The file's text comes first, then stdin when `-` is given, then the command-line options,
//! each `--name` starting a new line; the last setting of a directive wins. Tools, containers and
//! operators already hold redis.conf files and command lines, so every directive Redis 7.0.15
//! knows is accepted with Redis's syntax, defaults and error texts, including Debian's complete
//! /etc/redis/redis.conf. Only some directives change rockslot's behaviour today (the table marks
//! them `effective`); the others are stored, shown by CONFIG GET, persisted by CONFIG REWRITE and
//! listed once at startup by [`Config::not_yet_effective`].
//!
//! BEHAVIOR.
//! - Loading ([`Config::from_args`], [`Config::from_text`]) goes line by line; the first bad
//!   line stops startup with Redis's exact "FATAL CONFIG FILE ERROR" report (see
//!   [`ConfigError`]). `include` reads other files in place (globs allowed, relative to the
//!   working directory, which a `dir` line changes as Redis's chdir does).
//! - CONFIG GET ([`Config::config_get`]) takes exact names or glob patterns; patterns match
//!   aliases too and skip hidden directives, as in Redis.
//! - CONFIG SET ([`Config::config_set`]) is all-or-nothing over its pairs and answers with
//!   Redis's error replies.
//! - CONFIG REWRITE ([`Config::rewrite`]) edits the config file in place (rewrite.rs).
//!
//! The module only holds values; acting on them is the server's part. In particular Redis's
//! `dir` is its process working directory: loading resolves `dir` (and the relative paths after
//! it) without calling chdir, and the server changes into `dir` at startup and whenever CONFIG
//! SET reports `dir` as changed. Likewise for `port` and `bind` (listeners) and `hz`.
//!
//! Ordering: Redis lists CONFIG GET results and appends CONFIG REWRITE lines in the iteration
//! order of a hash table whose seed is random per process (two fresh redis-server 7.0.15 give two
//! different orders), so no order is canonical. rockslot uses the table's order (Redis's
//! declaration order, each alias after its directive), which is stable across runs.
//!
//! Deviations, each because rockslot lacks the subsystem: `rename-command` targets are not checked
//! against the command table here (the server does it with [`RenameCommand::error`]); `user` and
//! `loadmodule` lines are stored unvalidated and CONFIG REWRITE leaves them as they are; and
//! `activedefrag yes` is accepted as upstream Redis does (Debian's build refuses it for lack of
//! its jemalloc).

mod parse;
mod rewrite;
pub mod table;
pub(crate) mod text;
mod value;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use formats::glob::string_match;

use table::{lookup, Entry, Kind, DIRECTIVES, PROTECTED_ACTION_LOCAL, PROTECTED_ACTION_YES};
use value::{SetContext, Value};

/// The Redis version rockslot claims to be, as the FATAL report shows it.
pub const REDIS_VERSION: &str = "7.0.15";

/// Redis clamps `hz` to this range after loading and after CONFIG SET.
const HZ_MIN: i64 = 1;
const HZ_MAX: i64 = 500;

/// Why the configuration cannot be loaded. The server prints the Display text to stderr with
/// `eprintln!` and exits with status 1, as redis-server does.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A bad line or value: Display is Redis's report, byte for byte.
    #[error("{}", fatal_report(.context.as_ref(), .message))]
    Fatal {
        /// The 1-based line number and the trimmed line text, when a line is at fault.
        context: Option<(usize, String)>,
        message: String,
    },
    /// A config file (or an included one) cannot be read; Redis logs this line and exits.
    #[error("Fatal error, can't open config file '{path}': {reason}")]
    CantOpen { path: String, reason: String },
    /// `name.option` lines need a module, and rockslot loads none.
    #[error("Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting")]
    ModuleConfigWithoutModule,
    /// A valid setting that asks for something rockslot cannot do yet.
    #[error("{0}")]
    NotImplemented(String),
}

fn fatal_report(context: Option<&(usize, String)>, message: &str) -> String {
    let mut out = format!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n");
    if let Some((line, text)) = context {
        out.push_str(&format!(
            "Reading the configuration file, at line {line}\n>>> '{text}'\n"
        ));
    }
    out.push_str(message);
    out
}

/// A `rename-command <from> <to>` line, kept for the server, which owns the command table. An
/// empty `to` removes the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameCommand {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
    /// Where the line was, for [`RenameCommand::error`].
    pub line: usize,
    pub text: String,
}

impl RenameCommand {
    /// The startup error Redis gives for this line, e.g. with "No such command in
    /// rename-command" or "Target command name already exists".
    pub fn error(&self, message: &str) -> ConfigError {
        ConfigError::Fatal {
            context: Some((self.line, self.text.clone())),
            message: message.to_string(),
        }
    }
}

/// The node's configuration: one value per directive plus the file-only directives.
#[derive(Clone)]
pub struct Config {
    /// Indexed like [`DIRECTIVES`].
    values: Vec<Value>,
    /// Which directives a file or the command line set.
    explicit: Vec<bool>,
    config_file: Option<PathBuf>,
    renames: Vec<RenameCommand>,
    /// `user` lines, arguments after the directive name.
    users: Vec<Vec<String>>,
    /// `loadmodule` lines, path first.
    modules: Vec<Vec<String>>,
    /// `module.option value` lines.
    module_configs: Vec<(String, String)>,
}

impl Config {
    /// Redis's defaults; `cwd` is the default `dir`.
    fn defaults(cwd: &Path) -> Config {
        Config {
            values: DIRECTIVES
                .iter()
                .map(|d| Value::default_for(d, cwd))
                .collect(),
            explicit: vec![false; DIRECTIVES.len()],
            config_file: None,
            renames: Vec::new(),
            users: Vec::new(),
            modules: Vec::new(),
            module_configs: Vec::new(),
        }
    }

    /// Loads the configuration from the command line (without the program name), exactly as
    /// redis-server does: an optional config file first, `-` for stdin, then `--name args...`
    /// options. No arguments means the defaults.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        parse::from_args(args, &mut std::io::stdin().lock())
    }

    /// Loads the configuration from redis.conf text, as if it were a file without a path.
    pub fn from_text(text: &str) -> Result<Config, ConfigError> {
        parse::from_text(text.as_bytes())
    }

    /// The absolute path of the config file, for CONFIG REWRITE and INFO's `config_file`.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// The value exactly as CONFIG GET prints it; the name may be an alias. Unknown names
    /// give "".
    pub fn get_str(&self, name: &str) -> String {
        lookup(name.as_bytes())
            .map(|e| self.display(e.index))
            .unwrap_or_default()
    }

    /// A numeric directive's value; memory sizes in bytes. Unsigned values beyond `i64`
    /// saturate, `maxmemory-clients` percentages are negative (-10 for 10%), and anything that
    /// is not a number gives 0.
    pub fn get_int(&self, name: &str) -> i64 {
        let Some(e) = lookup(name.as_bytes()) else {
            return 0;
        };
        match (e.directive().kind, &self.values[e.index]) {
            (Kind::Num { unsigned: true, .. }, Value::Num(v)) if *v < 0 => i64::MAX,
            (_, Value::Num(v)) => *v,
            _ => 0,
        }
    }

    /// `repl-backlog-size` in bytes, at least Redis's CONFIG_REPL_BACKLOG_MIN_SIZE (16 KiB).
    pub fn repl_backlog_size(&self) -> usize {
        self.get_int("repl-backlog-size").max(16 * 1024) as usize
    }

    /// `repl-timeout` (seconds in the configuration, at least one).
    pub fn repl_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.get_int("repl-timeout").max(1) as u64)
    }

    /// A yes/no directive's value; false for anything else.
    pub fn get_bool(&self, name: &str) -> bool {
        matches!(
            lookup(name.as_bytes()).map(|e| &self.values[e.index]),
            Some(Value::Bool(true))
        )
    }

    /// `notify-keyspace-events` as Redis's `NOTIFY_*` bits.
    pub fn notify_keyspace_events(&self) -> u32 {
        match lookup(b"notify-keyspace-events").map(|e| &self.values[e.index]) {
            Some(Value::Notify(flags)) => *flags,
            _ => 0,
        }
    }

    /// The hard `client-output-buffer-limit` of the pubsub class, in bytes (0: none).
    pub fn pubsub_hard_limit(&self) -> u64 {
        self.hard_buffer_limit(2)
    }

    /// The hard `client-output-buffer-limit` of the replica class, in bytes (0: none).
    pub fn replica_hard_limit(&self) -> u64 {
        self.hard_buffer_limit(1)
    }

    /// The hard limit of class `class` (normal, replica, pubsub) of `client-output-buffer-limit`.
    fn hard_buffer_limit(&self, class: usize) -> u64 {
        match lookup(b"client-output-buffer-limit").map(|e| &self.values[e.index]) {
            Some(Value::BufferLimits(limits)) => limits[class].hard_bytes,
            _ => 0,
        }
    }

    /// Whether cluster mode is on (always false until cluster mode exists: loading refuses it).
    pub fn cluster_enabled(&self) -> bool {
        self.get_bool("cluster-enabled")
    }

    /// The `rename-command` lines, in file order.
    pub fn renamed_commands(&self) -> &[RenameCommand] {
        &self.renames
    }

    /// Whether a directive's value must be hidden from logs, SLOWLOG and MONITOR.
    pub fn is_sensitive(name: &[u8]) -> bool {
        lookup(name).is_some_and(|e| e.directive().sensitive)
    }

    /// CONFIG GET p1 p2 ...: each matching directive once, as (name, value). An exact name is
    /// echoed as the client spelled it; a glob pattern (containing `*`, `?` or `[`) matches
    /// names and aliases case-insensitively, hidden directives excepted.
    pub fn config_get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut found: Vec<(Entry, String)> = Vec::new();
        for pattern in patterns {
            if !pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
                let name = String::from_utf8_lossy(pattern).into_owned();
                if let Some(e) = lookup(pattern) {
                    if seen.insert(name.to_ascii_lowercase()) {
                        found.push((e, name));
                    }
                }
                continue;
            }
            for e in table::entries() {
                if !e.directive().hidden
                    && !seen.contains(e.name())
                    && string_match(pattern, e.name().as_bytes(), true)
                {
                    seen.insert(e.name().to_string());
                    found.push((e, e.name().to_string()));
                }
            }
        }
        found.sort_by_key(|(e, _)| (e.index, e.alias));
        found
            .into_iter()
            .map(|(e, name)| (name, self.display(e.index)))
            .collect()
    }

    /// CONFIG SET n1 v1 n2 v2 ... from a client that is not local (see
    /// [`Config::config_set_from`]).
    pub fn config_set(
        &mut self,
        pairs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Vec<&'static str>, String> {
        self.config_set_from(pairs, false)
    }

    /// CONFIG SET: every pair is checked (name known, mutable, allowed, not given twice),
    /// then set in order; any failure restores every value and returns Redis's full error
    /// text. On success, the canonical names whose value changed, for the server to act on.
    /// `client_is_local` matters when `enable-protected-configs` is `local`.
    pub fn config_set_from(
        &mut self,
        pairs: &[(Vec<u8>, Vec<u8>)],
        client_is_local: bool,
    ) -> Result<Vec<&'static str>, String> {
        let entries = self.check_set_names(pairs, client_is_local)?;
        let before = self.values.clone();
        for (entry, (_, value)) in entries.iter().zip(pairs) {
            let d = entry.directive();
            let args: Vec<Vec<u8>> = if d.multi_arg {
                split_spaces(value)
            } else {
                vec![value.clone()]
            };
            if let Err(reason) = self.set_value(entry.index, &args, false) {
                self.values = before;
                return Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {reason}",
                    entry.name()
                ));
            }
        }
        let mut changed = Vec::new();
        for entry in &entries {
            let name = entry.directive().name;
            if self.values[entry.index] != before[entry.index] && !changed.contains(&name) {
                changed.push(name);
            }
        }
        Ok(changed)
    }

    /// The first pass of CONFIG SET, with Redis's precedence of errors: an unknown name wins
    /// over everything, otherwise the first immutable, protected or repeated one is reported.
    /// A name and its alias are different entries, so giving both is not a repetition.
    fn check_set_names(
        &self,
        pairs: &[(Vec<u8>, Vec<u8>)],
        local: bool,
    ) -> Result<Vec<Entry>, String> {
        let mut entries: Vec<Entry> = Vec::with_capacity(pairs.len());
        let mut unknown: Option<String> = None;
        let mut failure: Option<String> = None;
        for (name, _) in pairs {
            let Some(entry) = lookup(name) else {
                if unknown.is_none() && failure.is_none() {
                    unknown = Some(String::from_utf8_lossy(name).into_owned());
                }
                continue;
            };
            if unknown.is_some() || failure.is_some() {
                continue;
            }
            let d = entry.directive();
            let shown = String::from_utf8_lossy(name);
            let reason = if !d.mutable {
                Some("can't set immutable config")
            } else if d.protected && !self.protected_allowed(local) {
                Some("can't set protected config")
            } else if entries.contains(&entry) {
                Some("duplicate parameter")
            } else {
                None
            };
            if let Some(reason) = reason {
                failure = Some(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{shown}') - {reason}"
                ));
                continue;
            }
            entries.push(entry);
        }
        if let Some(name) = unknown {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            ));
        }
        match failure {
            Some(text) => Err(text),
            None => Ok(entries),
        }
    }

    fn protected_allowed(&self, local: bool) -> bool {
        let setting = lookup(b"enable-protected-configs").map(|e| &self.values[e.index]);
        match setting {
            Some(Value::Enum(v)) => {
                *v == PROTECTED_ACTION_YES || (*v == PROTECTED_ACTION_LOCAL && local)
            }
            _ => false,
        }
    }

    /// Sets a directive on the server's own behalf, bypassing CONFIG SET's immutable and
    /// protected checks: REPLICAOF changing `replicaof`, the default `pidfile` of a daemon.
    /// The change is what a later CONFIG REWRITE persists.
    pub fn set_internal(&mut self, name: &str, args: &[&[u8]]) -> Result<(), String> {
        let entry = lookup(name.as_bytes()).ok_or_else(|| format!("unknown directive '{name}'"))?;
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        self.set_value(entry.index, &args, false)
    }

    /// Sets one directive outside a config file, then applies what Redis applies right away.
    fn set_value(
        &mut self,
        index: usize,
        args: &[Vec<u8>],
        reading_file: bool,
    ) -> Result<(), String> {
        let cwd = self.dir();
        let mut save_loaded = false;
        let mut ctx = SetContext {
            cwd: &cwd,
            reading_file,
            save_loaded: &mut save_loaded,
        };
        self.values[index] = Value::parse(&DIRECTIVES[index], &self.values[index], args, &mut ctx)?;
        self.clamp_hz();
        Ok(())
    }

    /// Redis accepts any non-negative `hz` but runs at 1..=500, and shows the clamped value.
    fn clamp_hz(&mut self) {
        if let Some(Value::Num(hz)) = table::index_of("hz").map(|i| &mut self.values[i]) {
            *hz = (*hz).clamp(HZ_MIN, HZ_MAX);
        }
    }

    /// The working directory (`dir`).
    fn dir(&self) -> PathBuf {
        match table::index_of("dir").map(|i| &self.values[i]) {
            Some(Value::Dir(path)) => path.clone(),
            _ => PathBuf::from("/"),
        }
    }

    fn display(&self, index: usize) -> String {
        self.values[index].display(&DIRECTIVES[index])
    }

    /// CONFIG REWRITE: rewrites the config file in place (see rewrite.rs); the error is the
    /// full reply text.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .config_file()
            .ok_or_else(|| "ERR The server is running without a config file".to_string())?;
        rewrite::rewrite_file(self, path).map_err(|e| format!("ERR Rewriting config file: {e}"))
    }

    /// The directives a file or the command line set to something other than the default,
    /// which rockslot does not act on yet (file-only directives included), for a startup log
    /// line each.
    pub fn not_yet_effective(&self) -> Vec<String> {
        let cwd = self.dir();
        let mut names: Vec<String> = DIRECTIVES
            .iter()
            .enumerate()
            .filter(|(i, d)| {
                self.explicit[*i] && !d.effective && self.values[*i] != Value::default_for(d, &cwd)
            })
            .map(|(_, d)| d.name.to_string())
            .collect();
        for (present, name) in [
            (!self.renames.is_empty(), "rename-command"),
            (!self.users.is_empty(), "user"),
            (!self.modules.is_empty(), "loadmodule"),
        ] {
            if present {
                names.push(name.to_string());
            }
        }
        names.extend(self.module_configs.iter().map(|(name, _)| name.clone()));
        names
    }
}

/// Shows where the configuration came from but no values, which include passwords.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("config_file", &self.config_file)
            .finish_non_exhaustive()
    }
}

/// CONFIG SET's split of a multi-argument value: on single spaces, empty pieces kept (Redis's
/// `sdssplitlen`), and no pieces at all for an empty value.
fn split_spaces(value: &[u8]) -> Vec<Vec<u8>> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|b| *b == b' ').map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod tests;
