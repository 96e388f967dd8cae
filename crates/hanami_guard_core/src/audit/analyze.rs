//! One file's analysis: parse with Prism, walk the tree once in source order, and report each
//! place where request or certificate data reaches a sink, or where a defence is flawed.

use std::cell::RefCell;

/// The analysis's tables are keyed by names from the scanned code: foldhash is several times
/// faster than SipHash on such short keys and still seeded per process, so a file cannot be
/// written to make its tables collide.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

use ruby_prism::{CallNode, CaseNode, ClassNode, DefNode, IfNode, Node, UnlessNode, Visit};

use super::rules::Rule;
use super::taint::{const_path, DN_STR, INPUT};

/// A finding before the report adds the path and fingerprint.
#[derive(Debug, Clone)]
pub(super) struct RawFinding {
    pub rule: Rule,
    pub offset: usize,
    pub message: String,
}

/// What one method (or the file's top level) knows about its variables.
#[derive(Default)]
pub(super) struct Scope {
    pub(super) vars: HashMap<Vec<u8>, u8>,
    /// For `handle`/`call`: where the def starts, to report missing authorization there.
    pub(super) entry: Option<usize>,
    pub(super) authorizes: bool,
    pub(super) input_sink: bool,
}

#[derive(Default)]
pub(super) struct ClassCtx {
    pub(super) skip_authorization: bool,
    pub(super) authorizes: bool,
    pub(super) pending: Vec<usize>,
}

/// What the methods of one file do with input, learnt by one pass and used by the next: a
/// helper called with a request value (`read_file(params[:f])`), a helper that returns one
/// (`def image = request.params[:image]`), an instance variable set from one in another method.
#[derive(Default, Clone, PartialEq, Eq)]
pub(super) struct Summary {
    params: HashMap<Vec<u8>, Vec<u8>>,
    returns: HashMap<Vec<u8>, u8>,
    ivars: HashMap<Vec<u8>, u8>,
    /// Methods that send input to a sink: an entry point calling one with input reaches it.
    sinks: std::collections::BTreeSet<Vec<u8>>,
}

/// The summary entries a first pass read, by table.
#[derive(Default)]
struct Reads {
    params: HashSet<Vec<u8>>,
    returns: HashSet<Vec<u8>>,
    ivars: HashSet<Vec<u8>>,
    sinks: HashSet<Vec<u8>>,
}

fn note_read(set: &mut HashSet<Vec<u8>>, name: &[u8]) {
    if !set.contains(name) {
        set.insert(name.to_vec());
    }
}

/// Walks one parsed file.
pub(super) struct Analyzer<'a> {
    pub(super) source: &'a [u8],
    pub(super) scopes: Vec<Scope>,
    pub(super) classes: Vec<ClassCtx>,
    pub findings: Vec<RawFinding>,
    /// From the previous pass.
    pub(super) known: Summary,
    /// Collected in this pass.
    pub learnt: Summary,
    /// The first pass reads what it has learnt so far instead of `known` (which is empty), and
    /// records what it read: see [`Analyzer::first`].
    reads: RefCell<Option<Reads>>,
    /// An entry the first pass read changed after the read: another pass is needed.
    pub stale: bool,
}

impl<'a> Analyzer<'a> {
    pub(super) fn new(source: &'a [u8], known: Summary) -> Self {
        Analyzer {
            source,
            scopes: vec![Scope::default()],
            classes: Vec::new(),
            findings: Vec::new(),
            known,
            learnt: Summary::default(),
            reads: RefCell::new(None),
            stale: false,
        }
    }

    /// The first pass of a file. It reads the summary learnt so far in this same pass, so a
    /// helper defined after its caller already sees what the caller passed it. If no entry it
    /// read changed after the read (`stale` stays false), a second pass given this pass's
    /// summary would read the same values at every step, take the same path and find the same:
    /// this pass is the fixed point and the file needs no other.
    pub(super) fn first(source: &'a [u8]) -> Self {
        Analyzer {
            reads: RefCell::new(Some(Reads::default())),
            ..Analyzer::new(source, Summary::default())
        }
    }

