//! Finding and reading manifest files: `-f` paths expanded (a directory means its direct
//! `.yaml`, `.yml` and `.csv` children, in sorted order, not recursive, hidden files skipped),
//! each file read once, checked to be non-empty UTF-8 (a UTF-8 byte order mark is dropped), and
//! digested with SHA-256.
//!
//! An [`Input`] is one file's text; it makes the [`Place`]s diagnostics point at. The text a
//! diagnostic shows has literal passwords masked with `*` (byte for byte, so every offset and
//! line stays where it was): the format modules say where the passwords are.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::diagnostic::{Code, ManifestDiagnostic, Place, Problems, SourceText};
use crate::model::SourceFile;

/// What a manifest file holds, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Yaml,
    Csv,
}

impl Format {
    /// The format of a path by its extension (case-insensitive), if it is a manifest.
    pub fn of(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One manifest file, read.
pub(crate) struct Input {
    /// The position of the file in the load, which orders diagnostics.
    pub index: usize,
    pub path: Arc<Path>,
    pub format: Format,
    /// The text, without a byte order mark.
    pub text: Arc<String>,
    pub sha256: String,
    name: Arc<str>,
    line_starts: OnceCell<Arc<[usize]>>,
    shown: OnceCell<Arc<String>>,
}

impl Input {
    pub fn new(
        index: usize,
        path: Arc<Path>,
        format: Format,
        text: String,
        sha256: String,
    ) -> Self {
        let name: Arc<str> = path.display().to_string().into();
        Self {
            index,
            path,
            format,
            text: Arc::new(text),
            sha256,
            name,
            line_starts: OnceCell::new(),
            shown: OnceCell::new(),
        }
    }

    pub fn source_file(&self) -> SourceFile {
        SourceFile {
            path: self.path.clone(),
            sha256: self.sha256.clone(),
        }
    }

    /// A place in this file. The span is clamped to the text and to character boundaries, and
    /// cut to [`MAX_SPAN`] bytes: a label under a row of megabytes helps no one.
    pub fn place(&self, span: Range<usize>, label: impl Into<Option<String>>) -> Place {
        let text = self.text.as_str();
        let mut start = span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = span.end.clamp(start, text.len()).min(start + MAX_SPAN);
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let line_starts = self.line_starts();
        let line = super::diagnostic::line_of(&line_starts, start);
        let line_start = line_starts.get(line).copied().unwrap_or(0);
        let column = text[line_start..start].chars().count();
        Place {
            source: SourceText::new(self.name.clone(), self.shown(), line_starts),
            path: self.path.clone(),
            file: self.index,
            span: (start, end - start).into(),
            label: label.into(),
            line: to_u32(line + 1),
            column: to_u32(column + 1),
        }
    }

    /// The span of a whole line (1-based), without its line break.
    pub fn line_span(&self, line: u32) -> Range<usize> {
        let line_starts = self.line_starts();
        let index = (line as usize).saturating_sub(1);
        let start = line_starts.get(index).copied().unwrap_or(self.text.len());
        let end = line_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.text.len());
        let content = self.text[start..end].trim_end_matches(['\n', '\r']);
        start..start + content.len()
    }

    fn line_starts(&self) -> Arc<[usize]> {
        self.line_starts
            .get_or_init(|| line_starts(&self.text))
            .clone()
    }

    /// The text diagnostics show: literal passwords masked, unprintable characters as `?` (byte
    /// for byte, so that spans still point at the same text).
    fn shown(&self) -> Arc<String> {
        self.shown
            .get_or_init(|| {
                let secrets = match self.format {
                    Format::Yaml => super::yaml::password_spans(&self.text),
                    Format::Csv => super::csv::password_spans(&self.text),
                };
                let masked = if secrets.is_empty() {
                    self.text.clone()
                } else {
                    Arc::new(mask(&self.text, &secrets))
                };
                match crate::render::escape::same_width(&masked) {
                    std::borrow::Cow::Borrowed(_) => masked,
                    std::borrow::Cow::Owned(shown) => Arc::new(shown),
                }
            })
            .clone()
    }
}

/// The longest span a place underlines, in bytes.
const MAX_SPAN: usize = 240;

/// The byte offsets where lines start.
fn line_starts(text: &str) -> Arc<[usize]> {
    std::iter::once(0)
        .chain(
            text.bytes()
                .enumerate()
                .filter(|&(_, byte)| byte == b'\n')
                .map(|(at, _)| at + 1),
        )
        .collect()
}

/// `text` with every byte of the spans, line breaks aside, replaced by `*`.
fn mask(text: &str, spans: &[Range<usize>]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for span in spans {
        let end = span.end.min(bytes.len());
        for byte in bytes
            .get_mut(span.start.min(end)..end)
            .into_iter()
            .flatten()
        {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b'*';
            }
        }
    }
    // Whole characters are masked, so what is left is ASCII stars among untouched UTF-8;
    // a span that cut a character would leave a broken one: fall back to a lossy copy.
    String::from_utf8(bytes)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Expands `-f` paths into the manifest files to read, in order, each once.
pub(crate) fn expand(paths: &[PathBuf], problems: &mut Problems) -> Vec<(PathBuf, Format)> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        let metadata = match fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(err) => {
                problems.push(missing(path, &err));
                continue;
            }
        };
        if metadata.is_dir() {
            match directory(path) {
                Ok(children) if children.is_empty() => problems.push(
                    ManifestDiagnostic::error(
                        Code::EmptyDirectory,
                        format!("no manifests in directory {}", path.display()),
                    )
                    .with_help(
                        "a directory contributes its .yaml, .yml and .csv files (not those of its subdirectories)",
                    ),
                ),
                Ok(children) => {
                    for (child, format) in children {
                        add(&mut files, &mut seen, child, format, problems);
                    }
                }
                Err(err) => problems.push(ManifestDiagnostic::error(
                    Code::Unreadable,
                    format!("failed to list directory {}: {err}", path.display()),
                )),
            }
        } else {
            match Format::of(path) {
                Some(format) => add(&mut files, &mut seen, path.clone(), format, problems),
                None => problems.push(
                    ManifestDiagnostic::error(
                        Code::UnsupportedExtension,
                        format!(
                            "{} is not a manifest: expected a .yaml, .yml or .csv file",
                            path.display()
                        ),
                    )
                    .with_help("rename the file, or pass the directory that holds the manifests"),
                ),
            }
        }
    }
    files
}

