//! Loading the AOF at startup, as Redis 7.0's `loadAppendOnlyFiles` does.
//!
//! BACKGROUND. With `appendonly yes` Redis rebuilds its dataset from the AOF alone (a
//! `dump.rdb` beside it is not read). The AOF is the directory `appenddirname` whose manifest
//! names a base file and incr files (see `formats::aof`), or, from a pre-7.0 server, the single
//! file `appendfilename` in `dir`: 7.0 first moves that file into the directory as the base of a
//! new manifest ("upgrade"), then loads the directory. The manifest is read at every start,
//! whatever `appendonly` says, and a manifest Redis refuses stops the node.
//!
//! BEHAVIOR. rockslot's own RocksDB data is authoritative: the AOF is loaded only into an empty
//! data directory (a real Redis `/data` mounted for the first time) or one whose last load was
//! interrupted. Each file is replayed in manifest order, through the same dispatcher clients use,
//! by an internal client that starts each file in database 0 as Redis's fake client does: an RDB
//! part (a `.base.rdb` file, or a file starting with `REDIS`) goes through the RDB loader, then
//! the commands follow; MULTI/EXEC blocks commit as one batch. Error replies are ignored, as
//! Redis ignores them; a command Redis 7.0 does not know stops the load. FUNCTION and SCRIPT
//! commands only touch function libraries and the script cache, which rockslot does not keep yet:
//! they are skipped with a warning (like the libraries of a `dump.rdb`); other commands Redis
//! knows and rockslot does not implement yet (EVAL, say) stop the load rather than give a
//! different dataset. A synced loading mark brackets the whole load, so a partial dataset is
//! never served: a node killed while loading empties the data and loads again at its next start,
//! and a load that fails empties what it loaded before the node exits.
//!
//! FAILURE, with Redis's log lines and exit code 1:
//! - a file that ends inside a command: with `aof-load-truncated yes` the file is truncated after
//!   its last complete command (a MULTI without EXEC counts as incomplete and is reverted) and
//!   loading goes on, but only if it is the last file; with `no` the node stops (one deliberate
//!   difference: Redis cuts a pre-7.0 file whose first command after its RDB preamble is
//!   incomplete at offset 0, losing the preamble; rockslot cuts it at the preamble's end);
//! - bytes that are not the AOF grammar: "Bad file format reading the append only file";
//! - a file the manifest names that is missing, and an RDB part that does not load.
//!
//! An empty AOF (files of zero bytes) loads as an empty dataset; a manifest that names no base
//! and no incr file, or no AOF at all, means nothing is loaded.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use formats::aof::{self, manifest, ErrorKind, Item, Manifest, Poll, Reader};
use formats::resp::Reply;
use thiserror::Error;

use crate::commands::meta;
use crate::config::text::strerror;
use crate::config::Config;
use crate::persistence::rdb_load::{self, LoadReport};
use crate::server::{dispatch, Server, Shared};

/// Bytes read from a file at a time.
const CHUNK_BYTES: usize = 1 << 20;
/// The AOF client's id (Redis's `CLIENT_ID_AOF`); never handed to a connection.
const AOF_CLIENT_ID: u64 = u64::MAX;

/// Where the AOF is and how truncation is handled, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `appenddirname`, relative to `dir` (the working directory).
    pub dirname: PathBuf,
    /// `appendfilename`: the pre-7.0 file's name and the prefix of every 7.0 file name.
    pub filename: String,
    /// `aof-load-truncated`.
    pub load_truncated: bool,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            dirname: PathBuf::from(config.get_str("appenddirname")),
            filename: config.get_str("appendfilename"),
            load_truncated: config.get_bool("aof-load-truncated"),
        }
    }

    /// The pre-7.0 single file, in `dir`.
    fn old_style_path(&self) -> PathBuf {
        PathBuf::from(&self.filename)
    }

    /// A file of the AOF directory.
    fn path_of(&self, name: &str) -> PathBuf {
        self.dirname.join(name)
    }

    fn manifest_path(&self) -> PathBuf {
        self.path_of(&manifest::manifest_name(&self.filename))
    }
}

