//! The API's closed value sets: each is a Rust enum that serializes as the
//! documented integer, refuses any other value with a message listing the allowed ones, and
//! describes itself in the OpenAPI document.
//! Plain values: it must not import any other module of the crate, decide rules beyond the
//! value sets themselves, touch storage or speak HTTP.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! int_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> i32 {
                match self { $($name::$variant => $value),+ }
            }

            pub fn from_code(code: i64) -> Option<Self> {
                match code { $($value => Some($name::$variant),)+ _ => None }
            }

            /// The allowed values, for error messages.
            pub fn allowed() -> String {
                [$($value.to_string()),+].join(", ")
            }

            /// Parses a documented value or answers a message naming `field` and the allowed values.
            pub fn parse(field: &str, code: i64) -> Result<Self, String> {
                Self::from_code(code).ok_or_else(|| {
                    format!("{field}: {code} is not a valid {}; allowed: {}", $what, Self::allowed())
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i32(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = i64::deserialize(d)?;
                Self::from_code(code).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{code} is not a valid {}; allowed: {}", $what, Self::allowed()
                    ))
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int32,
                    )))
                    .description(Some(concat!("One of the documented ", $what, " values.")))
                    .enum_values(Some([$($value),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

int_enum!(
    /// `dataset_type`.
    DatasetType, "dataset_type" {
        ImageClassification = 0,
        ObjectDetection = 1,
        ImageSegmentation = 3,
        TextClassification = 100,
        NamedEntity = 101,
        TextTriplet = 102,
        SoundClassification = 200,
        SpeechContent = 201,
        SpeechParagraph = 202,
        Table = 400,
        Video = 600,
        Custom = 900,
    }
);

int_enum!(
    /// Label `type`.
    LabelType, "label type" {
        ImageClassification = 0,
        ObjectDetection = 1,
        ImageSegmentation = 3,
        TextClassification = 100,
        NamedEntity = 101,
        TripletRelation = 102,
        TripletEntity = 103,
        SoundClassification = 200,
        SpeechContent = 201,
        SpeechParagraph = 202,
        Video = 600,
    }
);

int_enum!(
    /// `sample_type`.
    SampleType, "sample_type" {
        Image = 0,
        Text = 1,
        Audio = 2,
        Table = 4,
        Video = 6,
        Custom = 9,
    }
);

impl DatasetType {
    /// The label types a dataset of this type may carry. Table datasets carry none; free-format
    /// datasets may carry any.
    pub fn label_types(self) -> &'static [LabelType] {
        use LabelType as L;
        match self {
            DatasetType::ImageClassification => &[L::ImageClassification],
            DatasetType::ObjectDetection => &[L::ObjectDetection],
            DatasetType::ImageSegmentation => &[L::ImageSegmentation],
            DatasetType::TextClassification => &[L::TextClassification],
            DatasetType::NamedEntity => &[L::NamedEntity],
            DatasetType::TextTriplet => &[L::TripletRelation, L::TripletEntity],
            DatasetType::SoundClassification => &[L::SoundClassification],
            DatasetType::SpeechContent => &[L::SpeechContent],
            DatasetType::SpeechParagraph => &[L::SpeechParagraph],
            DatasetType::Table => &[],
            DatasetType::Video => &[L::Video],
            DatasetType::Custom => LabelType::ALL,
        }
    }

    /// The label type a label of this dataset gets when the request leaves `type` out; `None`
    /// where that is ambiguous (triplets, free format) or impossible (tables).
    pub fn default_label_type(self) -> Option<LabelType> {
        match self.label_types() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// The sample type a sample of this dataset gets when the request leaves it out.
    pub fn default_sample_type(self) -> SampleType {
        match self {
            DatasetType::ImageClassification | DatasetType::ObjectDetection | DatasetType::ImageSegmentation => {
                SampleType::Image
            }
            DatasetType::TextClassification | DatasetType::NamedEntity | DatasetType::TextTriplet => SampleType::Text,
            DatasetType::SoundClassification | DatasetType::SpeechContent | DatasetType::SpeechParagraph => {
                SampleType::Audio
            }
            DatasetType::Table => SampleType::Table,
            DatasetType::Video => SampleType::Video,
            DatasetType::Custom => SampleType::Custom,
        }
    }

    /// Whether samples of this type may be added to the dataset.
    pub fn accepts_sample_type(self, t: SampleType) -> bool {
        self == DatasetType::Custom || t == self.default_sample_type() || t == SampleType::Custom
    }
}

/// `@modelarts:shape` values.
pub const SHAPES: &[&str] = &["bndbox", "polygon", "circle", "line", "dashed", "point", "polyline"];

/// `sample_usage` values.
pub const SAMPLE_USAGES: &[&str] = &["TRAIN", "EVAL", "TEST", "INFERENCE"];

/// The state a sample is in, as answered in `sample_status`: not labeled, labeled by hand, or
/// labeled automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SampleStatus {
    UnAnnotation,
    ManualAnnotation,
    AutoAnnotation,
}

impl SampleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SampleStatus::UnAnnotation => "UN_ANNOTATION",
            SampleStatus::ManualAnnotation => "MANUAL_ANNOTATION",
            SampleStatus::AutoAnnotation => "AUTO_ANNOTATION",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "UN_ANNOTATION" => Some(SampleStatus::UnAnnotation),
            "MANUAL_ANNOTATION" => Some(SampleStatus::ManualAnnotation),
            "AUTO_ANNOTATION" => Some(SampleStatus::AutoAnnotation),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_type_round_trips_through_json() {
        for t in DatasetType::ALL {
            let json = serde_json::to_string(t).unwrap();
            let back: DatasetType = serde_json::from_str(&json).unwrap();
            assert_eq!(*t, back);
        }
    }

    #[test]
    fn an_unknown_value_is_refused_with_the_allowed_list() {
        let err = serde_json::from_str::<DatasetType>("5").unwrap_err().to_string();
        assert!(err.contains("5 is not a valid dataset_type"), "{err}");
        assert!(err.contains("0, 1, 3, 100"), "{err}");
        assert!(LabelType::parse("type", 104).unwrap_err().contains("allowed"));
    }

    #[test]
    fn triplet_datasets_need_an_explicit_label_type() {
        assert_eq!(DatasetType::TextTriplet.default_label_type(), None);
        assert_eq!(
            DatasetType::ObjectDetection.default_label_type(),
            Some(LabelType::ObjectDetection)
        );
        assert_eq!(DatasetType::Table.label_types(), &[] as &[LabelType]);
    }
}
