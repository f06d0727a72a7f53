//! A streaming ZIP writer for export downloads ([`ZipStream`]): an archive of any number of
//! entries, produced as a sequence of byte chunks the caller sends on in order, never held whole
//! in memory and never sought back into, so an HTTP body can carry it as it is made.
//!
//! It owns the archive's bytes and which entry names an archive may hold ([`check_name`]). It is
//! sans-IO: it reads and writes nothing itself, every call answers the bytes that come next.
//!
//! Each entry is STORED or raw DEFLATE at the fastest level ([`should_compress`] tells which pays:
//! text does, images and audio are compressed already). Its CRC and sizes are known only at its
//! end, so every local header sets general purpose bit 3 and the entry's data is followed by a
//! data descriptor; bit 11 marks names as UTF-8. Modification times are DOS dates and times
//! taken in UTC from the unix seconds, clamped to 1980-01-01 through 2107-12-31.
//!
//! # Large archives and large entries
//!
//! Archives may hold any number of entries and grow past 4 GiB. The ZIP64 end record and locator
//! are written when the entry count reaches 0xFFFF or the central directory's size or offset
//! reaches 0xFFFFFFFF. An entry that starts at or past offset 0xFFFFFFFF is a ZIP64 entry
//! throughout: its central header holds the offset in a ZIP64 extra field, its local header
//! carries a ZIP64 extra field too (sizes 0xFFFFFFFF, zeros in the field), and its data
//! descriptor has 8-byte sizes. Readers disagree on what announces 8-byte descriptor sizes:
//! APPNOTE 4.3.9.2 and libarchive go by a ZIP64 field in the local header, Info-ZIP's unzip (as
//! shipped by Debian, whose zip-bomb check walks every descriptor) by one in the central header;
//! keeping the two in step satisfies both. Readers that guess from the sizes alone
//! (`java.util.zip.ZipInputStream` in JDK 17) misread a ZIP64 entry's descriptor; they also
//! refuse every STORED entry with a descriptor, so they were never able to stream these archives.
//!
//! One entry may hold at most [`MAX_ENTRY_SIZE`] bytes (4 GiB less 2), before and after
//! compression; a write that would pass it is refused with [`ZipError::EntryTooLarge`]. Larger
//! entries would need 8-byte descriptor sizes, announced up front in the local header, and
//! whether an entry passes 4 GiB is known only at its end: every entry would have to be a ZIP64
//! entry, which the size-guessing readers above then misread even for a small deflated file.
//! The limit stops one byte short of 0xFFFFFFFF because that value in a central header means
//! "see the ZIP64 field", which would make a ZIP64 entry of one written as a classic one. A
//! caller that knows a file's size can leave out a larger one up front.
//!
//! Memory: the central directory grows as entries end, 46 bytes plus the name per entry (12 more
//! past a 4 GiB offset), and [`ZipStream::finish`] hands it out; nothing of the entry data is kept.
//! Duplicate names are not detected (that would keep every name a second time): the caller names
//! each entry once.

mod records;

#[cfg(test)]
mod tests;

use std::fmt;

use crc32fast::Hasher;
use flate2::{Compress, Compression, FlushCompress, Status};

use records::{DosTime, Finished, Method};

/// The most bytes one entry may hold, before and after compression: the largest size a classic
/// data descriptor and central header hold without ZIP64 (4 GiB less 2 bytes).
pub const MAX_ENTRY_SIZE: u64 = 0xFFFF_FFFE;

/// The longest entry name in bytes: its length is a 16-bit field.
pub const MAX_NAME_LEN: usize = 0xFFFF;

/// Builds one ZIP archive, entry by entry: [`ZipStream::start_entry`], any number of
/// [`ZipStream::write`]s, [`ZipStream::end_entry`], and once all entries are in,
/// [`ZipStream::finish`]. The archive is every chunk these return, concatenated in order.
pub struct ZipStream {
    /// Bytes handed out so far: the offset of whatever comes next.
    written: u64,
    entries: u64,
    /// The central directory headers of the ended entries, in order.
    central: Vec<u8>,
    open: Option<Entry>,
    /// The deflater of an earlier entry, reset and kept for the next: a deflater's state is a few
    /// hundred KiB, too much to allocate for each of a million entries.
    spare: Option<Compress>,
    limit: u64,
}

/// The entry being written.
struct Entry {
    name: String,
    time: DosTime,
    offset: u64,
    /// `Some` when the entry is deflated.
    deflater: Option<Compress>,
    crc: Hasher,
    size: u64,
    /// Bytes of entry data handed out (equal to `size` when stored).
    packed: u64,
    /// Set once the entry can no longer end well: deflated input was taken but its output
    /// refused.
    broken: Option<ZipError>,
}

impl Default for ZipStream {
    fn default() -> Self {
        Self::new()
    }
}

