//! The format-neutral half of reading manifests: what a value means once a format module
//! (`yaml_read.rs`, `csv.rs`) has found it, normalised through the model's constructors and the
//! field table, and how the files merge into one [`DesiredState`].
//!
//! What a value means:
//!
//! - An omitted key, a YAML `null` and an empty CSV cell mean "not managed".
//! - An empty YAML string for a text field means "managed, and should be empty"; for a boolean,
//!   a password, an `id` or a `renamed_from` it means "not managed" (so `mfa: ${MFA:-}` can
//!   leave MFA alone, and `password: ${ALICE_INITIAL_PASSWORD:-}` is optional). Surrounding
//!   whitespace is trimmed from every value, passwords included.
//! - A value of only whitespace is an error in both formats ([`refuse_blank`]): it is neither
//!   "not managed" nor "make it empty" until the user says which.
//! - A text field is read by its normaliser in the field table: an email or a phone must be one,
//!   and a `birthdate` a calendar date (`YYYY-MM-DD`, or an RFC 3339 time on a real date).
//! - Booleans are `true`/`false`, `yes`/`no`, `1`/`0`, any case.
//! - `renamed_from` is a value of the `match_on` key (an email under `match_on: email`); `id`
//!   is an Authing user id, one word.
//!
//! How files merge:
//!
//! - Users are keyed by the `match_on` field (`email` unless a YAML file says otherwise; all YAML
//!   files that say must agree). A key declared twice, in one file or two, is an error at the
//!   second declaration naming the first; so are two users naming one `id` or one
//!   `renamed_from`. Users keep declaration order, files the order given.
//! - Two users with different keys given one username, email or phone (the unique values that
//!   are not the key) are an error at both places, every pair at once: a pool holds each once.
//! - `match_on`, `prune` and `whitelist.enabled` may be set in one file (or identically in
//!   several); a difference is one "conflicting" diagnostic naming both places.
//! - The whitelist is managed when some YAML file has `whitelist.phones` (even `[]`) or some CSV
//!   row has a `whitelist_phone`; the phones are the union, and a phone listed twice (after
//!   normalisation) is a warning naming both places.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::diagnostic::{Code, ManifestDiagnostic, Place, Problems};
use super::interpolate::{
    Environment, InterpolationErrorKind, has_reference, interpolate, required_references,
    whole_reference,
};
use super::schema::Attribute;
use super::source::Input;
use crate::model::{
    DesiredState, DesiredUser, DesiredWhitelist, Email, Field, Identity, MIN_PASSWORD_CHARS,
    MatchOn, Normalizer, Origin, Password, PasswordSource, Phone, ProfileBuilder, PruneSettings,
    UserId, UserKey, check_date, normalize_gender,
};
use crate::secret::Secret;

/// Where a declaration is, for diagnostics raised after it was read (duplicates, conflicts).
#[derive(Debug, Clone)]
pub(crate) struct Site {
    /// Position of the file among the inputs.
    pub input: usize,
    pub at: At,
}

#[derive(Debug, Clone)]
pub(crate) enum At {
    Span(Range<usize>),
    /// A CSV cell, found again from its record's start when needed.
    CsvCell {
        record: usize,
        column: usize,
    },
    /// A whole CSV record.
    CsvRow {
        record: usize,
    },
}

/// What a user declaration manages, before it has a key. Reused from one user to the next.
#[derive(Debug, Default)]
pub(crate) struct PendingUser {
    pub profile: ProfileBuilder,
    pub mfa: Option<bool>,
    pub password: Option<Password>,
    pub id: Option<UserId>,
    pub renamed_from: Option<UserKey>,
}

impl PendingUser {
    pub fn clear(&mut self) {
        self.profile.clear();
        self.mfa = None;
        self.password = None;
        self.id = None;
        self.renamed_from = None;
    }
}

/// Where the parts of one user declaration are.
#[derive(Debug, Clone)]
pub(crate) struct UserSites {
    /// The whole declaration (a YAML mapping's first line, a CSV row).
    pub user: Site,
    /// The `match_on` key's value (the whole declaration when it has none).
    pub key: Site,
    pub id: Option<Site>,
    pub renamed_from: Option<Site>,
}

/// A value that was refused, with what to say where it is.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub code: Code,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    /// A part of the value's source text to point at rather than the whole value (a `${...}`).
    pub narrow: Option<String>,
}

