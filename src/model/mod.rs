//! Domain types shared by every layer: normalised emails, phones and user keys, the profile
//! fields a manifest can manage (the table in `field.rs`), the desired state read from manifests
//! and the live state read from a pool.
//!
//! Every normalisation rule lives here and nowhere else: emails compare case-insensitively as
//! keys (the declared spelling is what gets written), phones compare with spaces, dashes and
//! brackets dropped and a `+86`/`0086` prefix dropped from an 11-digit mainland mobile number,
//! text is trimmed and an empty string is the same as no value, and a one-letter `gender`
//! (`m`, `f`, `u`, any case) is upper case ([`normalize_gender`]).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

mod field;

pub use field::{
    Field, FieldRef, FieldValue, Kind, Normalizer, Profile, ProfileBuilder, Spec, check_date,
    field_matches,
};

/// How a declared user finds its live user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchOn {
    #[default]
    Email,
    Username,
}

impl MatchOn {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOn::Email => "email",
            MatchOn::Username => "username",
        }
    }

    /// The field a user is keyed by.
    pub fn field(self) -> Field {
        match self {
            MatchOn::Email => Field::Email,
            MatchOn::Username => Field::Username,
        }
    }
}

impl fmt::Display for MatchOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value was refused by a constructor in this module. The message reads after the name of
/// the field: "malformed email: ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// An email address in its declared spelling. Equality and hashing ignore case.
#[derive(Clone)]
pub struct Email(Box<str>);

impl Email {
    /// Trims and checks the address: one `@`, a non-empty local part, a domain with a dot and no
    /// empty label, no whitespace, control or invisible formatting characters (U+202E, U+200B).
    pub fn parse(raw: &str) -> Result<Email, InvalidValue> {
        Email::check(raw).map(|value| Email(value.into()))
    }

    /// What [`Email::parse`] checks, without keeping the address: the trimmed value.
    pub fn check(raw: &str) -> Result<&str, InvalidValue> {
        let value = raw.trim();
        let invalid = |why: &str| {
            Err(InvalidValue(format!(
                "`{value}` is not an email address: {why}"
            )))
        };
        if value.is_empty() {
            return invalid("it is empty");
        }
        // ASCII (nearly every address) holds no invisible character, and its whitespace and
        // controls are the bytes up to the space and DEL.
        let spaced = if value.is_ascii() {
            value.bytes().any(|byte| byte <= b' ' || byte == 0x7f)
        } else {
            value.chars().any(|c| c.is_whitespace() || c.is_control())
        };
        if spaced {
            return invalid("it contains whitespace");
        }
        if let Some(hidden) = value.chars().find(|c| !c.is_ascii() && is_hidden(*c)) {
            return invalid(&format!(
                "it contains the invisible character U+{:04X}",
                u32::from(hidden)
            ));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return invalid("there is no `@`");
        };
        if local.is_empty() {
            return invalid("nothing before the `@`");
        }
        if local.contains('@') {
            return invalid("more than one `@`");
        }
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return invalid("the domain needs a dot and no empty part");
        }
        Ok(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The case-folded form of an email address as it is stored or declared.
pub fn normalize_email(value: &str) -> String {
    normalized_email(value).into_owned()
}

/// [`normalize_email`] without an allocation when the value is already in that form (trimmed,
/// no ASCII capital): how a million live keys are compared and hashed.
pub fn normalized_email(value: &str) -> Cow<'_, str> {
    let value = value.trim();
    if !value.is_ascii() {
        Cow::Owned(value.to_lowercase())
    } else if value.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(value.to_ascii_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}

/// Case-insensitive equality of two email spellings, without allocating in the ASCII case.
pub fn emails_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        emails_equal(&self.0, &other.0)
    }
}

impl Eq for Email {}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in normalised form: digits, with a leading `+` for an international number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(Box<str>);