/// Why the node cannot start. The text is Redis's last log line; what led to it is logged first.
#[derive(Debug, Error)]
pub enum AofLoadError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Engine(#[from] engine::EngineError),
    #[error("{0}")]
    Load(#[from] rdb_load::LoadError),
}

/// Reads the manifest if the AOF directory and its manifest exist (`aofLoadManifestFromDisk`),
/// else an empty one. A manifest Redis refuses is an error, its report logged.
pub fn manifest_from_disk(settings: &Settings) -> Result<Manifest, AofLoadError> {
    if !settings.dirname.is_dir() {
        tracing::debug!(
            "The AOF directory {} doesn't exist",
            settings.dirname.display()
        );
        return Ok(Manifest::default());
    }
    let path = settings.manifest_path();
    if !path.is_file() {
        tracing::debug!("The AOF manifest file {} doesn't exist", path.display());
        return Ok(Manifest::default());
    }
    let data = std::fs::read(&path).map_err(|e| {
        AofLoadError::Refused(format!(
            "Fatal error: can't open the AOF manifest file {} for reading: {}",
            path.display(),
            strerror(&e)
        ))
    })?;
    Manifest::parse(&data).map_err(|e| {
        let mut lines = e.report_lines();
        let last = lines.pop().unwrap_or_default();
        for line in lines {
            tracing::warn!("{line}");
        }
        AofLoadError::Refused(last)
    })
}

/// Writes the manifest the way Redis does (`writeAofManifestFile`): a temporary file, fsynced
/// and renamed over the manifest, then the directory fsynced.
pub fn persist_manifest(settings: &Settings, manifest: &Manifest) -> Result<(), String> {
    let shown = manifest::temp_manifest_name(&settings.filename);
    let temp = settings.path_of(&shown);
    let mut file = std::fs::File::create(&temp)
        .map_err(|e| format!("Can't open the AOF manifest file {shown}: {}", strerror(&e)))?;
    file.write_all(&manifest.to_bytes()).map_err(|e| {
        format!(
            "Error trying to write the temporary AOF manifest file {shown}: {}",
            strerror(&e)
        )
    })?;
    file.sync_all()
        .map_err(|e| format!("Fail to fsync the temp AOF file {shown}: {}.", strerror(&e)))?;
    let path = settings.manifest_path();
    std::fs::rename(&temp, &path).map_err(|e| {
        format!(
            "Error trying to rename the temporary AOF manifest file {shown} into {}: {}",
            path.display(),
            strerror(&e)
        )
    })?;
    std::fs::File::open(&settings.dirname)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| {
            format!(
                "Fail to fsync AOF directory {}: {}.",
                path.display(),
                strerror(&e)
            )
        })
}

/// Loads the AOF into an empty data directory (or one whose last load was interrupted), moving a
/// pre-7.0 file into the directory first as Redis does. Returns `None` when nothing was loaded:
/// rockslot's data is authoritative, or there is no AOF.
pub fn load_at_startup(
    server: &Arc<Server>,
    settings: &Settings,
    manifest: &mut Manifest,
) -> Result<Option<LoadReport>, AofLoadError> {
    let unfinished = server.engine.loading_unfinished()?;
    let keys = server.engine.total_keys();
    if keys > 0 && !unfinished {
        return Ok(None);
    }
    if needs_upgrade(settings, manifest) {
        upgrade(settings, manifest)?;
    }
    let mut shared = server.exec.lock();
    let mut replayer = Replayer::new(server, &mut shared);
    if unfinished {
        tracing::warn!("An earlier load was interrupted: emptying the data and loading again");
        replayer.flush_all()?;
    }
    if manifest.is_empty() {
        // Redis loads nothing at all (not even dump.rdb) and starts empty.
        replayer.finish();
        server.engine.set_loading(false)?;
        return Ok(None);
    }
    let started = Instant::now();
    server.engine.set_loading(true)?;
    match replayer.load_files(settings, manifest) {
        Ok(report) => {
            replayer.finish();
            server.engine.flush()?;
            server.engine.set_loading(false)?;
            tracing::info!(
                "DB loaded from append only file: {:.3} seconds",
                started.elapsed().as_secs_f64()
            );
            report.record(server);
            Ok(Some(report))
        }
        Err(e) => {
            // Never serve part of an AOF: empty what was loaded before reporting the error.
            replayer.flush_all()?;
            replayer.finish();
            server.engine.flush()?;
            server.engine.set_loading(false)?;
            Err(e)
        }
    }
}

