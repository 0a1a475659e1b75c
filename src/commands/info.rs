//! INFO [section ...]: Redis 7.0.15's report, section for section and field for field.
//!
//! Clients and monitoring tools parse INFO by field name, so every field a real 7.0.15 prints in
//! `INFO everything` is here, under the same name, in the same section and order. Each carries
//! rockslot's real value where rockslot has one, and otherwise the value Redis prints for the same
//! state (no fork, no replicas, no Lua, no modules: `0`, `-1`, `ok`, ...). The server section adds
//! one field of its own, `rockslot_version`, after Redis's fields; `redis_version` stays 7.0.15
//! because clients gate features on it.
//!
//! Section selection follows Redis's `genInfoSectionDict`: no argument means the default sections;
//! `default` adds them to any others named; `all` means every section; `everything` means every
//! section plus module-generated ones (none here). Names are case-insensitive, unknown ones are
//! ignored (an INFO of only unknown sections is an empty string). Sections always come out in
//! Redis's order, separated by one blank line, every line ending in `\r\n`. The reply is a
//! verbatim string (a bulk string in RESP2).
//!
//! MEMORY: `used_memory` is what the engine holds in its shared RocksDB block cache (data blocks,
//! index and filter blocks, and the memtables, which the write-buffer manager charges to the same
//! cache) plus the clients' query buffers. That is the memory the dataset costs and what a
//! `maxmemory` comparison means for rockslot; `used_memory_rss` is the process's resident set
//! (`/proc/self/status`), and the fragmentation fields compare the two. There is no allocator
//! introspection, so the `allocator_*` fields repeat those two numbers.
//!
//! CPU: rockslot executes commands on the runtime's worker threads rather than on one main
//! thread, so the `*_main_thread` fields report the whole process, like `used_cpu_sys`/`user`.

use std::collections::HashSet;
use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use formats::resp::Reply;

use super::function::library::Libraries;
use super::table::Handler;
use crate::error::CommandResult;
use crate::server::pubsub::Kind;
use crate::server::stats::Stats;
use crate::server::Ctx;

pub const COMMANDS: &[(&str, Handler)] = &[("info", info)];

/// What INFO with no argument (or `default`) reports; `module_list` is Redis's name for the
/// Modules section in this list.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Redis's LRU clock: seconds, wrapping at 24 bits (`LRU_CLOCK_MAX`).
const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;

/// The sections INFO asked for.
#[derive(Debug, Default)]
struct Selection {
    names: HashSet<String>,
    all: bool,
}

impl Selection {
    fn parse(args: &[Bytes]) -> Selection {
        let mut selection = Selection::default();
        let defaults = |s: &mut Selection| {
            s.names
                .extend(DEFAULT_SECTIONS.iter().map(|n| n.to_string()))
        };
        if args.is_empty() {
            defaults(&mut selection);
        }
        for arg in args {
            let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
            match name.as_str() {
                "default" => defaults(&mut selection),
                // With no module loaded there are no module-generated sections, so `everything`
                // and `all` select the same.
                "all" | "everything" => selection.all = true,
                _ => {
                    selection.names.insert(name);
                }
            }
        }
        selection
    }

    fn wants(&self, section: &str) -> bool {
        self.all
            || self.names.contains(section)
            || (section == "modules" && self.names.contains("module_list"))
    }
}

/// The text being built: sections separated by a blank line.
#[derive(Default)]
struct Report {
    text: String,
    sections: usize,
}

impl Report {
    fn section(&mut self, title: &str) {
        if self.sections > 0 {
            self.text.push_str("\r\n");
        }
        self.sections += 1;
        let _ = write!(self.text, "# {title}\r\n");
    }

    fn field(&mut self, name: &str, value: impl Display) {
        let _ = write!(self.text, "{name}:{value}\r\n");
    }
}

/// One section: its selection name, its title, and what writes its fields.
type SectionWriter = fn(&Ctx, &mut Report);

