//! `audit`: a static scan of an app's own Ruby code for the places where request or certificate
//! data still reaches a shell, a file, dynamic code or a string comparison of identities —
//! the escapes that do not go through hanami_guard.
//!
//! Files are parsed with Prism (Ruby's own parser, through the `ruby-prism` crate), which
//! evaluates nothing. Each method is analysed on its own (see `taint.rs` for what counts as
//! input and what cleans it); files are spread over threads. The result is plain data;
//! `report.rs` defines its JSON and SARIF forms (and reads a JSON report back as a baseline),
//! the Ruby side prints the text form for people.

mod analyze;
#[allow(unsafe_code)]
mod prism_alloc;
mod report;
mod rules;
mod sinks;
mod taint;
mod walk;

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub use report::baseline_fingerprints;
pub use rules::{Rule, Severity};

/// Files larger than this are reported and not parsed: generated or vendored code, not an app's.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 << 20;

/// Each worker's stack. Prism refuses nesting deeper than 10,000 levels, and both its parser and
/// the tree walk recurse once per level; this leaves room for the deepest tree Prism accepts,
/// in a debug build too. Only the pages touched are ever committed.
const WORKER_STACK_BYTES: usize = 256 << 20;

/// Passes over one file's tree; see [`analyze_source`].
const MAX_PASSES: usize = 3;

/// The longest snippet a finding carries.
const MAX_SNIPPET_CHARS: usize = 160;

/// One place in the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    pub rule: Rule,
    /// The file, as reached from the path the scan was given.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong here.
    pub message: String,
    /// The line itself, trimmed and shortened, control characters escaped.
    pub snippet: String,
    /// Stable across edits that move the line: rule, path, the line's text and which
    /// occurrence of that text it is. Baselines and SARIF use it.
    pub fingerprint: String,
}

impl Finding {
    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }
}

/// A file (or part of one) that was not analysed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Why, in a sentence.
    pub reason: String,
}

impl Skipped {
    fn new(path: String, reason: String) -> Self {
        Skipped { path, reason }
    }
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct Options {
    /// Files larger than this are skipped (and reported).
    pub max_file_bytes: u64,
    /// Worker threads; 0 means one per CPU.
    pub threads: usize,
    /// Fingerprints of accepted findings (from a saved report): these are not reported.
    pub baseline: HashSet<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            threads: 0,
            baseline: HashSet::new(),
        }
    }
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings not silenced, by path then line.
    pub findings: Vec<Finding>,
    /// Files analysed.
    pub files: usize,
    /// Lines in the files analysed.
    pub lines: usize,
    /// Files not analysed (binary, too large, unreadable, symlinks out of the tree) and files
    /// with syntax errors (analysed as far as Prism recovered).
    pub skipped: Vec<Skipped>,
    /// Findings silenced by `# hanami_guard:ignore RULE reason`.
    pub ignored: usize,
    /// Findings silenced by the baseline.
    pub baselined: usize,
    /// Wall time of the scan.
    pub elapsed: Duration,
}

/// The result of analysing one file's text.
#[derive(Debug, Clone, Default)]
pub struct FileResult {
    /// Findings, in line order, with inline ignores already applied.
    pub findings: Vec<Finding>,
    /// Lines in the file.
    pub lines: usize,
    /// Why (part of) the file was not analysed, if so.
    pub problem: Option<String>,
    /// Findings silenced by inline comments.
    pub ignored: usize,
}

/// Scans `paths` (files or directories). A path that does not exist is an error; everything
/// below it that cannot be read is skipped and reported.
pub fn scan(paths: &[PathBuf], options: &Options) -> crate::Result<Report> {
    if options.max_file_bytes == 0 {
        return Err(crate::Error::configuration(
            "max_file_bytes: 0 would skip every file: give the largest file to analyse, in bytes",
        )
        .with(
            crate::error::key::OPTION,
            crate::Field::Name("max_file_bytes"),
        ));
    }
    let started = Instant::now();
    let (files, skipped, results) = walk_and_analyse(paths, options)?;

    let mut report = Report {
        skipped,
        ..Report::default()
    };
    for (source, result) in files.iter().zip(results) {
        match result {
            Some(r) => {
                if r.findings.is_empty() && r.lines == 0 && r.problem.is_some() {
                    report.skipped.push(Skipped::new(
                        source.display.clone(),
                        r.problem.unwrap_or_default(),
                    ));
                    continue;
                }
                report.files += 1;
                report.lines += r.lines;
                report.ignored += r.ignored;
                if let Some(p) = r.problem {
                    report.skipped.push(Skipped::new(source.display.clone(), p));
                }
                for f in r.findings {
                    if options.baseline.contains(&f.fingerprint) {
                        report.baselined += 1;
                    } else {
                        report.findings.push(f);
                    }
                }
            }
            None => report.skipped.push(Skipped::new(
                source.display.clone(),
                "internal error while analysing this file (a bug: please report it)".into(),
            )),
        }
    }
    report.findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, a.rule).cmp(&(&b.path, b.line, b.column, b.rule))
    });
    report.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The files the walk has found so far, in walk order, and whether it has finished.
