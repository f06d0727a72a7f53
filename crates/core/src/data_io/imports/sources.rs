//! What an import reads, turned into records for the sink: a manifest (streamed line by line,
//! with the VOC files its detection lines name), a COCO JSON file, or a directory in one of the
//! layouts of the manifest guide (section 8): label folders or `x.txt` beside each file
//! (classification), `x.xml` beside each image or a YOLO tree (detection and segmentation),
//! `text<TAB>labels` lines or `x_result.txt` files (text classification), and plain files or
//! lines (the other types, unlabeled). Nothing is read outside the object store, and a file
//! larger than the sample limit is skipped before it is read. A sync (`Sink::skip_known`) asks
//! the store which files of each listed page are samples already, and passes those over
//! without reading their label files.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use teamlabel_api::enums::{DatasetType, SampleType};
use teamlabel_api::labels::SampleLabel;
use teamlabel_formats::{classify, coco, text, voc, yolo, Record};

use crate::app::App;
use crate::data_io::imports::sink::{Incoming, Sink};
use crate::data_io::imports::{ImportPlan, ImportType};
use crate::data_io::lines::{manifest_record, LineReader, MAX_SIDE_FILE};
use crate::error::{codes, Error, Result};
use crate::objects::{ObjectMeta, ObjectPath};
use crate::store::DatasetRecord;

/// Objects listed per call: the local store reads a whole folder for each page, so pages larger
/// than S3's 1,000 make a large folder's listing cheaper, at a few hundred KiB a page.
pub(super) const LIST_PAGE: usize = 5000;

const IMAGE: &[&str] = &["jpg", "jpeg", "png", "bmp", "gif", "webp"];
const AUDIO: &[&str] = &["wav", "mp3", "flac", "ogg", "m4a", "aac"];
const VIDEO: &[&str] = &["mp4", "avi", "mov", "mkv", "webm"];
const TEXT: &[&str] = &["txt", "csv", "tsv"];

pub(super) async fn read(app: &App, d: &DatasetRecord, plan: &ImportPlan, sink: &mut Sink<'_>) -> Result<()> {
    let path = ObjectPath::parse("import_path", &plan.import_path)?;
    match plan.import_type {
        ImportType::Manifest => read_manifest(app, d, &path, sink).await,
        ImportType::Coco => read_coco(app, &path, sink).await,
        ImportType::Dir => read_dir(app, d, plan, &path, sink).await,
    }
}

/// The name a sample gets from where its bytes are: its storage key (bucket and key), or a
/// digest of its text, so the same file or text imported twice meets its own name.
fn name_of(source: &str) -> String {
    match source.strip_prefix("content://") {
        Some(text) => format!("text-{}", &hex::encode(Sha256::digest(text.as_bytes()))[..32]),
        None => source.split_once("://").map_or(source, |(_, rest)| rest).to_string(),
    }
}

/// `obs://bucket/key` for a storage path.
fn obs(p: &ObjectPath) -> String {
    p.with_header("obs://")
}

async fn read_manifest(app: &App, d: &DatasetRecord, path: &ObjectPath, sink: &mut Sink<'_>) -> Result<()> {
    let file = path.to_string();
    let dtype = i64::from(d.dataset_type.code());
    let mut lines = LineReader::open(app, path).await?;
    while let Some((n, bytes)) = lines.next().await? {
        let record = match manifest_record(app, dtype, &bytes).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(why) => {
                sink.skip(&file, Some(n), why);
                continue;
            }
        };
        let sample_type = record.sample_type.and_then(SampleType::from_code).unwrap_or_else(|| {
            if record.text().is_some() {
                SampleType::Text
            } else {
                SampleType::Image
            }
        });
        sink.push(Incoming {
            name: name_of(&record.source),
            sample_type,
            size: 0,
            file: file.clone(),
            line: Some(n),
            record,
        })
        .await?;
    }
    Ok(())
}