const SECTIONS: &[(&str, &str, SectionWriter)] = &[
    ("server", "Server", server),
    ("clients", "Clients", clients),
    ("memory", "Memory", memory),
    ("persistence", "Persistence", persistence),
    ("stats", "Stats", stats),
    ("replication", "Replication", replication),
    ("cpu", "CPU", cpu),
    ("modules", "Modules", |_, _| {}),
    ("commandstats", "Commandstats", commandstats),
    ("errorstats", "Errorstats", errorstats),
    // No per-command latency histograms are kept, so the section has no fields.
    ("latencystats", "Latencystats", |_, _| {}),
    ("cluster", "Cluster", cluster),
    ("keyspace", "Keyspace", keyspace),
];

/// rockslot's own sections: shown only when named (`all` and `everything` keep Redis's list).
const OWN_SECTIONS: &[(&str, &str, SectionWriter)] = &[("rocksdb", "RocksDB", rocksdb)];

fn info(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let selection = Selection::parse(&args[1..]);
    let mut report = Report::default();
    for (name, title, write) in SECTIONS {
        if selection.wants(name) {
            report.section(title);
            write(ctx, &mut report);
        }
    }
    for (name, title, write) in OWN_SECTIONS {
        if selection.names.contains(*name) {
            report.section(title);
            write(ctx, &mut report);
        }
    }
    Ok(Reply::Verbatim(Bytes::from(report.text)))
}

fn server(ctx: &Ctx, r: &mut Report) {
    let (port, configured_hz, config_file) = {
        let config = ctx.server.config.read();
        let file = config
            .config_file()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        (config.get_int("port"), config.get_int("hz"), file)
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let uptime = ctx.server.started.elapsed().as_secs();
    r.field("redis_version", "7.0.15");
    r.field("redis_git_sha1", "00000000");
    r.field("redis_git_dirty", 0);
    r.field("redis_build_id", 0);
    r.field(
        "redis_mode",
        if ctx.server.config.read().cluster_enabled() {
            "cluster"
        } else {
            "standalone"
        },
    );
    r.field("os", os_name());
    r.field("arch_bits", usize::BITS);
    r.field("monotonic_clock", "POSIX clock_gettime");
    r.field("multiplexing_api", "epoll");
    r.field("atomicvar_api", "c11-builtin");
    // What Redis prints when it was not built by GCC.
    r.field("gcc_version", "0.0.0");
    r.field("process_id", std::process::id());
    r.field("process_supervised", "no");
    r.field("run_id", &ctx.server.run_id);
    r.field("tcp_port", port);
    r.field("server_time_usec", now.as_micros());
    r.field("uptime_in_seconds", uptime);
    r.field("uptime_in_days", uptime / 86_400);
    r.field("hz", ctx.server.tunables.hz.load(Ordering::Relaxed));
    r.field("configured_hz", configured_hz);
    r.field("lru_clock", lru_clock());
    r.field(
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    r.field("config_file", config_file);
    r.field("io_threads_active", 0);
    r.field("rockslot_version", env!("CARGO_PKG_VERSION"));
}

/// Redis's LRU clock now (DEBUG OBJECT's `lru` and INFO's `lru_clock`).
pub fn lru_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        & LRU_CLOCK_MAX
}

/// `uname -s -r -m`, as Redis prints it, read from procfs.
fn os_name() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{} {} {}",
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    )
}

fn clients(ctx: &Ctx, r: &mut Report) {
    let others = ctx.shared.clients.values();
    let max_input = others
        .map(|c| c.query_buffer_bytes)
        .max()
        .unwrap_or(0)
        .max(ctx.client.query_buffer_bytes);
    r.field("connected_clients", ctx.shared.clients.len() + 1);
    r.field("cluster_connections", 0);
    r.field(
        "maxclients",
        ctx.server.tunables.maxclients.load(Ordering::Relaxed),
    );
    r.field("client_recent_max_input_buffer", max_input);
    r.field("client_recent_max_output_buffer", 0);
    r.field("blocked_clients", ctx.shared.blocked.clients());
    r.field("tracking_clients", 0);
    let in_timeout_table = ctx
        .shared
        .clients
        .values()
        .filter(|c| c.blocked.as_ref().is_some_and(|b| b.deadline.is_some()))
        .count();
    r.field("clients_in_timeout_table", in_timeout_table);
}

