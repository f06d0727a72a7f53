//! A small, forgiving XML tree for the VOC reader: elements with their text and children,
//! attributes ignored. Forgiving where the guide's own examples are broken: an opening tag of the
//! element that is open and already holds text closes it (`<r>100<r>`), and a closing tag closes
//! every element opened inside it (or is ignored when nothing open has its name).
//! It must not know what VOC elements mean.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::record::InputError;

/// One element.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the first child named `name`, when it has some.
    pub(crate) fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim()).filter(|t| !t.is_empty())
    }
}

/// The root element of `xml`.
pub(crate) fn parse(xml: &str) -> Result<Node, InputError> {
    let line_of = |pos: u64| {
        1 + xml.as_bytes()[..(pos as usize).min(xml.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64
    };
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = false;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let close = |stack: &mut Vec<Node>, root: &mut Option<Node>| {
        if let Some(node) = stack.pop() {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => {
                    root.get_or_insert(node);
                }
            }
        }
    };
    loop {
        let at = reader.buffer_position();
        let broken = |e: &dyn std::fmt::Display| InputError::at(line_of(at), format!("broken XML: {e}"));
        let event = reader.read_event().map_err(|e| broken(&e))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let repeats = stack
                    .last()
                    .is_some_and(|top| top.name == name && top.children.is_empty() && !top.text.trim().is_empty());
                if repeats {
                    close(&mut stack, &mut root);
                } else {
                    stack.push(Node {
                        name,
                        ..Node::default()
                    });
                }
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(Node {
                    name,
                    ..Node::default()
                });
                close(&mut stack, &mut root);
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if let Some(depth) = stack.iter().rposition(|n| n.name == name) {
                    while stack.len() > depth {
                        close(&mut stack, &mut root);
                    }
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().map_err(|e| broken(&e))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                let text = t.decode().map_err(|e| broken(&e))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| broken(&e))?.into_owned();
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(|e| broken(&e))?.map(String::from)
                } else {
                    resolve_predefined_entity(&name).map(str::to_string)
                };
                let text = resolved.ok_or_else(|| InputError::at(line_of(at), format!("unknown entity &{name};")))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.first() {
        return Err(InputError::at(
            line_of(xml.len() as u64),
            format!("the XML ends inside <{}>", open.name),
        ));
    }
    root.ok_or_else(|| InputError::new("no XML element found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_opening_tag_closes_the_element_holding_text() {
        let root = parse("<a><c><cx>1</cx><r>100<r></c><d>x &amp; y&#33;</d></a>").unwrap();
        let c = root.child("c").unwrap();
        assert_eq!(c.text_of("r"), Some("100"));
        assert_eq!(c.children.len(), 2);
        assert_eq!(root.text_of("d"), Some("x & y!"));
    }

    #[test]
    fn a_truncated_file_is_refused_with_its_line() {
        let err = parse("<a>\n<b>1</b>\n").unwrap_err();
        assert_eq!(err.to_string(), "line 3: the XML ends inside <a>");
        let err = parse("<a>&nope;</a>").unwrap_err();
        assert_eq!(err.reason, "unknown entity &nope;");
    }
}
