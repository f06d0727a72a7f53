//! Dataset labels: the stored label (`LabelDef`), the rules a label definition must follow, and
//! the checks on a whole label set (unique names, unique shortcuts, triplet relationships that
//! name existing entities). Pure functions; the use cases live in `datasets::label_changes`.
//! It must not touch the store.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use teamlabel_api::enums::{DatasetType, LabelType, SHAPES};
use teamlabel_api::labels::{Label, LabelAttribute};

use crate::error::{codes, Error, Result};
use crate::text::check_text;

/// A stored label: `id` is the store's key (0 before it is stored).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelDef {
    pub id: i64,
    pub name: String,
    pub label_type: LabelType,
    pub property: Map<String, Value>,
    pub attributes: Option<Vec<LabelAttribute>>,
}

impl LabelDef {
    pub fn to_api(&self) -> Label {
        Label {
            name: Some(self.name.clone()),
            label_type: Some(self.label_type),
            property: Some(self.property.clone()),
            attributes: self.attributes.clone(),
        }
    }

    pub fn shortcut(&self) -> Option<&str> {
        self.property.get(prop::SHORTCUT).and_then(Value::as_str)
    }
}

/// The `@modelarts:` keys of a label's property map.
pub mod prop {
    pub const COLOR: &str = "@modelarts:color";
    pub const SHORTCUT: &str = "@modelarts:shortcut";
    pub const DEFAULT_SHAPE: &str = "@modelarts:default_shape";
    pub const FROM_TYPE: &str = "@modelarts:from_type";
    pub const TO_TYPE: &str = "@modelarts:to_type";
    pub const RENAME_TO: &str = "@modelarts:rename_to";
}

pub const MAX_LABEL_NAME: usize = 1024;

fn rule(message: impl Into<String>) -> Error {
    Error::bad_request(codes::LABEL_RULE, message)
}

pub fn check_label_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(format!("{field} must not be empty")));
    }
    check_text(field, name, MAX_LABEL_NAME, "")
}

/// Resolves the type of a label in a request: the given one if the dataset allows it, else the
/// dataset's only label type.
pub fn resolve_label_type(dataset_type: DatasetType, given: Option<LabelType>, name: &str) -> Result<LabelType> {
    let allowed = dataset_type.label_types();
    match given {
        Some(t) if allowed.contains(&t) => Ok(t),
        Some(t) => Err(rule(format!(
            "label {name:?}: type {} is not allowed in a dataset of type {}; allowed: {}",
            t.code(),
            dataset_type.code(),
            list_types(allowed)
        ))),
        None => dataset_type.default_label_type().ok_or_else(|| {
            if allowed.is_empty() {
                rule(format!(
                    "label {name:?}: a dataset of type {} has no labels",
                    dataset_type.code()
                ))
            } else {
                rule(format!(
                    "label {name:?}: type is required in a dataset of type {}; allowed: {}",
                    dataset_type.code(),
                    list_types(allowed)
                ))
            }
        }),
    }
}

