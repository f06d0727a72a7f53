//! CoNLL BIO for named entities: one `token<TAB>tag` line per token (`B-<name>`, `I-<name>`,
//! `O`), a blank line after each sample, with the tokenizer that decides what a token is.
//! It must not read or write files or decide which labels a dataset may hold.
//!
//! Tokens ([`tokenize`]), in character offsets (Unicode scalar values): whitespace separates;
//! a run of letters and digits is one token (combining marks stay with the letter before them);
//! a CJK ideograph is a token of its own; every other character (punctuation, symbols) is a token
//! of its own, so `don't` is `don`, `'`, `t`.
//!
//! What BIO cannot hold ([`write_bio`]): an entity whose span cuts a token is widened to the whole
//! tokens it touches (listed as converted); of two entities that share a token, the one that
//! starts later (at the same start, the shorter; then the later in the list) is dropped and
//! listed; relations (type 102) are dropped and listed, since BIO has no place for them; so is any
//! label that is no text entity. The text read back ([`parse_bio`]) is the tokens joined by single
//! spaces, with the entities' offsets in that text.

use serde_json::{Map, Value};
use teamlabel_api::labels::SampleLabel;

use crate::entities::{check_span, NAMED_ENTITY, TRIPLET};
use crate::keys;
use crate::record::{InputError, Loss, LossKind, Record};

/// A token of a text, with its character offsets `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token's characters.
    pub text: String,
    /// Offset of its first character.
    pub start: usize,
    /// Offset after its last character.
    pub end: usize,
}

fn is_ideograph(c: char) -> bool {
    matches!(u32::from(c),
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF
        | 0x2F800..=0x2FA1F | 0x30000..=0x323AF)
}

