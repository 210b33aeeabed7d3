//! Where every node of a YAML document is: a second pass over the text with `saphyr-parser`
//! (serde_norway gives typed values but no positions), kept as a tree of byte spans and lines
//! that mirrors the document's mappings and sequences.
//!
//! saphyr counts positions in characters; miette wants byte offsets, so markers are converted
//! here (identity for ASCII text, a checkpoint every 64 characters otherwise). Lookups that fail
//! (an alias, a merge key, a document saphyr cannot read) return `None`, and callers fall back to
//! the nearest enclosing node.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, Span};

/// A node of the document: a scalar, an alias, a sequence or a mapping.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Byte offsets.
    pub start: u32,
    pub end: u32,
    /// 1-based.
    pub line: u32,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    /// `plain` when written without quotes or block indicators, so that its text in the source
    /// is its value.
    Scalar {
        plain: bool,
    },
    Alias,
    Sequence(Vec<Node>),
    Mapping(Vec<Entry>),
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// An index into [`PositionIndex::keys`]; [`NO_KEY`] for a key that is not a scalar.
    pub key_id: u32,
    pub key: Node,
    pub value: Node,
}

const NO_KEY: u32 = u32::MAX;

impl Node {
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The entry of a mapping with this key.
    pub fn entry<'a>(&'a self, index: &PositionIndex, key: &str) -> Option<&'a Entry> {
        let id = index.key_id(key)?;
        match &self.kind {
            NodeKind::Mapping(entries) => entries.iter().find(|entry| entry.key_id == id),
            _ => None,
        }
    }

    /// The value under a key of a mapping.
    pub fn get<'a>(&'a self, index: &PositionIndex, key: &str) -> Option<&'a Node> {
        self.entry(index, key).map(|entry| &entry.value)
    }

    /// An item of a sequence.
    pub fn item(&self, at: usize) -> Option<&Node> {
        match &self.kind {
            NodeKind::Sequence(items) => items.get(at),
            _ => None,
        }
    }

    pub fn is_plain_scalar(&self) -> bool {
        matches!(self.kind, NodeKind::Scalar { plain: true })
    }
}

/// The positions of one YAML document.
#[derive(Debug, Default)]
pub(crate) struct PositionIndex {
    root: Option<Node>,
    keys: Vec<Box<str>>,
    key_ids: HashMap<Box<str>, u32>,
}

impl PositionIndex {
    /// Indexes the first document of `text`; an empty index when saphyr cannot read it.
    pub fn build(text: &str) -> PositionIndex {
        let mut builder = Builder {
            offsets: Offsets::new(text),
            index: PositionIndex::default(),
            stack: Vec::new(),
        };
        let mut parser = Parser::new_from_str(text);
        while let Some(event) = parser.next_event() {
            let Ok((event, span)) = event else {
                return PositionIndex::default();
            };
            if builder.on_event(event, span) {
                break;
            }
        }
        builder.index
    }

    pub fn root(&self) -> Option<&Node> {
        self.root.as_ref()
    }

    fn key_id(&self, key: &str) -> Option<u32> {
        self.key_ids.get(key).copied()
    }

    fn intern(&mut self, key: &str) -> u32 {
        if let Some(id) = self.key_ids.get(key) {
            return *id;
        }
        let id = u32::try_from(self.keys.len()).unwrap_or(NO_KEY);
        self.keys.push(key.into());
        self.key_ids.insert(key.into(), id);
        id
    }
}

enum Frame {
    Sequence {
        start: u32,
        line: u32,
        items: Vec<Node>,
    },
    Mapping {
        start: u32,
        line: u32,
        entries: Vec<Entry>,
        key: Option<(u32, Node)>,
    },
}

struct Builder<'t> {
    offsets: Offsets<'t>,
    index: PositionIndex,
    stack: Vec<Frame>,
}