impl Rejection {
    pub(crate) fn new(code: Code, message: String, label: &str) -> Self {
        Self {
            code,
            message,
            label: label.to_string(),
            help: None,
            narrow: None,
        }
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A manifest format, for what a diagnostic tells the user to write in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Yaml,
    Csv,
}

/// Refuses a value of only whitespace (spaces, tabs, a line break, a no-break space). It could
/// mean "not managed" or "make it empty", and the two formats would read it differently, so it
/// means neither: the error says how each is written in `format`. `text` is whether `name` is a
/// text field (which a YAML `""` empties); an empty value is not blank.
pub(crate) fn refuse_blank(
    value: &str,
    name: &str,
    text: bool,
    format: Format,
) -> Result<(), Rejection> {
    if value.is_empty() || !value.trim().is_empty() {
        return Ok(());
    }
    let help = match (format, text) {
        (Format::Yaml, true) => format!(
            "to make `{name}` empty write `{name}: \"\"`; to leave it as it is in the pool, leave `{name}` out (or write `{name}: null`)"
        ),
        (Format::Yaml, false) => format!(
            "to leave `{name}` as it is in the pool, leave it out (or write `{name}: null`)"
        ),
        (Format::Csv, true) => format!(
            "leave the cell empty to leave `{name}` as it is in the pool; a CSV manifest cannot make a field empty: declare the user in a YAML manifest with `{name}: \"\"`"
        ),
        (Format::Csv, false) => {
            format!("leave the cell empty to leave `{name}` as it is in the pool")
        }
    };
    Err(Rejection::new(
        Code::BlankValue,
        format!("`{name}` is only whitespace"),
        "only whitespace",
    )
    .help(help))
}

/// Interpolates a value; the error names the field and never the value.
pub(crate) fn expand<'a>(
    raw: &'a str,
    field: &str,
    env: &dyn Environment,
) -> Result<Cow<'a, str>, Rejection> {
    interpolate(raw, env).map_err(|err| {
        let code = match err.kind {
            InterpolationErrorKind::Unset(_) => Code::UnsetVariable,
            _ => Code::Interpolation,
        };
        Rejection {
            code,
            message: err.message(field),
            label: err.label().to_string(),
            help: err.help(),
            narrow: Some(err.reference.clone()),
        }
    })
}

/// Sets an attribute other than `password` from its (interpolated) text: a text field through
/// its normaliser, a boolean through [`parse_flag`], `id` and `renamed_from` checked.
pub(crate) fn set_value(
    user: &mut PendingUser,
    attribute: Attribute,
    value: &str,
    match_on: MatchOn,
) -> Result<(), Rejection> {
    let value = value.trim();
    match attribute {
        Attribute::Field(field) if field.is_bool() => {
            if let Some(flag) = parse_flag(value, field.name())? {
                user.profile.flag(field, flag);
            }
        }
        Attribute::Field(field) => {
            let normalized = normalize(field, value)?;
            user.profile.text(field, &normalized);
        }
        Attribute::Mfa => user.mfa = parse_flag(value, "mfa")?,
        Attribute::Id => user.id = user_id(value)?,
        Attribute::RenamedFrom => user.renamed_from = earlier_key(value, match_on)?,
        // Passwords are read by `password`, which knows where the value came from.
        Attribute::Password => {}
    }
    Ok(())
}

/// A text field's value as the field table's normaliser reads it; an empty text stays empty
/// ("managed, should be empty").
fn normalize(field: Field, value: &str) -> Result<Cow<'_, str>, Rejection> {
    if value.is_empty() {
        return Ok(Cow::Borrowed(value));
    }
    match field.normalizer() {
        Some(Normalizer::Email) => {
            Email::check(value)
                .map(|_| Cow::Borrowed(value))
                .map_err(|err| {
                    Rejection::new(
                        Code::MalformedEmail,
                        format!("malformed `{field}`: {err}"),
                        "not an email address",
                    )
                })
        }
        Some(Normalizer::Phone) => Phone::parse(value)
            .map(|phone| Cow::Owned(phone.as_str().to_string()))
            .map_err(|err| {
                Rejection::new(
                    Code::MalformedPhone,
                    format!("malformed `{field}`: {err}"),
                    "not a phone number",
                )
                .help(PHONE_HELP)
            }),
        Some(Normalizer::Date) => {
            check_date(value)
                .map(|()| Cow::Borrowed(value))
                .map_err(|problem| {
                    Rejection::new(
                        Code::InvalidValue,
                        format!("invalid `{field}` `{value}`: {problem}"),
                        "not a calendar date",
                    )
                    .help(DATE_HELP)
                })
        }
        Some(Normalizer::Trim) if field == Field::Gender => Ok(normalize_gender(value)),
        Some(Normalizer::Trim) | None => Ok(Cow::Borrowed(value)),
    }
}

