//! Review and acceptance on the wire: reviewer and owner verdicts (`SampleComment`), opening an
//! acceptance round, its report, closing it, and the agreement between labelers. Shapes only:
//! it must not decide states, draws or merges, touch storage or speak HTTP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::team::task_samples::WorkforceTaskSample;

/// A verdict on one member's copy of a sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleComment {
    /// `true` passes the copy, `false` rejects it.
    #[serde(default)]
    pub accept: Option<bool>,
    /// The sample judged.
    #[serde(default)]
    pub sample_id: Option<String>,
    /// The member whose copy is judged; required when the sample has several copies in the
    /// scope of the verdict.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// `A`, `B`, `C` or `D` (A best).
    #[serde(default)]
    pub score: Option<String>,
    /// Up to 256 characters, none of `!<>=&"'`; shown to the labeler on their copy.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Body of `POST .../data-annotations/review` and of `POST .../acceptance/batch-comment`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SampleCommentsRequest {
    /// One verdict per (sample, member); at most the batch limit.
    #[serde(default)]
    pub comments: Option<Vec<SampleComment>>,
}

/// Body of `POST .../acceptance`: give exactly one of `sampling_rate` and `sampling_num`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartAcceptanceRequest {
    /// Share of the copies waiting for acceptance to draw, in (0, 1].
    #[serde(default)]
    pub sampling_rate: Option<f64>,
    /// Number of copies to draw, at least 1; more than there are draws them all.
    #[serde(default)]
    pub sampling_num: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StartAcceptanceResponse {
    /// The round's id (`checking_task_id` of the report).
    pub task_id: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AcceptanceReportQuery {
    /// The round, as `POST .../acceptance` answered it.
    pub checking_task_id: Option<String>,
}

/// Counts of an acceptance round, or of all rounds so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckTaskStats {
    /// The round's id; empty in `total_stats`.
    pub task_id: String,
    /// As requested (in `total_stats`: sampled / total over all rounds).
    pub sampling_rate: f64,
    /// As requested, or the number drawn when a rate was given.
    pub sampling_num: i64,
    /// Copies in scope (waiting for acceptance when the round opened).
    pub total_sample_count: i64,
    /// Copies drawn.
    pub sampled_sample_count: i64,
    /// Drawn and judged by the owner.
    pub checked_sample_count: i64,
    /// Drawn, not judged yet.
    pub unchecked_sample_count: i64,
    /// Judged pass.
    pub accepted_sample_count: i64,
    /// Judged reject.
    pub rejected_sample_count: i64,
    /// accepted / checked, 0 when nothing is checked.
    pub pass_rate: f64,
    /// The grade of the mean score of the judged copies (A 4 .. D 1 points), `E` when no
    /// judged copy has a score.
    pub score: String,
    /// The sum of the judged copies' points (A 4, B 3, C 2, D 1).
    pub total_score: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AcceptanceReport {
    /// The round asked for, live while it is open.
    pub checking_stats: CheckTaskStats,
    /// Every round of the task so far, this one included.
    pub total_stats: CheckTaskStats,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdateAcceptanceQuery {
    /// `en-us` (default) or `zh-cn`: the language of the answer's texts.
    pub locale: Option<String>,
}

/// Body of `PUT .../acceptance/status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAcceptanceRequest {
    /// 0 all pass, 1 all rejected, 2 cancel the round, 3 list the samples whose copies conflict
    /// (no change), 4 drawn-and-rejected stay rejected and the rest pass, 5 only drawn-and-passed
    /// pass and the rest are rejected.
    #[serde(default)]
    pub action: Option<i64>,
    /// For samples the dataset already labels: `true` replaces their labels with the team's,
    /// `false` (default) keeps the dataset's.
    #[serde(default)]
    pub overwrite_last_result: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateAcceptanceResponse {
    /// Action 3: the number of copies listed. Other actions: the number of samples whose
    /// labels were written to the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_count: Option<u64>,
    /// Action 3: every copy of each sample whose copies conflict, so the owner can settle it
    /// (pass one member's copy by `worker_id` and reject the others, or reject them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<WorkforceTaskSample>>,
    /// Actions 0, 1, 4, 5: copies accepted, rejected, and held back because their sample's
    /// copies conflict; samples whose labels reached the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<AcceptanceResult>,
}

/// What closing a round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AcceptanceResult {
    pub accepted_copy_count: u64,
    pub rejected_copy_count: u64,
    /// Copies that would pass but whose sample's copies conflict: back to `__UNCHECK__`.
    pub conflict_copy_count: u64,
    /// Samples whose merged labels were written to the dataset.
    pub synced_sample_count: u64,
    /// Samples the dataset already labeled and kept (`overwrite_last_result` false).
    pub kept_sample_count: u64,
    /// The task's status afterwards.
    pub task_status: i32,
    /// What happened, in the asked `locale`.
    pub message: String,
}

/// An agreement figure and the number of samples it rests on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgreementFigure {
    /// None when no sample has two copies of this kind of label.
    pub value: Option<f64>,
    pub sample_count: u64,
}

/// Agreement between the labelers of one set of samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgreementFigures {
    /// Krippendorff's alpha (nominal) over the copies' classification labels.
    pub classification_alpha: AgreementFigure,
    /// Mean pairwise F1 of IoU-matched boxes.
    pub detection_f1: AgreementFigure,
    /// Mean pairwise F1 of entity spans (same start, end and label).
    pub entity_f1: AgreementFigure,
}

/// Answer of `GET .../workforce-tasks/{id}/agreement`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskAgreement {
    /// The IoU threshold boxes were matched with.
    pub iou_threshold: f64,
    pub task: AgreementFigures,
    /// Per labeler (by worker id): figures over the samples they labeled.
    pub workers: BTreeMap<String, AgreementFigures>,
}
