//! The loader: YAML text (or the same tree built by the Ruby DSL) to validated rules.
//!
//! Everything is checked here, once: unknown keys, wrong types, duplicate ids, empty lists,
//! malformed patterns, unknown attribute types, a version other than 1. Each refusal is a
//! [`Error::Policy`] whose message and fields name the source (file), the line (when the tree
//! was parsed from YAML text: the line of the offending key, or of its nearest ancestor in the
//! text), the rule (id and index) and the key.

use std::collections::HashMap;
use std::fmt::Display;

use super::tree::{self, Mapping, Value};

use super::pattern::{
    parse_dns_name, parse_fingerprint, validate_action, ResourcePattern, SpiffePattern,
    MAX_PATTERN_BYTES,
};
use super::principal::{parse_issuer_key, AttrCondition, Conditions, Principal};
use super::{Effect, Mode, Rule};
use crate::error::{excerpt, key, Error, Field, Result};
use crate::identity::attr;

/// The tag prefix a binding puts on a value of the DSL tree it cannot represent (a Regexp, a
/// too-deep nesting), so the loader refuses it with the rule and key: `!hanami_guard-dsl/Regexp`.
pub const DSL_TAG: &str = "!hanami_guard-dsl/";

/// Largest policy text accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 16 << 20;

/// Most rules a policy may have.
pub const MAX_RULES: usize = 100_000;

const TOP_KEYS: &[&str] = &["version", "rules"];
const RULE_KEYS: &[&str] = &["id", "effect", "actions", "resources", "principals", "mode"];
const PRINCIPAL_KEYS: &[&str] = &[
    "subject",
    "issuer",
    "spiffe_id",
    "trust_domain",
    "dns_name",
    "fingerprint",
    "issuer_key",
];

/// Where an error is: the source, its text when it was YAML (to find the line), and the rule
/// being read.
struct Ctx<'a> {
    source: &'a str,
    text: Option<&'a str>,
    rule: Option<(usize, Option<&'a str>)>,
}

impl Ctx<'_> {
    /// The path of `key` from the top of the tree, as [`tree::line_of`] takes it. The loader
    /// names a key relative to its rule; `(rule)` and `(top level)` name the node itself.
    fn path(&self, key: &str) -> String {
        let key = match key {
            "(rule)" | "(top level)" => "",
            key => key,
        };
        match self.rule {
            None => key.to_owned(),
            Some((i, _)) if key.is_empty() => format!("rules[{i}]"),
            Some((i, _)) => format!("rules[{i}].{key}"),
        }
    }

    fn err(&self, key: &str, msg: impl Display) -> Error {
        let line = self
            .text
            .and_then(|text| tree::line_of(text, &self.path(key)));
        let mut place = match line {
            Some(line) => format!(" line {line},"),
            None => String::new(),
        };
        match self.rule {
            None => {}
            Some((i, Some(id))) => {
                place.push_str(&format!(" rule \"{}\" (rules[{i}]),", excerpt(id, 64)))
            }
            Some((i, None)) => place.push_str(&format!(" rules[{i}] (no valid id),")),
        }
        let mut error = Error::policy(format!(
            "{}:{place} key {}: {msg}",
            self.source,
            excerpt(key, 96)
        ))
        .with(key::FILE, Field::Text(excerpt(self.source, 256)));
        if let Some(line) = line {
            error = error.with(key::LINE, Field::Int(line as u64));
        }
        if let Some((i, id)) = self.rule {
            error = error.with(key::RULE_INDEX, Field::Int(i as u64));
            if let Some(id) = id {
                error = error.with(key::RULE_ID, Field::Text(excerpt(id, 64)));
            }
        }
        error.with(key::KEY, Field::Text(excerpt(key, 96)))
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {}", excerpt(&n.to_string(), 32)),
        Value::String(s) => format!("the string {:?}", excerpt(s, 32)),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            match tag.strip_prefix(DSL_TAG) {
                Some(class) => format!("a Ruby {}", excerpt(class, 72)),
                None => format!(
                    "a value tagged {} (YAML tags are not allowed in a policy)",
                    excerpt(&tag, 48)
                ),
            }
        }
    }
}

