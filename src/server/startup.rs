//! Starting and stopping the node the way redis-server does: daemonize if asked, log, write the
//! pidfile, open the data directory, listen, run until SIGTERM/SIGINT or SHUTDOWN, then flush,
//! sync and remove the pidfile.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use engine::{Engine, EngineOptions};
use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;

use super::durability::{Durability, FsyncPolicy};
use super::stats::Stats;
use super::{connection, expiry, logging, Server, Shared, Tunables};
use crate::commands;
use crate::commands::table::CommandTable;
use crate::config::Config;

/// Name of the RocksDB directory inside `dir`.
pub const DATA_SUBDIR: &str = "rockslot-data";

/// Why the node could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("Can't open the data directory: {0}")]
    Engine(#[from] engine::EngineError),
    #[error("{0}")]
    Table(String),
    #[error("Failed listening on port {port} (tcp), aborting: {source}")]
    Listen { port: u16, source: std::io::Error },
    #[error("Fatal error loading the DB: {0}. Exiting.")]
    Load(#[from] crate::persistence::rdb_load::LoadError),
    #[error("{0}")]
    AofLoad(#[from] crate::persistence::aof::load::AofLoadError),
    #[error("Can't open the append-only file: {0}")]
    Aof(#[from] crate::persistence::aof::rewrite::RewriteError),
}

/// Runs the node with `config` until it shuts down. Returns the process exit code.
pub fn run(config: Config) -> i32 {
    if config.get_bool("daemonize") {
        if let Err(e) = daemonize() {
            eprintln!("Can't daemonize: {e}");
            return 1;
        }
    }
    let logfile = if config.get_bool("daemonize") && config.get_str("logfile").is_empty() {
        "/dev/null".to_string()
    } else {
        config.get_str("logfile")
    };
    if let Err(e) = logging::init(&logfile, &config.get_str("loglevel")) {
        eprintln!("Can't open the log file: {e}");
        return 1;
    }
    // `io-threads 1` (Redis's default) runs every connection on one thread, like Redis's event
    // loop: commands are serialised by the execution lock anyway, and on a small machine one
    // thread avoids cross-thread wake-ups (measured: SET at -P 1 went from ~0.8 to ~1.0 of
    // Redis on 2 cores). More io-threads spread parsing and reply encoding over that many threads.
    let io_threads = config.get_int("io-threads").clamp(1, 128) as usize;
    let mut builder = if io_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(io_threads);
        b
    };
    // Every thread of the runtime (the event loop, io-threads, the blocking pool that syncs
    // and saves) reads and writes RocksDB.
    builder.on_thread_start(engine::skip_perf_counters);
    engine::skip_perf_counters();
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("Can't start the runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::warn!("{e}");
            1
        }
    }
}

fn daemonize() -> std::io::Result<()> {
    // SAFETY: called before any thread exists; the parent exits immediately after fork.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if devnull >= 0 {
            libc::dup2(devnull, 0);
            libc::dup2(devnull, 1);
            libc::dup2(devnull, 2);
            if devnull > 2 {
                libc::close(devnull);
            }
        }
    }
    Ok(())
}

fn pidfile_path(config: &Config) -> Option<PathBuf> {
    let configured = config.get_str("pidfile");
    if !configured.is_empty() {
        Some(PathBuf::from(configured))
    } else if config.get_bool("daemonize") {
        Some(PathBuf::from("/var/run/redis.pid"))
    } else {
        None
    }
}

async fn serve(config: Config) -> Result<(), StartError> {
    let pid = std::process::id();
    tracing::info!("oO0OoO0OoO0Oo rockslot is starting oO0OoO0OoO0Oo");
    tracing::info!(
        "rockslot version={}, redis_version=7.0.15, bits=64, pid={pid}, just started",
        env!("CARGO_PKG_VERSION")
    );
    match config.config_file() {
        Some(path) => tracing::info!("Configuration loaded from {}", path.display()),
        None => tracing::warn!("Warning: no config file specified, using the default config."),
    }
    for directive in config.not_yet_effective() {
        tracing::info!("Directive '{directive}' is accepted but not yet effective in rockslot");
    }
    let dir = PathBuf::from(config.get_str("dir"));
    std::fs::create_dir_all(&dir)?;
    std::env::set_current_dir(&dir)?;

    let pidfile = pidfile_path(&config);
    if let Some(path) = &pidfile {
        if let Err(e) = std::fs::write(path, format!("{pid}\n")) {
            tracing::warn!("Failed to write PID file: {e}");
        }
    }
    let result = serve_in_dir(config).await;
    if let Some(path) = &pidfile {
        let _ = std::fs::remove_file(path);
    }
    result
}

