//! Which samples an export writes, a page at a time: the working set scanned in store order
//! (by `export_type`, `sample_state` and `search_conditions`, the conditions OR-ed as the
//! provider documents them), the samples named in `export_params.samples` in their order, or
//! the lines of a published version's manifest.

use serde_json::Value;
use teamlabel_api::data_io::TaskIssue;
use teamlabel_api::enums::SampleStatus;
use teamlabel_formats::Record;

use crate::app::App;
use crate::data_io::exports::ExportPlan;
use crate::data_io::lines::{manifest_record, LineReader};
use crate::data_io::records::{bytes_of, record_of, Bytes};
use crate::data_io::PAGE;
use crate::error::{Error, Result};
use crate::objects::ObjectPath;
use crate::samples::search::parse_search_conditions;
use crate::store::{DatasetRecord, SampleQuery, SampleRecord};

/// One sample to write.
#[derive(Debug, Clone)]
pub(super) struct Item {
    /// The sample id (the manifest's `id` for a version line, else its line number).
    pub id: String,
    /// The sample's name, for the files written for it.
    pub name: String,
    pub bytes: Bytes,
    /// Its labels and values; `source` is set by the layout that writes it.
    pub record: Record,
}

/// A page of the scan being read ahead.
type Ahead = tokio::task::JoinHandle<Result<Vec<(i64, SampleRecord)>>>;

pub(super) enum Selection {
    /// The working set in store order; with `any_of`, only samples matching one of them.
    Working {
        query: SampleQuery,
        any_of: Vec<SampleQuery>,
        after: i64,
        /// The next page, read while the current one is written.
        ahead: Option<Ahead>,
    },
    /// The named samples, in the order named, that pass `query`'s states.
    Listed {
        ids: Vec<String>,
        at: usize,
        query: SampleQuery,
        any_of: Vec<SampleQuery>,
    },
    /// A version's manifest.
    Version {
        lines: Box<LineReader>,
        path: String,
        /// Keep labeled lines, unlabeled lines, or both.
        labeled: Option<bool>,
    },
}

impl Selection {
    pub(super) async fn open(app: &App, d: &DatasetRecord, plan: &ExportPlan) -> Result<(Selection, u64)> {
        if let Some(version_id) = &plan.version_id {
            let v = app.live_version(&d.id, version_id).await?;
            let path = ObjectPath::parse("manifest_path", &v.manifest_path)?;
            let (labeled, total) = match plan.export_type {
                0 => (Some(true), v.annotated_sample_count),
                1 => (Some(false), v.total_sample_count - v.annotated_sample_count),
                _ => (None, v.total_sample_count),
            };
            let lines = Box::new(LineReader::open(app, &path).await?);
            return Ok((
                Selection::Version {
                    lines,
                    path: path.to_string(),
                    labeled,
                },
                total.max(0) as u64,
            ));
        }
        let mut query = SampleQuery {
            ascending: true,
            statuses: match plan.export_type {
                0 => Some(vec![SampleStatus::ManualAnnotation, SampleStatus::AutoAnnotation]),
                1 => Some(vec![SampleStatus::UnAnnotation]),
                _ => None,
            },
            ..SampleQuery::default()
        };
        if let Some(state) = &plan.sample_state {
            query.statuses = Some(match state.as_str() {
                "__NONE__" => vec![SampleStatus::UnAnnotation],
                "__AUTO_ANNOTATION__" => vec![SampleStatus::AutoAnnotation],
                _ => vec![SampleStatus::ManualAnnotation, SampleStatus::AutoAnnotation],
            });
        }
        let labels = app.store.list_labels(&d.id).await?;
        let mut any_of = Vec::new();
        for (i, c) in plan.search_conditions.iter().enumerate() {
            let one = Value::Array(vec![c.clone()]).to_string();
            let filter = parse_search_conditions(&one, &labels).map_err(|e| {
                Error::bad_request(
                    crate::error::codes::EXPORT_BAD_PARAMETER,
                    format!("export_params.search_conditions[{i}]: {}", e.message),
                )
            })?;
            let mut q = query.clone();
            filter.apply_to(&mut q);
            any_of.push(q);
        }
        if !plan.samples.is_empty() {
            let total = plan.samples.len() as u64;
            return Ok((
                Selection::Listed {
                    ids: plan.samples.clone(),
                    at: 0,
                    query,
                    any_of,
                },
                total,
            ));
        }
        // With one condition the store filters; with several the scan reads the state's
        // samples and keeps those matching any, so the total is an upper bound until the end.
        let scan = if any_of.len() == 1 { any_of.remove(0) } else { query };
        let (total, _) = app
            .store
            .list_samples(
                &d.id,
                &SampleQuery {
                    limit: 1,
                    ..scan.clone()
                },
            )
            .await?;
        Ok((
            Selection::Working {
                query: scan,
                any_of,
                after: 0,
                ahead: None,
            },
            total,
        ))
    }

