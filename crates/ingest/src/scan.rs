//! The streaming, parallel scan of a source file.
//!
//! The file is read in blocks. A small state machine that follows the CSV quoting rules finds
//! record boundaries (a newline outside quotes), so a block is cut into chunks that each start
//! and end on a record boundary — quoted fields with embedded newlines are never split. Chunks
//! are parsed in parallel (rayon) with one reused `ByteRecord` each; every row becomes a
//! [`Contribution`], a reject or an out-of-scope count. Contributions are handed on in
//! batches, split into [`PARTITIONS`] partitions by pseudonym so that the consumer can absorb
//! them in parallel without locks. Memory is bounded by the batch size, not the file size.
//!
//! Nothing here depends on chunk order for its result: rejects keep the smallest line numbers,
//! counts add, and the consumer must be order-independent too (see `cellguard-privacy`'s
//! bounding). So the output does not depend on the number of threads.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::IngestError;
use crate::mapping::{decode_header_field, OutOfScope, RejectKind, RowMapper, RowMapperConfig, RowOutcome};
use crate::pseudonym::Pseudonymiser;
use crate::schema::SourceSchema;

/// The most measured values one row can carry.
pub const MAX_VALUES: usize = 4;

/// Number of pseudonym partitions in a [`ContributionChunk`]; a contribution's partition is the
/// top 6 bits of its pseudonym.
pub const PARTITIONS: usize = 64;

/// The longest record accepted, in bytes. A longer record (for example a 100 MB line without a
/// newline) stops the scan with an error rather than exhausting memory.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// One valid row, ready for bounding: a pseudonymous unit, a public cell, exact values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    /// The pseudonym of the unit of privacy.
    pub unit: u64,
    /// The cell index in the release's key set.
    pub cell: u32,
    /// The measured values in units of `10^-scale`, in the order of the policy's value fields.
    pub values: [i64; MAX_VALUES],
}

impl Contribution {
    /// The partition of this contribution.
    pub fn partition(&self) -> usize {
        (self.unit >> 58) as usize
    }
}

/// The contributions of one chunk of the file, by partition.
#[derive(Debug, Default)]
pub struct ContributionChunk {
    /// `parts[p]` holds the contributions whose pseudonym falls in partition `p`.
    pub parts: Vec<Vec<Contribution>>,
}

/// A reason with its count and the smallest line numbers where it occurred.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonCount {
    /// Rows with this reason.
    pub rows: u64,
    /// Up to [`KEEP_LINES`] line numbers, smallest first.
    pub first_lines: Vec<u64>,
}

/// How many example line numbers are kept per reason.
pub const KEEP_LINES: usize = 5;

/// What a row was rejected or excluded for: a kind and, where known, the schema field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// The row is invalid.
    Invalid(RejectKind, Option<usize>),
    /// The row is valid but outside the key set.
    OutOfScope(OutOfScope, usize),
}

/// Counts of rejected and excluded rows by reason. Merging is order-independent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectTally {
    /// Per reason, the count and example lines.
    pub reasons: BTreeMap<RejectReason, ReasonCount>,
}

impl RejectTally {
    fn add(&mut self, reason: RejectReason, line: u64) {
        let entry = self.reasons.entry(reason).or_default();
        entry.rows += 1;
        if entry.first_lines.len() < KEEP_LINES {
            entry.first_lines.push(line);
        } else if let Some(last) = entry.first_lines.last_mut() {
            if line < *last {
                *last = line;
            }
        }
        entry.first_lines.sort_unstable();
    }

    fn merge(&mut self, other: RejectTally) {
        for (reason, count) in other.reasons {
            let entry = self.reasons.entry(reason).or_default();
            entry.rows += count.rows;
            entry.first_lines.extend(count.first_lines);
            entry.first_lines.sort_unstable();
            entry.first_lines.truncate(KEEP_LINES);
        }
    }

    /// Rows rejected as invalid.
    pub fn invalid_rows(&self) -> u64 {
        self.reasons.iter().filter(|(r, _)| matches!(r, RejectReason::Invalid(..))).map(|(_, c)| c.rows).sum()
    }

