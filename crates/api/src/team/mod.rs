//! Team labeling on the wire: workforces and workers, team tasks, and the members' copies of a
//! task's samples, review and acceptance. Shapes only: it must not decide rules, touch storage or speak HTTP. Declares
//! submodules only.

pub mod acceptance;
pub mod task_samples;
pub mod tasks;
pub mod workforces;
