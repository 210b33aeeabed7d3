//! Raw manifests → one [`DesiredState`]: values interpolated, normalised through the model's
//! constructors, and merged across files.
//!
//! What a value means:
//!
//! - An omitted key, a YAML `null` and an empty CSV cell mean "not managed".
//! - An empty YAML string for a text field means "managed, and should be empty"; for a boolean
//!   or a password it means "not managed" (so `mfa: ${MFA:-}` can leave MFA alone, and
//!   `password: ${ALICE_INITIAL_PASSWORD:-}` is optional). Surrounding whitespace is trimmed from
//!   every value, passwords included.
//! - Booleans are `true`/`false`, `yes`/`no`, `1`/`0`, any case.
//!
//! How files merge:
//!
//! - Users are keyed by the `match_on` field (`email` unless a YAML file says otherwise; all YAML
//!   files that say must agree). A key declared twice, in one file or two, is an error at the
//!   second declaration naming the first. Users keep declaration order, files the order given.
//! - `prune` and `whitelist.enabled` may be set in one file (or identically in several).
//! - The whitelist is managed when some YAML file has `whitelist.phones` (even `[]`) or some CSV
//!   row has a `whitelist_phone`; the phones are the union, and a phone listed twice (after
//!   normalisation) is a warning naming both places.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::diagnostic::{Code, ManifestDiagnostic, Place, Problems, suggest};
use super::interpolate::{
    Environment, InterpolationErrorKind, has_reference, interpolate, required_references,
    whole_reference,
};
use super::positions::Node;
use super::schema::{RawFlag, RawPassword, RawPrune, RawText, RawUser, RawWhitelist};
use super::source::Input;
use super::yaml::{YamlDocument, head};
use crate::model::{
    DesiredState, DesiredUser, DesiredWhitelist, Email, Field, MIN_PASSWORD_CHARS, MatchOn,
    MaxDeletes, Origin, Password, PasswordSource, Pattern, Phone, Profile, PruneSettings, UserKey,
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

/// What a user declaration manages, before it has a key.
#[derive(Debug, Default)]
pub(crate) struct PendingUser {
    pub profile: Profile,
    pub mfa: Option<bool>,
    pub password: Option<Password>,
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
    fn new(code: Code, message: String, label: &str) -> Self {
        Self {
            code,
            message,
            label: label.to_string(),
            help: None,
            narrow: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
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

/// Sets a text field from an interpolated value.
pub(crate) fn set_text(user: &mut PendingUser, field: Field, value: &str) -> Result<(), Rejection> {
    let value = value.trim();
    let normalized = match field {
        Field::Email if !value.is_empty() => Email::parse(value)
            .map(|email| email.as_str().to_string())
            .map_err(|err| {
                Rejection::new(
                    Code::MalformedEmail,
                    format!("malformed `email`: {err}"),
                    "not an email address",
                )
            })?,
        Field::Phone if !value.is_empty() => Phone::parse(value)
            .map(|phone| phone.as_str().to_string())
            .map_err(|err| {
                Rejection::new(
                    Code::MalformedPhone,
                    format!("malformed `phone`: {err}"),
                    "not a phone number",
                )
                .help(PHONE_HELP)
            })?,
        _ => value.to_string(),
    };
    let profile = &mut user.profile;
    let slot = match field {
        Field::Email => &mut profile.email,
        Field::Username => &mut profile.username,
        Field::Nickname => &mut profile.nickname,
        Field::Company => &mut profile.company,
        Field::Photo => &mut profile.photo,
        Field::Phone => &mut profile.phone,
        Field::EmailVerified | Field::Blocked => return Ok(()),
    };
    *slot = Some(normalized);
    Ok(())
}

pub(crate) const PHONE_HELP: &str = "a phone is an 11-digit mainland mobile number, or `+`, the country code and the number (7 to 15 digits); spaces, dashes, dots and brackets are ignored";

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

/// Builds the desired state from the files, one after the other.
pub(crate) struct Builder<'a> {
    pub inputs: &'a [Input],
    pub env: &'a dyn Environment,
    pub problems: &'a mut Problems,
    pub match_on: MatchOn,
    users: Vec<DesiredUser>,
    user_sites: Vec<Site>,
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
            users: Vec::new(),
            user_sites: Vec::new(),
            whitelist_enabled: None,
            phones: None,
            phone_sites: Vec::new(),
            prune: None,
            literal_passwords: HashMap::new(),
        }
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

    /// Adds a user whose values were all accepted, or reports that it has no key.
    pub fn add_user(&mut self, user: PendingUser, origin: Origin, site: Site, key_site: Site) {
        let Some(key) = UserKey::of(&user.profile, self.match_on) else {
            let field = self.match_on.as_str();
            let place = self.place(&site, Some(format!("this user has no `{field}`")));
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
            return;
        };
        self.users.push(DesiredUser {
            key,
            profile: user.profile,
            mfa: user.mfa,
            password: user.password,
            origin,
        });
        self.user_sites.push(key_site);
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

    /// Settles `match_on` from every YAML manifest before any user is read.
    pub fn settle_match_on(&mut self, documents: &[Option<YamlDocument>]) {
        let mut first: Option<(MatchOn, Site)> = None;
        for (position, document) in documents.iter().enumerate() {
            let Some(document) = document else { continue };
            let Some(raw) = &document.raw.match_on else {
                continue;
            };
            let input = &self.inputs[position];
            let root = document.index.root();
            let node = root.and_then(|root| root.get("match_on"));
            let site = Site {
                input: position,
                at: At::Span(node.or(root).map_or(0..0, Node::span)),
            };
            let text = yaml_text(input, raw, node);
            let value = match expand(&text, "match_on", self.env) {
                Ok(value) => value.trim().to_ascii_lowercase(),
                Err(rejection) => {
                    self.reject(&site, rejection);
                    continue;
                }
            };
            let match_on = match value.as_str() {
                "email" => MatchOn::Email,
                "username" => MatchOn::Username,
                other => {
                    let mut rejection = Rejection::new(
                        Code::InvalidValue,
                        format!("invalid `match_on` value `{other}`"),
                        "expected `email` or `username`",
                    );
                    if let Some(close) = suggest(other, &["email", "username"]) {
                        rejection.message =
                            format!("invalid `match_on` value `{other}`, did you mean `{close}`?");
                    }
                    self.reject(&site, rejection);
                    continue;
                }
            };
            match &first {
                None => first = Some((match_on, site)),
                Some((earlier, _)) if *earlier == match_on => {}
                Some((earlier, earlier_site)) => {
                    let earlier_place =
                        self.place(earlier_site, Some(format!("`match_on: {earlier}` here")));
                    let place = self.place(&site, Some(format!("`match_on: {match_on}` here")));
                    self.problems.push(
                        ManifestDiagnostic::error(
                            Code::Conflict,
                            format!(
                                "conflicting `match_on`: `{match_on}` here, `{earlier}` in {}",
                                earlier_place.location()
                            ),
                        )
                        .at(place)
                        .also(earlier_place)
                        .with_help("all manifests must match users on the same field"),
                    );
                }
            }
        }
        if let Some((match_on, _)) = first {
            self.match_on = match_on;
        }
    }

    /// Adds a YAML manifest.
    pub fn yaml(&mut self, position: usize, document: YamlDocument) {
        let YamlDocument {
            raw,
            index,
            damaged_users,
        } = document;
        let input = &self.inputs[position];
        let root = index.root();
        let whole = root.map_or(0..0, |root| head(input, root));
        let site = |span: Range<usize>| Site {
            input: position,
            at: At::Span(span),
        };
        if let Some(users) = raw.users {
            let users_node = root.and_then(|root| root.get("users"));
            self.users.reserve(users.len());
            for (at, user) in users.into_iter().enumerate() {
                let node = users_node.and_then(|users| users.item(at)).or(users_node);
                let line = node.map_or(1, |node| node.line());
                let user_site = site(node.map_or(whole.clone(), |node| head(input, node)));
                let field = |name: &str| node.and_then(|node| node.get(name));
                let field_site = |name: &str| {
                    field(name).map_or_else(|| user_site.clone(), |node| site(node.span()))
                };
                let Some(pending) = self.yaml_user(position, user, &field, &field_site) else {
                    continue;
                };
                if damaged_users.contains(&at)
                    && UserKey::of(&pending.profile, self.match_on).is_none()
                {
                    continue;
                }
                let key_site = field_site(self.match_on.as_str());
                let origin = Origin::new(input.path.clone(), line);
                self.add_user(pending, origin, user_site, key_site);
            }
        }
        if let Some(whitelist) = raw.whitelist {
            let node = root.and_then(|root| root.get("whitelist"));
            self.yaml_whitelist(position, whitelist, node, whole.clone());
        }
        if let Some(prune) = raw.prune {
            let entry = root.and_then(|root| root.entry("prune"));
            self.yaml_prune(
                position,
                prune,
                entry.map(|entry| (entry.key, entry.value)),
                whole,
            );
        }
    }

    /// One YAML user; `None` when a value was refused (reported).
    fn yaml_user<'n>(
        &mut self,
        position: usize,
        user: RawUser,
        field: &dyn Fn(&str) -> Option<Node<'n>>,
        field_site: &dyn Fn(&str) -> Site,
    ) -> Option<PendingUser> {
        let input = &self.inputs[position];
        let mut pending = PendingUser::default();
        let mut ok = true;
        let texts = [
            (Field::Email, user.email),
            (Field::Username, user.username),
            (Field::Nickname, user.nickname),
            (Field::Company, user.company),
            (Field::Photo, user.photo),
            (Field::Phone, user.phone),
        ];
        for (name, raw) in texts {
            let Some(raw) = raw else { continue };
            // The node is looked up only for a number, whose spelling it holds.
            let node = if raw.number { field(name.name()) } else { None };
            let text = yaml_text(input, &raw, node);
            let result = expand(&text, name.name(), self.env)
                .and_then(|value| set_text(&mut pending, name, &value));
            if let Err(rejection) = result {
                self.reject(&field_site(name.name()), rejection);
                ok = false;
            }
        }
        let flags = [
            ("email_verified", user.email_verified),
            ("blocked", user.blocked),
            ("mfa", user.mfa),
        ];
        for (name, raw) in flags {
            let Some(raw) = raw else { continue };
            match self.flag(&raw, name) {
                Ok(value) => match name {
                    "email_verified" => pending.profile.email_verified = value,
                    "blocked" => pending.profile.blocked = value,
                    _ => pending.mfa = value,
                },
                Err(rejection) => {
                    self.reject(&field_site(name), rejection);
                    ok = false;
                }
            }
        }
        if let Some(raw) = user.password {
            let site = field_site("password");
            match self.yaml_password(input, &raw, field("password")) {
                Ok(None) => {}
                Ok(Some((password, literal))) => {
                    if literal {
                        self.literal_password(&site);
                    }
                    pending.password = Some(password);
                }
                Err(rejection) => {
                    self.reject(&site, rejection);
                    ok = false;
                }
            }
        }
        ok.then_some(pending)
    }

    fn yaml_password(
        &self,
        input: &Input,
        raw: &RawPassword,
        node: Option<Node<'_>>,
    ) -> Result<Option<(Password, bool)>, Rejection> {
        match node.filter(|node| raw.number && node.is_plain_scalar()) {
            Some(node) => password(&input.text[node.span()], self.env),
            None => password(raw.value.expose(), self.env),
        }
    }

    fn flag(&self, raw: &RawFlag, field: &str) -> Result<Option<bool>, Rejection> {
        match raw {
            RawFlag::Bool(value) => Ok(Some(*value)),
            RawFlag::Text(text) => parse_flag(&expand(text, field, self.env)?, field),
        }
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

    fn yaml_whitelist(
        &mut self,
        position: usize,
        whitelist: RawWhitelist,
        node: Option<Node<'_>>,
        whole: Range<usize>,
    ) {
        let input = &self.inputs[position];
        let site_of = |node: Option<Node<'_>>| Site {
            input: position,
            at: At::Span(node.map_or_else(|| whole.clone(), Node::span)),
        };
        if let Some(raw) = whitelist.enabled {
            let enabled_node = node.and_then(|node| node.get("enabled"));
            let site = site_of(enabled_node.or(node));
            match self.flag(&raw, "enabled") {
                Ok(None) => {}
                Ok(Some(enabled)) => {
                    let line = enabled_node.or(node).map_or(1, |node| node.line());
                    let origin = Origin::new(input.path.clone(), line);
                    self.set_whitelist_enabled(enabled, origin, site);
                }
                Err(rejection) => self.reject(&site, rejection),
            }
        }
        if let Some(phones) = whitelist.phones {
            self.manage_phones();
            let list = node.and_then(|node| node.get("phones"));
            for (at, raw) in phones.into_iter().enumerate() {
                let Some(raw) = raw else { continue };
                let item = list.and_then(|list| list.item(at)).or(list).or(node);
                let site = site_of(item);
                let text = yaml_text(input, &raw, item);
                let parsed = expand(&text, "whitelist.phones", self.env).and_then(|value| {
                    Phone::parse(&value).map_err(|err| {
                        Rejection::new(
                            Code::MalformedPhone,
                            format!("malformed phone in `whitelist.phones`: {err}"),
                            "not a phone number",
                        )
                        .help(PHONE_HELP)
                    })
                });
                match parsed {
                    Ok(phone) => {
                        let line = item.map_or(1, |item| item.line());
                        self.add_phone(phone, Origin::new(input.path.clone(), line), site);
                    }
                    Err(rejection) => self.reject(&site, rejection),
                }
            }
        }
    }

    fn set_whitelist_enabled(&mut self, enabled: bool, origin: Origin, site: Site) {
        match &self.whitelist_enabled {
            None => self.whitelist_enabled = Some((enabled, origin, site)),
            Some((earlier, _, _)) if *earlier == enabled => {}
            Some((earlier, _, earlier_site)) => {
                let earlier_place =
                    self.place(earlier_site, Some(format!("`enabled: {earlier}` here")));
                let place = self.place(&site, Some(format!("`enabled: {enabled}` here")));
                self.problems.push(
                    ManifestDiagnostic::error(
                        Code::Conflict,
                        format!(
                            "conflicting `whitelist.enabled`: `{enabled}` here, `{earlier}` in {}",
                            earlier_place.location()
                        ),
                    )
                    .at(place)
                    .also(earlier_place)
                    .with_help("set the whitelist switch in one manifest only"),
                );
            }
        }
    }

    fn yaml_prune(
        &mut self,
        position: usize,
        prune: RawPrune,
        nodes: Option<(Node<'_>, Node<'_>)>,
        whole: Range<usize>,
    ) {
        let input = &self.inputs[position];
        let (key, node) = match nodes {
            Some((key, node)) => (Some(key), Some(node)),
            None => (None, None),
        };
        let field = |name: &str| node.and_then(|node| node.get(name));
        let site_of = |node: Option<Node<'_>>| Site {
            input: position,
            at: At::Span(node.map_or_else(|| whole.clone(), Node::span)),
        };
        let mut ok = true;
        let mut settings = PruneSettings {
            origin: Some(Origin::new(
                input.path.clone(),
                key.or(node).map_or(1, |node| node.line()),
            )),
            ..PruneSettings::default()
        };
        if let Some(raw) = &prune.enabled {
            match self.flag(raw, "enabled") {
                Ok(value) => settings.enabled = value.unwrap_or(false),
                Err(rejection) => {
                    self.reject(&site_of(field("enabled").or(node)), rejection);
                    ok = false;
                }
            }
        }
        if let Some(raw) = &prune.max_deletes {
            let value_node = field("max_deletes");
            let text = yaml_text(input, raw, value_node);
            let parsed = expand(&text, "max_deletes", self.env).and_then(|value| {
                MaxDeletes::parse(&value).map_err(|err| {
                    Rejection::new(
                        Code::InvalidValue,
                        format!("invalid `max_deletes`: {err}"),
                        "not a deletion limit",
                    )
                })
            });
            match parsed {
                Ok(limit) => settings.max_deletes = Some(limit),
                Err(rejection) => {
                    self.reject(&site_of(value_node.or(node)), rejection);
                    ok = false;
                }
            }
        }
        if let Some(raw) = &prune.protect {
            let list = field("protect");
            for (at, item) in raw.iter().enumerate() {
                let Some(item) = item else { continue };
                let item_node = list.and_then(|list| list.item(at)).or(list).or(node);
                match self.pattern(input, item, item_node, "protect") {
                    Ok(pattern) => settings.protect.push(pattern),
                    Err(rejection) => {
                        self.reject(&site_of(item_node), rejection);
                        ok = false;
                    }
                }
            }
        }
        if let Some(raw) = &prune.scope {
            let value_node = field("scope");
            match self.pattern(input, raw, value_node, "scope") {
                Ok(pattern) => settings.scope = Some(pattern),
                Err(rejection) => {
                    self.reject(&site_of(value_node.or(node)), rejection);
                    ok = false;
                }
            }
        }
        if !ok {
            return;
        }
        let site = site_of(key.or(node));
        match &self.prune {
            None => self.prune = Some((settings, site)),
            Some((earlier, _)) if same_prune(earlier, &settings) => {}
            Some((_, earlier_site)) => {
                let earlier_place =
                    self.place(earlier_site, Some("first `prune` settings".to_string()));
                let place = self.place(&site, Some("different `prune` settings".to_string()));
                self.problems.push(
                    ManifestDiagnostic::error(
                        Code::Conflict,
                        format!(
                            "conflicting `prune` settings: also set differently in {}",
                            earlier_place.location()
                        ),
                    )
                    .at(place)
                    .also(earlier_place)
                    .with_help("set `prune` in one manifest only"),
                );
            }
        }
    }

    fn pattern(
        &self,
        input: &Input,
        raw: &RawText,
        node: Option<Node<'_>>,
        field: &str,
    ) -> Result<Pattern, Rejection> {
        let text = yaml_text(input, raw, node);
        let value = expand(&text, field, self.env)?;
        Pattern::parse(&value).map_err(|err| {
            Rejection::new(
                Code::InvalidValue,
                format!("invalid pattern in `{field}`: {err}"),
                "not a pattern",
            )
        })
    }

    /// Checks duplicates and assembles the state.
    pub fn finish(mut self) -> DesiredState {
        self.warn_literal_passwords();
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

    fn drop_duplicate_users(&mut self) {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(self.users.len());
        let mut duplicates = Vec::new();
        for (at, user) in self.users.iter().enumerate() {
            if let Some(&earlier) = first.get(user.key.as_str()) {
                duplicates.push((at, earlier));
            } else {
                first.insert(user.key.as_str(), at);
            }
        }
        drop(first);
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

/// The text of a YAML value: for a number, its spelling in the source.
fn yaml_text<'t>(input: &'t Input, raw: &'t RawText, node: Option<Node<'_>>) -> Cow<'t, str> {
    match node.filter(|node| raw.number && node.is_plain_scalar()) {
        Some(node) => Cow::Borrowed(input.text[node.span()].trim()),
        None => Cow::Borrowed(raw.value.as_str()),
    }
}

fn same_prune(a: &PruneSettings, b: &PruneSettings) -> bool {
    a.enabled == b.enabled
        && a.max_deletes == b.max_deletes
        && a.protect == b.protect
        && a.scope == b.scope
}
