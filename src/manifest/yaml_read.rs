//! Reading a parsed YAML manifest into the [`Builder`]: every value interpolated (`${NAME}`),
//! located by the position index, and handed to the format-neutral rules of `validate.rs`, as
//! `csv.rs` does for CSV. `yaml.rs` makes the [`YamlDocument`]; this module interprets it:
//! `match_on` (settled from every file before any user is read), `users`, `whitelist` and
//! `prune`.
//!
//! A number keeps its spelling as written (`phone: 0086138...`, `nickname: 1.50`): the source
//! text of a plain scalar is the value, not what YAML made of it.

use std::borrow::Cow;
use std::ops::Range;

use super::diagnostic::{Code, suggest};
use super::positions::Node;
use super::schema::{
    Attribute, RawFlag, RawPassword, RawPrune, RawText, RawUser, RawValue, RawWhitelist,
};
use super::source::Input;
use super::validate::{
    At, Builder, Format, PHONE_HELP, PendingUser, Rejection, Site, UserSites, expand, parse_flag,
    password, refuse_blank, set_value,
};
use super::yaml::{YamlDocument, head};
use crate::model::{MatchOn, MaxDeletes, Origin, Password, Pattern, Phone, PruneSettings};

/// Settles `match_on` from every YAML manifest before any user is read.
pub(crate) fn settle_match_on(builder: &mut Builder<'_>, documents: &[Option<YamlDocument>]) {
    for (position, document) in documents.iter().enumerate() {
        let Some(document) = document else { continue };
        let Some(raw) = &document.raw.match_on else {
            continue;
        };
        let inputs = builder.inputs;
        let input = &inputs[position];
        let root = document.index.root();
        let node = root.and_then(|root| root.get("match_on"));
        let site = Site {
            input: position,
            at: At::Span(node.or(root).map_or(0..0, Node::span)),
        };
        let text = yaml_text(input, raw, node);
        let value = match expand(&text, "match_on", builder.env) {
            Ok(value) => value.trim().to_ascii_lowercase(),
            Err(rejection) => {
                builder.reject(&site, rejection);
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
                builder.reject(&site, rejection);
                continue;
            }
        };
        builder.set_match_on(match_on, site);
    }
}

/// Adds a YAML manifest.
pub(crate) fn read(builder: &mut Builder<'_>, position: usize, document: YamlDocument) {
    let YamlDocument {
        raw,
        index,
        damaged_users,
    } = document;
    let inputs = builder.inputs;
    let input = &inputs[position];
    let root = index.root();
    let whole = root.map_or(0..0, |root| head(input, root));
    let site = |span: Range<usize>| Site {
        input: position,
        at: At::Span(span),
    };
    if let Some(users) = raw.users {
        let users_node = root.and_then(|root| root.get("users"));
        builder.reserve_users(users.len());
        let mut pending = PendingUser::default();
        for (at, user) in users.into_iter().enumerate() {
            let node = users_node.and_then(|users| users.item(at)).or(users_node);
            let line = node.map_or(1, |node| node.line());
            let user_site = site(node.map_or(whole.clone(), |node| head(input, node)));
            let field = |name: &str| node.and_then(|node| node.get(name));
            let field_site = |name: &str| {
                field(name).map_or_else(|| user_site.clone(), |node| site(node.span()))
            };
            let has_id = user.id.is_some();
            let has_renamed_from = user.renamed_from.is_some();
            if !read_user(builder, position, user, &mut pending, &field, &field_site) {
                pending.clear();
                continue;
            }
            if damaged_users.contains(&at) && !has_key(&pending, builder.match_on) {
                pending.clear();
                continue;
            }
            let sites = UserSites {
                user: user_site.clone(),
                key: field_site(builder.match_on.as_str()),
                id: has_id.then(|| field_site("id")),
                renamed_from: has_renamed_from.then(|| field_site("renamed_from")),
            };
            let origin = Origin::new(input.path.clone(), line);
            builder.add_user(&mut pending, origin, sites);
        }
    }
    if let Some(whitelist) = raw.whitelist {
        let node = root.and_then(|root| root.get("whitelist"));
        read_whitelist(builder, position, whitelist, node, whole.clone());
    }
    if let Some(prune) = raw.prune {
        let entry = root.and_then(|root| root.entry("prune"));
        read_prune(
            builder,
            position,
            prune,
            entry.map(|entry| (entry.key, entry.value)),
            whole,
        );
    }
}

