//! Dataset versions (`.../versions`): publishing freezes the dataset's samples and labels into
//! a ModelArts manifest under `{dataset root}annotation/{version}/{version}.manifest`, with the
//! train/eval split drawn reproducibly, and makes the version current. Publishing runs in the
//! background; the version is `0` (creating) until the manifest is whole.
//!
//! The split: of the labeled samples, `round(ratio × labeled)` are `TRAIN` and the rest `EVAL`,
//! chosen by selection sampling (Knuth's Algorithm S) over the samples in store order with
//! SplitMix64 seeded from the version id, so the same version id and samples give the same
//! split. With `remove_sample_usage` false a sample keeps a usage it already has.

use bytes::Bytes as ByteBuf;
use serde_json::{json, Value};
use teamlabel_api::data_io::{
    CreateVersionRequest, CreateVersionResponse, DatasetVersion, ListVersionsQuery, ListVersionsResponse,
};
use teamlabel_api::datasets::LabelStats;
use teamlabel_api::enums::DatasetType;
use teamlabel_formats::{manifest, voc};

use crate::app::App;
use crate::clock::now_ms;
use crate::data_io::records::{bytes_of, file_name, record_of, Bytes};
use crate::data_io::tasks::public_message;
use crate::data_io::{dataset_root, PAGE};
use crate::datasets::label_changes::version_not_found;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::ids::{is_plausible_id, new_alnum19};
use crate::objects::{ObjectPath, ObjectWriter};
use crate::query::{parse_i64, parse_page};
use crate::store::{version_status, DatasetRecord, SampleQuery, VersionDone, VersionQuery, VersionRecord};
use crate::team::acceptance::draw::SplitMix64;
use crate::text::{check_description, check_name};

/// Bytes of manifest lines gathered before they are handed to the object store.
const CHUNK: usize = 1 << 20;

/// The publishing options a version keeps.
#[derive(Debug, Clone, Copy)]
struct Options {
    clear_hard_property: bool,
    remove_sample_usage: bool,
}