pub(crate) const DATE_HELP: &str = "a date is written `YYYY-MM-DD` (`1990-04-01`), as Authing returns it; a full RFC 3339 time (`1990-04-01T00:00:00.000Z`) is read too";

pub(crate) const PHONE_HELP: &str = "a phone is an 11-digit mainland mobile number, or `+`, the country code and the number (7 to 15 digits); spaces, dashes, dots and brackets are ignored";

/// An `id`: one word of printable characters; `None` when empty.
fn user_id(value: &str) -> Result<Option<UserId>, Rejection> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Rejection::new(
            Code::InvalidValue,
            format!("invalid `id` `{value}`: a user id is one word"),
            "not a user id",
        )
        .help("`id` takes the Authing user id (`_id`), as `export --with-ids` writes it"));
    }
    Ok(Some(UserId::new(value)))
}

/// A `renamed_from`: a value of the `match_on` key; `None` when empty.
fn earlier_key(value: &str, match_on: MatchOn) -> Result<Option<UserKey>, Rejection> {
    if value.is_empty() {
        return Ok(None);
    }
    match match_on {
        MatchOn::Email => Email::parse(value)
            .map(|email| Some(UserKey::from_email(email.as_str())))
            .map_err(|err| {
                Rejection::new(
                    Code::MalformedEmail,
                    format!("malformed `renamed_from`: {err}"),
                    "not an email address",
                )
                .help("under `match_on: email`, `renamed_from` is the user's earlier email")
            }),
        MatchOn::Username => Ok(Some(UserKey::from_username(value))),
    }
}

/// Parses an interpolated boolean; `None` for an empty value (not managed).
pub(crate) fn parse_flag(value: &str, field: &str) -> Result<Option<bool>, Rejection> {
    let value = value.trim();
    let flag = if value.is_empty() {
        None
    } else if ["true", "yes", "1"]
        .iter()
        .any(|word| value.eq_ignore_ascii_case(word))
    {
        Some(true)
    } else if ["false", "no", "0"]
        .iter()
        .any(|word| value.eq_ignore_ascii_case(word))
    {
        Some(false)
    } else {
        return Err(Rejection::new(
            Code::InvalidBool,
            format!("invalid boolean `{value}` for `{field}`"),
            "not a boolean",
        )
        .help("use true/false, yes/no or 1/0"));
    };
    Ok(flag)
}

/// Reads a password: kept as a [`Secret`] from here on. `true` with it when it was written
/// literally (no `${...}`), which deserves a warning. `None` when it is empty (not managed), so
/// `password: ${ALICE_INITIAL_PASSWORD:-}` is optional; but a `${NAME}` without a default that
/// comes out empty is refused (a variable the job forgot to fill would otherwise silently become
/// a generated password), and so is a password shorter than Authing accepts.
pub(crate) fn password(
    raw: &str,
    env: &dyn Environment,
) -> Result<Option<(Password, bool)>, Rejection> {
    let raw = raw.trim();
    let (secret, source, literal) = if let Some(name) = whole_reference(raw) {
        let value = expand(raw, "password", env)?;
        (
            Secret::from(value.trim()),
            PasswordSource::Env(name.to_string()),
            false,
        )
    } else {
        let value = expand(raw, "password", env)?;
        (
            Secret::from(value.trim()),
            PasswordSource::Manifest,
            !has_reference(raw),
        )
    };
    if secret.is_empty() {
        return match required_references(raw).first() {
            Some(reference) => Err(Rejection {
                code: Code::EmptyVariable,
                message: format!(
                    "`{reference}` in `password` is set but empty: the password would be left out"
                ),
                label: "empty".to_string(),
                help: Some(format!(
                    "set the variable; to make the password optional (a new user then gets a generated one), write `${{{}:-}}`",
                    &reference[2..reference.len() - 1]
                )),
                narrow: Some((*reference).to_string()),
            }),
            None => Ok(None),
        };
    }
    let length = secret.expose().chars().count();
    if length < MIN_PASSWORD_CHARS {
        let from = match &source {
            PasswordSource::Env(name) => format!(" from `{name}`"),
            _ => String::new(),
        };
        return Err(Rejection::new(
            Code::InvalidValue,
            format!(
                "the password{from} has {length} characters; Authing refuses passwords shorter than {MIN_PASSWORD_CHARS} (error 2029)"
            ),
            "too short",
        )
        .help(format!(
            "use at least {MIN_PASSWORD_CHARS} characters, or leave the password out: a new user then gets a generated one"
        )));
    }
    Ok(Some((Password { secret, source }, literal)))
}