#[derive(Default)]
struct Queue {
    files: Vec<walk::Source>,
    next: usize,
    walked: bool,
}

/// A poisoned lock means a worker panicked while holding it, which it cannot (the locks are
/// held only for pushes and pops); the data is consistent either way, so carry on with it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Per file, in walk order: `None` if its analysis panicked.
type Results = Vec<Option<FileResult>>;

/// Walks `paths` on this thread while the workers analyse what it has found so far: the walk
/// of a large tree takes as long as parsing its first files. Returns the files (each real file
/// once, however many paths lead to it), what the walk skipped, and each file's result.
fn walk_and_analyse(
    paths: &[PathBuf],
    options: &Options,
) -> crate::Result<(Vec<walk::Source>, Vec<Skipped>, Results)> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .max(1);
    let queue = Mutex::new(Queue::default());
    let found = Condvar::new();
    let results: Mutex<Vec<(usize, Option<FileResult>)>> = Mutex::new(Vec::new());

    /// Marks the walk finished and wakes every worker, however the walk ends: when it returns,
    /// fails, or panics (the scope joins the workers before it lets a panic through, so they
    /// must not be left waiting for files that will never come).
    struct Walked<'a>(&'a Mutex<Queue>, &'a Condvar);
    impl Drop for Walked<'_> {
        fn drop(&mut self) {
            lock(self.0).walked = true;
            self.1.notify_all();
        }
    }

    let skipped = std::thread::scope(|s| -> crate::Result<Vec<Skipped>> {
        let _walked = Walked(&queue, &found);
        let work = || loop {
            let (i, source) = {
                let mut q = lock(&queue);
                loop {
                    if let Some(f) = q.files.get(q.next) {
                        let taken = (q.next, f.clone());
                        q.next += 1;
                        break taken;
                    }
                    if q.walked {
                        return;
                    }
                    q = found.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            let r = catch_unwind(AssertUnwindSafe(|| scan_file(&source, options))).ok();
            lock(&results).push((i, r));
        };
        let mut started = 0;
        for _ in 0..threads {
            let spawned = std::thread::Builder::new()
                .name("hanami_guard-audit".into())
                .stack_size(WORKER_STACK_BYTES)
                .spawn_scoped(s, work);
            match spawned {
                Ok(_) => started += 1,
                // Fewer workers are slower, not wrong; none at all is an error (below).
                Err(_) if started > 0 => break,
                Err(e) => return Err(crate::Error::io(e, "cannot start an audit worker thread")),
            }
        }
        let mut seen = HashSet::new();
        walk::collect(paths, |source| {
            if seen.insert(source.real.clone()) {
                lock(&queue).files.push(source);
                found.notify_one();
            }
        })
    })?;

    let files = std::mem::take(&mut lock(&queue).files);
    let mut by_file: Results = vec![None; files.len()];
    for (i, r) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        if let Some(slot) = by_file.get_mut(i) {
            *slot = r;
        }
    }
    Ok((files, skipped, by_file))
}

fn scan_file(source: &walk::Source, options: &Options) -> FileResult {
    let problem = |p: String| FileResult {
        problem: Some(p),
        ..FileResult::default()
    };
    /// What reading a file came to, short of an I/O error.
    enum Read {
        Bytes(Vec<u8>),
        TooLarge,
        NotRegular,
    }
    // One open: the size check and the read are of the same file, with one path lookup.
    let read = source.open().and_then(|file| {
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(Read::NotRegular);
        }
        let len = meta.len();
        if len > options.max_file_bytes {
            return Ok(Read::TooLarge);
        }
        // The size the check saw, and no more: one read for a file that does not change, and
        // a file that grows after the check is read only up to that size (within the limit).
        // A file that reports no size (procfs and the like) is read up to the limit.
        let cap = if len == 0 {
            options.max_file_bytes + 1
        } else {
            len
        };
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        std::io::Read::read_to_end(&mut std::io::Read::take(file, cap), &mut bytes)?;
        Ok(if bytes.len() as u64 <= options.max_file_bytes {
            Read::Bytes(bytes)
        } else {
            Read::TooLarge
        })
    });
    match read {
        Ok(Read::Bytes(bytes)) => analyze_source(&source.display, &bytes),
        Ok(Read::TooLarge) => problem(format!(
            "larger than {} bytes: not scanned (generated or vendored code?)",
            options.max_file_bytes
        )),
        Ok(Read::NotRegular) => problem(
            "no longer a regular file (the tree changed during the scan): not scanned".into(),
        ),
        // The walk saw directories and a file; a symlink is there now.
        Err(e)
            if source.beneath.is_some()
                && matches!(
                    e.raw_os_error(),
                    Some(libc::ELOOP | libc::ENOTDIR | libc::EXDEV)
                ) =>
        {
            problem(format!(
                "a symlink replaced the file or a directory above it during the scan: not \
                 followed, not scanned ({e})"
            ))
        }
        Err(e) => problem(format!("cannot read: {e}")),
    }
}