impl App {
    pub async fn create_version(
        &self,
        p: &Principal,
        dataset_id: &str,
        req: &CreateVersionRequest,
    ) -> Result<CreateVersionResponse> {
        policy::authorize(p, Op::CreateVersion, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let format = req.version_format.as_deref().unwrap_or("Default");
        if format != "Default" {
            return Err(Error::bad_request(
                codes::UNSUPPORTED_OPERATION,
                format!("version_format {format:?} is a table format; only Default (a manifest) is supported"),
            ));
        }
        if req.export_images == Some(true) {
            return Err(Error::invalid(
                "export_images: copying images into a version is not supported; the manifest points at them",
            ));
        }
        if req.with_column_header == Some(false) {
            return Err(Error::invalid("with_column_header applies to table versions only"));
        }
        if matches!(d.dataset_type, DatasetType::Table) {
            return Err(Error::bad_request(
                codes::UNSUPPORTED_OPERATION,
                "table datasets have no manifest versions",
            ));
        }
        let description = req.description.clone().unwrap_or_default();
        check_description("description", &description)?;
        let ratio_text = req.train_evaluate_sample_ratio.clone().unwrap_or_else(|| "1.00".into());
        let ratio = parse_ratio("train_evaluate_sample_ratio", &ratio_text)?;
        let summary = self.store.version_summary(dataset_id).await?;
        let (creating, _) = self
            .store
            .list_versions(
                dataset_id,
                &VersionQuery {
                    status: Some(version_status::CREATING),
                    limit: 1,
                    ..VersionQuery::default()
                },
            )
            .await?;
        if creating > 0 {
            return Err(Error::bad_request(
                codes::VERSION_PUBLISHING,
                "The dataset is publishing a version; wait until it is done",
            ));
        }
        let num = summary.next_num;
        let name = match &req.version_name {
            Some(n) => {
                check_name("version_name", n, 1, 32)?;
                n.clone()
            }
            None => format!("V{num:03}"),
        };
        let options = Options {
            clear_hard_property: req.clear_hard_property.unwrap_or(true),
            remove_sample_usage: req.remove_sample_usage.unwrap_or(true),
        };
        let dir = dataset_root(&d)?.join(&format!("annotation/{name}/"))?;
        let now = now_ms();
        let v = VersionRecord {
            id: new_alnum19(),
            dataset_id: d.id.clone(),
            num,
            name: name.clone(),
            previous_id: summary.current_id.clone(),
            status: version_status::CREATING,
            is_current: false,
            format: format.into(),
            description,
            train_ratio: ratio_text,
            options: json!({
                "clear_hard_property": options.clear_hard_property,
                "remove_sample_usage": options.remove_sample_usage,
                "export_images": false,
            }),
            manifest_path: dir.join(&format!("{name}.manifest"))?.to_string(),
            data_path: dir.join("data/")?.to_string(),
            total_sample_count: 0,
            annotated_sample_count: 0,
            label_stats: json!([]),
            message: None,
            create_time: now,
            update_time: now,
        };
        self.store.insert_version(&v).await?;
        let app = self.clone();
        let version_id = v.id.clone();
        tokio::spawn(async move { app.publish(d, v, ratio, options).await });
        Ok(CreateVersionResponse { version_id })
    }

    pub async fn list_versions(
        &self,
        p: &Principal,
        dataset_id: &str,
        q: &ListVersionsQuery,
    ) -> Result<ListVersionsResponse> {
        policy::authorize(p, Op::ListVersions, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let page = parse_page(q.offset.as_deref(), q.limit.as_deref(), 1000, 1000)?;
        let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => {
                let n = parse_i64("status", s)?;
                if !(0..=4).contains(&n) {
                    return Err(Error::invalid(format!("status must be 0 to 4, got {n}")));
                }
                Some(n as i32)
            }
            None => None,
        };
        let format = match q.version_format.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some("0") => Some("Default".to_string()),
            Some("1") => Some("CarbonData".to_string()),
            Some("2") => Some("CSV".to_string()),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "version_format must be 0, 1 or 2, got {other:?}"
                )))
            }
        };
        let ratio_range = match q.train_evaluate_ratio.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let (lo, hi) = s
                    .split_once(',')
                    .ok_or_else(|| Error::invalid(format!("train_evaluate_ratio must be \"min,max\", got {s:?}")))?;
                Some((
                    parse_ratio("train_evaluate_ratio", lo)?,
                    parse_ratio("train_evaluate_ratio", hi)?,
                ))
            }
        };
        let query = VersionQuery {
            status,
            format,
            offset: if ratio_range.is_some() { 0 } else { page.offset },
            limit: if ratio_range.is_some() {
                u64::MAX / 2
            } else {
                page.limit
            },
        };
        let (mut total, mut rows) = self.store.list_versions(dataset_id, &query).await?;
        if let Some((lo, hi)) = ratio_range {
            // The ratio is kept as given (a string), so this filter runs here; a dataset has
            // few versions.
            rows.retain(|v| parse_ratio("", &v.train_ratio).is_ok_and(|r| r >= lo && r <= hi));
            total = rows.len() as u64;
            let skip = page.offset.saturating_mul(page.limit) as usize;
            rows = rows.into_iter().skip(skip).take(page.limit as usize).collect();
        }
        Ok(ListVersionsResponse {
            total_number: total,
            versions: rows.iter().map(|v| version_to_api(&d, v, false)).collect(),
        })
    }

    pub async fn get_version(&self, p: &Principal, dataset_id: &str, version_id: &str) -> Result<DatasetVersion> {
        policy::authorize(p, Op::GetVersion, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let v = self.live_version(dataset_id, version_id).await?;
        Ok(version_to_api(&d, &v, true))
    }

    pub async fn delete_version(&self, p: &Principal, dataset_id: &str, version_id: &str) -> Result<()> {
        policy::authorize(p, Op::DeleteVersion, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let v = self.live_version(dataset_id, version_id).await?;
        if v.status == version_status::CREATING {
            return Err(Error::bad_request(
                codes::VERSION_DELETE_FAILED,
                "Dataset version delete failed: it is still being published",
            ));
        }
        if !self.store.delete_version(dataset_id, version_id, now_ms()).await? {
            return Err(version_not_found(version_id));
        }
        // The files go after the row: a failure leaves files nobody lists, never a listed
        // version without its manifest.
        let dir = dataset_root(&d)?.join(&format!("annotation/{}/", v.name))?;
        if let Err(e) = self.objects.delete(&dir).await {
            tracing::warn!(version = %v.id, error = %e, "the files of a deleted version were not all removed");
        }
        Ok(())
    }

    /// A version that is not deleted, else `4353`.
    pub(crate) async fn live_version(&self, dataset_id: &str, version_id: &str) -> Result<VersionRecord> {
        if !is_plausible_id(version_id) {
            return Err(version_not_found(version_id));
        }
        match self.store.get_version(dataset_id, version_id).await? {
            Some(v) if v.status != version_status::DELETED => Ok(v),
            _ => Err(version_not_found(version_id)),
        }
    }

    /// Writes the manifest, then marks the version normal (and current) or failed.
    async fn publish(&self, d: DatasetRecord, v: VersionRecord, ratio: f64, options: Options) {
        let done = match self.write_version(&d, &v, ratio, options).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(version = %v.id, error = %e, "publishing a version failed");
                VersionDone {
                    dataset_id: v.dataset_id.clone(),
                    id: v.id.clone(),
                    status: version_status::ERROR,
                    total_sample_count: 0,
                    annotated_sample_count: 0,
                    label_stats: json!([]),
                    message: Some(format!("{}: {}", codes::VERSION_PUBLISH_FAILED, public_message(&e))),
                    update_time: now_ms(),
                }
            }
        };
        if let Err(e) = self.store.finish_version(&done).await {
            tracing::warn!(version = %v.id, error = %e, "the end of publishing a version was not recorded");
        }
    }

    async fn write_version(&self, d: &DatasetRecord, v: &VersionRecord, ratio: f64, o: Options) -> Result<VersionDone> {
        let manifest_path = ObjectPath::parse("manifest_path", &v.manifest_path)?;
        let data_dir = ObjectPath::parse("data_path", &v.data_path)?;
        let xml_dir = manifest_path.parent().join("annotations/")?;
        let labels = self.store.list_labels(&d.id).await?;
        let counts = self.store.sample_counts(std::slice::from_ref(&d.id)).await?;
        let labeled_total = counts.get(&d.id).map_or(0, |c| c.annotated()) as i64;
        let train_total = (ratio * labeled_total as f64).round() as i64;
        let mut split = Split::new(seed_of(&v.id), train_total, labeled_total);
        let mut stats = vec![(0i64, 0i64); labels.len()];
        let (mut total, mut labeled, mut multi) = (0i64, 0i64, false);

        let mut writer = self.objects.writer(&manifest_path).await?;
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        let mut after = 0;
        let result: Result<()> = async {
            loop {
                let page = self
                    .store
                    .scan_samples(&d.id, &SampleQuery::default(), after, PAGE)
                    .await?;
                let Some((last, _)) = page.last() else { break };
                after = *last;
                // The heartbeat that keeps the restart rule from failing a long publishing.
                if !self.store.touch_version(&d.id, &v.id, now_ms()).await? {
                    return Err(Error::bad_request(
                        codes::VERSION_PUBLISH_FAILED,
                        "the version stopped being published (it was failed or deleted meanwhile)",
                    ));
                }
                for (_, s) in &page {
                    total += 1;
                    let source = match bytes_of(s) {
                        Bytes::Reference(r) => r,
                        Bytes::Text(t) => format!("content://{t}"),
                        Bytes::Blob(sha) => {
                            let to = data_dir.join(&file_name(s, true))?;
                            self.copy_blob(&sha, &to).await?;
                            to.with_header("obs://")
                        }
                    };
                    let mut r = record_of(s, source, o.clear_hard_property);
                    if s.labels.is_empty() {
                        r.usage = None;
                    } else {
                        labeled += 1;
                        multi |= s.labels.len() > 1;
                        let keep = !o.remove_sample_usage && r.usage.is_some();
                        let drawn = split.next();
                        if !keep {
                            r.usage = Some(if drawn { "TRAIN" } else { "EVAL" }.into());
                        }
                        let mut seen = vec![false; labels.len()];
                        for l in &s.labels {
                            if let Some(i) = labels.iter().position(|x| x.id == l.label_id) {
                                stats[i].0 += 1;
                                if !std::mem::replace(&mut seen[i], true) {
                                    stats[i].1 += 1;
                                }
                            }
                        }
                    }
                    let loc = if has_shapes(d.dataset_type) && !r.labels.is_empty() {
                        let at = xml_dir.join(&format!("{}.xml", s.id))?;
                        let (xml, _) = voc::write(&r, &file_name(s, false), "NA");
                        self.objects.put(&at, ByteBuf::from(xml)).await?;
                        Some(at.with_header("obs://"))
                    } else {
                        None
                    };
                    let line = manifest::write_line(&r, i64::from(d.dataset_type.code()), "obs://", loc.as_deref());
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                    if buf.len() >= CHUNK {
                        writer.write(ByteBuf::from(std::mem::take(&mut buf))).await?;
                    }
                }
            }
            if !buf.is_empty() {
                writer.write(ByteBuf::from(std::mem::take(&mut buf))).await?;
            }
            Ok(())
        }
        .await;
        finish(writer, result).await?;
        let label_stats: Vec<LabelStats> = labels
            .iter()
            .zip(&stats)
            .map(|(l, (count, samples))| LabelStats::new(l.to_api(), *count as u64, *samples as u64))
            .collect();
        let stats_value = serde_json::to_value(label_stats).unwrap_or(Value::Array(Vec::new()));
        Ok(VersionDone {
            dataset_id: d.id.clone(),
            id: v.id.clone(),
            status: version_status::NORMAL,
            total_sample_count: total,
            annotated_sample_count: labeled,
            label_stats: json!({"labels": stats_value, "multi": multi}),
            message: None,
            update_time: now_ms(),
        })
    }

    /// Copies a blob's bytes to a path of the object store.
    pub(crate) async fn copy_blob(&self, sha256: &str, to: &ObjectPath) -> Result<()> {
        let bytes = self
            .blobs
            .get(sha256)
            .await?
            .ok_or_else(|| Error::internal(format!("blob {sha256} is missing from the blob store")))?;
        self.objects.put(to, ByteBuf::from(bytes)).await
    }
}