/// One setting that several files may declare, for [`Builder::conflict`].
pub(crate) struct Declared<'s> {
    /// How the value reads (`` `email` ``, "these settings").
    pub value: String,
    pub site: &'s Site,
}

/// Builds the desired state from the files, one after the other.
pub(crate) struct Builder<'a> {
    pub inputs: &'a [Input],
    pub env: &'a dyn Environment,
    pub problems: &'a mut Problems,
    pub match_on: MatchOn,
    match_on_site: Option<Site>,
    users: Vec<DesiredUser>,
    /// Per user: where its key is.
    user_sites: Vec<Site>,
    /// Where the `id` and `renamed_from` of a user (by position) are, for those that have one.
    identity_sites: HashMap<usize, (Option<Site>, Option<Site>)>,
    whitelist_enabled: Option<(bool, Origin, Site)>,
    phones: Option<Vec<(Phone, Origin)>>,
    phone_sites: Vec<Site>,
    prune: Option<(PruneSettings, Site)>,
    /// Per file: the first literal password and how many there are.
    literal_passwords: HashMap<usize, (Site, usize)>,
}

impl<'a> Builder<'a> {
    pub fn new(inputs: &'a [Input], env: &'a dyn Environment, problems: &'a mut Problems) -> Self {
        Self {
            inputs,
            env,
            problems,
            match_on: MatchOn::default(),
            match_on_site: None,
            users: Vec::new(),
            user_sites: Vec::new(),
            identity_sites: HashMap::new(),
            whitelist_enabled: None,
            phones: None,
            phone_sites: Vec::new(),
            prune: None,
            literal_passwords: HashMap::new(),
        }
    }

    /// Room for this many more users.
    pub fn reserve_users(&mut self, additional: usize) {
        self.users.reserve(additional);
        self.user_sites.reserve(additional);
    }

    /// The place of a site.
    pub fn place(&self, site: &Site, label: impl Into<Option<String>>) -> Place {
        let input = &self.inputs[site.input];
        let span = match &site.at {
            At::Span(span) => span.clone(),
            At::CsvCell { record, column } => super::csv::cell_span(&input.text, *record, *column),
            At::CsvRow { record } => super::csv::record_span(&input.text, *record),
        };
        input.place(span, label)
    }

    /// Reports a refused value at a site (narrowed to the part it names, when it can be found).
    pub fn reject(&mut self, site: &Site, rejection: Rejection) {
        let input = &self.inputs[site.input];
        let mut place = self.place(site, Some(rejection.label));
        if let Some(part) = &rejection.narrow {
            let span = place.span.offset()..place.span.offset() + place.span.len();
            if let Some(found) = input
                .text
                .get(span.clone())
                .and_then(|text| text.find(part))
            {
                let start = span.start + found;
                place = input.place(start..start + part.len(), place.label.clone());
            }
        }
        let mut diagnostic = ManifestDiagnostic::error(rejection.code, rejection.message).at(place);
        if let Some(help) = rejection.help {
            diagnostic = diagnostic.with_help(help);
        }
        self.problems.push(diagnostic);
    }

    /// The one diagnostic for a setting declared differently in two places: "conflicting
    /// `what`: X here, Y in file:line:column", with both places labelled.
    pub fn conflict(&mut self, what: &str, here: Declared<'_>, earlier: Declared<'_>, help: &str) {
        let earlier_place = self.place(earlier.site, Some(format!("{} here", earlier.value)));
        let place = self.place(here.site, Some(format!("{} here", here.value)));
        self.problems.push(
            ManifestDiagnostic::error(
                Code::Conflict,
                format!(
                    "conflicting {what}: {} here, {} in {}",
                    here.value,
                    earlier.value,
                    earlier_place.location()
                ),
            )
            .at(place)
            .also(earlier_place)
            .with_help(help),
        );
    }