    /// What a method of this file returns, as far as the previous pass saw.
    pub(super) fn known_return(&self, name: &[u8]) -> u8 {
        match self.reads.borrow_mut().as_mut() {
            Some(r) => {
                note_read(&mut r.returns, name);
                self.learnt.returns.get(name).copied().unwrap_or(0)
            }
            None => self.known.returns.get(name).copied().unwrap_or(0),
        }
    }

    /// What an instance variable was set from, anywhere in this file.
    pub(super) fn known_ivar(&self, name: &[u8]) -> u8 {
        match self.reads.borrow_mut().as_mut() {
            Some(r) => {
                note_read(&mut r.ivars, name);
                self.learnt.ivars.get(name).copied().unwrap_or(0)
            }
            None => self.known.ivars.get(name).copied().unwrap_or(0),
        }
    }

    fn known_sink(&self, name: &[u8]) -> bool {
        match self.reads.borrow_mut().as_mut() {
            Some(r) => {
                note_read(&mut r.sinks, name);
                self.learnt.sinks.contains(name)
            }
            None => self.known.sinks.contains(name),
        }
    }

    /// The taint the callers of method `name` pass in its argument `i`.
    fn known_param(&self, name: &[u8], i: usize) -> u8 {
        let table = match self.reads.borrow_mut().as_mut() {
            Some(r) => {
                note_read(&mut r.params, name);
                &self.learnt.params
            }
            None => &self.known.params,
        };
        table.get(name).and_then(|s| s.get(i)).copied().unwrap_or(0)
    }

    /// A learnt entry gained something: stale if the first pass read it before.
    fn changed(&mut self, table: fn(&Reads) -> &HashSet<Vec<u8>>, name: &[u8]) {
        if self
            .reads
            .borrow()
            .as_ref()
            .is_some_and(|r| table(r).contains(name))
        {
            self.stale = true;
        }
    }

    /// Records the taint of each argument of a call to a method of this file.
    fn learn_call(&mut self, call: &CallNode<'_>) {
        let own = call.receiver().map_or(true, |r| r.as_self_node().is_some());
        let Some(args) = call.arguments() else { return };
        if !own {
            return;
        }
        let taints: Vec<u8> = args.arguments().iter().map(|a| self.taint(&a)).collect();
        if taints.iter().all(|t| *t == 0) {
            return;
        }
        let name = call.name().as_slice();
        if self.known_sink(name) {
            if let Some(s) = self.scopes.last_mut() {
                s.input_sink = true;
            }
        }
        let entry = self.learnt.params.entry(name.to_vec()).or_default();
        if entry.len() < taints.len() {
            entry.resize(taints.len(), 0);
        }
        let mut gained = false;
        for (e, t) in entry.iter_mut().zip(taints) {
            gained |= *e | t != *e;
            *e |= t;
        }
        if gained {
            self.changed(|r| &r.params, name);
        }
    }

