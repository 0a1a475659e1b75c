//! Function libraries against redis-server 7.0.15.
//!
//! - FUNCTION subcommands' replies and errors as differential sequences (LOAD and its header,
//!   registration and collision errors, LIST with its options, DELETE, FLUSH, RESTORE's checks,
//!   STATS, KILL, FCALL's argument checks), in RESP2 and RESP3. Redis lists libraries in hash
//!   table order, so LIST replies with several libraries are compared unordered, and every
//!   library listed there has one function.
//! - Libraries travel both ways: FUNCTION DUMP of one server RESTOREd on the other, and a file
//!   rockslot SAVEs loaded by redis-server, with FUNCTION LIST WITHCODE equal on both sides.
//! - Libraries are durable: they survive kill -9 and a restart, FLUSHALL leaves them, DEBUG
//!   RELOAD brings them back from the file.
//!
//! FUNCTION LIST WITHCODE is compared in the fixtures' JSON form ([`function_list`]): libraries
//! sorted by name, each library's functions sorted by name, flags sorted. The RDB fixtures with
//! libraries are checked against their JSON by `rdb_load`, through the same helper.

use serde_json::{json, Value as Json};

use crate::differential::{cmd, Check, Cmd, Pair};
use crate::support::resp::{Conn, Reply};
use crate::support::server::{Flavor, Server};

const SERVER_ARGS: [&str; 4] = ["--enable-debug-command", "yes", "--save", ""];

fn lib(name: &str, body: &str) -> String {
    format!("#!lua name={name}\n{body}")
}

fn one(name: &str, function: &str) -> String {
    lib(
        name,
        &format!("redis.register_function('{function}', function() return 1 end)"),
    )
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(reply.as_bytes().unwrap_or_default()).into_owned()
}

/// Reads the (RESP2) flat map `items` into (key, value) pairs.
fn pairs(items: &[Reply]) -> Vec<(String, &Reply)> {
    items.chunks(2).map(|kv| (text(&kv[0]), &kv[1])).collect()
}

/// FUNCTION LIST WITHCODE (over RESP2) in the fixtures' JSON form, [`sorted`].
pub fn function_list(conn: &mut Conn) -> Json {
    let reply = conn
        .call(&["FUNCTION", "LIST", "WITHCODE"])
        .expect("FUNCTION LIST");
    let libraries = reply
        .as_items()
        .unwrap_or_else(|| panic!("FUNCTION LIST replied {reply:?}"))
        .iter()
        .map(|library| {
            let mut out = serde_json::Map::new();
            for (key, value) in pairs(library.as_items().unwrap_or_default()) {
                let value = match key.as_str() {
                    "functions" => Json::Array(
                        value
                            .as_items()
                            .unwrap_or_default()
                            .iter()
                            .map(function_json)
                            .collect(),
                    ),
                    _ => Json::String(text(value)),
                };
                out.insert(key, value);
            }
            Json::Object(out)
        })
        .collect();
    sorted(Json::Array(libraries))
}

fn function_json(function: &Reply) -> Json {
    let mut out = serde_json::Map::new();
    for (key, value) in pairs(function.as_items().unwrap_or_default()) {
        let value = match (key.as_str(), value) {
            ("flags", flags) => json!(flags
                .as_items()
                .unwrap_or_default()
                .iter()
                .map(text)
                .collect::<Vec<_>>()),
            (_, Reply::Bulk(None) | Reply::Null) => Json::Null,
            (_, v) => Json::String(text(v)),
        };
        out.insert(key, value);
    }
    Json::Object(out)
}

/// A FUNCTION LIST in JSON form with libraries sorted by name, functions by name and flags:
/// the orders Redis's hash tables leave unspecified.
pub fn sorted(listed: Json) -> Json {
    let by = |key: &'static str| move |v: &Json| v[key].as_str().unwrap_or_default().to_string();
    let mut libraries = match listed {
        Json::Array(libraries) => libraries,
        Json::Null => Vec::new(),
        other => panic!("not a FUNCTION LIST: {other}"),
    };
    for library in &mut libraries {
        if let Some(Json::Array(functions)) = library.get_mut("functions") {
            functions.sort_by_key(by("name"));
            for function in functions {
                if let Some(Json::Array(flags)) = function.get_mut("flags") {
                    flags.sort_by_key(|f| f.as_str().unwrap_or_default().to_string());
                }
            }
        }
    }
    libraries.sort_by_key(by("library_name"));
    Json::Array(libraries)
}

