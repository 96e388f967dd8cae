//! Criterion benchmarks for the `identity` capability: parsing (PEM and DER, 1/3/8-certificate
//! bundles), field reads, DN parsing and comparison, SPIFFE ID and XFCC parsing, and chain
//! verification. Run with `cargo bench -p hanami_guard_core --bench identity`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hanami_guard_core::identity::{xfcc, Certificate, DistinguishedName, SpiffeId, TrustStore};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::hint::black_box;

struct Chain {
    root_pem: String,
    ica_pem: String,
    leaf_pem: String,
}

fn chain() -> Result<Chain, rcgen::Error> {
    let root_key = KeyPair::generate()?;
    let mut root = CertificateParams::new(Vec::<String>::new())?;
    root.distinguished_name
        .push(DnType::CommonName, "Bench Root CA");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_cert = root.self_signed(&root_key)?;
    let root_issuer = Issuer::new(root, root_key);

    let ica_key = KeyPair::generate()?;
    let mut ica = CertificateParams::new(Vec::<String>::new())?;
    ica.distinguished_name
        .push(DnType::CommonName, "Bench Intermediate CA");
    ica.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ica.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ica_cert = ica.signed_by(&ica_key, &root_issuer)?;
    let ica_issuer = Issuer::new(ica, ica_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(vec!["api.example.org".to_owned()])?;
    leaf.distinguished_name.push(DnType::CountryName, "US");
    leaf.distinguished_name
        .push(DnType::OrganizationName, "MyOrg");
    leaf.distinguished_name.push(DnType::CommonName, "operator");
    leaf.subject_alt_names.push(SanType::URI(
        "spiffe://prod.example.org/ns/ops/sa/deployer".try_into()?,
    ));
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &ica_issuer)?;
    Ok(Chain {
        root_pem: root_cert.pem(),
        ica_pem: ica_cert.pem(),
        leaf_pem: leaf_cert.pem(),
    })
}

fn bench(c: &mut Criterion) {
    let Ok(chain) = chain() else {
        eprintln!("rcgen could not build the benchmark chain");
        return;
    };
    let Ok(leaf) = Certificate::parse(chain.leaf_pem.as_bytes()) else {
        return;
    };
    let der = leaf.der().to_vec();

    c.bench_function("certificate_parse_pem", |b| {
        b.iter(|| Certificate::parse(black_box(chain.leaf_pem.as_bytes())))
    });
    c.bench_function("certificate_parse_der", |b| {
        b.iter(|| Certificate::parse(black_box(&der)))
    });
    c.bench_function("certificate_parse_pem_and_fields", |b| {
        b.iter(|| {
            let cert = Certificate::parse(black_box(chain.leaf_pem.as_bytes()))?;
            black_box(cert.subject().first("2.5.4.3").map(str::len));
            black_box(cert.dns_names().len() + cert.uris().len());
            black_box(cert.spiffe_id().map(str::len));
            black_box(cert.fingerprint_hex().len());
            Ok::<_, hanami_guard_core::Error>(())
        })
    });

    let mut group = c.benchmark_group("parse_chain_bundle");
    for n in [1usize, 3, 8] {
        let bundle = chain.leaf_pem.repeat(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &bundle, |b, bundle| {
            b.iter(|| Certificate::parse_chain(black_box(bundle.as_bytes())))
        });
    }
    group.finish();

    let dn_text = "CN=operator\\,O=evil,OU=Ops+UID=42,O=MyOrg,C=US";
    c.bench_function("dn_parse", |b| {
        b.iter(|| DistinguishedName::parse(black_box(dn_text)))
    });
    let (Ok(a), Ok(b_)) = (
        DistinguishedName::parse("CN=operator,O=MyOrg,C=US"),
        DistinguishedName::parse("cn=OPERATOR, o=my  org , c=us"),
    ) else {
        return;
    };
    c.bench_function("dn_equal_rfc5280", |b| {
        b.iter(|| black_box(&a) == black_box(&b_))
    });
    c.bench_function("dn_to_rfc4514", |b| b.iter(|| black_box(&a).to_rfc4514()));

    c.bench_function("spiffe_id_parse", |b| {
        b.iter(|| SpiffeId::parse(black_box("spiffe://prod.example.org/ns/ops/sa/deployer")))
    });

    let header = format!(
        "By=spiffe://proxy.example.org;Hash={};Subject=\"CN=operator,O=MyOrg\";URI=spiffe://prod.example.org/ns/ops",
        leaf.fingerprint_hex()
    );
    c.bench_function("xfcc_parse", |b| {
        b.iter(|| xfcc::parse(black_box(header.as_bytes())))
    });

    let (Ok(store), Ok(ica)) = (
        TrustStore::new(chain.root_pem.as_bytes(), &[]),
        Certificate::parse(chain.ica_pem.as_bytes()),
    ) else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if store.verify(&leaf, &[&ica], now).is_err() {
        eprintln!("the benchmark chain does not verify");
        return;
    }
    c.bench_function("trust_store_verify_3_cert_chain", |b| {
        b.iter(|| store.verify(black_box(&leaf), black_box(&[&ica]), now))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
