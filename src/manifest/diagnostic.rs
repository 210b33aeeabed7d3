//! The diagnostics a load reports: one [`ManifestDiagnostic`] per problem, each with a code per
//! class of problem (`manifest::unknown_field`, ...), the file's text as miette source code, a
//! labelled span, optional secondary places ("first declared here") and a hint.
//!
//! The source code a diagnostic carries is the file's text with literal passwords masked
//! (see `source.rs`), so no snippet can show a password, not even as a context line, and with
//! unprintable characters shown as `?`; messages, labels and hints quote values with their
//! unprintable characters escaped (see [`crate::render::escape`]).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, Severity, SourceCode, SourceSpan, SpanContents};

/// A class of problem; [`Code::as_str`] is the miette code shown with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    NotFound,
    Unreadable,
    UnsupportedExtension,
    EmptyDirectory,
    DuplicateFile,
    EmptyFile,
    NotUtf8,
    Syntax,
    DuplicateKey,
    MissingVersion,
    UnsupportedVersion,
    UnknownField,
    WrongType,
    InvalidBool,
    MalformedEmail,
    MalformedPhone,
    InvalidValue,
    BlankValue,
    MissingKey,
    DuplicateUser,
    DuplicateValue,
    DuplicateId,
    DuplicateRename,
    DuplicatePhone,
    Conflict,
    UnsetVariable,
    EmptyVariable,
    Interpolation,
    RowLength,
    UnclosedQuote,
    UnknownColumn,
    DuplicateColumn,
    NoRows,
    LiteralPassword,
    TooManyProblems,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NotFound => "manifest::not_found",
            Code::Unreadable => "manifest::unreadable",
            Code::UnsupportedExtension => "manifest::unsupported_extension",
            Code::EmptyDirectory => "manifest::empty_directory",
            Code::DuplicateFile => "manifest::duplicate_file",
            Code::EmptyFile => "manifest::empty_file",
            Code::NotUtf8 => "manifest::not_utf8",
            Code::Syntax => "manifest::syntax",
            Code::DuplicateKey => "manifest::duplicate_key",
            Code::MissingVersion => "manifest::missing_version",
            Code::UnsupportedVersion => "manifest::unsupported_version",
            Code::UnknownField => "manifest::unknown_field",
            Code::WrongType => "manifest::wrong_type",
            Code::InvalidBool => "manifest::invalid_bool",
            Code::MalformedEmail => "manifest::malformed_email",
            Code::MalformedPhone => "manifest::malformed_phone",
            Code::InvalidValue => "manifest::invalid_value",
            Code::BlankValue => "manifest::blank_value",
            Code::MissingKey => "manifest::missing_key",
            Code::DuplicateUser => "manifest::duplicate_user",
            Code::DuplicateValue => "manifest::duplicate_value",
            Code::DuplicateId => "manifest::duplicate_id",
            Code::DuplicateRename => "manifest::duplicate_renamed_from",
            Code::DuplicatePhone => "manifest::duplicate_phone",
            Code::Conflict => "manifest::conflict",
            Code::UnsetVariable => "manifest::unset_variable",
            Code::EmptyVariable => "manifest::empty_variable",
            Code::Interpolation => "manifest::interpolation",
            Code::RowLength => "manifest::row_length",
            Code::UnclosedQuote => "manifest::unclosed_quote",
            Code::UnknownColumn => "manifest::unknown_column",
            Code::DuplicateColumn => "manifest::duplicate_column",
            Code::NoRows => "manifest::no_rows",
            Code::LiteralPassword => "manifest::literal_password",
            Code::TooManyProblems => "manifest::too_many_problems",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file's text as miette source code: named after the file, and quick to cut a snippet from
/// even deep inside a file of a million lines (miette's own `str` source scans from the start
/// for every snippet).
#[derive(Clone)]
pub struct SourceText {
    name: Arc<str>,
    text: Arc<String>,
    line_starts: Arc<[usize]>,
}

