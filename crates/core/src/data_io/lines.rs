//! Reading a manifest from the object store a line at a time, each line into a record with the
//! labels of the VOC files it names: what an import of a manifest and an export of a version
//! share. The file is streamed; only the line being read is held.

use teamlabel_formats::{manifest, voc, Record};

use crate::app::App;
use crate::error::Result;
use crate::objects::{ByteStream, ObjectPath};

/// The largest label or annotation file read (a VOC XML, a `.txt`, a COCO JSON, `obj.names`).
pub const MAX_SIDE_FILE: u64 = 64 << 20;

/// The lines of a streamed file, numbered from 1, without their line ends.
pub struct LineReader {
    stream: ByteStream,
    buf: Vec<u8>,
    start: usize,
    line: u64,
    done: bool,
}

impl LineReader {
    pub async fn open(app: &App, path: &ObjectPath) -> Result<Self> {
        Ok(LineReader {
            stream: app.objects.read(path).await?,
            buf: Vec::new(),
            start: 0,
            line: 0,
            done: false,
        })
    }

    /// The next line and its number, `None` at the end.
    pub async fn next(&mut self) -> Result<Option<(u64, Vec<u8>)>> {
        loop {
            if let Some(i) = self.buf[self.start..].iter().position(|b| *b == b'\n') {
                let end = self.start + i;
                let line = self.buf[self.start..end].to_vec();
                self.start = end + 1;
                self.line += 1;
                return Ok(Some((self.line, line)));
            }
            if self.done {
                if self.start < self.buf.len() {
                    let line = self.buf[self.start..].to_vec();
                    self.start = self.buf.len();
                    self.line += 1;
                    return Ok(Some((self.line, line)));
                }
                return Ok(None);
            }
            self.buf.drain(..self.start);
            self.start = 0;
            match std::future::poll_fn(|cx| self.stream.as_mut().poll_next(cx)).await {
                Some(chunk) => self.buf.extend_from_slice(&chunk?),
                None => self.done = true,
            }
        }
    }
}

/// The record of one manifest line with the objects of the VOC files it names, `Ok(None)` for
/// a blank line, or why the line cannot be read.
pub async fn manifest_record(
    app: &App,
    dataset_type: i64,
    bytes: &[u8],
) -> std::result::Result<Option<Record>, String> {
    let line = std::str::from_utf8(bytes).map_err(|_| "the line is not UTF-8".to_string())?;
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut parsed = manifest::parse_line(line, dataset_type).map_err(|e| e.reason)?;
    for loc in parsed.annotation_locs.clone() {
        let at = ObjectPath::parse("annotation-loc", &loc).map_err(|e| e.message)?;
        let xml = app
            .objects
            .get(&at, MAX_SIDE_FILE)
            .await
            .map_err(|e| format!("{loc}: {}", e.message))?;
        voc::parse(&String::from_utf8_lossy(&xml))
            .and_then(|doc| parsed.add_voc(&loc, doc))
            .map_err(|e| format!("{loc}: {}", e.reason))?;
    }
    Ok(Some(parsed.record))
}
