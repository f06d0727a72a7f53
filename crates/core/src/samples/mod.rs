//! The samples of a dataset: adding, listing, reading and deleting them. Declares submodules
//! only.

pub mod read;
