//! Reading a CSV manifest: a header row, then one user a row.
//!
//! - Columns are the YAML user attributes (the field table's fields, `mfa`, `password`, `id`,
//!   `renamed_from`) plus `whitelist_phone`, in any order, any subset; header names are trimmed
//!   and compared case-insensitively. An unknown or repeated column is an error at the header,
//!   with the closest name suggested; a header that looks separated by `;` or tabs says so.
//! - A column with an empty header cell (the trailing `,,` a spreadsheet leaves) is ignored as
//!   long as its cells are empty too; a value under it is an error. Rows may leave such trailing
//!   columns out.
//! - Every cell is trimmed; an empty cell means "not managed", and a cell of only whitespace in
//!   a row with values is an error (a CSV manifest cannot make a field empty). Booleans are `true`/`false`,
//!   `yes`/`no`, `1`/`0`.
//! - Only the `password` column is interpolated (`${NAME}`). Every other cell is data, taken
//!   literally: CSV files usually come from another system (an HR export), and a `${...}` typed
//!   into a name there must not pull values out of the environment of the job that syncs it.
//! - A row whose only value is a `whitelist_phone` is a pure whitelist entry; a row with user
//!   values and a `whitelist_phone` declares both. A row of empty cells is skipped.
//! - A row with more or fewer cells than the header is an error naming its line.
//! - A quoted cell may hold line breaks (a multi-line address, say), but a quote that is never
//!   closed is an error at the line where it opened, and so is a quoted cell that takes in a
//!   line which, read on its own, is a row: the header's number of cells, with an email, a
//!   phone or (under `match_on: username`) a username where the header puts one. Both are the
//!   mark of a missing closing quote, which would otherwise swallow the rows below it.
//! - A CSV file cannot set `match_on`, `prune` or the whitelist switch: it takes `match_on` from
//!   the YAML manifests loaded with it (`email` by default).
//!
//! Rows are read into one reused [`csv::ByteRecord`], with columns resolved once from the
//! header, so a million-row export costs one pass and no per-row bookkeeping beyond the user.

use std::ops::Range;
use std::str;

use super::diagnostic::{Code, ManifestDiagnostic, one_of, suggest};
use super::interpolate::whole_reference;
use super::schema::Attribute;
use super::validate::{
    At, Builder, Format, PHONE_HELP, PendingUser, Rejection, Site, UserSites, password,
    refuse_blank, set_value,
};
use super::yaml::looks_secret;
use super::yaml_read::has_key;
use crate::model::{Email, Field, MatchOn, Origin, Phone};

/// A column a CSV manifest may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    User(Attribute),
    WhitelistPhone,
}

impl Column {
    pub const ALL: [Column; Attribute::ALL.len() + 1] = {
        let mut all = [Column::WhitelistPhone; Attribute::ALL.len() + 1];
        let mut at = 0;
        while at < Attribute::ALL.len() {
            all[at] = Column::User(Attribute::ALL[at]);
            at += 1;
        }
        all
    };

    const NAMES: [&'static str; Attribute::ALL.len() + 1] = {
        let mut names = ["whitelist_phone"; Attribute::ALL.len() + 1];
        let mut at = 0;
        while at < Attribute::ALL.len() {
            names[at] = Attribute::NAMES[at];
            at += 1;
        }
        names
    };

    pub fn name(self) -> &'static str {
        match self {
            Column::User(attribute) => attribute.name(),
            Column::WhitelistPhone => "whitelist_phone",
        }
    }

    fn parse(name: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|column| column.name().eq_ignore_ascii_case(name))
    }
}