    pub(super) fn text(&self, node: &Node<'_>) -> &'a [u8] {
        let loc = node.location();
        self.source
            .get(loc.start_offset()..loc.end_offset())
            .unwrap_or_default()
    }

    pub(super) fn var(&self, name: &[u8]) -> Option<u8> {
        self.scopes.last().and_then(|s| s.vars.get(name).copied())
    }

    pub(super) fn set_var(&mut self, name: &[u8], t: u8) {
        if let Some(s) = self.scopes.last_mut() {
            s.vars.insert(name.to_vec(), t);
        }
    }

    pub(super) fn report(&mut self, rule: Rule, node: &Node<'_>, message: impl Into<String>) {
        if matches!(
            rule,
            Rule::ShellExec
                | Rule::OptionInjection
                | Rule::FileAccess
                | Rule::DynamicCode
                | Rule::UnsafeDeserialize
        ) {
            if let Some(s) = self.scopes.last_mut() {
                s.input_sink = true;
            }
        }
        self.findings.push(RawFinding {
            rule,
            offset: node.location().start_offset(),
            message: message.into(),
        });
    }

    fn assign(&mut self, name: &[u8], value: &Node<'_>, or: bool) {
        let t = self.taint(value);
        if name.starts_with(b"@") && t != 0 {
            let entry = self.learnt.ivars.entry(name.to_vec()).or_default();
            if *entry | t != *entry {
                *entry |= t;
                self.changed(|r| &r.ivars, name);
            }
        }
        let old = if or { self.var(name).unwrap_or(0) } else { 0 };
        self.set_var(name, t | old);
    }

    /// `ALLOWED.include?(x)`, `%w[a b].include?(x)`, `ALLOWED.key?(x)`: the local it checks.
    fn allowlist_check(&self, predicate: &Node<'_>) -> Option<Vec<u8>> {
        let call = predicate.as_call_node()?;
        if !matches!(
            call.name().as_slice(),
            b"include?" | b"key?" | b"member?" | b"has_key?"
        ) {
            return None;
        }
        let receiver = call.receiver()?;
        if const_path(&receiver).is_none() && !is_literal_array(&receiver) {
            return None;
        }
        let arg = Self::first_arg(&call)?;
        let var = arg.as_local_variable_read_node()?;
        Some(var.name().as_slice().to_vec())
    }

    fn visit_with_clean(&mut self, var: Option<&[u8]>, f: impl FnOnce(&mut Self)) {
        let saved = var.and_then(|v| self.var(v).map(|t| (v.to_vec(), t)));
        if let Some((v, _)) = &saved {
            self.set_var(v, 0);
        }
        f(self);
        if let Some((v, t)) = saved {
            // Assignments in the branch stand; the narrowing does not outlive it.
            if self.var(&v) == Some(0) {
                self.set_var(&v, t);
            }
        }
    }
}

fn is_literal_array(node: &Node<'_>) -> bool {
    node.as_array_node().is_some_and(|a| {
        a.elements()
            .iter()
            .all(|e| e.as_string_node().is_some() || e.as_symbol_node().is_some())
    })
}

/// Whether a branch always leaves: `raise`, `return`, `halt`, `head`, `redirect_to`, `next`.
fn always_leaves(statements: Option<ruby_prism::StatementsNode<'_>>) -> bool {
    statements.and_then(|s| s.body().last()).is_some_and(|n| {
        n.as_return_node().is_some()
            || n.as_next_node().is_some()
            || n.as_break_node().is_some()
            || n.as_call_node().is_some_and(|c| {
                matches!(
                    c.name().as_slice(),
                    b"raise"
                        | b"fail"
                        | b"halt"
                        | b"head"
                        | b"redirect_to"
                        | b"forbidden!"
                        | b"throw"
                        | b"abort"
                        | b"exit"
                )
            })
    })
}

impl<'pr> Visit<'pr> for Analyzer<'_> {
    fn visit_class_node(&mut self, node: &ClassNode<'pr>) {
        self.classes.push(ClassCtx::default());
        ruby_prism::visit_class_node(self, node);
        if let Some(c) = self.classes.pop() {
            if !c.skip_authorization && !c.authorizes {
                for offset in c.pending {
                    self.findings.push(RawFinding {
                        rule: Rule::MissingAuthorization,
                        offset,
                        message: "this entry point sends request data to a shell, a file or code, and never authorizes the caller".into(),
                    });
                }
            }
        }
    }