impl Builder<'_> {
    /// Handles one event; `true` once the first document is complete.
    fn on_event(&mut self, event: Event<'_>, span: Span) -> bool {
        let start = self.offsets.byte(span.start.index());
        let line = to_u32(span.start.line());
        match event {
            Event::Scalar(value, style, _, _) => {
                let end = self.offsets.byte(span.end.index());
                let plain = matches!(style, saphyr_parser::ScalarStyle::Plain);
                let node = Node {
                    start,
                    end,
                    line,
                    kind: NodeKind::Scalar { plain },
                };
                self.value(node, Some(&value))
            }
            Event::Alias(_) => {
                let end = self.offsets.byte(span.end.index());
                let node = Node {
                    start,
                    end,
                    line,
                    kind: NodeKind::Alias,
                };
                self.value(node, None)
            }
            Event::SequenceStart(..) => {
                self.stack.push(Frame::Sequence {
                    start,
                    line,
                    items: Vec::new(),
                });
                false
            }
            Event::MappingStart(..) => {
                self.stack.push(Frame::Mapping {
                    start,
                    line,
                    entries: Vec::new(),
                    key: None,
                });
                false
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let end = self.offsets.byte(span.end.index()).max(start);
                let node = match self.stack.pop() {
                    Some(Frame::Sequence { start, line, items }) => Node {
                        start,
                        end,
                        line,
                        kind: NodeKind::Sequence(items),
                    },
                    Some(Frame::Mapping {
                        start,
                        line,
                        entries,
                        ..
                    }) => Node {
                        start,
                        end,
                        line,
                        kind: NodeKind::Mapping(entries),
                    },
                    None => return true,
                };
                self.value(node, None)
            }
            Event::DocumentEnd | Event::StreamEnd => true,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => false,
        }
    }

    /// Places a finished node in its parent; `true` when it is the document's root.
    fn value(&mut self, node: Node, scalar: Option<&str>) -> bool {
        match self.stack.last_mut() {
            None => {
                self.index.root = Some(node);
                true
            }
            Some(Frame::Sequence { items, .. }) => {
                items.push(node);
                false
            }
            Some(Frame::Mapping { entries, key, .. }) => {
                match key.take() {
                    Some((key_id, key)) => entries.push(Entry {
                        key_id,
                        key,
                        value: node,
                    }),
                    None => {
                        let id = match scalar {
                            Some(name) => self.index.intern(name),
                            None => NO_KEY,
                        };
                        *key = Some((id, node));
                    }
                }
                false
            }
        }
    }
}

/// Converts saphyr's character indices to byte offsets.
struct Offsets<'t> {
    text: &'t str,
    ascii: bool,
    /// The byte offset of every 64th character.
    checkpoints: Vec<usize>,
}

const STRIDE: usize = 64;

impl<'t> Offsets<'t> {
    fn new(text: &'t str) -> Self {
        let ascii = text.is_ascii();
        let checkpoints = if ascii {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(STRIDE)
                .map(|(at, _)| at)
                .collect()
        };
        Self {
            text,
            ascii,
            checkpoints,
        }
    }

    fn byte(&self, char_index: usize) -> u32 {
        if self.ascii {
            return to_u32(char_index.min(self.text.len()));
        }
        let Some(&base) = self.checkpoints.get(char_index / STRIDE) else {
            return to_u32(self.text.len());
        };
        let offset = self.text[base..]
            .char_indices()
            .nth(char_index % STRIDE)
            .map_or(self.text.len(), |(at, _)| base + at);
        to_u32(offset)
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_know_their_lines_and_bytes() {
        let text =
            "version: 1\nusers:\n  - email: \"é@x.cn\"\n    nickname: Zoë\n  - email: b@x.cn\n";
        let index = PositionIndex::build(text);
        let root = index.root().unwrap();
        let users = root.get(&index, "users").unwrap();
        let first = users.item(0).unwrap();
        assert_eq!(first.line, 3);
        let nickname = first.get(&index, "nickname").unwrap();
        assert_eq!(&text[nickname.span()], "Zoë");
        assert!(nickname.is_plain_scalar());
        let email = first.get(&index, "email").unwrap();
        assert_eq!(&text[email.span()], "\"é@x.cn\"");
        let second = users.item(1).unwrap().get(&index, "email").unwrap();
        assert_eq!(second.line, 5);
        assert_eq!(&text[second.span()], "b@x.cn");
        assert!(first.get(&index, "missing").is_none());
    }

    #[test]
    fn unreadable_documents_give_an_empty_index() {
        let index = PositionIndex::build("a: [1, 2\nb: }");
        assert!(index.root().is_none());
    }
}
