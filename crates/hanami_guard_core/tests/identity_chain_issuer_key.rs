//! `issuer_key:` binds a policy rule to a CA by key, and only a chain a TrustStore verified
//! supplies keys: a certificate's own claims never do.

mod pki;

use hanami_guard_core::identity::{Certificate, TrustStore};
use hanami_guard_core::policy::{parse_issuer_key, Policy, Verified};
use pki::{ca_params, make_ca, now, signed, Ca, R};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose};

fn ca(cn: &str, parent: Option<&Ca>) -> R<Ca> {
    make_ca(ca_params(cn)?, parent)
}

fn leaf(issuer: &Ca) -> R<Certificate> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, "operator");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    signed(&p, issuer)
}

fn policy(effect_key: &[(&str, &str)]) -> R<Policy> {
    let mut yaml = String::from("version: 1\nrules:\n");
    for (i, (effect, key)) in effect_key.iter().enumerate() {
        let principal = if key.is_empty() {
            "\"*\"".to_owned()
        } else {
            format!("{{ subject: {{ CN: operator }}, issuer_key: \"{key}\" }}")
        };
        yaml.push_str(&format!(
            "  - {{ id: r{i}, effect: {effect}, actions: [deploy], resources: [worker], principals: [{principal}] }}\n"
        ));
    }
    Ok(Policy::parse(&yaml, "test")?)
}

#[test]
fn an_allow_binds_to_a_ca_key_on_the_verified_path() -> R<()> {
    let root = ca("Root", None)?;
    let ica = ca("Issuing CA", Some(&root))?;
    // Another CA with the same names: `issuer:` cannot tell them apart, `issuer_key:` can.
    let twin_root = ca("Root", None)?;
    let twin_ica = ca("Issuing CA", Some(&twin_root))?;
    let bundle = format!("{}{}", root.cert.to_pem(), twin_root.cert.to_pem());
    let store = TrustStore::new(bundle.as_bytes(), &[])?;
    let cert = leaf(&ica)?;
    let twin_cert = leaf(&twin_ica)?;
    let chain = store.verify_chain(&cert, &[&ica.cert], now())?;
    let twin_chain = store.verify_chain(&twin_cert, &[&twin_ica.cert], now())?;
    assert_eq!(chain.ca_keys().len(), 2);

    for key in [&ica.spki_sha256, &root.spki_sha256] {
        let p = policy(&[("allow", key)])?;
        let verified = Verified {
            identity: &cert,
            chain: &chain,
        };
        let twin = Verified {
            identity: &twin_cert,
            chain: &twin_chain,
        };
        assert!(p.allowed(Some(&verified), "deploy", "worker"));
        assert!(!p.allowed(Some(&twin), "deploy", "worker"));
        // Unverified: no key is known, so no allow holds.
        assert!(!p.allowed(Some(&cert), "deploy", "worker"));
    }
    Ok(())
}

#[test]
fn a_deny_on_a_ca_key_holds_for_unverified_identities() -> R<()> {
    let root = ca("Root", None)?;
    let partner = ca("Partner", None)?;
    let store = TrustStore::new(
        format!("{}{}", root.cert.to_pem(), partner.cert.to_pem()).as_bytes(),
        &[],
    )?;
    let p = policy(&[("allow", ""), ("deny", &partner.spki_sha256)])?;
    let ours = leaf(&root)?;
    let theirs = leaf(&partner)?;
    let ours_chain = store.verify_chain(&ours, &[], now())?;
    let theirs_chain = store.verify_chain(&theirs, &[], now())?;
    assert!(p.allowed(
        Some(&Verified {
            identity: &ours,
            chain: &ours_chain
        }),
        "deploy",
        "worker"
    ));
    assert!(!p.allowed(
        Some(&Verified {
            identity: &theirs,
            chain: &theirs_chain
        }),
        "deploy",
        "worker"
    ));
    // Which CA issued an unverified certificate is unknown: the deny holds.
    assert!(!p.allowed(Some(&ours), "deploy", "worker"));
    Ok(())
}

#[test]
fn issuer_keys_are_parsed_strictly() {
    let hex = "ab".repeat(32);
    assert!(parse_issuer_key(&hex).is_ok());
    assert!(parse_issuer_key(&hex.to_uppercase()).is_ok());
    assert!(parse_issuer_key(&format!("sha256:{}", "AB:".repeat(31) + "AB")).is_ok());
    for bad in [
        "",
        "ab",
        &"ab".repeat(33),
        &"zz".repeat(32),
        &format!("{}é", "a".repeat(62)),
    ] {
        assert!(parse_issuer_key(bad).is_err(), "{bad}");
    }
    assert!(Policy::parse(
        "version: 1\nrules:\n  - { id: x, effect: allow, actions: [a], resources: [r], principals: [{ issuer_key: nope }] }\n",
        "t"
    )
    .is_err());
}