async fn read_coco(app: &App, path: &ObjectPath, sink: &mut Sink<'_>) -> Result<()> {
    let file = path.to_string();
    let bytes = app.objects.get(path, MAX_SIDE_FILE).await?;
    let parsed =
        coco::parse(&bytes).map_err(|e| Error::bad_request(codes::IMPORT_FAILED, format!("{file}: {}", e.reason)))?;
    for loss in &parsed.losses {
        sink.progress.issue(teamlabel_api::data_io::TaskIssue {
            path: Some(file.clone()),
            sample: Some(loss.sample.clone()),
            label: loss.label.clone(),
            kind: loss.kind.as_str().to_string(),
            reason: loss.reason.clone(),
            ..Default::default()
        });
    }
    let dir = path.parent();
    for mut r in parsed.records {
        let image = match dir.join(&r.source) {
            Ok(p) => p,
            Err(e) => {
                sink.skip(&file, None, format!("image {:?}: {}", r.source, e.message));
                continue;
            }
        };
        r.source = obs(&image);
        sink.push(Incoming {
            name: name_of(&r.source),
            sample_type: SampleType::Image,
            size: 0,
            file: file.clone(),
            line: None,
            record: r,
        })
        .await?;
    }
    Ok(())
}

/// The files of one stem in one folder (`x.jpg`, `x.txt`, `x.xml`), by extension.
struct Group {
    prefix: String,
    files: BTreeMap<String, ObjectMeta>,
}

async fn read_dir(
    app: &App,
    d: &DatasetRecord,
    plan: &ImportPlan,
    dir: &ObjectPath,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let dir = dir.as_dir();
    // A YOLO tree is known by its `obj.names`; only detection datasets read one.
    let yolo_names = if matches!(d.dataset_type, DatasetType::ObjectDetection) {
        match app.objects.get(&dir.join("obj.names")?, MAX_SIDE_FILE).await {
            Ok(bytes) => Some(
                yolo::parse_names(&String::from_utf8_lossy(&bytes))
                    .map_err(|e| Error::bad_request(codes::IMPORT_FAILED, format!("{}obj.names: {}", dir, e.reason)))?,
            ),
            Err(e) if e.code == codes::FILE_NOT_FOUND => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let mut open: Vec<Group> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app.objects.list(&dir, after.as_deref(), LIST_PAGE).await.map_err(|e| {
            if e.code == codes::INVALID_PATH || e.code == codes::BUCKET_NOT_FOUND {
                e
            } else {
                Error::bad_request(codes::IMPORT_LIST_FAILED, format!("List files failed: {}", e.message))
            }
        })?;
        let Some(last) = page.last() else { break };
        after = Some(last.path.key().to_string());
        let short = page.len() < LIST_PAGE;
        if sink.skip_known {
            let names: Vec<String> = page
                .iter()
                .filter(|m| media_of(d.dataset_type).contains(&split_ext(m.path.key()).1.as_str()))
                .filter_map(|m| m.path.relative_to(&dir).map(str::to_string))
                .collect();
            sink.known.extend(app.store.find_sample_names(&d.id, &names).await?);
        }
        for meta in page {
            let key = meta.path.key().to_string();
            // Groups whose stem prefix can no longer come back (keys arrive in order) are whole.
            let (whole, still): (Vec<Group>, Vec<Group>) = open
                .into_iter()
                .partition(|g| !key.starts_with(&g.prefix) && key.as_str() > g.prefix.as_str());
            open = still;
            for g in whole {
                dir_group(app, d, plan, &dir, g, yolo_names.as_deref(), sink).await?;
            }
            sink.progress.total_file_count += 1;
            sink.progress.total_file_size += meta.size;
            let (stem, ext) = split_ext(&key);
            let prefix = format!("{stem}.");
            match open.iter_mut().find(|g| g.prefix == prefix) {
                Some(g) => {
                    g.files.insert(ext, meta);
                }
                None => open.push(Group {
                    prefix,
                    files: BTreeMap::from([(ext, meta)]),
                }),
            }
        }
        if short {
            break;
        }
    }
    for g in open {
        dir_group(app, d, plan, &dir, g, yolo_names.as_deref(), sink).await?;
    }
    Ok(())
}

fn split_ext(key: &str) -> (String, String) {
    let name_at = key.rfind('/').map_or(0, |i| i + 1);
    match key[name_at..].rfind('.') {
        Some(i) if i > 0 => (
            key[..name_at + i].to_string(),
            key[name_at + i + 1..].to_ascii_lowercase(),
        ),
        _ => (key.to_string(), String::new()),
    }
}

fn media_of(t: DatasetType) -> &'static [&'static str] {
    match t.default_sample_type() {
        SampleType::Image => IMAGE,
        SampleType::Audio => AUDIO,
        SampleType::Video => VIDEO,
        SampleType::Text => TEXT,
        _ => &[],
    }
}

