//! Where every node of a YAML document is: a second pass over the text with `saphyr-parser`
//! (serde_norway gives typed values but no positions), kept as a flat pre-order array of byte
//! spans and lines that mirrors the document's mappings and sequences. One slot per node, no
//! allocation per mapping: a 100,000-user manifest costs one vector.
//!
//! saphyr counts positions in characters; miette wants byte offsets, so markers are converted
//! here (identity for ASCII text, a checkpoint every 64 characters otherwise). Lookups that fail
//! (an alias, a merge key, a document saphyr cannot read) return `None`, and callers fall back to
//! the nearest enclosing node.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// The positions of one YAML document.
#[derive(Debug, Default)]
pub(crate) struct PositionIndex {
    /// The nodes in document order; a container is followed by its subtree (a mapping by its
    /// keys and values, alternating).
    slots: Vec<Slot>,
    /// The slots of every sequence's items, each sequence's run preceded by its length, so that
    /// the 100,000th user is found without walking the 99,999 before it.
    items: Vec<u32>,
    key_ids: HashMap<Box<str>, u32>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Byte offsets.
    start: u32,
    end: u32,
    /// 1-based.
    line: u32,
    /// Slots in this subtree, itself included.
    size: u32,
    /// For a scalar key of a mapping, the interned key; else [`NO_KEY`].
    key: u32,
    /// For a sequence, where its run starts in [`PositionIndex::items`].
    items: u32,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Written without quotes or block indicators: its text in the source is its value.
    Plain,
    OtherScalar,
    Alias,
    Sequence,
    Mapping,
}

const NO_KEY: u32 = u32::MAX;

/// A node of the document: a scalar, an alias, a sequence or a mapping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    index: &'a PositionIndex,
    at: usize,
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub key: Node<'a>,
    pub value: Node<'a>,
}

impl<'a> Node<'a> {
    fn slot(&self) -> &'a Slot {
        &self.index.slots[self.at]
    }

    /// The byte offset where the node starts.
    pub fn start(self) -> usize {
        self.slot().start as usize
    }

    pub fn end(self) -> usize {
        self.slot().end as usize
    }

    /// 1-based.
    pub fn line(self) -> u32 {
        self.slot().line
    }

    pub fn span(self) -> Range<usize> {
        self.start()..self.end()
    }

    pub fn is_plain_scalar(self) -> bool {
        self.slot().kind == Kind::Plain
    }

    /// The direct children, in order (a mapping's keys and values alternate).
    fn children(self) -> impl Iterator<Item = Node<'a>> {
        let slots = &self.index.slots;
        let end = self.at + self.slot().size as usize;
        let mut at = self.at + 1;
        std::iter::from_fn(move || {
            if at >= end || at >= slots.len() {
                return None;
            }
            let child = Node {
                index: self.index,
                at,
            };
            at += (slots[at].size as usize).max(1);
            Some(child)
        })
    }

    /// The entry of a mapping with this key.
    pub fn entry(self, key: &str) -> Option<Entry<'a>> {
        if self.slot().kind != Kind::Mapping {
            return None;
        }
        let id = *self.index.key_ids.get(key)?;
        let mut children = self.children();
        while let (Some(key), Some(value)) = (children.next(), children.next()) {
            if key.slot().key == id {
                return Some(Entry { key, value });
            }
        }
        None
    }

    /// The value under a key of a mapping.
    pub fn get(self, key: &str) -> Option<Node<'a>> {
        self.entry(key).map(|entry| entry.value)
    }

    /// An item of a sequence.
    pub fn item(self, at: usize) -> Option<Node<'a>> {
        if self.slot().kind != Kind::Sequence {
            return None;
        }
        let run = self.slot().items as usize;
        let items = &self.index.items;
        let len = *items.get(run)? as usize;
        if at >= len {
            return None;
        }
        let slot = *items.get(run + 1 + at)? as usize;
        Some(Node {
            index: self.index,
            at: slot,
        })
    }
}

impl PositionIndex {
    /// Indexes the first document of `text`; an empty index when saphyr cannot read it.
    pub fn build(text: &str) -> PositionIndex {
        let mut builder = Builder {
            offsets: Offsets::new(text),
            index: PositionIndex::default(),
            open: Vec::new(),
            done: false,
        };
        let mut parser = Parser::new_from_str(text);
        while let Some(event) = parser.next_event() {
            let Ok((event, span)) = event else {
                return PositionIndex::default();
            };
            builder.on_event(event, span);
            if builder.done {
                return builder.index;
            }
        }
        PositionIndex::default()
    }

