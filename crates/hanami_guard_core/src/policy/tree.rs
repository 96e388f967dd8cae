//! The tree a policy is validated from: parsed YAML text, or what a binding builds from the
//! Ruby DSL. The core owns this type so that no YAML crate's types are part of its API, and so
//! that what YAML may express in a policy is decided here, once:
//!
//! - one document; keys unique within a mapping (a repeated key is how a rule silently loses a
//!   condition in hand-edited YAML);
//! - tags (on scalars and collections) are kept as [`Value::Tagged`], which the loader refuses
//!   with the rule and key;
//! - anchors and aliases expand, within a bound on the nodes they produce (the "billion laughs"
//!   expansion);
//! - merge keys (`<<`) are plain keys, which the loader refuses as unknown;
//! - nesting is bounded, so a hostile file cannot exhaust the stack of whoever walks the tree;
//! - plain scalars resolve as YAML 1.2's core schema does (`yes` is a string, `1` a number).

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

/// Deepest nesting of sequences and mappings accepted in YAML text.
pub const MAX_DEPTH: usize = 128;

/// Most nodes a document may expand to through aliases, counting every copy.
pub const MAX_NODES: usize = 1 << 20;

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer or a float.
    Number(Number),
    /// Any other scalar.
    String(String),
    /// A list.
    Sequence(Vec<Value>),
    /// A mapping, in the order written.
    Mapping(Mapping),
    /// A value with an explicit tag (`!custom x`), or one a binding could not represent.
    Tagged(Box<TaggedValue>),
}

/// A number as YAML's core schema reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Anything else numeric (floats, `.inf`, `.nan`, integers too large for 64 bits).
    Float(f64),
}

impl From<i64> for Number {
    fn from(n: i64) -> Number {
        Number::Int(n)
    }
}

