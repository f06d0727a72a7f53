//! Sample filters: `label_name`/`label_type` and `search_conditions` parsed against the
//! dataset's labels into the label groups a store query matches. Pure parsing; no store.

use serde::Deserialize;
use teamlabel_api::enums::{DatasetType, LabelType};

use crate::datasets::labels::LabelDef;
use crate::error::{Error, Result};
use crate::query::parse_i64;
use crate::store::SampleQuery;

/// One condition of `search_conditions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchCondition {
    #[serde(default)]
    label_list: Option<SearchLabels>,
    #[serde(default)]
    sample_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchLabels {
    #[serde(default)]
    labels: Vec<SearchLabel>,
    #[serde(default)]
    op: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SearchLabel {
    name: Option<String>,
    #[serde(rename = "type", default)]
    label_type: Option<i64>,
}

/// The label group of a `label_name` (+ `label_type`) filter, `None` without a name. The type
/// is checked against the dataset type list, which the filter takes (it also allows 400 and 900).
pub fn label_name_filter(
    labels: &[LabelDef],
    name: Option<&str>,
    label_type: Option<&str>,
) -> Result<Option<Vec<i64>>> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let label_type = match label_type {
        None | Some("") => None,
        Some(s) => {
            let code = parse_i64("label_type", s)?;
            DatasetType::parse("label_type", code).map_err(Error::invalid)?;
            LabelType::from_code(code)
        }
    };
    Ok(Some(label_ids(labels, name, label_type)))
}

/// What `search_conditions` (a JSON list of conditions, AND-ed) asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub name: Option<String>,
    /// Two conditions naming different samples add an empty group: nothing can match.
    pub label_groups: Vec<crate::store::LabelGroup>,
}

impl SearchFilter {
    /// Adds the conditions to a sample query.
    pub fn apply_to(self, query: &mut SampleQuery) {
        query.label_groups.extend(self.label_groups);
        if self.name.is_some() {
            query.name = self.name;
        }
    }
}

/// Parses `search_conditions` against the dataset's labels. Supported condition keys:
/// `label_list` (`op` AND/OR over `labels` of `name` + optional `type`) and `sample_name`; any
/// other key is refused rather than silently ignored.
pub fn parse_search_conditions(raw: &str, labels: &[LabelDef]) -> Result<SearchFilter> {
    let conditions: Vec<SearchCondition> = serde_json::from_str(raw).map_err(|e| {
        Error::invalid(format!(
            "search_conditions must be a JSON list of conditions with label_list and sample_name: {e}"
        ))
    })?;
    let mut out = SearchFilter::default();
    for (i, c) in conditions.iter().enumerate() {
        if let Some(name) = &c.sample_name {
            if out.name.as_ref().is_some_and(|n| n != name) {
                out.label_groups.push(Vec::new());
            }
            out.name = Some(name.clone());
        }
        if let Some(list) = &c.label_list {
            let or = match list.op.as_deref() {
                None if list.labels.len() <= 1 => true,
                Some("OR") => true,
                Some("AND") => false,
                _ => {
                    return Err(Error::invalid(format!(
                        "search_conditions[{i}].label_list.op must be AND or OR (required with several labels)"
                    )))
                }
            };
            let mut groups: Vec<Vec<i64>> = Vec::new();
            for (j, l) in list.labels.iter().enumerate() {
                let name = l.name.as_deref().ok_or_else(|| {
                    Error::invalid(format!(
                        "search_conditions[{i}].label_list.labels[{j}].name is required"
                    ))
                })?;
                let t = match l.label_type {
                    Some(code) => Some(LabelType::parse("type", code).map_err(Error::invalid)?),
                    None => None,
                };
                groups.push(label_ids(labels, name, t));
            }
            if or {
                out.label_groups.push(groups.concat());
            } else {
                out.label_groups.extend(groups);
            }
        }
    }
    Ok(out)
}

/// Ids of the labels named `name` (of `label_type` when given); empty when none matches, which
/// makes the filter match no sample.
pub fn label_ids(labels: &[LabelDef], name: &str, label_type: Option<LabelType>) -> Vec<i64> {
    labels
        .iter()
        .filter(|l| l.name == name && label_type.is_none_or(|t| t == l.label_type))
        .map(|l| l.id)
        .collect()
}
