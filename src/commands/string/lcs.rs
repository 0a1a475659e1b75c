//! LCS: the longest common subsequence of two strings (Redis 7.0's `lcsCommand`).
//!
//! Redis fills the classic dynamic-programming table of LCS lengths and walks it back from the
//! end; on ties it moves along the second string first. The walk decides which of several equally
//! long subsequences is returned and which match ranges IDX reports (last match first), so this
//! module keeps the same table and the same walk rather than a cleverer algorithm. The table has
//! (len(a)+1)·(len(b)+1) 32-bit cells, and Redis refuses inputs whose table would exceed
//! `proto-max-bulk-len` bytes; so does this module. LEN alone needs only the final length, which
//! two rows of the table give with the same answer.

use bytes::Bytes;
use engine::Kind;
use formats::resp::Reply;

use super::max_string_len;
use crate::commands::args::parse_i64;
use crate::error::{CommandError, CommandResult};
use crate::server::Ctx;

/// One run of consecutive matching bytes: inclusive ranges in each string.
#[derive(Debug, PartialEq, Eq)]
struct Match {
    a: (u32, u32),
    b: (u32, u32),
}

impl Match {
    fn len(&self) -> u32 {
        self.a.1 - self.a.0 + 1
    }
}

/// The full table: `cell(i, j)` is the LCS length of `a[..i]` and `b[..j]`. `None` when the
/// memory cannot be had.
struct Table {
    width: usize,
    cells: Vec<u32>,
}

impl Table {
    fn build(a: &[u8], b: &[u8]) -> Option<Table> {
        let width = b.len() + 1;
        let size = (a.len() + 1).checked_mul(width)?;
        let mut cells = Vec::new();
        cells.try_reserve_exact(size).ok()?;
        cells.resize(width, 0);
        for i in 1..=a.len() {
            let row = (i - 1) * width;
            cells.push(0);
            for j in 1..width {
                let cell = if a[i - 1] == b[j - 1] {
                    cells[row + j - 1] + 1
                } else {
                    cells[row + j].max(cells[row + width + j - 1])
                };
                cells.push(cell);
            }
        }
        Some(Table { width, cells })
    }

    fn cell(&self, i: usize, j: usize) -> u32 {
        self.cells[i * self.width + j]
    }

    /// Walks back from the end like Redis: the subsequence, and every run of consecutive
    /// matches that is at least `min_len` long (most recent first).
    fn walk(&self, a: &[u8], b: &[u8], min_len: u32) -> (Vec<u8>, Vec<Match>) {
        let total = self.cell(a.len(), b.len()) as usize;
        let mut sequence = vec![0u8; total];
        let mut filled = total;
        let mut matches = Vec::new();
        let mut current: Option<Match> = None;
        let (mut i, mut j) = (a.len(), b.len());
        while i > 0 && j > 0 {
            let mut emit = false;
            if a[i - 1] == b[j - 1] {
                filled -= 1;
                sequence[filled] = a[i - 1];
                let (ai, bj) = ((i - 1) as u32, (j - 1) as u32);
                match &mut current {
                    // Contiguous with the run being built: extend it backwards.
                    Some(run) if run.a.0 == ai + 1 && run.b.0 == bj + 1 => {
                        run.a.0 = ai;
                        run.b.0 = bj;
                    }
                    Some(_) => emit = true,
                    None => {
                        current = Some(Match {
                            a: (ai, ai),
                            b: (bj, bj),
                        })
                    }
                }
                // A run that reached the start of either string cannot grow.
                if current
                    .as_ref()
                    .is_some_and(|run| run.a.0 == 0 || run.b.0 == 0)
                {
                    emit = true;
                }
                i -= 1;
                j -= 1;
            } else {
                if self.cell(i - 1, j) > self.cell(i, j - 1) {
                    i -= 1;
                } else {
                    j -= 1;
                }
                emit = current.is_some();
            }
            if emit {
                if let Some(run) = current.take() {
                    if run.len() >= min_len {
                        matches.push(run);
                    }
                }
            }
        }
        (sequence, matches)
    }
}

/// LCS length with two rows of the table.
fn lcs_len(a: &[u8], b: &[u8]) -> u32 {
    let mut previous = vec![0u32; b.len() + 1];
    let mut row = vec![0u32; b.len() + 1];
    for &x in a {
        for (j, &y) in b.iter().enumerate() {
            row[j + 1] = if x == y {
                previous[j] + 1
            } else {
                previous[j + 1].max(row[j])
            };
        }
        std::mem::swap(&mut previous, &mut row);
    }
    previous[b.len()]
}