/// Finishes a writer after a successful write, or aborts it (keeping the first error).
pub(crate) async fn finish(writer: Box<dyn ObjectWriter>, result: Result<()>) -> Result<()> {
    match result {
        Ok(()) => writer.finish().await,
        Err(e) => {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "an object being written was not aborted cleanly");
            }
            Err(e)
        }
    }
}

pub(crate) fn has_shapes(t: DatasetType) -> bool {
    matches!(
        t,
        DatasetType::ObjectDetection | DatasetType::ImageSegmentation | DatasetType::Video
    )
}

/// A ratio in [0, 1], as a decimal string.
pub(crate) fn parse_ratio(field: &str, s: &str) -> Result<f64> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(Error::invalid(format!(
            "{field} must be a number from 0 to 1, got {s:?}"
        ))),
    }
}

/// The seed of a version's split: FNV-1a of its id.
pub(crate) fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Selection sampling: picks `want` of `of` items met one by one, each subset equally likely.
pub(crate) struct Split {
    rng: SplitMix64,
    want: i64,
    of: i64,
    picked: i64,
    seen: i64,
}

impl Split {
    pub(crate) fn new(seed: u64, want: i64, of: i64) -> Self {
        Self {
            rng: SplitMix64(seed),
            want,
            of,
            picked: 0,
            seen: 0,
        }
    }

