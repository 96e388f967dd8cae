//! The tree `Policy.define` builds (Hashes, Arrays, Strings, Symbols, numbers) converted into
//! the core's policy tree, which the core's loader validates exactly as it validates YAML.

use hanami_guard_core::policy::tree::{self, Tag, TaggedValue};
use magnus::value::ReprValue;
use magnus::{r_hash::ForEach, Error, Float, Integer, RArray, RHash, RString, Ruby, Symbol, Value};

use super::convert::class_name;

/// Deepest nesting the DSL tree may have (a policy needs 5).
const MAX_TREE_DEPTH: usize = 32;

fn ruby_tag(what: impl std::fmt::Display) -> tree::Value {
    tree::Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(format!(
            "{}{what}",
            hanami_guard_core::policy::DSL_TAG.trim_start_matches('!')
        )),
        value: tree::Value::Null,
    }))
}

/// Converts the DSL's Hash/Array tree into the loader's tree. Anything the loader cannot take
/// becomes a tagged value, so the loader refuses it with the rule and key in the message.
pub fn to_tree(ruby: &Ruby, v: Value, depth: usize) -> Result<tree::Value, Error> {
    use tree::Value as Y;
    if depth > MAX_TREE_DEPTH {
        return Ok(ruby_tag(format!(
            "value nested deeper than {MAX_TREE_DEPTH} levels"
        )));
    }
    if v.is_nil() {
        return Ok(Y::Null);
    }
    if v.is_kind_of(ruby.class_true_class()) {
        return Ok(Y::Bool(true));
    }
    if v.is_kind_of(ruby.class_false_class()) {
        return Ok(Y::Bool(false));
    }
    if let Some(s) = RString::from_value(v) {
        return Ok(match s.to_string() {
            Ok(s) => Y::String(s),
            Err(_) => ruby_tag("String that is not valid UTF-8"),
        });
    }
    if let Some(s) = Symbol::from_value(v) {
        return Ok(match s.name() {
            Ok(s) => Y::String(s.into_owned()),
            Err(_) => ruby_tag("Symbol that is not valid UTF-8"),
        });
    }
    if let Some(i) = Integer::from_value(v) {
        return Ok(match i.to_i64() {
            Ok(n) => Y::Number(n.into()),
            Err(_) => ruby_tag("Integer too large"),
        });
    }
    if let Some(f) = Float::from_value(v) {
        return Ok(Y::Number(f.to_f64().into()));
    }
    if let Some(a) = RArray::from_value(v) {
        let mut out = Vec::with_capacity(a.len());
        for i in 0..a.len() {
            let item: Value = a.entry(i as isize)?;
            out.push(to_tree(ruby, item, depth + 1)?);
        }
        return Ok(Y::Sequence(out));
    }
    if let Some(h) = RHash::from_value(v) {
        let mut map = tree::Mapping::new();
        h.foreach(|k: Value, val: Value| {
            let key = to_tree(ruby, k, depth + 1)?;
            let val = to_tree(ruby, val, depth + 1)?;
            if map.contains_key(&key) {
                // `{ CN: "a", "CN" => "b" }`: the loader reports it with its rule and key.
                map.insert(
                    key,
                    ruby_tag("Hash with this key given twice (as a String and as a Symbol)"),
                );
            } else {
                map.insert(key, val);
            }
            Ok(ForEach::Continue)
        })?;
        return Ok(Y::Mapping(map));
    }
    Ok(ruby_tag(class_name(v)))
}
