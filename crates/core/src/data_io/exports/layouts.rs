//! The files of an export, by format, under its directory `D/`:
//!
//! | format | files |
//! |---|---|
//! | `MANIFEST` | `D/{dataset}.manifest`; stored bytes copied to `D/data/`, detection shapes in `D/annotations/{id}.xml` |
//! | `VOC` | `D/{file}` with `D/{stem}.xml` beside it |
//! | `COCO` | `D/annotations.json`, the images under `D/images/` |
//! | `YOLO` | `D/obj.names`, `D/obj.data`, `D/train.txt`, `D/obj_train_data/{file}` with `{stem}.txt` |
//! | `CLASSIFICATION` 1 | `D/{label}/{file}` (a sample with several labels in each folder), unlabeled files in `D/` |
//! | `CLASSIFICATION` 2 | `D/{file}` with `D/{stem}.txt` (a label per line) beside it |
//! | `TSV` | `D/{dataset}.txt`: `text<TAB>label,label` |
//! | `CONLL` | `D/{dataset}.conll`: BIO tags, a blank line between samples |
//! | `JSONL` | `D/{dataset}.jsonl`: text, entities and relations |
//!
//! Each layout copies a sample's bytes beside its labels where the format expects the files
//! (blobs from the blob store, storage paths from the object store; a URL is never fetched, and
//! such a sample is listed as dropped bytes). Files are named by the sample name, made safe for
//! a key; a name (or stem) already used gets the sample id before it, so no file overwrites
//! another. Single files are spooled to a temporary file and streamed to the object store at the
//! end, so memory stays flat whatever the size.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use bytes::Bytes as ByteBuf;
use teamlabel_api::enums::DatasetType;
use teamlabel_formats::coco::CocoWriter;
use teamlabel_formats::{classify, conll, manifest, spans, text, voc, yolo, Loss, LossKind, Record};

use crate::app::App;
use crate::data_io::exports::select::Item;
use crate::data_io::exports::{ExportPlan, Format};
use crate::data_io::records::Bytes;
use crate::data_io::versions::{finish, has_shapes};
use crate::error::{Error, Result};
use crate::objects::ObjectPath;

/// Bytes streamed to the object store per part.
const CHUNK: usize = 1 << 20;

/// A file written locally first and streamed to the object store at the end.
pub(super) struct Spool {
    file: BufWriter<File>,
    to: ObjectPath,
}

impl Spool {
    pub(super) fn new(to: ObjectPath) -> Result<Self> {
        let file = tempfile::tempfile().map_err(|e| Error::internal(format!("a temporary file: {e}")))?;
        Ok(Spool {
            file: BufWriter::new(file),
            to,
        })
    }

    pub(super) fn write(&mut self, s: &str) -> Result<()> {
        self.file
            .write_all(s.as_bytes())
            .map_err(|e| Error::internal(format!("a temporary file: {e}")))
    }

    pub(super) async fn upload(self, app: &App) -> Result<()> {
        let file = self
            .file
            .into_inner()
            .map_err(|e| Error::internal(format!("a temporary file: {}", e.error())))?;
        upload_file(app, file, &self.to).await
    }
}

async fn upload_file(app: &App, mut file: File, to: &ObjectPath) -> Result<()> {
    let io = |e: std::io::Error| Error::internal(format!("a temporary file: {e}"));
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut writer = app.objects.writer(to).await?;
    let result = async {
        loop {
            let mut chunk = vec![0u8; CHUNK];
            let n = file.read(&mut chunk).map_err(io)?;
            if n == 0 {
                return Ok(());
            }
            chunk.truncate(n);
            writer.write(ByteBuf::from(chunk)).await?;
        }
    }
    .await;
    finish(writer, result).await
}

/// The files of one export being written.
pub(super) struct Output {
    dir: ObjectPath,
    format: Format,
    tree: bool,
    header: String,
    dataset_type: DatasetType,
    clear_difficult: bool,
    /// The one file of the single-file formats.
    main: Option<Spool>,
    coco: Option<CocoWriter<BufWriter<File>>>,
    classes: HashMap<String, usize>,
    class_names: Vec<String>,
    /// Hashes of the names (lowercase stems) used so far, per folder.
    used: HashSet<u64>,
}

