//! Function libraries: what `FUNCTION LOAD` keeps, and how it is kept.
//!
//! BACKGROUND. A Redis 7.0 library is one piece of Lua code whose first line is a header,
//! `#!<engine> name=<library>`; running the code once calls `redis.register_function` for each
//! of its functions (name, optional description, flags). Redis keeps only the code in RDB
//! files and FUNCTION DUMP payloads, and runs it again whenever it loads one; FUNCTION LIST
//! shows the functions that run registered.
//!
//! BEHAVIOR. [`Library::create`] follows `functionsCreateWithLibraryCtx`: the header is parsed
//! as `functionExtractLibMetaData` does (same checks, same error texts, in the same order), the
//! engine must be LUA (any case), and the registration step runs the code in the embedded Lua
//! 5.1 ([`super::lua`]). [`Libraries`] is the whole set, sorted by library name: `add` refuses
//! an existing library unless replacing it, and a function name that another library already
//! registered (compared without case, as Redis's function dictionary does).
//!
//! STORAGE. The set is one engine record outside the keyspace ([`engine::Txn::functions`]),
//! written in the command's batch, so it is as durable and as atomic as any key, survives
//! FLUSHALL (as in Redis), and a snapshot sees it as of the snapshot (SAVE, BGSAVE). The record
//! keeps each library's code with its registered functions, so listing never runs Lua:
//! a version byte, then per library its name, code and functions (name, description, flags),
//! each string as a 4-byte big-endian length and its bytes.

use thiserror::Error;

use super::lua;
use crate::error::CommandError;

/// The only engine Redis 7.0 has, as FUNCTION LIST and FUNCTION STATS name it.
pub const ENGINE: &str = "LUA";

/// Script flags in Redis's `scripts_flags_def` order (FUNCTION LIST shows them in this order).
pub const FLAGS: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

const RECORD_VERSION: u8 = 1;

/// A registered function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: Vec<u8>,
    pub description: Option<Vec<u8>>,
    /// Bit `i` set: [`FLAGS`]`[i]`.
    pub flags: u8,
}

impl Function {
    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        FLAGS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.flags & (1 << i) != 0)
            .map(|(_, name)| *name)
    }
}

/// A library: its name, its whole code (header included) and its functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    pub name: Vec<u8>,
    pub code: Vec<u8>,
    pub functions: Vec<Function>,
}

/// Why a library was refused: the message after `ERR `.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct LibraryError(pub String);

impl From<LibraryError> for CommandError {
    fn from(e: LibraryError) -> CommandError {
        CommandError::other(format!("ERR {}", e.0))
    }
}

fn refuse<T>(text: impl Into<String>) -> Result<T, LibraryError> {
    Err(LibraryError(text.into()))
}

/// Library and function names: `[a-zA-Z0-9_]+` (`functionsVerifyName`).
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// The name error Redis gives for libraries and functions alike.
pub const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The header of a library: (engine, name, offset of the code after the header line).
fn parse_header(code: &[u8]) -> Result<(Vec<u8>, Vec<u8>, usize), LibraryError> {
    if !code.starts_with(b"#!") {
        return refuse("Missing library metadata");
    }
    // Redis looks for the newline with strchr: a NUL byte ends the search.
    let c_string = code.split(|&b| b == 0).next().unwrap_or_default();
    let Some(newline) = c_string.iter().position(|&b| b == b'\n') else {
        return refuse("Invalid library metadata");
    };
    let parts = match formats::resp::split_args(&code[..newline]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return refuse("Invalid library metadata"),
    };
    let engine = parts[0].get(2..).unwrap_or_default().to_vec();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return refuse("Invalid metadata value, name argument was given multiple times");
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return refuse(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let Some(name) = name else {
        return refuse("Library name was not given");
    };
    Ok((engine, name, newline))
}

impl Library {
    /// Checks the header and runs the registration step: the library `code` defines, or the
    /// error Redis replies with. Whether the name is free is [`Libraries::add`]'s business,
    /// which runs in between (`already_exists` is asked before the code runs, as in Redis).
    pub fn create(
        code: &[u8],
        already_exists: impl FnOnce(&[u8]) -> Result<(), LibraryError>,
    ) -> Result<Library, LibraryError> {
        let (engine, name, newline) = parse_header(code)?;
        if !valid_name(&name) {
            return refuse(BAD_NAME);
        }
        if !engine.eq_ignore_ascii_case(ENGINE.as_bytes()) {
            return refuse(format!(
                "Engine '{}' not found",
                String::from_utf8_lossy(&engine)
            ));
        }
        already_exists(&name)?;
        let functions = lua::register(&code[newline..])?;
        if functions.is_empty() {
            return refuse("No functions registered");
        }
        Ok(Library {
            name,
            code: code.to_vec(),
            functions,
        })
    }
}

/// Every library of the node, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Libraries {
    pub libraries: Vec<Library>,
}

