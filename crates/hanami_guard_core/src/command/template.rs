//! Command templates: split once with POSIX word rules (`split.rs`), then `{name}`
//! placeholders found in the words.
//!
//! Rules, each closing a hole:
//! - Splitting happens once, at definition (see `split.rs` for what is refused there: a `#`
//!   that would begin a comment, and shell syntax no shell will act on). A placeholder is filled
//!   with exactly one value at run time and the value is never split again nor joined with the
//!   next word: `printf %s {v}` with `v = "a; rm -rf /"` runs `printf` with the two arguments
//!   `%s` and `a; rm -rf /`.
//! - `{name}` may stand anywhere inside a word (`--format={fmt}`, `{dir}/{file}.txt`). Names are
//!   `[A-Za-z_][A-Za-z0-9_]*`. Braces are read after quote removal, so quoting does not make a
//!   brace literal: write `{{` for a literal `{` and `}}` for a literal `}`. A lone `{` or `}`
//!   is a configuration error, so a typo never becomes a silent literal.
//! - A value may not begin a word with `-` (an option) or `@` (a response file) unless its
//!   placeholder is declared an option.

pub use super::split::split_words;
use crate::error::{excerpt, key, Error, Field, Result};

/// One piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal bytes from the template.
    Literal(Vec<u8>),
    /// The value of the placeholder with this index (into [`Template::names`]).
    Slot(usize),
}

/// One argv word: literal pieces and placeholders, concatenated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    segments: Vec<Segment>,
}

impl Word {
    /// A word made of one literal.
    pub fn literal(bytes: Vec<u8>) -> Self {
        Word {
            segments: vec![Segment::Literal(bytes)],
        }
    }

    /// The pieces of the word.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The word's bytes if it holds no placeholder.
    pub fn as_literal(&self) -> Option<&[u8]> {
        match self.segments.as_slice() {
            [] => Some(&[]),
            [Segment::Literal(b)] => Some(b),
            _ => None,
        }
    }

    fn has_slot(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Slot(_)))
    }
}

