//! Where a value comes from: the intra-method taint that the sinks in `analyze.rs` ask about.
//!
//! A value is tracked as a small set of flags rather than a type. The analysis is deliberately
//! local (one method at a time, in source order) and cheap; it errs towards "input" for values
//! built from input and towards "clean" for values looked up in constants, which is how an
//! allowlist reads in Ruby (`ALLOWED.fetch(x)`, `ALLOWED[x] or raise`).

use ruby_prism::Node;

use super::analyze::Analyzer;

/// Request or certificate data: the holder chooses it.
pub const INPUT: u8 = 1;
/// A certificate's subject or issuer as an object (a distinguished name).
pub const DN_OBJ: u8 = 2;
/// A certificate's subject or issuer flattened to a string, where `,` `=` and escaping make one
/// text read two ways.
pub const DN_STR: u8 = 4;
/// A filesystem path (Pathname, File.join, File.expand_path, ...), input or not.
pub const FSPATH: u8 = 8;

/// Expression depth past which a value counts as input: nesting that deep is not how code is
/// written, so it is how a scanner is evaded, and the doubt goes against the holder. Prism
/// already bounds nesting; this keeps the evaluator's own recursion small whatever the tree.
const MAX_EVAL_DEPTH: u32 = 48;

/// Receiverless calls (and local names) that are request data in a Hanami action or Rack app.
const SOURCE_NAMES: &[&[u8]] = &[
    b"params", b"request", b"req", b"env", b"headers", b"cookies",
];

/// Calls that hand back the client's certificate or identity.
const IDENTITY_CALLS: &[&[u8]] = &[
    b"client_identity",
    b"peer_cert",
    b"peer_certificate",
    b"peercert",
    b"client_certificate",
    b"client_cert",
];

/// Methods whose result carries no text of the receiver.
const CLEAN_RESULT: &[&[u8]] = &[
    b"to_i",
    b"to_f",
    b"to_r",
    b"to_c",
    b"size",
    b"length",
    b"count",
    b"bytesize",
    b"hash",
    b"object_id",
    b"class",
    b"freeze_count",
    b"ord",
    b"to_proc",
    b"Integer",
    b"Float",
];

/// Methods whose arguments flow into the result (string and path building).
const ARG_PROPAGATE: &[&[u8]] = &[
    b"+", b"%", b"<<", b"concat", b"join", b"prepend", b"insert", b"/", b"sub", b"gsub", b"merge",
    b"push", b"format", b"sprintf", b"replace", b"center", b"ljust", b"rjust", b"sub!", b"gsub!",
    b"append", b"unshift", b"*",
];

/// Methods that turn a distinguished name into a string.
const DN_TO_STRING: &[&[u8]] = &[
    b"to_s",
    b"to_str",
    b"to_utf8",
    b"to_string",
    b"inspect",
    b"to_rfc4514",
];

/// Methods whose result is a certificate field (names, SANs, SPIFFE ID).
const CERT_FIELDS: &[&[u8]] = &[
    b"dns_names",
    b"uris",
    b"emails",
    b"ip_addresses",
    b"spiffe_id",
    b"common_name",
    b"extensions",
    b"subject_alt_name",
    b"san",
    b"sans",
    b"serial",
];

/// Constant receivers whose listed methods build a value from their arguments.
fn const_propagates(path: &str, name: &[u8]) -> bool {
    match path {
        "File" => matches!(
            name,
            b"join"
                | b"expand_path"
                | b"absolute_path"
                | b"realpath"
                | b"basename"
                | b"dirname"
                | b"extname"
                | b"readlink"
                | b"realdirpath"
        ),
        "Pathname"
        | "String"
        | "Array"
        | "Shellwords"
        | "URI"
        | "CGI"
        | "Base64"
        | "JSON"
        | "Rack::Utils"
        | "ERB::Util"
        | "Kernel"
        | "OpenSSL::X509::Certificate"
        | "OpenSSL::X509::Name"
        | "HanamiGuard::Certificate"
        | "HanamiGuard::Xfcc"
        | "HanamiGuard::DistinguishedName"
        | "HanamiGuard::SpiffeId"
        | "Addressable::URI" => true,
        _ => false,
    }
}

fn is_fs_builder(path: &str, name: &[u8]) -> bool {
    matches!(
        (path, name),
        (
            "File",
            b"join" | b"expand_path" | b"absolute_path" | b"realpath" | b"realdirpath" | b"dirname"
        ) | ("Pathname", b"new" | b"pwd" | b"getwd")
    )
}

pub(super) fn contains(list: &[&[u8]], name: &[u8]) -> bool {
    list.contains(&name)
}

/// The constant a node names (`File`, `OpenSSL::SSL`), without a leading `::`.
pub(super) fn const_path(node: &Node<'_>) -> Option<String> {
    if let Some(c) = node.as_constant_read_node() {
        return Some(String::from_utf8_lossy(c.name().as_slice()).into_owned());
    }
    let c = node.as_constant_path_node()?;
    let name = String::from_utf8_lossy(c.name()?.as_slice()).into_owned();
    match c.parent() {
        None => Some(name),
        Some(parent) => Some(format!("{}::{name}", const_path(&parent)?)),
    }
}