/// The storage engine's background work, summed over the column families: what a benchmark
/// or an operator waits on after a bulk load (compactions still to run settle the files).
fn rocksdb(ctx: &Ctx, r: &mut Report) {
    let engine = &ctx.server.engine;
    for (field, property) in [
        ("compaction_pending", "rocksdb.compaction-pending"),
        ("running_compactions", "rocksdb.num-running-compactions"),
        ("running_flushes", "rocksdb.num-running-flushes"),
        ("level0_files", "rocksdb.num-files-at-level0"),
        ("live_sst_bytes", "rocksdb.live-sst-files-size"),
        ("memtable_bytes", "rocksdb.cur-size-all-mem-tables"),
    ] {
        r.field(field, engine.property_sum(property));
    }
}

/// Highest `used_memory` any INFO has seen in this process (`used_memory_peak`).
static PEAK_MEMORY: AtomicU64 = AtomicU64::new(0);

fn memory(ctx: &Ctx, r: &mut Report) {
    let engine = &ctx.server.engine;
    // Every column family (the slot families plus `default` and `expires`) reports the one
    // shared block cache, so the sum over families counts it once per family.
    let families = u64::from(engine.slot_families()) + 2;
    let cache = engine.property_sum("rocksdb.block-cache-usage") / families;
    let clients: u64 = ctx
        .shared
        .clients
        .values()
        .map(|c| c.query_buffer_bytes as u64)
        .sum::<u64>()
        + ctx.client.query_buffer_bytes as u64;
    let used = cache + clients;
    let peak = PEAK_MEMORY.fetch_max(used, Ordering::Relaxed).max(used);
    let rss = proc_kib("/proc/self/status", "VmRSS:") * 1024;
    let total = proc_kib("/proc/meminfo", "MemTotal:") * 1024;
    let (maxmemory, policy) = {
        let config = ctx.server.config.read();
        (
            config.get_int("maxmemory").max(0) as u64,
            config.get_str("maxmemory-policy"),
        )
    };
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let percent = |a: u64, b: u64| format!("{:.2}%", ratio(a, b) * 100.0);
    r.field("used_memory", used);
    r.field("used_memory_human", bytes_to_human(used));
    r.field("used_memory_rss", rss);
    r.field("used_memory_rss_human", bytes_to_human(rss));
    r.field("used_memory_peak", peak);
    r.field("used_memory_peak_human", bytes_to_human(peak));
    r.field("used_memory_peak_perc", percent(used, peak));
    r.field("used_memory_overhead", clients);
    r.field("used_memory_startup", 0);
    r.field("used_memory_dataset", cache);
    r.field("used_memory_dataset_perc", percent(cache, used));
    r.field("allocator_allocated", used);
    r.field("allocator_active", used);
    r.field("allocator_resident", rss);
    r.field("total_system_memory", total);
    r.field("total_system_memory_human", bytes_to_human(total));
    for (name, value) in [
        ("used_memory_lua", "0"),
        ("used_memory_vm_eval", "0"),
        ("used_memory_lua_human", "0B"),
        ("used_memory_scripts_eval", "0"),
        ("number_of_cached_scripts", "0"),
    ] {
        r.field(name, value);
    }
    // A corrupt libraries record shows as none here; FUNCTION commands report it.
    let libraries = Libraries::read(&ctx.txn).unwrap_or_default();
    r.field("number_of_functions", libraries.function_count());
    r.field("number_of_libraries", libraries.libraries.len());
    for (name, value) in [
        ("used_memory_vm_functions", "0"),
        ("used_memory_vm_total", "0"),
        ("used_memory_vm_total_human", "0B"),
        ("used_memory_functions", "0"),
        ("used_memory_scripts", "0"),
        ("used_memory_scripts_human", "0B"),
    ] {
        r.field(name, value);
    }
    r.field("maxmemory", maxmemory);
    r.field("maxmemory_human", bytes_to_human(maxmemory));
    r.field("maxmemory_policy", policy);
    r.field("allocator_frag_ratio", "1.00");
    r.field("allocator_frag_bytes", 0);
    r.field("allocator_rss_ratio", format!("{:.2}", ratio(rss, used)));
    r.field("allocator_rss_bytes", rss as i64 - used as i64);
    r.field("rss_overhead_ratio", "1.00");
    r.field("rss_overhead_bytes", 0);
    r.field(
        "mem_fragmentation_ratio",
        format!("{:.2}", ratio(rss, used)),
    );
    r.field("mem_fragmentation_bytes", rss as i64 - used as i64);
    r.field("mem_not_counted_for_evict", 0);
    r.field("mem_replication_backlog", 0);
    r.field("mem_total_replication_buffers", 0);
    r.field("mem_clients_slaves", 0);
    r.field("mem_clients_normal", clients);
    r.field("mem_cluster_links", 0);
    r.field("mem_aof_buffer", 0);
    // Rust's global allocator is the C library's malloc, which Redis calls "libc".
    r.field("mem_allocator", "libc");
    r.field("active_defrag_running", 0);
    r.field("lazyfree_pending_objects", 0);
    r.field("lazyfreed_objects", 0);
}

