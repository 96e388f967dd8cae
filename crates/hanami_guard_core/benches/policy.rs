//! Criterion benchmarks for the `policy` capability: one decision at 10 to 10,000 rules over 50
//! actions (allowed, and nothing-matches), and loading a 1,000-rule YAML policy.
//!
//! `cargo bench -p hanami_guard_core --bench policy` (figures in BENCHMARKS.md, "Policy").

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hanami_guard_core::policy::{OwnedIdentity, Policy};

const ACTIONS: usize = 50;

/// The same shape as bench/policy.rb: every 10th rule a deny; two exact resources and a glob;
/// a subject principal and a SPIFFE principal.
fn yaml(rules: usize) -> String {
    let mut out = String::from("version: 1\nrules:\n");
    for i in 0..rules {
        out.push_str(&format!(
            "  - {{ id: r{i}, effect: {}, actions: [a{}], resources: [res{}, res{}, \"dir{}/*\"], \
             principals: [{{ subject: {{ CN: user{}, O: MyOrg }} }}, {{ spiffe_id: \"spiffe://prod.example.org/ns/n{}/*\" }}] }}\n",
            if i % 10 == 9 { "deny" } else { "allow" },
            i % ACTIONS,
            i % 97,
            (i + 1) % 97,
            i % 13,
            i % 211,
            i % 31
        ));
    }
    out
}

fn identity() -> OwnedIdentity {
    OwnedIdentity {
        subject: vec![
            OwnedIdentity::attribute("CN", "user5"),
            OwnedIdentity::attribute("O", "MyOrg"),
        ],
        issuer: vec![OwnedIdentity::attribute("CN", "MyOrg Internal CA")],
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let who = identity();
    let mut group = c.benchmark_group("policy_decide");
    for rules in [10usize, 100, 1_000, 10_000] {
        let policy = match Policy::parse(&yaml(rules), "bench.yml") {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        group.bench_with_input(BenchmarkId::new("allowed", rules), &policy, |b, p| {
            b.iter(|| p.allowed(Some(black_box(&who)), black_box("a5"), black_box("res5")))
        });
        group.bench_with_input(BenchmarkId::new("no_match", rules), &policy, |b, p| {
            b.iter(|| {
                p.allowed(
                    Some(black_box(&who)),
                    black_box("a5"),
                    black_box("dir6/zzz"),
                )
            })
        });
    }
    group.finish();

    let text = yaml(1_000);
    c.bench_function("policy_parse_1000_rules", |b| {
        b.iter(|| Policy::parse(black_box(&text), "bench.yml").map(|p| p.rules().len()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
