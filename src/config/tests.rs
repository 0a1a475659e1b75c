//! Tests of the configuration module as a whole, against captures from redis-server 7.0.15.

use std::path::Path;

use super::parse;
use super::rewrite::rewrite_content;
use super::*;

/// `CONFIG GET *` on a fresh redis-server 7.0.15 (Debian 7.0.15-1~deb12u10) started without a
/// config file, sorted by name; `dir` (the working directory) left out. The server was started
/// with `--port`, so `port`, `daemonize` and `pidfile` are given their no-argument defaults.
const REDIS_DEFAULTS: &[(&str, &str)] = &[
    ("acl-pubsub-default", "resetchannels"),
    ("aclfile", ""),
    ("acllog-max-len", "128"),
    ("active-defrag-cycle-max", "25"),
    ("active-defrag-cycle-min", "1"),
    ("active-defrag-ignore-bytes", "104857600"),
    ("active-defrag-max-scan-fields", "1000"),
    ("active-defrag-threshold-lower", "10"),
    ("active-defrag-threshold-upper", "100"),
    ("active-expire-effort", "1"),
    ("activedefrag", "no"),
    ("activerehashing", "yes"),
    ("always-show-logo", "no"),
    ("aof-disable-auto-gc", "no"),
    ("aof-load-truncated", "yes"),
    ("aof-rewrite-incremental-fsync", "yes"),
    ("aof-timestamp-enabled", "no"),
    ("aof-use-rdb-preamble", "yes"),
    ("aof_rewrite_cpulist", ""),
    ("appenddirname", "appendonlydir"),
    ("appendfilename", "appendonly.aof"),
    ("appendfsync", "everysec"),
    ("appendonly", "no"),
    ("auto-aof-rewrite-min-size", "67108864"),
    ("auto-aof-rewrite-percentage", "100"),
    ("bgsave_cpulist", ""),
    ("bind-source-addr", ""),
    ("bind", "* -::*"),
    ("bio_cpulist", ""),
    ("busy-reply-threshold", "5000"),
    (
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    ("client-query-buffer-limit", "1073741824"),
    ("cluster-allow-pubsubshard-when-down", "yes"),
    ("cluster-allow-reads-when-down", "no"),
    ("cluster-allow-replica-migration", "yes"),
    ("cluster-announce-bus-port", "0"),
    ("cluster-announce-hostname", ""),
    ("cluster-announce-ip", ""),
    ("cluster-announce-port", "0"),
    ("cluster-announce-tls-port", "0"),
    ("cluster-config-file", "nodes.conf"),
    ("cluster-enabled", "no"),
    ("cluster-link-sendbuf-limit", "0"),
    ("cluster-migration-barrier", "1"),
    ("cluster-node-timeout", "15000"),
    ("cluster-port", "0"),
    ("cluster-preferred-endpoint-type", "ip"),
    ("cluster-replica-no-failover", "no"),
    ("cluster-replica-validity-factor", "10"),
    ("cluster-require-full-coverage", "yes"),
    ("cluster-slave-no-failover", "no"),
    ("cluster-slave-validity-factor", "10"),
    ("crash-log-enabled", "yes"),
    ("crash-memcheck-enabled", "yes"),
    ("daemonize", "no"),
    ("databases", "16"),
    ("dbfilename", "dump.rdb"),
    ("disable-thp", "yes"),
    ("dynamic-hz", "yes"),
    ("enable-debug-command", "no"),
    ("enable-module-command", "no"),
    ("enable-protected-configs", "no"),
    ("hash-max-listpack-entries", "512"),
    ("hash-max-listpack-value", "64"),
    ("hash-max-ziplist-entries", "512"),
    ("hash-max-ziplist-value", "64"),
    ("hll-sparse-max-bytes", "3000"),
    ("hz", "10"),
    ("ignore-warnings", ""),
    ("io-threads-do-reads", "no"),
    ("io-threads", "1"),
    ("jemalloc-bg-thread", "yes"),
    ("latency-monitor-threshold", "0"),
    ("latency-tracking-info-percentiles", "50 99 99.9"),
    ("latency-tracking", "yes"),
    ("lazyfree-lazy-eviction", "no"),
    ("lazyfree-lazy-expire", "no"),
    ("lazyfree-lazy-server-del", "no"),
    ("lazyfree-lazy-user-del", "no"),
    ("lazyfree-lazy-user-flush", "no"),
    ("lfu-decay-time", "1"),
    ("lfu-log-factor", "10"),
    ("list-compress-depth", "0"),
    ("list-max-listpack-size", "-2"),
    ("list-max-ziplist-size", "-2"),
    ("logfile", ""),
    ("loglevel", "notice"),
    ("lua-time-limit", "5000"),
    ("masterauth", ""),
    ("masteruser", ""),
    ("maxclients", "10000"),
    ("maxmemory-clients", "0"),
    ("maxmemory-eviction-tenacity", "10"),
    ("maxmemory-policy", "noeviction"),
    ("maxmemory-samples", "5"),
    ("maxmemory", "0"),
    ("min-replicas-max-lag", "10"),
    ("min-replicas-to-write", "0"),
    ("min-slaves-max-lag", "10"),
    ("min-slaves-to-write", "0"),
    ("no-appendfsync-on-rewrite", "no"),
    ("notify-keyspace-events", ""),
    ("oom-score-adj-values", "0 200 800"),
    ("oom-score-adj", "no"),
    ("pidfile", ""),
    ("port", "6379"),
    ("proc-title-template", "{title} {listen-addr} {server-mode}"),
    ("propagation-error-behavior", "ignore"),
    ("protected-mode", "yes"),
    ("proto-max-bulk-len", "536870912"),
    ("rdb-del-sync-files", "no"),
    ("rdb-save-incremental-fsync", "yes"),
    ("rdbchecksum", "yes"),
    ("rdbcompression", "yes"),
    ("repl-backlog-size", "1048576"),
    ("repl-backlog-ttl", "3600"),
    ("repl-disable-tcp-nodelay", "no"),
    ("repl-diskless-load", "disabled"),
    ("repl-diskless-sync-delay", "5"),
    ("repl-diskless-sync-max-replicas", "0"),
    ("repl-diskless-sync", "yes"),
    ("repl-ping-replica-period", "10"),
    ("repl-ping-slave-period", "10"),
    ("repl-timeout", "60"),
    ("replica-announce-ip", ""),
    ("replica-announce-port", "0"),
    ("replica-announced", "yes"),
    ("replica-ignore-disk-write-errors", "no"),
    ("replica-ignore-maxmemory", "yes"),
    ("replica-lazy-flush", "no"),
    ("replica-priority", "100"),
    ("replica-read-only", "yes"),
    ("replica-serve-stale-data", "yes"),
    ("replicaof", ""),
    ("requirepass", ""),
    ("sanitize-dump-payload", "no"),
    ("save", "3600 1 300 100 60 10000"),
    ("server_cpulist", ""),
    ("set-max-intset-entries", "512"),
    ("set-proc-title", "yes"),
    ("shutdown-on-sigint", "default"),
    ("shutdown-on-sigterm", "default"),
    ("shutdown-timeout", "10"),
    ("slave-announce-ip", ""),
    ("slave-announce-port", "0"),
    ("slave-ignore-maxmemory", "yes"),
    ("slave-lazy-flush", "no"),
    ("slave-priority", "100"),
    ("slave-read-only", "yes"),
    ("slave-serve-stale-data", "yes"),
    ("slaveof", ""),
    ("slowlog-log-slower-than", "10000"),
    ("slowlog-max-len", "128"),
    ("socket-mark-id", "0"),
    ("stop-writes-on-bgsave-error", "yes"),
    ("stream-node-max-bytes", "4096"),
    ("stream-node-max-entries", "100"),
    ("supervised", "no"),
    ("syslog-enabled", "no"),
    ("syslog-facility", "local0"),
    ("syslog-ident", "redis"),
    ("tcp-backlog", "511"),
    ("tcp-keepalive", "300"),
    ("timeout", "0"),
    ("tls-auth-clients", "yes"),
    ("tls-ca-cert-dir", ""),
    ("tls-ca-cert-file", ""),
    ("tls-cert-file", ""),
    ("tls-ciphersuites", ""),
    ("tls-ciphers", ""),
    ("tls-client-cert-file", ""),
    ("tls-client-key-file-pass", ""),
    ("tls-client-key-file", ""),
    ("tls-cluster", "no"),
    ("tls-dh-params-file", ""),
    ("tls-key-file-pass", ""),
    ("tls-key-file", ""),
    ("tls-port", "0"),
    ("tls-prefer-server-ciphers", "no"),
    ("tls-protocols", ""),
    ("tls-replication", "no"),
    ("tls-session-cache-size", "20480"),
    ("tls-session-cache-timeout", "300"),
    ("tls-session-caching", "yes"),
    ("tracking-table-max-keys", "1000000"),
    ("unixsocketperm", "0"),
    ("unixsocket", ""),
    ("zset-max-listpack-entries", "128"),
    ("zset-max-listpack-value", "64"),
    ("zset-max-ziplist-entries", "128"),
    ("zset-max-ziplist-value", "64"),
];

/// Loads text with the working directory pinned, so `dir` is predictable.
fn load(text: &str) -> Config {
    Config::from_text(text).unwrap_or_else(|e| panic!("config should load: {e}"))
}

fn load_err(text: &str) -> String {
    match Config::from_text(text) {
        Ok(_) => panic!("config should be refused: {text}"),
        Err(e) => e.to_string(),
    }
}

fn fatal(line: usize, text: &str, message: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{message}"
    )
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

fn from_args(list: &[&str]) -> Result<Config, ConfigError> {
    parse::from_args(&args(list), &mut std::io::empty())
}

fn get(config: &Config, patterns: &[&str]) -> Vec<(String, String)> {
    let patterns: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    config.config_get(&patterns)
}

fn set(config: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    config.config_set(&pairs)
}

#[test]
fn defaults_match_a_fresh_redis() {
    let config = load("");
    for (name, value) in REDIS_DEFAULTS {
        assert_eq!(
            get(&config, &[name]),
            vec![(name.to_string(), value.to_string())],
            "{name}"
        );
    }
    let mut names: Vec<String> = get(&config, &["*"]).into_iter().map(|(n, _)| n).collect();
    names.retain(|n| n != "dir");
    names.sort();
    let mut expected: Vec<String> = REDIS_DEFAULTS.iter().map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(
        names, expected,
        "CONFIG GET * lists the same names as Redis"
    );
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(
        config.get_str("dir"),
        std::fs::canonicalize(cwd)
            .expect("canonical")
            .to_string_lossy()
    );
}

#[test]
fn hidden_directives_need_their_exact_name() {
    let config = load("");
    for name in [
        "use-exit-on-panic",
        "rdb-key-save-delay",
        "key-load-delay",
        "watchdog-period",
        "lua-enable-deprecated-api",
    ] {
        assert_eq!(get(&config, &[name]).len(), 1, "{name}");
        assert!(
            get(&config, &["*"]).iter().all(|(n, _)| n != name),
            "{name} hidden from patterns"
        );
    }
    assert_eq!(
        config.get_str("loading-process-events-interval-bytes"),
        "2097152"
    );
}

#[test]
fn debian_redis_conf_parses() {
    // Debian's /etc/redis/redis.conf for 7.0.15, unchanged except for the two directives that
    // Redis checks against the filesystem while loading: `dir` must exist and `logfile` must be
    // openable. They point into a temporary directory so the test touches nothing else.
    let original = include_str!("../../fixtures/debian-redis-7.0.15.conf");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let mut replaced = 0;
    let text: String = original
        .lines()
        .map(|line| match line {
            "dir /var/lib/redis" => {
                replaced += 1;
                format!("dir {}", dir.display())
            }
            "logfile /var/log/redis/redis-server.log" => {
                replaced += 1;
                format!("logfile {}/redis-server.log", dir.display())
            }
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(replaced, 2);
    let config = load(&text);
    assert_eq!(config.get_str("bind"), "127.0.0.1 -::1");
    assert!(config.get_bool("daemonize"));
    assert_eq!(config.get_str("pidfile"), "/run/redis/redis-server.pid");
    assert_eq!(config.get_str("dir"), dir.to_string_lossy());
    assert_eq!(config.get_str("save"), "3600 1 300 100 60 10000");
    assert_eq!(
        config.get_str("client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(config.get_int("auto-aof-rewrite-min-size"), 64 << 20);
    assert_eq!(
        config.get_str("proc-title-template"),
        "{title} {listen-addr} {server-mode}"
    );
    // Everything Debian sets that rockslot does not act on equals Redis's default.
    assert!(
        config.not_yet_effective().is_empty(),
        "{:?}",
        config.not_yet_effective()
    );
}

#[test]
fn docker_style_config_loads() {
    let config = load(
        "port 7000\nappendonly yes\ndaemonize no\nprotected-mode no\npidfile  /data/redis.pid\n",
    );
    assert_eq!(config.get_int("port"), 7000);
    assert!(config.get_bool("appendonly"));
    assert!(!config.get_bool("daemonize"));
    assert!(!config.get_bool("protected-mode"));
    assert_eq!(config.get_str("pidfile"), "/data/redis.pid");
    assert!(config.not_yet_effective().is_empty());
}

#[test]
fn unknown_directive_is_fatal_with_its_line() {
    assert_eq!(
        load_err("port 7000\nfoo bar\n"),
        fatal(2, "foo bar", "Bad directive or wrong number of arguments")
    );
    assert_eq!(
        load_err("  foo   bar  \r\n"),
        fatal(1, "foo   bar", "Bad directive or wrong number of arguments")
    );
    assert_eq!(
        load_err("port \"abc\n"),
        fatal(1, "port \"abc", "Unbalanced quotes in configuration line")
    );
    assert_eq!(
        load_err("user\n"),
        fatal(1, "user", "Bad directive or wrong number of arguments")
    );
    assert_eq!(
        load_err("include a b\n"),
        fatal(
            1,
            "include a b",
            "Bad directive or wrong number of arguments"
        )
    );
}

#[test]
fn bad_values_are_fatal_with_redis_messages() {
    assert_eq!(
        load_err("port abc"),
        fatal(1, "port abc", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        load_err("# c\nappendfsync sometimes"),
        fatal(
            2,
            "appendfsync sometimes",
            "argument(s) must be one of the following: everysec, always, no"
        )
    );
    assert_eq!(
        load_err("port 1 2"),
        fatal(1, "port 1 2", "wrong number of arguments")
    );
    assert_eq!(
        load_err("daemonize maybe"),
        fatal(1, "daemonize maybe", "argument must be 'yes' or 'no'")
    );
    assert_eq!(
        load_err("maxmemory 1.5gb"),
        fatal(1, "maxmemory 1.5gb", "argument must be a memory value")
    );
    assert_eq!(
        load_err("save 10"),
        fatal(1, "save 10", "Invalid save parameters")
    );
    assert_eq!(
        load_err("dir /nonexistent/x"),
        fatal(1, "dir /nonexistent/x", "No such file or directory")
    );
    assert_eq!(
        load_err("foo.bar"),
        fatal(1, "foo.bar", "Module config specified without value")
    );
    assert_eq!(
        load_err("sentinel monitor x"),
        fatal(
            1,
            "sentinel monitor x",
            "sentinel directive while not in sentinel mode"
        )
    );
    assert_eq!(
        load_err("logfile /nonexistent/x.log"),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory"
    );
    assert_eq!(
        load_err("foo.bar 1"),
        "Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"
    );
}

#[test]
fn memory_units_in_files() {
    let config = load(
        "maxmemory 1GB\nrepl-backlog-size 10mb\nproto-max-bulk-len 2g\nmaxmemory-clients 10%\n",
    );
    assert_eq!(config.get_int("maxmemory"), 1 << 30);
    assert_eq!(config.get_int("repl-backlog-size"), 10 << 20);
    assert_eq!(config.get_int("proto-max-bulk-len"), 2_000_000_000);
    assert_eq!(config.get_str("maxmemory-clients"), "10%");
    assert_eq!(config.get_int("maxmemory-clients"), -10);
    assert_eq!(
        load("maxmemory 99999999999999999999").get_int("maxmemory"),
        i64::MAX
    );
}

#[test]
fn special_directives_in_files() {
    let config = load(
        "save 900 1\nsave 300 10\nbind 127.0.0.1 ::1\nslaveof 10.0.0.1 6380\nclient-output-buffer-limit replica 1mb 2mb 3\n\
         notify-keyspace-events KEA\nhash-max-ziplist-entries 100\nlist-max-ziplist-entries 5\nlua-replicate-commands yes\n\
         rename-command DEBUG \"\"\nuser bob on nopass ~* +@all\nsentinel\nHZ 1000\nSLAVE-READ-ONLY no\n",
    );
    assert_eq!(config.get_str("save"), "900 1 300 10");
    assert_eq!(config.get_str("bind"), "127.0.0.1 ::1");
    assert_eq!(config.get_str("replicaof"), "10.0.0.1 6380");
    assert_eq!(config.get_str("slaveof"), "10.0.0.1 6380");
    assert_eq!(
        config.get_str("client-output-buffer-limit"),
        "normal 0 0 0 slave 1048576 2097152 3 pubsub 33554432 8388608 60"
    );
    assert_eq!(config.get_str("notify-keyspace-events"), "AKE");
    assert_eq!(config.get_int("hash-max-listpack-entries"), 100);
    assert_eq!(config.get_int("hz"), 500, "hz is clamped");
    assert!(!config.get_bool("replica-read-only"));
    assert_eq!(
        config.renamed_commands(),
        [RenameCommand {
            from: b"DEBUG".to_vec(),
            to: Vec::new(),
            line: 10,
            text: "rename-command DEBUG \"\"".into()
        }]
    );
    assert_eq!(
        config.renamed_commands()[0]
            .error("No such command in rename-command")
            .to_string(),
        fatal(
            10,
            "rename-command DEBUG \"\"",
            "No such command in rename-command"
        )
    );
    assert_eq!(load("hz 0").get_int("hz"), 1);
    // A multi-argument directive given as one quoted value is split again.
    assert_eq!(
        load("save \"3600 1 300 100\"").get_str("save"),
        "3600 1 300 100"
    );
    assert_eq!(load("save \"\"").get_str("save"), "");
    assert_eq!(
        load("save 900 1\nsave \"\"\nsave 60 5").get_str("save"),
        "60 5"
    );
    assert_eq!(load("bind \"\"").get_str("bind"), "");
}

#[test]
fn includes_load_in_place_and_report_their_own_lines() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inc = tmp.path().join("inc.conf");
    std::fs::write(&inc, "port 1\n\nbogus 1\n").expect("write");
    let text = format!("port 2\ninclude {}\n", inc.display());
    assert_eq!(
        load_err(&text),
        fatal(3, "bogus 1", "Bad directive or wrong number of arguments")
    );

    std::fs::write(&inc, "port 1\nsave 100 1\n").expect("write");
    let config = load(&format!("port 2\ninclude {}\n", inc.display()));
    assert_eq!(config.get_int("port"), 1);
    let config = load(&format!("include {}\nport 2\n", inc.display()));
    assert_eq!(config.get_int("port"), 2);
    // As in Redis, the end of an included file ends "reading a file": later `save` lines of
    // the including file then replace each other instead of accumulating.
    let config = load(&format!(
        "include {}\nsave 900 1\nsave 300 10\n",
        inc.display()
    ));
    assert_eq!(config.get_str("save"), "300 10");

    // Globs: sorted matches, and no match at all is fine.
    std::fs::write(tmp.path().join("a.conf"), "maxclients 10\n").expect("write");
    std::fs::write(tmp.path().join("b.conf"), "maxclients 20\n").expect("write");
    let config = load(&format!("include {}/?.conf\n", tmp.path().display()));
    assert_eq!(config.get_int("maxclients"), 20);
    load(&format!("include {}/nomatch*.conf\n", tmp.path().display()));

    // A relative include follows `dir`, as Redis's chdir makes it.
    let config = load(&format!("dir {}\ninclude a.conf\n", tmp.path().display()));
    assert_eq!(config.get_int("maxclients"), 10);

    let missing = tmp.path().join("missing.conf");
    assert_eq!(
        load_err(&format!("include {}", missing.display())),
        format!(
            "Fatal error, can't open config file '{}': No such file or directory",
            missing.display()
        )
    );

    // A file including itself stops at the nesting limit instead of exhausting the stack.
    let looped = tmp.path().join("loop.conf");
    std::fs::write(&looped, format!("include {}\n", looped.display())).expect("write");
    assert!(load_err(&format!("include {}", looped.display()))
        .contains("include directives nest deeper"));
}

#[test]
fn command_line_options() {
    let config = from_args(&["--port", "7000", "--appendonly", "yes"]).expect("loads");
    assert_eq!(config.get_int("port"), 7000);
    assert!(config.get_bool("appendonly"));
    assert!(config.config_file().is_none());

    assert_eq!(
        from_args(&["--save", ""]).expect("loads").get_str("save"),
        ""
    );
    assert_eq!(
        from_args(&["--save", "--port", "1"])
            .expect("loads")
            .get_str("save"),
        ""
    );
    assert_eq!(
        from_args(&["--save", "60", "1", "--save", "30", "2"])
            .expect("loads")
            .get_str("save"),
        "60 1 30 2"
    );
    let config = from_args(&["--bind", "127.0.0.1 ::1"]).expect("loads");
    assert_eq!(config.get_str("bind"), "127.0.0.1 ::1");
    assert_eq!(
        from_args(&["--port 7001"]).expect("loads").get_int("port"),
        7001
    );
    assert_eq!(from_args(&[]).expect("loads").get_int("port"), 6379);

    let e = from_args(&["--port", "abc"])
        .expect_err("refused")
        .to_string();
    assert_eq!(
        e,
        fatal(
            2,
            "port \"abc\"",
            "argument couldn't be parsed into an integer"
        )
    );
    let e = from_args(&["--port", "7000", "--foo"])
        .expect_err("refused")
        .to_string();
    assert_eq!(
        e,
        fatal(3, "foo", "Bad directive or wrong number of arguments")
    );
    assert!(matches!(
        from_args(&["--sentinel"]),
        Err(ConfigError::NotImplemented(_))
    ));
}

#[test]
fn config_file_then_overrides_then_stdin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("redis.conf");
    std::fs::write(&path, "port 7000\nsave 900 1\nmaxclients 5\n").expect("write");
    let file = path.to_string_lossy().into_owned();
    let config = from_args(&[&file, "--port", "7001", "--save", ""]).expect("loads");
    assert_eq!(config.get_int("port"), 7001);
    assert_eq!(config.get_str("save"), "");
    assert_eq!(config.config_file(), Some(path.as_path()));

    let mut stdin = &b"maxclients 6\n"[..];
    let config =
        parse::from_args(&args(&[&file, "--port", "7002", "-"]), &mut stdin).expect("loads");
    assert_eq!(config.get_int("maxclients"), 6);
    assert_eq!(config.get_int("port"), 7002, "options come after stdin");

    // The file's lines keep their numbers; options follow after the joining newline.
    std::fs::write(&path, "port 7000\n").expect("write");
    let e = from_args(&[&file, "--port", "x"])
        .expect_err("refused")
        .to_string();
    assert_eq!(
        e,
        fatal(
            3,
            "port \"x\"",
            "argument couldn't be parsed into an integer"
        )
    );

    let missing = tmp.path().join("nope.conf").to_string_lossy().into_owned();
    let e = from_args(&[&missing]).expect_err("refused").to_string();
    assert_eq!(
        e,
        format!("Fatal error, can't open config file '{missing}': No such file or directory")
    );
}

#[test]
fn cluster_enabled_is_refused_clearly() {
    let expected = "cluster-enabled yes is not implemented yet in rockslot (cluster mode is planned); start without cluster-enabled";
    assert_eq!(
        load_err(
            "cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 5000\n"
        ),
        expected
    );
    assert!(matches!(
        from_args(&["--cluster-enabled", "yes"]),
        Err(ConfigError::NotImplemented(_))
    ));
    assert!(!load("cluster-enabled no").cluster_enabled());
    assert_eq!(
        load_err("replicaof 127.0.0.1 1\ncluster-enabled yes"),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nreplicaof directive not allowed in cluster mode"
    );
}

#[test]
fn config_get_patterns_and_order() {
    let config = load("");
    // The set of names each request returned on redis-server 7.0.15; rockslot lists them in
    // table order (Redis's own order is random per process).
    let names = |patterns: &[&str]| {
        get(&config, patterns)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&["*-read-*", "slave*"]),
        [
            "slave-lazy-flush",
            "slave-serve-stale-data",
            "replica-read-only",
            "slave-read-only",
            "slave-ignore-maxmemory",
            "slave-announce-ip",
            "slave-priority",
            "slave-announce-port",
            "slaveof",
        ]
    );
    assert_eq!(
        names(&["maxmemory*", "maxmemory"]),
        [
            "maxmemory-policy",
            "maxmemory-samples",
            "maxmemory-eviction-tenacity",
            "maxmemory",
            "maxmemory-clients"
        ]
    );
    assert_eq!(
        names(&["hash-max-ziplist-*"]),
        ["hash-max-ziplist-entries", "hash-max-ziplist-value"]
    );
    assert_eq!(
        get(&config, &["Port", "port"]),
        [("Port".to_string(), "6379".to_string())]
    );
    assert_eq!(names(&["PORT", "p?rt"]), ["PORT"]);
    assert_eq!(names(&["slaveof", "replicaof"]), ["replicaof", "slaveof"]);
    assert!(names(&["x*"]).is_empty());
    assert!(
        names(&["slave\\-read-only"]).is_empty(),
        "no glob character: an exact (unknown) name"
    );
    assert_eq!(names(&["[d]ir"]), ["dir"]);
    assert_eq!(get(&config, &["*"]).len(), REDIS_DEFAULTS.len() + 1);
}

#[test]
fn config_set_applies_all_or_nothing() {
    let mut config = load("");
    assert_eq!(
        set(
            &mut config,
            &[("maxmemory", "1gb"), ("appendfsync", "always")]
        ),
        Ok(vec!["maxmemory", "appendfsync"])
    );
    assert_eq!(config.get_int("maxmemory"), 1 << 30);
    assert_eq!(
        set(&mut config, &[("maxmemory", "1gb")]),
        Ok(vec![]),
        "no change"
    );

    let before = config.clone();
    assert_eq!(
        set(&mut config, &[("maxmemory", "1"), ("timeout", "abc")]),
        Err("ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"
            .to_string())
    );
    assert_eq!(
        config.get_str("maxmemory"),
        before.get_str("maxmemory"),
        "rolled back"
    );

    // A name and its alias are different parameters to Redis; the last one wins.
    assert_eq!(
        set(
            &mut config,
            &[("slave-read-only", "no"), ("replica-read-only", "yes")]
        ),
        Ok(vec![]),
        "no net change"
    );
    assert!(config.get_bool("replica-read-only"));

    assert_eq!(set(&mut config, &[("hz", "1000")]), Ok(vec!["hz"]));
    assert_eq!(config.get_str("hz"), "500");
    assert_eq!(set(&mut config, &[("save", "10 1 20 2")]), Ok(vec!["save"]));
    assert_eq!(config.get_str("save"), "10 1 20 2");
    assert_eq!(set(&mut config, &[("save", "")]), Ok(vec!["save"]));
    assert_eq!(config.get_str("save"), "");
    assert_eq!(
        set(&mut config, &[("bind", "127.0.0.1 -::1")]),
        Ok(vec!["bind"])
    );
    assert_eq!(config.get_str("bind"), "127.0.0.1 -::1");
    assert_eq!(
        set(&mut config, &[("shutdown-on-sigint", "nosave now")]),
        Ok(vec!["shutdown-on-sigint"])
    );
    assert_eq!(config.get_str("shutdown-on-sigint"), "nosave now");
    assert_eq!(set(&mut config, &[("PORT", "7000")]), Ok(vec!["port"]));
}

#[test]
fn config_set_error_texts() {
    let mut config = load("");
    let failed = |name: &str, why: &str| {
        Err(format!(
            "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
        ))
    };
    assert_eq!(
        set(&mut config, &[("foo", "bar")]),
        Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into())
    );
    assert_eq!(
        set(&mut config, &[("port", "1"), ("foo", "2")]),
        Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into())
    );
    assert_eq!(
        set(&mut config, &[("daemonize", "yes"), ("foo", "2")]),
        failed("daemonize", "can't set immutable config"),
        "the first failure hides later unknown names"
    );
    assert_eq!(
        set(&mut config, &[("foo", "1"), ("daemonize", "yes")]),
        Err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'".into())
    );
    assert_eq!(
        set(&mut config, &[("Daemonize", "yes")]),
        failed("Daemonize", "can't set immutable config")
    );
    assert_eq!(
        set(&mut config, &[("dir", "/tmp")]),
        failed("dir", "can't set protected config")
    );
    assert_eq!(
        set(&mut config, &[("dbfilename", "x.rdb")]),
        failed("dbfilename", "can't set protected config")
    );
    assert_eq!(
        set(&mut config, &[("maxmemory", "1"), ("maxmemory", "2")]),
        failed("maxmemory", "duplicate parameter")
    );
    assert_eq!(
        set(&mut config, &[("appendfsync", "sometimes")]),
        failed(
            "appendfsync",
            "argument(s) must be one of the following: everysec, always, no"
        )
    );
    assert_eq!(
        set(&mut config, &[("timeout", "-1")]),
        failed(
            "timeout",
            "argument must be between 0 and 2147483647 inclusive"
        )
    );
    assert_eq!(
        set(&mut config, &[("save", "10")]),
        failed("save", "Invalid save parameters")
    );
    assert_eq!(
        set(&mut config, &[("save", "1 2 ")]),
        failed("save", "Invalid save parameters")
    );
    assert_eq!(
        set(&mut config, &[("shutdown-on-sigterm", "now  force")]),
        failed(
            "shutdown-on-sigterm",
            "argument(s) must be one of the following: default, save, nosave, now, force"
        )
    );
    // The error names the registered name that failed, the alias for an alias.
    assert_eq!(
        set(&mut config, &[("SLAVE-READ-ONLY", "maybe")]),
        failed("slave-read-only", "argument must be 'yes' or 'no'")
    );

    let mut open = load("enable-protected-configs yes");
    assert_eq!(
        set(&mut open, &[("dbfilename", "x.rdb")]),
        Ok(vec!["dbfilename"])
    );
    let mut local = load("enable-protected-configs local");
    let pairs = [(b"dbfilename".to_vec(), b"y.rdb".to_vec())];
    assert!(local.config_set(&pairs).is_err());
    assert_eq!(local.config_set_from(&pairs, true), Ok(vec!["dbfilename"]));
}

#[test]
fn rewrite_needs_a_config_file() {
    assert_eq!(
        load("").rewrite(),
        Err("ERR The server is running without a config file".to_string())
    );
}

#[test]
fn rewrite_matches_redis_in_place_edits() {
    // The scenario captured from redis-server 7.0.15: a file, then CONFIG SET, then CONFIG
    // REWRITE (two lines were added to the file after startup so that Redis had to keep
    // unknown lines). Redis appended its new lines in hash order plus its default ACL user;
    // rockslot appends in table order and has no ACL users.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let original = format!(
        "# top comment\nport 7000\ndaemonize yes\npidfile {dir}/r.pid\nslaveof 127.0.0.1 1\nslave-read-only yes\n\
         hash-max-ziplist-entries 100\nsave 900 1\nsave 300 10\nmaxmemory 1gb\nappendfsync always\n  # indented comment\n\
         bind 127.0.0.1\nLoglevel notice\nlogfile \"\"\nrequirepass \"\"\nnotify-keyspace-events \"\"\n",
        dir = dir.display()
    );
    let mut config = load(&format!("{original}dir {}\n", dir.display()));
    let pairs: &[(&str, &str)] = &[
        ("maxmemory", "2mb"),
        ("appendfsync", "everysec"),
        ("replica-read-only", "no"),
        ("timeout", "5"),
        ("notify-keyspace-events", "Ex"),
        ("hash-max-listpack-entries", "100"),
        ("maxmemory-clients", "5%"),
        ("save", ""),
        ("loglevel", "warning"),
        ("client-output-buffer-limit", "pubsub 32mb 8mb 61"),
        ("shutdown-on-sigterm", "save now"),
        ("maxmemory-policy", "noeviction"),
        ("masterauth", "a b\"c"),
        ("requirepass", ""),
        ("proto-max-bulk-len", "1000000kb"),
        ("hz", "1000"),
    ];
    set(&mut config, pairs).expect("CONFIG SET");
    let old = format!("{original}\"unbalanced\nsome-unknown thing\n");
    let expected = format!(
        "# top comment\nport 7000\ndaemonize yes\npidfile \"{dir}/r.pid\"\nreplicaof 127.0.0.1 1\nreplica-read-only no\n\
         hash-max-listpack-entries 100\nsave \"\"\n\nmaxmemory 2mb\nappendfsync everysec\n# indented comment\n\
         bind 127.0.0.1\nloglevel warning\nlogfile \"\"\n\nnotify-keyspace-events \"xE\"\n# ??? \"unbalanced\n\
         # ??? some-unknown thing\n\n# Generated by CONFIG REWRITE\nmasterauth \"a b\\\"c\"\nshutdown-on-sigterm save now\n\
         timeout 5\nhz 500\nproto-max-bulk-len 1000000kb\nmaxmemory-clients 5%\ndir \"{dir}\"\n\
         client-output-buffer-limit pubsub 32mb 8mb 61\nlatency-tracking-info-percentiles 50 99 99.9\n\
         user default on nopass ~* &* +@all\n",
        dir = dir.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&rewrite_content(&config, old.as_bytes())),
        expected
    );
}

