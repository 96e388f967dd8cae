//! `HanamiGuard::Audit`: converts arguments and results for `hanami_guard_core::audit`.
//!
//! The scan runs without the GVL (it reads and parses files on its own threads); its result
//! comes back as plain Arrays and a Hash that `lib/hanami_guard/audit.rb` turns into objects,
//! with the core's report kept beside them (`Audit::Report`) to print as JSON or SARIF.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use hanami_guard_core::audit::{self as core, Rule, Severity};
use hanami_guard_core::error::key;
use hanami_guard_core::{Error as CoreError, Field};
use magnus::{function, method, prelude::*, Error, RArray, RHash, RModule, RString, Ruby};

use super::convert::{frozen_str, with_bytes, This};
use crate::{errors, gvl};

/// The core's report of one scan, kept for the formats the core defines (JSON, SARIF).
#[magnus::wrap(
    class = "HanamiGuard::Audit::Report",
    free_immediately,
    size,
    frozen_shareable
)]
struct Report(core::Report);

impl Report {
    fn json(rb_self: This<Self>) -> String {
        rb_self.0.to_json()
    }

    fn sarif(rb_self: This<Self>, tool_version: String) -> String {
        rb_self.0.to_sarif(&tool_version)
    }

    /// Whether any finding is at or above the severity named `fail_on`.
    fn fails(ruby: &Ruby, rb_self: This<Self>, fail_on: RString) -> Result<bool, Error> {
        errors::guard(ruby, || Ok(rb_self.0.fails_at(severity(ruby, fail_on)?)))
    }
}

/// The severity named `name`; anything else is refused as a wrong `fail_on:` (the facade's only
/// severity argument: the bar a scan fails at).
fn severity(ruby: &Ruby, name: RString) -> Result<Severity, Error> {
    let name = with_bytes(name, |b| String::from_utf8_lossy(b).into_owned());
    errors::map(
        ruby,
        Severity::parse(&name).map_err(|e| e.with(key::OPTION, Field::Name("fail_on"))),
    )
}

/// `Audit._severity(name)`: the name, checked, as a Symbol.
fn check_severity(ruby: &Ruby, name: RString) -> Result<magnus::Symbol, Error> {
    errors::guard(ruby, || Ok(ruby.to_symbol(severity(ruby, name)?.as_str())))
}

fn scan(
    ruby: &Ruby,
    paths: RArray,
    baseline: RArray,
    max_file_bytes: i64,
    threads: i64,
) -> Result<RHash, Error> {
    errors::guard(ruby, || {
        let paths: Vec<PathBuf> = paths.to_vec()?;
        let baseline: HashSet<String> = baseline.to_vec::<String>()?.into_iter().collect();
        let options = core::Options {
            max_file_bytes: count(
                ruby,
                max_file_bytes,
                "max_file_bytes",
                "the largest file to analyse, in bytes",
            )?,
            threads: count(
                ruby,
                threads,
                "threads",
                "0 for one per CPU, or a number of threads",
            )?
            .try_into()
            .unwrap_or(usize::MAX),
            baseline,
        };
        let report = errors::map(ruby, gvl::nogvl(ruby, || core::scan(&paths, &options))?)?;
        let h = to_hash(ruby, &report)?;
        let wrapped = ruby.obj_wrap(Report(report));
        wrapped.freeze();
        h.aset("report", wrapped)?;
        Ok(h)
    })
}

/// A count given as the keyword `option`: never negative.
fn count(ruby: &Ruby, n: i64, option: &'static str, wanted: &str) -> Result<u64, Error> {
    u64::try_from(n).map_err(|_| {
        errors::to_ruby(
            ruby,
            CoreError::configuration(format!("{option}: {n} is negative: give {wanted}"))
                .with(key::OPTION, Field::Name(option)),
        )
    })
}

/// The fingerprints of a saved JSON report (a baseline): `file` names it in the error.
fn baseline(ruby: &Ruby, file: String, text: RString) -> Result<RArray, Error> {
    errors::guard(ruby, || {
        let fingerprints = errors::map(
            ruby,
            with_bytes(text, |bytes| core::baseline_fingerprints(&file, bytes)),
        )?;
        Ok(ruby.ary_from_iter(fingerprints))
    })
}

fn to_hash(ruby: &Ruby, report: &core::Report) -> Result<RHash, Error> {
    let findings = ruby.ary_new_capa(report.findings.len());
    for f in &report.findings {
        let row = ruby.ary_new_capa(9);
        row.push(frozen_str(ruby, f.rule.id()))?;
        row.push(frozen_str(ruby, f.severity().as_str()))?;
        row.push(frozen_str(ruby, &f.path))?;
        row.push(f.line)?;
        row.push(f.column)?;
        row.push(frozen_str(ruby, &f.message))?;
        row.push(frozen_str(ruby, f.rule.fix()))?;
        row.push(frozen_str(ruby, &f.snippet))?;
        row.push(frozen_str(ruby, &f.fingerprint))?;
        findings.push(row)?;
    }
    let skipped = ruby.ary_new_capa(report.skipped.len());
    for s in &report.skipped {
        skipped.push((frozen_str(ruby, &s.path), frozen_str(ruby, &s.reason)))?;
    }
    let h = ruby.hash_new();
    h.aset("findings", findings)?;
    h.aset("skipped", skipped)?;
    h.aset("files", report.files)?;
    h.aset("lines", report.lines)?;
    h.aset("ignored", report.ignored)?;
    h.aset("baselined", report.baselined)?;
    h.aset("seconds", duration_seconds(report.elapsed))?;
    Ok(h)
}

fn duration_seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// `[[id, severity, summary, fix], ...]`: the rule table, for SARIF and the docs.
fn rules(ruby: &Ruby) -> Result<RArray, Error> {
    let out = ruby.ary_new_capa(Rule::ALL.len());
    for rule in Rule::ALL {
        out.push((
            frozen_str(ruby, rule.id()),
            frozen_str(ruby, rule.severity().as_str()),
            frozen_str(ruby, rule.summary()),
            frozen_str(ruby, rule.fix()),
        ))?;
    }
    out.freeze();
    Ok(out)
}

/// Severity names, least severe first.
fn severities(ruby: &Ruby) -> Result<RArray, Error> {
    let out = ruby.ary_new_capa(Severity::ALL.len());
    for s in Severity::ALL {
        out.push(frozen_str(ruby, s.as_str()))?;
    }
    out.freeze();
    Ok(out)
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let m = module.define_module("Audit")?;
    let report = m.define_class("Report", ruby.class_object())?;
    report.undef_default_alloc_func();
    report.define_private_method("_json", method!(Report::json, 0))?;
    report.define_private_method("_sarif", method!(Report::sarif, 1))?;
    report.define_private_method("_fails", method!(Report::fails, 1))?;
    m.singleton_class()?
        .define_private_method("_scan", function!(scan, 4))?;
    m.singleton_class()?
        .define_private_method("_baseline", function!(baseline, 2))?;
    m.singleton_class()?
        .define_private_method("_rules", function!(rules, 0))?;
    m.singleton_class()?
        .define_private_method("_severities", function!(severities, 0))?;
    m.singleton_class()?
        .define_private_method("_severity", function!(check_severity, 1))?;
    m.const_set("DEFAULT_MAX_FILE_BYTES", core::DEFAULT_MAX_FILE_BYTES)?;
    Ok(())
}