    fn visit_def_node(&mut self, node: &DefNode<'pr>) {
        let entry = matches!(node.name().as_slice(), b"handle" | b"call")
            .then(|| node.location().start_offset());
        let mut scope = Scope {
            entry,
            ..Scope::default()
        };
        if let Some(params) = node.parameters() {
            let names = params.requireds().iter().chain(params.optionals().iter());
            for (i, p) in names.enumerate() {
                let name = p
                    .as_required_parameter_node()
                    .map(|r| r.name().as_slice())
                    .or_else(|| p.as_optional_parameter_node().map(|o| o.name().as_slice()));
                let Some(name) = name else { continue };
                // Hanami's handle(request, response) and Rack's call(env): the first
                // argument is the request, whatever it is called.
                let mut t = if i == 0 && entry.is_some() { INPUT } else { 0 };
                t |= self.known_param(node.name().as_slice(), i);
                scope.vars.insert(name.to_vec(), t);
            }
        }
        self.scopes.push(scope);
        ruby_prism::visit_def_node(self, node);
        let returned = node.body().map_or(0, |b| self.taint(&b));
        let name = node.name().as_slice();
        if returned != 0 {
            let entry = self.learnt.returns.entry(name.to_vec()).or_default();
            if *entry | returned != *entry {
                *entry |= returned;
                self.changed(|r| &r.returns, name);
            }
        }
        if let Some(scope) = self.scopes.pop() {
            if scope.input_sink && self.learnt.sinks.insert(name.to_vec()) {
                self.changed(|r| &r.sinks, name);
            }
            if let (Some(offset), true, false) = (scope.entry, scope.input_sink, scope.authorizes) {
                match self.classes.last_mut() {
                    Some(c) => c.pending.push(offset),
                    None => self.findings.push(RawFinding {
                        rule: Rule::MissingAuthorization,
                        offset,
                        message: "this entry point sends request data to a shell, a file or code, and never authorizes the caller".into(),
                    }),
                }
            }
        }
    }

    fn visit_call_node(&mut self, node: &CallNode<'pr>) {
        self.check_call(node);
        self.learn_call(node);
        // `params[:files].each { |f| ... }`: a block over input gets input.
        if let Some(block) = node.block().and_then(|b| b.as_block_node()) {
            let t = node.receiver().map_or(0, |r| self.taint(&r)) & INPUT;
            let params = block
                .parameters()
                .and_then(|p| p.as_block_parameters_node())
                .and_then(|p| p.parameters());
            if let Some(params) = params {
                for p in &params.requireds() {
                    if let Some(r) = p.as_required_parameter_node() {
                        self.set_var(r.name().as_slice(), t);
                    }
                }
            }
        }
        ruby_prism::visit_call_node(self, node);
    }

    fn visit_string_node(&mut self, node: &ruby_prism::StringNode<'pr>) {
        // Puma's bind URL: "ssl://0.0.0.0:9292?cert=...&verify_mode=none".
        if memchr::memmem::find(node.unescaped(), b"verify_mode=none").is_some() {
            self.report(
                Rule::TlsVerifyNone,
                &node.as_node(),
                "the TLS bind accepts clients without verifying them (verify_mode=none)",
            );
        }
    }

    fn visit_local_variable_write_node(&mut self, node: &ruby_prism::LocalVariableWriteNode<'pr>) {
        ruby_prism::visit_local_variable_write_node(self, node);
        self.assign(node.name().as_slice(), &node.value(), false);
    }

    fn visit_local_variable_or_write_node(
        &mut self,
        node: &ruby_prism::LocalVariableOrWriteNode<'pr>,
    ) {
        ruby_prism::visit_local_variable_or_write_node(self, node);
        self.assign(node.name().as_slice(), &node.value(), true);
    }

    fn visit_local_variable_operator_write_node(
        &mut self,
        node: &ruby_prism::LocalVariableOperatorWriteNode<'pr>,
    ) {
        ruby_prism::visit_local_variable_operator_write_node(self, node);
        self.assign(node.name().as_slice(), &node.value(), true);
    }

    fn visit_instance_variable_write_node(
        &mut self,
        node: &ruby_prism::InstanceVariableWriteNode<'pr>,
    ) {
        ruby_prism::visit_instance_variable_write_node(self, node);
        self.assign(node.name().as_slice(), &node.value(), false);
    }