impl Phone {
    /// Normalises and checks a declared phone number. Spaces, dashes, dots and brackets are
    /// dropped, and `+86` or `0086` from an 11-digit mainland mobile number. What is left must be
    /// an 11-digit mainland mobile number (`1`, then `3` to `9`, then nine digits), or `+`, a
    /// country code and the number: 7 to 15 digits in all, as E.164 allows (11 for a mainland
    /// mobile after `+86`). A number a spreadsheet wrote as a number (`13800000000.0`,
    /// `1.38E+10`) is refused with a hint: its digits may already be lost. Live phones are
    /// never checked, only compared through [`normalize_phone`].
    pub fn parse(raw: &str) -> Result<Phone, InvalidValue> {
        let shown = raw.trim();
        let refuse = |why: String| {
            Err(InvalidValue(format!(
                "`{shown}` is not a phone number: {why}"
            )))
        };
        if let Some(why) = spreadsheet_number(shown) {
            return refuse(why.to_string());
        }
        let normalized = normalize_phone(raw);
        let (international, digits) = match normalized.strip_prefix('+') {
            Some(digits) => (true, digits),
            None => (false, normalized.as_str()),
        };
        if digits.is_empty() {
            return refuse("it has no digits".to_string());
        }
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_digit()) {
            return refuse(format!("unexpected character `{bad}`"));
        }
        let count = digits.len();
        if international {
            if !(7..=15).contains(&count) {
                return refuse(format!(
                    "{count} digits after the `+`; a country code and a number have 7 to 15"
                ));
            }
            if let Some(rest) = digits.strip_prefix("86")
                && mobile_prefix(rest)
            {
                return refuse(format!(
                    "{} digits after `+86`; a mainland mobile number has 11",
                    rest.len()
                ));
            }
        } else if let Some(rest) = digits.strip_prefix("00") {
            return refuse(format!(
                "write the international prefix `00` as `+`: `+{rest}`"
            ));
        } else if !(count == 11 && mobile_prefix(digits)) {
            return refuse(format!(
                "{count} digits without a country code, which is not an 11-digit mainland mobile number"
            ));
        }
        Ok(Phone(normalized.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The comparison form of any phone spelling; never fails (live values may be odd).
pub fn normalize_phone(raw: &str) -> String {
    normalized_phone(raw).into_owned()
}

/// [`normalize_phone`] without an allocation when the spelling needs no separator removed.
pub fn normalized_phone(raw: &str) -> Cow<'_, str> {
    let separator = |c: char| {
        matches!(
            c,
            ' ' | '\t' | '-' | '.' | '(' | ')' | '[' | ']' | '\u{3000}'
        )
    };
    let trimmed = raw.trim();
    let compact = if trimmed.contains(separator) {
        Cow::Owned(trimmed.chars().filter(|c| !separator(*c)).collect())
    } else {
        Cow::Borrowed(trimmed)
    };
    let prefix = ["+86", "0086"]
        .into_iter()
        .find(|prefix| compact.strip_prefix(prefix).is_some_and(is_mainland_mobile));
    match (prefix, compact) {
        (None, compact) => compact,
        (Some(prefix), Cow::Borrowed(text)) => Cow::Borrowed(&text[prefix.len()..]),
        (Some(prefix), Cow::Owned(text)) => Cow::Owned(text[prefix.len()..].to_string()),
    }
}

/// A `gender` as it is written and compared: `M`, `F` or `U` in any case is upper case (v3 takes
/// only the upper-case letters, and v1 stores what it is given, so a lower-case letter would
/// otherwise be refused on one API and a change of spelling on the other); any other text is
/// kept as it is (v1 takes any string, and v3's capability check names it). `value` is trimmed.
pub fn normalize_gender(value: &str) -> std::borrow::Cow<'_, str> {
    let value = value.trim();
    match value {
        "m" | "f" | "u" => std::borrow::Cow::Owned(value.to_ascii_uppercase()),
        _ => std::borrow::Cow::Borrowed(value),
    }
}

/// Whether digits begin like a mainland mobile number: `13` to `19`.
fn mobile_prefix(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.first() == Some(&b'1') && bytes.get(1).is_some_and(|b| (b'3'..=b'9').contains(b))
}

/// Why a phone looks like a number a spreadsheet wrote (`13800000000.0`, `1.38E+10`), if it does.
fn spreadsheet_number(raw: &str) -> Option<&'static str> {
    let unsigned = raw.strip_prefix('+').unwrap_or(raw);
    let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if let Some((whole, fraction)) = unsigned.split_once('.')
        && all_digits(whole)
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b == b'0')
    {
        return Some(
            "it ends in `.0`, as a spreadsheet writes a number; format the phone column as text and export again",
        );
    }
    if let Some((mantissa, exponent)) = unsigned.split_once(['e', 'E']) {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        let mantissa_digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        if all_digits(exponent)
            && all_digits(&mantissa_digits)
            && mantissa.matches('.').count() <= 1
        {
            return Some(
                "it is a number in scientific notation, as a spreadsheet shows a long number, and its digits are lost; format the phone column as text and export again",
            );
        }
    }
    None
}