fn string<'v>(ctx: &Ctx<'_>, key: &str, v: &'v Value) -> Result<&'v str> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(_) | Value::Bool(_) => Err(ctx.err(
            key,
            format!("must be a string, got {} (quote it in YAML)", describe(v)),
        )),
        _ => Err(ctx.err(key, format!("must be a string, got {}", describe(v)))),
    }
}

fn list<'v>(ctx: &Ctx<'_>, key: &str, v: &'v Value, what: &str) -> Result<&'v [Value]> {
    match v {
        Value::Sequence(s) if s.is_empty() => {
            Err(ctx.err(key, format!("must not be empty: list at least one {what}")))
        }
        Value::Sequence(s) => Ok(s),
        _ => Err(ctx.err(
            key,
            format!(
                "must be a list of {what}s, got {} (write [{what}] even for one)",
                describe(v)
            ),
        )),
    }
}

/// Checks every key of `map` is a string among `allowed`.
fn known_keys(ctx: &Ctx<'_>, path: &str, map: &Mapping, allowed: &[&str]) -> Result<()> {
    for k in map.keys() {
        let name = match k {
            Value::String(s) => s.as_str(),
            other => {
                return Err(ctx.err(
                    path,
                    format!("keys must be strings, got {}", describe(other)),
                ))
            }
        };
        if !allowed.contains(&name) {
            let at = if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            };
            return Err(ctx.err(
                &at,
                format!(
                    "unknown key; the keys allowed here are {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn required<'v>(ctx: &Ctx<'_>, map: &'v Mapping, key: &str, hint: &str) -> Result<&'v Value> {
    map.get(key)
        .ok_or_else(|| ctx.err(key, format!("missing; {hint}")))
}

/// Validates a policy tree (parsed YAML, or the tree the DSL builds) into rules. `text` is the
/// YAML the tree was parsed from, if it was: a refusal then names the line.
pub(super) fn rules_from_value(
    value: &Value,
    source: &str,
    text: Option<&str>,
) -> Result<Vec<Rule>> {
    let top = Ctx {
        source,
        text,
        rule: None,
    };
    let map = match value {
        Value::Mapping(m) => m,
        other => {
            return Err(top.err(
                "(top level)",
                format!(
                    "a policy is a mapping with `version: 1` and `rules:`, got {}",
                    describe(other)
                ),
            ))
        }
    };
    known_keys(&top, "", map, TOP_KEYS)?;
    let version = required(&top, map, "version", "write `version: 1` at the top")?;
    if version.as_u64() != Some(1) {
        return Err(top.err(
            "version",
            format!(
                "must be 1 (the only policy format), got {}",
                describe(version)
            ),
        ));
    }
    let rules = match required(&top, map, "rules", "write `rules:` with a list of rules")? {
        Value::Sequence(s) => s,
        other => {
            return Err(top.err(
                "rules",
                format!("must be a list of rules, got {}", describe(other)),
            ))
        }
    };
    if rules.len() > MAX_RULES {
        return Err(top.err(
            "rules",
            format!("has {} rules; at most {MAX_RULES} are allowed", rules.len()),
        ));
    }
    let mut out = Vec::with_capacity(rules.len());
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let rule = rule_from_value(&top, i, r)?;
        out.push(rule);
        // The id is borrowed from the tree for the duplicate check.
        if let Some(Value::String(id)) = r.as_mapping().and_then(|m| m.get("id")) {
            if let Some(first) = seen.insert(id.as_str(), i) {
                let ctx = Ctx {
                    rule: Some((i, Some(id))),
                    ..top
                };
                return Err(ctx.err(
                    "id",
                    format!("duplicate id: rules[{first}] already uses it; ids must be unique"),
                ));
            }
        }
    }
    Ok(out)
}

/// What is wrong with a rule id, if anything.
fn id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() || id.trim().is_empty() {
        Some("must not be empty")
    } else if id.len() > 256 {
        Some("is limited to 256 bytes")
    } else if id.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    }
}

fn validate_id(ctx: &Ctx<'_>, id: &str) -> Result<()> {
    match id_problem(id) {
        Some(problem) => Err(ctx.err("id", problem)),
        None => Ok(()),
    }
}

fn rule_from_value<'a>(top: &Ctx<'a>, index: usize, value: &'a Value) -> Result<Rule> {
    let mut ctx = Ctx {
        rule: Some((index, None)),
        ..*top
    };
    let map = match value {
        Value::Mapping(m) => m,
        other => {
            return Err(ctx.err(
                "(rule)",
                format!(
                    "each rule is a mapping with id, effect, actions, resources and principals, \
                     got {}",
                    describe(other)
                ),
            ))
        }
    };
    // Name the rule by its id in every later message, when it has a usable one.
    if let Some(Value::String(id)) = map.get("id") {
        if id_problem(id).is_none() {
            ctx.rule = Some((index, Some(id)));
        }
    }
    known_keys(&ctx, "", map, RULE_KEYS)?;

    let id = string(
        &ctx,
        "id",
        required(&ctx, map, "id", "every rule needs a unique id")?,
    )?;
    validate_id(&ctx, id)?;

    let effect = match string(
        &ctx,
        "effect",
        required(
            &ctx,
            map,
            "effect",
            "write `effect: allow` or `effect: deny`",
        )?,
    )? {
        "allow" => Effect::Allow,
        "deny" => Effect::Deny,
        other => {
            return Err(ctx.err(
                "effect",
                format!("must be allow or deny, got {:?}", excerpt(other, 32)),
            ))
        }
    };

    let mut actions: Vec<Box<str>> = Vec::new();
    let mut any_action = false;
    let raw = required(&ctx, map, "actions", "list the actions, or [\"*\"] for all")?;
    for (i, a) in list(&ctx, "actions", raw, "action")?.iter().enumerate() {
        let key = format!("actions[{i}]");
        let a = string(&ctx, &key, a)?;
        validate_action(a).map_err(|e| ctx.err(&key, e))?;
        if a == "*" {
            any_action = true;
        } else if !actions.iter().any(|x| &**x == a) {
            actions.push(a.into());
        }
    }
    if any_action {
        actions.clear();
    }

    let mut resources = Vec::new();
    let raw = required(
        &ctx,
        map,
        "resources",
        "list the resources, or [\"**\"] for all",
    )?;
    for (i, r) in list(&ctx, "resources", raw, "resource")?.iter().enumerate() {
        let key = format!("resources[{i}]");
        let r = string(&ctx, &key, r)?;
        resources.push(ResourcePattern::parse(r).map_err(|e| ctx.err(&key, e))?);
    }

    let mut principals = Vec::new();
    let raw = required(
        &ctx,
        map,
        "principals",
        "list who the rule applies to, or [\"*\"] for any identity",
    )?;
    for (i, p) in list(&ctx, "principals", raw, "principal")?
        .iter()
        .enumerate()
    {
        principals.push(principal_from_value(&ctx, &format!("principals[{i}]"), p)?);
    }

    let mode = match map.get("mode") {
        None => Mode::Enforce,
        Some(v) => {
            let name = string(&ctx, "mode", v)?;
            Mode::from_name(name).ok_or_else(|| {
                ctx.err(
                    "mode",
                    format!(
                        "must be enforce or shadow, got {:?}; `mode: shadow` reports what the \
                         rule would decide without changing any decision, and leaving mode out \
                         enforces it",
                        excerpt(name, 32)
                    ),
                )
            })?
        }
    };

    Ok(Rule {
        id: id.into(),
        effect,
        any_action,
        actions,
        resources,
        principals,
        mode,
    })
}

