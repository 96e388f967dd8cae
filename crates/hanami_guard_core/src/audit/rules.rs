//! The rules `audit` reports, with their stable ids, severities and the hanami_guard call that
//! replaces each pattern. The Ruby side and the CLI read these; nothing else names a rule.

/// How bad a finding is, worst last so that `>=` means "at least this bad".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look.
    Low,
    /// A weakness that needs another mistake to be exploited.
    Medium,
    /// A certificate holder or a request reaches files, names or TLS it should not.
    High,
    /// A certificate holder or a request runs code or commands.
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name from [`Severity::as_str`]; anything else is refused (a configuration
    /// error: the name is the bar a scan fails at) with the list of valid names.
    pub fn parse(name: &str) -> crate::Result<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
                crate::Error::configuration(format!(
                    "unknown severity \"{}\": use one of {}",
                    crate::error::excerpt(name, 40),
                    names.join(", ")
                ))
            })
    }
}

/// One kind of escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// A string built from input reaches a shell.
    ShellExec,
    /// Input fills an argv slot where it could be read as an option.
    OptionInjection,
    /// Input reaches a path given to File, IO, Dir, Pathname, FileUtils, send_file, ...
    FileAccess,
    /// A containment check done by string prefix.
    PrefixContainment,
    /// Input reaches require/load/const_get/send/eval.
    DynamicCode,
    /// A certificate name compared as a string.
    IdentityStringCompare,
    /// Input reaches Marshal.load, YAML.load or JSON with object creation.
    UnsafeDeserialize,
    /// TLS peer verification turned off.
    TlsVerifyNone,
    /// An entry point reaches a sink with input and never authorizes.
    MissingAuthorization,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 9] = [
        Rule::ShellExec,
        Rule::OptionInjection,
        Rule::FileAccess,
        Rule::PrefixContainment,
        Rule::DynamicCode,
        Rule::IdentityStringCompare,
        Rule::UnsafeDeserialize,
        Rule::TlsVerifyNone,
        Rule::MissingAuthorization,
    ];

    /// The stable id, used in reports, baselines and `# hanami_guard:ignore RULE reason`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::ShellExec => "shell-exec",
            Rule::OptionInjection => "option-injection",
            Rule::FileAccess => "file-access",
            Rule::PrefixContainment => "prefix-containment",
            Rule::DynamicCode => "dynamic-code",
            Rule::IdentityStringCompare => "identity-string-compare",
            Rule::UnsafeDeserialize => "unsafe-deserialize",
            Rule::TlsVerifyNone => "tls-verify-none",
            Rule::MissingAuthorization => "missing-authorization",
        }
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// How bad it is.
    pub fn severity(self) -> Severity {
        match self {
            Rule::ShellExec | Rule::DynamicCode | Rule::UnsafeDeserialize => Severity::Critical,
            Rule::OptionInjection
            | Rule::FileAccess
            | Rule::PrefixContainment
            | Rule::IdentityStringCompare
            | Rule::TlsVerifyNone => Severity::High,
            Rule::MissingAuthorization => Severity::Medium,
        }
    }

    /// One line on what the rule finds, for SARIF's rule descriptions.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::ShellExec => "A string built from request or certificate data reaches a shell.",
            Rule::OptionInjection => {
                "Request or certificate data fills an argv slot where it can be read as an option."
            }
            Rule::FileAccess => "Request or certificate data reaches a file path.",
            Rule::PrefixContainment => {
                "A path is kept inside a directory by a string prefix check."
            }
            Rule::DynamicCode => {
                "Request or certificate data chooses code to load, look up, call or evaluate."
            }
            Rule::IdentityStringCompare => "A certificate name is compared as a string.",
            Rule::UnsafeDeserialize => {
                "Request data reaches a deserializer that can build arbitrary objects."
            }
            Rule::TlsVerifyNone => "TLS peer verification is turned off.",
            Rule::MissingAuthorization => {
                "An entry point reaches a sink with request data and never authorizes."
            }
        }
    }

    /// The hanami_guard call that replaces the pattern.
    pub fn fix(self) -> &'static str {
        match self {
            Rule::ShellExec => {
                "Run it with HanamiGuard::Command.new(\"docker run --rm {image}\", allow: { image: \
                 {...} }).run(image: value): no shell, each value fills one argv slot from an \
                 allowlist."
            }
            Rule::OptionInjection => {
                "Use HanamiGuard::Command (it refuses a value that starts with - unless the \
                 placeholder is listed in options:), or look the value up in an allowlist and put \
                 \"--\" before it."
            }
            Rule::FileAccess => {
                "Open it through HanamiGuard::Root.new(BASE).read(path) (or #open, #write, \
                 #resolve): no .., absolute path or symlink can leave BASE."
            }
            Rule::PrefixContainment => {
                "Replace the prefix check with HanamiGuard::Root.new(BASE) and read, open or \
                 resolve through it: a prefix check passes /var/app/public_evil and symlinks."
            }
            Rule::DynamicCode => {
                "Map the value through a constant allowlist (PLUGINS.fetch(name)) and authorize \
                 it with HanamiGuard::Policy#authorize!; never pass input to \
                 require/const_get/send/eval."
            }
            Rule::IdentityStringCompare => {
                "Compare names as structures: cert.subject.match?(CN: \"operator\", O: \"MyOrg\") \
                 or == HanamiGuard::DistinguishedName.parse(...), or decide with \
                 HanamiGuard::Policy (principals: [{ subject: { CN: ... } }])."
            }
            Rule::UnsafeDeserialize => {
                "Parse request data with JSON.parse (no create_additions) or YAML.safe_load, and \
                 authorize what it names with HanamiGuard::Policy; never Marshal.load it."
            }
            Rule::TlsVerifyNone => {
                "Require and verify the peer (OpenSSL::SSL::VERIFY_PEER | \
                 VERIFY_FAIL_IF_NO_PEER_CERT; Puma: verify_mode: \"force_peer\") and check the \
                 chain with HanamiGuard::TrustStore#verify."
            }
            Rule::MissingAuthorization => {
                "Call authorize!(request, :action, resource) (include HanamiGuard::Action and set \
                 guard_policy) before the sink, or declare skip_authorization where the action is \
                 public on purpose."
            }
        }
    }
}