fn is_mainland_mobile(digits: &str) -> bool {
    digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit())
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity of a user across manifest and pool: the normalised value of the `match_on` field
/// (a case-folded email or username).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserKey(Box<str>);

impl UserKey {
    pub fn from_email(email: &str) -> UserKey {
        UserKey(normalize_email(email).into())
    }

    /// A username compares case-insensitively, as Authing's uniqueness does (`Bob` and `bob`
    /// are one user; the declared spelling is what gets written).
    pub fn from_username(username: &str) -> UserKey {
        UserKey(normalize_email(username).into())
    }

    /// The key of a profile under `match_on`, if the profile has that field.
    pub fn of(profile: &Profile, match_on: MatchOn) -> Option<UserKey> {
        UserKey::text_of(profile, match_on).map(|text| UserKey(text.into()))
    }

    /// The text [`UserKey::of`] would hold, borrowed from the profile when it is already in key
    /// form (as nearly every pool's users are): a key to look up without making one.
    pub fn text_of(profile: &Profile, match_on: MatchOn) -> Option<Cow<'_, str>> {
        non_empty(profile.text(match_on.field())).map(normalized_email)
    }

    /// The key holding what [`UserKey::text_of`] gave.
    pub(crate) fn from_text(text: Cow<'_, str>) -> UserKey {
        UserKey(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keys hash and compare as their text, so a map of keys can be asked with a `&str`.
impl std::borrow::Borrow<str> for UserKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's `_id` in the pool.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(Box<str>);

impl UserId {
    pub fn new(id: impl Into<Box<str>>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a character is never shown as itself: control characters (C0, DEL, C1; ESC starts
/// terminal escape sequences, a carriage return overwrites a line), the line and paragraph
/// separators, and the invisible format characters (Unicode category Cf: bidirectional controls
/// such as U+202E, which make text read differently than it is, zero-width characters, the byte
/// order mark, tags...), with the Hangul fillers that render as nothing. `render::escape` escapes
/// them in every output for people and in JSON; an email holding one is refused.
pub fn is_hidden(c: char) -> bool {
    // Printable ASCII first: nearly every character of a pool is, and this is called for each.
    if (' '..='~').contains(&c) {
        return false;
    }
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{115f}'..='\u{1160}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// Where a declaration came from: the manifest file and its 1-based line.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: Arc<Path>,
    pub line: u32,
}

impl Origin {
    pub fn new(file: Arc<Path>, line: u32) -> Self {
        Self { file, line }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Where a declared password comes from, so that a saved plan can name it without holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The whole value was `${NAME}`: the environment variable `NAME`.
    Env(String),
    /// Written in the manifest (possibly with interpolation inside a longer text).
    Manifest,
}

/// The shortest password Authing accepts, in characters (shorter is error 2029).
pub const MIN_PASSWORD_CHARS: usize = 6;

/// A password declared for a user, used only when the user is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Password {
    pub secret: Secret,
    pub source: PasswordSource,
}

/// Who a declared user was, besides its key: a manifest gives at most one of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// `id:` the Authing user id that pins the user: matched by id first, so that every other
    /// field, the key included, may change in place.
    Id(UserId),
    /// `renamed_from:` an earlier value of the `match_on` key. When no live user has the key
    /// and one has this, that user is renamed in place (same id, MFA kept).
    RenamedFrom(UserKey),
}

/// One user as the manifests declare it. Rare parts are boxed: a million of these may be held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    pub key: UserKey,
    pub profile: Profile,
    pub mfa: Option<bool>,
    pub password: Option<Box<Password>>,
    pub identity: Option<Box<Identity>>,
    pub origin: Origin,
}

impl DesiredUser {
    /// A user with a key and a profile, nothing else declared.
    pub fn new(key: UserKey, profile: Profile, origin: Origin) -> Self {
        Self {
            key,
            profile,
            mfa: None,
            password: None,
            identity: None,
            origin,
        }
    }

    /// The user with an `id` or a `renamed_from`.
    pub fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(Box::new(identity));
        self
    }

    /// `id:`, if declared.
    pub fn id(&self) -> Option<&UserId> {
        match self.identity.as_deref()? {
            Identity::Id(id) => Some(id),
            Identity::RenamedFrom(_) => None,
        }
    }

    /// `renamed_from:`, if declared.
    pub fn renamed_from(&self) -> Option<&UserKey> {
        match self.identity.as_deref()? {
            Identity::RenamedFrom(old) => Some(old),
            Identity::Id(_) => None,
        }
    }
}

/// The phone-registration whitelist as the manifests declare it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredWhitelist {
    /// The switch; `None` leaves it as it is.
    pub enabled: Option<(bool, Origin)>,
    /// The complete list; `None` leaves the list as it is.
    pub phones: Option<Vec<(Phone, Origin)>>,
}

/// A limit on deletions: an absolute count, or a percentage of the live pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxDeletes {
    Count(u64),
    Percent(f64),
}

