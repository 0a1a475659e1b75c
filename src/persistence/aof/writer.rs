//! Appending the command stream to the AOF's current incr file.
//!
//! Every committed execution unit is encoded (with the AOF's own `SELECT` tracking and, with
//! `aof-timestamp-enabled`, a `#TS:<unix seconds>` annotation when the second changed) into a
//! pending buffer while the batch commits; the position the unit brings the incr file to is
//! stored in the same RocksDB batch (see [`super`] for why). Before a reply leaves, the pending
//! bytes are written to the file (and with `appendfsync always` fsynced), next to the RocksDB
//! WAL, so a kill -9 never loses an acknowledged write from either.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use formats::aof::manifest::{incr_name, AofFile, FileKind, Manifest};

use crate::server::propagate::{Op, StreamEncoder, Unit};

/// The AOF while it is on: the manifest, the incr file being appended to, pending bytes.
pub struct AofWriter {
    /// `dir/appenddirname`.
    dir: PathBuf,
    /// `appendfilename` (the file name stem).
    filename: String,
    pub manifest: Manifest,
    file: File,
    /// Sequence number of the incr file written to.
    incr_seq: u64,
    /// Its size, pending bytes included.
    incr_size: u64,
    /// Size of the base and the older incr files (INFO `aof_current_size` adds `incr_size`).
    pub others_size: u64,
    /// `aof_base_size`: size of the base file (Redis's base for auto-rewrite growth).
    pub base_size: u64,
    pending: BytesMut,
    encoder: StreamEncoder,
    timestamps: bool,
    last_timestamp: i64,
    /// Whether the last write to the file succeeded (INFO `aof_last_write_status`).
    pub last_write_ok: bool,
}

