//! The rules a sample's labels obey, by annotation type. Pure checks over domain values: no
//! store, no use cases. Declares submodules only.

pub mod sample_labels;