impl MaxDeletes {
    /// Parses `N` or `N%` (a percentage may have decimals).
    pub fn parse(raw: &str) -> Result<MaxDeletes, InvalidValue> {
        let value = raw.trim();
        let invalid = || {
            InvalidValue(format!(
                "`{value}` is not a deletion limit: expected a count such as `10` or a percentage such as `5%`"
            ))
        };
        if let Some(percent) = value.strip_suffix('%') {
            let percent: f64 = percent.trim().parse().map_err(|_| invalid())?;
            if !(0.0..=100.0).contains(&percent) {
                return Err(InvalidValue(format!(
                    "`{value}` is not a percentage between 0% and 100%"
                )));
            }
            Ok(MaxDeletes::Percent(percent))
        } else {
            value.parse().map(MaxDeletes::Count).map_err(|_| invalid())
        }
    }

    /// The largest number of deletions allowed for a pool of `live_users` users.
    pub fn limit(self, live_users: usize) -> u64 {
        match self {
            MaxDeletes::Count(count) => count,
            MaxDeletes::Percent(percent) => ((live_users as f64) * percent / 100.0).floor() as u64,
        }
    }
}

impl fmt::Display for MaxDeletes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxDeletes::Count(count) => write!(f, "{count}"),
            MaxDeletes::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

/// A case-insensitive glob over emails (`*@corp.example`) or literal keys, as `prune.scope` and
/// `prune.protect` take them.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    matcher: globset::GlobMatcher,
}

