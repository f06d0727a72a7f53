//! The rules a sample's labels obey, by annotation type. Pure checks over domain values: no
//! store, no use cases. Declares submodules only.

pub mod geometry;
pub mod hard;
pub mod metadata;
pub mod sample_labels;
pub mod spans;
pub mod times;
pub mod triplets;
pub mod values;