/// A `Name:   N kB` value of a procfs file, in KiB (0 when unavailable).
fn proc_kib(path: &str, name: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with(name))?;
            line[name.len()..].split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Redis's `bytesToHuman`: `B` below 1 KiB, then two decimals and the binary unit up to `P`,
/// and plain bytes again from 1 EiB on.
fn bytes_to_human(n: u64) -> String {
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, unit) in ['K', 'M', 'G', 'T', 'P'].into_iter().enumerate() {
        let scale = 1u64 << (10 * (i + 1));
        if n < scale << 10 {
            return format!("{:.2}{unit}", n as f64 / scale as f64);
        }
    }
    format!("{n}B")
}

fn persistence(ctx: &Ctx, r: &mut Report) {
    let stats = &ctx.server.stats;
    let aof = ctx.server.config.read().get_bool("appendonly");
    for (name, value) in [
        ("loading", "0"),
        ("async_loading", "0"),
        ("current_cow_peak", "0"),
        ("current_cow_size", "0"),
        ("current_cow_size_age", "0"),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", "0"),
        ("current_save_keys_total", "0"),
    ] {
        r.field(name, value);
    }
    r.field("rdb_changes_since_last_save", Stats::get(&stats.dirty));
    let bgsave_started = stats.bgsave_started_ms.load(Ordering::Relaxed);
    r.field("rdb_bgsave_in_progress", u8::from(bgsave_started != 0));
    r.field(
        "rdb_last_save_time",
        stats.last_save_unix.load(Ordering::Relaxed),
    );
    let failed = stats.last_bgsave_failed.load(Ordering::Relaxed);
    r.field("rdb_last_bgsave_status", if failed { "err" } else { "ok" });
    r.field(
        "rdb_last_bgsave_time_sec",
        stats.last_bgsave_secs.load(Ordering::Relaxed),
    );
    let current = if bgsave_started == 0 {
        -1
    } else {
        (crate::server::unix_ms() - bgsave_started) / 1000
    };
    r.field("rdb_current_bgsave_time_sec", current);
    r.field("rdb_saves", Stats::get(&stats.rdb_saves));
    r.field("rdb_last_cow_size", 0);
    r.field(
        "rdb_last_load_keys_expired",
        Stats::get(&stats.last_load_keys_expired),
    );
    r.field(
        "rdb_last_load_keys_loaded",
        Stats::get(&stats.last_load_keys_loaded),
    );
    r.field("aof_enabled", u8::from(aof));
    let rewrite = &ctx.server.aof_rewrite;
    let started = rewrite.started_ms.load(Ordering::Relaxed);
    r.field("aof_rewrite_in_progress", u8::from(started != 0));
    r.field(
        "aof_rewrite_scheduled",
        u8::from(rewrite.scheduled.load(Ordering::Relaxed)),
    );
    r.field(
        "aof_last_rewrite_time_sec",
        rewrite.last_secs.load(Ordering::Relaxed),
    );
    let current = if started == 0 {
        -1
    } else {
        (crate::server::unix_ms() - started) / 1000
    };
    r.field("aof_current_rewrite_time_sec", current);
    let status = |failed: bool| if failed { "err" } else { "ok" };
    r.field(
        "aof_last_bgrewrite_status",
        status(rewrite.last_failed.load(Ordering::Relaxed)),
    );
    r.field("aof_rewrites", Stats::get(&rewrite.rewrites));
    r.field(
        "aof_rewrites_consecutive_failures",
        Stats::get(&rewrite.consecutive_failures),
    );
    let sizes = ctx.server.feed.lock().aof.as_ref().map(|aof| {
        (
            aof.last_write_ok,
            aof.current_size(),
            aof.base_size,
            aof.pending_len(),
        )
    });
    let write_ok = sizes.is_none_or(|(ok, ..)| ok);
    r.field("aof_last_write_status", status(!write_ok));
    r.field("aof_last_cow_size", 0);
    r.field("module_fork_in_progress", 0);
    r.field("module_fork_last_cow_size", 0);
    if aof {
        let (_, current, base, pending) = sizes.unwrap_or_default();
        r.field("aof_current_size", current);
        r.field("aof_base_size", base);
        r.field("aof_pending_rewrite", 0);
        r.field("aof_buffer_length", pending);
        r.field("aof_pending_bio_fsync", 0);
        r.field("aof_delayed_fsync", 0);
    }
}

