#![no_main]
//! Fuzz target `command_template`: any template text is parsed without panicking; any values
//! expand into exactly as many words as the template has, and a value never introduces a NUL,
//! a leading dash from a placeholder, or an extra word. Nothing is executed.

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
        }
        Err(hanami_guard_core::Error::CommandNotAllowed(_)) => {
            assert!(values.iter().any(|v| v.first() == Some(&b'-')));
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
});