impl Libraries {
    /// Reads the set through a transaction (a snapshot's for SAVE).
    pub fn read(txn: &engine::Txn<'_>) -> Result<Libraries, CommandError> {
        match txn.functions()? {
            Some(record) => Libraries::decode(&record).map_err(|e| {
                CommandError::other(format!("ERR the function libraries record is corrupt: {e}"))
            }),
            None => Ok(Libraries::default()),
        }
    }

    /// Stores the set in the transaction's batch.
    pub fn write(&self, txn: &mut engine::Txn<'_>) {
        txn.set_functions((!self.libraries.is_empty()).then(|| self.encode()));
    }

    pub fn get(&self, name: &[u8]) -> Option<&Library> {
        self.libraries.iter().find(|l| l.name == name)
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<Library> {
        let at = self.libraries.iter().position(|l| l.name == name)?;
        Some(self.libraries.remove(at))
    }

    pub fn function_count(&self) -> usize {
        self.libraries.iter().map(|l| l.functions.len()).sum()
    }

    /// Compiles and adds the library `code` (FUNCTION LOAD, an RDB file's library): refused if
    /// its name is taken (unless `replace`) or one of its functions is another library's.
    /// Returns the library's name.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<Vec<u8>, LibraryError> {
        let library = Library::create(code, |name| match self.get(name) {
            Some(_) if !replace => refuse(format!(
                "Library '{}' already exists",
                String::from_utf8_lossy(name)
            )),
            _ => Ok(()),
        })?;
        let name = library.name.clone();
        let mut others = self.clone();
        others.remove(&name);
        others.check_collisions(&library)?;
        others.insert(library);
        *self = others;
        Ok(name)
    }

    /// FUNCTION RESTORE's `libraryJoin`: adds every library of `from`; an existing name is an
    /// error unless `replace` (which drops the old library first), and so is a function name
    /// another library keeps. Nothing changes on error.
    pub fn join(&mut self, from: Libraries, replace: bool) -> Result<(), LibraryError> {
        let mut joined = self.clone();
        for library in &from.libraries {
            if joined.remove(&library.name).is_some() && !replace {
                return refuse(format!(
                    "Library {} already exists",
                    String::from_utf8_lossy(&library.name)
                ));
            }
        }
        for library in from.libraries {
            joined.check_collisions(&library)?;
            joined.insert(library);
        }
        *self = joined;
        Ok(())
    }

    fn check_collisions(&self, library: &Library) -> Result<(), LibraryError> {
        for function in &library.functions {
            let taken = self
                .libraries
                .iter()
                .flat_map(|l| &l.functions)
                .any(|f| f.name.eq_ignore_ascii_case(&function.name));
            if taken {
                return refuse(format!(
                    "Function {} already exists",
                    String::from_utf8_lossy(&function.name)
                ));
            }
        }
        Ok(())
    }

    fn insert(&mut self, library: Library) {
        let at = self
            .libraries
            .partition_point(|l| l.name.as_slice() < library.name.as_slice());
        self.libraries.insert(at, library);
    }