#[allow(clippy::too_many_arguments)]
async fn dir_group(
    app: &App,
    d: &DatasetRecord,
    plan: &ImportPlan,
    dir: &ObjectPath,
    g: Group,
    yolo_names: Option<&[String]>,
    sink: &mut Sink<'_>,
) -> Result<()> {
    let t = d.dataset_type;
    let media = media_of(t);
    // Text datasets: every text file holds samples, one a line.
    if t.default_sample_type() == SampleType::Text {
        for (ext, meta) in &g.files {
            if !TEXT.contains(&ext.as_str()) {
                sink.skip(&meta.path.to_string(), None, format!("not a text file (.{ext})"));
                continue;
            }
            if meta.path.key().ends_with("_result.txt") && plan.result_files {
                continue;
            }
            text_file(app, t, plan, meta, sink).await?;
            sink.progress.finished_file_count += 1;
            sink.progress.finished_file_size += meta.size;
        }
        return Ok(());
    }
    let Some((_, meta)) = g.files.iter().find(|(ext, _)| media.contains(&ext.as_str())) else {
        for (ext, meta) in &g.files {
            let companion = matches!(ext.as_str(), "txt" | "xml" | "names" | "data" | "json");
            if !companion {
                sink.skip(
                    &meta.path.to_string(),
                    None,
                    format!("not a sample file of this dataset type (.{ext})"),
                );
            }
        }
        return Ok(());
    };
    let rel = meta.path.relative_to(dir).unwrap_or(meta.path.key()).to_string();
    // A file that is a sample already is neither read again nor counted.
    if sink.known.remove(&rel) {
        sink.progress.total_file_count -= g.files.len() as u64;
        sink.progress.total_file_size -= g.files.values().map(|m| m.size).sum::<u64>();
        return Ok(());
    }
    let file = meta.path.to_string();
    if meta.size > app.limits.max_sample_bytes as u64 {
        sink.skip(
            &file,
            None,
            format!(
                "the file is {} bytes, larger than the sample limit of {} bytes",
                meta.size, app.limits.max_sample_bytes
            ),
        );
        return Ok(());
    }
    let mut record = Record::new(obs(&meta.path));
    let sibling = |e: &str| g.files.get(e).map(|m| m.path.clone());
    let wants_labels = plan.import_annotations;
    let outcome: std::result::Result<(), String> = async {
        match t {
            DatasetType::ImageClassification | DatasetType::SoundClassification if wants_labels => {
                let names = match sibling("txt") {
                    Some(txt) => classify::parse(&side_text(app, &txt).await?),
                    None => rel
                        .rsplit('/')
                        .nth(1)
                        .map(|folder| vec![folder.to_string()])
                        .unwrap_or_default(),
                };
                record.labels = names.into_iter().map(|n| class_label(t, n)).collect();
            }
            DatasetType::ObjectDetection | DatasetType::ImageSegmentation if wants_labels => {
                let header = image_size(app, &meta.path).await?;
                if let Some(xml) = sibling("xml") {
                    let doc = voc::parse(&side_text(app, &xml).await?).map_err(|e| format!("{xml}: {}", e.reason))?;
                    if let (Some([w, h, _]), Some([hw, hh, _])) = (doc.size, header) {
                        if (w, h) != (hw, hh) {
                            return Err(format!("{xml} says the image is {w}x{h} but its header says {hw}x{hh}"));
                        }
                    }
                    record.size = doc.size.or(header);
                    record.labels = doc.labels;
                } else if let (Some(names), Some(txt)) = (yolo_names, sibling("txt")) {
                    let size = header.ok_or("the image size cannot be read from its header")?;
                    record.size = Some(size);
                    record.labels = yolo::parse(&side_text(app, &txt).await?, names, size)
                        .map_err(|e| format!("{txt}: {}", e.reason))?;
                    if rel.starts_with("obj_train_data/") {
                        record.usage = Some("TRAIN".into());
                    } else if rel.starts_with("obj_valid_data/") {
                        record.usage = Some("EVAL".into());
                    }
                } else {
                    record.size = header;
                }
            }
            _ => {}
        }
        Ok(())
    }
    .await;
    if let Err(why) = outcome {
        sink.skip(&file, None, why);
        return Ok(());
    }
    sink.progress.finished_file_count += 1;
    sink.progress.finished_file_size += meta.size;
    sink.push(Incoming {
        name: rel,
        sample_type: t.default_sample_type(),
        size: meta.size,
        file,
        line: None,
        record,
    })
    .await?;
    Ok(())
}