fn call(conn: &mut Conn, args: &[&str]) -> Reply {
    let reply = conn.call(args).expect("call");
    assert!(!reply.is_error(), "{args:?} replied {reply:?}");
    reply
}

/// Libraries with descriptions, flags and several functions, loaded on `conn`.
fn load_libraries(conn: &mut Conn) {
    call(conn, &["FUNCTION", "LOAD", &one("alpha", "a1")]);
    let beta = lib(
        "beta",
        "local function f(keys, args) return args[1] end\n\
         redis.register_function{function_name='b1', callback=f, description='the b1',\n\
           flags={'no-writes', 'allow-stale'}}\n\
         redis.register_function('b2', f)\n\
         redis.register_function{function_name='b3', callback=f, flags={'no-cluster', \
         'allow-oom', 'allow-cross-slot-keys'}}",
    );
    call(conn, &["FUNCTION", "LOAD", &beta]);
    // Long enough for LZF in files and payloads, and a non-ASCII byte.
    let gamma = lib(
        "gamma",
        &format!(
            "-- {} \u{2713}\nredis.register_function('g1', function() return 'x' end)",
            "padding ".repeat(20)
        ),
    );
    call(conn, &["FUNCTION", "LOAD", &gamma]);
}

#[test]
fn function_commands_reply_like_redis() {
    let f1 = one("lib1", "f1");
    // Libraries outlive the FLUSHALL between the RESP2 and RESP3 runs: start empty.
    let cmds: Vec<Cmd> = vec![
        cmd!("FUNCTION", "FLUSH"),
        cmd!("FUNCTION", "LOAD", f1),
        cmd!("FUNCTION", "LOAD", f1),
        cmd!("FUNCTION", "LOAD", "REPLACE", one("lib1", "f1")),
        cmd!("FUNCTION", "LOAD", "replace", "replace", one("lib1", "f1")),
        cmd!("FUNCTION", "LOAD", "foo", one("lib1", "f1")),
        cmd!("FUNCTION", "LOAD", "REPLACE"),
        cmd!("FUNCTION", "LOAD"),
        cmd!("FUNCTION", "LOAD", one("lib2", "F1")),
        cmd!("FUNCTION", "LOAD", one("lib2", "f2")),
        // Headers.
        cmd!("FUNCTION", "LOAD", "lua name=x\n"),
        cmd!("FUNCTION", "LOAD", "#!lua name=x"),
        cmd!("FUNCTION", "LOAD", "#!lua\n"),
        cmd!("FUNCTION", "LOAD", "#!lua name=a name=b\n"),
        cmd!("FUNCTION", "LOAD", "#!lua foo=b\n"),
        cmd!("FUNCTION", "LOAD", "#!lu name=b\n"),
        cmd!("FUNCTION", "LOAD", "#! name=x\n"),
        cmd!("FUNCTION", "LOAD", "#!lua name=b-c\n"),
        cmd!("FUNCTION", "LOAD", "#!lua \"name=b\n"),
        cmd!("FUNCTION", "LOAD", "#!lua name=nofuncs\nlocal x = 1"),
        cmd!("FUNCTION", "LOAD", one("upper", "up").replace("#!lua", "#!LuA")),
        // Registration errors.
        cmd!("FUNCTION", "LOAD", lib("e1", "a = 1")),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.x = 1")),
        cmd!("FUNCTION", "LOAD", lib("e1", "local x = string.format('%d', 1)")),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.call('set', 'x', '1')")),
        cmd!("FUNCTION", "LOAD", lib("e1", "return 1 +")),
        cmd!("FUNCTION", "LOAD", lib("e1", "local t = {} t.x.y = 1")),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.register_function()")),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.register_function('f')")),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.register_function('f', 1)")),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.register_function({}, print)")),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.register_function{callback=1}")),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("e1", "redis.register_function{function_name='x'}")
        ),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("e1", "redis.register_function{function_name='x', callback=function() end, flags='no-writes'}")
        ),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("e1", "redis.register_function{function_name='x', callback=function() end, flags={'bad'}}")
        ),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("e1", "redis.register_function{function_name='x', callback=function() end, other=1}")
        ),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("e1", "redis.register_function{function_name='x', callback=function() end, description={}}")
        ),
        cmd!("FUNCTION", "LOAD", lib("e1", "redis.register_function('a-b', function() end)")),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("e1", "redis.register_function('d', function() end) redis.register_function('d', function() end)")
        ),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("num", "redis.register_function{function_name=12, callback=function() end, description=5, FLAGS={'NO-WRITES'}}")
        ),
        cmd!(
            "FUNCTION",
            "LOAD",
            lib("e1", "redis.log(redis.LOG_WARNING, 'hi') redis.register_function('lg', function() end) return redis.REDIS_VERSION")
        ),
        // LIST: one function per library, so only the library order is Redis's hash order.
        cmd!("FUNCTION", "LIST").checked(Check::Unordered),
        cmd!("FUNCTION", "LIST", "WITHCODE").checked(Check::Unordered),
        cmd!("FUNCTION", "LIST", "LIBRARYNAME", "lib*", "withcode").checked(Check::Unordered),
        cmd!("FUNCTION", "LIST", "libraryname", "NUM"),
        cmd!("FUNCTION", "LIST", "LIBRARYNAME", "nomatch"),
        cmd!("FUNCTION", "LIST", "LIBRARYNAME"),
        cmd!("FUNCTION", "LIST", "bogus"),
        cmd!("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
        cmd!("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"),
        cmd!("FUNCTION", "STATS"),
        cmd!("FUNCTION", "STATS", "x"),
        // FCALL finds functions without case, then checks the key count.
        cmd!("FCALL", "nope", "0"),
        cmd!("FCALL_RO", "nope", "0"),
        cmd!("FCALL", "F1", "x"),
        cmd!("FCALL", "f1", "2", "k"),
        cmd!("FCALL", "f1", "-1"),
        cmd!("FCALL"),
        // DELETE, KILL, FLUSH, RESTORE's argument checks.
        cmd!("FUNCTION", "DELETE", "LIB1"),
        cmd!("FUNCTION", "DELETE", "lib1"),
        cmd!("FUNCTION", "DELETE", "lib1"),
        cmd!("FUNCTION", "DELETE"),
        cmd!("FUNCTION", "DELETE", "a", "b"),
        cmd!("FUNCTION", "KILL"),
        cmd!("FUNCTION", "RESTORE"),
        cmd!("FUNCTION", "RESTORE", "abc"),
        cmd!("FUNCTION", "RESTORE", "abc", "bogus"),
        cmd!("FUNCTION", "RESTORE", "abc", "FLUSH", "x"),
        cmd!("FUNCTION", "FLUSH", "bogus"),
        cmd!("FUNCTION", "FLUSH", "SYNC", "SYNC"),
        cmd!("FUNCTION", "STATS"),
        cmd!("FUNCTION", "FLUSH", "async"),
        cmd!("FUNCTION", "LIST"),
        cmd!("FUNCTION", "STATS"),
        cmd!("FUNCTION", "DUMP"),
        cmd!("FUNCTION", "FLUSH"),
        // Inside MULTI, a later command sees an earlier one's library.
        cmd!("MULTI"),
        cmd!("FUNCTION", "LOAD", one("m", "mf")),
        cmd!("FUNCTION", "LOAD", one("m", "mf")),
        cmd!("FUNCTION", "LIST"),
        cmd!("EXEC"),
        cmd!("FUNCTION", "HELP"),
    ];
    Pair::start().check(&cmds);
}