fn stats(ctx: &Ctx, r: &mut Report) {
    let s = &ctx.server.stats;
    r.field(
        "total_connections_received",
        Stats::get(&s.connections_received),
    );
    r.field(
        "total_commands_processed",
        Stats::get(&s.commands_processed),
    );
    r.field("instantaneous_ops_per_sec", 0);
    r.field("total_net_input_bytes", Stats::get(&s.net_input_bytes));
    r.field("total_net_output_bytes", Stats::get(&s.net_output_bytes));
    r.field("total_net_repl_input_bytes", 0);
    r.field("total_net_repl_output_bytes", 0);
    for name in [
        "instantaneous_input_kbps",
        "instantaneous_output_kbps",
        "instantaneous_input_repl_kbps",
        "instantaneous_output_repl_kbps",
    ] {
        r.field(name, "0.00");
    }
    r.field("rejected_connections", Stats::get(&s.rejected_connections));
    r.field("sync_full", Stats::get(&s.sync_full));
    r.field("sync_partial_ok", Stats::get(&s.sync_partial_ok));
    r.field("sync_partial_err", Stats::get(&s.sync_partial_err));
    r.field("expired_keys", Stats::get(&s.expired_keys));
    r.field("expired_stale_perc", "0.00");
    for name in [
        "expired_time_cap_reached_count",
        "expire_cycle_cpu_milliseconds",
        "evicted_keys",
        "evicted_clients",
        "total_eviction_exceeded_time",
        "current_eviction_exceeded_time",
    ] {
        r.field(name, 0);
    }
    r.field("keyspace_hits", Stats::get(&s.keyspace_hits));
    r.field("keyspace_misses", Stats::get(&s.keyspace_misses));
    let pubsub = &ctx.shared.pubsub;
    r.field("pubsub_channels", pubsub.len(Kind::Channel));
    r.field("pubsub_patterns", pubsub.len(Kind::Pattern));
    r.field("pubsubshard_channels", pubsub.len(Kind::Shard));
    for name in [
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
        "tracking_total_keys",
        "tracking_total_items",
        "tracking_total_prefixes",
        "unexpected_error_replies",
    ] {
        r.field(name, 0);
    }
    r.field("total_error_replies", Stats::get(&s.total_error_replies));
    for name in [
        "dump_payload_sanitizations",
        "total_reads_processed",
        "total_writes_processed",
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "reply_buffer_shrinks",
        "reply_buffer_expands",
    ] {
        r.field(name, 0);
    }
}