/// Reads the CSV manifest at `position` among the builder's inputs into the builder.
pub(crate) fn read(builder: &mut Builder<'_>, position: usize) {
    let inputs = builder.inputs;
    let input = &inputs[position];
    let text = input.text.as_str();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => return,
        Err(err) => {
            broken(builder, position, &err);
            return;
        }
    }
    let (header_start, _) = record_start(text, &record);
    if spans_lines(&record, &reader, text) {
        let unclosed = quoted_cells(text, header_start)
            .into_iter()
            .find(|cell| cell.close.is_none());
        if let Some(cell) = unclosed {
            unclosed_quote(builder, position, &cell);
            return;
        }
    }
    let Some(header) = Header::read(builder, position, &record, header_start) else {
        return;
    };
    let width = record.len();
    let row_like = RowShape::of(&header, width, builder.match_on);
    let key_column = header.column_of(Column::User(Attribute::Field(builder.match_on.field())));
    let cell_site = |record: usize, column: usize| Site {
        input: position,
        at: At::CsvCell { record, column },
    };
    // One user per line at most: room for them all at once, rather than doubling as they come.
    builder.reserve_users(text.bytes().filter(|&byte| byte == b'\n').count());
    let mut pending = PendingUser::default();
    let mut blanks: Vec<(usize, Column)> = Vec::new();
    let mut rows = 0usize;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                broken(builder, position, &err);
                break;
            }
        }
        let (start, line) = record_start(text, &record);
        if spans_lines(&record, &reader, text) && !quotes_close(builder, position, start, &row_like)
        {
            rows += 1;
            continue;
        }
        if record.len() != width && !(header.named_width..width).contains(&record.len()) {
            if record.len() == 1
                && record
                    .get(0)
                    .is_some_and(|cell| cell.trim_ascii().is_empty())
            {
                continue;
            }
            rows += 1;
            let site = Site {
                input: position,
                at: At::CsvRow { record: start },
            };
            let place = builder.place(&site, Some(format!("expected {width} cells")));
            builder.problems.push(
                ManifestDiagnostic::error(
                    Code::RowLength,
                    format!(
                        "wrong number of cells: this row has {}, the header has {width}",
                        record.len()
                    ),
                )
                .at(place)
                .with_help("quote cells that hold a comma: \"Liu, Alice\""),
            );
            continue;
        }
        rows += 1;
        pending.clear();
        let mut declares_user = false;
        let mut filled = false;
        let mut ok = true;
        for &at in &header.blank {
            let filled = record
                .get(at)
                .is_some_and(|cell| !cell.trim_ascii().is_empty());
            if filled {
                let site = Site {
                    input: position,
                    at: At::CsvCell {
                        record: start,
                        column: at,
                    },
                };
                let place = builder.place(&site, Some("under a column with no name".to_string()));
                builder.problems.push(
                    ManifestDiagnostic::error(
                        Code::UnknownColumn,
                        format!(
                            "a value in column {}, which has no name in the header",
                            at + 1
                        ),
                    )
                    .at(place)
                    .with_help("name the column in the header, or empty it"),
                );
                ok = false;
            }
        }
        for (at, column) in header.columns.iter().enumerate() {
            let Some(column) = *column else { continue };
            let cell = record.get(at).unwrap_or_default();
            let Ok(cell) = str::from_utf8(cell) else {
                continue;
            };
            let raw = cell;
            let cell = cell.trim();
            if cell.is_empty() {
                if !raw.is_empty() {
                    blanks.push((at, column));
                }
                continue;
            }
            filled = true;
            let result = match column {
                Column::WhitelistPhone => match phone(cell) {
                    Ok(phone) => {
                        builder.add_phone(
                            phone,
                            Origin::new(input.path.clone(), line),
                            cell_site(start, at),
                        );
                        Ok(())
                    }
                    Err(rejection) => Err(rejection),
                },
                Column::User(Attribute::Password) => {
                    declares_user = true;
                    password(cell, builder.env).map(|password| {
                        if let Some((password, literal)) = password {
                            if literal {
                                builder.literal_password(&cell_site(start, at));
                            }
                            pending.password = Some(password);
                        }
                    })
                }
                // Data, taken literally: never interpolated.
                Column::User(attribute) => {
                    declares_user = true;
                    set_value(&mut pending, attribute, cell, builder.match_on)
                }
            };
            if let Err(rejection) = result {
                builder.reject(&cell_site(start, at), rejection);
                ok = false;
            }
        }
        // A cell of only whitespace in a row that says something: "not managed" or "make it
        // empty"? Neither, until the user says which. (A row of blank cells is still skipped.)
        if filled {
            for (at, column) in blanks.drain(..) {
                let (name, text) = match column {
                    Column::WhitelistPhone => ("whitelist_phone", false),
                    Column::User(attribute) => (
                        attribute.name(),
                        matches!(attribute, Attribute::Field(field) if !field.is_bool()),
                    ),
                };
                if let Err(rejection) = refuse_blank(" ", name, text, Format::Csv) {
                    builder.reject(&cell_site(start, at), rejection);
                    ok = false;
                }
            }
        }
        blanks.clear();
        if !declares_user || !ok {
            continue;
        }
        if header.damaged && !has_key(&pending, builder.match_on) {
            continue;
        }
        let row = Site {
            input: position,
            at: At::CsvRow { record: start },
        };
        let key_site = match key_column {
            Some(column) => cell_site(start, column),
            None => row.clone(),
        };
        let sites = UserSites {
            user: row,
            key: key_site,
            id: pending
                .id
                .as_ref()
                .and(header.id)
                .map(|column| cell_site(start, column)),
            renamed_from: pending
                .renamed_from
                .as_ref()
                .and(header.renamed_from)
                .map(|column| cell_site(start, column)),
        };
        builder.add_user(&mut pending, Origin::new(input.path.clone(), line), sites);
    }
    if rows == 0 {
        let site = Site {
            input: position,
            at: At::CsvRow {
                record: header_start,
            },
        };
        let place = builder.place(&site, Some("only a header".to_string()));
        builder
            .problems
            .push(ManifestDiagnostic::warning(Code::NoRows, "no rows under the header").at(place));
    }
}

