//! One file's analysis: parse with Prism, walk the tree once in source order, and report each
//! place where request or certificate data reaches a sink, or where a defence is flawed.

use std::collections::HashMap;

use ruby_prism::{CallNode, CaseNode, ClassNode, DefNode, IfNode, Node, UnlessNode, Visit};

use super::rules::Rule;
use super::taint::{const_path, contains, DN_OBJ, DN_STR, FSPATH, INPUT};

/// A finding before the report adds the path and fingerprint.
#[derive(Debug, Clone)]
pub(super) struct RawFinding {
    pub rule: Rule,
    pub offset: usize,
    pub message: String,
}

/// What one method (or the file's top level) knows about its variables.
#[derive(Default)]
struct Scope {
    vars: HashMap<Vec<u8>, u8>,
    /// For `handle`/`call`: where the def starts, to report missing authorization there.
    entry: Option<usize>,
    authorizes: bool,
    input_sink: bool,
}

#[derive(Default)]
struct ClassCtx {
    skip_authorization: bool,
    authorizes: bool,
    pending: Vec<usize>,
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

/// Walks one parsed file.
pub(super) struct Analyzer<'a> {
    source: &'a [u8],
    scopes: Vec<Scope>,
    classes: Vec<ClassCtx>,
    pub findings: Vec<RawFinding>,
    /// From the previous pass.
    known: Summary,
    /// Collected in this pass.
    pub learnt: Summary,
}

/// Calls that decide authorization (hanami_guard's and the common gems').
const AUTHORIZE_CALLS: &[&[u8]] = &[
    b"authorize!",
    b"authorize",
    b"allowed?",
    b"authorized?",
    b"decide",
    b"permit?",
    b"can?",
    b"verify_authorized",
    b"skip_authorization",
    b"guard_policy_check",
];

/// Methods that compare or search text: applied to a distinguished name flattened to a string,
/// each reads a name two ways (`CN=a\,O=x` contains `O=x`).
const COMPARE_METHODS: &[&[u8]] = &[
    b"==",
    b"!=",
    b"eql?",
    b"equal?",
    b"===",
    b"=~",
    b"!~",
    b"match",
    b"match?",
    b"include?",
    b"start_with?",
    b"end_with?",
    b"casecmp",
    b"casecmp?",
    b"index",
    b"scan",
    b"split",
    b"[]",
    b"member?",
    b"key?",
    b"any?",
    b"in?",
    b"<=>",
];

const FILE_CONSTS: &[&str] = &[
    "File",
    "IO",
    "Dir",
    "FileUtils",
    "Pathname",
    "CSV",
    "Tempfile",
];

/// Methods of [`FILE_CONSTS`] that only compute a string or test a pattern, never touch the disk.
const PURE_PATH_METHODS: &[&[u8]] = &[
    b"join",
    b"basename",
    b"dirname",
    b"extname",
    b"expand_path",
    b"absolute_path",
    b"absolute_path?",
    b"split",
    b"fnmatch",
    b"fnmatch?",
    b"path",
    b"new",
    b"parse",
    b"generate",
    b"pwd",
    b"getwd",
    b"popen",
    b"pipe",
    b"select",
    b"tmpdir",
    b"parse_line",
];

/// Methods a Pathname (or an IO-like object) uses to reach the disk.
const PATH_IO_METHODS: &[&[u8]] = &[
    b"read",
    b"write",
    b"open",
    b"readlines",
    b"binread",
    b"binwrite",
    b"each_line",
    b"delete",
    b"unlink",
    b"rmtree",
    b"mkpath",
    b"children",
    b"entries",
    b"opendir",
    b"readlink",
    b"realpath",
    b"exist?",
    b"file?",
    b"directory?",
    b"rename",
    b"make_symlink",
    b"truncate",
    b"chmod",
    b"utime",
    b"sysopen",
    b"foreach",
    b"glob",
    b"each_child",
    b"rmdir",
    b"mkdir",
];