    /// Sets `match_on` (read from a YAML manifest before any user).
    pub fn set_match_on(&mut self, match_on: MatchOn, site: Site) {
        match self.match_on_site.take() {
            None => {
                self.match_on = match_on;
                self.match_on_site = Some(site);
            }
            Some(earlier_site) => {
                if self.match_on != match_on {
                    let earlier = self.match_on;
                    self.conflict(
                        "`match_on`",
                        Declared {
                            value: format!("`{match_on}`"),
                            site: &site,
                        },
                        Declared {
                            value: format!("`{earlier}`"),
                            site: &earlier_site,
                        },
                        "all manifests must match users on the same field",
                    );
                }
                self.match_on_site = Some(earlier_site);
            }
        }
    }

    /// Adds a user whose values were all accepted, or reports that it has no key; `user` is
    /// left empty for the next one.
    pub fn add_user(&mut self, user: &mut PendingUser, origin: Origin, sites: UserSites) {
        let profile = user.profile.build();
        let Some(key) = UserKey::of(&profile, self.match_on) else {
            let field = self.match_on.as_str();
            let place = self.place(&sites.user, Some(format!("this user has no `{field}`")));
            let other = match self.match_on {
                MatchOn::Email => "username",
                MatchOn::Username => "email",
            };
            self.problems.push(
                ManifestDiagnostic::error(
                    Code::MissingKey,
                    format!("user without `{field}`: users are matched on `{field}`"),
                )
                .at(place)
                .with_help(format!(
                    "add `{field}` to the user, or match users on `{other}` with `match_on: {other}` in a YAML manifest"
                )),
            );
            user.clear();
            return;
        };
        let id = user.id.take();
        let mut renamed_from = user.renamed_from.take();
        if let Some(old) = &renamed_from {
            let site = sites.renamed_from.as_ref().unwrap_or(&sites.user);
            if *old == key {
                let field = self.match_on.as_str();
                let place = self.place(site, Some(format!("the user's own `{field}`")));
                self.problems.push(
                    ManifestDiagnostic::error(
                        Code::InvalidValue,
                        format!("`renamed_from` names the user's own `{field}` `{key}`"),
                    )
                    .at(place)
                    .with_help(format!(
                        "`renamed_from` is an earlier `{field}`; drop it once the rename is applied"
                    )),
                );
                renamed_from = None;
            } else if id.is_some() {
                let place = self.place(site, Some("`renamed_from` beside an `id`".to_string()));
                self.problems.push(
                    ManifestDiagnostic::error(
                        Code::Conflict,
                        "a user with an `id` takes no `renamed_from`",
                    )
                    .at(place)
                    .with_help(
                        "the `id` already finds the user whatever its key: drop `renamed_from`",
                    ),
                );
                renamed_from = None;
            }
        }
        if id.is_some() || renamed_from.is_some() {
            self.identity_sites
                .insert(self.users.len(), (sites.id, sites.renamed_from));
        }
        let identity = match (id, renamed_from) {
            (Some(id), _) => Some(Box::new(Identity::Id(id))),
            (None, Some(old)) => Some(Box::new(Identity::RenamedFrom(old))),
            (None, None) => None,
        };
        self.users.push(DesiredUser {
            key,
            profile,
            mfa: user.mfa.take(),
            password: user.password.take().map(Box::new),
            identity,
            origin,
        });
        self.user_sites.push(sites.key);
        user.clear();
    }

    pub fn add_phone(&mut self, phone: Phone, origin: Origin, site: Site) {
        self.phones
            .get_or_insert_with(Vec::new)
            .push((phone, origin));
        self.phone_sites.push(site);
    }

    /// Marks the whitelist as managed (a `phones` list, even an empty one).
    pub fn manage_phones(&mut self) {
        self.phones.get_or_insert_with(Vec::new);
    }

    /// Notes a password written literally; one warning per file is given at the end.
    pub fn literal_password(&mut self, site: &Site) {
        self.literal_passwords
            .entry(site.input)
            .or_insert_with(|| (site.clone(), 0))
            .1 += 1;
    }