impl Output {
    pub(super) fn new(
        plan: &ExportPlan,
        dataset_type: DatasetType,
        dataset_name: &str,
        labels: &[String],
    ) -> Result<Self> {
        let dir = ObjectPath::parse("path", &plan.path)?.as_dir();
        let safe = safe_name(dataset_name);
        let main = match plan.format {
            Format::Manifest => Some(format!("{safe}.manifest")),
            Format::Tsv => Some(format!("{safe}.txt")),
            Format::Conll => Some(format!("{safe}.conll")),
            Format::Jsonl => Some(format!("{safe}.jsonl")),
            Format::Yolo => Some("train.txt".to_string()),
            _ => None,
        };
        let main = match main {
            Some(name) => Some(Spool::new(dir.join(&name)?)?),
            None => None,
        };
        let coco = if plan.format == Format::Coco {
            let file = tempfile::tempfile().map_err(|e| Error::internal(format!("a temporary file: {e}")))?;
            Some(CocoWriter::new(BufWriter::new(file), labels).map_err(|e| Error::internal(e.to_string()))?)
        } else {
            None
        };
        Ok(Output {
            dir,
            format: plan.format,
            tree: plan.export_format == Some(1),
            header: plan.header.clone(),
            dataset_type,
            clear_difficult: plan.clear_difficult,
            main,
            coco,
            classes: labels.iter().enumerate().map(|(i, l)| (l.clone(), i)).collect(),
            class_names: labels.to_vec(),
            used: HashSet::new(),
        })
    }

