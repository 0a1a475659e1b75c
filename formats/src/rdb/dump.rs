//! DUMP payloads: what `DUMP` returns and `RESTORE` accepts.
//!
//! A payload is one value serialized exactly as in an RDB file (the type byte, then the value,
//! without key or expire), followed by the RDB version that wrote it as two little-endian bytes
//! and the CRC-64/Jones of everything before the checksum, as eight little-endian bytes. Redis
//! 7.0's `verifyDumpPayload` refuses a payload shorter than that footer, one whose version is
//! newer than its own (10), and one whose checksum differs; the checksum is always present.
//!
//! [`encode`] writes a payload with the RDB [`Writer`]. [`decode`] checks the footer and then
//! reuses the RDB reader's value parsing: the payload is framed as the start of a one-key RDB
//! file (empty key name), so every encoding the reader knows (listpacks, quicklists, intsets,
//! streams) is accepted. As in Redis's `restoreCommand`, the value is read from the whole
//! payload, footer included, and reading stops after it: a value that runs into the footer
//! bytes is taken as Redis takes it, and bytes after the value are ignored.
//!
//! FUNCTION DUMP payloads have the same footer; their body is each library's FUNCTION2 opcode
//! and code string ([`encode_functions`]). [`decode_functions`] reads them as Redis 7.0's
//! `functionRestoreCommand` does: opcodes while more than the footer's 10 bytes remain (a
//! string may run into the footer), a release-candidate library (opcode 246) rebuilt as the
//! RDB reader rebuilds it (an error names the field that failed), anything else "given type is
//! not a function".

use thiserror::Error;

use super::crc64;
use super::cursor::Cursor;
use super::event::{Collector, Event, Kind, Value};
use super::reader::pre_ga_library;
use super::writer::{encode_length, encode_string, WriteError, Writer, WriterOptions};
use super::{opcodes, Options, Poll, RdbError, Reader, MAX_VERSION};