    fn warn_literal_passwords(&mut self) {
        let mut files: Vec<(usize, (Site, usize))> = self.literal_passwords.drain().collect();
        files.sort_by_key(|(input, _)| *input);
        for (_, (site, count)) in files {
            let place = self.place(&site, Some("written in the manifest".to_string()));
            let message = if count == 1 {
                "a password is written literally in the manifest".to_string()
            } else {
                format!(
                    "{count} passwords are written literally in the manifest; the first is here"
                )
            };
            self.problems.push(
                ManifestDiagnostic::warning(Code::LiteralPassword, message)
                    .at(place)
                    .with_help(
                        "take passwords from the environment: `password: ${ALICE_INITIAL_PASSWORD}`",
                    ),
            );
        }
    }

    /// Sets the whitelist switch.
    pub fn set_whitelist_enabled(&mut self, enabled: bool, origin: Origin, site: Site) {
        match self.whitelist_enabled.take() {
            None => self.whitelist_enabled = Some((enabled, origin, site)),
            Some((earlier, earlier_origin, earlier_site)) => {
                if earlier != enabled {
                    self.conflict(
                        "`whitelist.enabled`",
                        Declared {
                            value: format!("`{enabled}`"),
                            site: &site,
                        },
                        Declared {
                            value: format!("`{earlier}`"),
                            site: &earlier_site,
                        },
                        "set the whitelist switch in one manifest only",
                    );
                }
                self.whitelist_enabled = Some((earlier, earlier_origin, earlier_site));
            }
        }
    }

    /// Sets the `prune` settings.
    pub fn set_prune(&mut self, settings: PruneSettings, site: Site) {
        match self.prune.take() {
            None => self.prune = Some((settings, site)),
            Some((earlier, earlier_site)) => {
                if !same_prune(&earlier, &settings) {
                    self.conflict(
                        "`prune`",
                        Declared {
                            value: "these settings".to_string(),
                            site: &site,
                        },
                        Declared {
                            value: "other settings".to_string(),
                            site: &earlier_site,
                        },
                        "set `prune` in one manifest only",
                    );
                }
                self.prune = Some((earlier, earlier_site));
            }
        }
    }

    /// Checks duplicates and assembles the state.
    pub fn finish(mut self) -> DesiredState {
        self.warn_literal_passwords();
        self.check_identities();
        self.check_unique_values();
        self.drop_duplicate_users();
        self.drop_duplicate_phones();
        let whitelist_enabled = self
            .whitelist_enabled
            .map(|(enabled, origin, _)| (enabled, origin));
        let whitelist =
            (whitelist_enabled.is_some() || self.phones.is_some()).then_some(DesiredWhitelist {
                enabled: whitelist_enabled,
                phones: self.phones,
            });
        DesiredState {
            match_on: self.match_on,
            users: self.users,
            whitelist,
            prune: self.prune.map(|(prune, _)| prune).unwrap_or_default(),
            sources: Vec::new(),
        }
    }

    /// Two users naming one `id`, or one `renamed_from`, are an error at the second.
    fn check_identities(&mut self) {
        if self.identity_sites.is_empty() {
            return;
        }
        let mut positions: Vec<usize> = self.identity_sites.keys().copied().collect();
        positions.sort_unstable();
        let mut ids: HashMap<UserId, usize> = HashMap::new();
        let mut earlier_keys: HashMap<UserKey, usize> = HashMap::new();
        for at in positions {
            let user = &self.users[at];
            if let Some(id) = user.id()
                && let Some(first) = ids.insert(id.clone(), at)
            {
                let message = format!("duplicate `id`: `{id}` is declared for two users");
                self.identity_twice(Code::DuplicateId, message, at, first, true);
            }
            let user = &self.users[at];
            if let Some(old) = user.renamed_from()
                && let Some(first) = earlier_keys.insert(old.clone(), at)
            {
                let message =
                    format!("duplicate `renamed_from`: two users were renamed from `{old}`");
                self.identity_twice(Code::DuplicateRename, message, at, first, false);
            }
        }
    }

