//! Server processes for tests: rockslot or Debian's redis-server, each on a free loopback port in
//! its own temporary directory.
//!
//! A `Server` owns its process and directory. It waits until the process answers PING before a
//! test sees it, keeps stdout and stderr in `server.log` inside the directory, and SIGKILLs the
//! process when dropped. If the test is panicking at that point the log tail is printed, so a
//! failing test always shows what the server said; `KEEP_TEST_DIRS=1` also keeps the directory.
//! Crash tests use `kill9` and `start_again`, which reuses the same directory, port and arguments.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::resp::Conn;

/// How long a server may take to answer PING; generous because RocksDB recovery competes with
/// builds for the CPU on small CI machines.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a process expected to exit by itself (a rejected configuration) may take; one that
/// started serving instead is caught here rather than after the full startup timeout.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a SIGTERMed server may take to shut down cleanly.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often readiness and exit are polled.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Attempts at finding a port nobody else grabbed between our probe and the server's bind.
const PORT_ATTEMPTS: usize = 5;
/// Marks the start of each attempt in the server log.
const START_NOTE: &str = "starting";
/// Lines of the server log printed when a test fails.
pub const LOG_TAIL_LINES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Rockslot,
    Redis,
}

impl Flavor {
    pub fn program(self) -> PathBuf {
        match self {
            Flavor::Rockslot => PathBuf::from(env!("CARGO_BIN_EXE_rockslot")),
            Flavor::Redis => redis_server().to_path_buf(),
        }
    }
}

/// Debian's redis-server 7.0, which the tests compare against. A missing or different Redis fails
/// loudly: skipping would let a CI machine without it pass every comparison vacuously.
pub fn redis_server() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = std::env::var_os("REDIS_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/redis-server"));
        let output = Command::new(&path)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}). The integration tests need Debian's redis-server 7.0: \
                 run scripts/install-deps.sh (apt-get install redis-server redis-tools) or set \
                 REDIS_SERVER to its path",
                    path.display()
                )
            });
        let version = String::from_utf8_lossy(&output.stdout);
        assert!(
            version.contains(" v=7.0."),
            "{} is not Redis 7.0 (the reference the differential tests assume): {version}",
            path.display()
        );
        path
    })
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("cannot bind an ephemeral loopback port")
        .port()
}

/// Collects what a server is started with before it is started, so a test can write files (a
/// config file, say) into the server's directory first.
pub struct ServerBuilder {
    flavor: Flavor,
    root: TempDir,
    config_file: Option<PathBuf>,
    args: Vec<OsString>,
}

impl ServerBuilder {
    /// The directory that will hold `data/` (the server's `dir`) and `server.log`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Adds command-line arguments, placed after the generated `--port`, `--bind` and `--dir`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn start(self) -> Server {
        let data_dir = self.root.path().join("data");
        fs::create_dir_all(&data_dir).expect("create data dir");
        let mut server = Server {
            flavor: self.flavor,
            root: self.root,
            config_file: self.config_file,
            extra_args: self.args,
            port: 0,
            child: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port();
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(reason) if reason.contains("Address already in use") => {
                    server.note(&format!("port attempt {attempt} failed, retrying"));
                }
                // The log tail follows from `Drop`.
                Err(reason) => panic!("{:?} did not start: {reason}", server.flavor),
            }
        }
        panic!(
            "{:?} found no free port in {PORT_ATTEMPTS} attempts",
            server.flavor
        )
    }
}

pub struct Server {
    flavor: Flavor,
    root: TempDir,
    config_file: Option<PathBuf>,
    extra_args: Vec<OsString>,
    port: u16,
    child: Option<Child>,
}

impl Server {
    pub fn builder(flavor: Flavor) -> ServerBuilder {
        let root = tempfile::Builder::new()
            .prefix(&format!("{flavor:?}-").to_lowercase())
            .tempdir()
            .expect("create temp dir");
        ServerBuilder {
            flavor,
            root,
            config_file: None,
            args: Vec::new(),
        }
    }