impl ZipStream {
    /// An empty archive; nothing is written until the first entry starts.
    pub fn new() -> Self {
        ZipStream {
            written: 0,
            entries: 0,
            central: Vec::new(),
            open: None,
            spare: None,
            limit: MAX_ENTRY_SIZE,
        }
    }

    /// A stream whose entries may hold at most `limit` bytes, so the refusals can be tested
    /// without writing gigabytes.
    #[cfg(test)]
    fn with_limit(limit: u64) -> Self {
        ZipStream { limit, ..Self::new() }
    }

    /// Starts an entry and answers its local file header. `compress` deflates its data, else it
    /// is stored as given. Refuses a name [`check_name`] refuses, or a start while another entry
    /// is open; a refusal writes nothing and leaves the stream as it was.
    pub fn start_entry(&mut self, name: &str, modified_unix_secs: i64, compress: bool) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        check_name(name)?;
        let time = DosTime::from_unix(modified_unix_secs);
        let deflater = compress.then(|| {
            let mut deflater = self
                .spare
                .take()
                .unwrap_or_else(|| Compress::new(Compression::fast(), false));
            deflater.reset();
            deflater
        });
        let method = if compress { Method::Deflated } else { Method::Stored };
        let header = records::local_header(name, method, time, self.written);
        self.open = Some(Entry {
            name: name.to_string(),
            time,
            offset: self.written,
            deflater,
            crc: Hasher::new(),
            size: 0,
            packed: 0,
            broken: None,
        });
        self.written += header.len() as u64;
        Ok(header)
    }

    /// Adds `data` to the open entry and answers the bytes to send for it: `data` itself when
    /// stored, what the deflater gives out so far when deflated (often nothing for a small
    /// chunk). Refuses data that would take the entry past [`MAX_ENTRY_SIZE`] without taking any
    /// of it, so the caller may still end the entry; only a deflated entry whose output passes
    /// the limit is broken for good.
    pub fn write(&mut self, data: &[u8]) -> Result<Vec<u8>, ZipError> {
        let entry = self.open.as_mut().ok_or(ZipError::NoEntry)?;
        if let Some(why) = &entry.broken {
            return Err(why.clone());
        }
        if entry.size + data.len() as u64 > self.limit {
            return Err(too_large(&entry.name));
        }
        let out = match &mut entry.deflater {
            None => data.to_vec(),
            Some(deflater) => {
                let mut out = Vec::new();
                if let Err(why) = deflate(deflater, data, false, &mut out) {
                    entry.broken = Some(why.clone());
                    return Err(why);
                }
                if entry.packed + out.len() as u64 > self.limit {
                    let why = too_large(&entry.name);
                    entry.broken = Some(why.clone());
                    return Err(why);
                }
                out
            }
        };
        entry.crc.update(data);
        entry.size += data.len() as u64;
        entry.packed += out.len() as u64;
        self.written += out.len() as u64;
        Ok(out)
    }

    /// Ends the open entry and answers the rest of its deflated data, if any, and its data
    /// descriptor. A failed flush leaves the entry open and broken, so [`ZipStream::finish`]
    /// refuses too.
    pub fn end_entry(&mut self) -> Result<Vec<u8>, ZipError> {
        let entry = self.open.as_mut().ok_or(ZipError::NoEntry)?;
        if let Some(why) = &entry.broken {
            return Err(why.clone());
        }
        let mut out = Vec::new();
        if let Some(deflater) = &mut entry.deflater {
            let mut flushed = deflate(deflater, &[], true, &mut out);
            if flushed.is_ok() && entry.packed + out.len() as u64 > self.limit {
                flushed = Err(too_large(&entry.name));
            }
            if let Err(why) = flushed {
                entry.broken = Some(why.clone());
                return Err(why);
            }
        }
        let Some(mut entry) = self.open.take() else {
            return Err(ZipError::NoEntry);
        };
        entry.packed += out.len() as u64;
        let crc = entry.crc.finalize();
        records::descriptor(crc, entry.packed, entry.size, entry.offset, &mut out);
        let method = if entry.deflater.is_some() {
            Method::Deflated
        } else {
            Method::Stored
        };
        records::central_header(
            &Finished {
                name: &entry.name,
                method,
                time: entry.time,
                crc,
                packed: entry.packed,
                size: entry.size,
                offset: entry.offset,
            },
            &mut self.central,
        );
        self.entries += 1;
        self.written += out.len() as u64;
        if let Some(deflater) = entry.deflater {
            self.spare = Some(deflater);
        }
        Ok(out)
    }

    /// Closes the archive and answers its last chunk: the central directory and the end
    /// records. Refuses while an entry is open: an entry that did not end means the download
    /// should be abandoned, not closed as if whole.
    pub fn finish(self) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        let offset = self.written;
        let size = self.central.len() as u64;
        let mut out = self.central;
        records::end_records(self.entries, offset, size, &mut out);
        Ok(out)
    }

    /// Bytes handed out so far, all chunks together.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Entries ended so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }
}