/// Redis's three cases of an old single file to move into the directory: no directory; a
/// manifest naming nothing; or one naming only that file as base while it is not there yet (an
/// upgrade interrupted after the manifest was written).
fn needs_upgrade(settings: &Settings, manifest: &Manifest) -> bool {
    if !settings.old_style_path().is_file() {
        return false;
    }
    let only_that_base = manifest.incrs.is_empty()
        && manifest
            .base
            .as_ref()
            .is_some_and(|b| b.name == settings.filename)
        && !settings.path_of(&settings.filename).is_file();
    !settings.dirname.is_dir() || manifest.is_empty() || only_that_base
}

/// `aofUpgradePrepare`: creates the directory, writes a manifest whose base is the old file,
/// then moves the file in. Each step can be retried by the next start if this one dies.
fn upgrade(settings: &Settings, manifest: &mut Manifest) -> Result<(), AofLoadError> {
    let dirname = settings.dirname.display().to_string();
    std::fs::create_dir_all(&settings.dirname).map_err(|e| {
        AofLoadError::Refused(format!(
            "Can't open or create append-only dir {dirname}: {}",
            strerror(&e)
        ))
    })?;
    manifest.upgrade_from(&settings.filename);
    persist_manifest(settings, manifest).map_err(AofLoadError::Refused)?;
    let name = &settings.filename;
    std::fs::rename(
        settings.old_style_path(),
        settings.path_of(&settings.filename),
    )
    .map_err(|e| {
        AofLoadError::Refused(format!(
            "Error trying to move the old AOF file {name} into dir {dirname}: {}",
            strerror(&e)
        ))
    })?;
    tracing::info!(
        "Successfully migrated an old-style AOF file ({name}) into the AOF directory ({dirname})."
    );
    Ok(())
}

/// How one file loaded (`loadSingleAppendOnlyFile`'s results that let loading go on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileLoad {
    Complete,
    /// Truncated after its last complete command (`aof-load-truncated yes`).
    Truncated,
    Empty,
}

/// Replays AOF files through an internal client, with the execution lock held.
struct Replayer<'s> {
    server: &'s Server,
    shared: &'s mut Shared,
    report: LoadReport,
}