impl SourceText {
    pub(crate) fn new(name: Arc<str>, text: Arc<String>, line_starts: Arc<[usize]>) -> Self {
        Self {
            name,
            text,
            line_starts,
        }
    }

    /// The 0-based line that holds a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        line_of(&self.line_starts, offset)
    }
}

/// The 0-based line that holds a byte offset, given the byte offsets where lines start.
pub(crate) fn line_of(line_starts: &[usize], offset: usize) -> usize {
    line_starts
        .partition_point(|&start| start <= offset)
        .saturating_sub(1)
}

impl fmt::Debug for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceText")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A context line longer than this (in bytes) is left out of a snippet.
const LONG_LINE: usize = 400;
/// Of a long line holding a label, this much (in bytes) is shown on each side of the label.
const AROUND: usize = 120;

impl SourceText {
    /// The byte range of a 0-based line, its line break included.
    fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let start = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        start..end
    }
}

impl SourceCode for SourceText {
    /// The lines of a span with their context, as miette asks; but a snippet never echoes a huge
    /// line: long context lines are left out, and a long line holding the span is cut to a
    /// window around it.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, miette::MietteError> {
        let text = self.text.as_str();
        let end = span.offset() + span.len();
        if end > text.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        let span_first = self.line_of(span.offset());
        let span_last = self.line_of(end.saturating_sub(1).max(span.offset()));
        let mut first_line = span_first.saturating_sub(context_lines_before);
        while first_line < span_first && self.line_range(first_line).len() > LONG_LINE {
            first_line += 1;
        }
        let mut last_line = (span_last + context_lines_after)
            .min(self.line_starts.len().saturating_sub(1))
            .max(span_last);
        while last_line > span_last && self.line_range(last_line).len() > LONG_LINE {
            last_line -= 1;
        }
        let window_start = self.line_range(first_line).start;
        let window_end = self.line_range(last_line).end;
        let own = self.line_range(span_first).start..self.line_range(span_last).end;
        let wanted_context = context_lines_before + context_lines_after > 0;
        if wanted_context && own.len() > span.len() + 2 * AROUND {
            let mut from = span.offset().saturating_sub(AROUND).max(own.start);
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let mut to = (end + AROUND).min(own.end);
            while !text.is_char_boundary(to) {
                to += 1;
            }
            let data = text.get(from..to).ok_or(miette::MietteError::OutOfBounds)?;
            return Ok(Box::new(miette::MietteSpanContents::new_named(
                self.name.to_string(),
                data.as_bytes(),
                SourceSpan::new(from.into(), to - from),
                span_first,
                from - own.start,
                span_last - span_first + 1,
            )));
        }
        let window = text
            .get(window_start..window_end)
            .ok_or(miette::MietteError::OutOfBounds)?;
        let inner_span = SourceSpan::new((span.offset() - window_start).into(), span.len());
        let inner = window.read_span(&inner_span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            SourceSpan::new(
                (inner.span().offset() + window_start).into(),
                inner.span().len(),
            ),
            inner.line() + first_line,
            inner.column(),
            inner.line_count() + first_line,
        )))
    }
}

/// A place in a manifest: the file, a span of its text, and what to say there.
#[derive(Debug, Clone)]
pub struct Place {
    pub(crate) source: SourceText,
    pub(crate) path: Arc<Path>,
    pub(crate) file: usize,
    pub(crate) span: SourceSpan,
    pub(crate) label: Option<String>,
    /// 1-based.
    pub(crate) line: u32,
    /// 1-based, in characters.
    pub(crate) column: u32,
}

