//! `rockslot [config-file] [--directive value ...]`: starts the node like redis-server.
//! `rockslot check-rdb FILE`: checks an RDB file like redis-check-rdb.
//! `rockslot check-aof [--fix] FILE|MANIFEST`: checks an AOF like redis-check-aof.

use rockslot::config::Config;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("check-rdb") {
        std::process::exit(rockslot::tools::check_rdb::main(&args[1..]));
    }
    if args.first().map(String::as_str) == Some("check-aof") {
        std::process::exit(rockslot::tools::check_aof::main(&args[1..]));
    }
    if matches!(args.first().map(String::as_str), Some("-v" | "--version")) {
        println!(
            "rockslot v={} redis_version=7.0.15 bits=64",
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    if matches!(args.first().map(String::as_str), Some("-h" | "--help")) {
        println!(
            "Usage: rockslot [/path/to/redis.conf] [options] [-]\n       rockslot -v or --version\n\n\
             Examples:\n       rockslot (run the server with default conf)\n       \
             rockslot /etc/redis/6379.conf\n       rockslot --port 7777\n       \
             rockslot /etc/myredis.conf --loglevel verbose -\n       \
             rockslot /etc/myredis.conf --loglevel verbose"
        );
        return;
    }
    let config = match Config::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    std::process::exit(rockslot::server::run(config));
}
