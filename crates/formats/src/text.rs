//! Text classification files: the "combined" layout (`text<TAB>label1,label2` per line,
//! separators configurable) and the paired layout (`name.txt` holding one text a line and
//! `name_result.txt` holding the labels of line i on line i).
//! It must not read files or decode GBK (the caller hands in UTF-8 text) or decide which labels a
//! dataset may hold.
//!
//! Escapes: a text may hold tabs and line breaks that would break the line, so the writer
//! escapes `\` as `\\`, a tab as `\t`, a line feed as `\n` and a carriage return as `\r`; in a
//! label it also escapes the label separator as `\,` (label names hold no control characters).
//! The reader undoes these and keeps any other backslash as it is, so a foreign file with a lone
//! backslash reads as written (one holding a literal `\t` reads as a tab).

use crate::record::InputError;

/// The default separator between text and labels.
pub const SEPARATOR: &str = "\t";
/// The default separator between labels.
pub const LABEL_SEPARATOR: &str = ",";

/// A text escaped for one line: `\` → `\\`, tab → `\t`, LF → `\n`, CR → `\r`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`] (and `\` before a separator); any other backslash is kept.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(',') => out.push(','),
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    out
}

fn escape_label(label: &str) -> String {
    escape(label).replace(',', "\\,")
}

/// One line of the combined layout with the default separators (no line break at the end).
pub fn tsv_line(text: &str, labels: &[String]) -> String {
    format!("{}\t{}", escape(text), result_line(labels))
}

/// One line of a `_result.txt` file: the labels joined by `,` (no line break at the end).
pub fn result_line(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| escape_label(l))
        .collect::<Vec<_>>()
        .join(LABEL_SEPARATOR)
}

/// Splits `s` at each `sep` that no backslash escapes.
fn split_unescaped<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let (mut start, mut i, mut escaped) = (0, 0, false);
    while i < s.len() {
        if escaped {
            escaped = false;
        } else if s[i..].starts_with('\\') {
            escaped = true;
        } else if s[i..].starts_with(sep) {
            parts.push(&s[start..i]);
            i += sep.len();
            start = i;
            continue;
        }
        i += s[i..].chars().next().map_or(1, char::len_utf8);
    }
    parts.push(&s[start..]);
    parts
}

fn labels_of(part: &str, label_separator: &str) -> Vec<String> {
    split_unescaped(part, label_separator)
        .into_iter()
        .map(|l| unescape(l.trim()))
        .filter(|l| !l.is_empty())
        .collect()
}

/// Reads one line of the combined layout: the text is what comes before the last unescaped
/// `separator` (so a text may hold the separator), the labels what comes after, split at
/// `label_separator` and trimmed. A line without the separator is a text without labels.
/// Refused when a separator is empty or the text is.
pub fn parse_combined_line(
    line: &str,
    separator: &str,
    label_separator: &str,
) -> Result<(String, Vec<String>), InputError> {
    if separator.is_empty() || label_separator.is_empty() {
        return Err(InputError::new("the separators must not be empty"));
    }
    let line = line.trim_start_matches('\u{feff}').trim_end_matches(['\r', '\n']);
    let mut parts = split_unescaped(line, separator);
    let labels = if parts.len() > 1 {
        parts.pop().map(|p| labels_of(p, label_separator))
    } else {
        None
    };
    let text = unescape(&parts.join(separator));
    if text.trim().is_empty() {
        return Err(InputError::new("the line holds no text"));
    }
    Ok((text, labels.unwrap_or_default()))
}

/// The result file paired with a text file: `name.txt` → `name_result.txt`.
pub fn result_file_name(text_file: &str) -> String {
    match text_file.strip_suffix(".txt") {
        Some(stem) => format!("{stem}_result.txt"),
        None => format!("{text_file}_result.txt"),
    }
}

/// The text file a result file belongs to (`name_result.txt` → `name.txt`), `None` when the name
/// is not that of a result file.
pub fn text_file_of_result(name: &str) -> Option<String> {
    name.strip_suffix("_result.txt").map(|stem| format!("{stem}.txt"))
}

/// Pairs a text file with its result file: line i of `results` labels line i of `texts`. Texts
/// past the end of the results are unlabeled; blank text lines are skipped. Refused, with the
/// result line, when a result line has no text line.
pub fn pair(texts: &str, results: &str, label_separator: &str) -> Result<Vec<(String, Vec<String>)>, InputError> {
    if label_separator.is_empty() {
        return Err(InputError::new("the label separator must not be empty"));
    }
    let texts: Vec<&str> = texts.trim_start_matches('\u{feff}').lines().collect();
    let results: Vec<&str> = results.trim_start_matches('\u{feff}').lines().collect();
    if let Some(extra) = results.iter().skip(texts.len()).position(|r| !r.trim().is_empty()) {
        let line = texts.len() + extra + 1;
        return Err(InputError::at(
            line as u64,
            format!("result line {line} has no text line"),
        ));
    }
    Ok(texts
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(i, t)| {
            (
                unescape(t),
                results
                    .get(i)
                    .map(|r| labels_of(r, label_separator))
                    .unwrap_or_default(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_line_escapes_what_would_break_it_and_reads_back() {
        let text = "tab\there\nnew line \\ back\r";
        let line = tsv_line(text, &labels(&["pos", "a,b"]));
        assert_eq!(line, "tab\\there\\nnew line \\\\ back\\r\tpos,a\\,b");
        let (t, l) = parse_combined_line(&line, SEPARATOR, LABEL_SEPARATOR).unwrap();
        assert_eq!(t, text);
        assert_eq!(l, labels(&["pos", "a,b"]));
    }

    #[test]
    fn foreign_lines_are_read_leniently() {
        let read = |line: &str, sep: &str, lsep: &str| parse_combined_line(line, sep, lsep).unwrap();
        assert_eq!(
            read("I like it\tpositive, good \r\n", "\t", ","),
            ("I like it".into(), labels(&["positive", "good"]))
        );
        assert_eq!(read("a;b;c@x|y", "@", "|"), ("a;b;c".into(), labels(&["x", "y"])));
        assert_eq!(
            read("one, two, three,label", ",", "|"),
            ("one, two, three".into(), labels(&["label"]))
        );
        assert_eq!(read("no labels here", "\t", ","), ("no labels here".into(), vec![]));
        assert_eq!(
            read("C:\\dir\\file\tx", "\t", ","),
            ("C:\\dir\\file".into(), labels(&["x"]))
        );
        assert_eq!(
            parse_combined_line("\tx", "\t", ",").unwrap_err().reason,
            "the line holds no text"
        );
        assert_eq!(
            parse_combined_line("a", "", ",").unwrap_err().reason,
            "the separators must not be empty"
        );
    }

    #[test]
    fn text_and_result_files_pair_line_by_line() {
        assert_eq!(result_file_name("news.txt"), "news_result.txt");
        assert_eq!(text_file_of_result("news_result.txt").as_deref(), Some("news.txt"));
        assert_eq!(text_file_of_result("news.txt"), None);
        let pairs = pair("first\n\nthird\nfourth\n", "a,b\n\nc\n", ",").unwrap();
        assert_eq!(
            pairs,
            [
                ("first".into(), labels(&["a", "b"])),
                ("third".into(), labels(&["c"])),
                ("fourth".into(), vec![]),
            ]
        );
        let err = pair("only\n", "a\nb\n", ",").unwrap_err();
        assert_eq!(err.to_string(), "line 2: result line 2 has no text line");
    }
}