impl Place {
    /// `path:line:column`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// One problem in a set of manifests: an error, or a warning that does not stop a load.
#[derive(Debug, Clone)]
pub struct ManifestDiagnostic {
    code: Code,
    severity: Severity,
    message: String,
    place: Option<Place>,
    /// Further labels in the same file as `place`.
    others: Vec<LabeledSpan>,
    /// Notes about places in other files.
    related: Vec<ManifestDiagnostic>,
    help: Option<String>,
}

impl ManifestDiagnostic {
    pub(crate) fn error(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: shown(message.into()),
            place: None,
            others: Vec::new(),
            related: Vec::new(),
            help: None,
        }
    }

    pub(crate) fn warning(code: Code, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub(crate) fn at(mut self, mut place: Place) -> Self {
        place.label = place.label.map(shown);
        self.place = Some(place);
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(shown(help.into()));
        self
    }

    /// Adds a second place ("first declared here"): a label when it is in the same file, a
    /// related note with its own snippet otherwise.
    pub(crate) fn also(mut self, other: Place) -> Self {
        let same_file = self
            .place
            .as_ref()
            .is_some_and(|place| place.file == other.file);
        if same_file {
            self.others.push(LabeledSpan::new_with_span(
                other.label.map(shown),
                other.span,
            ));
        } else {
            let message = other
                .label
                .clone()
                .unwrap_or_else(|| "see here".to_string());
            let mut note = ManifestDiagnostic::error(self.code, message).at(other);
            note.severity = Severity::Advice;
            self.related.push(note);
        }
        self
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    pub fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }

    /// The file the problem is in, when it is in one.
    pub fn file(&self) -> Option<&Path> {
        self.place.as_ref().map(|place| &*place.path)
    }

    /// The 1-based line, when the problem has a place.
    pub fn line(&self) -> Option<u32> {
        self.place.as_ref().map(|place| place.line)
    }

    /// The 1-based column, in characters, when the problem has a place.
    pub fn column(&self) -> Option<u32> {
        self.place.as_ref().map(|place| place.column)
    }

    /// How diagnostics are ordered: problems without a file first, then by file order and
    /// position.
    pub(crate) fn sort_key(&self) -> (usize, usize) {
        match &self.place {
            None => (0, 0),
            Some(place) => (place.file + 1, place.span.offset()),
        }
    }
}

impl fmt::Display for ManifestDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ManifestDiagnostic {}

impl Diagnostic for ManifestDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (self.severity != Severity::Advice).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.place
            .as_ref()
            .map(|place| &place.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let place = self.place.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(place.label.clone(), place.span);
        Some(Box::new(
            std::iter::once(primary).chain(self.others.iter().cloned()),
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|note| note as &dyn Diagnostic),
        ))
    }
}

/// The problems of one load, collected as they are found. Past a limit per file (errors and
/// warnings counted apart) only a count is kept, so that a million bad rows cost neither a
/// million snippets nor the memory for them.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    errors: Vec<ManifestDiagnostic>,
    warnings: Vec<ManifestDiagnostic>,
    /// Per file slot (file index + 1, 0 for none), per severity (error, warning): how many were
    /// kept and how many dropped, and the file's path.
    tallies: Vec<Tally>,
}

#[derive(Debug, Default, Clone)]
struct Tally {
    kept: [usize; 2],
    dropped: [usize; 2],
    path: Option<Arc<Path>>,
}

/// How many errors, and how many warnings, of one file are kept; the rest are counted.
pub(crate) const KEPT_PER_FILE: usize = 200;

impl Problems {
    pub fn push(&mut self, diagnostic: ManifestDiagnostic) {
        let slot = diagnostic.sort_key().0;
        if self.tallies.len() <= slot {
            self.tallies.resize(slot + 1, Tally::default());
        }
        let warning = diagnostic.severity == Severity::Warning;
        let tally = &mut self.tallies[slot];
        let kind = usize::from(warning);
        if tally.kept[kind] >= KEPT_PER_FILE {
            tally.dropped[kind] += 1;
            if tally.path.is_none() {
                tally.path = diagnostic.file().map(Arc::from);
            }
            return;
        }
        tally.kept[kind] += 1;
        if warning {
            self.warnings.push(diagnostic);
        } else {
            self.errors.push(diagnostic);
        }
    }