impl<'a> Analyzer<'a> {
    pub(super) fn new(source: &'a [u8], known: Summary) -> Self {
        Analyzer {
            source,
            scopes: vec![Scope::default()],
            classes: Vec::new(),
            findings: Vec::new(),
            known,
            learnt: Summary::default(),
        }
    }

    /// What a method of this file returns, as far as the previous pass saw.
    pub(super) fn known_return(&self, name: &[u8]) -> u8 {
        self.known.returns.get(name).copied().unwrap_or(0)
    }

    /// What an instance variable was set from, anywhere in this file.
    pub(super) fn known_ivar(&self, name: &[u8]) -> u8 {
        self.known.ivars.get(name).copied().unwrap_or(0)
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
        if self.known.sinks.contains(call.name().as_slice()) {
            if let Some(s) = self.scopes.last_mut() {
                s.input_sink = true;
            }
        }
        let entry = self
            .learnt
            .params
            .entry(call.name().as_slice().to_vec())
            .or_default();
        if entry.len() < taints.len() {
            entry.resize(taints.len(), 0);
        }
        for (e, t) in entry.iter_mut().zip(taints) {
            *e |= t;
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

    fn set_var(&mut self, name: &[u8], t: u8) {
        if let Some(s) = self.scopes.last_mut() {
            s.vars.insert(name.to_vec(), t);
        }
    }

    fn report(&mut self, rule: Rule, node: &Node<'_>, message: impl Into<String>) {
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

    fn method_name(call: &CallNode<'_>) -> String {
        String::from_utf8_lossy(call.name().as_slice()).into_owned()
    }

    /// Positional arguments, without a leading env Hash and trailing options.
    fn command_args<'pr>(call: &CallNode<'pr>) -> Vec<Node<'pr>> {
        let mut args: Vec<Node<'pr>> = call
            .arguments()
            .map(|a| a.arguments().iter().collect())
            .unwrap_or_default();
        if args
            .last()
            .is_some_and(|a| a.as_keyword_hash_node().is_some() || a.as_hash_node().is_some())
        {
            args.pop();
        }
        if args.first().is_some_and(|a| a.as_hash_node().is_some()) {
            args.remove(0);
        }
        args
    }

    /// `system`, `exec`, `spawn`, `Open3.*`, `IO.popen`, `PTY.spawn`: one string goes to a
    /// shell; two or more are argv, where input is an option unless a `--` came before it.
    fn check_command(&mut self, call: &CallNode<'_>, what: &str) {
        let args = Self::command_args(call);
        let node = call.as_node();
        match args.as_slice() {
            [] => {}
            [one] => {
                if let Some(array) = one.as_array_node() {
                    let elements: Vec<Node<'_>> = array.elements().iter().collect();
                    self.check_argv(&node, &elements, what);
                } else if one.as_splat_node().is_some() {
                    if self.taint(one) & INPUT != 0 {
                        self.report(
                            Rule::OptionInjection,
                            &node,
                            format!("{what} gets an argv built from request data; a value starting with - becomes an option"),
                        );
                    }
                } else if self.taint(one) & INPUT != 0 {
                    self.report(
                        Rule::ShellExec,
                        &node,
                        format!(
                            "{what} runs one string through /bin/sh, and request data is in it"
                        ),
                    );
                }
            }
            many => self.check_argv(&node, many, what),
        }
    }

    fn check_argv(&mut self, node: &Node<'_>, argv: &[Node<'_>], what: &str) {
        let Some((exe, rest)) = argv.split_first() else {
            return;
        };
        let exe = exe
            .as_array_node()
            .and_then(|a| a.elements().first())
            .map_or_else(|| self.taint(exe), |e| self.taint(&e));
        if exe & INPUT != 0 {
            self.report(
                Rule::ShellExec,
                node,
                format!("{what} runs an executable chosen by request data"),
            );
            return;
        }
        let exe_text = argv.first().map(|e| self.text(e)).unwrap_or_default();
        let shell = [
            &b"sh\""[..],
            b"bash\"",
            b"zsh\"",
            b"dash\"",
            b"ksh\"",
            b"sh'",
            b"bash'",
        ]
        .iter()
        .any(|s| exe_text.ends_with(s));
        if shell && rest.iter().any(|a| self.taint(a) & INPUT != 0) {
            self.report(
                Rule::ShellExec,
                node,
                format!("{what} hands a string built from request data to a shell"),
            );
            return;
        }
        for arg in rest {
            if matches!(
                self.text(arg),
                b"\"--\"" | b"'--'" | b"\"--end-of-options\"" | b"'--end-of-options'"
            ) {
                return;
            }
            if self.taint(arg) & INPUT != 0 {
                self.report(
                    Rule::OptionInjection,
                    node,
                    format!("{what} puts request data in an argv slot with no \"--\" before it: a value such as --output=/etc/x is read as an option"),
                );
                return;
            }
        }
    }

