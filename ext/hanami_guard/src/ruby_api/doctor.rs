//! `HanamiGuard::Doctor`: runs the core's checks and hands the report to Ruby as plain,
//! frozen data. The Ruby facade (`lib/hanami_guard/doctor.rb`) builds `Finding`s and the
//! JSON/SARIF forms from it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use hanami_guard_core::doctor::{self, Options, Report, Severity};
use hanami_guard_core::error::key;
use magnus::{function, method, prelude::*, Error, RArray, RHash, RModule, RString, Ruby};

use super::convert::{frozen_str, frozen_strs, with_bytes, This};
use crate::{errors, gvl};

/// The Ruby object: one immutable report.
#[magnus::wrap(
    class = "HanamiGuard::Doctor::NativeReport",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
struct NativeReport(Report);

fn path_of(s: RString) -> PathBuf {
    with_bytes(s, |b| PathBuf::from(OsStr::from_bytes(b)))
}

fn strings(array: RArray) -> Result<Vec<RString>, Error> {
    array.into_iter().map(RString::try_convert).collect()
}

fn run(
    ruby: &Ruby,
    root: RString,
    env_names: RArray,
    roots: RArray,
) -> Result<NativeReport, Error> {
    errors::guard(ruby, || {
        let options = Options {
            root: path_of(root),
            env_names: strings(env_names)?
                .into_iter()
                .map(|s| with_bytes(s, |b| String::from_utf8_lossy(b).into_owned()))
                .collect(),
            roots: strings(roots)?.into_iter().map(path_of).collect(),
        };
        // Reading /proc and a fixture tree is file I/O: other threads keep running meanwhile.
        let report = errors::map(ruby, gvl::nogvl(ruby, move || doctor::run(&options))?)?;
        Ok(NativeReport(report))
    })
}

fn severity(ruby: &Ruby, name: RString) -> Result<Severity, Error> {
    let name = with_bytes(name, |b| String::from_utf8_lossy(b).into_owned());
    // The facade's only severity argument is `fail_on:`.
    errors::map(
        ruby,
        Severity::parse(&name)
            .map_err(|e| e.with(key::OPTION, hanami_guard_core::Field::Name("fail_on"))),
    )
}

impl NativeReport {
    fn findings(ruby: &Ruby, rb_self: This<Self>) -> Result<RArray, Error> {
        errors::guard(ruby, || {
            let out = ruby.ary_new_capa(rb_self.0.findings.len());
            for f in &rb_self.0.findings {
                let h: RHash = ruby.hash_new();
                h.aset(ruby.to_symbol("id"), frozen_str(ruby, f.id))?;
                h.aset(
                    ruby.to_symbol("severity"),
                    ruby.to_symbol(f.severity.as_str()),
                )?;
                h.aset(ruby.to_symbol("title"), frozen_str(ruby, &f.title))?;
                h.aset(ruby.to_symbol("evidence"), frozen_strs(ruby, &f.evidence))?;
                h.aset(ruby.to_symbol("fix"), frozen_str(ruby, f.fix))?;
                h.aset(ruby.to_symbol("source"), frozen_str(ruby, f.source))?;
                h.aset(
                    ruby.to_symbol("security_severity"),
                    frozen_str(ruby, f.severity.security_severity()),
                )?;
                h.freeze();
                out.push(h)?;
            }
            out.freeze();
            Ok(out)
        })
    }

    fn pairs(ruby: &Ruby, pairs: &[(&'static str, String)]) -> Result<RArray, Error> {
        let out = ruby.ary_new_capa(pairs.len());
        for (name, text) in pairs {
            out.push(frozen_strs(ruby, &[*name, text.as_str()]))?;
        }
        out.freeze();
        Ok(out)
    }

    fn not_checked(ruby: &Ruby, rb_self: This<Self>) -> Result<RArray, Error> {
        errors::guard(ruby, || Self::pairs(ruby, &rb_self.0.not_checked))
    }

    fn probes(ruby: &Ruby, rb_self: This<Self>) -> Result<RArray, Error> {
        errors::guard(ruby, || Self::pairs(ruby, &rb_self.0.probes))
    }

    /// The positions (in `_findings`) of the findings at or above `fail_on`.
    fn at_or_above(ruby: &Ruby, rb_self: This<Self>, fail_on: RString) -> Result<RArray, Error> {
        errors::guard(ruby, || {
            let fail_on = severity(ruby, fail_on)?;
            let out = ruby.ary_new();
            for i in rb_self.0.at_or_above(fail_on) {
                out.push(i)?;
            }
            out.freeze();
            Ok(out)
        })
    }
}

fn severities(ruby: &Ruby) -> RArray {
    let out = ruby.ary_new_capa(Severity::ALL.len());
    for s in Severity::ALL {
        // Pushing a Symbol onto a fresh Array cannot fail short of NoMemoryError.
        let _ = out.push(ruby.to_symbol(s.as_str()));
    }
    out.freeze();
    out
}

fn ids(ruby: &Ruby) -> RArray {
    frozen_strs(ruby, &doctor::IDS)
}

fn check_severity(ruby: &Ruby, name: RString) -> Result<magnus::Symbol, Error> {
    errors::guard(ruby, || Ok(ruby.to_symbol(severity(ruby, name)?.as_str())))
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let m = module.define_module("Doctor")?;
    m.singleton_class()?
        .define_private_method("_run", function!(run, 3))?;
    m.singleton_class()?
        .define_private_method("_severities", function!(severities, 0))?;
    m.singleton_class()?
        .define_private_method("_ids", function!(ids, 0))?;
    m.singleton_class()?
        .define_private_method("_severity", function!(check_severity, 1))?;
    let class = m.define_class("NativeReport", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_private_method("_findings", method!(NativeReport::findings, 0))?;
    class.define_private_method("_not_checked", method!(NativeReport::not_checked, 0))?;
    class.define_private_method("_probes", method!(NativeReport::probes, 0))?;
    class.define_private_method("_at_or_above", method!(NativeReport::at_or_above, 1))?;
    Ok(())
}