    /// The next page of samples to write, `None` at the end; lines of a version that cannot be
    /// read are listed as issues.
    pub(super) async fn next(
        &mut self,
        app: &App,
        d: &DatasetRecord,
        clear_hard: bool,
        issues: &mut Vec<TaskIssue>,
    ) -> Result<Option<Vec<Item>>> {
        match self {
            Selection::Working {
                query,
                any_of,
                after,
                ahead,
            } => loop {
                let page = match ahead.take() {
                    Some(h) => h
                        .await
                        .map_err(|e| Error::internal(format!("reading a page stopped: {e}")))??,
                    None => app.store.scan_samples(&d.id, query, *after, PAGE).await?,
                };
                let Some((last, _)) = page.last() else { return Ok(None) };
                *after = *last;
                if page.len() as u64 == PAGE {
                    let (store, id, q, from) = (app.store.clone(), d.id.clone(), query.clone(), *after);
                    *ahead = Some(tokio::spawn(
                        async move { store.scan_samples(&id, &q, from, PAGE).await },
                    ));
                }
                let items: Vec<Item> = page
                    .into_iter()
                    .filter(|(_, s)| any_of.is_empty() || any_of.iter().any(|q| matches(q, s)))
                    .map(|(_, s)| item_of(&s, clear_hard))
                    .collect();
                if !items.is_empty() {
                    return Ok(Some(items));
                }
            },
            Selection::Listed { ids, at, query, any_of } => {
                if *at >= ids.len() {
                    return Ok(None);
                }
                let chunk: Vec<String> = ids[*at..(*at + PAGE as usize).min(ids.len())].to_vec();
                *at += chunk.len();
                let found = app.store.load_samples(&d.id, &chunk).await?;
                let mut items = Vec::with_capacity(chunk.len());
                for id in &chunk {
                    match found.iter().find(|s| &s.id == id) {
                        Some(s) if matches(query, s) && (any_of.is_empty() || any_of.iter().any(|q| matches(q, s))) => {
                            items.push(item_of(s, clear_hard))
                        }
                        Some(_) => {}
                        None => issues.push(TaskIssue {
                            sample: Some(id.clone()),
                            kind: "dropped".into(),
                            reason: "no such sample in the dataset".into(),
                            ..TaskIssue::default()
                        }),
                    }
                }
                Ok(Some(items))
            }
            Selection::Version { lines, path, labeled } => {
                let dtype = i64::from(d.dataset_type.code());
                let mut items = Vec::new();
                while items.len() < PAGE as usize {
                    let Some((n, bytes)) = lines.next().await? else { break };
                    match manifest_record(app, dtype, &bytes).await {
                        Ok(Some(r)) => {
                            if labeled.is_some_and(|want| want == r.labels.is_empty()) {
                                continue;
                            }
                            items.push(item_of_line(n, r));
                        }
                        Ok(None) => {}
                        Err(why) => issues.push(TaskIssue {
                            path: Some(path.clone()),
                            line: Some(n),
                            kind: "dropped".into(),
                            reason: why,
                            ..TaskIssue::default()
                        }),
                    }
                }
                Ok(if items.is_empty() { None } else { Some(items) })
            }
        }
    }
}

/// Whether a sample passes a query's states, name and label groups (as the store would).
fn matches(q: &SampleQuery, s: &SampleRecord) -> bool {
    q.statuses.as_ref().is_none_or(|st| st.contains(&s.status))
        && q.name.as_ref().is_none_or(|n| n == &s.name)
        && q.sample_type.is_none_or(|t| t == s.sample_type)
        && q.label_groups
            .iter()
            .all(|g| s.labels.iter().any(|l| g.contains(&l.label_id)))
}

fn item_of(s: &SampleRecord, clear_hard: bool) -> Item {
    Item {
        id: s.id.clone(),
        name: s.name.clone(),
        bytes: bytes_of(s),
        record: record_of(s, String::new(), clear_hard),
    }
}

fn item_of_line(n: u64, mut r: Record) -> Item {
    let id = r.id.clone().unwrap_or_else(|| format!("line-{n}"));
    let (bytes, name) = match r.source.strip_prefix(teamlabel_formats::CONTENT_SCHEME) {
        Some(t) => (Bytes::Text(t.to_string()), format!("{id}.txt")),
        None => {
            let tail = r
                .source
                .rsplit('/')
                .next()
                .filter(|t| !t.is_empty())
                .unwrap_or("sample");
            (Bytes::Reference(r.source.clone()), tail.to_string())
        }
    };
    r.source = String::new();
    Item {
        id,
        name,
        bytes,
        record: r,
    }
}