/// A parsed template: its words and the placeholder names, in order of first appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    words: Vec<Word>,
    names: Vec<String>,
    /// Built by [`Template::from_plain`]: refusals speak of arguments, not placeholders.
    plain: bool,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl Template {
    /// Parses a template string.
    pub fn parse(input: &str) -> Result<Self> {
        if input.contains('\0') {
            return Err(Error::Configuration(
                "the command template contains a NUL byte, which no argv can hold".into(),
            ));
        }
        let raw = split_words(input)?;
        super::split::check_no_shell_syntax(input)?;
        if raw.is_empty() {
            return Err(Error::Configuration(
                "the command template is empty: it needs at least the executable".into(),
            ));
        }
        let mut names: Vec<String> = Vec::new();
        let mut words = Vec::with_capacity(raw.len());
        for w in &raw {
            words.push(parse_word(w, &mut names)?);
        }
        if words[0].has_slot() {
            return Err(Error::configuration(format!(
                "the executable (`{}`) is a placeholder: the program to run must be a literal in \
                 the template, never a value; use one Command per program",
                excerpt(&raw[0], 40)
            )));
        }
        Ok(Template {
            words,
            names,
            plain: false,
        })
    }

    /// A template of literal words only (the plain argv form).
    pub fn from_literals(words: Vec<Vec<u8>>) -> Result<Self> {
        if words.is_empty() {
            return Err(Error::Configuration(
                "no executable given: pass at least the program to run".into(),
            ));
        }
        Ok(Template {
            words: words.into_iter().map(Word::literal).collect(),
            names: Vec::new(),
            plain: false,
        })
    }

    /// The plain argv form of a run whose arguments may come from a request. The executable,
    /// the words before the first `--` and that `--` are literals (the caller's own options);
    /// every word after the `--`, or after the executable when there is no `--`, is a value: a
    /// placeholder named `arg<N>` (N its position in argv) that is filled with that word and
    /// gets every check a placeholder value gets. Returns the template and the values, in
    /// [`Template::names`] order.
    ///
    /// Which words are values cannot be guessed from their bytes (`-l` may be the caller's and
    /// `--upload-pack=...` an attacker's), so the rule is positional and fails closed: without
    /// a `--`, nothing but the executable is literal.
    pub fn from_plain(words: Vec<Vec<u8>>) -> Result<(Self, Vec<Vec<u8>>)> {
        if words.is_empty() {
            return Err(Error::Configuration(
                "no executable given: pass at least the program to run".into(),
            ));
        }
        let first_value = words
            .iter()
            .skip(1)
            .position(|w| w == b"--")
            .map_or(1, |p| p + 2);
        let mut out = Vec::with_capacity(words.len());
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (i, w) in words.into_iter().enumerate() {
            if i < first_value {
                out.push(Word::literal(w));
            } else {
                out.push(Word {
                    segments: vec![Segment::Slot(names.len())],
                });
                names.push(format!("arg{i}"));
                values.push(w);
            }
        }
        Ok((
            Template {
                words: out,
                names,
                plain: true,
            },
            values,
        ))
    }

    /// The words, executable first.
    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// Placeholder names in order of first appearance; a value list is given in this order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn replace_executable(&mut self, exe: Vec<u8>) {
        if let Some(first) = self.words.first_mut() {
            *first = Word::literal(exe);
        }
    }

    /// Fills the placeholders with `values` (in [`Template::names`] order, already checked
    /// against their allowlists) and returns the argv. `is_option[i]` says whether placeholder
    /// `i` may begin a word with `-`.
    pub fn expand(&self, values: &[&[u8]], is_option: &[bool]) -> Result<Vec<Vec<u8>>> {
        if values.len() != self.names.len() {
            return Err(Error::Argument(format!(
                "expected {} values, got {}",
                self.names.len(),
                values.len()
            )));
        }
        let mut argv = Vec::with_capacity(self.words.len());
        for word in &self.words {
            if let [Segment::Literal(b)] = word.segments.as_slice() {
                argv.push(b.clone());
                continue;
            }
            let len = word
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Literal(b) => b.len(),
                    Segment::Slot(i) => values[*i].len(),
                })
                .sum();
            let mut out = Vec::with_capacity(len);
            for seg in &word.segments {
                match seg {
                    Segment::Literal(b) => out.extend_from_slice(b),
                    Segment::Slot(i) => {
                        let v = values[*i];
                        // Option injection: the value supplies the first byte of the word and
                        // that byte is `-` (`--upload-pack=...`, `-oProxyCommand=...`, `-`,
                        // `--`). No denylist: any leading dash is refused.
                        if out.is_empty() && v.first() == Some(&b'-') && !is_option[*i] {
                            return Err(self.injection(
                                *i,
                                "leading_dash",
                                "`-`, so the program would read it as an option",
                            ));
                        }
                        // Response files: gcc, clang, ld, binutils, javac and 7z read more
                        // arguments from `@path`, so `@uploads/x` smuggles in `-wrapper
                        // /bin/sh,-c,...` past the dash check above.
                        if out.is_empty() && v.first() == Some(&b'@') && !is_option[*i] {
                            return Err(self.injection(
                                *i,
                                "response_file",
                                "`@`, which gcc, clang, ld, binutils, javac and 7z read as a \
                                 response file of more options",
                            ));
                        }
                        out.extend_from_slice(v);
                    }
                }
            }
            argv.push(out);
        }
        Ok(argv)
    }
}

