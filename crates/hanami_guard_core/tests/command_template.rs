//! Properties of template expansion: one value, one slot, whatever the value holds.

use hanami_guard_core::command::{Command, Config, Template};
use hanami_guard_core::Error;
use proptest::prelude::*;

fn printf() -> Command {
    Command::new("printf %s {a} pre{b}post {a}", Config::default()).expect("define")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_value_fills_exactly_one_slot(a in "[^-@\\x00][^\\x00]{0,40}", b in "[^\\x00]{0,40}") {
        let argv = printf().argv(&[a.as_bytes(), b.as_bytes()]).expect("argv");
        prop_assert_eq!(argv.len(), 5);
        prop_assert_eq!(&argv[2], a.as_bytes());
        prop_assert_eq!(argv[3].clone(), format!("pre{b}post").into_bytes());
        prop_assert_eq!(&argv[4], a.as_bytes());
    }

    #[test]
    fn a_leading_dash_or_at_sign_or_a_nul_is_refused(rest in "[^\\x00]{0,20}") {
        let cmd = printf();
        let dashed = format!("-{rest}");
        prop_assert!(matches!(cmd.argv(&[dashed.as_bytes(), b"x"]), Err(Error::CommandNotAllowed(_))));
        let response_file = format!("@{rest}");
        prop_assert!(matches!(cmd.argv(&[response_file.as_bytes(), b"x"]), Err(Error::CommandNotAllowed(_))));
        let nul = format!("{rest}\0");
        prop_assert!(matches!(cmd.argv(&[b"x".as_slice(), nul.as_bytes()]), Err(Error::CommandNotAllowed(_))));
    }

    #[test]
    fn parsing_any_text_never_panics(t in "\\PC{0,80}") {
        let _ = Template::parse(&t);
    }

    #[test]
    fn templates_with_hashes_never_drop_words(words in prop::collection::vec("[a-z#]{1,6}", 1..8)) {
        let template = format!("printf {}", words.join(" "));
        match Command::new(&template, Config::default()) {
            Ok(cmd) => {
                let argv = cmd.argv(&[] as &[&[u8]]).expect("argv");
                prop_assert_eq!(argv.len(), words.len() + 1);
                for (w, a) in words.iter().zip(&argv[1..]) {
                    prop_assert_eq!(w.as_bytes(), a.as_slice());
                }
            }
            Err(Error::Configuration(m)) => {
                prop_assert!(words.iter().any(|w| w.starts_with('#')), "{}", m);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
