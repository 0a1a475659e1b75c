//! Configuration: real-world redis.conf files start, bad ones fail with Redis's exact FATAL
//! report, and CONFIG REWRITE produces a file a restart reads back.
//!
//! Where Redis's behaviour is the specification (which directives a file may hold, what a bad
//! file prints), each case runs against redis-server as well and the two are compared.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::resp::{escape, Reply};
use crate::support::server::{free_port, run_to_exit, Flavor, Server};

/// Debian's packaged configuration, installed with the redis-server package.
const DEBIAN_CONF: &str = "/etc/redis/redis.conf";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Starts `flavor` with a copy of `conf`, overriding only what a test machine needs.
fn start_with_conf(flavor: Flavor, conf: &Path) -> Server {
    let builder = Server::builder(flavor);
    let copy = builder.root().join("redis.conf");
    fs::copy(conf, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", conf.display()));
    let pidfile = builder.root().join("redis.pid");
    builder
        .config_file(copy)
        .args(["--daemonize", "no", "--logfile", ""])
        .args([OsString::from("--pidfile"), pidfile.into()])
        .start()
}

fn config_get(server: &Server, name: &str) -> Vec<u8> {
    server
        .conn()
        .call_raw(&["CONFIG", "GET", name])
        .expect("CONFIG GET")
}

#[test]
fn debian_redis_conf_starts_with_the_same_settings_as_redis() {
    assert!(
        Path::new(DEBIAN_CONF).exists(),
        "{DEBIAN_CONF} is missing: install Debian's redis-server package (scripts/install-deps.sh)"
    );
    let rockslot = start_with_conf(Flavor::Rockslot, Path::new(DEBIAN_CONF));
    let redis = start_with_conf(Flavor::Redis, Path::new(DEBIAN_CONF));
    // Settings the file changes from the built-in defaults, or whose defaults matter to clients.
    for name in [
        "databases",
        "hz",
        "timeout",
        "tcp-keepalive",
        "appendonly",
        "appendfsync",
        "appendfilename",
        "dbfilename",
        "save",
        "maxmemory",
        "maxmemory-policy",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "notify-keyspace-events",
        "repl-diskless-sync",
        "list-max-listpack-size",
        "client-output-buffer-limit",
    ] {
        let ours = config_get(&rockslot, name);
        let theirs = config_get(&redis, name);
        assert_eq!(
            escape(&ours),
            escape(&theirs),
            "CONFIG GET {name} after loading {DEBIAN_CONF} (left: rockslot, right: redis)"
        );
    }
}

#[test]
fn docker_style_config_writes_pidfile_and_removes_it_on_sigterm() {
    let mut server = start_with_conf(Flavor::Rockslot, &fixture("docker-node.conf"));
    let pidfile = server.root().join("redis.pid");
    let written = fs::read_to_string(&pidfile)
        .unwrap_or_else(|e| panic!("pidfile {} not written: {e}", pidfile.display()));
    assert_eq!(written.trim(), server.pid().to_string(), "pidfile content");
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    assert!(
        !pidfile.exists(),
        "pidfile still exists after a clean shutdown"
    );
}

/// A bad configuration line, as a file line or as a command-line directive.
struct BadConfig {
    file_lines: &'static [&'static str],
    args: &'static [&'static str],
}

const BAD_CONFIGS: &[BadConfig] = &[
    BadConfig {
        file_lines: &["this-is-not-a-directive yes"],
        args: &[],
    },
    BadConfig {
        file_lines: &["port"],
        args: &[],
    },
    BadConfig {
        file_lines: &["appendfsync sometimes"],
        args: &[],
    },
    BadConfig {
        file_lines: &["loglevel shouting"],
        args: &[],
    },
    BadConfig {
        file_lines: &["maxmemory lots"],
        args: &[],
    },
    BadConfig {
        file_lines: &["databases 0"],
        args: &[],
    },
    BadConfig {
        file_lines: &["save 60"],
        args: &[],
    },
    BadConfig {
        file_lines: &["requirepass \"unterminated"],
        args: &[],
    },
    BadConfig {
        file_lines: &["hz 10", "", "# comment", "timeout -1"],
        args: &[],
    },
    BadConfig {
        file_lines: &[],
        args: &["--no-such-directive", "1"],
    },
    BadConfig {
        file_lines: &[],
        args: &["--port", "70000"],
    },
    BadConfig {
        file_lines: &[],
        args: &["--appendonly", "maybe"],
    },
];

