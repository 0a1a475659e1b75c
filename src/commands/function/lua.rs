//! The registration step of a function library, run in an embedded Lua 5.1 (the version Redis
//! embeds), as Redis 7.0's `luaEngineCreate` runs it.
//!
//! BACKGROUND. Redis learns a library's functions by running its code once. While it runs, the
//! code sees a sandbox: its only global is `redis`, holding `register_function`, `log`, the
//! `LOG_*` levels, `REDIS_VERSION` and `REDIS_VERSION_NUM`. Reading any other global or field
//! fails with "Script attempted to access nonexistent global variable 'x'" and assigning one
//! with "Attempt to modify a readonly table" (both with the `user_function:LINE:` position);
//! the standard libraries are out of reach (even `error` and `pcall`), so the code cannot catch
//! an error. The run is stopped after 500 ms ("FUNCTION LOAD timeout").
//!
//! BEHAVIOR. [`register`] compiles the code (the header line already cut off, its newline kept,
//! so line numbers are the library's) under the chunk name `@user_function`, runs it in a fresh
//! state with that sandbox, and returns the registered functions in the order of registration.
//! `redis.register_function` takes `(name, callback)` or one table of named arguments
//! (`function_name`, `callback`, `description`, `flags`, any case), checks them in
//! `luaRegisterFunctionReadArgs`'s order with its error texts, and refuses an invalid or
//! repeated name. Errors read `Error compiling function: ...` or `Error registering functions:
//! ERR ...`, as Redis words them. The callbacks are not kept: rockslot does not run functions
//! (FCALL), so the state is dropped after the run. A memory cap bounds what a library may
//! allocate while it registers.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mlua::{HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use super::library::{valid_name, Function, LibraryError, BAD_NAME, FLAGS};

/// How long the registration run may take (Redis's `LOAD_TIMEOUT_MS`).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);
/// VM instructions between two timeout checks (Redis's hook count).
const HOOK_INSTRUCTIONS: u32 = 100_000;
/// The most memory a library may allocate while it registers its functions.
const MEMORY_LIMIT_BYTES: usize = 64 << 20;
/// What `redis.REDIS_VERSION` and `redis.REDIS_VERSION_NUM` say.
const REDIS_VERSION: &str = "7.0.15";
const REDIS_VERSION_NUM: i64 = 0x07_00_0f;

/// The sandbox: `api` holds the library API; the chunk's globals and the `redis` table are
/// read-only proxies that raise Redis's errors for missing names and for assignments.
const SANDBOX: &str = r#"
local api = ...
local function proxy(real)
  return setmetatable({}, {
    __index = function(_, name)
      local value = real[name]
      if value == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
      end
      return value
    end,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = false,
  })
end
return proxy({ redis = proxy(api) })
"#;

/// Runs a library's code (after its header line) and returns the functions it registers, or
/// the error Redis replies with.
pub fn register(code: &[u8]) -> Result<Vec<Function>, LibraryError> {
    run(code).map_err(|e| LibraryError(describe(&e)))?
}

/// The outer error is Lua's (compiling or running); the inner one is the registration's own
/// outcome, which an error inside `register_function` also records.
fn run(code: &[u8]) -> mlua::Result<Result<Vec<Function>, LibraryError>> {
    // Only the base library (always opened): the sandbox reaches nothing else.
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::default())?;
    lua.set_memory_limit(MEMORY_LIMIT_BYTES)?;
    let registered: Rc<RefCell<Vec<Function>>> = Rc::default();
    let env = sandbox(&lua, Rc::clone(&registered))?;
    let chunk = match lua
        .load(code)
        .set_name("@user_function")
        .set_mode(mlua::chunk::ChunkMode::Text)
        .set_environment(env)
        .into_function()
    {
        Ok(chunk) => chunk,
        Err(e) => {
            return Ok(Err(LibraryError(format!(
                "Error compiling function: {}",
                describe(&e)
            ))))
        }
    };
    let started = Instant::now();
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
        move |_, _| {
            if started.elapsed() > LOAD_TIMEOUT {
                Err(mlua::Error::runtime("FUNCTION LOAD timeout"))
            } else {
                Ok(VmState::Continue)
            }
        },
    )?;
    if let Err(e) = chunk.call::<()>(()) {
        return Ok(Err(LibraryError(format!(
            "Error registering functions: ERR {}",
            describe(&e)
        ))));
    }
    lua.remove_hook();
    let functions = registered.borrow().clone();
    Ok(Ok(functions))
}

/// The message of a Lua error, without mlua's wrapping (callback errors, the traceback it
/// appends to runtime errors).
fn describe(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return describe(cause),
        mlua::Error::RuntimeError(msg) | mlua::Error::MemoryError(msg) => msg.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    };
    match text.split_once("\nstack traceback:") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