    /// Writes one sample; answers what its format could not hold.
    pub(super) async fn add(&mut self, app: &App, item: Item) -> Result<Vec<Loss>> {
        let mut losses = Vec::new();
        let mut r = item.record;
        if r.id.is_none() {
            r.id = Some(item.id.clone());
        }
        if self.clear_difficult {
            for l in &mut r.labels {
                if let Some(p) = l.property.as_mut() {
                    p.remove(teamlabel_formats::keys::VOC_DIFFICULT);
                }
            }
        }
        let io = |e: std::io::Error| Error::internal(format!("a temporary file: {e}"));
        match self.format {
            Format::Manifest => {
                r.source = match &item.bytes {
                    Bytes::Text(t) => format!("{}{t}", teamlabel_formats::CONTENT_SCHEME),
                    Bytes::Reference(src) => match ObjectPath::parse("source", src) {
                        Ok(p) => p.with_header(&self.header),
                        Err(_) => src.clone(),
                    },
                    Bytes::Blob(_) => {
                        let name = self.unique("data/", &item.name, &item.id, false);
                        let to = self.dir.join(&format!("data/{name}"))?;
                        losses.extend(copy_bytes(app, &item.bytes, &to, &r).await?);
                        to.with_header(&self.header)
                    }
                };
                let loc = if has_shapes(self.dataset_type) && !r.labels.is_empty() {
                    let at = self.dir.join(&format!("annotations/{}.xml", safe_name(&item.id)))?;
                    let (xml, lost) = voc::write(&r, &file_part(&r.source), "NA");
                    losses.extend(lost);
                    app.objects.put(&at, ByteBuf::from(xml)).await?;
                    Some(at.with_header(&self.header))
                } else {
                    None
                };
                let (line, lost) = manifest::write_line_reporting(
                    &r,
                    i64::from(self.dataset_type.code()),
                    &self.header,
                    loc.as_deref(),
                );
                losses.extend(lost);
                self.main_line(&line)?;
            }
            Format::Voc => {
                let name = self.unique("", &item.name, &item.id, true);
                let to = self.dir.join(&name)?;
                losses.extend(copy_bytes(app, &item.bytes, &to, &r).await?);
                if !r.labels.is_empty() {
                    let (xml, lost) = voc::write(&r, &name, "NA");
                    losses.extend(lost);
                    let at = self.dir.join(&format!("{}.xml", stem(&name)))?;
                    app.objects.put(&at, ByteBuf::from(xml)).await?;
                }
            }
            Format::Coco => {
                let name = self.unique("images/", &item.name, &item.id, false);
                let to = self.dir.join(&format!("images/{name}"))?;
                losses.extend(copy_bytes(app, &item.bytes, &to, &r).await?);
                let coco = self.coco.as_mut().ok_or_else(|| Error::internal("no COCO writer"))?;
                losses.extend(coco.add(&r, &format!("images/{name}")).map_err(io)?);
            }
            Format::Yolo => {
                let name = self.unique("obj_train_data/", &item.name, &item.id, true);
                let to = self.dir.join(&format!("obj_train_data/{name}"))?;
                losses.extend(copy_bytes(app, &item.bytes, &to, &r).await?);
                let classes = &self.classes;
                let (txt, lost) = yolo::write(&r, |n| classes.get(n).copied());
                losses.extend(lost);
                let at = self.dir.join(&format!("obj_train_data/{}.txt", stem(&name)))?;
                app.objects.put(&at, ByteBuf::from(txt)).await?;
                self.main_line(&format!("data/obj_train_data/{name}"))?;
            }
            Format::Classification if self.tree => {
                let mut names: Vec<&str> = Vec::new();
                for n in r.labels.iter().filter_map(|l| l.name.as_deref()) {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
                if names.len() > 1 {
                    losses.push(loss(
                        &r,
                        LossKind::Converted,
                        format!(
                            "a sample with {} labels is written once in each label's folder",
                            names.len()
                        ),
                    ));
                }
                let folders: Vec<String> = if names.is_empty() {
                    vec![String::new()]
                } else {
                    names.iter().map(|n| format!("{}/", safe_name(n))).collect()
                };
                for folder in folders {
                    let name = self.unique(&folder, &item.name, &item.id, false);
                    let to = self.dir.join(&format!("{folder}{name}"))?;
                    losses.extend(copy_bytes(app, &item.bytes, &to, &r).await?);
                }
            }
            Format::Classification => {
                let name = self.unique("", &item.name, &item.id, true);
                let to = self.dir.join(&name)?;
                losses.extend(copy_bytes(app, &item.bytes, &to, &r).await?);
                if !r.labels.is_empty() {
                    let at = self.dir.join(&format!("{}.txt", stem(&name)))?;
                    app.objects.put(&at, ByteBuf::from(classify::write(&r))).await?;
                }
            }
            Format::Tsv | Format::Conll | Format::Jsonl => {
                let text = match text_of(app, &item.bytes).await {
                    Ok(t) => t,
                    Err(why) => {
                        losses.push(loss(&r, LossKind::Dropped, format!("the sample is left out: {why}")));
                        return Ok(losses);
                    }
                };
                r.source = format!("{}{text}", teamlabel_formats::CONTENT_SCHEME);
                match self.format {
                    Format::Tsv => {
                        let names: Vec<String> = r.labels.iter().filter_map(|l| l.name.clone()).collect();
                        self.main_line(&text::tsv_line(&text, &names))?;
                    }
                    Format::Conll => {
                        let (block, lost) = conll::write_bio(&r);
                        losses.extend(lost);
                        self.main_text(&block)?;
                        if !block.ends_with("\n\n") {
                            self.main_text("\n")?;
                        }
                    }
                    _ => {
                        let (line, lost) = spans::write_line(&r);
                        losses.extend(lost);
                        self.main_line(&line)?;
                    }
                }
            }
        }
        Ok(losses)
    }

    /// Writes what is left (the single files, `obj.names`, `obj.data`).
    pub(super) async fn finish(self, app: &App) -> Result<()> {
        if let Some(coco) = self.coco {
            let file = coco
                .finish()
                .map_err(|e| Error::internal(format!("a temporary file: {e}")))?
                .into_inner()
                .map_err(|e| Error::internal(format!("a temporary file: {}", e.error())))?;
            upload_file(app, file, &self.dir.join("annotations.json")?).await?;
        }
        if self.format == Format::Yolo {
            app.objects
                .put(
                    &self.dir.join("obj.names")?,
                    ByteBuf::from(yolo::names(&self.class_names)),
                )
                .await?;
            app.objects
                .put(
                    &self.dir.join("obj.data")?,
                    ByteBuf::from(yolo::data(self.class_names.len())),
                )
                .await?;
        }
        if let Some(main) = self.main {
            main.upload(app).await?;
        }
        Ok(())
    }

    fn main_text(&mut self, s: &str) -> Result<()> {
        match self.main.as_mut() {
            Some(m) => m.write(s),
            None => Err(Error::internal("no single file for this format")),
        }
    }

    fn main_line(&mut self, line: &str) -> Result<()> {
        self.main_text(line)?;
        self.main_text("\n")
    }

    /// A file name for a sample in `folder`, its name made safe, with the sample id before it
    /// when the name (or, with `by_stem`, its stem) was used already in that folder.
    fn unique(&mut self, folder: &str, name: &str, id: &str, by_stem: bool) -> String {
        let safe = safe_name(name);
        let key = |n: &str| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            folder.hash(&mut h);
            (if by_stem { stem(n) } else { n }).to_lowercase().hash(&mut h);
            h.finish()
        };
        if self.used.insert(key(&safe)) {
            return safe;
        }
        let prefixed = format!("{}_{safe}", safe_name(id));
        self.used.insert(key(&prefixed));
        prefixed
    }
}

