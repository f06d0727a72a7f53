//! Team labeling: workforces (teams) and their workers, team tasks over a dataset, and the
//! members' copies of the task's samples. Declares submodules only.

pub mod task_labels;
pub mod task_members;
pub mod task_samples;
pub mod task_states;
pub mod task_stats;
pub mod tasks;
pub mod workforces;