/// Whether a pending user has a value for the `match_on` key.
pub(crate) fn has_key(pending: &PendingUser, match_on: MatchOn) -> bool {
    pending
        .profile
        .get_text(match_on.field())
        .is_some_and(|key| !key.trim().is_empty())
}

/// One YAML user into `pending`; `false` when a value was refused (reported).
fn read_user<'n>(
    builder: &mut Builder<'_>,
    position: usize,
    user: RawUser,
    pending: &mut PendingUser,
    field: &dyn Fn(&str) -> Option<Node<'n>>,
    field_site: &dyn Fn(&str) -> Site,
) -> bool {
    let inputs = builder.inputs;
    let input = &inputs[position];
    let mut ok = true;
    let texts = user
        .fields
        .into_iter()
        .map(|(field, value)| (Attribute::Field(field), value))
        .chain(user.id.map(|id| (Attribute::Id, RawValue::Text(id))))
        .chain(
            user.renamed_from
                .map(|old| (Attribute::RenamedFrom, RawValue::Text(old))),
        )
        .chain(user.mfa.map(|mfa| (Attribute::Mfa, RawValue::Flag(mfa))));
    for (attribute, raw) in texts {
        let name = attribute.name();
        let text_field = matches!(attribute, Attribute::Field(field) if !field.is_bool());
        let mut take = |value: &str| {
            refuse_blank(value, name, text_field, Format::Yaml)?;
            set_value(pending, attribute, value, builder.match_on)
        };
        let result = match &raw {
            RawValue::Text(raw) => {
                // The node is looked up only for a number, whose spelling it holds.
                let node = if raw.number { field(name) } else { None };
                let text = yaml_text(input, raw, node);
                expand(&text, name, builder.env).and_then(|value| take(&value))
            }
            RawValue::Flag(RawFlag::Bool(flag)) => take(if *flag { "true" } else { "false" }),
            RawValue::Flag(RawFlag::Text(text)) => {
                expand(text, name, builder.env).and_then(|value| take(&value))
            }
        };
        if let Err(rejection) = result {
            builder.reject(&field_site(name), rejection);
            ok = false;
        }
    }
    if let Some(raw) = user.password {
        let site = field_site("password");
        match yaml_password(builder, input, &raw, field("password")) {
            Ok(None) => {}
            Ok(Some((password, literal))) => {
                if literal {
                    builder.literal_password(&site);
                }
                pending.password = Some(password);
            }
            Err(rejection) => {
                builder.reject(&site, rejection);
                ok = false;
            }
        }
    }
    ok
}

fn yaml_password(
    builder: &Builder<'_>,
    input: &Input,
    raw: &RawPassword,
    node: Option<Node<'_>>,
) -> Result<Option<(Password, bool)>, Rejection> {
    match node.filter(|node| raw.number && node.is_plain_scalar()) {
        Some(node) => password(&input.text[node.span()], builder.env),
        None => {
            refuse_blank(raw.value.expose(), "password", false, Format::Yaml)?;
            password(raw.value.expose(), builder.env)
        }
    }
}

fn flag(builder: &Builder<'_>, raw: &RawFlag, field: &str) -> Result<Option<bool>, Rejection> {
    match raw {
        RawFlag::Bool(value) => Ok(Some(*value)),
        RawFlag::Text(text) => parse_flag(&expand(text, field, builder.env)?, field),
    }
}