pub fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CommandResult {
    let a = ctx.lookup_read(&args[1])?;
    let b = ctx.lookup_read(&args[2])?;
    if [&a, &b]
        .iter()
        .any(|m| m.as_ref().is_some_and(|m| m.kind != Kind::String))
    {
        return Err(CommandError::other(
            "ERR The specified keys must contain string values",
        ));
    }
    let a = a.map(|m| m.body).unwrap_or_default();
    let b = b.map(|m| m.body).unwrap_or_default();

    let (mut idx, mut len, mut with_match_len, mut min_len) = (false, false, false, 0i64);
    let mut i = 3;
    while i < args.len() {
        let option = &args[i][..];
        if option.eq_ignore_ascii_case(b"idx") {
            idx = true;
        } else if option.eq_ignore_ascii_case(b"len") {
            len = true;
        } else if option.eq_ignore_ascii_case(b"withmatchlen") {
            with_match_len = true;
        } else if option.eq_ignore_ascii_case(b"minmatchlen") && i + 1 < args.len() {
            min_len = parse_i64(&args[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if idx && len {
        return Err(CommandError::other(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(CommandError::other("ERR String too long for LCS"));
    }
    let table_bytes = (a.len() as u64 + 1)
        .saturating_mul(b.len() as u64 + 1)
        .saturating_mul(4);
    if table_bytes > max_string_len(ctx).max(0) as u64 {
        return Err(CommandError::other(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    if len {
        return Ok(Reply::Integer(lcs_len(&a, &b) as i64));
    }
    let table = Table::build(&a, &b).ok_or_else(|| {
        CommandError::other("ERR Insufficient memory, failed allocating transient memory for LCS")
    })?;
    let min_len = min_len.min(u32::MAX as i64) as u32;
    let (sequence, matches) = table.walk(&a, &b, min_len);
    if !idx {
        return Ok(Reply::Bulk(Bytes::from(sequence)));
    }
    let pair =
        |(x, y): (u32, u32)| Reply::Array(vec![Reply::Integer(x as i64), Reply::Integer(y as i64)]);
    let ranges = matches
        .into_iter()
        .map(|m| {
            let mut entry = vec![pair(m.a), pair(m.b)];
            if with_match_len {
                entry.push(Reply::Integer(m.len() as i64));
            }
            Reply::Array(entry)
        })
        .collect();
    Ok(Reply::Map(vec![
        (Reply::bulk("matches"), Reply::Array(ranges)),
        (Reply::bulk("len"), Reply::Integer(sequence.len() as i64)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(a: &str, b: &str, min_len: u32) -> (String, Vec<Match>) {
        let table = Table::build(a.as_bytes(), b.as_bytes()).unwrap();
        let (sequence, matches) = table.walk(a.as_bytes(), b.as_bytes(), min_len);
        assert_eq!(lcs_len(a.as_bytes(), b.as_bytes()) as usize, sequence.len());
        (String::from_utf8(sequence).unwrap(), matches)
    }

    /// Expected values are Redis 7.0.15's replies.
    #[test]
    fn matches_redis() {
        let (sequence, matches) = run("ohmytext", "mynewtext", 0);
        assert_eq!(sequence, "mytext");
        assert_eq!(
            matches,
            vec![
                Match {
                    a: (4, 7),
                    b: (5, 8)
                },
                Match {
                    a: (2, 3),
                    b: (0, 1)
                }
            ]
        );
        assert_eq!(
            run("ohmytext", "mynewtext", 4).1,
            vec![Match {
                a: (4, 7),
                b: (5, 8)
            }]
        );

        let (sequence, matches) = run("abcdefXYZabc", "abcXYZdefabc", 0);
        assert_eq!(sequence, "abcXYZabc");
        assert_eq!(
            matches,
            vec![
                Match {
                    a: (9, 11),
                    b: (9, 11)
                },
                Match {
                    a: (6, 8),
                    b: (3, 5)
                },
                Match {
                    a: (0, 2),
                    b: (0, 2)
                },
            ]
        );
        assert_eq!(run("", "abc", 0), (String::new(), vec![]));
        assert_eq!(run("abc", "xyz", 0), (String::new(), vec![]));
    }
}