    fn identity_twice(&mut self, code: Code, message: String, at: usize, first: usize, id: bool) {
        let site = |builder: &Self, position: usize| {
            let (id_site, renamed_site) = &builder.identity_sites[&position];
            let site = if id { id_site } else { renamed_site };
            site.clone()
                .unwrap_or_else(|| builder.user_sites[position].clone())
        };
        let earlier_place = self.place(&site(self, first), Some("first here".to_string()));
        let place = self.place(&site(self, at), Some("again here".to_string()));
        self.problems.push(
            ManifestDiagnostic::error(code, message)
                .at(place)
                .also(earlier_place.clone())
                .with_help(format!(
                    "first at {}; one live user can become only one declared user",
                    earlier_place.location()
                )),
        );
    }

    /// Two users (with different keys) given one username, email or phone, whichever is not the
    /// `match_on` key: a pool holds each once, so the plan could never carry both out. An error
    /// at the second naming the first, for every such pair at once. (The same key twice is
    /// [`Self::drop_duplicate_users`]'s.)
    fn check_unique_values(&mut self) {
        for field in [Field::Username, Field::Email, Field::Phone] {
            if field == self.match_on.field() {
                continue;
            }
            for (at, first) in shared_values(&self.users, field) {
                let value = self.users[at].profile.text(field).unwrap_or_default();
                let value = value.to_string();
                let (first_key, key) = (self.users[first].key.clone(), self.users[at].key.clone());
                let first_site = self.field_site(first, field);
                let site = self.field_site(at, field);
                let earlier_place = self.place(&first_site, Some(format!("`{first_key}` has it")));
                let place = self.place(&site, Some(format!("`{key}` has it too")));
                self.problems.push(
                    ManifestDiagnostic::error(
                        Code::DuplicateValue,
                        format!(
                            "the {field} `{value}` is given to two users: `{key}` here and `{first_key}` at {}",
                            earlier_place.location()
                        ),
                    )
                    .at(place)
                    .also(earlier_place)
                    .with_help(format!(
                        "a pool holds each {field} once{}: give each user its own",
                        match field {
                            Field::Phone => " (phones compare in normalised form)",
                            _ => " (compared case-insensitively)",
                        }
                    )),
                );
            }
        }
    }

    /// Where a user's value of `field` is written, found again from where its key is (the
    /// YAML file indexed once more, or the CSV header read again: this is the error path only);
    /// the key's place when it cannot be found.
    fn field_site(&self, user: usize, field: Field) -> Site {
        let key_site = &self.user_sites[user];
        let input = &self.inputs[key_site.input];
        let at = match &key_site.at {
            At::Span(span) => {
                let index = super::positions::PositionIndex::build(&input.text);
                let users = index.root().and_then(|root| root.get("users"));
                let found = (0..)
                    .map_while(|at| users.and_then(|users| users.item(at)))
                    .find(|item| item.span().contains(&span.start))
                    .and_then(|item| item.get(field.name()));
                found.map(|node| At::Span(node.span()))
            }
            At::CsvCell { record, .. } | At::CsvRow { record } => super::csv::column_position(
                &input.text,
                super::csv::Column::User(Attribute::Field(field)),
            )
            .map(|column| At::CsvCell {
                record: *record,
                column,
            }),
        };
        at.map_or_else(
            || key_site.clone(),
            |at| Site {
                input: key_site.input,
                at,
            },
        )
    }

    fn drop_duplicate_users(&mut self) {
        let duplicates = duplicate_keys(&self.users);
        if duplicates.is_empty() {
            return;
        }
        let field = self.match_on.as_str();
        for &(at, earlier) in &duplicates {
            let earlier_place = self.place(
                &self.user_sites[earlier],
                Some("first declared here".to_string()),
            );
            let place = self.place(
                &self.user_sites[at],
                Some("declared again here".to_string()),
            );
            let key = self.users[at].key.clone();
            self.problems.push(
                ManifestDiagnostic::error(
                    Code::DuplicateUser,
                    format!("duplicate user: `{field}` `{key}` is declared twice"),
                )
                .at(place)
                .also(earlier_place.clone())
                .with_help(format!(
                    "first declared at {}; keep one declaration{}",
                    earlier_place.location(),
                    match self.match_on {
                        MatchOn::Email => " (emails compare case-insensitively)",
                        MatchOn::Username => "",
                    }
                )),
            );
        }
        let drop: HashSet<usize> = duplicates.iter().map(|(at, _)| *at).collect();
        let mut at = 0;
        self.users.retain(|_| {
            let keep = !drop.contains(&at);
            at += 1;
            keep
        });
    }

