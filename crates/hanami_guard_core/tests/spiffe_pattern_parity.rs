//! A policy's `spiffe_id:` condition and a certificate's SPIFFE ID follow one rule
//! (`SpiffeId`): every string one accepts as a SPIFFE ID, the other accepts too.

use hanami_guard_core::identity::SpiffeId;
use hanami_guard_core::policy::pattern::{is_valid_spiffe_id, SpiffePattern};
use proptest::prelude::*;

fn pattern_accepts(id: &str) -> bool {
    // A pattern without a wildcard is an exact ID; `*` is refused there anyway.
    !id.contains('*') && SpiffePattern::parse(id).is_ok()
}

#[test]
fn the_same_ids_in_a_table() {
    let long_td = format!("spiffe://{}/a", "t".repeat(256));
    let long_id = format!("spiffe://td/{}", "a".repeat(2048));
    let cases = [
        "spiffe://prod.example.org/ns/ops/sa/deployer",
        "spiffe://prod.example.org",
        "spiffe://td/a_b-c.d/E",
        "spiffe://Prod.example.org/x",
        "SPIFFE://td/x",
        "spiffe://td/",
        "spiffe://td//x",
        "spiffe://td/./x",
        "spiffe://td/a/../x",
        "spiffe://td/%41",
        "spiffe://user@td/x",
        "spiffe://td:8080/x",
        "spiffe://td/x?q",
        "spiffe://td/x#f",
        "spiffe:///x",
        "spiffe://",
        "",
        "https://td/x",
        long_td.as_str(),
        long_id.as_str(),
    ];
    for id in cases {
        let parsed = SpiffeId::parse(id).is_ok();
        assert_eq!(is_valid_spiffe_id(id), parsed, "{id:?}");
        assert_eq!(pattern_accepts(id), parsed, "{id:?}");
    }
}

proptest! {
    #[test]
    fn the_same_ids_for_any_string(id in "(spiffe|SPIFFE|https)://[a-zA-Z0-9._:@%-]{0,12}(/[a-zA-Z0-9._%?#-]{0,6}){0,4}/?") {
        let parsed = SpiffeId::parse(&id).is_ok();
        prop_assert_eq!(is_valid_spiffe_id(&id), parsed);
        prop_assert_eq!(pattern_accepts(&id), parsed);
    }
}