/// Whether a record needs its quotes looked at: one of its cells holds a line break, or it
/// ends the file (where a quote left open ends without a trace in the cells).
fn spans_lines(record: &csv::ByteRecord, reader: &csv::Reader<&[u8]>, text: &str) -> bool {
    to_usize(reader.position().byte()) >= text.len()
        || record.as_slice().iter().any(|b| matches!(b, b'\n' | b'\r'))
}

/// A quoted cell that holds a line break or is never closed.
#[derive(Debug, PartialEq, Eq)]
struct QuotedCell {
    /// Where its opening quote is.
    open: usize,
    /// Just past its closing quote; `None` when the file ends first.
    close: Option<usize>,
}

/// The quoted cells of the record that starts at `start` that hold a line break or are never
/// closed, read the way the csv crate reads them: a quote opens a cell only as its first
/// character, `""` inside is one quote, and text after the closing quote joins the cell.
fn quoted_cells(text: &str, start: usize) -> Vec<QuotedCell> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = start;
    loop {
        if bytes.get(at) == Some(&b'"') {
            let open = at;
            at += 1;
            let mut broken = false;
            let close = loop {
                match bytes.get(at) {
                    None => break None,
                    Some(b'"') if bytes.get(at + 1) == Some(&b'"') => at += 2,
                    Some(b'"') => {
                        at += 1;
                        break Some(at);
                    }
                    Some(byte) => {
                        broken |= matches!(byte, b'\n' | b'\r');
                        at += 1;
                    }
                }
            };
            if broken || close.is_none() {
                found.push(QuotedCell { open, close });
            }
            if close.is_none() {
                return found;
            }
        }
        while bytes
            .get(at)
            .is_some_and(|b| !matches!(b, b',' | b'\n' | b'\r'))
        {
            at += 1;
        }
        if bytes.get(at) != Some(&b',') {
            return found;
        }
        at += 1;
    }
}

/// What a line must look like, read on its own, to count as a row of the file: the header's
/// number of cells, and a value that only a row holds in one of the columns that name someone
/// (an email, a phone, a username when users are matched on it).
struct RowShape {
    width: usize,
    columns: Vec<(usize, Column)>,
    match_on: MatchOn,
}

impl RowShape {
    fn of(header: &Header, width: usize, match_on: MatchOn) -> RowShape {
        let key = Column::User(Attribute::Field(match_on.field()));
        let columns = header
            .columns
            .iter()
            .enumerate()
            .filter_map(|(at, column)| Some((at, (*column)?)))
            .filter(|(_, column)| {
                matches!(
                    column,
                    Column::User(Attribute::Field(Field::Email | Field::Phone))
                        | Column::WhitelistPhone
                ) || *column == key
            })
            .collect();
        RowShape {
            width,
            columns,
            match_on,
        }
    }

    fn fits(&self, line: &str) -> bool {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line.as_bytes());
        let mut record = csv::StringRecord::new();
        if !reader.read_record(&mut record).unwrap_or(false) || record.len() != self.width {
            return false;
        }
        self.columns.iter().any(|(at, column)| {
            let cell = record.get(*at).unwrap_or_default().trim();
            !cell.is_empty()
                && match column {
                    Column::User(Attribute::Field(Field::Email)) => Email::check(cell).is_ok(),
                    Column::User(Attribute::Field(Field::Phone)) | Column::WhitelistPhone => {
                        Phone::parse(cell).is_ok()
                    }
                    _ => self.match_on == MatchOn::Username,
                }
        })
    }
}