    /// Whether the next item is picked. Items beyond `of` (the set grew meanwhile) are picked
    /// while the share picked so far is below the wanted share.
    pub(crate) fn next(&mut self) -> bool {
        let left = self.of - self.seen;
        let pick = if left > 0 {
            let u = (self.rng.next() >> 11) as f64 / (1u64 << 53) as f64;
            (left as f64) * u < (self.want - self.picked) as f64
        } else {
            (self.picked as f64) < (self.want as f64 / self.of.max(1) as f64) * (self.seen + 1) as f64
        };
        self.seen += 1;
        self.picked += i64::from(pick);
        pick
    }
}

pub(crate) fn version_to_api(d: &DatasetRecord, v: &VersionRecord, with_stats: bool) -> DatasetVersion {
    let option = |k: &str| v.options.get(k).and_then(Value::as_bool).unwrap_or(false);
    let stats = v.label_stats.get("labels").cloned().unwrap_or(Value::Array(Vec::new()));
    let multi = v.label_stats.get("multi").and_then(Value::as_bool);
    DatasetVersion {
        version_id: v.id.clone(),
        version_name: v.name.clone(),
        version_format: v.format.clone(),
        previous_version_id: v.previous_id.clone(),
        status: v.status,
        create_time: v.create_time,
        update_time: v.update_time,
        is_current: v.is_current,
        description: v.description.clone(),
        total_sample_count: v.total_sample_count,
        annotated_sample_count: v.annotated_sample_count,
        manifest_path: v.manifest_path.clone(),
        data_path: v.data_path.clone(),
        train_evaluate_sample_ratio: v.train_ratio.clone(),
        remove_sample_usage: option("remove_sample_usage"),
        clear_hard_property: option("clear_hard_property"),
        export_images: option("export_images"),
        task_type: d.dataset_type.code(),
        label_type: multi.map(|m| if m { "multi" } else { "single" }.to_string()),
        label_stats: with_stats.then(|| serde_json::from_value(stats).unwrap_or_default()),
        message: v.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_picks_exactly_the_share_and_repeats() {
        let picks = |seed| {
            let mut s = Split::new(seed, 30, 100);
            (0..100).map(|_| s.next()).collect::<Vec<_>>()
        };
        let a = picks(7);
        assert_eq!(a.iter().filter(|p| **p).count(), 30);
        assert_eq!(a, picks(7));
        assert_ne!(a, picks(8));
        let mut all = Split::new(1, 5, 5);
        assert!((0..5).all(|_| all.next()));
        let mut none = Split::new(1, 0, 5);
        assert!((0..5).all(|_| !none.next()));
    }

    #[test]
    fn the_split_keeps_its_share_when_the_set_grew() {
        let mut s = Split::new(3, 5, 10);
        let picked = (0..20).filter(|_| s.next()).count();
        assert_eq!(picked, 10);
    }

    #[test]
    fn ratios_are_from_zero_to_one() {
        assert_eq!(parse_ratio("r", "0.8").unwrap(), 0.8);
        assert_eq!(parse_ratio("r", "1.00").unwrap(), 1.0);
        assert!(parse_ratio("r", "1.5").is_err());
        assert!(parse_ratio("r", "x").is_err());
        assert_ne!(seed_of("a"), seed_of("b"));
    }
}