impl AofWriter {
    /// Continues appending to the last incr file of `manifest` (which must have one), whose
    /// valid length is `size`.
    pub fn resume(
        dir: &Path,
        filename: &str,
        manifest: Manifest,
        size: u64,
        timestamps: bool,
    ) -> std::io::Result<AofWriter> {
        let incr = manifest
            .incrs
            .last()
            .cloned()
            .ok_or_else(|| std::io::Error::other("the AOF manifest lists no incr file"))?;
        let file = OpenOptions::new().append(true).open(dir.join(&incr.name))?;
        let base_size = file_size(dir, manifest.base.as_ref());
        let older: u64 = manifest.incrs[..manifest.incrs.len() - 1]
            .iter()
            .map(|f| file_size(dir, Some(f)))
            .sum();
        Ok(AofWriter::new(
            dir,
            filename,
            manifest,
            file,
            (incr.seq, size),
            (base_size + older, base_size),
            timestamps,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// (incr file sequence, its size): the position stored with each batch.
    pub fn position(&self) -> (u64, u64) {
        (self.incr_seq, self.incr_size)
    }

    /// INFO `aof_current_size`.
    pub fn current_size(&self) -> u64 {
        self.others_size + self.incr_size
    }

    /// INFO `aof_buffer_length`.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Appends a committed batch's ops to the pending bytes; returns how many pending bytes
    /// there were before, for [`AofWriter::rollback`].
    pub fn append(&mut self, ops: &[Op], unit: Unit, now_secs: i64) -> usize {
        let before = self.pending.len();
        if ops.is_empty() {
            return before;
        }
        if self.timestamps && now_secs != self.last_timestamp {
            self.pending
                .extend_from_slice(format!("#TS:{now_secs}\r\n").as_bytes());
            self.last_timestamp = now_secs;
        }
        self.encoder.encode(ops, unit, &mut self.pending);
        self.incr_size += (self.pending.len() - before) as u64;
        before
    }

    /// Forgets what [`AofWriter::append`] added after `pending_len` (its batch failed to commit).
    pub fn rollback(&mut self, pending_len: usize) {
        let dropped = self.pending.len().saturating_sub(pending_len);
        self.pending.truncate(pending_len);
        self.incr_size -= dropped as u64;
        self.encoder.reset();
    }

    /// Installs the manifest a completed rewrite persisted: `base_size` is the new base's size and
    /// the incr files it keeps are the current one only.
    pub fn rewrite_done(&mut self, manifest: Manifest, base_size: u64) {
        self.manifest = manifest;
        self.base_size = base_size;
        self.others_size = base_size;
    }

    /// Writes the pending bytes to the incr file (to the OS; see [`AofWriter::sync_handle`]).
    pub fn write_pending(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.pending);
        self.last_write_ok = result.is_ok();
        if result.is_ok() {
            self.pending.clear();
        }
        result
    }

    /// A handle on the incr file for an fsync outside the feed lock.
    pub fn sync_handle(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// Starts an AOF whose files on disk (`manifest`, possibly empty) are stale: a new incr file
    /// receives the writes from now on, but the manifest is persisted only once a rewrite has
    /// written the base that goes with it (until then a crash rebuilds the AOF at boot).
    pub fn start(
        dir: &Path,
        filename: &str,
        manifest: Manifest,
        timestamps: bool,
    ) -> std::io::Result<AofWriter> {
        let seq = manifest.next_incr_seq();
        let name = incr_name(filename, seq);
        let file = create_synced(dir, &name)?;
        let base_size = file_size(dir, manifest.base.as_ref());
        let others_size = base_size
            + manifest
                .incrs
                .iter()
                .map(|f| file_size(dir, Some(f)))
                .sum::<u64>();
        let mut manifest = manifest;
        manifest.incrs.push(AofFile {
            name,
            seq,
            kind: FileKind::Incr,
        });
        Ok(AofWriter::new(
            dir,
            filename,
            manifest,
            file,
            (seq, 0),
            (others_size, base_size),
            timestamps,
        ))
    }

    /// A writer appending to `file`, the incr file `incr` = (sequence, size); `sizes` = (the
    /// other files' total, the base's).
    fn new(
        dir: &Path,
        filename: &str,
        manifest: Manifest,
        file: File,
        incr: (u64, u64),
        sizes: (u64, u64),
        timestamps: bool,
    ) -> AofWriter {
        AofWriter {
            dir: dir.to_path_buf(),
            filename: filename.to_string(),
            manifest,
            file,
            incr_seq: incr.0,
            incr_size: incr.1,
            others_size: sizes.0,
            base_size: sizes.1,
            pending: BytesMut::new(),
            encoder: StreamEncoder::default(),
            timestamps,
            last_timestamp: 0,
            last_write_ok: true,
        }
    }

    /// Starts a new incr file (a rewrite begins): the pending bytes go to the old one, which is
    /// synced; the new one is listed in the manifest, which is persisted before anything is
    /// written to the new file. Returns the sequence number of the new incr file.
    pub fn open_next_incr(&mut self) -> std::io::Result<u64> {
        self.write_pending()?;
        self.file.sync_data()?;
        let seq = self.manifest.next_incr_seq();
        let name = incr_name(&self.filename, seq);
        let file = create_synced(&self.dir, &name)?;
        let mut manifest = self.manifest.clone();
        manifest.incrs.push(AofFile {
            name,
            seq,
            kind: FileKind::Incr,
        });
        persist_manifest(&self.dir, &self.filename, &manifest)?;
        self.manifest = manifest;
        self.others_size += self.incr_size;
        self.file = file;
        self.incr_seq = seq;
        self.incr_size = 0;
        self.encoder.reset();
        self.last_timestamp = 0;
        Ok(seq)
    }
}

fn file_size(dir: &Path, file: Option<&AofFile>) -> u64 {
    file.and_then(|f| std::fs::metadata(dir.join(&f.name)).ok())
        .map_or(0, |m| m.len())
}

/// Creates an empty file and syncs the directory entry.
pub fn create_synced(dir: &Path, name: &str) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(dir.join(name))?;
    file.sync_all()?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

/// Writes the manifest atomically (Redis's persistAofManifest, see `load::persist_manifest`).
pub fn persist_manifest(dir: &Path, filename: &str, manifest: &Manifest) -> std::io::Result<()> {
    let settings = super::load::Settings {
        dirname: dir.to_path_buf(),
        filename: filename.to_string(),
        load_truncated: false,
    };
    super::load::persist_manifest(&settings, manifest).map_err(std::io::Error::other)
}
