//! Loading redis.conf text and redis-server's command line.
//!
//! BEHAVIOR, as Redis 7.0.15's `loadServerConfigFromString` and `main`:
//! - The text is split on `\n`; each line is trimmed of blanks and `\r`, skipped when empty or
//!   a `#` comment, and split into arguments with `split_args` (quotes and escapes). The
//!   directive name is case-insensitive.
//! - A known directive takes exactly one value, unless it is multi-argument (`save`, `bind`,
//!   `client-output-buffer-limit`, ...); a multi-argument directive given one non-empty value
//!   is split again, so `save "3600 1 300 100"` and `--bind "127.0.0.1 ::1"` work.
//! - File-only directives: `include <path-or-glob>` loads another file in place (its lines are
//!   numbered on their own in error reports); `rename-command`, `user` and `loadmodule` are
//!   stored; `module.option value` lines are stored; `sentinel` alone is ignored; the three
//!   directives Redis 7.0 deprecated (`list-max-ziplist-entries`, `list-max-ziplist-value`,
//!   `lua-replicate-commands`) are ignored.
//! - After each text (each included file too): the log file must be openable, `replicaof` is
//!   refused in cluster mode, and `hz` is clamped to 1..=500.
//! - The command line: a first argument not starting with `-` is the config file; `-` first or
//!   last reads stdin; every `--name` starts a new line and the arguments after it are quoted
//!   with `sdscatrepr`. The text loaded is file + stdin + "\n" + options, so an option's line
//!   number counts from the end of the file.
//!
//! Redis changes its working directory at each `dir` line, which also moves where a later
//! relative `include` or `logfile` is found. Loading tracks that directory instead of calling
//! chdir, so loading has no process-wide effect; the server changes into `dir` at startup.

use std::io::Read;
use std::path::{Path, PathBuf};

use formats::glob::string_match;
use formats::resp::split_args;

use super::table::{lookup, DIRECTIVES};
use super::text::{absolute_path, repr, strerror, trim};
use super::value::{SetContext, Value};
use super::{Config, ConfigError, RenameCommand};

/// How deep `include` may nest; Redis recurses until its stack runs out.
const MAX_INCLUDE_DEPTH: usize = 32;
/// How many files one glob may name, so a pattern cannot enumerate a huge tree.
const MAX_GLOB_MATCHES: usize = 4096;

/// Directives Redis 7.0 ignores for compatibility, with the exact argument count it accepts.
const DEPRECATED: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

/// `Config::from_args` with a replaceable stdin.
pub fn from_args(args: &[String], stdin: &mut dyn Read) -> Result<Config, ConfigError> {
    let cwd = current_dir();
    let mut config = Config::defaults(&cwd);
    if args.is_empty() {
        return finish(config);
    }
    // redis-server switches to Sentinel when any argument is exactly --sentinel.
    if args.iter().any(|a| a == "--sentinel") {
        return Err(ConfigError::NotImplemented(
            "Sentinel mode is not implemented in rockslot".to_string(),
        ));
    }
    let command_line = CommandLine::parse(args);
    let mut text = Vec::new();
    if let Some(name) = &command_line.config_file {
        let path = absolute_path(&cwd, name);
        text = read_config_source(&path.to_string_lossy(), &cwd)?;
        config.config_file = Some(path);
    }
    if command_line.from_stdin {
        stdin
            .read_to_end(&mut text)
            .map_err(|e| ConfigError::CantOpen {
                path: "-".to_string(),
                reason: strerror(&e),
            })?;
    }
    text.push(b'\n');
    text.extend_from_slice(&command_line.options);
    Loader::new(&mut config, cwd).load_text(&text)?;
    finish(config)
}

/// `Config::from_text`.
pub fn from_text(text: &[u8]) -> Result<Config, ConfigError> {
    let cwd = current_dir();
    let mut config = Config::defaults(&cwd);
    Loader::new(&mut config, cwd).load_text(text)?;
    finish(config)
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
}