#[test]
fn rewrite_keeps_file_only_lines_and_drops_duplicates() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let inc = dir.join("inc.conf");
    std::fs::write(&inc, "port 1\n").expect("write");
    let original = format!(
        "# top comment\nport 7000   \ninclude {inc}\nport 7000\nrename-command DEBUG \"\"\nuser bob on nopass ~* +@all\n\
         lua-time-limit 100\nsave 900 1\nsave 300 10\n\n\nloglevel notice\ndir .\n",
        inc = inc.display()
    );
    let config = load(&format!("dir {}\n{original}", dir.display()));
    let expected = format!(
        "# top comment\nport 7000\ninclude {inc}\n\nrename-command DEBUG \"\"\nuser bob on nopass ~* +@all\n\
         busy-reply-threshold 100\nsave 300 10\n\nloglevel notice\ndir \"{dir}\"\n\n\
         # Generated by CONFIG REWRITE\nlatency-tracking-info-percentiles 50 99 99.9\n",
        inc = inc.display(),
        dir = dir.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&rewrite_content(&config, original.as_bytes())),
        expected
    );
}

#[test]
fn rewrite_round_trip_through_a_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical");
    let path = dir.join("redis.conf");
    std::fs::write(
        &path,
        format!(
            "# My node\nport 7000\n\n# Memory\nmaxmemory 1gb\n# persistence\nsave 900 1\ndir {}\n",
            dir.display()
        ),
    )
    .expect("write");
    let file = path.to_string_lossy().into_owned();
    let mut config = from_args(&[&file]).expect("loads");
    let pairs: &[(&str, &str)] = &[
        ("maxmemory", "100mb"),
        ("appendonly", "yes"),
        ("requirepass", "s3cr\"et pass"),
        ("notify-keyspace-events", "KEg$"),
        ("client-output-buffer-limit", "normal 1mb 512kb 10"),
        ("oom-score-adj-values", "0 100 900"),
        ("latency-tracking-info-percentiles", "99.99"),
        ("maxmemory-clients", "7%"),
        ("bind", "127.0.0.1 ::1"),
        ("save", "60 100 30 1000"),
        ("list-max-ziplist-size", "-3"),
        ("shutdown-on-sigint", "force save"),
        ("cluster-announce-ip", "10.1.2.3"),
    ];
    set(&mut config, pairs).expect("CONFIG SET");
    config.rewrite().expect("rewrite");
    let text = std::fs::read_to_string(&path).expect("read back");
    // The one old `save` line takes the first save point; the second is appended, as in Redis.
    let kept = format!("# My node\nport 7000\n\n# Memory\nmaxmemory 100mb\n# persistence\nsave 60 100\ndir \"{}\"\n\n", dir.display());
    assert!(
        text.starts_with(&format!("{kept}# Generated by CONFIG REWRITE\n")),
        "{text}"
    );
    assert!(text.contains("\nsave 30 1000\n"), "{text}");
    let reloaded = from_args(&[&file]).expect("reloads");
    let all = |c: &Config| get(c, &["*"]);
    assert_eq!(all(&reloaded), all(&config));
    // As in Redis, the second rewrite keeps the empty line that followed the file's final
    // newline; from then on an unchanged configuration rewrites to the same bytes.
    reloaded.rewrite().expect("rewrite again");
    let second = std::fs::read_to_string(&path).expect("read");
    assert_eq!(second, format!("{text}\n"));
    reloaded.rewrite().expect("rewrite a third time");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), second);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    assert!(Path::new(&file).exists());
}

#[test]
fn not_yet_effective_lists_explicit_non_default_directives() {
    let config = load("port 7001\nappendonly yes\nmaxmemory 0\nmaxmemory-policy allkeys-lru\nrename-command FLUSHALL \"\"\nloadmodule /x.so\nfoo.bar 1\n");
    assert_eq!(
        config.not_yet_effective(),
        [
            "maxmemory-policy",
            "rename-command",
            "loadmodule",
            "foo.bar"
        ]
    );
}

#[test]
fn set_internal_bypasses_immutability() {
    let mut config = load("");
    config
        .set_internal("replicaof", &[b"10.0.0.2", b"6379"])
        .expect("set");
    assert_eq!(config.get_str("replicaof"), "10.0.0.2 6379");
    config
        .set_internal("pidfile", &[b"/var/run/redis.pid"])
        .expect("set");
    assert_eq!(config.get_str("pidfile"), "/var/run/redis.pid");
    assert!(config.set_internal("nope", &[b"1"]).is_err());
    assert!(Config::is_sensitive(b"requirepass"));
    assert!(Config::is_sensitive(b"MASTERAUTH"));
    assert!(!Config::is_sensitive(b"port"));
}