fn replication(ctx: &Ctx, r: &mut Report) {
    let backlog_size = ctx.server.config.read().get_int("repl-backlog-size");
    let offset = ctx.server.repl_offset.load(Ordering::SeqCst);
    let feed = ctx.server.feed.lock();
    let repl = &feed.repl;
    match &repl.follow {
        None => r.field("role", "master"),
        Some(f) => replica_fields(ctx, r, f, offset),
    }
    r.field("connected_slaves", repl.links.len());
    let now = crate::server::unix_ms();
    for (i, link) in repl.links.iter().enumerate() {
        r.field(
            &format!("slave{i}"),
            format!(
                "ip={},port={},state={},offset={},lag={}",
                link.addr.ip(),
                link.listening_port,
                link.state().name(),
                link.ack_offset.load(Ordering::Relaxed),
                (now - link.ack_time_ms.load(Ordering::Relaxed)).max(0) / 1000
            ),
        );
    }
    r.field("master_failover_state", "no-failover");
    r.field("master_replid", &repl.replid);
    r.field("master_replid2", &repl.replid2);
    r.field("master_repl_offset", offset);
    r.field("second_repl_offset", repl.second_replid_offset);
    match &repl.backlog {
        Some(backlog) => {
            r.field("repl_backlog_active", 1);
            r.field("repl_backlog_size", backlog.size());
            r.field(
                "repl_backlog_first_byte_offset",
                backlog.first_byte_offset(),
            );
            r.field("repl_backlog_histlen", backlog.histlen());
        }
        None => {
            r.field("repl_backlog_active", 0);
            r.field("repl_backlog_size", backlog_size);
            r.field("repl_backlog_first_byte_offset", 0);
            r.field("repl_backlog_histlen", 0);
        }
    }
}

/// A replica's part of INFO replication, with Redis 7.0's names.
fn replica_fields(
    ctx: &Ctx,
    r: &mut Report,
    f: &crate::replication::replica::Following,
    offset: i64,
) {
    use crate::replication::replica::LinkState;
    let now = crate::server::unix_ms();
    let connected = f.state == LinkState::Connected;
    r.field("role", "slave");
    r.field("master_host", &f.host);
    r.field("master_port", f.port);
    r.field("master_link_status", if connected { "up" } else { "down" });
    r.field(
        "master_last_io_seconds_ago",
        if f.client_id.is_some() {
            (now - f.last_io_ms).max(0) / 1000
        } else {
            -1
        },
    );
    let transfer = f.state == LinkState::Transfer;
    r.field("master_sync_in_progress", u8::from(transfer));
    r.field("slave_read_repl_offset", offset + f.unapplied);
    r.field("slave_repl_offset", offset);
    if transfer {
        let size = f.transfer_size;
        r.field("master_sync_total_bytes", size);
        r.field("master_sync_read_bytes", f.transfer_read);
        r.field(
            "master_sync_left_bytes",
            if size < 0 { -1 } else { size - f.transfer_read },
        );
        let perc = if size > 0 {
            f.transfer_read as f64 * 100.0 / size as f64
        } else {
            0.0
        };
        r.field("master_sync_perc", format!("{perc:.2}"));
        r.field(
            "master_sync_last_io_seconds_ago",
            (now - f.last_io_ms).max(0) / 1000,
        );
    }
    if !connected {
        r.field(
            "master_link_down_since_seconds",
            if f.down_since_ms > 0 {
                (now - f.down_since_ms).max(0) / 1000
            } else {
                -1
            },
        );
    }
    let config = ctx.server.config.read();
    r.field("slave_priority", config.get_int("replica-priority"));
    r.field(
        "slave_read_only",
        u8::from(config.get_bool("replica-read-only")),
    );
    r.field(
        "replica_announced",
        u8::from(config.get_bool("replica-announced")),
    );
}

/// (system, user) CPU time as Redis prints it: seconds with six decimals.
fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage only writes the struct it is given, which is zero-initialised plain data.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut usage) != 0 {
            return ("0.000000".into(), "0.000000".into());
        }
        usage
    };
    let fmt = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (fmt(usage.ru_stime), fmt(usage.ru_utime))
}

fn cpu(_ctx: &Ctx, r: &mut Report) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (sys_children, user_children) = rusage(libc::RUSAGE_CHILDREN);
    r.field("used_cpu_sys", &sys);
    r.field("used_cpu_user", &user);
    r.field("used_cpu_sys_children", sys_children);
    r.field("used_cpu_user_children", user_children);
    r.field("used_cpu_sys_main_thread", sys);
    r.field("used_cpu_user_main_thread", user);
}