fn loss(r: &Record, kind: LossKind, reason: String) -> Loss {
    Loss {
        sample: r.key().to_string(),
        label: None,
        kind,
        reason,
    }
}

/// A name safe as one key segment: no `/`, `\` or control characters, no leading dot.
pub(super) fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let s = s.trim_start_matches('.');
    if s.is_empty() {
        "sample".into()
    } else {
        s.to_string()
    }
}

fn stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

fn file_part(source: &str) -> String {
    source.rsplit('/').next().unwrap_or(source).to_string()
}

/// Copies a sample's bytes to `to`; a source the server may not read is a loss, not a failure.
async fn copy_bytes(app: &App, bytes: &Bytes, to: &ObjectPath, r: &Record) -> Result<Vec<Loss>> {
    let dropped = |why: String| {
        Ok(vec![loss(
            r,
            LossKind::Dropped,
            format!("the sample's bytes are not in the export: {why}"),
        )])
    };
    match bytes {
        Bytes::Blob(sha) => {
            app.copy_blob(sha, to).await?;
            Ok(Vec::new())
        }
        Bytes::Text(t) => {
            app.objects.put(to, ByteBuf::from(t.clone().into_bytes())).await?;
            Ok(Vec::new())
        }
        Bytes::Reference(src) => {
            let Ok(from) = ObjectPath::parse("source", src) else {
                return dropped(format!("{src} is a URL, which the server never fetches"));
            };
            match app.objects.get(&from, app.limits.max_sample_bytes as u64).await {
                Ok(b) => {
                    app.objects.put(to, ByteBuf::from(b)).await?;
                    Ok(Vec::new())
                }
                Err(e) => dropped(format!("{src}: {}", e.message)),
            }
        }
    }
}

/// The text of a text sample, from the row, the blob store or the object store.
async fn text_of(app: &App, bytes: &Bytes) -> std::result::Result<String, String> {
    match bytes {
        Bytes::Text(t) => Ok(t.clone()),
        Bytes::Blob(sha) => match app.blobs.get(sha).await {
            Ok(Some(b)) => String::from_utf8(b).map_err(|_| "its text is not UTF-8".to_string()),
            Ok(None) => Err(format!("blob {sha} is missing")),
            Err(e) => Err(e.message),
        },
        Bytes::Reference(src) => {
            let from = ObjectPath::parse("source", src)
                .map_err(|_| format!("{src} is a URL, which the server never fetches"))?;
            let b = app
                .objects
                .get(&from, app.limits.max_sample_bytes as u64)
                .await
                .map_err(|e| format!("{src}: {}", e.message))?;
            String::from_utf8(b).map_err(|_| format!("{src} is not UTF-8"))
        }
    }
}
