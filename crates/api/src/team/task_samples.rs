//! Team samples on the wire: a member's copy of a task's sample as answered, with who labeled
//! it, and the queries that list and read them. Shapes only: it must not decide who may see a
//! copy, touch storage or speak HTTP.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::enums::SampleType;
use crate::labels::SampleLabel;

/// A member a team sample is assigned to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LabelerView {
    pub email: String,
    pub worker_id: String,
    pub role: i32,
}

/// A team sample: one member's copy of one sample (DescribeSampleResp, team flavour).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkforceTaskSample {
    pub sample_id: String,
    pub sample_name: String,
    pub sample_type: SampleType,
    /// The copy's state: `__NONE__`, `__AUTO_ANNOTATION__`, `__UNREVIEWED__`, `__UNCHECK__`,
    /// `__WORKFORCE_SAMPLED_UNCHECK__`, `__WORKFORCE_SAMPLED_ACCEPTED__`,
    /// `__WORKFORCE_SAMPLED_REJECTED__`, `__ACCEPTED__` or `__REJECTED__`.
    pub sample_status: String,
    pub sample_time: i64,
    pub sample_size: i64,
    pub source: String,
    pub labels: Vec<SampleLabel>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// The member whose copy this is.
    pub worker_id: String,
    /// Every member the sample is assigned to.
    pub labelers: Vec<LabelerView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_usage: Option<String>,
    /// The text of a text sample (`sample_type` 1), as one element, when this server holds the
    /// text (uploaded as `data` or given as `content://`) and it is at most 65,536 bytes of
    /// UTF-8; absent for a longer text (read it at `source`), a text given by URL, and every
    /// sample that is not text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_data: Option<Vec<String>>,
    /// An addition: the copy's version, to send back for lost-update protection.
    pub version: i64,
    /// The latest reviewer verdict: true passed, false rejected (absent: not reviewed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_accept: Option<bool>,
    /// The reviewer's comment (why a copy was rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_comment: Option<String>,
    /// The reviewer's grade, A to D.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_score: Option<String>,
    /// The owner's latest verdict in an acceptance round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_accept: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_score: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListWorkforceTaskSamplesResponse {
    pub sample_count: u64,
    pub samples: Vec<WorkforceTaskSample>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWorkforceTaskSamplesQuery {
    #[param(value_type = Option<i64>)]
    pub offset: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// A team state (`__NONE__`, `__AUTO_ANNOTATION__`, `__UNREVIEWED__`, `__UNCHECK__`,
    /// `__WORKFORCE_SAMPLED_UNCHECK__`, `__WORKFORCE_SAMPLED_ACCEPTED__`,
    /// `__WORKFORCE_SAMPLED_REJECTED__`, `__ACCEPTED__`, `__REJECTED__`), or a group of them:
    /// `__WORKFORCE_SAMPLED__` (drawn into the open round), `__WORKFORCE_SAMPLED_CHECKED__`
    /// (drawn and judged), `__REVIEWED__` (the latest review passed), `__ALL__`; any case.
    pub sample_state: Option<String>,
    pub label_name: Option<String>,
    #[param(value_type = Option<i32>)]
    pub label_type: Option<String>,
    /// Conditions on the copies' labels (`label_list`).
    pub search_conditions: Option<String>,
    /// An addition: only this member's copies (owners, managers and reviewers).
    pub worker_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetWorkforceTaskSampleQuery {
    /// Whose copy; the first assigned member's when left out.
    pub worker_id: Option<String>,
}