/// `cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..` for every
/// command that was called or refused at least once, by name.
fn commandstats(ctx: &Ctx, r: &mut Report) {
    let mut names: Vec<&&str> = ctx.shared.command_stats.keys().collect();
    names.sort_unstable();
    for name in names {
        let stat = &ctx.shared.command_stats[*name];
        if stat.calls == 0 && stat.failed_calls == 0 && stat.rejected_calls == 0 {
            continue;
        }
        let per_call = if stat.calls == 0 {
            0.0
        } else {
            stat.usec as f64 / stat.calls as f64
        };
        r.field(
            &format!("cmdstat_{name}"),
            format_args!(
                "calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}",
                stat.calls, stat.usec, stat.rejected_calls, stat.failed_calls
            ),
        );
    }
}

/// `errorstat_<CODE>:count=N`, by error code (Redis keeps them in a radix tree, hence sorted).
fn errorstats(ctx: &Ctx, r: &mut Report) {
    let mut codes: Vec<(&String, &u64)> = ctx.shared.error_stats.iter().collect();
    codes.sort_unstable();
    for (code, count) in codes {
        r.field(&format!("errorstat_{code}"), format_args!("count={count}"));
    }
}

fn cluster(ctx: &Ctx, r: &mut Report) {
    r.field(
        "cluster_enabled",
        u8::from(ctx.server.config.read().cluster_enabled()),
    );
}

/// `dbN:keys=..,expires=..,avg_ttl=..` for every non-empty database. Redis estimates `avg_ttl`
/// from its active expire sampling; rockslot's expire cycle walks an index instead, so it is 0.
fn keyspace(ctx: &Ctx, r: &mut Report) {
    let engine = &ctx.server.engine;
    for db in 0..engine.databases() {
        match engine.db_counts(db) {
            Ok((0, _)) => {}
            Ok((keys, expires)) => r.field(
                &format!("db{db}"),
                format_args!("keys={keys},expires={expires},avg_ttl=0"),
            ),
            Err(e) => tracing::warn!("INFO keyspace: db {db}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn chosen(list: &[&str]) -> Vec<&'static str> {
        let selection = Selection::parse(&args(list));
        SECTIONS
            .iter()
            .filter(|(name, _, _)| selection.wants(name))
            .map(|(name, _, _)| *name)
            .collect()
    }

    #[test]
    fn default_sections_are_redis_defaults() {
        let defaults = vec![
            "server",
            "clients",
            "memory",
            "persistence",
            "stats",
            "replication",
            "cpu",
            "modules",
            "errorstats",
            "cluster",
            "keyspace",
        ];
        assert_eq!(chosen(&[]), defaults);
        assert_eq!(chosen(&["default"]), defaults);
        assert_eq!(
            chosen(&["DEFAULT", "commandstats"]).len(),
            defaults.len() + 1
        );
    }

    #[test]
    fn all_and_everything_select_every_section() {
        assert_eq!(chosen(&["all"]).len(), SECTIONS.len());
        assert_eq!(chosen(&["everything", "nonsense"]).len(), SECTIONS.len());
    }

    #[test]
    fn named_sections_come_out_in_redis_order() {
        assert_eq!(chosen(&["cpu", "Server", "CPU"]), vec!["server", "cpu"]);
        assert_eq!(chosen(&["module_list"]), vec!["modules"]);
        assert!(chosen(&["nosuch"]).is_empty());
    }

    #[test]
    fn report_separates_sections_with_blank_lines() {
        let mut report = Report::default();
        report.section("Server");
        report.field("a", 1);
        report.section("CPU");
        report.field("b", "x");
        assert_eq!(report.text, "# Server\r\na:1\r\n\r\n# CPU\r\nb:x\r\n");
    }

    #[test]
    fn human_sizes_like_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(990_560), "967.34K");
        assert_eq!(bytes_to_human(6_680_576), "6.37M");
        assert_eq!(bytes_to_human(25_276_514_304), "23.54G");
        assert_eq!(bytes_to_human(1 << 40), "1.00T");
        assert_eq!(bytes_to_human(3 << 50), "3.00P");
    }
}