fn principal_from_value(ctx: &Ctx<'_>, key: &str, value: &Value) -> Result<Principal> {
    let hint = "a principal is \"*\" (any identity) or a mapping of one or more of subject, \
                issuer, spiffe_id, trust_domain, dns_name, fingerprint, issuer_key";
    let map = match value {
        Value::String(s) if s == "*" => return Ok(Principal::Anyone),
        Value::Mapping(m) if !m.is_empty() => m,
        Value::Mapping(_) => return Err(ctx.err(key, format!("is empty; {hint}"))),
        other => return Err(ctx.err(key, format!("got {}; {hint}", describe(other)))),
    };
    known_keys(ctx, key, map, PRINCIPAL_KEYS)?;
    let mut c = Conditions::default();
    for (k, v) in map {
        let name = k.as_str().unwrap_or_default();
        let at = format!("{key}.{name}");
        match name {
            "subject" => c.subject = name_conditions(ctx, &at, v)?,
            "issuer" => c.issuer = name_conditions(ctx, &at, v)?,
            "spiffe_id" => match v {
                Value::Mapping(m) => {
                    known_keys(ctx, &at, m, &["trust_domain"])?;
                    let td = match m.get("trust_domain") {
                        Some(td) => string(ctx, &format!("{at}.trust_domain"), td)?,
                        None => {
                            return Err(ctx.err(
                                &at,
                                "write a SPIFFE ID pattern, or { trust_domain: example.org }",
                            ))
                        }
                    };
                    c.spiffe.push(
                        SpiffePattern::trust_domain(td)
                            .map_err(|e| ctx.err(&format!("{at}.trust_domain"), e))?,
                    );
                }
                _ => {
                    let s = string(ctx, &at, v)?;
                    c.spiffe
                        .push(SpiffePattern::parse(s).map_err(|e| ctx.err(&at, e))?);
                }
            },
            "trust_domain" => {
                let s = string(ctx, &at, v)?;
                c.spiffe
                    .push(SpiffePattern::trust_domain(s).map_err(|e| ctx.err(&at, e))?);
            }
            "dns_name" => {
                let s = string(ctx, &at, v)?;
                c.dns_name = Some(parse_dns_name(s).map_err(|e| ctx.err(&at, e))?);
            }
            "fingerprint" => {
                let s = string(ctx, &at, v)?;
                c.fingerprint = Some(parse_fingerprint(s).map_err(|e| ctx.err(&at, e))?);
            }
            "issuer_key" => {
                let s = string(ctx, &at, v)?;
                c.issuer_key = Some(parse_issuer_key(s).map_err(|e| ctx.err(&at, e))?);
            }
            _ => {} // refused by known_keys
        }
    }
    Ok(Principal::Conditions(c))
}