impl From<f64> for Number {
    fn from(f: f64) -> Number {
        Number::Float(f)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// A tag and the value it is on.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedValue {
    /// The tag as written, `!` included.
    pub tag: Tag,
    /// The tagged value.
    pub value: Value,
}

/// A YAML tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(String);

impl Tag {
    /// A tag; a leading `!` is added when missing.
    pub fn new(tag: impl Into<String>) -> Tag {
        let tag = tag.into();
        if tag.starts_with('!') {
            Tag(tag)
        } else {
            Tag(format!("!{tag}"))
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mapping that keeps the order its entries were written in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping(Vec<(Value, Value)>);

impl Mapping {
    /// An empty mapping.
    pub fn new() -> Mapping {
        Mapping::default()
    }

    /// Adds an entry, replacing the value of an equal key (as a map would).
    pub fn insert(&mut self, key: Value, value: Value) -> Option<Value> {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    /// The value of the string key `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Whether an equal key is present.
    pub fn contains_key(&self, key: &Value) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Mapping {
    type Item = (&'a Value, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Value, Value)>,
        fn(&'a (Value, Value)) -> (&'a Value, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping, if this is one.
    pub fn as_mapping(&self) -> Option<&Mapping> {
        match self {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    /// The integer, if this is a non-negative one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(Number::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// Appends a canonical text of the tree to `out`: one form per tree whatever its YAML
    /// layout, comments or quoting (strings are JSON-quoted; mappings keep the order written).
    pub fn write_canonical(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Value::String(s) => {
                let _ = write!(out, "{s:?}");
            }
            Value::Sequence(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_canonical(out);
                }
                out.push(']');
            }
            Value::Mapping(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    k.write_canonical(out);
                    out.push(':');
                    v.write_canonical(out);
                }
                out.push('}');
            }
            Value::Tagged(t) => {
                let _ = write!(out, "{:?} ", t.tag.to_string());
                t.value.write_canonical(out);
            }
        }
    }

    /// How many nodes this value holds, itself included.
    fn nodes(&self) -> usize {
        match self {
            Value::Sequence(s) => 1 + s.iter().map(Value::nodes).sum::<usize>(),
            Value::Mapping(m) => 1 + m.iter().map(|(k, v)| k.nodes() + v.nodes()).sum::<usize>(),
            Value::Tagged(t) => 1 + t.value.nodes(),
            _ => 1,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

/// Why YAML text is not a tree, and where: [`YamlError::line`] for code, the message (which
/// names the line and column) for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    message: String,
    line: usize,
    column: usize,
}

impl YamlError {
    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The 1-based line where the parser stopped.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column where the parser stopped.
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for YamlError {}

fn at(span: &Span, msg: impl fmt::Display) -> YamlError {
    YamlError {
        message: msg.to_string(),
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn scan_error(e: &ScanError) -> YamlError {
    YamlError {
        message: e.info().to_owned(),
        line: e.marker().line(),
        column: e.marker().col() + 1,
    }
}

/// A sequence or mapping being built, with its anchor and tag.
enum Open {
    Sequence(Vec<Value>, usize, Option<Tag>),
    /// The mapping, a key waiting for its value (and where the key is), the anchor and the tag.
    Mapping(Mapping, Option<(Value, Span)>, usize, Option<Tag>),
}

fn tag_of(tag: Option<Cow<'_, saphyr_parser::Tag>>) -> Option<Tag> {
    tag.map(|t| Tag::new(format!("{}{}", t.handle, t.suffix)))
}

fn tagged(value: Value, tag: Option<Tag>) -> Value {
    match tag {
        Some(tag) => Value::Tagged(Box::new(TaggedValue { tag, value })),
        None => value,
    }
}

/// Parses one YAML document into a tree. Empty text is [`Value::Null`].
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: Vec<(usize, Value)> = Vec::new();
    let mut nodes = 0usize;
    let mut documents = 0usize;
    let mut root: Option<Value> = None;

    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_error(&e))?;
        let (value, anchor) = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(at(
                        &span,
                        "more than one document: a policy is a single YAML document",
                    ));
                }
                continue;
            }
            Event::SequenceStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(
                        &span,
                        format!("recursion limit exceeded: nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                stack.push(Open::Sequence(Vec::new(), anchor, tag_of(tag)));
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(
                        &span,
                        format!("recursion limit exceeded: nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                stack.push(Open::Mapping(Mapping::new(), None, anchor, tag_of(tag)));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Sequence(items, anchor, tag)) => {
                    (tagged(Value::Sequence(items), tag), anchor)
                }
                _ => return Err(at(&span, "unbalanced sequence")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Mapping(map, None, anchor, tag)) => {
                    (tagged(Value::Mapping(map), tag), anchor)
                }
                _ => return Err(at(&span, "unbalanced mapping")),
            },
            Event::Scalar(text, style, anchor, tag) => {
                (tagged(scalar(text, style), tag_of(tag)), anchor)
            }
            Event::Alias(id) => match anchors.iter().rev().find(|(a, _)| *a == id) {
                Some((_, v)) => {
                    nodes += v.nodes();
                    if nodes > MAX_NODES {
                        return Err(at(
                            &span,
                            format!(
                                "repetition limit exceeded: aliases expand to more than \
                                 {MAX_NODES} nodes"
                            ),
                        ));
                    }
                    (v.clone(), 0)
                }
                None => return Err(at(&span, "unknown anchor")),
            },
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(at(
                &span,
                format!("the document has more than {MAX_NODES} nodes"),
            ));
        }
        if anchor != 0 {
            anchors.push((anchor, value.clone()));
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Open::Sequence(items, ..)) => items.push(value),
            Some(Open::Mapping(map, pending, ..)) => match pending.take() {
                None => *pending = Some((value, span)),
                Some((key, key_span)) => {
                    if map.contains_key(&key) {
                        return Err(at(
                            &key_span,
                            format!("duplicate entry with key {}", show(&key)),
                        ));
                    }
                    map.0.push((key, value));
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

fn show(key: &Value) -> String {
    match key {
        Value::String(s) => format!("{:?}", crate::error::excerpt(s, 48)),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => "(a collection)".to_owned(),
    }
}

/// Where a node sits in its parent, while [`line_of`] walks the text.
enum Slot {
    /// In a sequence: the path of the sequence and the index of the next item.
    Item(Option<String>, usize),
    /// In a mapping, waiting for a key: the path of the mapping.
    Key(Option<String>),
    /// In a mapping, inside a key: the mapping's path and the entry's (`None` for a key that is
    /// not a scalar, which no loader path names).
    InKey(Option<String>, Option<String>),
    /// In a mapping, waiting for the value of the entry: the mapping's path and the entry's.
    Value(Option<String>, Option<String>),
}

/// The 1-based line of the node at `path` in YAML text that [`parse`] accepts, or of its
/// nearest ancestor written in the text (a missing key, or a node inside an alias's copy, is
/// found at its parent). A path is written as the loader names a key: mapping keys joined by
/// `.`, sequence items as `[i]`, the root as the empty path (`rules[0].principals[1].subject`).
/// A mapping entry is at the line of its key.
///
/// Nothing of this is kept in the tree: positions are only needed when a load is refused (or
/// a tool reports on a file), so they are read back from the text then, and a load that
/// succeeds (and every decision) pays nothing for them.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let mut best = None;
    let mut found = None;
    walk(text, |node, line| {
        if node == path {
            found = Some(line);
            return ControlFlow::Break(());
        }
        let below = path
            .strip_prefix(node)
            .is_some_and(|rest| node.is_empty() || rest.starts_with(['.', '[']));
        if below {
            best = Some(line);
        }
        ControlFlow::Continue(())
    });
    found.or(best)
}

/// The 1-based line of each item of the sequence at `path` (as [`line_of`] names it), in
/// order, in one pass: where each rule of `rules` starts.
pub fn item_lines(text: &str, path: &str) -> Vec<usize> {
    let prefix = format!("{path}[");
    let mut lines = Vec::new();
    walk(text, |node, line| {
        let index = node
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_suffix(']'));
        if index.is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit())) {
            lines.push(line);
        }
        ControlFlow::Continue(())
    });
    lines
}

/// Calls `visit` with the path and line of every node written in the text, in document order
/// (a mapping entry once, at its key), until it breaks.
fn walk(text: &str, mut visit: impl FnMut(&str, usize) -> ControlFlow<()>) {
    fn join(parent: &Option<String>, key: &str) -> Option<String> {
        parent.as_ref().map(|p| {
            if p.is_empty() {
                key.to_owned()
            } else {
                format!("{p}.{key}")
            }
        })
    }
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Slot> = Vec::new();
    while let Some(Ok((event, span))) = parser.next_event() {
        let (starts, ends) = match &event {
            Event::Scalar(..) | Event::Alias(_) => (true, true),
            Event::SequenceStart(..) | Event::MappingStart(..) => (true, false),
            Event::SequenceEnd | Event::MappingEnd => (false, true),
            _ => continue,
        };
        if starts {
            // The node's own path, from where it sits in its parent.
            let node = match stack.last_mut() {
                None => Some(String::new()),
                Some(Slot::Item(parent, next)) => {
                    let node = parent.as_ref().map(|p| format!("{p}[{next}]"));
                    *next += 1;
                    node
                }
                Some(Slot::Key(parent)) => {
                    let parent = parent.take();
                    let entry = match &event {
                        Event::Scalar(key, ..) => join(&parent, key),
                        _ => None,
                    };
                    if let Some(slot) = stack.last_mut() {
                        *slot = Slot::InKey(parent, entry.clone());
                    }
                    entry
                }
                Some(Slot::InKey(..)) => None,
                // The entry was visited at its key's line already; its value only passes the
                // path on to what it holds.
                Some(Slot::Value(_, entry)) => entry.clone(),
            };
            let is_value = matches!(stack.last(), Some(Slot::Value(..)));
            if let Some(node) = &node {
                if !is_value && visit(node, span.start.line()).is_break() {
                    return;
                }
            }
            match event {
                Event::SequenceStart(..) => stack.push(Slot::Item(node, 0)),
                Event::MappingStart(..) => stack.push(Slot::Key(node)),
                _ => {}
            }
        }
        if ends {
            if matches!(event, Event::SequenceEnd | Event::MappingEnd) {
                stack.pop();
            }
            // The node is complete: its parent moves on.
            if let Some(slot) = stack.last_mut() {
                let next = match std::mem::replace(slot, Slot::Key(None)) {
                    Slot::InKey(parent, entry) => Slot::Value(parent, entry),
                    Slot::Value(parent, _) => Slot::Key(parent),
                    other => other,
                };
                *slot = next;
            }
        }
    }
}

/// Resolves a scalar as YAML 1.2's core schema does: only plain scalars can be anything but a
/// string.
fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.into_owned());
    }
    match &*text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Number(Number::Float(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(Number::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Value::Number(Number::Float(f64::NAN)),
        _ => {}
    }
    if let Some(n) = integer(&text) {
        return Value::Number(n);
    }
    if is_float(&text) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Number(Number::Float(f));
        }
    }
    Value::String(text.into_owned())
}

fn integer(s: &str) -> Option<Number> {
    let radix = |digits: &str, radix: u32| -> Option<Number> {
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        Some(match i64::from_str_radix(digits, radix) {
            Ok(n) => Number::Int(n),
            Err(_) => Number::Float(u128::from_str_radix(digits, radix).ok()? as f64),
        })
    };
    if let Some(hex) = s.strip_prefix("0x") {
        return radix(hex, 16);
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return radix(oct, 8);
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match s.parse::<i64>() {
        Ok(n) => Number::Int(n),
        Err(_) => Number::Float(s.parse::<f64>().ok()?),
    })
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac;
    }
    if int == 0 && frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> Mapping {
        match parse(text) {
            Ok(Value::Mapping(m)) => m,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn core_schema_scalars() {
        let m = map(
            "a: 1\nb: '1'\nc: yes\nd: true\ne: ~\nf: 1.5\ng: 0x1f\nh: -3\ni: 1e3\nj: \"x\"\nk: .5\n\
             l: 99999999999999999999\nm: 1.2.3\n",
        );
        assert_eq!(m.get("a"), Some(&Value::Number(Number::Int(1))));
        assert_eq!(m.get("b"), Some(&Value::from("1")));
        assert_eq!(m.get("c"), Some(&Value::from("yes")));
        assert_eq!(m.get("d"), Some(&Value::Bool(true)));
        assert_eq!(m.get("e"), Some(&Value::Null));
        assert_eq!(m.get("f"), Some(&Value::Number(Number::Float(1.5))));
        assert_eq!(m.get("g"), Some(&Value::Number(Number::Int(31))));
        assert_eq!(m.get("h"), Some(&Value::Number(Number::Int(-3))));
        assert_eq!(m.get("i"), Some(&Value::Number(Number::Float(1000.0))));
        assert_eq!(m.get("j"), Some(&Value::from("x")));
        assert_eq!(m.get("k"), Some(&Value::Number(Number::Float(0.5))));
        assert!(matches!(m.get("l"), Some(Value::Number(Number::Float(_)))));
        assert_eq!(m.get("m"), Some(&Value::from("1.2.3")));
    }

    #[test]
    fn refusals() {
        let e = |t: &str| parse(t).expect_err(t).to_string();
        assert!(e("a: 1\na: 2\n").contains("duplicate"));
        assert!(e("a: 1\n---\nb: 2\n").contains("more than one document"));
        assert!(e(&"[".repeat(10_000)).contains("recursion"));
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                      f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                      g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        assert!(e(laughs).contains("repetition limit"));
        assert!(e("a: *nowhere\n").contains("anchor") || e("a: *nowhere\n").contains("alias"));
    }

    #[test]
    fn refusals_name_their_line() {
        let line = |t: &str| parse(t).expect_err(t).line();
        assert_eq!(line("a: 1\nb: 2\na: 3\n"), 3);
        assert_eq!(line("a: 1\n---\nb: 2\n"), 2);
        assert_eq!(line("a: 1\nb: [1,\n"), 3);
        assert_eq!(line("a: 1\n\nb: *nowhere\n"), 3);
        assert_eq!(line("a:\n  - b\n c: [\n"), 3);
        let e = parse("a: 1\na: 2\n").expect_err("duplicate");
        assert!(e.to_string().ends_with("at line 2 column 1"), "{e}");
    }

    #[test]
    fn line_of_finds_entries_items_and_ancestors() {
        let text = "version: 1\nrules:\n  - id: a\n    actions:\n      - read\n      - 5\n    \
                    principals: [\"*\", {cn: x}]\n  - {id: b,\n     effect: d}\n  - *x\n";
        let text = text.replace("*x", "&x {id: c}");
        for (path, line) in [
            ("", 1),
            ("version", 1),
            ("rules", 2),
            ("rules[0]", 3),
            ("rules[0].id", 3),
            ("rules[0].actions", 4),
            ("rules[0].actions[1]", 6),
            ("rules[0].principals[1].cn", 7),
            ("rules[0].principals[1].cn.deeper", 7),
            ("rules[0].missing", 3),
            ("rules[1].effect", 9),
            ("rules[2]", 10),
            ("rules[7]", 2),
            ("nothing", 1),
        ] {
            assert_eq!(line_of(&text, path), Some(line), "{path:?}");
        }
        // Inside an alias's copy, the line is the alias's.
        let aliased = "a: &r {x: 1}\nb:\n  *r\n";
        assert_eq!(line_of(aliased, "b.x"), Some(2));
        // A key that is a collection is never a path, nor are its contents.
        assert_eq!(line_of("? [k]\n: 1\nk: 2\n", "k"), Some(3));
        assert_eq!(line_of("", "a"), None);
        assert_eq!(item_lines(&text, "rules"), vec![3, 8, 10]);
        assert_eq!(item_lines(&text, "rules[0].actions"), vec![5, 6]);
        assert_eq!(item_lines(&text, "version"), Vec::<usize>::new());
    }

    #[test]
    fn kept_as_written() {
        let m = map("k: !custom x\nt: !!map {}\n<<: {a: 1}\nl: &x [1]\nm: *x\n");
        assert!(matches!(m.get("k"), Some(Value::Tagged(t)) if t.tag.to_string() == "!custom"));
        assert!(
            matches!(m.get("t"), Some(Value::Tagged(t)) if t.value == Value::Mapping(Mapping::new()))
        );
        assert!(m.get("<<").is_some(), "merge keys are plain keys");
        assert_eq!(m.get("l"), m.get("m"));
        assert_eq!(parse("").ok(), Some(Value::Null));
    }
}
