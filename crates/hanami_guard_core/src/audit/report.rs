//! The report formats, defined once: the JSON report (which is also the baseline file) and
//! SARIF 2.1.0 for code-scanning tools. Reading a baseline back is here too, so the format a
//! scan writes and the one it accepts cannot drift apart.

use serde_json::{json, Value};

use super::{Finding, Report, Rule, Severity};
use crate::error::{key, Field};
use crate::{Error, Result};

/// Where SARIF readers find the schema.
const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key under `partialFingerprints`: a new version if the fingerprint's recipe changes.
const FINGERPRINT_KEY: &str = "hanamiGuard/v1";

impl Report {
    /// Whether any finding is at least as severe as `floor`: a scan with `--fail-on floor`
    /// fails.
    pub fn fails_at(&self, floor: Severity) -> bool {
        self.findings.iter().any(|f| f.severity() >= floor)
    }

    /// The JSON report: findings, counts, skipped files. Saved, it is a baseline file.
    pub fn to_json(&self) -> String {
        let report = json!({
            "findings": self.findings.iter().map(finding_json).collect::<Vec<_>>(),
            "files": self.files,
            "lines": self.lines,
            "seconds": (self.elapsed.as_secs_f64() * 1e4).round() / 1e4,
            "skipped": self.skipped.iter()
                .map(|s| json!({ "path": s.path, "reason": s.reason }))
                .collect::<Vec<_>>(),
            "ignored": self.ignored,
            "baselined": self.baselined,
        });
        pretty(&report)
    }

    /// SARIF 2.1.0: one run, every rule in the driver, each finding's fingerprint in
    /// `partialFingerprints` so that code-scanning tools recognise it after the line moves.
    /// `tool_version` is the gem's version.
    pub fn to_sarif(&self, tool_version: &str) -> String {
        let rules: Vec<Value> = Rule::ALL
            .iter()
            .map(|r| {
                json!({
                    "id": r.id(),
                    "name": r.id(),
                    "shortDescription": { "text": r.summary() },
                    "help": { "text": r.fix() },
                    "defaultConfiguration": { "level": level(r.severity()) },
                    "properties": {
                        "security-severity": security_severity(r.severity()),
                        "tags": ["security"],
                    },
                })
            })
            .collect();
        let results: Vec<Value> = self.findings.iter().map(finding_sarif).collect();
        pretty(&json!({
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": { "name": "hanami_guard", "version": tool_version, "rules": rules } },
                "results": results,
            }],
        }))
    }
}

/// The fingerprints of a saved JSON report (`--write-baseline`). `file` names it in the error.
///
/// # Errors
///
/// [`Error::Configuration`] if `text` is not such a report.
pub fn baseline_fingerprints(file: &str, text: &[u8]) -> Result<Vec<String>> {
    let refuse = || {
        Error::configuration(format!(
            "baseline {file} is not a hanami_guard audit JSON report: write one with \
             `hanami_guard audit --write-baseline {file}`"
        ))
        .with(key::OPTION, Field::Name("baseline"))
    };
    let report: Value = serde_json::from_slice(text).map_err(|_| refuse())?;
    let findings = report
        .get("findings")
        .and_then(Value::as_array)
        .ok_or_else(refuse)?;
    findings
        .iter()
        .map(|f| {
            f.get("fingerprint")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(refuse)
        })
        .collect()
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule.id(),
        "severity": f.severity().as_str(),
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "message": f.message,
        "fix": f.rule.fix(),
        "snippet": f.snippet,
        "fingerprint": f.fingerprint,
    })
}

fn finding_sarif(f: &Finding) -> Value {
    let index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
    json!({
        "ruleId": f.rule.id(),
        "ruleIndex": index,
        "level": level(f.severity()),
        "message": { "text": format!("{}. Fix: {}", f.message, f.rule.fix()) },
        "locations": [{ "physicalLocation": {
            "artifactLocation": { "uri": f.path.strip_prefix("./").unwrap_or(&f.path) },
            "region": {
                "startLine": f.line,
                "startColumn": f.column,
                "snippet": { "text": f.snippet },
            },
        } }],
        "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
    })
}

/// SARIF's `level`: what a code-scanning tool shows.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like score) for each severity.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn pretty(value: &Value) -> String {
    // Serialising a Value built here cannot fail: its keys are strings and its numbers finite.
    serde_json::to_string_pretty(value).unwrap_or_default()
}