async fn serve_in_dir(config: Config) -> Result<(), StartError> {
    let started = Instant::now();
    let options = EngineOptions {
        databases: config.get_int("databases").clamp(1, 256) as usize,
        compactions_after_startup: true,
        ..Default::default()
    };
    let engine = Engine::open(Path::new(DATA_SUBDIR), &options)?;
    let keys = engine.total_keys();
    tracing::info!(
        "Data directory opened in {} ms, {keys} keys",
        started.elapsed().as_millis()
    );

    let (replid, repl_offset) = match engine.repl_position()? {
        Some(position) => (position.replid, position.offset),
        None => (random_hex_id(), 0),
    };
    let commands = CommandTable::new(&commands::registrations()).map_err(StartError::Table)?;
    let port = config.get_int("port").clamp(0, 65535) as u16;
    let binds = config.get_str("bind");
    let server = Arc::new(Server {
        tunables: Tunables::from_config(&config),
        durability: Durability::new(FsyncPolicy::parse(&config.get_str("appendfsync"))),
        config: RwLock::new(config),
        engine,
        commands,
        exec: Mutex::new(Shared::default()),
        stats: Stats::default(),
        run_id: random_hex_id(),
        repl_offset: AtomicI64::new(repl_offset),
        started: Instant::now(),
        next_client_id: AtomicU64::new(0),
        connected_clients: AtomicU64::new(0),
        pause_until_ms: AtomicI64::new(0),
        pause_writes_only: AtomicBool::new(false),
        shutdown: tokio::sync::Notify::new(),
        bgsave: tokio::sync::Notify::new(),
        feed: Mutex::new(super::propagate::Feed {
            aof: None,
            repl: crate::replication::ReplState::new(replid),
        }),
        aof_rewrite: crate::persistence::aof::RewriteStats::new(),
        aof_rewrite_wanted: tokio::sync::Notify::new(),
        propagating: AtomicBool::new(false),
    });
    server
        .stats
        .last_save_unix
        .store(super::unix_ms() / 1000, Ordering::Relaxed);
    server.stats.last_bgsave_secs.store(-1, Ordering::Relaxed);
    {
        // A node with replication history keeps it: its backlog starts (empty) where the data
        // ends, so replicas of its previous life can continue.
        let config = server.config.read();
        let mut feed = server.feed.lock();
        feed.repl.output_limit = config.replica_hard_limit();
        if repl_offset > 0 {
            let size = config.repl_backlog_size();
            feed.repl.backlog = Some(crate::replication::backlog::Backlog::new(size, repl_offset));
        }
        server.refresh_propagation(&feed);
    }

    let aof_loaded = load_dataset(&server)?;
    server.engine.startup_done();
    crate::persistence::aof::open_at_startup(&server, aof_loaded)?;

    let listeners = bind_all(&binds, port).await?;
    for listener in listeners {
        tokio::spawn(accept_loop(Arc::clone(&server), listener));
    }
    tokio::spawn(expiry::run_active_expire(Arc::clone(&server)));
    tokio::spawn(crate::replication::replica::run(Arc::clone(&server)));
    tokio::spawn(crate::replication::cron::run(Arc::clone(&server)));
    tokio::spawn(Durability::run_everysec(Arc::clone(&server)));
    tokio::spawn(crate::persistence::rdb_save::run_background_saves(
        Arc::clone(&server),
    ));
    tokio::spawn(crate::persistence::rdb_save::run_save_schedule(Arc::clone(
        &server,
    )));
    tokio::spawn(crate::persistence::aof::rewrite::run_rewrites(Arc::clone(
        &server,
    )));
    tracing::info!("Ready to accept connections tcp");

    wait_for_stop(&server).await;
    shutdown(&server);
    Ok(())
}