/// Analyses one file's text. `path` is only used in the findings.
pub fn analyze_source(path: &str, source: &[u8]) -> FileResult {
    // Prism's tree lives and dies inside the scope: its allocations come from this thread's
    // arena, released at once when the scope ends (see `prism_alloc.rs`).
    prism_alloc::scope(|| analyze_parsed(path, source))
}

fn analyze_parsed(path: &str, source: &[u8]) -> FileResult {
    if memchr::memchr(0, source).is_some() {
        return FileResult {
            problem: Some("binary (contains NUL bytes): not scanned".into()),
            ..FileResult::default()
        };
    }
    let lines = LineIndex::new(source);
    let parsed = ruby_prism::parse(source);
    let mut problem = parsed.errors().next().map(|d| {
        let line = lines.line(d.location().start_offset());
        format!(
            "syntax error at line {line} ({}): scanned as far as the parser recovered",
            crate::error::excerpt(d.message(), 80)
        )
    });
    if problem.is_none() && std::str::from_utf8(source).is_err() {
        problem = Some("not valid UTF-8: scanned as bytes".into());
    }

    let mut ignores: HashMap<usize, Vec<Rule>> = HashMap::new();
    for comment in parsed.comments() {
        let text = String::from_utf8_lossy(comment.text());
        let Some(rest) = text
            .trim_start_matches('#')
            .trim()
            .strip_prefix("hanami_guard:ignore")
        else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let rule = words.next().and_then(Rule::from_id);
        let has_reason = words.next().is_some();
        let line = lines.line(comment.location().start_offset());
        match (rule, has_reason) {
            (Some(rule), true) => ignores.entry(line).or_default().push(rule),
            _ => {
                problem.get_or_insert_with(|| {
                    format!(
                        "line {line}: an ignore comment needs a rule id and a reason \
                         (# hanami_guard:ignore file-access served from a fixed list): it silences nothing"
                    )
                });
            }
        }
    }

    // Each pass learns what the file's methods do with input (arguments, return values,
    // instance variables) for the next; a helper of a helper can need a third. The first pass
    // uses what it learns as it goes, and is the only one when nothing it read changed later.
    let mut first = analyze::Analyzer::first(source);
    ruby_prism::Visit::visit(&mut first, &parsed.node());
    let mut raw = std::mem::take(&mut first.findings);
    if first.stale {
        let mut known = first.learnt;
        for _ in 1..MAX_PASSES {
            let mut analyzer = analyze::Analyzer::new(source, known.clone());
            ruby_prism::Visit::visit(&mut analyzer, &parsed.node());
            raw = std::mem::take(&mut analyzer.findings);
            if analyzer.learnt == known {
                break;
            }
            known = analyzer.learnt;
        }
    }
    raw.sort_by_key(|f| (f.offset, f.rule));

    let mut seen = HashSet::new();
    let mut occurrences: HashMap<(Rule, String), usize> = HashMap::new();
    let mut result = FileResult {
        lines: lines.count(),
        problem,
        ..FileResult::default()
    };
    for f in raw {
        let line = lines.line(f.offset);
        if !seen.insert((f.rule, line)) {
            continue;
        }
        if ignores
            .get(&line)
            .is_some_and(|rules| rules.contains(&f.rule))
        {
            result.ignored += 1;
            continue;
        }
        let text = lines.text(source, line);
        let normalized: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let n = occurrences.entry((f.rule, normalized.clone())).or_insert(0);
        *n += 1;
        result.findings.push(Finding {
            rule: f.rule,
            path: path.to_owned(),
            line,
            column: lines.column(source, f.offset),
            message: f.message,
            snippet: crate::error::excerpt(text.trim(), MAX_SNIPPET_CHARS),
            fingerprint: fingerprint(f.rule, path, &normalized, *n),
        });
    }
    result
}

fn fingerprint(rule: Rule, path: &str, normalized: &str, occurrence: usize) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [rule.id(), path, normalized, &occurrence.to_string()] {
        ctx.update(part.as_bytes());
        ctx.update(&[0]);
    }
    ctx.finish().as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Byte offsets to lines and columns.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', source).map(|i| i + 1));
        LineIndex { starts }
    }

    fn count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based line of `offset`.
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    fn column(&self, source: &[u8], offset: usize) -> usize {
        let start = self.starts.get(self.line(offset) - 1).copied().unwrap_or(0);
        String::from_utf8_lossy(source.get(start..offset).unwrap_or_default())
            .chars()
            .count()
            + 1
    }

    fn text(&self, source: &[u8], line: usize) -> String {
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let end = self
            .starts
            .get(line)
            .map_or(source.len(), |e| e.saturating_sub(1));
        String::from_utf8_lossy(source.get(start..end.max(start)).unwrap_or_default()).into_owned()
    }
}