    /// A server with default settings plus `args`.
    pub fn start<I, S>(flavor: Flavor, args: I) -> Server
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Server::builder(flavor).args(args).start()
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is not running").id()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// A raw RESP connection; panics if the server does not accept it.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
            .unwrap_or_else(|e| panic!("connect to {:?} on {}: {e}", self.flavor, self.port))
    }

    /// A `redis` crate connection, for tests that want typed replies rather than raw bytes.
    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .expect("valid redis URL");
        let conn = client
            .get_connection()
            .unwrap_or_else(|e| panic!("connect to {:?} on {}: {e}", self.flavor, self.port));
        conn.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("set read timeout");
        conn
    }

    /// Whether the process is still alive (it may have crashed under a test).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(None)) => true,
            Some(Ok(Some(status))) => {
                self.note(&format!("process exited by itself: {status}"));
                self.child = None;
                false
            }
            Some(Err(e)) => panic!("cannot poll server process: {e}"),
            None => false,
        }
    }

    /// Kills the process with SIGKILL, as a crash or power cut would stop it.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("server is not running");
        self.note("SIGKILL");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap killed server");
    }

    /// Sends SIGTERM and waits for the clean shutdown to finish.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is not running");
        self.note("SIGTERM");
        signal(child.id(), libc::SIGTERM);
        match wait_with_timeout(&mut child, STOP_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{:?} ignored SIGTERM for {STOP_TIMEOUT:?}", self.flavor)
            }
        }
    }

    /// Starts a stopped server again on the same directory, port and arguments.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "server is still running");
        self.note("restart");
        if let Err(reason) = self.spawn_and_wait() {
            panic!("{:?} did not restart: {reason}", self.flavor);
        }
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    /// Marks an event of the test in the server log, so a failing test's log reads in order.
    fn note(&self, what: &str) {
        if let Ok(mut log) = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.log_path())
        {
            let _ = writeln!(log, "===== test harness: {what} =====");
        }
    }

    fn command_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = self.config_file.iter().map(|p| p.into()).collect();
        args.extend(["--port".into(), self.port.to_string().into()]);
        args.extend(["--bind".into(), "127.0.0.1".into()]);
        args.extend(["--dir".into(), self.data_dir().into()]);
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// Whether the server answering on our port is provably not ours: another process may have
    /// taken the port between `free_port` and our bind, and answer PING before ours gives up.
    /// `dir` is what tells them apart; a server without CONFIG GET gets the benefit of the doubt.
    fn is_someone_else(&self, conn: &mut Conn) -> bool {
        let Ok(reply) = conn.call(&["CONFIG", "GET", "dir"]) else {
            return false;
        };
        let Some([_, dir]) = reply.as_items() else {
            return false;
        };
        let ours = fs::canonicalize(self.data_dir()).unwrap_or_else(|_| self.data_dir());
        dir.as_bytes()
            .is_some_and(|dir| dir != ours.as_os_str().as_encoded_bytes())
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let args = self.command_args();
        self.note(&format!(
            "{START_NOTE} {:?} {args:?}",
            self.flavor.program()
        ));
        let log = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.log_path())
            .map_err(|e| format!("open log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| format!("clone log: {e}"))?;
        let child = Command::new(self.flavor.program())
            .args(&args)
            .current_dir(self.root.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("spawn {:?}: {e}", self.flavor.program()))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !self.is_running() {
                let log = self.log();
                // Only this attempt's output: earlier attempts are in the same file.
                let attempt = log.rsplit(START_NOTE).next().unwrap_or_default();
                let reason = match attempt
                    .lines()
                    .find(|l| l.contains("Address already in use"))
                {
                    Some(line) => line.to_string(),
                    None => "exited during startup".to_string(),
                };
                return Err(reason);
            }
            if let Ok(mut conn) = Conn::connect(self.port) {
                if let Ok(reply) = conn.call_raw(&["PING"]) {
                    if reply == b"+PONG\r\n" {
                        if self.is_someone_else(&mut conn) {
                            if let Some(mut child) = self.child.take() {
                                let _ = child.kill();
                                let _ = child.wait();
                            }
                            return Err("Address already in use by another server".into());
                        }
                        return Ok(());
                    }
                    // -LOADING and friends: the server is up but not ready yet.
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no PONG within {START_TIMEOUT:?}"));
            }
            sleep(POLL_INTERVAL);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- {:?} on port {} ({}), last {LOG_TAIL_LINES} log lines -----\n{}\n\
                 ----- end of log -----",
                self.flavor,
                self.port,
                self.root.path().display(),
                self.log_tail(LOG_TAIL_LINES)
            );
            if std::env::var_os("KEEP_TEST_DIRS").is_some() {
                self.root.disable_cleanup(true);
                eprintln!("kept {}", self.root.path().display());
            }
        }
    }
}

/// What a process that was expected to exit on its own printed.
pub struct Exited {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program` expecting it to exit by itself (a bad configuration, say); panics if it is
/// still running after [`EXIT_TIMEOUT`].
pub fn run_to_exit(program: &Path, args: &[OsString], cwd: &Path) -> Exited {
    let out_path = cwd.join("exit.stdout");
    let err_path = cwd.join("exit.stderr");
    let mut child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("create stdout file"))
        .stderr(File::create(&err_path).expect("create stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    let status = wait_with_timeout(&mut child, EXIT_TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{} {args:?} kept running; expected it to exit. stdout:\n{}",
            program.display(),
            fs::read_to_string(&out_path).unwrap_or_default()
        )
    });
    Exited {
        status,
        stdout: fs::read_to_string(&out_path).expect("read stdout"),
        stderr: fs::read_to_string(&err_path).expect("read stderr"),
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        sleep(POLL_INTERVAL);
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child's.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

/// A rockslot process started on `data` (free loopback port, `extra` arguments) without waiting
/// for it to serve, its log in `log`, once the log shows `stage`: for a test that kills it in
/// the middle of its start (a load). Fails after `timeout`.
pub fn rockslot_killable_at(
    data: &Path,
    extra: &[&str],
    log: &Path,
    stage: &str,
    timeout: Duration,
) -> std::process::Child {
    let port = free_port().to_string();
    let child = std::process::Command::new(Flavor::Rockslot.program())
        .args(["--port", &port, "--bind", "127.0.0.1"])
        .args(extra)
        .arg("--dir")
        .arg(data)
        .stdout(File::create(log).expect("log"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn rockslot");
    let deadline = Instant::now() + timeout;
    while !fs::read_to_string(log).unwrap_or_default().contains(stage) {
        assert!(Instant::now() < deadline, "rockslot never logged {stage:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    child
}