fn read_whitelist(
    builder: &mut Builder<'_>,
    position: usize,
    whitelist: RawWhitelist,
    node: Option<Node<'_>>,
    whole: Range<usize>,
) {
    let inputs = builder.inputs;
    let input = &inputs[position];
    let site_of = |node: Option<Node<'_>>| Site {
        input: position,
        at: At::Span(node.map_or_else(|| whole.clone(), Node::span)),
    };
    if let Some(raw) = whitelist.enabled {
        let enabled_node = node.and_then(|node| node.get("enabled"));
        let site = site_of(enabled_node.or(node));
        match flag(builder, &raw, "enabled") {
            Ok(None) => {}
            Ok(Some(enabled)) => {
                let line = enabled_node.or(node).map_or(1, |node| node.line());
                let origin = Origin::new(input.path.clone(), line);
                builder.set_whitelist_enabled(enabled, origin, site);
            }
            Err(rejection) => builder.reject(&site, rejection),
        }
    }
    if let Some(phones) = whitelist.phones {
        builder.manage_phones();
        let list = node.and_then(|node| node.get("phones"));
        for (at, raw) in phones.into_iter().enumerate() {
            let Some(raw) = raw else { continue };
            let item = list.and_then(|list| list.item(at)).or(list).or(node);
            let site = site_of(item);
            let text = yaml_text(input, &raw, item);
            let parsed = expand(&text, "whitelist.phones", builder.env).and_then(|value| {
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
                    builder.add_phone(phone, Origin::new(input.path.clone(), line), site);
                }
                Err(rejection) => builder.reject(&site, rejection),
            }
        }
    }
}

fn read_prune(
    builder: &mut Builder<'_>,
    position: usize,
    prune: RawPrune,
    nodes: Option<(Node<'_>, Node<'_>)>,
    whole: Range<usize>,
) {
    let inputs = builder.inputs;
    let input = &inputs[position];
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
        match flag(builder, raw, "enabled") {
            Ok(value) => settings.enabled = value.unwrap_or(false),
            Err(rejection) => {
                builder.reject(&site_of(field("enabled").or(node)), rejection);
                ok = false;
            }
        }
    }
    if let Some(raw) = &prune.max_deletes {
        let value_node = field("max_deletes");
        let text = yaml_text(input, raw, value_node);
        let parsed = expand(&text, "max_deletes", builder.env).and_then(|value| {
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
                builder.reject(&site_of(value_node.or(node)), rejection);
                ok = false;
            }
        }
    }
    if let Some(raw) = &prune.protect {
        let list = field("protect");
        for (at, item) in raw.iter().enumerate() {
            let Some(item) = item else { continue };
            let item_node = list.and_then(|list| list.item(at)).or(list).or(node);
            match pattern(builder, input, item, item_node, "protect") {
                Ok(pattern) => settings.protect.push(pattern),
                Err(rejection) => {
                    builder.reject(&site_of(item_node), rejection);
                    ok = false;
                }
            }
        }
    }
    if let Some(raw) = &prune.scope {
        let value_node = field("scope");
        match pattern(builder, input, raw, value_node, "scope") {
            Ok(pattern) => settings.scope = Some(pattern),
            Err(rejection) => {
                builder.reject(&site_of(value_node.or(node)), rejection);
                ok = false;
            }
        }
    }
    if ok {
        builder.set_prune(settings, site_of(key.or(node)));
    }
}

fn pattern(
    builder: &Builder<'_>,
    input: &Input,
    raw: &RawText,
    node: Option<Node<'_>>,
    field: &str,
) -> Result<Pattern, Rejection> {
    let text = yaml_text(input, raw, node);
    let value = expand(&text, field, builder.env)?;
    Pattern::parse(&value).map_err(|err| {
        Rejection::new(
            Code::InvalidValue,
            format!("invalid pattern in `{field}`: {err}"),
            "not a pattern",
        )
    })
}

/// The text of a YAML value: for a number, its spelling in the source.
fn yaml_text<'t>(input: &'t Input, raw: &'t RawText, node: Option<Node<'_>>) -> Cow<'t, str> {
    match node.filter(|node| raw.number && node.is_plain_scalar()) {
        Some(node) => Cow::Borrowed(input.text[node.span()].trim()),
        None => Cow::Borrowed(raw.value.as_str()),
    }
}
