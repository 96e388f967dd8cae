//! The sinks and flawed defences: which calls `audit` reports, given what `taint.rs` says about
//! their receivers and arguments.

use ruby_prism::{CallNode, Node};

use super::analyze::Analyzer;
use super::rules::Rule;
use super::taint::{const_path, contains, DN_OBJ, DN_STR, FSPATH, INPUT};

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

impl Analyzer<'_> {
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

    pub(super) fn first_arg<'pr>(call: &CallNode<'pr>) -> Option<Node<'pr>> {
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

    pub(super) fn check_call(&mut self, call: &CallNode<'_>) {
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