#[test]
fn bad_configs_fail_with_the_fatal_report_redis_prints() {
    for case in BAD_CONFIGS {
        let mut reports = Vec::new();
        for flavor in [Flavor::Rockslot, Flavor::Redis] {
            let dir = tempfile::tempdir().expect("temp dir");
            // The first line keeps a server that wrongly accepts the file off other ports.
            let mut text = format!("port {}\nsave \"\"\n", free_port());
            for line in case.file_lines {
                text.push_str(line);
                text.push('\n');
            }
            let conf = dir.path().join("bad.conf");
            fs::write(&conf, text).expect("write config");
            let mut args: Vec<OsString> = vec![conf.into()];
            args.extend(case.args.iter().map(OsString::from));
            let exited = run_to_exit(&flavor.program(), &args, dir.path());
            reports.push((exited.status.code(), exited.stderr, exited.stdout));
        }
        let (ours, theirs) = (&reports[0], &reports[1]);
        assert_eq!(
            theirs.0,
            Some(1),
            "redis-server should reject {:?}",
            case.file_lines
        );
        assert!(
            ours.0 == theirs.0 && ours.1 == theirs.1,
            "config lines {:?}, arguments {:?}:\nrockslot exited {:?}, stderr:\n{}\nstdout:\n{}\n\
             redis-server exited {:?}, stderr:\n{}",
            case.file_lines,
            case.args,
            ours.0,
            ours.1,
            ours.2,
            theirs.0,
            theirs.1
        );
    }
}

#[test]
fn missing_config_file_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope.conf");
    let exited = run_to_exit(&Flavor::Rockslot.program(), &[missing.into()], dir.path());
    let output = format!("{}{}", exited.stdout, exited.stderr);
    assert_eq!(
        exited.status.code(),
        Some(1),
        "exit status; output:\n{output}"
    );
    assert!(
        output.contains("Fatal error, can't open config file"),
        "Redis's message for a missing config file is absent from:\n{output}"
    );
}

#[test]
fn cluster_enabled_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args: Vec<OsString> = [
        "--port",
        &free_port().to_string(),
        "--cluster-enabled",
        "yes",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    let exited = run_to_exit(&Flavor::Rockslot.program(), &args, dir.path());
    let output = format!("{}{}", exited.stdout, exited.stderr);
    assert_eq!(
        exited.status.code(),
        Some(1),
        "exit status; output:\n{output}"
    );
    assert!(
        output.to_lowercase().contains("cluster"),
        "the refusal should mention cluster mode; output:\n{output}"
    );
}

/// Settings changed at run time, and the value each must read back after the restart.
const REWRITTEN: &[(&str, &str)] = &[
    ("hz", "25"),
    ("maxmemory-policy", "allkeys-lru"),
    ("timeout", "123"),
    ("slowlog-log-slower-than", "5000"),
];

const REWRITE_INPUT: &str = "# test config\nhz 10\n\nmaxmemory-policy noeviction\n";