    /// Rows excluded as out of scope.
    pub fn out_of_scope_rows(&self) -> u64 {
        self.reasons.iter().filter(|(r, _)| matches!(r, RejectReason::OutOfScope(..))).map(|(_, c)| c.rows).sum()
    }
}

/// Tuning knobs of the scan. They change speed and memory, never the result.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Target size of one chunk parsed by one task.
    pub chunk_bytes: usize,
    /// Chunks read per batch (the batch is the unit of memory).
    pub chunks_per_batch: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { chunk_bytes: 1 << 20, chunks_per_batch: 16 }
    }
}

/// What a finished scan reports.
#[derive(Debug, Clone)]
pub struct ScanSummary {
    /// The source file.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Data rows read (not counting the header).
    pub rows: u64,
    /// Rows that became contributions.
    pub contributions: u64,
    /// Rejected and out-of-scope rows.
    pub tally: RejectTally,
    /// Schema field names, for naming the fields in `tally`.
    pub field_names: Vec<String>,
}

/// CSV quoting states, as csv-core interprets them with its default settings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    AfterClosingQuote,
}

/// Follows the quoting state through `bytes` from a record boundary and returns the offsets
/// just after every newline that ends a record.
fn step(state: QuoteState, b: u8, delimiter: u8) -> (QuoteState, bool) {
    match (state, b) {
        (QuoteState::Quoted, b'"') => (QuoteState::AfterClosingQuote, false),
        (QuoteState::Quoted, _) => (QuoteState::Quoted, false),
        (QuoteState::FieldStart, b'"') => (QuoteState::Quoted, false),
        (QuoteState::AfterClosingQuote, b'"') => (QuoteState::Quoted, false),
        (_, b'\n') => (QuoteState::FieldStart, true),
        (_, b'\r') => (QuoteState::FieldStart, false),
        (_, d) if d == delimiter => (QuoteState::FieldStart, false),
        _ => (QuoteState::Unquoted, false),
    }
}

/// Cuts `buf` (which starts on a record boundary) into chunks of about `target` bytes that end
/// on record boundaries. Returns the chunk end offsets; bytes after the last one are an
/// incomplete record.
fn cut(buf: &[u8], target: usize, delimiter: u8) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut state = QuoteState::FieldStart;
    let mut next_cut = target;
    let mut last = 0;
    for (i, &b) in buf.iter().enumerate() {
        let (s, boundary) = step(state, b, delimiter);
        state = s;
        if boundary {
            last = i + 1;
            if last >= next_cut {
                ends.push(last);
                next_cut = last + target;
            }
        }
    }
    if last > 0 && ends.last().is_none_or(|e| *e < last) {
        ends.push(last);
    }
    ends
}

struct ChunkResult {
    chunk: ContributionChunk,
    tally: RejectTally,
    rows: u64,
    contributions: u64,
}

fn parse_chunk(
    bytes: &[u8],
    first_line: u64,
    delimiter: u8,
    mapper: &RowMapper,
    pseudonymiser: &Pseudonymiser,
) -> ChunkResult {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut parts: Vec<Vec<Contribution>> = (0..PARTITIONS).map(|_| Vec::new()).collect();
    let mut tally = RejectTally::default();
    let mut scratch = Vec::new();
    let (mut rows, mut contributions) = (0u64, 0u64);
    // Line numbers are counted here rather than taken from the csv reader, whose record
    // positions lag by one line after CRLF line ends.
    let (mut counted_to, mut newlines) = (0usize, 0u64);
    loop {
        let outcome = match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => mapper.map(&record, pseudonymiser, &mut scratch, |c| parts[c.partition()].push(c)),
            Err(_) => RowOutcome::Reject(RejectKind::Malformed, None),
        };
        let mut start = record.position().map_or(counted_to, |p| p.byte() as usize).clamp(counted_to, bytes.len());
        while start < bytes.len() && (bytes[start] == b'\r' || bytes[start] == b'\n') {
            start += 1;
        }
        newlines += bytes[counted_to..start].iter().filter(|b| **b == b'\n').count() as u64;
        counted_to = start;
        let line = first_line + newlines;
        rows += 1;
        match outcome {
            RowOutcome::Used(_) => contributions += 1,
            RowOutcome::OutOfScope(why, field) => tally.add(RejectReason::OutOfScope(why, field), line),
            RowOutcome::Reject(kind, field) => tally.add(RejectReason::Invalid(kind, field), line),
        }
    }
    ChunkResult { chunk: ContributionChunk { parts }, tally, rows, contributions }
}