impl<'s> Replayer<'s> {
    fn new(server: &'s Server, shared: &'s mut Shared) -> Replayer<'s> {
        Replayer {
            server,
            shared,
            report: LoadReport::default(),
        }
    }

    /// Runs one command as the AOF client (a fresh one if none is open); returns its reply.
    fn execute(&mut self, args: &[Bytes]) -> Option<Reply> {
        self.shared.clients.entry(AOF_CLIENT_ID).or_insert_with(|| {
            Box::new(crate::persistence::rdb_save::internal_client(AOF_CLIENT_ID))
        });
        dispatch::execute(
            self.server,
            self.shared,
            AOF_CLIENT_ID,
            args,
            0,
            std::time::Instant::now(),
        )
        .reply
    }

    /// Replays one command; returns whether the client is inside MULTI afterwards. Error
    /// replies are ignored, as Redis ignores them.
    fn run(&mut self, args: &[Bytes]) -> bool {
        if let Some(Reply::Error(e)) = self.execute(args) {
            tracing::debug!("AOF command answered an error (ignored, as in Redis): {e}");
        }
        self.shared
            .clients
            .get(&AOF_CLIENT_ID)
            .is_some_and(|c| c.multi.is_some())
    }

    /// Closes the AOF client (Redis frees its fake client after each file).
    fn close_client(&mut self) {
        if let Some(mut client) = self.shared.clients.remove(&AOF_CLIENT_ID) {
            self.shared.forget_client(&mut client);
        }
    }

    /// Empties the dataset, from a client outside any transaction.
    fn flush_all(&mut self) -> Result<(), AofLoadError> {
        self.close_client();
        let reply = self.execute(&[Bytes::from_static(b"FLUSHALL")]);
        self.close_client();
        match reply {
            Some(Reply::Error(e)) => Err(AofLoadError::Refused(format!(
                "Can't empty the data after a failed load: {e}"
            ))),
            _ => Ok(()),
        }
    }

    /// Forgets the AOF client and the statistics its commands left.
    fn finish(&mut self) {
        self.close_client();
        rdb_load::clear_load_statistics(self.server, self.shared);
        self.server
            .stats
            .dirty
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// `loadAppendOnlyFiles` from the size check on: the base, then the incr files.
    fn load_files(
        &mut self,
        settings: &Settings,
        manifest: &Manifest,
    ) -> Result<LoadReport, AofLoadError> {
        let files: Vec<_> = manifest.files_to_load().collect();
        let mut total_bytes = 0;
        for entry in &files {
            match std::fs::metadata(settings.path_of(&entry.name)) {
                Ok(meta) => total_bytes += meta.len(),
                Err(e) => {
                    return Err(AofLoadError::Refused(format!(
                        "Unable to obtain the AOF file {} length. stat: {}",
                        entry.name,
                        strerror(&e)
                    )))
                }
            }
        }
        if total_bytes == 0 {
            return Ok(self.report);
        }
        for (i, entry) in files.iter().enumerate() {
            let started = Instant::now();
            let last_file = i + 1 == files.len();
            let loaded = self.load_file(settings, &entry.name)?;
            if loaded == FileLoad::Truncated && !last_file {
                return Err(AofLoadError::Refused(
                    "Fatal error: the truncated file is not the last file".into(),
                ));
            }
            if loaded != FileLoad::Empty {
                let role = if manifest.base.as_ref() == Some(*entry) {
                    "base"
                } else {
                    "incr"
                };
                tracing::info!(
                    "DB loaded from {role} file {}: {:.3} seconds",
                    entry.name,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(self.report)
    }

    /// `loadSingleAppendOnlyFile`.
    fn load_file(&mut self, settings: &Settings, name: &str) -> Result<FileLoad, AofLoadError> {
        let shown = name;
        let path = settings.path_of(name);
        let refused = |message: String| AofLoadError::Refused(message);
        let mut file = std::fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => refused(format!(
                "The append log file {shown} doesn't exist: {}",
                strerror(&e)
            )),
            _ => refused(format!(
                "Fatal error: can't open the append log file {shown} for reading: {}",
                strerror(&e)
            )),
        })?;
        let unreadable = |e: std::io::Error| {
            refused(format!(
                "Unrecoverable error reading the append only file {shown}: {}",
                strerror(&e)
            ))
        };
        if file.metadata().map_err(unreadable)?.len() == 0 {
            return Ok(FileLoad::Empty);
        }
        // A fresh client per file, in database 0, like Redis's fake client.
        self.close_client();
        let mut head = Vec::with_capacity(aof::RDB_MAGIC.len());
        (&mut file)
            .take(aof::RDB_MAGIC.len() as u64)
            .read_to_end(&mut head)
            .map_err(unreadable)?;
        let mut reader = if aof::starts_with_rdb(&head) {
            let old_style = name == settings.filename;
            if old_style {
                tracing::info!("Reading RDB preamble from AOF file...");
            } else {
                tracing::info!("Reading RDB base file on AOF loading...");
            }
            let mut input = std::io::Cursor::new(head).chain(&mut file);
            let part = match rdb_load::replay_rdb_part(self.server, self.shared, &mut input) {
                Ok(part) => part,
                Err(e) => {
                    tracing::warn!("{e}");
                    return Err(refused(if old_style {
                        format!(
                            "Error reading the RDB preamble of the AOF file {shown}, AOF \
                             loading aborted"
                        )
                    } else {
                        format!("Error reading the RDB base file {shown}, AOF loading aborted")
                    }));
                }
            };
            self.report.keys += part.report.keys;
            self.report.expired += part.report.expired;
            if old_style {
                tracing::info!("Reading the remaining AOF tail...");
            }
            let mut reader = Reader::new(part.size);
            reader.feed(&part.tail);
            reader
        } else {
            let mut reader = Reader::new(0);
            reader.feed(&head);
            reader
        };
        self.replay_commands(&mut reader, &mut file, settings, &path, shown)
    }

    /// The command part of a file: replays commands until the end, then applies Redis's rules
    /// for a truncated tail or an unfinished transaction.
    fn replay_commands(
        &mut self,
        reader: &mut Reader,
        file: &mut std::fs::File,
        settings: &Settings,
        path: &Path,
        shown: &str,
    ) -> Result<FileLoad, AofLoadError> {
        let mut chunk = vec![0u8; CHUNK_BYTES];
        let mut in_multi = false;
        let mut valid_before_multi = reader.valid_up_to();
        let valid_up_to = loop {
            let before = reader.valid_up_to();
            match reader.poll() {
                Ok(Poll::Item(Item::Command(args))) => {
                    self.check_known(&args, shown)?;
                    if args[0].eq_ignore_ascii_case(b"multi") {
                        valid_before_multi = before;
                    }
                    if self.skipped(&args) {
                        continue;
                    }
                    in_multi = self.run(&args);
                }
                Ok(Poll::Item(Item::Annotation(_))) => {}
                Ok(Poll::NeedMore) => {
                    let n = file.read(&mut chunk).map_err(|e| {
                        AofLoadError::Refused(format!(
                            "Unrecoverable error reading the append only file {shown}: {}",
                            strerror(&e)
                        ))
                    })?;
                    if n == 0 {
                        reader.end_input();
                    } else {
                        reader.feed(&chunk[..n]);
                    }
                }
                Ok(Poll::End) if in_multi => {
                    tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {shown}");
                    break valid_before_multi;
                }
                Ok(Poll::End) => return Ok(FileLoad::Complete),
                Err(e) => match e.kind {
                    ErrorKind::Truncated => break e.valid_up_to,
                    ErrorKind::Format(_) => {
                        return Err(AofLoadError::Refused(format!(
                            "Bad file format reading the append only file {shown}: make a \
                             backup of your AOF file, then use ./redis-check-aof --fix \
                             <filename.manifest>"
                        )))
                    }
                    ErrorKind::Unreadable => {
                        return Err(AofLoadError::Refused(format!(
                            "Unrecoverable error reading the append only file {shown}: {e}"
                        )))
                    }
                },
            }
        };
        // The queued commands of an unfinished MULTI never ran; the client goes with them.
        self.close_client();
        self.truncated(settings, path, shown, valid_up_to)
    }

    /// Redis's handling of an unexpected end of file (`uxeof`).
    fn truncated(
        &self,
        settings: &Settings,
        path: &Path,
        shown: &str,
        valid_up_to: u64,
    ) -> Result<FileLoad, AofLoadError> {
        if settings.load_truncated {
            tracing::warn!("!!! Warning: short read while loading the AOF file {shown}!!!");
            tracing::warn!("!!! Truncating the AOF {shown} at offset {valid_up_to} !!!");
            let cut = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_len(valid_up_to));
            match cut {
                Ok(()) => {
                    tracing::warn!(
                        "AOF {shown} loaded anyway because aof-load-truncated is enabled"
                    );
                    return Ok(FileLoad::Truncated);
                }
                Err(e) => tracing::warn!("Error truncating the AOF file {shown}: {}", strerror(&e)),
            }
        }
        Err(AofLoadError::Refused(format!(
            "Unexpected end of file reading the append only file {shown}. You can: 1) Make a \
             backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) \
             Alternatively you can set the 'aof-load-truncated' configuration option to yes and \
             restart the server."
        )))
    }

    /// Redis stops at a command it does not know (`lookupCommand` failed); so does rockslot,
    /// and at one it knows but cannot replay yet (see [`Replayer::skipped`] for the exceptions).
    fn check_known(&self, args: &[Bytes], shown: &str) -> Result<(), AofLoadError> {
        if self.server.commands.resolve(args).is_some() {
            return Ok(());
        }
        let name = String::from_utf8_lossy(&args[0]).into_owned();
        let known_to_redis = meta::find(&name.to_ascii_lowercase()).is_some_and(|m| {
            match (m.subcommands.is_empty(), args.get(1)) {
                (false, Some(sub)) => m.subcommand(sub).is_some(),
                _ => true,
            }
        });
        if !known_to_redis {
            return Err(AofLoadError::Refused(format!(
                "Unknown command '{name}' reading the append only file {shown}"
            )));
        }
        if is_skippable(args) {
            return Ok(());
        }
        Err(AofLoadError::Refused(format!(
            "Command '{name}' in the append only file {shown} is not supported by rockslot yet"
        )))
    }

    /// Whether `args` is a FUNCTION or SCRIPT command rockslot cannot run yet; it is then
    /// logged and skipped.
    fn skipped(&self, args: &[Bytes]) -> bool {
        if self.server.commands.resolve(args).is_some() || !is_skippable(args) {
            return false;
        }
        tracing::warn!(
            "Skipping '{}' from the AOF: function libraries and the script cache are not \
             supported yet",
            args.iter()
                .take(2)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        true
    }
}

/// FUNCTION and SCRIPT change no key, only state rockslot does not keep yet.
fn is_skippable(args: &[Bytes]) -> bool {
    args[0].eq_ignore_ascii_case(b"function") || args[0].eq_ignore_ascii_case(b"script")
}