impl Pattern {
    pub fn parse(raw: &str) -> Result<Pattern, InvalidValue> {
        let source = raw.trim().to_string();
        if source.is_empty() {
            return Err(InvalidValue("an empty pattern matches nothing".into()));
        }
        let glob = globset::GlobBuilder::new(&source)
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|err| {
                InvalidValue(format!("`{source}` is not a valid pattern: {}", err.kind()))
            })?;
        Ok(Pattern {
            matcher: glob.compile_matcher(),
            source,
        })
    }

    pub fn matches(&self, value: &str) -> bool {
        self.matcher.is_match(value.trim())
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.source, f)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The `prune` settings of the manifests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneSettings {
    pub enabled: bool,
    pub max_deletes: Option<MaxDeletes>,
    /// Users never deleted: patterns over the user's key, email and username.
    pub protect: Vec<Pattern>,
    /// Only users whose email matches may be deleted.
    pub scope: Option<Pattern>,
    pub origin: Option<Origin>,
}

/// A manifest file that contributed to a desired state, with a digest of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: Arc<Path>,
    pub sha256: String,
}

/// Everything the manifests declare, validated and normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredState {
    pub match_on: MatchOn,
    /// In declaration order, no two with the same key.
    pub users: Vec<DesiredUser>,
    pub whitelist: Option<DesiredWhitelist>,
    pub prune: PruneSettings,
    pub sources: Vec<SourceFile>,
}

impl DesiredState {
    /// The live users whose MFA switch must be read: those a user with a managed MFA flag
    /// matches by key, by `renamed_from` or by `id`.
    pub fn managed_mfa(&self) -> ManagedMfa {
        let mut managed = ManagedMfa {
            match_on: self.match_on,
            ..ManagedMfa::default()
        };
        for user in self.users.iter().filter(|user| user.mfa.is_some()) {
            managed.keys.insert(user.key.clone());
            if let Some(old) = user.renamed_from() {
                managed.keys.insert(old.clone());
            }
            if let Some(id) = user.id() {
                managed.ids.insert(id.clone());
            }
        }
        managed
    }

    pub fn manages_whitelist(&self) -> bool {
        self.whitelist.is_some()
    }
}

/// Which live users' MFA switches a desired state manages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagedMfa {
    pub match_on: MatchOn,
    pub keys: HashSet<UserKey>,
    pub ids: HashSet<UserId>,
}

impl ManagedMfa {
    /// Whether the switch of this live user is managed.
    pub fn covers(&self, user: &LiveUser) -> bool {
        // The key is made only when some key is managed: a million users read for a manifest
        // that manages no MFA flag cost no key each.
        self.ids.contains(&user.id)
            || (!self.keys.is_empty()
                && user
                    .key(self.match_on)
                    .is_some_and(|key| self.keys.contains(&key)))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.ids.is_empty()
    }
}

/// One user as the pool holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveUser {
    pub id: UserId,
    pub profile: Profile,
    /// The MFA switch, when it was read (only for users whose flag a manifest manages).
    pub mfa: Option<bool>,
}

impl LiveUser {
    pub fn key(&self, match_on: MatchOn) -> Option<UserKey> {
        UserKey::of(&self.profile, match_on)
    }

    /// A human label: email, else username, else id.
    pub fn label(&self) -> &str {
        non_empty(self.profile.text(Field::Email))
            .or_else(|| non_empty(self.profile.text(Field::Username)))
            .unwrap_or(self.id.as_str())
    }
}

/// A whitelist phone as the pool holds it: the stored spelling (needed to remove it) and its
/// comparison form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePhone {
    pub raw: String,
    pub normalized: String,
}

impl LivePhone {
    pub fn new(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let normalized = normalize_phone(&raw);
        Self { raw, normalized }
    }
}

/// The phone-registration whitelist as the pool holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveWhitelist {
    pub enabled: bool,
    pub phones: Vec<LivePhone>,
}

/// Whether a fetch saw the whole pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Completeness {
    #[default]
    Complete,
    /// The pool could not be read consistently; nothing may be deleted on the strength of it.
    Incomplete { reason: String },
}