/// The RDB version Redis 7.0 writes and the newest its RESTORE accepts.
pub const REDIS_7_0_VERSION: u16 = 10;
const FOOTER: usize = 10;

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DumpError {
    #[error("DUMP payload version or checksum are wrong: the payload is {0} bytes, shorter than its footer")]
    TooShort(usize),
    #[error("DUMP payload version or checksum are wrong: RDB version {found} is newer than {max}")]
    Version { found: u16, max: u16 },
    #[error("DUMP payload version or checksum are wrong: stored {stored:#018x}, computed {computed:#018x}")]
    Checksum { stored: u64, computed: u64 },
    #[error("bad data format: {0}")]
    Value(#[from] RdbError),
    #[error("bad data format: the payload does not hold exactly one value")]
    NotOneValue,
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub kind: Kind,
    /// The RDB type byte the payload used.
    pub rdb_type: u8,
    /// The RDB version in the footer.
    pub version: u16,
    pub value: Value,
}

/// Encodes one whole value as a DUMP payload (version from `options`, plain encodings).
pub fn encode(value: &Value, options: WriterOptions) -> Result<Vec<u8>, WriteError> {
    let mut w = Writer::dump(options)?;
    w.write_dump_value(value)?;
    let mut out = w.take_output();
    out.extend(w.finish()?);
    Ok(out)
}

/// Checks a payload's footer (versions up to `max_version`); returns the version and the
/// length of the body before it.
fn verify_footer(payload: &[u8], max_version: u16) -> Result<(u16, usize), DumpError> {
    let body_len = payload
        .len()
        .checked_sub(FOOTER)
        .ok_or(DumpError::TooShort(payload.len()))?;
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > max_version {
        return Err(DumpError::Version {
            found: version,
            max: max_version,
        });
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&footer[2..]);
    let stored = u64::from_le_bytes(stored);
    let computed = crc64::checksum(&payload[..body_len + 2]);
    if stored != computed {
        return Err(DumpError::Checksum { stored, computed });
    }
    Ok((version, body_len))
}

/// Why a FUNCTION RESTORE payload was refused; the texts are Redis 7.0's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FunctionsDumpError {
    #[error("DUMP payload version or checksum are wrong")]
    Footer(#[from] DumpError),
    #[error("given type is not a function")]
    NotAFunction,
    #[error("Failed loading library payload")]
    Library,
    /// A release-candidate library that ends early, with the field Redis names.
    #[error("{0}")]
    PreGaLibrary(&'static str),
}

/// A FUNCTION DUMP payload of the libraries' codes, stamped `version`.
pub fn encode_functions<'a>(
    codes: impl IntoIterator<Item = &'a [u8]>,
    version: u16,
    compression: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(opcodes::FUNCTION2);
        encode_string(&mut out, code, compression);
    }
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The library codes of a FUNCTION DUMP payload (footer checked first).
pub fn decode_functions(
    payload: &[u8],
    max_version: u16,
) -> Result<Vec<Vec<u8>>, FunctionsDumpError> {
    verify_footer(payload, max_version)?;
    let mut c = Cursor::new(payload, 0);
    let mut codes = Vec::new();
    while payload.len() - c.pos > FOOTER {
        let code = match c.u8().map_err(|_| FunctionsDumpError::Library)? {
            opcodes::FUNCTION2 => c.string().map_err(|_| FunctionsDumpError::Library)?,
            opcodes::FUNCTION_PRE_GA => pre_ga_library(&mut c)
                .map_err(|(field, _)| FunctionsDumpError::PreGaLibrary(field))?,
            _ => return Err(FunctionsDumpError::NotAFunction),
        };
        codes.push(code);
    }
    Ok(codes)
}

/// Verifies a payload's footer (accepting versions up to `max_version`) and decodes its value.
pub fn decode(payload: &[u8], max_version: u16) -> Result<Decoded, DumpError> {
    let (version, body_len) = verify_footer(payload, max_version)?;
    let (&rdb_type, _) = payload[..body_len]
        .split_first()
        .ok_or(DumpError::NotOneValue)?;
    // A key type byte, never an opcode: an opcode would be parsed as file structure.
    if rdb_type >= opcodes::SLOT_INFO {
        return Err(DumpError::NotOneValue);
    }
    // Redis parses the value from the whole buffer, footer included, and ignores what follows
    // it: a value may run into the footer, and trailing bytes are never looked at.
    let mut file = format!("REDIS{MAX_VERSION:04}").into_bytes();
    file.push(rdb_type);
    encode_length(&mut file, 0);
    file.extend_from_slice(&payload[1..]);
    let mut reader = Reader::new(Options::default());
    reader.feed(&file);
    reader.end_input();
    let mut collector = Collector::default();
    let mut kind = None;
    loop {
        match reader.poll()? {
            Poll::Event(Event::Key(header)) => {
                kind = Some(header.kind);
                collector.apply(Event::Key(header));
            }
            Poll::Event(Event::ValueEnd) => {
                collector.apply(Event::ValueEnd);
                break;
            }
            Poll::Event(event @ Event::Value(_)) => collector.apply(event),
            Poll::Event(Event::Header { .. }) => {}
            Poll::Event(_) | Poll::NeedMore | Poll::Done => return Err(DumpError::NotOneValue),
        }
    }
    let record = collector.finish().records.pop();
    match (record, kind) {
        (Some(r), Some(kind)) => Ok(Decoded {
            kind,
            rdb_type,
            version,
            value: r.value,
        }),
        _ => Err(DumpError::NotOneValue),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_redis_payload_and_round_trips() {
        // DUMP of "v0" in Redis 7.0.15 (see crc64's test).
        let redis = [
            0x00, 0x02, b'v', b'0', 0x0a, 0x00, 0xe1, 0xdd, 0xf0, 0x90, 0xe2, 0x01, 0x6b, 0xaf,
        ];
        let d = decode(&redis, REDIS_7_0_VERSION).unwrap();
        assert_eq!(d.value, Value::String(b"v0".to_vec()));
        assert_eq!(d.version, 10);
        let ours = encode(&Value::String(b"v0".to_vec()), WriterOptions::default()).unwrap();
        // Same bytes but the version (9 here) and therefore the checksum.
        assert_eq!(&ours[..4], &redis[..4]);
        assert_eq!(ours[4], 9);
        let list = Value::List(vec![b"a".to_vec(), b"12".to_vec()]);
        let payload = encode(&list, WriterOptions::default()).unwrap();
        assert_eq!(decode(&payload, 10).unwrap().value, list);
        let mut bad = payload.clone();
        bad[2] ^= 1;
        assert!(matches!(decode(&bad, 10), Err(DumpError::Checksum { .. })));
        assert!(matches!(decode(&redis, 9), Err(DumpError::Version { .. })));
        assert!(matches!(
            decode(&redis[..5], 10),
            Err(DumpError::TooShort(5))
        ));
    }

    #[test]
    fn function_payloads_round_trip_and_refuse_other_types() {
        let code = b"#!lua name=l\nredis.register_function('f', function() return 1 end)";
        let payload = encode_functions([&code[..], b"#!lua name=m\n"], 10, true);
        assert_eq!(
            decode_functions(&payload, 10).unwrap(),
            vec![code.to_vec(), b"#!lua name=m\n".to_vec()]
        );
        let empty = encode_functions([], 10, true);
        assert_eq!(decode_functions(&empty, 10).unwrap(), Vec::<Vec<u8>>::new());
        let mut not_function = vec![0u8, 1, b'a'];
        not_function.extend_from_slice(&empty);
        let crc = crc64::checksum(&not_function[..not_function.len() - 8]);
        let n = not_function.len();
        not_function[n - 8..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            decode_functions(&not_function, 10),
            Err(FunctionsDumpError::NotAFunction)
        );
        assert!(matches!(
            decode_functions(&payload, 9),
            Err(FunctionsDumpError::Footer(_))
        ));
        // A release-candidate library: name, engine, description flag (and text), body.
        let with_footer = |body: &[u8]| {
            let mut p = body.to_vec();
            p.extend_from_slice(&10u16.to_le_bytes());
            let crc = crc64::checksum(&p);
            p.extend_from_slice(&crc.to_le_bytes());
            p
        };
        let rc = with_footer(b"\xf6\x01n\x03LUA\x01\x01d\x04body");
        assert_eq!(
            decode_functions(&rc, 10).unwrap(),
            vec![b"#!LUA name=n\nbody".to_vec()]
        );
        let short = with_footer(b"\xf6\x01n");
        assert_eq!(
            decode_functions(&short, 10),
            Err(FunctionsDumpError::PreGaLibrary(
                "Failed loading engine name"
            ))
        );
    }
}
