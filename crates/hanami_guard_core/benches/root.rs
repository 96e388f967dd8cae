//! Criterion benchmarks for the `root` capability: reading a small file through a `Root`
//! (openat2 and the forced walker) against `std::fs::read` of the joined path, at path depths
//! 1, 8 and 32.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hanami_guard_core::root::{Options, Resolver, Root};

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("public");
    let names: Vec<String> = (1..32).map(|i| format!("d{i}")).collect();
    let mut dir = base.clone();
    std::fs::create_dir_all(&base).expect("mkdir");
    std::fs::write(base.join("f.txt"), "depth 1\n").expect("write");
    for (i, name) in names.iter().enumerate() {
        dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("f.txt"), format!("depth {}\n", i + 2)).expect("write");
    }
    let kernel = Root::new(&base, Options::default()).expect("root");
    let walk = Root::new(
        &base,
        Options {
            resolver: Resolver::Walk,
            ..Options::default()
        },
    )
    .expect("root");

    for depth in [1usize, 8, 32] {
        let rel = names[..depth - 1]
            .iter()
            .map(String::as_str)
            .chain(["f.txt"])
            .collect::<Vec<_>>()
            .join("/");
        let joined = base.join(&rel);
        let mut group = c.benchmark_group(format!("read_depth_{depth}"));
        group.bench_function("std_fs_read_unchecked", |b| {
            b.iter(|| std::fs::read(black_box(&joined)).expect("read"))
        });
        group.bench_function("root_openat2", |b| {
            b.iter(|| kernel.read(black_box(rel.as_bytes()), None).expect("read"))
        });
        group.bench_function("root_walk", |b| {
            b.iter(|| walk.read(black_box(rel.as_bytes()), None).expect("read"))
        });
        group.finish();
    }

    c.bench_function("safe_name", |b| {
        b.iter(|| {
            hanami_guard_core::root::safe_name(black_box(b"../../etc/passwd.png"), &["png"])
                .expect("name")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