/// The checks Redis makes once everything is read, plus rockslot's refusals.
fn finish(config: Config) -> Result<Config, ConfigError> {
    if !config.module_configs.is_empty() && config.modules.is_empty() {
        return Err(ConfigError::ModuleConfigWithoutModule);
    }
    if config.cluster_enabled() {
        return Err(ConfigError::NotImplemented(
            "cluster-enabled yes is not implemented yet in rockslot (cluster mode is planned); start without \
             cluster-enabled"
                .to_string(),
        ));
    }
    Ok(config)
}

/// redis-server's command line turned into config text.
#[derive(Debug, PartialEq, Eq)]
struct CommandLine {
    config_file: Option<String>,
    from_stdin: bool,
    options: Vec<u8>,
}

impl CommandLine {
    /// A port of the option loop in Redis 7.0.15's `main`, including its special cases for a
    /// valueless `--save` (meaning `save ""`) and `--sentinel`.
    fn parse(args: &[String]) -> CommandLine {
        let n = args.len();
        let mut j = 0;
        let mut config_file = None;
        if args.first().is_some_and(|a| !a.starts_with('-')) {
            config_file = Some(args[0].clone());
            j = 1;
        }
        let mut from_stdin = false;
        let mut options: Vec<u8> = Vec::new();
        let mut handled_last = true;
        let next_is_option = |j: usize| args.get(j + 1).is_some_and(|a| a.starts_with("--"));
        while j < n {
            let arg = &args[j];
            if arg == "-" && (j == 0 || j == n - 1) {
                from_stdin = true;
            } else if handled_last && arg.starts_with("--") {
                if !options.is_empty() {
                    options.push(b'\n');
                }
                options.extend_from_slice(&arg.as_bytes()[2..]);
                options.push(b' ');
                let words = split_args(arg.as_bytes()).map_or(0, |w| w.len());
                if words == 1 {
                    // Only a name, like `--port`: the next arguments are its values.
                    handled_last = false;
                    let save = arg.eq_ignore_ascii_case("--save");
                    let sentinel = arg.eq_ignore_ascii_case("--sentinel");
                    if save && j != n - 1 && next_is_option(j) {
                        options.extend_from_slice(b"\"\"");
                        handled_last = true;
                    } else if save && j == n - 1 {
                        options.extend_from_slice(b"\"\"");
                    } else if sentinel && j != n - 1 && next_is_option(j) {
                        handled_last = true;
                    }
                } else {
                    // Name and value in one argument, like "--port 6380".
                    handled_last = true;
                }
            } else {
                options.extend_from_slice(repr(arg.as_bytes()).as_bytes());
                options.push(b' ');
                handled_last = true;
            }
            j += 1;
        }
        CommandLine {
            config_file,
            from_stdin,
            options,
        }
    }
}

/// The content of a config file, or of every file a glob names (sorted, concatenated; none is
/// fine), as Redis's `loadServerConfig` reads them. Relative names start at `cwd`.
fn read_config_source(name: &str, cwd: &Path) -> Result<Vec<u8>, ConfigError> {
    let cant_open = |path: &str, e: std::io::Error| ConfigError::CantOpen {
        path: path.to_string(),
        reason: strerror(&e),
    };
    if !name.contains(['*', '?', '[']) {
        return std::fs::read(cwd.join(name)).map_err(|e| cant_open(name, e));
    }
    let mut text = Vec::new();
    for path in glob(cwd, name) {
        let bytes = std::fs::read(&path).map_err(|e| cant_open(&path.to_string_lossy(), e))?;
        text.extend_from_slice(&bytes);
    }
    Ok(text)
}

/// The existing paths matching a glob(3)-style pattern, sorted. Wildcards may appear in any
/// component; as in glob(3), they do not match a leading `.` unless the pattern has one.
fn glob(cwd: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        cwd.to_path_buf()
    }];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            if !component.contains(['*', '?', '[']) {
                let path = base.join(component);
                if path.symlink_metadata().is_ok() {
                    next.push(path);
                }
                continue;
            }
            let Ok(dir) = std::fs::read_dir(base) else {
                continue;
            };
            for entry in dir.flatten() {
                let name = entry.file_name();
                let name = name.as_encoded_bytes();
                let hidden_ok = !name.starts_with(b".") || component.starts_with('.');
                if hidden_ok && string_match(component.as_bytes(), name, false) {
                    next.push(entry.path());
                }
            }
        }
        next.truncate(MAX_GLOB_MATCHES);
        found = next;
    }
    found.sort();
    found
}