impl Template {
    fn injection(&self, i: usize, check: &'static str, what: &str) -> Error {
        let name = &self.names[i];
        let placeholder = Field::Text(excerpt(name, 64));
        if self.plain {
            let n = name.trim_start_matches("arg");
            Error::command_not_allowed(format!(
                "argument {n} begins with {what} (option injection): every word after the \
                 executable, or after a `--`, is a value and is checked as one. Refuse such \
                 input; a literal option of your own goes before a `--`: \
                 Command.run(\"ls\", \"-l\", \"--\", value)"
            ))
            .check(check)
            .with(key::PLACEHOLDER, placeholder)
        } else {
            Error::command_not_allowed(format!(
                "the value for {{{name}}} begins with {what} (option injection): refuse such \
                 input, put a literal prefix (./ or --opt=) before the placeholder in the \
                 template, or list :{name} in options: if it really is an option"
            ))
            .check(check)
            .with(key::PLACEHOLDER, placeholder)
        }
    }
}

fn parse_word(word: &str, names: &mut Vec<String>) -> Result<Word> {
    let bytes = word.as_bytes();
    let mut segments = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                lit.push(b'{');
                i += 2;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                lit.push(b'}');
                i += 2;
            }
            b'{' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && is_name_char(bytes[j]) {
                    j += 1;
                }
                if j == start || !is_name_start(bytes[start]) || bytes.get(j) != Some(&b'}') {
                    return Err(Error::configuration(format!(
                        "`{{` in the template word `{}` does not start a placeholder: a placeholder \
                         is {{name}} with name made of letters, digits and _ (not starting with a \
                         digit); write {{{{ for a literal {{",
                        excerpt(word, 40)
                    )));
                }
                let name = &word[start..j];
                let index = match names.iter().position(|n| n == name) {
                    Some(p) => p,
                    None => {
                        names.push(name.to_owned());
                        names.len() - 1
                    }
                };
                if !lit.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut lit)));
                }
                segments.push(Segment::Slot(index));
                i = j + 1;
            }
            b'}' => {
                return Err(Error::configuration(format!(
                    "a lone `}}` in the template word `{}`: write }}}} for a literal }}",
                    excerpt(word, 40)
                )));
            }
            c => {
                lit.push(c);
                i += 1;
            }
        }
    }
    if !lit.is_empty() || segments.is_empty() {
        segments.push(Segment::Literal(lit));
    }
    Ok(Word { segments })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(t: &str, values: &[&str]) -> Result<Vec<String>> {
        let t = Template::parse(t)?;
        let vals: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        let opts = vec![false; vals.len()];
        Ok(t.expand(&vals, &opts)?
            .into_iter()
            .map(|w| String::from_utf8(w).expect("utf8"))
            .collect())
    }

    #[test]
    fn placeholders_fill_one_word_each() {
        assert_eq!(
            argv("printf %s {v}", &["a b; c"]).expect("ok"),
            ["printf", "%s", "a b; c"]
        );
        assert_eq!(
            argv("cp {dir}/{f}.txt --x={f}", &["d", "n"]).expect("ok"),
            ["cp", "d/n.txt", "--x=n"]
        );
    }

    #[test]
    fn braces_escape_by_doubling() {
        assert_eq!(
            argv("echo {{x}} a}}b", &[]).expect("ok"),
            ["echo", "{x}", "a}b"]
        );
        assert!(matches!(
            Template::parse("echo {x"),
            Err(Error::Configuration(_))
        ));
        assert!(matches!(
            Template::parse("echo x}"),
            Err(Error::Configuration(_))
        ));
        assert!(matches!(
            Template::parse("echo {1x}"),
            Err(Error::Configuration(_))
        ));
    }

    #[test]
    fn hash_is_literal_inside_words_and_refused_as_a_comment() {
        assert_eq!(
            argv("echo foo#bar baz", &[]).expect("ok"),
            ["echo", "foo#bar", "baz"]
        );
        assert_eq!(
            argv("echo '#x' \\#y", &[]).expect("ok"),
            ["echo", "#x", "#y"]
        );
        assert!(matches!(
            Template::parse("echo a #b c"),
            Err(Error::Configuration(_))
        ));
    }

    #[test]
    fn leading_dash_from_a_value_is_refused_but_not_from_a_literal() {
        assert!(matches!(
            argv("git ls-remote {url}", &["--upload-pack=touch /tmp/x"]),
            Err(Error::CommandNotAllowed(_))
        ));
        assert!(matches!(
            argv("echo {a}{b}", &["", "-n"]),
            Err(Error::CommandNotAllowed(_))
        ));
        assert_eq!(
            argv("echo --x={a}", &["-n"]).expect("ok"),
            ["echo", "--x=-n"]
        );
        assert_eq!(argv("echo x{a}", &["-n"]).expect("ok"), ["echo", "x-n"]);
    }

    #[test]
    fn leading_at_sign_from_a_value_is_refused_as_a_response_file() {
        assert!(matches!(
            argv("gcc -fsyntax-only {file}", &["@uploads/x"]),
            Err(Error::CommandNotAllowed(_))
        ));
        assert!(matches!(
            argv("echo {a}{b}", &["", "@x"]),
            Err(Error::CommandNotAllowed(_))
        ));
        assert_eq!(
            argv("echo ./{a} x@{a}", &["@f"]).expect("ok"),
            ["echo", "./@f", "x@@f"]
        );
        let t = Template::parse("gcc {f}").expect("parse");
        assert_eq!(t.expand(&[b"@opts"], &[true]).expect("option")[1], b"@opts");
    }

    #[test]
    fn shell_syntax_is_refused_unless_quoted() {
        for t in [
            "docker run --rm {image} > /var/log/deploy.log",
            "ls {d} 2>&1",
            "echo a; rm x",
            "echo a && echo b",
            "echo a | cat",
            "echo a &",
            "cat < in",
            "echo $HOME",
            "echo ${HOME}",
            "echo `id`",
            "echo $(id)",
            "echo \"$HOME\"",
            "echo \"`id`\"",
            "ls *.txt",
            "ls file?.txt",
            "ls [ab].txt",
            "ls ~",
            "ls ~/x",
            "cp --target=~/x {f}",
            "echo a:~",
            "echo (x)",
            "echo a\nrm x",
        ] {
            assert!(
                matches!(Template::parse(t), Err(Error::Configuration(_))),
                "{t:?} was accepted"
            );
        }
        assert_eq!(
            argv(
                "echo '>' \\| ';' '$HOME' \"a b\" '*' \\~ HEAD~1 '2>&1' \"\\$x\"",
                &[]
            )
            .expect("ok"),
            ["echo", ">", "|", ";", "$HOME", "a b", "*", "~", "HEAD~1", "2>&1", "$x"]
        );
        let msg = match Template::parse("docker run --rm {image} > /var/log/deploy.log") {
            Err(e) => e.to_string(),
            Ok(_) => String::new(),
        };
        assert!(
            msg.contains("result.stdout") && msg.contains("quote"),
            "{msg}"
        );
    }

    #[test]
    fn plain_argv_words_after_the_separator_are_values() {
        let words = |w: &[&str]| w.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        let (t, v) = Template::from_plain(words(&["git", "log", "--", "-x"])).expect("plain");
        assert_eq!(t.names(), ["arg3"]);
        assert_eq!(v, words(&["-x"]));
        assert_eq!(t.words()[1].as_literal(), Some(&b"log"[..]));
        let (t, v) = Template::from_plain(words(&["git", "ls-remote", "u"])).expect("plain");
        assert_eq!(t.names(), ["arg1", "arg2"]);
        assert_eq!(v, words(&["ls-remote", "u"]));
        let (t, _) = Template::from_plain(words(&["ls", "-l", "--", "a", "--"])).expect("plain");
        assert_eq!(t.names(), ["arg3", "arg4"]);
    }

    #[test]
    fn executable_cannot_be_a_placeholder() {
        assert!(matches!(
            Template::parse("{prog} x"),
            Err(Error::Configuration(_))
        ));
        assert!(matches!(
            Template::parse("/usr/bin/{prog}"),
            Err(Error::Configuration(_))
        ));
    }
}
