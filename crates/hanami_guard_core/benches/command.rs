//! Criterion benchmarks for the `command` capability: template parsing (once, at boot),
//! expansion into argv (every run; the target is under 2 µs), and a whole run of /bin/true.
//!
//! `cargo bench -p hanami_guard_core --bench command`

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hanami_guard_core::cancel::Cancel;
use hanami_guard_core::command::{Allow, Command, Config, Template};

fn bench(c: &mut Criterion) {
    c.bench_function("command_template_parse", |b| {
        b.iter(|| {
            Template::parse(black_box(
                "git -C {repo} log --format=%H --author={who} -- {path}",
            ))
        })
    });

    let mut map = HashMap::new();
    map.insert(b"worker".to_vec(), b"worker:latest".to_vec());
    let cmd = Command::new(
        "printf run --rm --name {name} {image}",
        Config {
            allow: vec![("image".into(), Allow::Map(map))],
            ..Config::default()
        },
    )
    .expect("define");
    c.bench_function("command_argv_2_placeholders", |b| {
        b.iter(|| cmd.argv(black_box(&["job-1", "worker"])))
    });

    let five = Command::new(
        "printf %s-%s {a} x{b}y {c}/{d}.txt --opt={e}",
        Config::default(),
    )
    .expect("define");
    c.bench_function("command_argv_5_placeholders", |b| {
        b.iter(|| five.argv(black_box(&["alpha", "beta", "gamma", "delta", "epsilon"])))
    });

    let t = Command::new("/bin/true", Config::default()).expect("define");
    let cancel = Cancel::new().expect("eventfd");
    let none: [&str; 0] = [];
    let mut group = c.benchmark_group("command_run");
    group.sample_size(50);
    group.bench_function("bin_true", |b| {
        b.iter(|| t.run(&none, None, &cancel).expect("run"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