fn name_conditions(ctx: &Ctx<'_>, key: &str, value: &Value) -> Result<Vec<AttrCondition>> {
    let map = match value {
        Value::Mapping(m) if !m.is_empty() => m,
        other => {
            return Err(ctx.err(
                key,
                format!(
                    "must be a non-empty mapping of attribute => value, e.g. {{ CN: operator, \
                     O: MyOrg }}, got {}",
                    describe(other)
                ),
            ))
        }
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let name = match k {
            Value::String(s) => s.as_str(),
            other => {
                return Err(ctx.err(
                    key,
                    format!("attribute names must be strings, got {}", describe(other)),
                ))
            }
        };
        let at = format!("{key}.{name}");
        let oid = attr::oid_for(name).ok_or_else(|| {
            ctx.err(
                &at,
                "unknown attribute type; use a short name (CN, O, OU, C, L, ST, DC, UID, ...), \
                 a long name (commonName) or a dotted OID (2.5.4.3)",
            )
        })?;
        let value = string(ctx, &at, v)?;
        if value.trim().is_empty() {
            return Err(ctx.err(&at, "must not be empty"));
        }
        if value.len() > MAX_PATTERN_BYTES {
            return Err(ctx.err(&at, format!("is limited to {MAX_PATTERN_BYTES} bytes")));
        }
        if value.chars().any(char::is_control) {
            return Err(ctx.err(&at, "must not contain control characters"));
        }
        out.push(AttrCondition::new(&oid, value));
    }
    Ok(out)
}

/// Parses YAML text; errors name the source.
pub(super) fn parse_yaml(text: &str, source: &str) -> Result<Value> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(Error::policy(format!(
            "{source}: the policy is {} bytes; at most {MAX_POLICY_BYTES} are allowed",
            text.len()
        ))
        .with(key::FILE, Field::Text(excerpt(source, 256))));
    }
    tree::parse(text).map_err(|e| {
        Error::policy(format!(
            "{source}: line {}, invalid YAML: {} at column {}",
            e.line(),
            excerpt(e.message(), 300),
            e.column()
        ))
        .with(key::FILE, Field::Text(excerpt(source, 256)))
        .with(key::LINE, Field::Int(e.line() as u64))
    })
}