/// Checks the quoted cells with line breaks of the record that starts at `start`; `false` (and
/// an error) when a quote is never closed or a cell takes in lines that look like rows.
fn quotes_close(
    builder: &mut Builder<'_>,
    position: usize,
    start: usize,
    shape: &RowShape,
) -> bool {
    let text = builder.inputs[position].text.as_str();
    let mut fine = true;
    for cell in quoted_cells(text, start) {
        let Some(close) = cell.close else {
            unclosed_quote(builder, position, &cell);
            return false;
        };
        // The lines the cell takes in: from the one after its quote opened to the whole line
        // its quote closes on.
        let end = text[close..].find('\n').map_or(text.len(), |at| close + at);
        let first_line = line_number(builder, position, cell.open);
        let taken: Vec<u32> = text[cell.open..end]
            .split('\n')
            .enumerate()
            .skip(1)
            .filter(|(_, line)| shape.fits(line.trim_end_matches('\r')))
            .map(|(at, _)| first_line.saturating_add(u32::try_from(at).unwrap_or(u32::MAX)))
            .collect();
        let (Some(first), Some(last)) = (taken.first(), taken.last()) else {
            continue;
        };
        let span = u32::try_from(taken.len()).unwrap_or(u32::MAX);
        let lines = if last - first + 1 == span {
            let these = if span == 1 {
                "which looks like a row"
            } else {
                "which look like rows"
            };
            format!("{}, {these} of their own", lines(*first, *last))
        } else {
            format!(
                "{}, {span} of which look like rows of their own",
                lines(*first, *last)
            )
        };
        let place = builder.place(
            &opening_line(text, position, &cell),
            Some("quote opened here".to_string()),
        );
        builder.problems.push(
            ManifestDiagnostic::error(
                Code::UnclosedQuote,
                format!("the quoted cell opened here takes in {lines}: a closing quote is probably missing"),
            )
            .at(place)
            .with_help(QUOTE_HELP),
        );
        fine = false;
    }
    fine
}

const QUOTE_HELP: &str = "close the quote where the cell ends; a quote inside a quoted cell is written twice: \"Wang \"\"Tony\"\"\"";

/// A quote left open to the end of the file.
fn unclosed_quote(builder: &mut Builder<'_>, position: usize, cell: &QuotedCell) {
    let text = builder.inputs[position].text.as_str();
    let first = line_number(builder, position, cell.open);
    let last = first.saturating_add(
        u32::try_from(text[cell.open..].trim_end().matches('\n').count()).unwrap_or(u32::MAX),
    );
    let message = if last > first {
        format!(
            "unclosed quote: the cell opened here runs to the end of the file, taking in {}",
            lines(first + 1, last)
        )
    } else {
        "unclosed quote: the cell opened here is never closed".to_string()
    };
    let place = builder.place(
        &opening_line(text, position, cell),
        Some("quote opened here".to_string()),
    );
    builder.problems.push(
        ManifestDiagnostic::error(Code::UnclosedQuote, message)
            .at(place)
            .with_help(QUOTE_HELP),
    );
}

/// `line 8`, `lines 8 to 11`.
fn lines(first: u32, last: u32) -> String {
    if first == last {
        format!("line {first}")
    } else {
        format!("lines {first} to {last}")
    }
}

/// The part of the line a quoted cell opens on, from its quote.
fn opening_line(text: &str, position: usize, cell: &QuotedCell) -> Site {
    let rest = &text[cell.open..];
    let end = cell.open + rest.find(['\n', '\r']).unwrap_or(rest.len());
    Site {
        input: position,
        at: At::Span(cell.open..end),
    }
}

/// The 1-based line of a byte offset.
fn line_number(builder: &Builder<'_>, position: usize, offset: usize) -> u32 {
    builder.inputs[position].place(offset..offset, None).line
}

fn phone(cell: &str) -> Result<Phone, Rejection> {
    Phone::parse(cell).map_err(|err| Rejection {
        code: Code::MalformedPhone,
        message: format!("malformed phone in column `whitelist_phone`: {err}"),
        label: "not a phone number".to_string(),
        help: Some(PHONE_HELP.to_string()),
        narrow: None,
    })
}