    fn drop_duplicate_phones(&mut self) {
        let Some(phones) = &self.phones else { return };
        let mut first: HashMap<&Phone, usize> = HashMap::with_capacity(phones.len());
        let mut duplicates = Vec::new();
        for (at, (phone, _)) in phones.iter().enumerate() {
            if let Some(&earlier) = first.get(phone) {
                duplicates.push((at, earlier));
            } else {
                first.insert(phone, at);
            }
        }
        drop(first);
        if duplicates.is_empty() {
            return;
        }
        for &(at, earlier) in &duplicates {
            let earlier_place = self.place(
                &self.phone_sites[earlier],
                Some("first listed here".to_string()),
            );
            let place = self.place(&self.phone_sites[at], Some("listed again here".to_string()));
            let phone = self
                .phones
                .as_ref()
                .and_then(|phones| phones.get(at))
                .map(|(phone, _)| phone.to_string())
                .unwrap_or_default();
            self.problems.push(
                ManifestDiagnostic::warning(
                    Code::DuplicatePhone,
                    format!("whitelist phone `{phone}` is listed twice"),
                )
                .at(place)
                .also(earlier_place.clone())
                .with_help(format!(
                    "first listed at {}; phones compare in normalised form",
                    earlier_place.location()
                )),
            );
        }
        let drop: HashSet<usize> = duplicates.iter().map(|(at, _)| *at).collect();
        if let Some(phones) = &mut self.phones {
            let mut at = 0;
            phones.retain(|_| {
                let keep = !drop.contains(&at);
                at += 1;
                keep
            });
        }
    }
}

/// Every user whose key an earlier user has: (position, position of the first).
fn duplicate_keys(users: &[DesiredUser]) -> Vec<(usize, usize)> {
    repeats(
        users,
        |user| Some(Cow::Borrowed(user.key.as_str())),
        |_, _| true,
    )
}

/// Every user whose value of a unique `field` an earlier user with another key has: (position,
/// position of the first). Emails and usernames compare case-insensitively; phones are already
/// normalised. Empty values are no one's.
fn shared_values(users: &[DesiredUser], field: Field) -> Vec<(usize, usize)> {
    repeats(
        users,
        |user| {
            let value = user.profile.text(field)?.trim();
            (!value.is_empty()).then(|| crate::model::normalized_email(value))
        },
        |earlier, later| earlier.key != later.key,
    )
}

/// Every user whose `value` an earlier user has, where `counts(earlier, later)`: (position,
/// position of the first). Found by sorting (hash, position) pairs, 16 bytes a user, rather than
/// a map of every value, which for a million users would be the largest allocation of the whole
/// load; values are compared only within a group of equal hashes, so no hash need be unique.
fn repeats<'a>(
    users: &'a [DesiredUser],
    value: impl Fn(&'a DesiredUser) -> Option<Cow<'a, str>>,
    counts: impl Fn(&DesiredUser, &DesiredUser) -> bool,
) -> Vec<(usize, usize)> {
    use std::hash::BuildHasher;
    let hasher = hashbrown::DefaultHashBuilder::default();
    let mut hashed: Vec<(u64, u32)> = users
        .iter()
        .enumerate()
        .filter_map(|(at, user)| {
            let value = value(user)?;
            Some((
                hasher.hash_one(&*value),
                u32::try_from(at).unwrap_or(u32::MAX),
            ))
        })
        .collect();
    hashed.sort_unstable();
    let mut repeated = Vec::new();
    for group in hashed.chunk_by(|a, b| a.0 == b.0) {
        if group.len() == 1 {
            continue;
        }
        // Positions ascend within a group: each is compared with the earlier ones.
        for (index, &(_, at)) in group.iter().enumerate() {
            let user = &users[at as usize];
            let wanted = value(user);
            if let Some(&(_, first)) = group[..index].iter().find(|(_, earlier)| {
                let earlier = &users[*earlier as usize];
                counts(earlier, user) && value(earlier) == wanted
            }) {
                repeated.push((at as usize, first as usize));
            }
        }
    }
    repeated.sort_unstable();
    repeated
}

fn same_prune(a: &PruneSettings, b: &PruneSettings) -> bool {
    a.enabled == b.enabled
        && a.max_deletes == b.max_deletes
        && a.protect == b.protect
        && a.scope == b.scope
}