fn class_label(t: DatasetType, name: String) -> SampleLabel {
    SampleLabel {
        name: Some(name),
        label_type: t.default_label_type().map(|l| i64::from(l.code())),
        ..SampleLabel::default()
    }
}

async fn side_text(app: &App, p: &ObjectPath) -> std::result::Result<String, String> {
    let bytes = app
        .objects
        .get(p, MAX_SIDE_FILE)
        .await
        .map_err(|e| format!("{p}: {}", e.message))?;
    String::from_utf8(bytes).map_err(|_| format!("{p}: not UTF-8"))
}

/// Width, height and depth from the image's header. The whole file is read (the store has no
/// ranged read), within the sample limit the caller checked.
async fn image_size(app: &App, p: &ObjectPath) -> std::result::Result<Option<[u32; 3]>, String> {
    let bytes = app
        .objects
        .get(p, app.limits.max_sample_bytes as u64)
        .await
        .map_err(|e| format!("{p}: {}", e.message))?;
    match imagesize::blob_size(&bytes) {
        Ok(s) => Ok(Some([s.width as u32, s.height as u32, 3])),
        Err(_) => Err(format!("{p}: not an image whose size can be read")),
    }
}

/// The samples of one text file: a line each (`text<SEP>labels` for text classification,
/// with the labels of `x_result.txt` when the plan says so).
async fn text_file(app: &App, t: DatasetType, plan: &ImportPlan, meta: &ObjectMeta, sink: &mut Sink<'_>) -> Result<()> {
    let file = meta.path.to_string();
    if meta.size > MAX_SIDE_FILE {
        sink.skip(
            &file,
            None,
            format!("the file is {} bytes, larger than {MAX_SIDE_FILE}", meta.size),
        );
        return Ok(());
    }
    let body = match side_text(app, &meta.path).await {
        Ok(b) => b,
        Err(why) => {
            sink.skip(&file, None, why);
            return Ok(());
        }
    };
    let classify_text = t == DatasetType::TextClassification && plan.import_annotations;
    let lines: Vec<(u64, String, Vec<String>)> = if classify_text && plan.result_files {
        let result = meta.path.key().strip_suffix(".txt").map(|s| format!("{s}_result.txt"));
        let results = match result.map(|k| ObjectPath::new(meta.path.bucket(), &k)) {
            Some(Ok(rp)) => side_text(app, &rp).await,
            _ => Err(format!(
                "{file}: a text file needs a .txt name to pair with its _result.txt"
            )),
        };
        match results.and_then(|r| text::pair(&body, &r, &plan.label_separator).map_err(|e| e.reason)) {
            Ok(pairs) => pairs.into_iter().zip(1..).map(|((t, l), n)| (n, t, l)).collect(),
            Err(why) => {
                sink.skip(&file, None, why);
                return Ok(());
            }
        }
    } else {
        let mut out = Vec::new();
        for (i, line) in body.lines().enumerate() {
            let n = i as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            if classify_text {
                match text::parse_combined_line(line, &plan.text_separator, &plan.label_separator) {
                    Ok((content, names)) => out.push((n, content, names)),
                    Err(e) => sink.skip(&file, Some(n), e.reason),
                }
            } else {
                out.push((n, line.to_string(), Vec::new()));
            }
        }
        out
    };
    for (n, content, names) in lines {
        let mut record = Record::new(format!("content://{content}"));
        record.labels = names.into_iter().map(|l| class_label(t, l)).collect();
        sink.push(Incoming {
            name: name_of(&record.source),
            sample_type: SampleType::Text,
            size: 0,
            file: file.clone(),
            line: Some(n),
            record,
        })
        .await?;
    }
    Ok(())
}