/// Boot precedence: rockslot's own data is authoritative when present; otherwise, as Redis 7.0
/// does, `appendonly yes` loads the AOF (a 7.0 directory, or a pre-7.0 single file, moved into
/// the directory first) and nothing else, not even a `dump.rdb` beside it; `appendonly no` loads
/// `dbfilename`. Like Redis, every start reads the AOF manifest, and a bad one stops the node.
/// Loads the AOF or dump.rdb into an empty data directory; returns whether an AOF was loaded.
fn load_dataset(server: &Arc<Server>) -> Result<bool, StartError> {
    use crate::persistence::{aof, rdb_load};
    let (appendonly, dbfilename, settings) = {
        let config = server.config.read();
        (
            config.get_bool("appendonly"),
            config.get_str("dbfilename"),
            aof::load::Settings::from_config(&config),
        )
    };
    let mut manifest = aof::load::manifest_from_disk(&settings)?;
    if appendonly {
        return Ok(aof::load::load_at_startup(server, &settings, &mut manifest)?.is_some());
    }
    rdb_load::load_at_startup(server, Path::new(&dbfilename))?;
    Ok(false)
}

async fn bind_all(binds: &str, port: u16) -> Result<Vec<TcpListener>, StartError> {
    let mut listeners = Vec::new();
    if port == 0 {
        return Ok(listeners);
    }
    for spec in binds.split_whitespace() {
        let (optional, addr) = match spec.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        let ip = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let socket: SocketAddr = match format!("{ip}:{port}")
            .parse()
            .or_else(|_| format!("[{ip}]:{port}").parse())
        {
            Ok(s) => s,
            Err(_) => {
                return Err(StartError::Listen {
                    port,
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("bad bind address {addr}"),
                    ),
                })
            }
        };
        match bind_one(socket) {
            Ok(l) => listeners.push(l),
            Err(e) if optional => tracing::debug!("optional bind {spec} skipped: {e}"),
            Err(source) => return Err(StartError::Listen { port, source }),
        }
    }
    Ok(listeners)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv6() {
        tokio::net::TcpSocket::new_v6()?
    } else {
        tokio::net::TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    if addr.is_ipv6() {
        // Like Redis: an IPv6 listener does not also take the IPv4 port.
        socket2::SockRef::from(&socket).set_only_v6(true)?;
    }
    socket.bind(addr)?;
    socket.listen(511)
}

async fn accept_loop(server: Arc<Server>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                set_keepalive(&server, &stream);
                tokio::spawn(connection::serve(Arc::clone(&server), stream, addr));
            }
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

fn set_keepalive(server: &Server, stream: &tokio::net::TcpStream) {
    let secs = server.config.read().get_int("tcp-keepalive");
    if secs > 0 {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(std::time::Duration::from_secs(secs as u64))
            .with_interval(std::time::Duration::from_secs((secs as u64 / 3).max(1)));
        let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
    }
}

async fn wait_for_stop(server: &Arc<Server>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        server.shutdown.notified().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
        _ = int.recv() => tracing::warn!("Received SIGINT scheduling shutdown..."),
        _ = server.shutdown.notified() => {}
    }
}

/// The clean part of stopping: no command runs after this, memtables are flushed and the WAL
/// synced so the next start replays nothing.
fn shutdown(server: &Server) {
    tracing::warn!("User requested shutdown...");
    let _exclusive = server.exec.lock();
    if let Err(e) = server.flush_logs(true) {
        tracing::warn!("Error syncing the logs on shutdown: {e}");
    }
    if let Err(e) = server.engine.flush() {
        tracing::warn!("Error flushing the data directory on shutdown: {e}");
    }
    tracing::warn!("rockslot is now ready to exit, bye bye...");
}

/// A 40-character hex id (run_id, replication ids).
pub fn random_hex_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}