    fn visit_x_string_node(&mut self, _node: &ruby_prism::XStringNode<'pr>) {}

    fn visit_interpolated_x_string_node(
        &mut self,
        node: &ruby_prism::InterpolatedXStringNode<'pr>,
    ) {
        if self.taint(&node.as_node()) & INPUT != 0 {
            self.report(
                Rule::ShellExec,
                &node.as_node(),
                "backticks (or %x) run a string built from request data through /bin/sh",
            );
        }
        ruby_prism::visit_interpolated_x_string_node(self, node);
    }

    fn visit_case_node(&mut self, node: &CaseNode<'pr>) {
        let subject = node.predicate();
        let var = subject
            .as_ref()
            .and_then(|p| p.as_local_variable_read_node())
            .map(|v| v.name().as_slice().to_vec());
        if let Some(p) = &subject {
            if self.taint(p) & DN_STR != 0 {
                self.report(Rule::IdentityStringCompare, &node.as_node(), "a certificate name is compared as a string (case/when): CN=a\\,O=x reads two ways");
            }
            self.visit(p);
        }
        for when in &node.conditions() {
            let Some(w) = when.as_when_node() else {
                self.visit(&when);
                continue;
            };
            let literal = w
                .conditions()
                .iter()
                .all(|c| c.as_string_node().is_some() || c.as_symbol_node().is_some());
            for c in &w.conditions() {
                self.visit(&c);
            }
            let clean = if literal { var.as_deref() } else { None };
            self.visit_with_clean(clean, |me| {
                if let Some(s) = w.statements() {
                    me.visit_statements_node(&s);
                }
            });
        }
        if let Some(e) = node.else_clause() {
            self.visit_else_node(&e);
        }
    }

    fn visit_if_node(&mut self, node: &IfNode<'pr>) {
        let var = self.allowlist_check(&node.predicate());
        self.visit(&node.predicate());
        self.visit_with_clean(var.as_deref(), |me| {
            if let Some(s) = node.statements() {
                me.visit_statements_node(&s);
            }
        });
        if let Some(s) = node.subsequent() {
            self.visit(&s);
        }
    }

    fn visit_unless_node(&mut self, node: &UnlessNode<'pr>) {
        let var = self.allowlist_check(&node.predicate());
        ruby_prism::visit_unless_node(self, node);
        // `raise Forbidden unless ALLOWED.include?(name)`: past this line, name is allowlisted.
        if let Some(v) = var {
            if always_leaves(node.statements()) {
                self.set_var(&v, 0);
            }
        }
    }

    fn visit_constant_path_node(&mut self, node: &ruby_prism::ConstantPathNode<'pr>) {
        if node.name().is_some_and(|n| n.as_slice() == b"VERIFY_NONE") {
            self.report(
                Rule::TlsVerifyNone,
                &node.as_node(),
                "VERIFY_NONE accepts any peer certificate, or none",
            );
        }
        ruby_prism::visit_constant_path_node(self, node);
    }

    fn visit_assoc_node(&mut self, node: &ruby_prism::AssocNode<'pr>) {
        let key = self.text(&node.key());
        let key = key
            .strip_suffix(b":")
            .or_else(|| key.strip_prefix(b":"))
            .unwrap_or(key);
        let key = key.trim_ascii_matches(b"\"'");
        let value = self.text(&node.value());
        let none = matches!(value, b"\"none\"" | b"'none'" | b":none");
        if (key.ends_with(b"verify_mode") && none)
            || (key.ends_with(b"verify_peer") && value == b"false")
        {
            self.report(
                Rule::TlsVerifyNone,
                &node.as_node(),
                "TLS is configured not to verify the peer",
            );
        }
        ruby_prism::visit_assoc_node(self, node);
    }
}

trait TrimQuotes {
    fn trim_ascii_matches(&self, chars: &[u8]) -> &[u8];
}

impl TrimQuotes for [u8] {
    fn trim_ascii_matches(&self, chars: &[u8]) -> &[u8] {
        let start = self
            .iter()
            .position(|b| !chars.contains(b))
            .unwrap_or(self.len());
        let end = self
            .iter()
            .rposition(|b| !chars.contains(b))
            .map_or(start, |e| e + 1);
        self.get(start..end.max(start)).unwrap_or_default()
    }
}