fn is_combining(c: char) -> bool {
    matches!(u32::from(c), 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Splits `text` into tokens (see the module text for the rule).
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut in_word = false;
    for (i, c) in text.chars().enumerate() {
        let word = c.is_alphanumeric() && !is_ideograph(c);
        if c.is_whitespace() {
            in_word = false;
        } else if in_word && (word || is_combining(c)) {
            let last = tokens.last_mut().expect("a word is open");
            last.text.push(c);
            last.end = i + 1;
        } else {
            tokens.push(Token {
                text: c.to_string(),
                start: i,
                end: i + 1,
            });
            in_word = word;
        }
    }
    tokens
}

/// The BIO block of a `content://` record (ending with a blank line), and what it could not hold.
pub fn write_bio(record: &Record) -> (String, Vec<Loss>) {
    let mut losses = Vec::new();
    let Some(text) = record.text() else {
        losses.push(record.loss(None, LossKind::Dropped, "the sample has no inline text (content://)"));
        return (String::new(), losses);
    };
    let tokens = tokenize(text);
    // (label index, start, end, first token, token after the last)
    let mut spans = Vec::new();
    for (i, label) in record.labels.iter().enumerate() {
        let drop = |reason: String| record.loss(Some(label), LossKind::Dropped, reason);
        match label.label_type {
            Some(TRIPLET) => {
                losses.push(drop("CoNLL BIO cannot hold relations".into()));
                continue;
            }
            Some(101 | 103) | None => {}
            Some(other) => {
                losses.push(drop(format!("label type {other} is no text entity")));
                continue;
            }
        }
        if label.name.is_none() {
            losses.push(drop("an entity needs a name for its tag".into()));
            continue;
        }
        let empty = Map::new();
        let (s, e) = match check_span("entity", Some(text), label.property.as_ref().unwrap_or(&empty)) {
            Ok((s, e)) => (s as usize, e as usize),
            Err(why) => {
                losses.push(drop(why.trim_start_matches("entity: ").to_string()));
                continue;
            }
        };
        let first = tokens.iter().position(|t| t.end > s);
        let after = tokens.iter().rposition(|t| t.start < e).map(|k| k + 1);
        match (first, after) {
            (Some(a), Some(b)) if a < b => spans.push((i, s, e, a, b)),
            _ => losses.push(drop("the entity covers no token (only spaces)".into())),
        }
    }
    spans.sort_by_key(|&(i, s, e, _, _)| (s, std::cmp::Reverse(e), i));
    let mut owner: Vec<Option<usize>> = vec![None; tokens.len()];
    for (i, s, e, a, b) in spans {
        let label = &record.labels[i];
        if let Some(other) = owner[a..b].iter().flatten().next() {
            let o = &record.labels[*other];
            let reason = format!(
                "overlaps {} at {}; CoNLL BIO holds one entity per token",
                o.name.as_deref().unwrap_or_default(),
                span_text(o)
            );
            losses.push(record.loss(Some(label), LossKind::Dropped, reason));
            continue;
        }
        owner[a..b].iter_mut().for_each(|t| *t = Some(i));
        let (ws, we) = (tokens[a].start, tokens[b - 1].end);
        if (ws, we) != (s, e) {
            let reason = format!("widened from {s}..{e} to {ws}..{we} to cover whole tokens");
            losses.push(record.loss(Some(label), LossKind::Converted, reason));
        }
    }
    let mut out = String::new();
    for (k, token) in tokens.iter().enumerate() {
        let tag = match owner[k] {
            None => "O".to_string(),
            Some(i) => {
                let begins = k == 0 || owner[k - 1] != Some(i);
                let name = record.labels[i].name.as_deref().unwrap_or_default();
                format!("{}-{name}", if begins { "B" } else { "I" })
            }
        };
        out.push_str(&format!("{}\t{tag}\n", token.text));
    }
    out.push('\n');
    (out, losses)
}

fn span_text(label: &SampleLabel) -> String {
    let p = label.property.as_ref();
    let get = |k: &str| p.and_then(|p| p.get(k)).map(Value::to_string).unwrap_or_default();
    format!("{}..{}", get(keys::START_INDEX), get(keys::END_INDEX))
}

/// Reads one sample's block of `token<TAB>tag` lines (or whitespace-separated columns: the first
/// is the token, the last the tag; `-DOCSTART-` lines are skipped) into its text (tokens joined
/// by single spaces) and named-entity labels (type 101). An `I-` tag that continues no entity of
/// its name starts one. Refused, with the line, when a line has one column, a tag is not `O`,
/// `B-<name>` or `I-<name>`, or a blank line splits the block.
pub fn parse_bio(block: &str) -> Result<(String, Vec<SampleLabel>), InputError> {
    let lines: Vec<&str> = block.lines().collect();
    let used = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(0, |k| k + 1);
    let mut text = String::new();
    let mut len = 0usize;
    let mut labels: Vec<SampleLabel> = Vec::new();
    let mut open: Option<(String, usize, usize)> = None;
    let close = |open: &mut Option<(String, usize, usize)>, labels: &mut Vec<SampleLabel>| {
        if let Some((name, s, e)) = open.take() {
            let mut property = Map::new();
            property.insert(keys::START_INDEX.into(), s.into());
            property.insert(keys::END_INDEX.into(), e.into());
            labels.push(SampleLabel {
                name: Some(name),
                label_type: Some(NAMED_ENTITY),
                property: Some(property),
                ..SampleLabel::default()
            });
        }
    };
    let first = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(used);
    for (k, line) in lines.iter().enumerate().take(used).skip(first) {
        let n = k as u64 + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Err(InputError::at(n, "a blank line ends the sample inside this block"));
        }
        let fields: Vec<&str> = if line.contains('\t') {
            line.split('\t').collect()
        } else {
            line.split_whitespace().collect()
        };
        if fields[0].trim() == "-DOCSTART-" {
            continue;
        }
        let (Some(token), Some(tag), true) = (fields.first(), fields.last(), fields.len() >= 2) else {
            return Err(InputError::at(n, "expected `token<TAB>tag`"));
        };
        let (token, tag) = (token.trim(), tag.trim());
        if token.is_empty() {
            return Err(InputError::at(n, "the token is empty"));
        }
        if !text.is_empty() {
            text.push(' ');
            len += 1;
        }
        let (s, e) = (len, len + token.chars().count());
        text.push_str(token);
        len = e;
        match (tag, tag.split_once('-')) {
            ("O", _) => close(&mut open, &mut labels),
            (_, Some(("I", name))) if !name.is_empty() && open.as_ref().is_some_and(|o| o.0 == name) => {
                if let Some(o) = open.as_mut() {
                    o.2 = e;
                }
            }
            (_, Some(("B" | "I", name))) if !name.is_empty() => {
                close(&mut open, &mut labels);
                open = Some((name.to_string(), s, e));
            }
            _ => {
                return Err(InputError::at(
                    n,
                    format!("tag must be O, B-<name> or I-<name>, got {tag:?}"),
                ))
            }
        }
    }
    close(&mut open, &mut labels);
    Ok((text, labels))
}

/// Reads a whole BIO file: one sample per block of lines between blank lines, errors carrying the
/// file's line.
pub fn parse_bio_file(txt: &str) -> Result<Vec<(String, Vec<SampleLabel>)>, InputError> {
    let txt = txt.trim_start_matches('\u{feff}');
    let mut out = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut first = 1u64;
    let lines: Vec<&str> = txt.lines().collect();
    for (k, line) in lines.iter().chain(std::iter::once(&"")).enumerate() {
        if !line.trim().is_empty() {
            if block.is_empty() {
                first = k as u64 + 1;
            }
            block.push(line);
            continue;
        }
        if block.is_empty() {
            continue;
        }
        let read = parse_bio(&block.join("\n")).map_err(|e| InputError {
            line: e.line.map(|l| l + first - 1),
            reason: e.reason,
        })?;
        if !read.0.is_empty() {
            out.push(read);
        }
        block.clear();
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