fn list_types(types: &[LabelType]) -> String {
    types
        .iter()
        .map(|t| t.code().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a label's property map for its type. `@modelarts:rename_to` must have been taken out
/// by the caller. Keys without the `@modelarts:` prefix are free and kept as they are.
pub fn check_label_property(name: &str, label_type: LabelType, property: &Map<String, Value>) -> Result<()> {
    for (key, value) in property {
        if !key.starts_with("@modelarts:") {
            continue;
        }
        let as_str = || {
            value
                .as_str()
                .ok_or_else(|| Error::invalid(format!("label {name:?}: property {key} must be a string")))
        };
        match key.as_str() {
            prop::COLOR => {
                let v = as_str()?;
                let hex = v.strip_prefix('#').unwrap_or("");
                if !(v.is_empty() || ((hex.len() == 6 || hex.len() == 3) && hex.bytes().all(|b| b.is_ascii_hexdigit())))
                {
                    return Err(Error::invalid(format!(
                        "label {name:?}: {key} must be a colour like #3399ff, got {v:?}"
                    )));
                }
            }
            prop::SHORTCUT => {
                let v = as_str()?;
                if v.chars().count() > 16 || v.chars().any(char::is_control) {
                    return Err(Error::invalid(format!(
                        "label {name:?}: {key} must be at most 16 printable characters"
                    )));
                }
            }
            prop::DEFAULT_SHAPE => {
                let v = as_str()?;
                if !matches!(
                    label_type,
                    LabelType::ObjectDetection | LabelType::ImageSegmentation | LabelType::Video
                ) {
                    return Err(rule(format!(
                        "label {name:?}: {key} applies only to object detection, segmentation and video labels"
                    )));
                }
                if !SHAPES.contains(&v) {
                    return Err(rule(format!(
                        "label {name:?}: {key} {v:?} is not a shape; allowed: {}",
                        SHAPES.join(", ")
                    )));
                }
            }
            prop::FROM_TYPE | prop::TO_TYPE => {
                let v = as_str()?;
                if label_type != LabelType::TripletRelation {
                    return Err(rule(format!(
                        "label {name:?}: {key} applies only to triplet relationship labels (type 102)"
                    )));
                }
                check_label_name(&format!("label {name:?}: {key}"), v)?;
            }
            prop::RENAME_TO => {
                return Err(rule(format!(
                    "label {name:?}: {key} is only allowed when updating a label"
                )))
            }
            other => {
                return Err(rule(format!(
                    "label {name:?}: unknown label property {other}; known: {}, {}, {}, {}, {}, {}",
                    prop::COLOR,
                    prop::SHORTCUT,
                    prop::DEFAULT_SHAPE,
                    prop::FROM_TYPE,
                    prop::TO_TYPE,
                    prop::RENAME_TO
                )))
            }
        }
    }
    if label_type == LabelType::TripletRelation {
        for key in [prop::FROM_TYPE, prop::TO_TYPE] {
            if !property.contains_key(key) {
                return Err(rule(format!(
                    "label {name:?}: a triplet relationship label needs {key}"
                )));
            }
        }
    }
    Ok(())
}

pub fn check_attributes(name: &str, attributes: &[LabelAttribute]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, a) in attributes.iter().enumerate() {
        let field = format!("label {name:?}: attributes[{i}]");
        let attr_name = a
            .name
            .as_deref()
            .ok_or_else(|| Error::invalid(format!("{field}.name is required")))?;
        if attr_name.is_empty() {
            return Err(Error::invalid(format!("{field}.name must not be empty")));
        }
        check_text(&format!("{field}.name"), attr_name, 64, "<>=&\"'!")?;
        if !seen.insert(attr_name) {
            return Err(Error::bad_request(
                "ModelArts.4428",
                format!("{field}: attribute name {attr_name:?} is used twice"),
            ));
        }
        match a.attribute_type.as_deref() {
            None | Some("text") | Some("select") => {}
            Some(other) => {
                return Err(Error::invalid(format!(
                    "{field}.type must be text or select, got {other:?}"
                )))
            }
        }
        if let Some(values) = &a.values {
            let mut seen_values = HashSet::new();
            for v in values {
                let value = v.value.as_deref().unwrap_or("");
                if !seen_values.insert(value) {
                    return Err(Error::bad_request(
                        "ModelArts.4429",
                        format!("{field}: value {value:?} is listed twice"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Turns a label of a create request into a definition for a dataset of `dataset_type`.
pub fn define_label(dataset_type: DatasetType, field: &str, label: &Label) -> Result<LabelDef> {
    let name = label
        .name
        .as_deref()
        .ok_or_else(|| Error::invalid(format!("{field}.name is required")))?;
    check_label_name(&format!("{field}.name"), name)?;
    let label_type = resolve_label_type(dataset_type, label.label_type, name)?;
    let property = label.property.clone().unwrap_or_default();
    check_label_property(name, label_type, &property)?;
    if let Some(attrs) = &label.attributes {
        check_attributes(name, attrs)?;
    }
    Ok(LabelDef {
        id: 0,
        name: name.to_string(),
        label_type,
        property,
        attributes: label.attributes.clone(),
    })
}

/// Checks a whole label set: (name, type) unique (4411), shortcuts unique (4412), triplet
/// relationships naming existing entity labels (4414).
pub fn check_label_set(labels: &[LabelDef]) -> Result<()> {
    let mut names = HashSet::new();
    let mut shortcuts: HashMap<&str, &str> = HashMap::new();
    for l in labels {
        if !names.insert((l.name.as_str(), l.label_type)) {
            return Err(Error::bad_request(
                codes::LABEL_EXISTS,
                format!("Label already exists: {:?} of type {}", l.name, l.label_type.code()),
            ));
        }
        if let Some(s) = l.shortcut().filter(|s| !s.is_empty()) {
            if let Some(other) = shortcuts.insert(s, &l.name) {
                return Err(Error::bad_request(
                    codes::SHORTCUT_EXISTS,
                    format!(
                        "Label shortcut already exists: {s:?} is used by {other:?} and {:?}",
                        l.name
                    ),
                ));
            }
        }
    }
    let entities: HashSet<&str> = labels
        .iter()
        .filter(|l| l.label_type == LabelType::TripletEntity)
        .map(|l| l.name.as_str())
        .collect();
    for l in labels.iter().filter(|l| l.label_type == LabelType::TripletRelation) {
        for key in [prop::FROM_TYPE, prop::TO_TYPE] {
            let entity = l.property.get(key).and_then(Value::as_str).unwrap_or("");
            if !entities.contains(entity) {
                return Err(Error::bad_request(
                    codes::TRIPLET_ENTITY_MISSING,
                    format!(
                        "Triplet label {:?}: {key} names {entity:?}, which is not an entity label (type 103) of the dataset",
                        l.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Finds the label a request names: by name, and by type when given or when the name is shared.
pub fn find_label<'a>(labels: &'a [LabelDef], name: &str, label_type: Option<LabelType>) -> Result<&'a LabelDef> {
    let mut matches = labels
        .iter()
        .filter(|l| l.name == name && label_type.is_none_or(|t| t == l.label_type));
    let first = matches.next().ok_or_else(|| match label_type {
        Some(t) => Error::label_not_found(&format!("{name} (type {})", t.code())),
        None => Error::label_not_found(name),
    })?;
    if matches.next().is_some() {
        return Err(Error::invalid(format!(
            "label {name:?} exists with several types; give label_type (or type) to choose one"
        )));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(name: &str, t: LabelType, property: Value) -> LabelDef {
        LabelDef {
            id: 0,
            name: name.into(),
            label_type: t,
            property: property.as_object().unwrap().clone(),
            attributes: None,
        }
    }

    #[test]
    fn the_type_is_derived_from_the_dataset_where_it_is_unambiguous() {
        let label = Label {
            name: Some("Cat".into()),
            ..Label::default()
        };
        let d = define_label(DatasetType::ObjectDetection, "labels[0]", &label).unwrap();
        assert_eq!(d.label_type, LabelType::ObjectDetection);
        let err = define_label(DatasetType::TextTriplet, "labels[0]", &label).unwrap_err();
        assert_eq!(err.code, codes::LABEL_RULE);
        assert!(err.message.contains("type is required"));
    }

    #[test]
    fn a_label_of_a_foreign_type_breaks_the_rules() {
        let label = Label {
            name: Some("Cat".into()),
            label_type: Some(LabelType::ObjectDetection),
            ..Label::default()
        };
        let err = define_label(DatasetType::ImageClassification, "labels[0]", &label).unwrap_err();
        assert_eq!(err.code, codes::LABEL_RULE);
    }

    #[test]
    fn default_shape_must_be_a_shape_and_only_on_geometric_labels() {
        let p = json!({"@modelarts:default_shape": "bndbox"});
        assert!(check_label_property("a", LabelType::ObjectDetection, p.as_object().unwrap()).is_ok());
        assert!(check_label_property("a", LabelType::ImageClassification, p.as_object().unwrap()).is_err());
        let p = json!({"@modelarts:default_shape": "square"});
        assert!(check_label_property("a", LabelType::ObjectDetection, p.as_object().unwrap()).is_err());
    }

    #[test]
    fn relationships_need_both_ends_and_the_ends_must_be_entities() {
        let p = json!({"@modelarts:from_type": "Person"});
        let err = check_label_property("Author", LabelType::TripletRelation, p.as_object().unwrap()).unwrap_err();
        assert!(err.message.contains("@modelarts:to_type"));

        let set = vec![
            def("Person", LabelType::TripletEntity, json!({})),
            def(
                "Author",
                LabelType::TripletRelation,
                json!({"@modelarts:from_type": "Person", "@modelarts:to_type": "Book"}),
            ),
        ];
        assert_eq!(check_label_set(&set).unwrap_err().code, codes::TRIPLET_ENTITY_MISSING);
    }

    #[test]
    fn names_and_shortcuts_are_unique_but_a_name_may_repeat_across_types() {
        let set = vec![
            def("X", LabelType::TripletEntity, json!({"@modelarts:shortcut": "a"})),
            def(
                "X",
                LabelType::TripletRelation,
                json!({"@modelarts:from_type": "X", "@modelarts:to_type": "X"}),
            ),
        ];
        assert!(check_label_set(&set).is_ok());
        let set = vec![
            def("X", LabelType::ImageClassification, json!({"@modelarts:shortcut": "a"})),
            def("Y", LabelType::ImageClassification, json!({"@modelarts:shortcut": "a"})),
        ];
        assert_eq!(check_label_set(&set).unwrap_err().code, codes::SHORTCUT_EXISTS);
        let set = vec![
            def("X", LabelType::ImageClassification, json!({})),
            def("X", LabelType::ImageClassification, json!({})),
        ];
        assert_eq!(check_label_set(&set).unwrap_err().code, codes::LABEL_EXISTS);
    }

    #[test]
    fn unknown_modelarts_keys_are_refused_and_free_keys_kept() {
        let p = json!({"@modelarts:colour": "#fff"});
        assert!(check_label_property("a", LabelType::ImageClassification, p.as_object().unwrap()).is_err());
        let p = json!({"team": "red", "@modelarts:color": "#fff"});
        assert!(check_label_property("a", LabelType::ImageClassification, p.as_object().unwrap()).is_ok());
    }
}