/// A FUNCTION DUMP payload body (opcodes and strings) with a footer of `version` and a CRC.
fn payload(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = formats::rdb::crc64::checksum(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn function_restore_checks_payloads_like_redis() {
    let code = one("rr", "rr");
    let mut single = vec![formats::rdb::opcodes::FUNCTION2, code.len() as u8];
    single.extend_from_slice(code.as_bytes());
    let twice = [single.clone(), single.clone()].concat();
    let mut bad_crc = payload(&single, 10);
    bad_crc[3] ^= 1;
    // Libraries outlive the FLUSHALL between the RESP2 and RESP3 runs: start empty.
    let cmds: Vec<Cmd> = vec![
        cmd!("FUNCTION", "FLUSH"),
        cmd!("FUNCTION", "RESTORE", payload(b"\xf5\x05ab", 10)),
        cmd!("FUNCTION", "RESTORE", payload(b"\x00\x01a", 10)),
        cmd!("FUNCTION", "RESTORE", payload(b"", 10)),
        cmd!("FUNCTION", "RESTORE", payload(b"\xf5", 10)),
        cmd!("FUNCTION", "RESTORE", payload(b"\xf5\x05#!lua", 10)),
        cmd!("FUNCTION", "RESTORE", payload(&single, 11)),
        cmd!("FUNCTION", "RESTORE", bad_crc),
        cmd!("FUNCTION", "RESTORE", payload(&twice, 10)),
        cmd!("FUNCTION", "RESTORE", payload(&single, 9)),
        cmd!("FUNCTION", "RESTORE", payload(&single, 10)),
        cmd!("FUNCTION", "RESTORE", payload(&single, 10), "append"),
        cmd!("FUNCTION", "RESTORE", payload(&single, 10), "REPLACE"),
        cmd!("FUNCTION", "LOAD", one("other", "rr2")),
        cmd!("FUNCTION", "RESTORE", payload(&single, 10), "FLUSH"),
        cmd!("FUNCTION", "LIST", "WITHCODE"),
        cmd!("FUNCTION", "LOAD", one("clash", "RR")),
        cmd!("FUNCTION", "DELETE", "rr"),
        cmd!("FUNCTION", "LOAD", one("clash", "RR")),
        cmd!("FUNCTION", "RESTORE", payload(&single, 10), "REPLACE"),
        cmd!("FUNCTION", "STATS"),
        // Release-candidate libraries (opcode 246): name, engine, description flag, body.
        cmd!("FUNCTION", "FLUSH"),
        cmd!("FUNCTION", "RESTORE", payload(&pre_ga(b"pg", b"\x00"), 10)),
        cmd!(
            "FUNCTION",
            "RESTORE",
            payload(&pre_ga(b"pg2", b"\x01\x04desc"), 10)
        ),
        cmd!("FUNCTION", "LIST", "LIBRARYNAME", "pg", "WITHCODE"),
        cmd!("FUNCTION", "RESTORE", payload(b"\xf6", 10)),
        cmd!("FUNCTION", "RESTORE", payload(b"\xf6\x01x", 10)),
        cmd!("FUNCTION", "RESTORE", payload(b"\xf6\x01x\x03LUA\x01", 10)),
        cmd!("FUNCTION", "RESTORE", payload(b"\xf6\x01x\x03LUA\x00", 10)),
    ];
    Pair::start().check(&cmds);
}

/// A release-candidate library `name` registering a function of the same name; `description`
/// is the flag and, when set, the description string.
fn pre_ga(name: &[u8], description: &[u8]) -> Vec<u8> {
    let body = [
        &b"\nredis.register_function('"[..],
        name,
        b"', function() end)",
    ]
    .concat();
    let mut out = vec![formats::rdb::opcodes::FUNCTION_PRE_GA, name.len() as u8];
    out.extend_from_slice(name);
    out.extend_from_slice(b"\x03LUA");
    out.extend_from_slice(description);
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

#[test]
fn function_dump_payloads_restore_both_ways() {
    let redis = Server::start(Flavor::Redis, SERVER_ARGS);
    let rockslot = Server::start(Flavor::Rockslot, SERVER_ARGS);
    for (from, to) in [(&redis, &rockslot), (&rockslot, &redis)] {
        let (mut src, mut dst) = (from.conn(), to.conn());
        call(&mut src, &["FUNCTION", "FLUSH"]);
        call(&mut dst, &["FUNCTION", "FLUSH"]);
        load_libraries(&mut src);
        let dump = call(&mut src, &["FUNCTION", "DUMP"]);
        let bytes = dump.as_bytes().expect("payload").to_vec();
        let reply = dst
            .call(&[&b"FUNCTION"[..], b"RESTORE", &bytes])
            .expect("RESTORE");
        assert_eq!(
            reply,
            Reply::Simple(b"OK".to_vec()),
            "{:?} → {:?}",
            from.flavor(),
            to.flavor()
        );
        let listed = function_list(&mut src);
        assert_eq!(listed.as_array().map(Vec::len), Some(3));
        assert_eq!(function_list(&mut dst), listed);
        assert_eq!(info_counts(&mut dst), ("5".to_string(), "3".to_string()));
        assert_eq!(info_counts(&mut src), info_counts(&mut dst));
    }
}

/// INFO memory's `number_of_functions` and `number_of_libraries`.
fn info_counts(conn: &mut Conn) -> (String, String) {
    let info = text(&call(conn, &["INFO", "memory"]));
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_default()
            .to_string()
    };
    (field("number_of_functions"), field("number_of_libraries"))
}

#[test]
fn saved_libraries_load_in_redis_and_survive_restarts() {
    let mut rockslot = Server::start(Flavor::Rockslot, SERVER_ARGS);
    let mut conn = rockslot.conn();
    load_libraries(&mut conn);
    call(&mut conn, &["SET", "k", "v"]);
    let listed = function_list(&mut conn);
    call(&mut conn, &["FLUSHALL"]);
    assert_eq!(function_list(&mut conn), listed, "FLUSHALL keeps libraries");
    call(&mut conn, &["SET", "k", "v"]);
    call(&mut conn, &["SAVE"]);

    // Real Redis loads the file with the same libraries and data.
    let builder = Server::builder(Flavor::Redis).args(SERVER_ARGS);
    let data = builder.root().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::copy(rockslot.data_dir().join("dump.rdb"), data.join("dump.rdb")).expect("copy");
    let redis = builder.start();
    let mut redis_conn = redis.conn();
    assert_eq!(function_list(&mut redis_conn), listed);
    assert_eq!(
        call(&mut redis_conn, &["DEBUG", "DIGEST"]),
        call(&mut conn, &["DEBUG", "DIGEST"])
    );

    // DEBUG RELOAD brings back the file's libraries (and drops the others).
    call(&mut conn, &["FUNCTION", "LOAD", &one("later", "later")]);
    call(&mut conn, &["DEBUG", "RELOAD", "NOSAVE"]);
    assert_eq!(function_list(&mut conn), listed);

    // kill -9 and a restart keep them; the data directory, not dump.rdb, is loaded.
    call(&mut conn, &["FUNCTION", "DELETE", "gamma"]);
    let after_delete = function_list(&mut conn);
    rockslot.kill9();
    rockslot.start_again();
    let mut conn = rockslot.conn();
    assert_eq!(function_list(&mut conn), after_delete);
    call(&mut conn, &["FUNCTION", "FLUSH"]);
    call(&mut conn, &["FLUSHALL"]);
    rockslot.kill9();
    rockslot.start_again();
    // An empty data directory loads dump.rdb again, libraries included.
    let mut conn = rockslot.conn();
    assert_eq!(function_list(&mut conn), listed);
}

#[test]
fn debug_reload_options_like_redis() {
    let cmds: Vec<Cmd> = vec![
        cmd!("FUNCTION", "FLUSH"),
        cmd!("SET", "a", "1"),
        cmd!("RPUSH", "l", "x", "y"),
        cmd!("FUNCTION", "LOAD", one("r1", "r1")),
        cmd!("DEBUG", "RELOAD"),
        cmd!("SET", "b", "2"),
        cmd!("RPUSH", "l", "z"),
        cmd!("FUNCTION", "LOAD", one("r2", "r2")),
        // The file's keys and libraries replace those of the same name; others stay.
        cmd!("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"),
        cmd!("GET", "b"),
        cmd!("LRANGE", "l", "0", "-1"),
        cmd!("FUNCTION", "LIST", "LIBRARYNAME", "r1"),
        cmd!("FUNCTION", "STATS"),
        // Without MERGE, a library of the file that exists fails the load (before any key).
        cmd!("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"),
        cmd!("DBSIZE"),
        cmd!("FUNCTION", "STATS"),
        cmd!("FUNCTION", "FLUSH"),
        cmd!("FLUSHALL"),
        cmd!("DEBUG", "RELOAD", "noflush", "nosave"),
        cmd!("DEBUG", "DIGEST"),
        cmd!("FUNCTION", "LIST", "WITHCODE"),
        cmd!("DEBUG", "RELOAD", "MERGE"),
        cmd!("DEBUG", "DIGEST"),
        cmd!("FUNCTION", "STATS"),
        cmd!("DEBUG", "RELOAD", "NOSAVE", "bogus"),
    ];
    Pair::start().check(&cmds);
}

/// A key of the file that NOFLUSH left in place stops the load (Redis panics there) and the
/// data stays as it was; MERGE then replaces it.
#[test]
fn debug_reload_noflush_refuses_a_duplicate_key() {
    let server = Server::start(Flavor::Rockslot, SERVER_ARGS);
    let mut conn = server.conn();
    call(&mut conn, &["SET", "a", "file"]);
    call(&mut conn, &["SAVE"]);
    call(&mut conn, &["SET", "a", "live"]);
    call(&mut conn, &["SET", "other", "x"]);
    let reply = conn
        .call(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"])
        .expect("reload");
    assert_eq!(
        reply,
        Reply::Error(b"ERR Error trying to load the RDB dump".to_vec())
    );
    assert!(server.log().contains("RDB has duplicated key 'a' in DB 0"));
    assert_eq!(
        call(&mut conn, &["GET", "a"]),
        Reply::Bulk(Some(b"live".to_vec()))
    );
    call(
        &mut conn,
        &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"],
    );
    assert_eq!(
        call(&mut conn, &["GET", "a"]),
        Reply::Bulk(Some(b"file".to_vec()))
    );
    assert_eq!(call(&mut conn, &["DBSIZE"]), Reply::Integer(2));
}

/// A file with a library Redis refuses (a function name another library of the file already
/// registered) stops both servers at startup with Redis's log line; rockslot serves nothing.
#[test]
fn a_refused_library_stops_the_startup_load_like_redis() {
    use formats::rdb::{ValueStart, Writer, WriterOptions};
    let mut writer = Writer::new(WriterOptions::default()).expect("writer");
    writer.function(one("l1", "f").as_bytes()).expect("l1");
    writer.function(one("l2", "F").as_bytes()).expect("l2");
    writer.select_db(0, 1, 0).expect("select");
    writer
        .key(b"k", None, ValueStart::String(b"v"))
        .expect("key");
    let mut file = writer.take_output();
    file.extend(writer.finish().expect("finish"));
    for flavor in [Flavor::Redis, Flavor::Rockslot] {
        let exited = crate::rdb_load::start_on_dump(flavor, &file);
        let output = format!("{}{}", exited.stdout, exited.stderr);
        // Redis aborts the load and exits (with status 0: its RDB check then passes the file).
        if flavor == Flavor::Rockslot {
            assert!(
                !exited.status.success(),
                "rockslot exited with success:\n{output}"
            );
            assert!(output.contains("Fatal error loading the DB"), "{output}");
        }
        assert!(
            output.contains("Failed loading library, Function F already exists"),
            "{flavor:?}:\n{output}"
        );
    }
}
