//! What an import or export shows: progress on standard error while the task runs (a bar on a
//! terminal; elsewhere a plain line every couple of seconds, which a log or CI keeps readable),
//! and at the end a summary on standard output, with the first issues and whether anything was
//! lost.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use teamlabel_api::data_io::{ExportTask, ImportTask, TaskIssue};

/// Issues printed in the summary; the task lists up to 1,000, the export report all of them.
pub const SHOWN_ISSUES: usize = 10;

/// Time between plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    mode: Mode,
}

enum Mode {
    Bar(ProgressBar),
    Lines { last: Option<Instant> },
}

/// What a progress display counts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Samples, towards a total known from the start (an export).
    Samples,
    /// Samples with no total ahead (an import learns its total as it reads).
    SamplesSoFar,
    /// Bytes of a download, towards its length when the server sent one.
    Bytes { total: bool },
}

impl Progress {
    /// A bar (or a spinner, without a total) when standard error is a terminal, plain lines
    /// otherwise.
    pub fn new(prefix: &str, unit: Unit) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                mode: Mode::Lines { last: None },
            };
        }
        let template = match unit {
            Unit::Samples => "{prefix} [{elapsed_precise}] [{wide_bar}] {pos}/{len} {msg}",
            Unit::SamplesSoFar => "{spinner} {prefix} [{elapsed_precise}] {pos} samples processed, {msg}",
            Unit::Bytes { total: true } => {
                "{prefix} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec})"
            }
            Unit::Bytes { total: false } => "{spinner} {prefix} [{elapsed_precise}] {bytes} ({bytes_per_sec})",
        };
        let style = ProgressStyle::with_template(template)
            .expect("the templates are valid")
            .progress_chars("=> ");
        let bar = ProgressBar::new(0).with_style(style).with_prefix(prefix.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { mode: Mode::Bar(bar) }
    }

    /// Moves to `done` of `total`; `short` goes beside the bar, `line()` is the plain line.
    pub fn update(&mut self, done: u64, total: u64, short: &str, line: impl FnOnce() -> String) {
        match &mut self.mode {
            Mode::Bar(bar) => {
                bar.set_length(total.max(done));
                bar.set_position(done);
                bar.set_message(short.to_string());
            }
            Mode::Lines { last } => {
                if last.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
                    eprintln!("{}", line());
                    *last = Some(Instant::now());
                }
            }
        }
    }

    /// Ends the display: the bar is cleared (the summary follows), the plain line is written
    /// once more so a log always ends on the final counts.
    pub fn finish(self, line: &str) {
        match self.mode {
            Mode::Bar(bar) => bar.finish_and_clear(),
            Mode::Lines { .. } => eprintln!("{line}"),
        }
    }
}

pub fn import_counts(t: &ImportTask) -> String {
    format!(
        "{}/{} samples processed, {} imported, {} skipped",
        t.processed_sample_count, t.total_sample_count, t.imported_sample_count, t.skipped_sample_count
    )
}

pub fn import_line(t: &ImportTask) -> String {
    format!("import {}: {}, {}", t.task_id, t.status, import_counts(t))
}

pub fn export_counts(t: &ExportTask) -> String {
    format!(
        "{}/{} samples written; labels: {} dropped, {} converted",
        t.finished_sample_count, t.total_sample_count, t.dropped_label_count, t.converted_label_count
    )
}

pub fn export_line(t: &ExportTask) -> String {
    format!(
        "export {}: {} {:.1}%, {}",
        t.task_id,
        t.status,
        t.progress,
        export_counts(t)
    )
}