/// Everything read from the pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveState {
    pub users: Vec<LiveUser>,
    /// Read only when a manifest manages the whitelist.
    pub whitelist: Option<LiveWhitelist>,
    pub completeness: Completeness,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_letter_gender_is_upper_case_and_any_other_is_kept() {
        for (given, read) in [
            ("m", "M"),
            (" f ", "F"),
            ("u", "U"),
            ("M", "M"),
            ("male", "male"),
            ("Other", "Other"),
            ("", ""),
        ] {
            assert_eq!(normalize_gender(given), read, "{given:?}");
        }
    }

    #[test]
    fn emails_compare_case_insensitively_and_keep_their_spelling() {
        let email = Email::parse("  Alice.Liu@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Alice.Liu@Example.COM");
        assert_eq!(email, Email::parse("alice.liu@example.com").unwrap());
        assert_eq!(
            UserKey::from_email(email.as_str()).as_str(),
            "alice.liu@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn phones_normalise_as_the_contract_says() {
        let cases = [
            ("13800000000", "13800000000"),
            ("+86 138-0000-0000", "13800000000"),
            ("0086 (138) 0000 0000", "13800000000"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("+8613800000000", "13800000000"),
            ("138.0000.0000", "13800000000"),
            ("+683 4002", "+6834002"),
            ("+44 20 7946 0958", "+442079460958"),
            ("199 0000 0000", "19900000000"),
        ];
        for (raw, normalized) in cases {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), normalized, "{raw}");
        }
        // +86 is kept when what follows is not a mainland mobile number.
        assert_eq!(
            Phone::parse("+86 10 1234 5678").unwrap().as_str(),
            "+861012345678"
        );
    }

    #[test]
    fn phones_that_are_not_phones_are_refused_with_the_reason() {
        let cases = [
            ("", "no digits"),
            ("abc", "unexpected character `a`"),
            ("138-abcd-0000", "unexpected character `a`"),
            ("+", "no digits"),
            ("12345", "5 digits without a country code"),
            ("123", "3 digits without a country code"),
            ("138000000000", "12 digits without a country code"),
            ("12800000000", "11 digits without a country code"),
            ("010-1234-5678", "11 digits without a country code"),
            ("+1234", "4 digits after the `+`"),
            ("+1234567890123456", "16 digits after the `+`"),
            ("+86 138 0000 00000", "12 digits after `+86`"),
            (
                "0085291234567",
                "write the international prefix `00` as `+`: `+85291234567`",
            ),
            ("13800000000.0", "ends in `.0`"),
            ("+8613800000000.00", "ends in `.0`"),
            ("1.38E+10", "scientific notation"),
            ("1.3800000000e10", "scientific notation"),
            ("13800000000E0", "scientific notation"),
        ];
        for (raw, why) in cases {
            let err = Phone::parse(raw).expect_err(raw).to_string();
            assert!(err.contains(why), "{raw:?}: {err}");
            assert!(
                err.starts_with(&format!("`{}` is not a phone number: ", raw.trim())),
                "{err}"
            );
        }
    }

    #[test]
    fn deletion_limits_parse_counts_and_percentages() {
        assert_eq!(MaxDeletes::parse("10").unwrap().limit(1000), 10);
        assert_eq!(MaxDeletes::parse("5%").unwrap().limit(1000), 50);
        assert_eq!(MaxDeletes::parse("0.5%").unwrap().limit(1000), 5);
        assert!(MaxDeletes::parse("ten").is_err());
        assert!(MaxDeletes::parse("150%").is_err());
    }

    #[test]
    fn patterns_match_emails_case_insensitively() {
        let scope = Pattern::parse("*@Corp.example").unwrap();
        assert!(scope.matches("bob@corp.EXAMPLE"));
        assert!(!scope.matches("bob@other.example"));
        assert!(Pattern::parse("[").is_err());
    }
}