    /// `Err` with errors and warnings when there is at least one error, else `Ok` with the
    /// warnings; sorted by file and position, then a note per file whose problems were not all
    /// kept.
    pub fn finish(self) -> Result<Vec<ManifestDiagnostic>, Vec<ManifestDiagnostic>> {
        let failed = !self.errors.is_empty();
        let mut notes = Vec::new();
        for tally in &self.tallies {
            let dropped = if failed {
                tally.dropped[0] + tally.dropped[1]
            } else {
                tally.dropped[1]
            };
            if dropped == 0 {
                continue;
            }
            let whose = match &tally.path {
                Some(path) => format!(" in {}", path.display()),
                None => String::new(),
            };
            let noun = if dropped == 1 { "problem" } else { "problems" };
            let note = format!("{dropped} more {noun}{whose} not shown");
            notes.push(if failed {
                ManifestDiagnostic::error(Code::TooManyProblems, note)
            } else {
                ManifestDiagnostic::warning(Code::TooManyProblems, note)
            });
        }
        let mut all = if failed {
            let mut all = self.errors;
            all.extend(self.warnings);
            all
        } else {
            self.warnings
        };
        all.sort_by_key(ManifestDiagnostic::sort_key);
        all.extend(notes);
        if failed { Err(all) } else { Ok(all) }
    }
}

/// Text a diagnostic shows: unprintable characters escaped, and the middle of a very long text
/// (a message quoting a value of megabytes) cut out.
fn shown(text: String) -> String {
    let text = match crate::render::escape::visible_lines(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(escaped) => escaped,
    };
    cut_middle(text, LONG_LINE)
}

/// The text, or its first and last `keep / 2` characters around a note of what was cut.
pub(crate) fn cut_middle(text: String, keep: usize) -> String {
    let count = text.chars().count();
    if count <= keep + 40 {
        return text;
    }
    let half = keep / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(count - half).collect();
    format!("{head} … ({} characters cut) … {tail}", count - 2 * half)
}

/// `1 user`, `2 users`.
pub(crate) fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 {
        format!("{count} {one}")
    } else {
        format!("{count} {many}")
    }
}

/// The closest of `candidates` to a misspelt `name`, if any is close enough to suggest.
pub(crate) fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(&name, candidate), *candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// "expected one of `a`, `b`, `c`".
pub(crate) fn one_of(candidates: &[&str]) -> String {
    let names: Vec<String> = candidates.iter().map(|name| format!("`{name}`")).collect();
    format!("expected one of {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_get_a_suggestion() {
        let fields = ["email", "username", "nickname", "company"];
        assert_eq!(suggest("nicknme", &fields), Some("nickname"));
        assert_eq!(suggest("emial", &fields), Some("email"));
        assert_eq!(suggest("Usrname", &fields), Some("username"));
        assert_eq!(suggest("zzz", &fields), None);
    }

    #[test]
    fn snippets_come_from_a_window_with_absolute_lines() {
        let text = "a\nbb\nccc\ndddd\n".to_string();
        let source = SourceText::new(
            "f.yaml".into(),
            Arc::new(text),
            Arc::from(vec![0, 2, 5, 9, 14]),
        );
        let contents = source
            .read_span(&SourceSpan::new(6.into(), 2), 0, 0)
            .unwrap();
        assert_eq!(contents.line(), 2);
        assert_eq!(contents.column(), 1);
        assert_eq!(contents.name(), Some("f.yaml"));
        let contents = source
            .read_span(&SourceSpan::new(6.into(), 2), 1, 1)
            .unwrap();
        assert_eq!(contents.line(), 1);
        assert_eq!(
            std::str::from_utf8(contents.data()).unwrap(),
            "bb\nccc\ndddd\n"
        );
    }
}
