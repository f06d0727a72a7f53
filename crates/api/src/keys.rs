//! The `@modelarts:` property keys, named once: the keys of a label placed on a sample
//! ([`label`]) and of sample metadata ([`meta`]). The server's label rules, the file formats
//! and clients all spell them from here. Names only: what values they may hold is checked in
//! `teamlabel-core`.

/// The `@modelarts:` keys of a sample label's property map.
pub mod label {
    /// Shape of a geometry label: `bndbox`, `polygon`, `circle`, `line`, `dashed`, `point` or
    /// `polyline`.
    pub const SHAPE: &str = "@modelarts:shape";
    /// Points of a geometry label, `[[x, y], ...]` (a circle: `[[cx, cy], [r]]`).
    pub const FEATURE: &str = "@modelarts:feature";
    /// Inclusive start of a text entity, in characters.
    pub const START_INDEX: &str = "@modelarts:start_index";
    /// Exclusive end of a text entity, in characters.
    pub const END_INDEX: &str = "@modelarts:end_index";
    /// Id of a triplet's head entity.
    pub const FROM: &str = "@modelarts:from";
    /// Id of a triplet's tail entity.
    pub const TO: &str = "@modelarts:to";
    /// Transcript of a speech label.
    pub const CONTENT: &str = "@modelarts:content";
    /// Start of a speech paragraph, `hh:mm:ss.SSS`.
    pub const START_TIME: &str = "@modelarts:start_time";
    /// End of a speech paragraph, `hh:mm:ss.SSS`.
    pub const END_TIME: &str = "@modelarts:end_time";
    /// Speaker of a speech paragraph.
    pub const SOURCE: &str = "@modelarts:source";
    /// Per-label hard-example flag.
    pub const HARD: &str = "@modelarts:hard";
    /// Per-label hard coefficient, in [0, 1].
    pub const HARD_COEFFICIENT: &str = "@modelarts:hard_coefficient";
    /// Per-label hard-example reason ids.
    pub const HARD_REASONS: &str = "@modelarts:hard_reasons";
}

/// The `@modelarts:` keys of sample metadata.
pub mod meta {
    /// Image size `[width, height(, depth)]`.
    pub const SIZE: &str = "@modelarts:size";
    pub const IMPORT_ORIGIN: &str = "@modelarts:import_origin";
    pub const HARD: &str = "@modelarts:hard";
    pub const HARD_COEFFICIENT: &str = "@modelarts:hard_coefficient";
    pub const HARD_REASONS: &str = "@modelarts:hard_reasons";
    /// Length of the video a frame comes from, in seconds.
    pub const PARENT_DURATION: &str = "@modelarts:parent_duration";
    /// Time of a frame in its video, in seconds.
    pub const TIME_IN_VIDEO: &str = "@modelarts:time_in_video";
    /// Path of the video a frame comes from.
    pub const PARENT_SOURCE: &str = "@modelarts:parent_source";
}