fn missing(path: &Path, err: &io::Error) -> ManifestDiagnostic {
    if err.kind() == io::ErrorKind::NotFound {
        ManifestDiagnostic::error(Code::NotFound, format!("{} does not exist", path.display()))
    } else {
        ManifestDiagnostic::error(
            Code::Unreadable,
            format!("failed to read {}: {err}", path.display()),
        )
    }
}

/// The manifests directly inside a directory, sorted by name; hidden files are skipped.
fn directory(path: &Path) -> io::Result<Vec<(PathBuf, Format)>> {
    let mut children = Vec::new();
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        let child = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let Some(format) = Format::of(&child) else {
            continue;
        };
        // Follows symlinks: a link to a manifest counts, a dangling one is reported on read.
        let is_dir = fs::metadata(&child).is_ok_and(|metadata| metadata.is_dir());
        if !hidden && !is_dir {
            children.push((child, format));
        }
    }
    children.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    Ok(children)
}

fn add(
    files: &mut Vec<(PathBuf, Format)>,
    seen: &mut HashSet<PathBuf>,
    path: PathBuf,
    format: Format,
    problems: &mut Problems,
) {
    let identity = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    if seen.insert(identity) {
        files.push((path, format));
    } else {
        problems.push(ManifestDiagnostic::warning(
            Code::DuplicateFile,
            format!(
                "{} is given more than once; it is read once",
                path.display()
            ),
        ));
    }
}

/// Reads one file: `None` (with the problem reported) when it cannot be read, is empty or is
/// not UTF-8.
pub(crate) fn read(
    index: usize,
    path: &Path,
    format: Format,
    problems: &mut Problems,
) -> Option<Input> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            problems.push(missing(path, &err));
            return None;
        }
    };
    let sha256 = hex(&Sha256::digest(&bytes));
    let path: Arc<Path> = Arc::from(path);
    let mut bytes = bytes;
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            problems.push(not_utf8(index, path, format, &err));
            return None;
        }
    };
    let input = Input::new(index, path, format, text, sha256);
    if input.text.trim().is_empty() {
        let help = match format {
            Format::Yaml => "a YAML manifest starts with `version: 1`",
            Format::Csv => "a CSV manifest starts with a header row such as `email,nickname,mfa`",
        };
        problems.push(
            ManifestDiagnostic::error(
                Code::EmptyFile,
                format!("empty manifest: {} has no content", input.path.display()),
            )
            .at(input.place(0..0, Some("empty file".to_string())))
            .with_help(help),
        );
        return None;
    }
    Some(input)
}

fn not_utf8(
    index: usize,
    path: Arc<Path>,
    format: Format,
    err: &std::string::FromUtf8Error,
) -> ManifestDiagnostic {
    let bytes = err.as_bytes();
    let offset = err.utf8_error().valid_up_to();
    let bad = bytes.get(offset).copied().unwrap_or(0);
    let utf16 = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    let lossy = String::from_utf8_lossy(bytes).into_owned();
    // The lossy copy is identical up to the first bad byte, so the offset holds in it.
    let input = Input::new(index, path, format, lossy, String::new());
    let place = input.place(offset..offset + 1, Some("not UTF-8".to_string()));
    let message = format!(
        "{} is not UTF-8: invalid byte 0x{bad:02X} at line {}, column {} (byte {offset})",
        input.path.display(),
        place.line,
        place.column
    );
    let help = match (utf16, format) {
        (true, _) => "the file looks like UTF-16; save it as UTF-8",
        (false, Format::Csv) => {
            "save the file as UTF-8 (spreadsheet programs call it \"CSV UTF-8\")"
        }
        (false, Format::Yaml) => {
            "YAML manifests must be UTF-8: set your editor's encoding to UTF-8 and save again, or convert the file (from GBK: `iconv -f GB18030 -t UTF-8 FILE`)"
        }
    };
    ManifestDiagnostic::error(Code::NotUtf8, message)
        .at(place)
        .with_help(help)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_offsets() {
        let text = "a: 1\npassword: héllo\nb: 2\n";
        let start = text.find("héllo").unwrap();
        let span = start..start + "héllo".len();
        let masked = mask(text, std::slice::from_ref(&span));
        assert_eq!(masked.len(), text.len());
        assert_eq!(masked, "a: 1\npassword: ******\nb: 2\n");
    }

    #[test]
    fn places_have_lines_and_character_columns() {
        let input = Input::new(
            0,
            Arc::from(Path::new("m.yaml")),
            Format::Yaml,
            "a: 1\nné: x\n".to_string(),
            String::new(),
        );
        let place = input.place(9..10, None);
        assert_eq!((place.line, place.column), (2, 4));
        assert_eq!(place.location(), "m.yaml:2:4");
        assert_eq!(input.line_span(2), 5..11);
    }
}