/// Why one line failed: a message to report with the line, or an error from an include that
/// already carries its own context.
enum LineError {
    Message(String),
    Nested(ConfigError),
}

impl From<String> for LineError {
    fn from(message: String) -> LineError {
        LineError::Message(message)
    }
}

impl From<&str> for LineError {
    fn from(message: &str) -> LineError {
        LineError::Message(message.to_string())
    }
}

/// The state of one load: Redis keeps it in globals (`reading_config_file`, the static
/// `save_loaded`, the process's working directory).
struct Loader<'a> {
    config: &'a mut Config,
    cwd: PathBuf,
    reading_file: bool,
    save_loaded: bool,
    depth: usize,
}

impl<'a> Loader<'a> {
    fn new(config: &'a mut Config, cwd: PathBuf) -> Loader<'a> {
        Loader {
            config,
            cwd,
            reading_file: false,
            save_loaded: false,
            depth: 0,
        }
    }

    /// Redis's `loadServerConfigFromString`.
    fn load_text(&mut self, text: &[u8]) -> Result<(), ConfigError> {
        self.reading_file = true;
        for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
            let line = trim(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let fail = |message: String| ConfigError::Fatal {
                context: Some((i + 1, String::from_utf8_lossy(line).into_owned())),
                message,
            };
            let Some(mut argv) = split_args(line) else {
                return Err(fail("Unbalanced quotes in configuration line".to_string()));
            };
            if argv.is_empty() {
                continue;
            }
            argv[0].make_ascii_lowercase();
            match self.directive(&argv, i + 1, line) {
                Ok(()) => {}
                Err(LineError::Message(message)) => return Err(fail(message)),
                Err(LineError::Nested(e)) => return Err(e),
            }
        }
        self.after_text()?;
        self.reading_file = false;
        Ok(())
    }

    /// Redis's checks at the end of each loaded text.
    fn after_text(&mut self) -> Result<(), ConfigError> {
        let fatal = |message: String| ConfigError::Fatal {
            context: None,
            message,
        };
        let logfile = self.config.get_str("logfile");
        if !logfile.is_empty() {
            let path = self.cwd.join(&logfile);
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|e| fatal(format!("Can't open the log file: {}", strerror(&e))))?;
        }
        if self.config.cluster_enabled() && !self.config.get_str("replicaof").is_empty() {
            return Err(fatal(
                "replicaof directive not allowed in cluster mode".to_string(),
            ));
        }
        self.config.clamp_hz();
        Ok(())
    }

