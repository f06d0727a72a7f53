//! Team labeling: workforces (teams) and their workers, team tasks over a dataset, the members'
//! copies of the task's samples, and the pure merging of copies (`consensus`) and measuring of
//! their agreement (`agreement`), review verdicts and acceptance rounds. Declares submodules only.

pub mod acceptance;
pub mod agreement;
pub mod consensus;
pub mod task_agreement;
pub mod task_labels;
pub mod task_members;
pub mod task_samples;
pub mod task_states;
pub mod task_stats;
pub mod tasks;
pub mod verdicts;
pub mod workforces;