impl Analyzer<'_> {
    /// The flags of the value `node` evaluates to.
    pub(super) fn taint(&self, node: &Node<'_>) -> u8 {
        self.taint_at(node, 0)
    }

    fn taint_all<'pr>(&self, nodes: impl IntoIterator<Item = Node<'pr>>, depth: u32) -> u8 {
        nodes
            .into_iter()
            .fold(0, |acc, n| acc | self.taint_at(&n, depth))
    }

    fn taint_at(&self, node: &Node<'_>, depth: u32) -> u8 {
        if depth > MAX_EVAL_DEPTH {
            return INPUT;
        }
        let d = depth + 1;
        match node {
            Node::LocalVariableReadNode { .. } => {
                let Some(n) = node.as_local_variable_read_node() else {
                    return 0;
                };
                let name = n.name().as_slice();
                match self.var(name) {
                    Some(t) => t,
                    None if contains(SOURCE_NAMES, name) => INPUT,
                    None => 0,
                }
            }
            Node::InstanceVariableReadNode { .. } => {
                node.as_instance_variable_read_node().map_or(0, |n| {
                    let name = n.name().as_slice();
                    self.var(name).unwrap_or(0) | self.known_ivar(name)
                })
            }
            Node::InterpolatedStringNode { .. } => node
                .as_interpolated_string_node()
                .map_or(0, |n| self.parts(n.parts(), d)),
            Node::InterpolatedSymbolNode { .. } => node
                .as_interpolated_symbol_node()
                .map_or(0, |n| self.parts(n.parts(), d)),
            Node::InterpolatedXStringNode { .. } => node
                .as_interpolated_x_string_node()
                .map_or(0, |n| self.parts(n.parts(), d)),
            Node::InterpolatedRegularExpressionNode { .. } => node
                .as_interpolated_regular_expression_node()
                .map_or(0, |n| self.parts(n.parts(), d)),
            Node::EmbeddedStatementsNode { .. } => {
                let t = node
                    .as_embedded_statements_node()
                    .and_then(|n| n.statements())
                    .and_then(|s| s.body().last())
                    .map_or(0, |n| self.taint_at(&n, d));
                stringify(t)
            }
            Node::EmbeddedVariableNode { .. } => node
                .as_embedded_variable_node()
                .map_or(0, |n| stringify(self.taint_at(&n.variable(), d))),
            Node::ArrayNode { .. } => node
                .as_array_node()
                .map_or(0, |n| self.taint_all(&n.elements(), d)),
            Node::HashNode { .. } => node
                .as_hash_node()
                .map_or(0, |n| self.taint_all(&n.elements(), d)),
            Node::KeywordHashNode { .. } => node
                .as_keyword_hash_node()
                .map_or(0, |n| self.taint_all(&n.elements(), d)),
            Node::AssocNode { .. } => node
                .as_assoc_node()
                .map_or(0, |n| self.taint_at(&n.value(), d)),
            Node::SplatNode { .. } => node
                .as_splat_node()
                .and_then(|n| n.expression())
                .map_or(0, |n| self.taint_at(&n, d)),
            Node::ParenthesesNode { .. } => node
                .as_parentheses_node()
                .and_then(|n| n.body())
                .map_or(0, |n| self.taint_at(&n, d)),
            Node::StatementsNode { .. } => node
                .as_statements_node()
                .and_then(|n| n.body().last())
                .map_or(0, |n| self.taint_at(&n, d)),
            Node::BeginNode { .. } => node
                .as_begin_node()
                .and_then(|n| n.statements())
                .and_then(|s| s.body().last())
                .map_or(0, |n| self.taint_at(&n, d)),
            Node::OrNode { .. } => node.as_or_node().map_or(0, |n| {
                self.taint_at(&n.left(), d) | self.taint_at(&n.right(), d)
            }),
            Node::AndNode { .. } => node.as_and_node().map_or(0, |n| {
                self.taint_at(&n.left(), d) | self.taint_at(&n.right(), d)
            }),
            Node::IfNode { .. } => node.as_if_node().map_or(0, |n| {
                let a = n.statements().map_or(0, |s| self.taint_at(&s.as_node(), d));
                let b = n.subsequent().map_or(0, |s| self.taint_at(&s, d));
                a | b
            }),
            Node::UnlessNode { .. } => node.as_unless_node().map_or(0, |n| {
                let a = n.statements().map_or(0, |s| self.taint_at(&s.as_node(), d));
                let b = n
                    .else_clause()
                    .map_or(0, |s| self.taint_at(&s.as_node(), d));
                a | b
            }),
            Node::ElseNode { .. } => node
                .as_else_node()
                .and_then(|n| n.statements())
                .map_or(0, |s| self.taint_at(&s.as_node(), d)),
            Node::CaseNode { .. } => node.as_case_node().map_or(0, |n| {
                let whens = n.conditions().iter().fold(0, |acc, w| {
                    acc | w
                        .as_when_node()
                        .and_then(|w| w.statements())
                        .map_or(0, |s| self.taint_at(&s.as_node(), d))
                });
                whens
                    | n.else_clause()
                        .map_or(0, |e| self.taint_at(&e.as_node(), d))
            }),
            Node::LocalVariableWriteNode { .. } => node
                .as_local_variable_write_node()
                .map_or(0, |n| self.taint_at(&n.value(), d)),
            Node::LocalVariableOrWriteNode { .. } => node
                .as_local_variable_or_write_node()
                .map_or(0, |n| self.taint_at(&n.value(), d)),
            Node::RescueModifierNode { .. } => node.as_rescue_modifier_node().map_or(0, |n| {
                self.taint_at(&n.expression(), d) | self.taint_at(&n.rescue_expression(), d)
            }),
            Node::CallNode { .. } => self.call_taint(node, d),
            _ => 0,
        }
    }

    fn parts(&self, parts: ruby_prism::NodeList<'_>, depth: u32) -> u8 {
        parts
            .iter()
            .fold(0, |acc, p| acc | stringify(self.taint_at(&p, depth)))
    }

    fn call_taint(&self, node: &Node<'_>, d: u32) -> u8 {
        let Some(call) = node.as_call_node() else {
            return 0;
        };
        let name = call.name().as_slice();
        let arg_taint = || {
            call.arguments()
                .map_or(0, |a| self.taint_all(&a.arguments(), d))
        };
        if contains(CLEAN_RESULT, name) || (name.ends_with(b"?") && name != b"?") {
            return 0;
        }
        let Some(receiver) = call.receiver() else {
            if contains(SOURCE_NAMES, name) || contains(IDENTITY_CALLS, name) {
                return INPUT;
            }
            return match name {
                b"format" | b"sprintf" | b"String" | b"Array" | b"URI" => arg_taint() & !DN_OBJ,
                b"Pathname" => arg_taint() | FSPATH,
                b"root" => FSPATH,
                _ => self.known_return(name),
            };
        };
        if let Some(path) = const_path(&receiver) {
            // A lookup in a constant is an allowlist: its result is the constant's value, not
            // the key the holder chose.
            // `BASE.join(x)`, `BASE + x`, `TEMPLATE % x` build from the argument.
            let builds = contains(ARG_PROPAGATE, name);
            let mut t = if const_propagates(&path, name) || builds {
                stringify(arg_taint())
            } else {
                0
            };
            if is_fs_builder(&path, name)
                || (builds
                    && matches!(name, b"join" | b"/" | b"+")
                    && self.named_like_dir(&receiver))
            {
                t |= FSPATH;
            }
            return t & !DN_OBJ;
        }
        if receiver.as_self_node().is_some() {
            return self.known_return(name);
        }
        let recv = self.taint_at(&receiver, d);
        if name == b"subject" || name == b"issuer" {
            if recv & INPUT != 0 || self.looks_like_certificate(&receiver) {
                return INPUT | DN_OBJ;
            }
            return recv;
        }
        if contains(CERT_FIELDS, name)
            && (recv & INPUT != 0 || self.looks_like_certificate(&receiver))
        {
            return INPUT;
        }
        if name == b"root" {
            return recv | FSPATH;
        }
        let mut t = recv;
        if t & DN_OBJ != 0 {
            t &= !DN_OBJ;
            if contains(DN_TO_STRING, name) {
                t |= DN_STR;
            }
        }
        if contains(ARG_PROPAGATE, name) {
            t |= stringify(arg_taint());
            if matches!(name, b"join" | b"/" | b"+")
                && (recv & FSPATH != 0
                    || receiver.as_array_node().is_none() && self.named_like_dir(&receiver))
            {
                t |= FSPATH;
            }
        }
        t
    }

    /// Whether the receiver's own text names a certificate (`cert`, `peer_cert`, `identity`).
    fn looks_like_certificate(&self, node: &Node<'_>) -> bool {
        let text = self.text(node).to_ascii_lowercase();
        [&b"cert"[..], b"identity", b"x509", b"peer", b"svid"]
            .iter()
            .any(|w| text.windows(w.len()).any(|win| win == *w))
    }

    /// Whether the receiver's own text names a directory (`root`, `base`, `dir`).
    pub(super) fn named_like_dir(&self, node: &Node<'_>) -> bool {
        let text = self.text(node).to_ascii_lowercase();
        [
            &b"root"[..],
            b"base",
            b"dir",
            b"folder",
            b"public",
            b"upload",
            b"storage",
        ]
        .iter()
        .any(|w| text.windows(w.len()).any(|win| win == *w))
    }
}

/// Interpolating or formatting a name makes it a string.
fn stringify(t: u8) -> u8 {
    if t & DN_OBJ != 0 {
        (t & !DN_OBJ) | DN_STR
    } else {
        t
    }
}