    /// One directive line, `argv[0]` already lowercase.
    fn directive(
        &mut self,
        argv: &[Vec<u8>],
        line_number: usize,
        line: &[u8],
    ) -> Result<(), LineError> {
        let name = argv[0].as_slice();
        let argc = argv.len();
        if let Some(entry) = lookup(name) {
            let d = entry.directive();
            if !d.multi_arg && argc != 2 {
                return Err("wrong number of arguments".into());
            }
            let args = if d.multi_arg && argc == 2 && !argv[1].is_empty() {
                // Unbalanced quotes leave no arguments, as Redis's NULL split does.
                split_args(&argv[1]).unwrap_or_default()
            } else {
                argv[1..].to_vec()
            };
            self.set(entry.index, &args)?;
            self.config.explicit[entry.index] = true;
            return Ok(());
        }
        if argc == 2 && DEPRECATED.iter().any(|d| d.as_bytes() == name) {
            return Ok(());
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match name {
            b"include" if argc == 2 => self.include(&text(&argv[1])).map_err(LineError::Nested),
            b"rename-command" if argc == 3 => {
                self.config.renames.push(RenameCommand {
                    from: argv[1].clone(),
                    to: argv[2].clone(),
                    line: line_number,
                    text: text(line),
                });
                Ok(())
            }
            b"user" if argc >= 2 => {
                self.config
                    .users
                    .push(argv[1..].iter().map(|a| text(a)).collect());
                Ok(())
            }
            b"loadmodule" if argc >= 2 => {
                self.config
                    .modules
                    .push(argv[1..].iter().map(|a| text(a)).collect());
                Ok(())
            }
            _ if name.contains(&b'.') => {
                if argc != 2 {
                    return Err("Module config specified without value".into());
                }
                self.config
                    .module_configs
                    .push((text(name), text(&argv[1])));
                Ok(())
            }
            // `sentinel` alone is how a file asks for Sentinel mode, which only the command
            // line can select; Redis ignores it here.
            b"sentinel" if argc == 1 => Ok(()),
            b"sentinel" => Err("sentinel directive while not in sentinel mode".into()),
            _ => Err("Bad directive or wrong number of arguments".into()),
        }
    }

    fn set(&mut self, index: usize, args: &[Vec<u8>]) -> Result<(), String> {
        let mut ctx = SetContext {
            cwd: &self.cwd,
            reading_file: self.reading_file,
            save_loaded: &mut self.save_loaded,
        };
        let value = Value::parse(
            &DIRECTIVES[index],
            &self.config.values[index],
            args,
            &mut ctx,
        )?;
        if let Value::Dir(path) = &value {
            self.cwd = path.clone();
        }
        self.config.values[index] = value;
        Ok(())
    }

    /// `include`: Redis's `loadServerConfig(name, 0, NULL)`, a nested load of the file alone.
    fn include(&mut self, name: &str) -> Result<(), ConfigError> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(ConfigError::Fatal {
                context: None,
                message: format!(
                    "include directives nest deeper than {MAX_INCLUDE_DEPTH} files ('{name}')"
                ),
            });
        }
        let text = read_config_source(name, &self.cwd)?;
        self.depth += 1;
        let result = self.load_text(&text);
        self.depth -= 1;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    fn options(args: &[&str]) -> String {
        String::from_utf8(CommandLine::parse(&strings(args)).options).expect("utf8")
    }

    #[test]
    fn command_line_becomes_config_lines() {
        assert_eq!(
            options(&["--port", "7000", "--appendonly", "yes"]),
            "port \"7000\" \nappendonly \"yes\" "
        );
        assert_eq!(options(&["--save", ""]), "save \"\" ");
        assert_eq!(
            options(&["--save", "--port", "1"]),
            "save \"\"\nport \"1\" "
        );
        assert_eq!(
            options(&["--port", "1", "--save"]),
            "port \"1\" \nsave \"\""
        );
        assert_eq!(
            options(&["--bind", "127.0.0.1 ::1"]),
            "bind \"127.0.0.1 ::1\" "
        );
        assert_eq!(
            options(&["--port 7000", "--loglevel", "verbose"]),
            "port 7000 \nloglevel \"verbose\" "
        );
        assert_eq!(
            options(&["--save", "900", "1", "300", "10"]),
            "save \"900\" \"1\" \"300\" \"10\" "
        );
        assert_eq!(
            options(&["--requirepass", "a\"b\n"]),
            "requirepass \"a\\\"b\\n\" "
        );
        // An option value that itself starts with `--` is taken as a value.
        assert_eq!(options(&["--masterauth", "--x"]), "masterauth \"--x\" ");
    }

    #[test]
    fn command_line_file_and_stdin() {
        let cl = CommandLine::parse(&strings(&["redis.conf", "--port", "1"]));
        assert_eq!(cl.config_file.as_deref(), Some("redis.conf"));
        assert!(!cl.from_stdin);
        let cl = CommandLine::parse(&strings(&["-", "--port", "1"]));
        assert_eq!(cl.config_file, None);
        assert!(cl.from_stdin);
        let cl = CommandLine::parse(&strings(&["redis.conf", "--port", "1", "-"]));
        assert!(cl.from_stdin);
        assert_eq!(String::from_utf8_lossy(&cl.options), "port \"1\" ");
    }

    #[test]
    fn glob_finds_sorted_files_and_skips_dotfiles() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            std::fs::write(dir.path().join(name), "").expect("write");
        }
        let found = glob(dir.path(), "*.conf");
        let names: Vec<String> = found
            .iter()
            .map(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(names, ["a.conf", "b.conf"]);
        let pattern = format!("{}/?.conf", dir.path().display());
        assert_eq!(glob(Path::new("/"), &pattern).len(), 2);
        assert!(glob(dir.path(), "nomatch*.conf").is_empty());
    }
}