fn broken(builder: &mut Builder<'_>, position: usize, err: &csv::Error) {
    let start = err.position().map_or(0, |at| to_usize(at.byte()));
    let place = builder.place(
        &Site {
            input: position,
            at: At::CsvRow { record: start },
        },
        None,
    );
    builder
        .problems
        .push(ManifestDiagnostic::error(Code::Syntax, format!("invalid CSV: {err}")).at(place));
}

/// The columns of a CSV manifest, resolved once from its header.
struct Header {
    /// Per cell of a row: the column, `None` for a column that was refused or has no name.
    columns: Vec<Option<Column>>,
    /// The columns with an empty header cell: ignored while their cells are empty.
    blank: Vec<usize>,
    /// The cells a row must have: up to the last named column (trailing unnamed ones may be
    /// left out).
    named_width: usize,
    /// Where the `id` and `renamed_from` columns are.
    id: Option<usize>,
    renamed_from: Option<usize>,
    /// A column was refused or the key column is missing: rows without a key are not reported
    /// one by one.
    damaged: bool,
}

impl Header {
    fn read(
        builder: &mut Builder<'_>,
        position: usize,
        record: &csv::ByteRecord,
        start: usize,
    ) -> Option<Header> {
        let mut columns = Vec::with_capacity(record.len());
        let mut blank = Vec::new();
        let mut damaged = false;
        let names = Column::NAMES;
        for (at, cell) in record.iter().enumerate() {
            if cell.trim_ascii().is_empty() && record.len() > 1 {
                blank.push(at);
                columns.push(None);
                continue;
            }
            let site = Site {
                input: position,
                at: At::CsvCell {
                    record: start,
                    column: at,
                },
            };
            let name = String::from_utf8_lossy(cell).trim().to_string();
            let column = Column::parse(&name);
            let problem = match column {
                Some(column) if columns.contains(&Some(column)) => Some(
                    ManifestDiagnostic::error(
                        Code::DuplicateColumn,
                        format!("duplicate column `{}`", column.name()),
                    )
                    .at(builder.place(&site, Some("repeated here".to_string()))),
                ),
                Some(_) => None,
                None => {
                    let separator = ['\t', ';', '|'].into_iter().find(|separator| {
                        name.split(*separator)
                            .filter(|part| Column::parse(part.trim()).is_some())
                            .count()
                            >= 1
                            && name.contains(*separator)
                    });
                    let (message, help) = match (separator, suggest(&name, &names)) {
                        (Some(separator), _) => (
                            format!(
                                "unknown column `{name}`: the file seems to separate its cells with {}",
                                if separator == '\t' { "tabs".to_string() } else { format!("`{separator}`") }
                            ),
                            "authing-sync reads comma-separated CSV: save the file with commas (in Excel: \"CSV UTF-8 (Comma delimited)\")".to_string(),
                        ),
                        (None, Some(close)) => (
                            format!("unknown column `{name}`, did you mean `{close}`?"),
                            one_of(&names),
                        ),
                        (None, None) => (format!("unknown column `{name}`"), one_of(&names)),
                    };
                    Some(
                        ManifestDiagnostic::error(Code::UnknownColumn, message)
                            .at(builder.place(&site, Some("unknown column".to_string())))
                            .with_help(help),
                    )
                }
            };
            match problem {
                Some(problem) => {
                    builder.problems.push(problem);
                    columns.push(None);
                    damaged = true;
                }
                None => columns.push(column),
            }
        }
        let declares_users = columns
            .iter()
            .flatten()
            .any(|column| *column != Column::WhitelistPhone);
        let key = Column::User(Attribute::Field(builder.match_on.field()));
        if declares_users && !columns.contains(&Some(key)) {
            let field = key.name();
            let site = Site {
                input: position,
                at: At::CsvRow { record: start },
            };
            let place = builder.place(&site, Some(format!("no `{field}` column")));
            builder.problems.push(
                ManifestDiagnostic::error(
                    Code::MissingKey,
                    format!("the header has no `{field}` column: users are matched on `{field}`"),
                )
                .at(place)
                .with_help(format!("add an `{field}` column")),
            );
            damaged = true;
        }
        let named_width = columns
            .iter()
            .enumerate()
            .filter(|(at, _)| !blank.contains(at))
            .map(|(at, _)| at + 1)
            .max()
            .unwrap_or(0);
        let position_of =
            |wanted: Column| columns.iter().position(|column| *column == Some(wanted));
        let id = position_of(Column::User(Attribute::Id));
        let renamed_from = position_of(Column::User(Attribute::RenamedFrom));
        Some(Header {
            columns,
            blank,
            named_width,
            id,
            renamed_from,
            damaged,
        })
    }