    /// The document's top node, when the document could be indexed.
    pub fn root(&self) -> Option<Node<'_>> {
        (!self.slots.is_empty()).then_some(Node { index: self, at: 0 })
    }

    /// Every key written again in its mapping, in document order: (the first key, the repeat).
    /// Only scalar keys are compared, by their value (so `name` and `"name"` are one key).
    pub fn repeated_keys(&self) -> Vec<(Node<'_>, Node<'_>)> {
        let mut repeats = Vec::new();
        let mut seen: HashMap<u32, Node<'_>> = HashMap::new();
        for (at, slot) in self.slots.iter().enumerate() {
            if slot.kind != Kind::Mapping {
                continue;
            }
            seen.clear();
            let mut children = Node { index: self, at }.children();
            while let (Some(key), Some(_)) = (children.next(), children.next()) {
                let id = key.slot().key;
                if id == NO_KEY {
                    continue;
                }
                match seen.get(&id) {
                    Some(first) => repeats.push((*first, key)),
                    None => {
                        seen.insert(id, key);
                    }
                }
            }
        }
        repeats
    }
}

/// A container being read: its slot; for a mapping whether the next child is a key, for a
/// sequence the slots of its items so far.
struct Open {
    at: usize,
    expecting_key: Option<bool>,
    items: Vec<u32>,
}

struct Builder<'t> {
    offsets: Offsets<'t>,
    index: PositionIndex,
    open: Vec<Open>,
    done: bool,
}

impl Builder<'_> {
    fn on_event(&mut self, event: Event<'_>, span: Span) {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index()).max(start);
        let line = to_u32(span.start.line());
        match event {
            Event::Scalar(value, style, _, _) => {
                let kind = if style == ScalarStyle::Plain {
                    Kind::Plain
                } else {
                    Kind::OtherScalar
                };
                let key = if self.expecting_key() {
                    self.intern(&value)
                } else {
                    NO_KEY
                };
                let at = self.push(start, end, line, kind, key);
                self.completed(at);
            }
            Event::Alias(_) => {
                let at = self.push(start, end, line, Kind::Alias, NO_KEY);
                self.completed(at);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let mapping = matches!(event, Event::MappingStart(..));
                let kind = if mapping {
                    Kind::Mapping
                } else {
                    Kind::Sequence
                };
                let at = self.push(start, end, line, kind, NO_KEY);
                self.open.push(Open {
                    at,
                    expecting_key: mapping.then_some(true),
                    items: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = self.open.pop() else {
                    self.done = true;
                    return;
                };
                let size = self.index.slots.len() - open.at;
                let run = to_u32(self.index.items.len());
                if self.index.slots[open.at].kind == Kind::Sequence {
                    self.index.items.push(to_u32(open.items.len()));
                    self.index.items.extend(&open.items);
                }
                let slot = &mut self.index.slots[open.at];
                slot.size = to_u32(size);
                slot.end = end.max(slot.start);
                slot.items = run;
                self.completed(open.at);
            }
            Event::DocumentEnd | Event::StreamEnd => self.done = true,
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
        }
    }

    fn expecting_key(&self) -> bool {
        self.open
            .last()
            .is_some_and(|open| open.expecting_key == Some(true))
    }

    fn push(&mut self, start: u32, end: u32, line: u32, kind: Kind, key: u32) -> usize {
        self.index.slots.push(Slot {
            start,
            end,
            line,
            size: 1,
            key,
            items: 0,
            kind,
        });
        self.index.slots.len() - 1
    }

    /// The node at `at` is complete: it is an item of a sequence, or in a mapping a key or a
    /// value (they alternate); at the top, the document is done.
    fn completed(&mut self, at: usize) {
        match self.open.last_mut() {
            None => self.done = true,
            Some(open) => match &mut open.expecting_key {
                Some(expecting_key) => *expecting_key = !*expecting_key,
                None => open.items.push(to_u32(at)),
            },
        }
    }

    fn intern(&mut self, key: &str) -> u32 {
        if let Some(id) = self.index.key_ids.get(key) {
            return *id;
        }
        let id = to_u32(self.index.key_ids.len()).min(NO_KEY - 1);
        self.index.key_ids.insert(key.into(), id);
        id
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
        let text = "version: 1\nusers:\n  - email: \"é@x.cn\"\n    tags: [a, {b: c}]\n    nickname: Zoë\n  - email: b@x.cn\n";
        let index = PositionIndex::build(text);
        let root = index.root().unwrap();
        let users = root.get("users").unwrap();
        let first = users.item(0).unwrap();
        assert_eq!(first.line(), 3);
        let nickname = first.get("nickname").unwrap();
        assert_eq!(&text[nickname.span()], "Zoë");
        assert!(nickname.is_plain_scalar());
        let email = first.get("email").unwrap();
        assert_eq!(&text[email.span()], "\"é@x.cn\"");
        assert!(!email.is_plain_scalar());
        let tag = first
            .get("tags")
            .unwrap()
            .item(1)
            .unwrap()
            .get("b")
            .unwrap();
        assert_eq!(&text[tag.span()], "c");
        let second = users.item(1).unwrap().get("email").unwrap();
        assert_eq!(second.line(), 6);
        assert_eq!(&text[second.span()], "b@x.cn");
        assert!(users.item(2).is_none());
        assert!(first.get("missing").is_none());
        let entry = root.entry("users").unwrap();
        assert_eq!(&text[entry.key.span()], "users");
    }

    #[test]
    fn unreadable_documents_give_an_empty_index() {
        let index = PositionIndex::build("a: [1, 2\nb: }");
        assert!(index.root().is_none());
    }
}