/// Why the stream refused a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipError {
    /// The entry name cannot be written, and why.
    BadName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// An entry is open: end it before starting another or finishing the archive.
    EntryOpen,
    /// No entry is open to write to or end.
    NoEntry,
    /// The entry would hold more than [`MAX_ENTRY_SIZE`] bytes.
    EntryTooLarge {
        /// The entry's name.
        name: String,
    },
    /// The deflater failed (it does not on well-formed calls; kept rather than panicking).
    Deflate(String),
}

/// What makes an entry name unfit for an archive that will be extracted on someone's disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// It starts with `/` or a drive letter, so it would land outside the extraction folder.
    Absolute,
    /// A `..` segment would climb out of the extraction folder.
    ParentSegment,
    /// A backslash is a separator on Windows only: the entry would extract differently there.
    Backslash,
    /// NUL ends the name early for C-based extractors.
    Nul,
    /// More than [`MAX_NAME_LEN`] bytes.
    TooLong,
    /// A trailing `/` names a directory; the stream writes files only.
    Directory,
}

impl NameProblem {
    fn as_str(self) -> &'static str {
        match self {
            NameProblem::Empty => "the name is empty",
            NameProblem::Absolute => "the name is absolute",
            NameProblem::ParentSegment => "the name has a '..' segment",
            NameProblem::Backslash => "the name has a backslash",
            NameProblem::Nul => "the name has a NUL character",
            NameProblem::TooLong => "the name is longer than 65535 bytes",
            NameProblem::Directory => "the name ends with '/' (a directory)",
        }
    }
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZipError::BadName { name, problem } => {
                let shown: String = name.chars().take(200).collect();
                write!(f, "zip entry {shown:?}: {}", problem.as_str())
            }
            ZipError::EntryOpen => f.write_str("a zip entry is still open"),
            ZipError::NoEntry => f.write_str("no zip entry is open"),
            ZipError::EntryTooLarge { name } => {
                write!(f, "zip entry {name:?} would hold more than {MAX_ENTRY_SIZE} bytes")
            }
            ZipError::Deflate(why) => write!(f, "deflate failed: {why}"),
        }
    }
}

impl std::error::Error for ZipError {}

/// Checks that `name` can name an entry: not empty, relative (no leading `/` or drive letter),
/// without `..` segments, backslashes or NUL, not ending with `/`, and at most
/// [`MAX_NAME_LEN`] bytes.
pub fn check_name(name: &str) -> Result<(), ZipError> {
    let problem = if name.is_empty() {
        Some(NameProblem::Empty)
    } else if name.len() > MAX_NAME_LEN {
        Some(NameProblem::TooLong)
    } else if name.contains('\0') {
        Some(NameProblem::Nul)
    } else if name.contains('\\') {
        Some(NameProblem::Backslash)
    } else if name.starts_with('/') || has_drive(name) {
        Some(NameProblem::Absolute)
    } else if name.split('/').any(|segment| segment == "..") {
        Some(NameProblem::ParentSegment)
    } else if name.ends_with('/') {
        Some(NameProblem::Directory)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ZipError::BadName {
            name: name.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

/// `C:` and the like, which Windows extractors take as a drive.
fn has_drive(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Whether an entry of this name is worth deflating: text-like extensions (`json`, `jsonl`,
/// `xml`, `txt`, `manifest`, `names`, `data`, `conll`, `tsv`, `csv`, in any case) are; anything
/// else, images and audio above all, is most likely compressed already.
pub fn should_compress(name: &str) -> bool {
    const TEXT: [&str; 10] = [
        "json", "jsonl", "xml", "txt", "manifest", "names", "data", "conll", "tsv", "csv",
    ];
    let file = name.rsplit('/').next().unwrap_or(name);
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => TEXT.iter().any(|t| ext.eq_ignore_ascii_case(t)),
        _ => false,
    }
}

fn too_large(name: &str) -> ZipError {
    ZipError::EntryTooLarge { name: name.to_string() }
}

/// Runs `input` through the deflater into `out` (all of the deflater's pending output too when
/// `finish`), growing `out` as needed.
fn deflate(deflater: &mut Compress, mut input: &[u8], finish: bool, out: &mut Vec<u8>) -> Result<(), ZipError> {
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::None
    };
    loop {
        // Room for at least 4 KiB more each round, so every round makes progress.
        out.reserve(input.len() / 2 + 4096);
        let (taken, given) = (deflater.total_in(), deflater.total_out());
        let status = deflater
            .compress_vec(input, out, flush)
            .map_err(|e| ZipError::Deflate(e.to_string()))?;
        let consumed = (deflater.total_in() - taken) as usize;
        input = &input[consumed..];
        let done = if finish {
            status == Status::StreamEnd
        } else {
            input.is_empty()
        };
        if done {
            return Ok(());
        }
        if consumed == 0 && deflater.total_out() == given {
            return Err(ZipError::Deflate(format!("no progress ({status:?})")));
        }
    }
}