    fn column_of(&self, wanted: Column) -> Option<usize> {
        self.columns
            .iter()
            .position(|column| *column == Some(wanted))
    }
}

/// The position of a column in the header of a CSV manifest, read again (for a diagnostic about
/// a cell that was not kept while reading).
pub(crate) fn column_position(text: &str, wanted: Column) -> Option<usize> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    reader.read_record(&mut record).ok()?;
    record
        .iter()
        .position(|name| Column::parse(name.trim_start_matches('\u{feff}').trim()) == Some(wanted))
}

/// The span of one cell of the record that starts at `record` (quotes included, surrounding
/// spaces not); the whole record for a column it does not have.
pub(crate) fn cell_span(text: &str, record: usize, column: usize) -> Range<usize> {
    let bytes = text.as_bytes();
    let mut at = record.min(bytes.len());
    let mut index = 0;
    loop {
        let start = at;
        if bytes.get(at) == Some(&b'"') {
            at += 1;
            while at < bytes.len() {
                if bytes[at] == b'"' {
                    if bytes.get(at + 1) == Some(&b'"') {
                        at += 2;
                        continue;
                    }
                    at += 1;
                    break;
                }
                at += 1;
            }
        }
        while at < bytes.len() && !matches!(bytes[at], b',' | b'\n' | b'\r') {
            at += 1;
        }
        if index == column {
            return trim_span(text, start..at);
        }
        if bytes.get(at) != Some(&b',') {
            return record_span(text, record);
        }
        at += 1;
        index += 1;
    }
}

/// The span of the whole record that starts at `record` (to the end of the line its last cell
/// ends on).
pub(crate) fn record_span(text: &str, record: usize) -> Range<usize> {
    let bytes = text.as_bytes();
    let start = record.min(bytes.len());
    let mut at = start;
    let mut quoted = false;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ => {}
        }
        at += 1;
    }
    start..at
}

fn trim_span(text: &str, span: Range<usize>) -> Range<usize> {
    let cell = &text[span.clone()];
    let leading = cell.len() - cell.trim_start().len();
    let trimmed = cell.trim();
    span.start + leading..span.start + leading + trimmed.len()
}

/// Where literal passwords are in a CSV text, for masking in snippets: the cells of the
/// `password` column (and of any column whose name looks like a secret, a misspelt one
/// included), except those that are exactly one `${NAME}` reference.
pub(crate) fn password_spans(text: &str) -> Vec<Range<usize>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).unwrap_or(false) {
        return Vec::new();
    }
    let columns: Vec<usize> = record
        .iter()
        .enumerate()
        .filter(|(_, cell)| str::from_utf8(cell).is_ok_and(|name| looks_secret(name.trim())))
        .map(|(at, _)| at)
        .collect();
    if columns.is_empty() {
        return Vec::new();
    }
    let mut spans = Vec::new();
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        let (start, _) = record_start(text, &record);
        for &column in &columns {
            let value = record
                .get(column)
                .and_then(|cell| str::from_utf8(cell).ok())
                .map(str::trim)
                .unwrap_or_default();
            if value.is_empty() || whole_reference(value).is_some() {
                continue;
            }
            spans.push(cell_span(text, start, column));
        }
    }
    spans
}

