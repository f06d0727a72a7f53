//! Datasets and their label definitions: creating and listing datasets, the label set of a
//! dataset and its changes. Declares submodules only.

pub mod dataset;
pub mod label_changes;
pub mod labels;
pub mod stats;
