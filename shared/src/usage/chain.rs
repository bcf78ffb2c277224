//! The reader chain under the CSV reader: hashing the upload, gunzipping, dropping a byte-order
//! mark, and tracking the file lines of records while bounding a record's size.

use super::MAX_RECORD_BYTES;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::{self, Read};

/// Hashes and counts the bytes as they come from the upload.
pub(super) struct HashingReader<R> {
    pub(super) inner: R,
    pub(super) hasher: Sha256,
    pub(super) bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    let read = buf.get(..n).unwrap_or(&[]);
                    self.hasher.update(read);
                    self.bytes += read.len() as u64;
                    return Ok(read.len());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
pub(super) fn read_up_to(mut input: impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The input as plain text or gunzipped.
/// One per open file: the size of the gzip state (larger with flate2's zlib-rs backend, which
/// the XLSX writer's zip dependency selects) does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Decoded<R: Read> {
    Plain(R),
    Gzip(flate2::read::MultiGzDecoder<R>),
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            // flate2 reports bad or missing compressed data with these kinds; other errors come
            // from the upload itself and pass as they are.
            Decoded::Gzip(r) => r.read(buf).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidInput
                | io::ErrorKind::InvalidData
                | io::ErrorKind::UnexpectedEof => {
                    io::Error::new(e.kind(), format!("corrupt or truncated gzip data ({e})"))
                }
                _ => e,
            }),
        }
    }
}

/// Drops a UTF-8 byte-order mark at the start of the text.
///
/// The CSV reader drops a mark too, but only when its first buffer holds all three bytes, and a
/// first buffer that is exactly a mark reads to it as the end of the file. So that the outcome
/// never depends on how many bytes a read hands over, the first read hands over everything read
/// ahead: at least four bytes after a dropped mark, unless the text ends first (the fuzz target
/// `usage_file` found a second mark read as an empty file when reads were three bytes long).
pub(super) struct BomStripper<R> {
    inner: R,
    /// The first bytes, read ahead to look for the mark; `start..len` are still to be returned.
    head: [u8; 7],
    start: usize,
    len: usize,
    checked: bool,
}

impl<R: Read> BomStripper<R> {
    pub(super) fn new(inner: R) -> Self {
        BomStripper {
            inner,
            head: [0; 7],
            start: 0,
            len: 0,
            checked: false,
        }
    }
}

impl<R: Read> Read for BomStripper<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.checked {
            self.len = read_up_to(&mut self.inner, &mut self.head)?;
            self.checked = true;
            if self.head[..self.len].starts_with(&[0xef, 0xbb, 0xbf]) {
                self.start = 3;
            }
        }
        if self.start < self.len {
            let n = (self.len - self.start).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.start..self.start + n]);
            self.start += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// A maximal run of CR and LF bytes in the decoded text, at `[start, end)`.
#[derive(Debug)]
struct Run {
    start: u64,
    end: u64,
    /// Line breaks completed in the run (`\n`, `\r\n`, or a `\r` followed by another `\r`).
    breaks: u64,
    /// The run ends with a `\r` not yet known to be followed by `\n`; it counts as a break.
    pending_cr: bool,
}

impl Run {
    fn line_breaks(&self) -> u64 {
        self.breaks + u64::from(self.pending_cr)
    }
}

/// Counts line breaks (`\n`, `\r\n`, lone `\r`) in the text the CSV reader reads, so that the
/// file line of a record start can be told from the record's byte offset; and refuses to read
/// on when a single record grows past [`MAX_RECORD_BYTES`].
///
/// It keeps the runs of CR/LF bytes between the record being parsed and the end of what the
/// CSV reader has buffered: a record starts after the run its offset falls in (the CSV parser
/// skips blank lines, and after a `\r` terminator its offset is at the following `\n`).
pub(super) struct LineTracker<R> {
    inner: R,
    /// Bytes handed out so far.
    offset: u64,
    runs: VecDeque<Run>,
    /// Line breaks in runs already dropped from `runs`.
    breaks_before: u64,
    /// Offset where the record being read begins (blank lines before it included).
    record_start: u64,
}

impl<R: Read> LineTracker<R> {
    pub(super) fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            runs: VecDeque::new(),
            breaks_before: 0,
            record_start: 0,
        }
    }

    /// The CSV reader is about to read a record from `offset`.
    pub(super) fn begin_record(&mut self, offset: u64) {
        self.record_start = offset;
    }

    /// The file line (1-based) of a record the CSV reader started reading at `offset`; forgets
    /// what lies before it.
    pub(super) fn line_at(&mut self, offset: u64) -> u64 {
        while let Some(run) = self.runs.front() {
            // A run before the record, or the blank lines the record starts after.
            if run.start <= offset {
                self.breaks_before += run.line_breaks();
                self.runs.pop_front();
            } else {
                break;
            }
        }
        1 + self.breaks_before
    }

    fn note(&mut self, at: u64, byte: u8) {
        let run = match self.runs.back_mut() {
            Some(run) if run.end == at => run,
            _ => {
                self.runs.push_back(Run {
                    start: at,
                    end: at,
                    breaks: 0,
                    pending_cr: false,
                });
                match self.runs.back_mut() {
                    Some(run) => run,
                    None => return,
                }
            }
        };
        run.end = at + 1;
        if byte == b'\n' {
            run.breaks += 1;
            run.pending_cr = false;
        } else {
            run.breaks += u64::from(run.pending_cr);
            run.pending_cr = true;
        }
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset.saturating_sub(self.record_start) > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a record is longer than {} bytes (an unclosed quote?)",
                    MAX_RECORD_BYTES
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or(&[]);
        for i in memchr::memchr2_iter(b'\n', b'\r', read) {
            self.note(self.offset + i as u64, read[i]);
        }
        self.offset += read.len() as u64;
        Ok(read.len())
    }
}