    fn any_arg_input(&self, call: &CallNode<'_>) -> bool {
        call.arguments()
            .is_some_and(|a| a.arguments().iter().any(|n| self.taint(&n) & INPUT != 0))
    }

    fn first_arg<'pr>(call: &CallNode<'pr>) -> Option<Node<'pr>> {
        call.arguments().and_then(|a| a.arguments().first())
    }

    fn kwarg_is(&self, call: &CallNode<'_>, key: &[u8], value: &[u8]) -> bool {
        let Some(args) = call.arguments() else {
            return false;
        };
        args.arguments().iter().any(|a| {
            let elements = match (a.as_keyword_hash_node(), a.as_hash_node()) {
                (Some(h), _) => h.elements(),
                (_, Some(h)) => h.elements(),
                _ => return false,
            };
            elements.iter().any(|e| {
                e.as_assoc_node().is_some_and(|p| {
                    let k = self.text(&p.key());
                    (k.strip_suffix(b":") == Some(key) || k.strip_prefix(b":") == Some(key))
                        && (value.is_empty() || self.text(&p.value()) == value)
                })
            })
        })
    }

    fn check_call(&mut self, call: &CallNode<'_>) {
        let name = call.name().as_slice();
        let node = call.as_node();
        let receiver = call.receiver();
        let recv_const = receiver.as_ref().and_then(const_path);
        let recv_const = recv_const.as_deref().map(|p| p.trim_start_matches("::"));
        let kernel = receiver.is_none() || matches!(recv_const, Some("Kernel" | "Process"));
        let method = Self::method_name(call);

        if contains(AUTHORIZE_CALLS, name) {
            if let Some(s) = self.scopes.last_mut() {
                s.authorizes = true;
            }
            if self.scopes.len() == 1 {
                if let Some(c) = self.classes.last_mut() {
                    if name == b"skip_authorization" {
                        c.skip_authorization = true;
                    } else {
                        c.authorizes = true;
                    }
                }
            }
        }
        // `before :authorize_request` authorizes every action of the class. `guard_policy`
        // alone does not: HanamiGuard::Action complains only after `handle` has run.
        if self.scopes.len() == 1
            && matches!(name, b"before" | b"before_action" | b"prepend_before")
            && call.arguments().is_some_and(|a| {
                let text = self.text(&a.as_node()).to_ascii_lowercase();
                text.windows(7).any(|w| w == b"authori")
            })
        {
            if let Some(c) = self.classes.last_mut() {
                c.authorizes = true;
            }
        }

        // Commands.
        if kernel && matches!(name, b"system" | b"exec" | b"spawn") {
            return self.check_command(call, &method);
        }
        if kernel && name == b"`" {
            if self.any_arg_input(call) {
                self.report(
                    Rule::ShellExec,
                    &node,
                    "backticks run a string built from request data through /bin/sh",
                );
            }
            return;
        }
        match (recv_const, name) {
            (Some("Open3"), _)
                if name.starts_with(b"capture")
                    || name.starts_with(b"popen")
                    || name.starts_with(b"pipeline") =>
            {
                return self.check_command(call, &format!("Open3.{method}"));
            }
            (Some("IO"), b"popen") | (Some("PTY"), b"spawn") => {
                return self.check_command(
                    call,
                    &format!("{}.{method}", recv_const.unwrap_or_default()),
                );
            }
            _ => {}
        }
        if (receiver.is_none() || matches!(recv_const, Some("Kernel" | "URI"))) && name == b"open" {
            if let Some(first) = Self::first_arg(call) {
                if self.taint(&first) & INPUT != 0 {
                    let text = self.text(&first);
                    let literal_start = text.len() > 1
                        && (text[0] == b'"' || text[0] == b'\'')
                        && text[1] != b'|'
                        && text[1] != b'#';
                    if literal_start || recv_const == Some("URI") {
                        self.report(
                            Rule::FileAccess,
                            &node,
                            "open gets a path built from request data",
                        );
                    } else {
                        self.report(Rule::ShellExec, &node, "Kernel#open runs a command when its argument starts with |, and request data chooses it");
                    }
                }
            }
            return;
        }

        // Dynamic code.
        if kernel
            && matches!(
                name,
                b"require" | b"require_relative" | b"load" | b"autoload" | b"eval"
            )
        {
            if self.any_arg_input(call) {
                self.report(
                    Rule::DynamicCode,
                    &node,
                    format!("{method} with request data loads or runs code the holder chooses"),
                );
            }
            return;
        }
        if matches!(
            name,
            b"const_get"
                | b"qualified_const_get"
                | b"send"
                | b"public_send"
                | b"__send__"
                | b"method"
                | b"public_method"
                | b"instance_method"
                | b"instance_variable_get"
                | b"instance_variable_set"
                | b"instance_eval"
                | b"class_eval"
                | b"module_eval"
                | b"instance_exec"
                | b"class_exec"
                | b"define_method"
                | b"eval"
                | b"const_set"
                | b"remove_const"
                | b"autoload"
        ) {
            if Self::first_arg(call).is_some_and(|a| self.taint(&a) & INPUT != 0) {
                self.report(
                    Rule::DynamicCode,
                    &node,
                    format!("{method} with request data calls or names code the holder chooses"),
                );
            }
            return;
        }
        if matches!(
            recv_const,
            Some("ERB" | "Erubi::Engine" | "Liquid::Template" | "Tilt::ERBTemplate")
        ) && matches!(name, b"new" | b"parse")
        {
            if Self::first_arg(call).is_some_and(|a| self.taint(&a) & INPUT != 0) {
                self.report(
                    Rule::DynamicCode,
                    &node,
                    "a template built from request data runs as Ruby code",
                );
            }
            return;
        }
        if matches!(name, b"try" | b"try!") {
            if Self::first_arg(call).is_some_and(|a| self.taint(&a) & INPUT != 0) {
                self.report(
                    Rule::DynamicCode,
                    &node,
                    format!("{method} with request data calls the method the holder chooses"),
                );
            }
            return;
        }
        if name == b"verify_callback="
            && Self::first_arg(call).is_some_and(|a| accepts_everything(&a))
        {
            self.report(
                Rule::TlsVerifyNone,
                &node,
                "a verify_callback that returns true accepts any certificate",
            );
            return;
        }
        if matches!(name, b"constantize" | b"safe_constantize") {
            if receiver
                .as_ref()
                .is_some_and(|r| self.taint(r) & INPUT != 0)
            {
                self.report(
                    Rule::DynamicCode,
                    &node,
                    format!("{method} turns request data into a class"),
                );
            }
            return;
        }

        // Deserializers.
        match (recv_const, name) {
            (Some("Marshal"), b"load" | b"restore")
            | (
                Some("YAML" | "Psych"),
                b"load" | b"unsafe_load" | b"load_stream" | b"unsafe_load_stream",
            )
            | (Some("JSON"), b"load" | b"restore" | b"unsafe_load")
            | (Some("Oj"), b"object_load") => {
                if self.any_arg_input(call) {
                    self.report(
                        Rule::UnsafeDeserialize,
                        &node,
                        format!(
                            "{}.{method} on request data can build arbitrary objects",
                            recv_const.unwrap_or_default()
                        ),
                    );
                }
                return;
            }
            (Some("JSON"), b"parse" | b"parse!") => {
                if self.kwarg_is(call, b"create_additions", b"true") && self.any_arg_input(call) {
                    self.report(Rule::UnsafeDeserialize, &node, "JSON.parse with create_additions: true on request data can build arbitrary objects");
                }
                return;
            }
            (Some("Oj"), b"load") => {
                if !self.kwarg_is(call, b"mode", b"") && self.any_arg_input(call) {
                    self.report(
                        Rule::UnsafeDeserialize,
                        &node,
                        "Oj.load without mode: :strict on request data can build arbitrary objects",
                    );
                }
                return;
            }
            (Some("YAML" | "Psych"), b"load_file" | b"unsafe_load_file" | b"safe_load_file") => {
                if self.any_arg_input(call) {
                    self.report(
                        Rule::FileAccess,
                        &node,
                        format!(
                            "{}.{method} reads a path built from request data",
                            recv_const.unwrap_or_default()
                        ),
                    );
                }
                return;
            }
            _ => {}
        }

        // IO.read("|cmd"), IO.readlines("|cmd"): IO's class methods run a command for a
        // path that starts with a pipe.
        if recv_const == Some("IO")
            && Self::first_arg(call)
                .is_some_and(|a| self.text(&a).starts_with(b"\"|") && self.taint(&a) & INPUT != 0)
        {
            self.report(
                Rule::ShellExec,
                &node,
                format!(
                    "IO.{method} runs a command built from request data (the path starts with |)"
                ),
            );
            return;
        }
        // Files.
        if let Some(c) = recv_const {
            if FILE_CONSTS.contains(&c) && !contains(PURE_PATH_METHODS, name)
                || (c == "File" && name == b"new")
            {
                if self.any_arg_input(call) {
                    self.report(
                        Rule::FileAccess,
                        &node,
                        format!("{c}.{method} gets a path built from request data"),
                    );
                }
                return;
            }
        }
        if matches!(name, b"send_file" | b"unsafe_send_file" | b"send_data_file") {
            if self.any_arg_input(call) {
                self.report(
                    Rule::FileAccess,
                    &node,
                    format!("{method} serves a path built from request data"),
                );
            }
            return;
        }
        if contains(PATH_IO_METHODS, name) {
            if let Some(r) = &receiver {
                let t = self.taint(r);
                if t & INPUT != 0 && t & FSPATH != 0 {
                    self.report(
                        Rule::FileAccess,
                        &node,
                        format!("Pathname#{method} on a path built from request data"),
                    );
                    return;
                }
            }
        }

        // Flawed defences.
        if contains(COMPARE_METHODS, name) && self.check_identity_compare(call) {
            return;
        }
        if matches!(name, b"start_with?" | b"index") {
            self.check_prefix(call);
        }
    }

    /// `subject.to_s == "CN=..."`, `issuer.to_s.include?("CN=")`, `ALLOWED.include?(dn.to_s)`,
    /// `/CN=op/ =~ subject.to_s`: a distinguished name read as text.
    fn check_identity_compare(&mut self, call: &CallNode<'_>) -> bool {
        let recv = call.receiver().map_or(0, |r| self.taint(&r));
        let recv_literal = call.receiver().is_some_and(|r| is_text_literal(&r));
        let recv_dn_text = call.receiver().is_some_and(|r| self.dn_literal(&r));
        let mut hit = recv & DN_STR != 0;
        if let Some(args) = call.arguments() {
            for a in &args.arguments() {
                let t = self.taint(&a);
                hit |= t & DN_STR != 0
                    || (recv & DN_OBJ != 0
                        && is_text_literal(&a)
                        && call.name().as_slice() != b"[]")
                    || (t & DN_OBJ != 0 && recv_literal)
                    || (self.dn_literal(&a) && recv & INPUT != 0)
                    || (recv_dn_text && t & INPUT != 0);
            }
        }
        if hit {
            let method = Self::method_name(call);
            self.report(
                Rule::IdentityStringCompare,
                &call.as_node(),
                format!("a certificate name is compared as a string ({method}): CN=a\\,O=x reads two ways"),
            );
        }
        hit
    }

    /// A string or regexp literal that spells a distinguished name (`"CN=operator"`).
    fn dn_literal(&self, node: &Node<'_>) -> bool {
        if !is_text_literal(node) {
            return false;
        }
        let text = self.text(node);
        [&b"CN="[..], b"O=", b"OU=", b"DC=", b"UID="]
            .iter()
            .any(|w| {
                text.windows(w.len()).enumerate().any(|(i, win)| {
                    win.eq_ignore_ascii_case(w) && (i == 0 || !text[i - 1].is_ascii_alphanumeric())
                })
            })
    }

    /// `full.start_with?(BASE.to_s)`: passes `/var/app/public_evil` and any symlink.
    fn check_prefix(&mut self, call: &CallNode<'_>) {
        let Some(arg) = Self::first_arg(call) else {
            return;
        };
        let Some(receiver) = call.receiver() else {
            return;
        };
        let recv = self.taint(&receiver);
        if recv & (DN_OBJ | DN_STR) != 0 {
            return;
        }
        let arg_t = self.taint(&arg);
        let arg_text = self.text(&arg);
        let absolute_literal = arg.as_string_node().is_some() && arg_text.get(1) == Some(&b'/');
        let relative_literal = is_text_literal(&arg) && !absolute_literal;
        if relative_literal {
            return;
        }
        let base_const = arg
            .as_call_node()
            .and_then(|c| c.receiver())
            .is_some_and(|b| const_path(&b).is_some() && self.named_like_dir(&b));
        let dirlike = base_const || (self.named_like_dir(&arg) && !self.is_url(&receiver));
        let pathy = recv & FSPATH != 0 || arg_t & FSPATH != 0;
        if pathy || dirlike || (absolute_literal && !self.is_url(&receiver)) {
            self.report(
                Rule::PrefixContainment,
                &call.as_node(),
                "a path is kept inside a directory by a string prefix: /var/app/public_evil starts with /var/app/public, and a symlink inside leads anywhere",
            );
        }
    }

    /// A request path or URL rather than a filesystem path.
    fn is_url(&self, node: &Node<'_>) -> bool {
        let text = self.text(node).to_ascii_lowercase();
        [
            &b"request"[..],
            b"env[",
            b"path_info",
            b"url",
            b"uri",
            b"fullpath",
            b"req.",
        ]
        .iter()
        .any(|w| text.windows(w.len()).any(|win| win == *w))
    }

    fn assign(&mut self, name: &[u8], value: &Node<'_>, or: bool) {
        let t = self.taint(value);
        if name.starts_with(b"@") && t != 0 {
            *self.learnt.ivars.entry(name.to_vec()).or_default() |= t;
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

/// `->(*) { true }`, `proc { true }`, `lambda { |_ok, _ctx| true }`.
fn accepts_everything(node: &Node<'_>) -> bool {
    let body = node.as_lambda_node().and_then(|l| l.body()).or_else(|| {
        node.as_call_node()
            .and_then(|c| c.block())
            .and_then(|b| b.as_block_node())
            .and_then(|b| b.body())
    });
    body.and_then(|b| b.as_statements_node())
        .and_then(|s| s.body().last())
        .is_some_and(|n| n.as_true_node().is_some())
}

fn is_text_literal(node: &Node<'_>) -> bool {
    node.as_string_node().is_some()
        || node.as_regular_expression_node().is_some()
        || node.as_interpolated_regular_expression_node().is_some()
        || node.as_symbol_node().is_some()
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
            let seeds = self.known.params.get(node.name().as_slice());
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
                t |= seeds.and_then(|s| s.get(i)).copied().unwrap_or(0);
                scope.vars.insert(name.to_vec(), t);
            }
        }
        self.scopes.push(scope);
        ruby_prism::visit_def_node(self, node);
        let returned = node.body().map_or(0, |b| self.taint(&b));
        if returned != 0 {
            *self
                .learnt
                .returns
                .entry(node.name().as_slice().to_vec())
                .or_default() |= returned;
        }
        if let Some(scope) = self.scopes.pop() {
            if scope.input_sink {
                self.learnt.sinks.insert(node.name().as_slice().to_vec());
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