/// What an import lost: samples skipped, labels dropped, and with `strict` labels converted.
/// `None` when it lost nothing. Issues past the listed ones are of unknown kind and counted as
/// losses: an exit status of 0 must never hide one.
pub fn import_losses(t: &ImportTask, strict: bool) -> Option<String> {
    let kind = |k: &str| t.issues.iter().filter(|i| i.kind == k).count() as u64;
    let unlisted = t.issue_count.saturating_sub(t.issues.len() as u64);
    let mut parts = Vec::new();
    if t.skipped_sample_count > 0 {
        parts.push(plural(
            t.skipped_sample_count,
            "sample was skipped",
            "samples were skipped",
        ));
    }
    if kind("dropped") > 0 {
        parts.push(plural(kind("dropped"), "label was dropped", "labels were dropped"));
    }
    if strict && kind("converted") > 0 {
        parts.push(plural(
            kind("converted"),
            "label was converted",
            "labels were converted",
        ));
    }
    if unlisted > 0 && parts.is_empty() {
        parts.push(plural(unlisted, "issue is not listed", "issues are not listed"));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// What an export lost: labels the format could not hold, samples not written, and with
/// `strict` labels written in another form (a polygon as its bounding box).
pub fn export_losses(t: &ExportTask, strict: bool) -> Option<String> {
    let mut parts = Vec::new();
    if t.dropped_label_count > 0 {
        parts.push(plural(
            t.dropped_label_count,
            "label was dropped",
            "labels were dropped",
        ));
    }
    if strict && t.converted_label_count > 0 {
        parts.push(plural(
            t.converted_label_count,
            "label was converted",
            "labels were converted",
        ));
    }
    let unwritten = t.total_sample_count.saturating_sub(t.finished_sample_count);
    if unwritten > 0 {
        parts.push(plural(unwritten, "sample was not written", "samples were not written"));
    }
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// The summary of an ended import.
pub fn import_summary(t: &ImportTask) -> String {
    let mut out = format!(
        "import {} {} after {} s: {}\n",
        t.task_id,
        t.status,
        t.elapsed_time,
        import_counts(t)
    );
    out += &format!(
        "  from {} into dataset {}\n  {} with labels, {} placed, {} created\n",
        t.import_path,
        t.dataset_id,
        plural(t.annotated_sample_count, "sample", "samples"),
        plural(t.imported_label_count, "label", "labels"),
        plural(t.created_label_count, "label", "labels"),
    );
    out += &issues(&t.issues, t.issue_count, None);
    out
}

/// The summary of an ended export.
pub fn export_summary(t: &ExportTask) -> String {
    let mut out = format!("export {} {}: {}\n", t.task_id, t.status, export_counts(t));
    out += &format!("  dataset {} as {} to {}\n", t.dataset_id, t.annotation_format, t.path);
    if let Some(report) = &t.report_path {
        out += &format!("  report (every dropped or converted label): {report}\n");
    }
    if let Some(id) = &t.new_dataset_id {
        out += &format!("  new dataset: {id}\n");
    }
    out += &issues(&t.issues, t.issue_count, t.report_path.as_deref());
    out
}

/// The first issues, one a line, and where the rest are.
fn issues(listed: &[TaskIssue], count: u64, report: Option<&str>) -> String {
    if count == 0 {
        return String::new();
    }
    let mut out = format!("{}:\n", plural(count, "issue", "issues"));
    for i in listed.iter().take(SHOWN_ISSUES) {
        out += &format!("  {}\n", issue_line(i));
    }
    let shown = listed.len().min(SHOWN_ISSUES) as u64;
    if count > shown {
        let rest = count - shown;
        out += &match report {
            Some(r) => format!("  ... and {rest} more, all of them in {r}\n"),
            None => format!(
                "  ... and {rest} more (the task lists the first {}: GET .../import-tasks/{{task_id}})\n",
                listed.len()
            ),
        };
    }
    out
}

/// `path:line (sample S, label L): kind: reason`, with whichever of them the issue has.
pub fn issue_line(i: &TaskIssue) -> String {
    let mut at = match (&i.path, i.line) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p.clone(),
        (None, _) => String::new(),
    };
    let mut about = Vec::new();
    if let Some(s) = &i.sample {
        about.push(format!("sample {s}"));
    }
    if let Some(l) = &i.label {
        about.push(format!("label {l:?}"));
    }
    if !about.is_empty() {
        if !at.is_empty() {
            at.push(' ');
        }
        at += &format!("({})", about.join(", "));
    }
    if at.is_empty() {
        format!("{}: {}", i.kind, i.reason)
    } else {
        format!("{at}: {}: {}", i.kind, i.reason)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_name_their_place_and_losses_decide_the_exit() {
        let skipped = TaskIssue {
            path: Some("/b/in.manifest".into()),
            line: Some(2),
            kind: "skipped".into(),
            reason: "not JSON".into(),
            ..TaskIssue::default()
        };
        assert_eq!(issue_line(&skipped), "/b/in.manifest:2: skipped: not JSON");
        let dropped = TaskIssue {
            sample: Some("s1".into()),
            label: Some("road".into()),
            kind: "dropped".into(),
            reason: "a polygon".into(),
            ..TaskIssue::default()
        };
        assert_eq!(issue_line(&dropped), "(sample s1, label \"road\"): dropped: a polygon");

        let mut t = ImportTask {
            issues: vec![TaskIssue {
                kind: "converted".into(),
                ..dropped.clone()
            }],
            issue_count: 1,
            ..ImportTask::default()
        };
        assert_eq!(import_losses(&t, false), None, "a converted label is not a loss");
        assert_eq!(import_losses(&t, true).as_deref(), Some("1 label was converted"));
        t.issue_count = 2;
        assert!(import_losses(&t, false).is_some(), "an unlisted issue may be a loss");
        t.issues = vec![skipped, dropped];
        t.skipped_sample_count = 1;
        assert_eq!(
            import_losses(&t, false).as_deref(),
            Some("1 sample was skipped and 1 label was dropped")
        );

        let e = ExportTask {
            total_sample_count: 3,
            finished_sample_count: 3,
            converted_label_count: 4,
            ..ExportTask::default()
        };
        assert_eq!(export_losses(&e, false), None, "converted labels are not losses");
        assert_eq!(export_losses(&e, true).as_deref(), Some("4 labels were converted"));
        let e = ExportTask {
            dropped_label_count: 2,
            ..e
        };
        assert_eq!(export_losses(&e, false).as_deref(), Some("2 labels were dropped"));
    }
}