/// Starts `flavor` on a small config file, changes [`REWRITTEN`] with CONFIG SET and rewrites.
fn set_and_rewrite(flavor: Flavor) -> (Server, PathBuf) {
    let builder = Server::builder(flavor);
    let conf = builder.root().join("node.conf");
    fs::write(&conf, REWRITE_INPUT).expect("write config");
    let server = builder
        .config_file(&conf)
        .args(["--save", "", "--appendonly", "no"])
        .start();
    let mut conn = server.conn();
    for (name, value) in REWRITTEN {
        let reply = conn
            .call(&["CONFIG", "SET", name, value])
            .expect("CONFIG SET");
        assert_eq!(
            reply,
            Reply::Simple(b"OK".to_vec()),
            "CONFIG SET {name} {value}"
        );
    }
    let reply = conn.call(&["CONFIG", "REWRITE"]).expect("CONFIG REWRITE");
    assert_eq!(reply, Reply::Simple(b"OK".to_vec()), "CONFIG REWRITE");
    (server, conf)
}

#[test]
fn config_rewrite_survives_a_restart() {
    let (mut server, _) = set_and_rewrite(Flavor::Rockslot);
    assert_eq!(
        server.terminate().code(),
        Some(0),
        "exit status after SIGTERM"
    );
    server.start_again();
    let mut conn = server.conn();
    for (name, value) in REWRITTEN {
        let reply = conn.call(&["CONFIG", "GET", name]).expect("CONFIG GET");
        let expected = Reply::Array(Some(vec![
            Reply::Bulk(Some(name.as_bytes().to_vec())),
            Reply::Bulk(Some(value.as_bytes().to_vec())),
        ]));
        assert_eq!(
            reply, expected,
            "CONFIG GET {name} after rewrite and restart"
        );
    }
}

/// Redis rewrites a file in place: known lines keep their position and comments survive, the
/// rest is appended under a marker. Tools and people diff these files, so the layout matters.
/// The appended lines come out in Redis's hash-table order, which differs from run to run, so
/// that block is compared sorted.
#[test]
fn config_rewrite_output_matches_redis() {
    const MARKER: &str = "# Generated by CONFIG REWRITE\n";
    let mut files = Vec::new();
    for flavor in [Flavor::Rockslot, Flavor::Redis] {
        let (server, conf) = set_and_rewrite(flavor);
        let text = fs::read_to_string(&conf)
            .expect("read rewritten config")
            .replace(&server.port().to_string(), "<PORT>")
            .replace(&server.data_dir().display().to_string(), "<DIR>");
        let normalised = match text.split_once(MARKER) {
            Some((kept, appended)) => {
                let mut lines: Vec<&str> = appended.lines().collect();
                lines.sort_unstable();
                format!("{kept}{MARKER}{}\n", lines.join("\n"))
            }
            None => text,
        };
        files.push(normalised);
    }
    assert_eq!(
        files[0], files[1],
        "rewritten config (left: rockslot, right: redis)"
    );
}

/// `timeout N` closes a client idle for N seconds and leaves a client that keeps talking alone,
/// in both servers (Redis checks in its clients cron, so a second of slack is allowed). The
/// default, 0, arms no timer at all in rockslot: an idle client then stays.
#[test]
fn idle_clients_are_closed_after_timeout_as_in_redis() {
    for flavor in [Flavor::Rockslot, Flavor::Redis] {
        let server = Server::start(flavor, ["--timeout", "1"]);
        let mut idle = server.conn();
        let mut busy = server.conn();
        let untimed_server = Server::start(flavor, std::iter::empty::<&str>());
        let mut untimed = untimed_server.conn();
        let pong = Reply::Simple(b"PONG".to_vec());
        assert_eq!(idle.call(&["PING"]).expect("ping"), pong);
        for _ in 0..12 {
            std::thread::sleep(std::time::Duration::from_millis(250));
            assert_eq!(
                busy.call(&["PING"])
                    .expect("a client that keeps talking stays"),
                pong,
                "{flavor:?}"
            );
        }
        idle.expect_closed()
            .unwrap_or_else(|e| panic!("{flavor:?}: idle client not closed: {e}"));
        assert_eq!(
            untimed.call(&["PING"]).expect("no timeout, no close"),
            pong,
            "{flavor:?}"
        );
    }
}
