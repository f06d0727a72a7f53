//! The label file of image and sound classification: `x.txt` beside `x.jpg` (or `x.wav`), one
//! label name per line, several lines for several labels.
//! It must not read or write files or decide which labels a dataset may hold. Label names hold no
//! line breaks (the core crate refuses control characters in them), so a name is one line.

use crate::record::Record;

/// The label file of `record`: each label name once, in label order, one per line (each line
/// ends with a newline). Labels without a name are skipped.
pub fn write(record: &Record) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for name in record.labels.iter().filter_map(|l| l.name.as_deref()) {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.iter().map(|n| format!("{n}\n")).collect()
}

/// The label names of a label file: lines trimmed, blank lines skipped, each name once.
pub fn parse(txt: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in txt.trim_start_matches('\u{feff}').lines().map(str::trim) {
        if !line.is_empty() && !names.iter().any(|n| n == line) {
            names.push(line.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamlabel_api::labels::SampleLabel;

    #[test]
    fn one_name_per_line_and_back() {
        let mut r = Record::new("obs://b/a.jpg");
        for name in [Some("cat"), Some("animal"), None, Some("cat")] {
            r.labels.push(SampleLabel {
                name: name.map(str::to_string),
                label_type: Some(0),
                ..SampleLabel::default()
            });
        }
        let txt = write(&r);
        assert_eq!(txt, "cat\nanimal\n");
        assert_eq!(parse(&txt), ["cat", "animal"]);
        assert_eq!(parse("\u{feff}dog\r\n\n  cat  \ndog\n"), ["dog", "cat"]);
        assert_eq!(write(&Record::new("a.jpg")), "");
    }
}
