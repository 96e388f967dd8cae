//! Splitting a template into words, as a POSIX shell would, and refusing what a shell would
//! read differently.
//!
//! - Splitting uses `shell-words` (POSIX quote removal, no expansion of any kind).
//! - `#`: a POSIX shell treats a word-initial unquoted `#` as the start of a comment, and
//!   `shell-words` follows it, dropping every word after it. A template where that would happen
//!   is refused; a `#` anywhere else (inside a word, quoted, or escaped as `\#`) is literal.
//! - Shell syntax: a template that looks like a shell command line but is not run by one would
//!   pass `>`, `|`, `;`, `&&`, `2>&1`, `$HOME`, `~` or `*` to the program as literal words,
//!   which is never what its author meant (`docker run {image} > /var/log/x` would hand docker
//!   two extra arguments). Unquoted operators, redirections, expansions (`$`, backquotes, also
//!   inside double quotes), globs (`*`, `?`, `[`), a word-initial `~` (or one after `=` or `:`)
//!   and unquoted newlines are refused at definition; quoted or backslash-escaped they are
//!   literal. Every accepted template therefore means the same words to `sh` as to us.

use crate::error::{excerpt, Error, Result};

/// What sh would do with an unquoted character that a template passes on literally.
fn shell_meaning(c: char) -> Option<&'static str> {
    Some(match c {
        ';' | '&' | '|' => "a shell operator that chains commands",
        '<' | '>' => "a redirection",
        '(' | ')' => "a subshell or function parenthesis",
        '\n' => "a line break, which ends a shell command",
        '$' | '`' => "an expansion (variable, command or arithmetic)",
        '*' | '?' | '[' => "a glob",
        _ => return None,
    })
}

fn shell_syntax_error(input: &str, c: char, place: &str, meaning: &str) -> Error {
    let shown = if c == '\n' {
        "\\n".to_owned()
    } else {
        c.to_string()
    };
    Error::configuration(format!(
        "the command template `{}` has {place} `{shown}` ({meaning}), but no shell runs a \
         Command: it would reach the program as a literal argument. Run one program per Command \
         (chain or pipe them in Ruby), read its output from result.stdout and result.stderr \
         instead of redirecting, pass values through {{placeholders}} instead of $VARIABLES \
         and globs, or quote it ('{shown}' or \\{shown}) if the program really takes it literally",
        excerpt(input, 60)
    ))
}

/// Refuses shell syntax that sh would act on but a template passes on as literal text: the
/// template must mean the same words to a reader who knows sh as to us.
pub(super) fn check_no_shell_syntax(input: &str) -> Result<()> {
    #[derive(PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut quote = Quote::None;
    let mut chars = input.chars();
    let mut word_start = true; // no unquoted character of the current word seen yet
    let mut prev: Option<char> = None; // the previous unquoted character
    while let Some(c) = chars.next() {
        match quote {
            Quote::Single => {
                if c == '\'' {
                    quote = Quote::None;
                }
                prev = None;
                continue;
            }
            Quote::Double => {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => quote = Quote::None,
                    '$' | '`' => {
                        return Err(shell_syntax_error(
                            input,
                            c,
                            "a double-quoted",
                            "an expansion, which sh performs inside double quotes too; use \
                             single quotes for a literal",
                        ))
                    }
                    _ => {}
                }
                prev = None;
                continue;
            }
            Quote::None => {}
        }
        match c {
            ' ' | '\t' => {
                word_start = true;
                prev = None;
                continue;
            }
            '\\' => {
                chars.next();
            }
            '\'' => quote = Quote::Single,
            '"' => quote = Quote::Double,
            '~' if word_start || matches!(prev, Some('=') | Some(':')) => {
                return Err(shell_syntax_error(
                    input,
                    c,
                    "an unquoted",
                    "a home-directory expansion",
                ))
            }
            c => {
                if let Some(meaning) = shell_meaning(c) {
                    return Err(shell_syntax_error(input, c, "an unquoted", meaning));
                }
            }
        }
        prev = if matches!(c, '\\' | '\'' | '"') {
            None
        } else {
            Some(c)
        };
        word_start = false;
    }
    Ok(())
}

/// Splits `input` with POSIX word rules, refusing a word-initial `#` (a shell comment that
/// would drop the words after it), shell syntax that no shell will act on, and unbalanced
/// quotes.
pub fn split_words(input: &str) -> Result<Vec<String>> {
    let words = shell_words::split(input).map_err(|_| {
        Error::configuration(format!(
            "the command template has an unbalanced quote (in `{}`): close every ' and \" \
             (a literal quote is written \\' or \\\")",
            excerpt(input, 60)
        ))
    })?;
    if input.contains('#') {
        // Split again with every `#` swapped for a character that is never special; if the
        // words differ, some `#` began a comment.
        let marker = ('\u{E000}'..='\u{F8FF}')
            .find(|c| !input.contains(*c))
            .unwrap_or('\u{F8FF}');
        let swapped = input.replace('#', &marker.to_string());
        let literal: Vec<String> = shell_words::split(&swapped)
            .map_err(|_| {
                Error::Configuration("the command template has an unbalanced quote".into())
            })?
            .into_iter()
            .map(|w| w.replace(marker, "#"))
            .collect();
        if literal != words {
            return Err(Error::configuration(format!(
                "a `#` at the start of a word in the command template (`{}`) would begin a shell \
                 comment and drop every word after it: quote it ('#...') or escape it (\\#) to pass \
                 it literally, or remove the comment",
                excerpt(input, 60)
            )));
        }
    }
    Ok(words)
}