/// The chunk's globals: the sandbox proxy over the `redis` API.
fn sandbox(lua: &Lua, registered: Rc<RefCell<Vec<Function>>>) -> mlua::Result<Table> {
    let api = lua.create_table()?;
    api.set(
        "register_function",
        lua.create_function(move |lua, args: MultiValue| {
            let function = read_args(lua, args).map_err(mlua::Error::runtime)?;
            let mut registered = registered.borrow_mut();
            if !valid_name(&function.name) {
                return Err(mlua::Error::runtime(BAD_NAME));
            }
            if registered.iter().any(|f| f.name == function.name) {
                return Err(mlua::Error::runtime(
                    "Function already exists in the library",
                ));
            }
            registered.push(function);
            Ok(())
        })?,
    )?;
    // Logging from a library's load run is accepted and dropped.
    api.set("log", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    for (i, level) in ["LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"]
        .iter()
        .enumerate()
    {
        api.set(*level, i as i64)?;
    }
    api.set("REDIS_VERSION", REDIS_VERSION)?;
    api.set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    lua.load(SANDBOX).set_name("=sandbox").call::<Table>(api)
}

/// `luaRegisterFunctionReadArgs`: positional `(name, callback)` or one table of named ones.
fn read_args(lua: &Lua, args: MultiValue) -> Result<Function, &'static str> {
    let args: Vec<Value> = args.into_iter().collect();
    match args.as_slice() {
        [named] => read_named(lua, named),
        [name, callback] => {
            let name = string_of(lua, name)
                .ok_or("first argument to redis.register_function must be a string")?;
            if !matches!(callback, Value::Function(_)) {
                return Err("second argument to redis.register_function must be a function");
            }
            Ok(Function {
                name,
                description: None,
                flags: 0,
            })
        }
        _ => Err("wrong number of arguments to redis.register_function"),
    }
}

fn read_named(lua: &Lua, named: &Value) -> Result<Function, &'static str> {
    let Value::Table(table) = named else {
        return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    };
    let mut name = None;
    let mut description = None;
    let mut callback = false;
    let mut flags = 0;
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|_| "unknown argument given to redis.register_function")?;
        let key = string_of(lua, &key)
            .ok_or("named argument key given to redis.register_function is not a string")?;
        match key.to_ascii_lowercase().as_slice() {
            b"function_name" => {
                name = Some(string_of(lua, &value).ok_or(
                    "function_name argument given to redis.register_function must be a string",
                )?)
            }
            b"description" => {
                description = Some(string_of(lua, &value).ok_or(
                    "description argument given to redis.register_function must be a string",
                )?)
            }
            b"callback" => {
                if !matches!(value, Value::Function(_)) {
                    return Err(
                        "callback argument given to redis.register_function must be a function",
                    );
                }
                callback = true;
            }
            b"flags" => flags = read_flags(lua, &value)?,
            _ => return Err("unknown argument given to redis.register_function"),
        }
    }
    let name = name.ok_or("redis.register_function must get a function name argument")?;
    if !callback {
        return Err("redis.register_function must get a callback argument");
    }
    Ok(Function {
        name,
        description,
        flags,
    })
}

/// `luaRegisterFunctionReadFlags`: the array part, up to the first nil, each a known flag.
fn read_flags(lua: &Lua, value: &Value) -> Result<u8, &'static str> {
    let Value::Table(table) = value else {
        return Err(
            "flags argument to redis.register_function must be a table representing function flags",
        );
    };
    let mut flags = 0;
    for i in 1.. {
        let flag: Value = table.raw_get(i).map_err(|_| "unknown flag given")?;
        if flag.is_nil() {
            break;
        }
        let flag = string_of(lua, &flag).ok_or("unknown flag given")?;
        let bit = FLAGS
            .iter()
            .position(|known| known.as_bytes().eq_ignore_ascii_case(&flag))
            .ok_or("unknown flag given")?;
        flags |= 1 << bit;
    }
    Ok(flags)
}

/// A string or a number as Lua's `lua_tostring` gives it (`lua_isstring` accepts both).
fn string_of(lua: &Lua, value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(value.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> String {
        register(format!("\n{body}").as_bytes()).unwrap_err().0
    }

    #[test]
    fn registers_like_redis() {
        let fs = register(
            b"\nlocal function f() end\nredis.register_function('a', f)\n\
              redis.register_function{function_name='b', callback=f, description='d', \
              flags={'NO-WRITES', 'allow-stale'}}",
        )
        .unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[1].description.as_deref(), Some(&b"d"[..]));
        assert_eq!(
            fs[1].flag_names().collect::<Vec<_>>(),
            ["no-writes", "allow-stale"]
        );
    }

    #[test]
    fn errors_read_as_redis_writes_them() {
        assert_eq!(
            err("a = 1"),
            "Error registering functions: ERR user_function:2: Attempt to modify a readonly table"
        );
        assert_eq!(
            err("local x = string.format('%d', 1)"),
            "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'"
        );
        assert_eq!(
            err("redis.call('set','x','1')"),
            "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"
        );
        assert_eq!(
            err("redis.register_function('f2', function() end, 'x')"),
            "Error registering functions: ERR wrong number of arguments to redis.register_function"
        );
        assert_eq!(
            err("return 1 +"),
            "Error compiling function: user_function:2: unexpected symbol near '<eof>'"
        );
        assert_eq!(
            err("local t = {} t.x.y = 1"),
            "Error registering functions: ERR user_function:2: attempt to index field 'x' (a nil value)"
        );
        assert_eq!(
            err("redis.register_function('f', function() end) redis.register_function('f', function() end)"),
            "Error registering functions: ERR Function already exists in the library"
        );
        assert_eq!(
            err("local a = 1 while 1 do a = a + 1 end"),
            "Error registering functions: ERR FUNCTION LOAD timeout"
        );
        assert_eq!(
            err("redis.register_function{function_name='q', callback=function() end, flags={1}}"),
            "Error registering functions: ERR unknown flag given"
        );
    }
}
