#![no_main]
//! Fuzz target `command_template`: any template text is parsed without panicking; any values
//! expand into exactly as many words as the template has, and a value never introduces a NUL,
//! an extra word, or the first byte of a word when that byte is `-` (an option) or `@` (a
//! response file of more options for gcc, ld, javac, 7z). Nothing is executed.

use hanami_guard_core::command::template::Segment;
use hanami_guard_core::command::Template;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First line: the template; the rest: values separated by 0xFF.
    let (head, tail) = match data.iter().position(|&b| b == b'\n') {
        Some(p) => (&data[..p], &data[p + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(head) else {
        return;
    };
    let Ok(template) = Template::parse(text) else {
        return;
    };
    let words = template.words().len();
    let names = template.names().len();
    let mut values: Vec<&[u8]> = tail.split(|&b| b == 0xFF).collect();
    values.resize(names, b"v");
    let is_option = vec![false; names];
    match template.expand(&values, &is_option) {
        Ok(argv) => {
            assert_eq!(argv.len(), words);
            for (word, out) in template.words().iter().zip(&argv) {
                // Where the word's first byte comes from a value, it is no option and no
                // response file (a dash the template itself wrote is the template's).
                let first = word.segments().iter().find(|s| match s {
                    Segment::Literal(b) => !b.is_empty(),
                    Segment::Slot(i) => !values[*i].is_empty(),
                });
                if let Some(Segment::Slot(_)) = first {
                    assert!(!matches!(out.first(), Some(b'-' | b'@')), "{out:?}");
                }
            }
        }
        Err(hanami_guard_core::Error::CommandNotAllowed(_)) => {
            assert!(values
                .iter()
                .any(|v| matches!(v.first(), Some(b'-' | b'@'))));
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
});
