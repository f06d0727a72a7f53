//! teamlabel-formats: the file formats that imports and exports read and write, as pure codecs
//! between text (or bytes) and [`Record`]s holding API labels.
//!
//! It owns the formats: the manifest ([`manifest`]), PASCAL VOC ([`voc`]), COCO ([`coco`]),
//! YOLO ([`yolo`]), the classification label files ([`classify`]), the text classification
//! files ([`text`]), CoNLL BIO ([`conll`]) and entity/relation JSONL ([`spans`]); and the
//! container an export is downloaded in, a ZIP archive streamed as it is made ([`zip`]).
//!
//! Each writer answers what its format could not hold as [`Loss`]es for the export report; each
//! reader refuses a broken input with an [`InputError`] naming the line and item.
//!
//! It must not touch storage or the network, run async code, read or write files other than
//! through a handed-in writer or temporary file, or decide who may do what or whether a label is
//! valid for a dataset beyond what a format itself requires (that stays in `teamlabel-core`).
//! The free property keys it uses to keep what a format holds and the API has no field for are
//! listed in [`keys`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod classify;
pub mod coco;
pub mod conll;
pub mod keys;
pub mod manifest;
pub mod record;
pub mod spans;
pub mod text;
pub mod voc;
pub mod yolo;
pub mod zip;

mod entities;
#[cfg(test)]
mod fixtures;
mod geometry;

pub use record::{InputError, Loss, LossKind, Record};

/// The scheme of a sample whose text is inline: `content://<text>`.
pub const CONTENT_SCHEME: &str = "content://";