/// Reads `path` with `schema`, maps every row with `config`, and hands the contributions to
/// `consume` one batch at a time.
///
/// Returns an error for structural problems (unreadable file, empty file, bad header, a record
/// longer than [`MAX_RECORD_BYTES`]) and whatever `consume` returns. Row-level problems are
/// counted in the summary's tally; deciding whether they are tolerable is the caller's job.
pub fn scan_file<E: From<IngestError>>(
    path: &Path,
    schema: &SourceSchema,
    config: &RowMapperConfig,
    pseudonymiser: &Pseudonymiser,
    options: ScanOptions,
    mut consume: impl FnMut(Vec<ContributionChunk>) -> Result<(), E>,
) -> Result<ScanSummary, E> {
    let meta = std::fs::metadata(path).map_err(|e| IngestError::io(path, "open", e))?;
    if meta.is_dir() {
        return Err(IngestError::structure(path, None, "is a directory, not a file").into());
    }
    let mut file = std::fs::File::open(path).map_err(|e| IngestError::io(path, "open", e))?;
    let delimiter = schema.format.delimiter as u8;
    let batch_bytes = options.chunk_bytes.max(1) * options.chunks_per_batch.max(1);
    let mut hasher = Sha256::new();
    let mut buf: Vec<u8> = Vec::with_capacity(batch_bytes + MAX_RECORD_BYTES);
    let mut total_bytes = 0u64;
    let mut eof = false;

    // Reads until `buf` holds at least `want` bytes or the file ends.
    let mut fill = |buf: &mut Vec<u8>, want: usize, eof: &mut bool, total: &mut u64| -> Result<(), IngestError> {
        while buf.len() < want && !*eof {
            let start = buf.len();
            buf.resize(want, 0);
            let n = loop {
                match file.read(&mut buf[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(IngestError::io(path, "read", e)),
                }
            };
            buf.truncate(start + n);
            *total += n as u64;
            if n == 0 {
                *eof = true;
            }
        }
        Ok(())
    };

    // The header: the first record. Bytes are hashed before anything is drained from the
    // buffer; `unhashed` is where the not yet hashed bytes start.
    fill(&mut buf, batch_bytes, &mut eof, &mut total_bytes)?;
    hasher.update(&buf);
    let mut unhashed = buf.len();
    if buf.starts_with(b"\xEF\xBB\xBF") {
        if schema.format.encoding == crate::schema::Encoding::Windows1252 {
            return Err(IngestError::structure(
                path,
                Some(1),
                "the file starts with a UTF-8 byte-order mark, but its schema declares windows-1252: declare `encoding = \"utf-8\"`",
            )
            .into());
        }
        buf.drain(..3);
        unhashed -= 3;
    }
    if buf.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::structure(path, None, "the file is empty (no header row)").into());
    }
    let header_end = loop {
        match first_boundary(&buf, delimiter) {
            Some(end) => break end,
            None if eof => break buf.len(),
            None if buf.len() >= MAX_RECORD_BYTES => {
                return Err(IngestError::structure(
                    path,
                    Some(1),
                    format!("the header row is longer than {MAX_RECORD_BYTES} bytes"),
                )
                .into())
            }
            None => {
                let want = buf.len() + batch_bytes;
                fill(&mut buf, want, &mut eof, &mut total_bytes)?;
                hasher.update(&buf[unhashed..]);
                unhashed = buf.len();
            }
        }
    };
    let header = {
        let mut reader =
            csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).from_reader(&buf[..header_end]);
        let mut record = csv::ByteRecord::new();
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            _ => return Err(IngestError::structure(path, Some(1), "the header row cannot be parsed").into()),
        }
        let mut names = Vec::new();
        for (i, field) in record.iter().enumerate() {
            match decode_header_field(field, schema.format.encoding) {
                Some(n) => names.push(n),
                None => {
                    return Err(IngestError::structure(
                        path,
                        Some(1),
                        format!("header column {} is not valid in the declared encoding", i + 1),
                    )
                    .into())
                }
            }
        }
        names
    };
    let mapper = RowMapper::new(schema, &header, config, path)?;
    let mut line = 1 + buf[..header_end].iter().filter(|b| **b == b'\n').count() as u64;
    buf.drain(..header_end);
    unhashed -= header_end;

    let mut summary = ScanSummary {
        path: path.to_path_buf(),
        sha256: [0; 32],
        bytes: 0,
        rows: 0,
        contributions: 0,
        tally: RejectTally::default(),
        field_names: mapper.field_names().to_vec(),
    };
    loop {
        fill(&mut buf, batch_bytes, &mut eof, &mut total_bytes)?;
        let mut ends = cut(&buf, options.chunk_bytes.max(1), delimiter);
        if eof && ends.last().is_none_or(|e| *e < buf.len()) && !buf.is_empty() {
            // The last record has no line end; it is still bounded in length.
            let start = ends.last().copied().unwrap_or(0);
            if buf.len() - start > MAX_RECORD_BYTES {
                let line = line + buf[..start].iter().filter(|b| **b == b'\n').count() as u64;
                return Err(IngestError::structure(
                    path,
                    Some(line),
                    format!(
                        "a record is longer than {MAX_RECORD_BYTES} bytes (missing line ends or an unbalanced quote)"
                    ),
                )
                .into());
            }
            ends.push(buf.len());
        }
        if ends.is_empty() {
            if eof {
                break;
            }
            if buf.len() >= MAX_RECORD_BYTES {
                return Err(IngestError::structure(
                    path,
                    Some(line),
                    format!(
                        "a record is longer than {} bytes (missing line ends or an unbalanced quote)",
                        MAX_RECORD_BYTES
                    ),
                )
                .into());
            }
            // No complete record yet: read more.
            let want = buf.len() + batch_bytes;
            fill(&mut buf, want, &mut eof, &mut total_bytes)?;
            continue;
        }
        // Starting line of every chunk.
        let mut starts = Vec::with_capacity(ends.len());
        let mut from = 0;
        for &end in &ends {
            starts.push((from, end, line));
            line += buf[from..end].iter().filter(|b| **b == b'\n').count() as u64;
            from = end;
        }
        // Parse in parallel while the new bytes are hashed.
        let (results, ()): (Vec<ChunkResult>, ()) = rayon::join(
            || {
                starts
                    .par_iter()
                    .map(|&(a, b, first_line)| {
                        parse_chunk(&buf[a..b], first_line, delimiter, &mapper, &pseudonymiser.clone())
                    })
                    .collect()
            },
            || hasher.update(&buf[unhashed..]),
        );
        unhashed = buf.len();
        let mut batch = Vec::with_capacity(results.len());
        for r in results {
            summary.rows += r.rows;
            summary.contributions += r.contributions;
            summary.tally.merge(r.tally);
            batch.push(r.chunk);
        }
        consume(batch)?;
        buf.drain(..from);
        unhashed -= from;
        if eof && buf.is_empty() {
            break;
        }
    }
    hasher.update(&buf[unhashed.min(buf.len())..]);
    summary.sha256 = hasher.finalize().into();
    summary.bytes = total_bytes;
    Ok(summary)
}

/// The end of the first record in `buf`, if a complete one is there.
fn first_boundary(buf: &[u8], delimiter: u8) -> Option<usize> {
    let mut state = QuoteState::FieldStart;
    for (i, &b) in buf.iter().enumerate() {
        let (s, boundary) = step(state, b, delimiter);
        state = s;
        if boundary {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_respect_quoted_newlines() {
        let data = b"a,\"x\ny\",1\nb,\"p\"\"\nq\",2\nc,z,3\npartial";
        let ends = cut(data, 1, b',');
        // Every cut is right after a record-ending newline.
        assert_eq!(ends, vec![10, 22, 28]);
        assert_eq!(&data[ends[2]..], b"partial");
    }
}