    /// The function called `name` (any case, as FCALL finds it).
    pub fn function(&self, name: &[u8]) -> Option<&Function> {
        self.libraries
            .iter()
            .flat_map(|l| &l.functions)
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![RECORD_VERSION];
        put_len(&mut out, self.libraries.len());
        for library in &self.libraries {
            put_bytes(&mut out, &library.name);
            put_bytes(&mut out, &library.code);
            put_len(&mut out, library.functions.len());
            for f in &library.functions {
                put_bytes(&mut out, &f.name);
                match &f.description {
                    Some(d) => {
                        out.push(1);
                        put_bytes(&mut out, d);
                    }
                    None => out.push(0),
                }
                out.push(f.flags);
            }
        }
        out
    }

    fn decode(record: &[u8]) -> Result<Libraries, RecordError> {
        let mut r = RecordReader { rest: record };
        if r.byte()? != RECORD_VERSION {
            return Err(RecordError::Version);
        }
        let mut libraries = Vec::new();
        for _ in 0..r.len()? {
            let name = r.bytes()?;
            let code = r.bytes()?;
            let mut functions = Vec::new();
            for _ in 0..r.len()? {
                let name = r.bytes()?;
                let description = match r.byte()? {
                    0 => None,
                    _ => Some(r.bytes()?),
                };
                let flags = r.byte()?;
                functions.push(Function {
                    name,
                    description,
                    flags,
                });
            }
            libraries.push(Library {
                name,
                code,
                functions,
            });
        }
        Ok(Libraries { libraries })
    }
}

#[derive(Debug, Error)]
enum RecordError {
    #[error("unknown record version")]
    Version,
    #[error("the record ends early")]
    Truncated,
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u32).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

struct RecordReader<'a> {
    rest: &'a [u8],
}

impl RecordReader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RecordError> {
        if self.rest.len() < n {
            return Err(RecordError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }

    fn len(&mut self) -> Result<usize, RecordError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn bytes(&mut self) -> Result<Vec<u8>, RecordError> {
        let n = self.len()?;
        Ok(self.take(n)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(name: &str, body: &str) -> Vec<u8> {
        format!("#!lua name={name}\n{body}").into_bytes()
    }

    #[test]
    fn headers_are_checked_like_redis() {
        let err = |c: &[u8]| Library::create(c, |_| Ok(())).unwrap_err().0;
        assert_eq!(err(b"lua name=x\n"), "Missing library metadata");
        assert_eq!(err(b"#!lua name=x"), "Invalid library metadata");
        assert_eq!(err(b"#!lua \"name=x\n"), "Invalid library metadata");
        assert_eq!(err(b"#!lua\n"), "Library name was not given");
        assert_eq!(
            err(b"#!lua name=a NAME=b\n"),
            "Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(err(b"#!lua foo=b\n"), "Invalid metadata value given: foo=b");
        assert_eq!(err(b"#!lua name=b-c\n"), BAD_NAME);
        assert_eq!(err(b"#!lu name=b\n"), "Engine 'lu' not found");
        assert_eq!(err(b"#!LuA name=b\nlocal x = 1"), "No functions registered");
    }

    #[test]
    fn loads_replaces_and_refuses_collisions() {
        let mut libs = Libraries::default();
        let f = "redis.register_function('f', function() return 1 end)";
        assert_eq!(libs.load(&code("b", f), false).unwrap(), b"b");
        assert_eq!(
            libs.load(&code("b", f), false).unwrap_err().0,
            "Library 'b' already exists"
        );
        libs.load(&code("b", f), true).unwrap();
        let upper = "redis.register_function('F', function() end)";
        assert_eq!(
            libs.load(&code("a", upper), false).unwrap_err().0,
            "Function F already exists"
        );
        libs.load(
            &code("a", "redis.register_function('g', function() end)"),
            false,
        )
        .unwrap();
        let names: Vec<&[u8]> = libs.libraries.iter().map(|l| l.name.as_slice()).collect();
        assert_eq!(names, [b"a", b"b"]);
        assert_eq!(Libraries::decode(&libs.encode()).unwrap(), libs);
        let mut other = Libraries::default();
        other.load(&code("b", upper), false).unwrap();
        assert_eq!(
            libs.clone().join(other.clone(), false).unwrap_err().0,
            "Library b already exists"
        );
        libs.join(other, true).unwrap();
        assert_eq!(
            libs.function(b"f").map(|f| f.name.clone()),
            Some(b"F".to_vec())
        );
    }
}