/// Where a record starts, and its 1-based line. The csv crate places a record that follows a
/// CRLF line break on the break's `\n`, and counts its line one short; a record never starts
/// with a line break (blank lines are skipped), so any is stepped over and counted.
fn record_start(text: &str, record: &csv::ByteRecord) -> (usize, u32) {
    let (reported, line) = record
        .position()
        .map_or((0, 1), |at| (to_usize(at.byte()), to_u32(at.line())));
    let bytes = text.as_bytes();
    let mut start = reported.min(bytes.len());
    let mut line = line;
    while let Some(byte @ (b'\n' | b'\r')) = bytes.get(start) {
        if *byte == b'\n' {
            line = line.saturating_add(1);
        }
        start += 1;
    }
    (start, line)
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn to_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::schema::{RawUser, field_names};

    #[test]
    fn user_columns_are_the_yaml_user_fields() {
        let names = Column::NAMES;
        assert_eq!(&names[..names.len() - 1], field_names::<RawUser>());
        assert_eq!(names[names.len() - 1], "whitelist_phone");
        for name in names {
            assert_eq!(
                Column::parse(&name.to_uppercase()).map(Column::name),
                Some(name)
            );
        }
    }

    #[test]
    fn cells_are_found_in_their_record() {
        let text = "email,nickname\n a@b.cn ,\"Liu, \"\"Al\"\"\"\nx,y\n";
        let record = text.find(" a@").unwrap();
        assert_eq!(&text[cell_span(text, record, 0)], "a@b.cn");
        assert_eq!(&text[cell_span(text, record, 1)], "\"Liu, \"\"Al\"\"\"");
        assert_eq!(
            &text[cell_span(text, record, 5)],
            " a@b.cn ,\"Liu, \"\"Al\"\"\""
        );
    }

    #[test]
    fn records_after_crlf_breaks_are_placed_right() {
        let text = "email,mfa\r\na@b.cn,yes\r\n\r\nb@b.cn,maybe\r\n";
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = csv::ByteRecord::new();
        let mut found = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let (start, line) = record_start(text, &record);
            found.push((line, &text[cell_span(text, start, 1)]));
        }
        assert_eq!(found, [(1, "mfa"), (2, "yes"), (4, "maybe")]);
    }

    #[test]
    fn quoted_cells_with_line_breaks_or_no_end_are_found() {
        let text = "a,\"b\nc\",\"d\"\"e\"x,\"f\n";
        assert_eq!(
            quoted_cells(text, 0),
            [
                QuotedCell {
                    open: 2,
                    close: Some(7)
                },
                QuotedCell {
                    open: 16,
                    close: None
                }
            ]
        );
        // A quote inside an unquoted cell is a character, and a closed cell on one line is fine.
        assert_eq!(quoted_cells("a,b\"c\n\"d\"\n", 0), []);
        // Only the record that starts there is read.
        assert_eq!(quoted_cells("a,b\n\"c", 0), []);
    }

    #[test]
    fn lines_look_like_rows_when_they_have_the_width_and_a_value_only_rows_hold() {
        let header = Header {
            columns: vec![
                Some(Column::User(Attribute::Field(Field::Email))),
                Some(Column::User(Attribute::Field(Field::Company))),
                None,
            ],
            blank: Vec::new(),
            named_width: 3,
            id: None,
            renamed_from: None,
            damaged: true,
        };
        let shape = RowShape::of(&header, 3, MatchOn::Email);
        assert!(shape.fits("user16@example.com,Fay,x"));
        assert!(shape.fits("user16@example.com,\"Fay, F\",x"));
        assert!(!shape.fits("user16@example.com,Fay"));
        assert!(!shape.fits("Building 3, Road X\",Example Ltd"));
        assert!(!shape.fits(",,"));
        let by_username = RowShape::of(
            &Header {
                columns: vec![Some(Column::User(Attribute::Field(Field::Username))), None],
                blank: Vec::new(),
                named_width: 2,
                id: None,
                renamed_from: None,
                damaged: false,
            },
            2,
            MatchOn::Username,
        );
        assert!(by_username.fits("liwei,x"));
        assert!(!by_username.fits(",x"));
        let phones = RowShape::of(
            &Header {
                columns: vec![
                    Some(Column::User(Attribute::Field(Field::Nickname))),
                    Some(Column::WhitelistPhone),
                ],
                blank: Vec::new(),
                named_width: 2,
                id: None,
                renamed_from: None,
                damaged: false,
            },
            2,
            MatchOn::Email,
        );
        assert!(phones.fits(",13800000000"));
        assert!(!phones.fits("Li,Wei"));
    }

    #[test]
    fn password_cells_are_masked_unless_references() {
        let text = "email,password,Passwrd\na@b.cn,hunter2,\nc@d.cn,${PW},\ne@f.cn,\"x,y\",typo\n";
        let found: Vec<&str> = password_spans(text)
            .into_iter()
            .map(|span| &text[span])
            .collect();
        assert_eq!(found, ["hunter2", "\"x,y\"", "typo"]);
    }
}
