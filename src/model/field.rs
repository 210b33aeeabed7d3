//! The one table of user fields, and what is derived from it: [`Field`] and its `ALL`, names on
//! the manifest and on the wire, how values are normalised, compared and masked, what `register`
//! and `updateUser` can write, and the compact [`Profile`] that holds a user's values.
//!
//! **Adding a field is one row** of `user_fields!` below (plus the README's field list): the
//! manifest readers (YAML keys, CSV columns), the writers (`export`), the wire decoding and the
//! `users`/`userPatch`/`register`/`updateUser` documents, the plan's renderers and masks, the
//! diff and the fingerprints all read the table. `tests/it/fields.rs` round-trips a value of
//! every row through YAML, CSV, plan, apply, export and plan again, so a place that forgets a
//! field fails a test rather than compiling silently.
//!
//! The columns of a row:
//!
//! - the variant and its manifest name (snake_case, in YAML and as a CSV column);
//! - the v1 wire name (Authing's camelCase in `ExtendUser`, `UserRegisterInput`,
//!   `UserUpdateInput` of the 2020 SDL);
//! - the v3 wire name in `UserDto` (`authing-v3-facts.md` §4.12), `None` where v3 has no such
//!   field. Two rows map by meaning rather than by name: `blocked` is v3's `status`
//!   (`true` ⇄ `Suspended`, `false` ⇄ `Activated`), and OIDC's `locality` is v3's `city`. v3's
//!   `gender` takes only `M`, `F` or `U`;
//! - the kind: text with its normaliser (`TEXT` trimmed, `EMAIL`, `PHONE`, `DATE`), or `BOOL`;
//! - whether `register` can set it (`UserRegisterInput` has no `emailVerified`,
//!   `phoneVerified` or `blocked`: those are written by an `updateUser` right after);
//! - whether `updateUser` can change it;
//! - whether it is personal data, masked by `--mask-pii`.
//!
//! Table order is the order of YAML keys, CSV columns and plan rows.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{emails_equal, normalize_gender, normalized_phone};

/// How a text value is read and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Normalizer {
    /// Surrounding whitespace is dropped; compared exactly.
    Trim,
    /// A checked email address ([`super::Email::parse`]). Written in the declared spelling;
    /// as a user key it compares case-insensitively.
    Email,
    /// A checked phone number ([`super::Phone::parse`]), compared in normalised form.
    Phone,
    /// A calendar date ([`check_date`]): `YYYY-MM-DD`, or an RFC 3339 timestamp whose date is
    /// one (what an API that keeps a date-time returns). Compared exactly, like [`Self::Trim`].
    Date,
}

/// Whether `text` is a date as [`Normalizer::Date`] reads it; the error says what is wrong.
pub fn check_date(text: &str) -> Result<(), &'static str> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range.clone())
            .filter(|part| part.iter().all(u8::is_ascii_digit))
            .and_then(|_| text.get(range))
            .and_then(|part| part.parse::<i16>().ok())
    };
    let shape = bytes.len() >= 10 && bytes[4] == b'-' && bytes[7] == b'-';
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err("not a date in the form YYYY-MM-DD");
    };
    if !shape {
        return Err("not a date in the form YYYY-MM-DD");
    }
    let Ok(month) = i8::try_from(month) else {
        return Err("no such month");
    };
    let Ok(day) = i8::try_from(day) else {
        return Err("no such day in that month");
    };
    if !(1..=12).contains(&month) {
        return Err("no such month");
    }
    if jiff::civil::Date::new(year, month, day).is_err() {
        return Err("no such day in that month");
    }
    match &text[10..] {
        "" => Ok(()),
        time if time.starts_with(['T', 't']) => text
            .parse::<jiff::Timestamp>()
            .map(|_| ())
            .map_err(|_| "a date followed by something that is not an RFC 3339 time"),
        _ => Err("not a date in the form YYYY-MM-DD"),
    }
}

/// What kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Text(Normalizer),
    Bool,
}

const TEXT: Kind = Kind::Text(Normalizer::Trim);
const EMAIL: Kind = Kind::Text(Normalizer::Email);
const PHONE: Kind = Kind::Text(Normalizer::Phone);
const DATE: Kind = Kind::Text(Normalizer::Date);
const BOOL: Kind = Kind::Bool;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The name in manifests (YAML key, CSV column) and plans.
    pub name: &'static str,
    /// The name in Authing's v1 GraphQL API.
    pub v1: &'static str,
    /// The name in v3's `UserDto`, if v3 has the field.
    pub v3: Option<&'static str>,
    pub kind: Kind,
    /// `register` (`UserRegisterInput`) can set it.
    pub registrable: bool,
    /// `updateUser` (`UserUpdateInput`) can change it.
    pub updatable: bool,
    /// Personal data: masked by `--mask-pii`.
    pub personal: bool,
}

macro_rules! user_fields {
    ($(
        $(#[$doc:meta])*
        $variant:ident: $name:literal, $v1:literal, $v3:expr, $kind:expr,
            register $register:literal, update $update:literal, personal $personal:literal;
    )*) => {
        /// A profile field that a manifest can manage. MFA and passwords are not profile
        /// fields: MFA is its own object on the wire, and a password is only ever written at
        /// creation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Field {
            $( $(#[$doc])* $variant, )*
        }

        impl Field {
            /// How many fields the table has.
            pub const COUNT: usize = [$($name),*].len();

            /// Every field, in table order.
            pub const ALL: [Field; Field::COUNT] = [$(Field::$variant),*];

            const SPECS: [Spec; Field::COUNT] = [$(
                Spec {
                    name: $name,
                    v1: $v1,
                    v3: $v3,
                    kind: $kind,
                    registrable: $register,
                    updatable: $update,
                    personal: $personal,
                }
            ),*];

            /// The field with this v1 wire name (a `match`: every key of every user read is
            /// looked up here).
            pub fn from_wire_name(name: &str) -> Option<Field> {
                match name {
                    $($v1 => Some(Field::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

user_fields! {
    // variant:     manifest name,        v1 wire name,        v3 wire name,                kind,
    //                  register, update, personal;
    Email:             "email",              "email",             Some("email"),               EMAIL,
        register true,  update true, personal true;
    Username:          "username",           "username",          Some("username"),            TEXT,
        register true,  update true, personal true;
    Nickname:          "nickname",           "nickname",          Some("nickname"),            TEXT,
        register true,  update true, personal true;
    Company:           "company",            "company",           Some("company"),             TEXT,
        register true,  update true, personal false;
    Photo:             "photo",              "photo",             Some("photo"),               TEXT,
        register true,  update true, personal true;
    Phone:             "phone",              "phone",             Some("phone"),               PHONE,
        register true,  update true, personal true;
    EmailVerified:     "email_verified",     "emailVerified",     Some("emailVerified"),       BOOL,
        register false, update true, personal false;
    PhoneVerified:     "phone_verified",     "phoneVerified",     Some("phoneVerified"),       BOOL,
        register false, update true, personal false;
    /// v3 has no flag: `status` `Suspended` is blocked, `Activated` is not.
    Blocked:           "blocked",            "blocked",           Some("status"),              BOOL,
        register false, update true, personal false;
    Name:              "name",               "name",              Some("name"),                TEXT,
        register true,  update true, personal true;
    GivenName:         "given_name",         "givenName",         Some("givenName"),           TEXT,
        register true,  update true, personal true;
    FamilyName:        "family_name",        "familyName",        Some("familyName"),          TEXT,
        register true,  update true, personal true;
    MiddleName:        "middle_name",        "middleName",        Some("middleName"),          TEXT,
        register true,  update true, personal true;
    PreferredUsername: "preferred_username", "preferredUsername", Some("preferredUsername"),   TEXT,
        register true,  update true, personal true;
    Profile:           "profile",            "profile",           Some("profile"),             TEXT,
        register true,  update true, personal true;
    Website:           "website",            "website",           Some("website"),             TEXT,
        register true,  update true, personal true;
    /// v3 takes only `M`, `F` or `U`; a one-letter value is read in upper case for both APIs
    /// (`super::normalize_gender`).
    Gender:            "gender",             "gender",            Some("gender"),              TEXT,
        register true,  update true, personal true;
    /// A calendar date, `YYYY-MM-DD` (OIDC's `birthdate`).
    Birthdate:         "birthdate",          "birthdate",         Some("birthdate"),           DATE,
        register true,  update true, personal true;
    Zoneinfo:          "zoneinfo",           "zoneinfo",          Some("zoneinfo"),            TEXT,
        register true,  update true, personal false;
    Locale:            "locale",             "locale",            Some("locale"),              TEXT,
        register true,  update true, personal false;
    Address:           "address",            "address",           Some("address"),             TEXT,
        register true,  update true, personal true;
    StreetAddress:     "street_address",     "streetAddress",     Some("streetAddress"),       TEXT,
        register true,  update true, personal true;
    /// OIDC's locality is the city: v3 calls it `city`.
    Locality:          "locality",           "locality",          Some("city"),                TEXT,
        register true,  update true, personal true;
    Region:            "region",             "region",            Some("region"),              TEXT,
        register true,  update true, personal true;
    PostalCode:        "postal_code",        "postalCode",        Some("postalCode"),          TEXT,
        register true,  update true, personal true;
    Country:           "country",            "country",           Some("country"),             TEXT,
        register true,  update true, personal true;
}

/// A profile's presence and boolean bits are one `u32`.
const _: () = assert!(
    Field::COUNT <= 32,
    "a Profile keeps one bit per field in a u32: widen `Bits` to u64"
);

type Bits = u32;

const fn bit(field: Field) -> Bits {
    1 << field as u8
}

/// The bits of the text fields.
const TEXT_BITS: Bits = {
    let mut bits = 0;
    let mut at = 0;
    while at < Field::COUNT {
        if !matches!(Field::SPECS[at].kind, Kind::Bool) {
            bits |= 1 << at;
        }
        at += 1;
    }
    bits
};

impl Field {
    /// The field's row.
    pub const fn spec(self) -> &'static Spec {
        &Field::SPECS[self as usize]
    }

    /// The name in manifests and plans.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The field with this manifest name.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.name() == name)
    }

    /// The name on Authing's v1 wire (camelCase).
    pub const fn wire_name(self) -> &'static str {
        self.spec().v1
    }

    /// The name in v3's `UserDto`, if v3 has the field.
    pub const fn v3_name(self) -> Option<&'static str> {
        self.spec().v3
    }

    pub const fn kind(self) -> Kind {
        self.spec().kind
    }

    pub const fn is_bool(self) -> bool {
        matches!(self.kind(), Kind::Bool)
    }

    /// The normaliser of a text field; `None` for a boolean.
    pub const fn normalizer(self) -> Option<Normalizer> {
        match self.kind() {
            Kind::Text(normalizer) => Some(normalizer),
            Kind::Bool => None,
        }
    }

    /// Whether `updateUser` can change the field.
    pub const fn updatable(self) -> bool {
        self.spec().updatable
    }

    /// Whether `register` can set the field; those it cannot are set by an `updateUser` right
    /// after the registration.
    pub const fn registrable(self) -> bool {
        self.spec().registrable
    }

    /// Whether the field is personal data (masked by `--mask-pii`).
    pub const fn personal(self) -> bool {
        self.spec().personal
    }

    /// The manifest names of every field, in table order.
    pub const NAMES: [&'static str; Field::COUNT] = {
        let mut names = [""; Field::COUNT];
        let mut at = 0;
        while at < Field::COUNT {
            names[at] = Field::SPECS[at].name;
            at += 1;
        }
        names
    };
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Field::from_name(&name)
            .ok_or_else(|| serde::de::Error::unknown_variant(&name, &Field::NAMES))
    }
}

/// A borrowed field value, for comparing without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FieldRef<'a> {
    Text(&'a str),
    Bool(bool),
}

impl FieldRef<'_> {
    pub fn to_owned(self) -> FieldValue {
        match self {
            FieldRef::Text(text) => FieldValue::Text(text.to_string()),
            FieldRef::Bool(value) => FieldValue::Bool(value),
        }
    }
}

impl fmt::Debug for FieldRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Text(text) => fmt::Debug::fmt(text, f),
            FieldRef::Bool(value) => fmt::Debug::fmt(value, f),
        }
    }
}

/// An owned field value, as plans carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Bool(bool),
    Text(String),
}

impl FieldValue {
    /// The text of a text value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(text) => Some(text),
            FieldValue::Bool(_) => None,
        }
    }

    pub fn as_ref(&self) -> FieldRef<'_> {
        match self {
            FieldValue::Text(text) => FieldRef::Text(text),
            FieldValue::Bool(value) => FieldRef::Bool(*value),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(text: &str) -> Self {
        FieldValue::Text(text.to_string())
    }
}

impl From<String> for FieldValue {
    fn from(text: String) -> Self {
        FieldValue::Text(text)
    }
}

impl From<bool> for FieldValue {
    fn from(value: bool) -> Self {
        FieldValue::Bool(value)
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text(text) => f.write_str(text),
            FieldValue::Bool(value) => write!(f, "{value}"),
        }
    }
}

/// The profile fields of one user. In a desired user an absent field means "not managed"; in a
/// live user it means the pool holds no value.
///
/// Compact, because a plan may hold a million of them on each side: one bit per field says
/// whether it has a value, one bit per boolean holds it, and the text values present are one
/// string: the texts in table order, then where each ends, seven bits to a byte so that the
/// whole stays a `str` (see [`end_width`]). A user with four short texts costs the 24 bytes of
/// the struct and one small allocation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Profile {
    present: Bits,
    flags: Bits,
    /// The texts, then their ends; empty when no text field has a value.
    data: Box<str>,
}

/// Bits of an end held by one byte of [`Profile::data`]: ASCII, so the ends are text too.
const END_BITS: u32 = 7;

/// How many bytes each end takes after `texts` bytes of text: the fewest that hold `texts`
/// seven bits to a byte (one when the texts are shorter than 128 bytes in all, as nearly every
/// user's are; five hold any `u32`).
const fn end_width(texts: usize) -> usize {
    let mut width = 1;
    while width < 5 && texts >> (END_BITS as usize * width) != 0 {
        width += 1;
    }
    width
}

/// The width of the ends of `data` holding `count` texts: the inverse of [`end_width`]. With
/// `count` ends of width `w`, `length - count * w` is the text length, and the smallest width
/// that fits it is the one [`end_width`] chose: a wider width leaves more text than a narrower
/// one could hold.
fn stored_width(length: usize, count: usize) -> usize {
    (1..5)
        .find(|&width| end_width(length.saturating_sub(count * width)) == width)
        .unwrap_or(5)
}

impl Profile {
    /// The value of a field, if it has one.
    pub fn get(&self, field: Field) -> Option<FieldRef<'_>> {
        let bit = bit(field);
        if self.present & bit == 0 {
            return None;
        }
        if field.is_bool() {
            return Some(FieldRef::Bool(self.flags & bit != 0));
        }
        self.text_at(self.rank(bit)).map(FieldRef::Text)
    }

    /// The value of a text field, if it has one.
    pub fn text(&self, field: Field) -> Option<&str> {
        match self.get(field)? {
            FieldRef::Text(text) => Some(text),
            FieldRef::Bool(_) => None,
        }
    }

    /// The value of a boolean field, if it has one.
    pub fn flag(&self, field: Field) -> Option<bool> {
        match self.get(field)? {
            FieldRef::Bool(value) => Some(value),
            FieldRef::Text(_) => None,
        }
    }

    /// Whether the field has a value.
    pub fn has(&self, field: Field) -> bool {
        self.present & bit(field) != 0
    }

    /// Sets or clears a field; a value of the wrong kind for the field clears it. Rebuilds the
    /// text storage: to build a profile of several fields, use a [`ProfileBuilder`].
    pub fn set(&mut self, field: Field, value: Option<FieldValue>) {
        let mut builder = ProfileBuilder::default();
        for (other, current) in self.fields() {
            if other != field {
                builder.set(other, current);
            }
        }
        if let Some(value) = &value {
            builder.set(field, value.as_ref());
        }
        *self = builder.build();
    }

    /// The profile with one more value (for building profiles in tests and small tools).
    pub fn with(mut self, field: Field, value: impl Into<FieldValue>) -> Profile {
        self.set(field, Some(value.into()));
        self
    }

    /// The fields that hold a value, in table order.
    pub fn fields(&self) -> impl Iterator<Item = (Field, FieldRef<'_>)> + '_ {
        // One walk over the bits that are set, the texts' ends read in order: a million
        // profiles compared field by field cost a few steps each, not a lookup per field of the
        // table.
        let mut remaining = self.present;
        let mut rank = 0;
        std::iter::from_fn(move || {
            while remaining != 0 {
                let at = remaining.trailing_zeros() as usize;
                remaining &= remaining - 1;
                let field = *Field::ALL.get(at)?;
                if field.is_bool() {
                    return Some((field, FieldRef::Bool(self.flags & bit(field) != 0)));
                }
                rank += 1;
                if let Some(text) = self.text_at(rank - 1) {
                    return Some((field, FieldRef::Text(text)));
                }
            }
            None
        })
    }

    /// Whether no field holds a value.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// Position of a text field's value among the text values present.
    fn rank(&self, bit: Bits) -> usize {
        (self.present & TEXT_BITS & (bit - 1)).count_ones() as usize
    }

    fn text_at(&self, rank: usize) -> Option<&str> {
        let count = (self.present & TEXT_BITS).count_ones() as usize;
        let width = stored_width(self.data.len(), count);
        let texts = self.data.len().checked_sub(count * width)?;
        let end = |rank: usize| -> Option<usize> {
            let at = texts + rank * width;
            let bytes = self.data.as_bytes().get(at..at + width)?;
            Some(
                bytes
                    .iter()
                    .rev()
                    .fold(0, |end, byte| end << END_BITS | usize::from(*byte)),
            )
        };
        let stop = end(rank)?;
        let start = match rank {
            0 => 0,
            _ => end(rank - 1)?,
        };
        self.data.get(start..stop)
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.fields().map(|(field, value)| (field.name(), value)))
            .finish()
    }
}

impl FromIterator<(Field, FieldValue)> for Profile {
    fn from_iter<I: IntoIterator<Item = (Field, FieldValue)>>(values: I) -> Self {
        let mut builder = ProfileBuilder::default();
        for (field, value) in values {
            builder.set(field, value.as_ref());
        }
        builder.build()
    }
}

/// Collects the values of one profile in any order, then makes the [`Profile`] with exactly
/// sized storage. Reusable: [`clear`](Self::clear) keeps its buffers, so reading a million rows
/// costs no allocation here beyond each profile's own.
#[derive(Debug, Clone, Default)]
pub struct ProfileBuilder {
    present: Bits,
    flags: Bits,
    /// The text values as they came.
    buffer: String,
    /// Per text value: its field, and where it is in `buffer`.
    spans: Vec<(Field, u32, u32)>,
}

impl ProfileBuilder {
    pub fn clear(&mut self) {
        self.present = 0;
        self.flags = 0;
        self.buffer.clear();
        self.spans.clear();
    }

    /// Whether the field was given a value.
    pub fn has(&self, field: Field) -> bool {
        self.present & bit(field) != 0
    }

    /// Whether no value was given.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// Sets a text field; a later value for the same field replaces an earlier one.
    pub fn text(&mut self, field: Field, value: &str) {
        if field.is_bool() {
            return;
        }
        self.forget(field);
        let start = self.buffer.len();
        self.buffer.push_str(value);
        self.spans
            .push((field, to_u32(start), to_u32(self.buffer.len())));
        self.present |= bit(field);
    }

    /// Sets a boolean field.
    pub fn flag(&mut self, field: Field, value: bool) {
        if !field.is_bool() {
            return;
        }
        self.present |= bit(field);
        if value {
            self.flags |= bit(field);
        } else {
            self.flags &= !bit(field);
        }
    }

    /// Sets a field from a value of either kind (a value of the wrong kind is ignored).
    pub fn set(&mut self, field: Field, value: FieldRef<'_>) {
        match value {
            FieldRef::Text(text) => self.text(field, text),
            FieldRef::Bool(flag) => self.flag(field, flag),
        }
    }

    /// The text given for a field, if any.
    pub fn get_text(&self, field: Field) -> Option<&str> {
        self.spans
            .iter()
            .find(|(at, _, _)| *at == field)
            .and_then(|(_, start, end)| self.buffer.get(*start as usize..*end as usize))
    }

    fn forget(&mut self, field: Field) {
        if self.present & bit(field) != 0 {
            self.spans.retain(|(at, _, _)| *at != field);
        }
    }

    /// The profile; the builder keeps its values (call [`clear`](Self::clear) to reuse it).
    pub fn build(&self) -> Profile {
        let mut order: Vec<(Field, u32, u32)>;
        let spans: &[(Field, u32, u32)] = if self.spans.is_sorted_by_key(|(field, _, _)| *field) {
            &self.spans
        } else {
            order = self.spans.clone();
            order.sort_by_key(|(field, _, _)| *field);
            &order
        };
        let length: usize = spans
            .iter()
            .map(|(_, start, end)| (end - start) as usize)
            .sum();
        let width = end_width(length);
        let mut data = String::with_capacity(length + spans.len() * width);
        for (_, start, end) in spans {
            data.push_str(
                self.buffer
                    .get(*start as usize..*end as usize)
                    .unwrap_or_default(),
            );
        }
        let mut end = 0;
        for (_, start, stop) in spans {
            end += (stop - start) as usize;
            for byte in 0..width {
                let bits = (end >> (END_BITS as usize * byte)) & 0x7f;
                // Seven bits: always an ASCII character.
                data.push(char::from(bits as u8));
            }
        }
        Profile {
            present: self.present,
            flags: self.flags,
            data: data.into_boxed_str(),
        }
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Whether a desired value is already what the pool holds, under the field's normaliser.
/// `live` is `None` when the pool holds no value, which equals an empty desired text. An email
/// compares exactly (after trimming): a change of letter case is written, since the declared
/// spelling is what the pool should hold; as a user key, it still matches case-insensitively.
pub fn field_matches(field: Field, desired: FieldRef<'_>, live: Option<FieldRef<'_>>) -> bool {
    match (desired, live) {
        (FieldRef::Bool(want), Some(FieldRef::Bool(have))) => want == have,
        // A flag the pool does not report reads as `false`, Authing's default.
        (FieldRef::Bool(want), None) => !want,
        (FieldRef::Text(want), have) => {
            let have = match have {
                Some(FieldRef::Text(have)) => have,
                _ => "",
            };
            match field.normalizer() {
                Some(Normalizer::Phone) => normalized_phone(want) == normalized_phone(have),
                Some(Normalizer::Email) if !emails_equal(want, have) => false,
                // `m` (another tool's spelling) is the `M` a manifest declares.
                _ if field == Field::Gender => normalize_gender(want) == normalize_gender(have),
                _ => want.trim() == have.trim(),
            }
        }
        (FieldRef::Bool(_), Some(FieldRef::Text(_))) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_calendar_dates_or_rfc3339_times_on_one() {
        for good in [
            "1990-04-01",
            "2000-02-29",
            "1985-12-31T08:00:00.000Z",
            "1985-12-31T08:00:00+08:00",
        ] {
            assert_eq!(check_date(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("1990-02-30", "no such day in that month"),
            ("1900-02-29", "no such day in that month"),
            ("1990-13-01", "no such month"),
            ("1990-00-10", "no such month"),
            ("1990/04/01", "not a date in the form YYYY-MM-DD"),
            ("1990-4-1", "not a date in the form YYYY-MM-DD"),
            ("01.04.1990", "not a date in the form YYYY-MM-DD"),
            ("April 1st", "not a date in the form YYYY-MM-DD"),
            ("1990-04-01 ", "not a date in the form YYYY-MM-DD"),
            ("1990-04-01x", "not a date in the form YYYY-MM-DD"),
            (
                "1990-04-01T25:00:00Z",
                "a date followed by something that is not an RFC 3339 time",
            ),
            ("１９９０-04-01", "not a date in the form YYYY-MM-DD"),
        ] {
            assert_eq!(check_date(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn the_table_is_consistent() {
        let mut names = std::collections::HashSet::new();
        let mut wire = std::collections::HashSet::new();
        for (at, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(field as usize, at);
            assert!(names.insert(field.name()), "{field} twice");
            assert!(
                wire.insert(field.wire_name()),
                "{} twice",
                field.wire_name()
            );
            assert_eq!(Field::from_name(field.name()), Some(field));
            assert_eq!(Field::from_wire_name(field.wire_name()), Some(field));
            assert_eq!(Field::NAMES[at], field.name());
            // snake_case manifest names, camelCase wire names of the same words.
            assert!(
                field
                    .name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
            let camel: String = field
                .name()
                .split('_')
                .enumerate()
                .map(|(i, word)| {
                    if i == 0 {
                        word.to_string()
                    } else {
                        word[..1].to_uppercase() + &word[1..]
                    }
                })
                .collect();
            assert_eq!(camel, field.wire_name(), "{field}");
            // Every boolean of UserUpdateInput is a flag only updateUser writes.
            if field.is_bool() {
                assert!(!field.registrable(), "{field}");
            }
        }
        assert_eq!(Field::COUNT, 26);
    }

    /// `register`, `updateUser` and the user types of Authing's 2020 SDL (beside the repository,
    /// as the emulator's schema test reads it) agree with the table's columns.
    #[test]
    fn registrable_and_updatable_follow_the_2020_sdl() {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/spec/authing-v1-schema-2020.graphql"
        );
        let Ok(sdl) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is not there");
            return;
        };
        let document = async_graphql::parser::parse_schema(sdl).expect("the SDL parses");
        let fields = |name: &str| -> Vec<(String, String)> {
            document
                .definitions
                .iter()
                .filter_map(|definition| match definition {
                    TypeSystemDefinition::Type(definition) if definition.node.name.node == name => {
                        Some(match &definition.node.kind {
                            TypeKind::Object(object) => object
                                .fields
                                .iter()
                                .map(|field| {
                                    (
                                        field.node.name.node.to_string(),
                                        field.node.ty.node.to_string(),
                                    )
                                })
                                .collect::<Vec<_>>(),
                            TypeKind::InputObject(input) => input
                                .fields
                                .iter()
                                .map(|field| {
                                    (
                                        field.node.name.node.to_string(),
                                        field.node.ty.node.to_string(),
                                    )
                                })
                                .collect(),
                            _ => Vec::new(),
                        })
                    }
                    _ => None,
                })
                .flatten()
                .collect()
        };
        let register = fields("UserRegisterInput");
        let update = fields("UserUpdateInput");
        let user = fields("ExtendUser");
        assert!(!register.is_empty() && !update.is_empty() && !user.is_empty());
        for field in Field::ALL {
            let expected = if field.is_bool() { "Boolean" } else { "String" };
            let has = |list: &[(String, String)]| {
                list.iter()
                    .find(|(name, _)| name == field.wire_name())
                    .map(|(_, ty)| ty.clone())
            };
            assert_eq!(has(&user).as_deref(), Some(expected), "{field}: ExtendUser");
            assert_eq!(
                has(&update).is_some(),
                field.updatable(),
                "{field}: UserUpdateInput"
            );
            assert_eq!(
                has(&register).is_some(),
                field.registrable(),
                "{field}: UserRegisterInput"
            );
            if let Some(ty) = has(&update).as_deref() {
                assert_eq!(ty, expected, "{field}: UserUpdateInput");
            }
        }
    }

    #[test]
    fn a_profile_keeps_values_of_both_kinds_in_any_order() {
        let mut builder = ProfileBuilder::default();
        builder.text(Field::Phone, "13800000000");
        builder.flag(Field::Blocked, true);
        builder.text(Field::Email, "a@b.cn");
        builder.text(Field::Nickname, "");
        builder.flag(Field::EmailVerified, false);
        builder.text(Field::Phone, "13900000000");
        let profile = builder.build();
        assert_eq!(profile.text(Field::Email), Some("a@b.cn"));
        assert_eq!(profile.text(Field::Phone), Some("13900000000"));
        assert_eq!(profile.text(Field::Nickname), Some(""));
        assert_eq!(profile.text(Field::Company), None);
        assert_eq!(profile.flag(Field::Blocked), Some(true));
        assert_eq!(profile.flag(Field::EmailVerified), Some(false));
        assert_eq!(profile.flag(Field::PhoneVerified), None);
        let order: Vec<Field> = profile.fields().map(|(field, _)| field).collect();
        assert_eq!(
            order,
            [
                Field::Email,
                Field::Nickname,
                Field::Phone,
                Field::EmailVerified,
                Field::Blocked
            ]
        );
        // The same values given in table order make an equal profile.
        let same = Profile::default()
            .with(Field::Email, "a@b.cn")
            .with(Field::Nickname, "")
            .with(Field::Phone, "13900000000")
            .with(Field::EmailVerified, false)
            .with(Field::Blocked, true);
        assert_eq!(profile, same);
        let mut changed = same.clone();
        changed.set(Field::Nickname, None);
        changed.set(Field::Country, Some("CN".into()));
        changed.set(Field::Blocked, Some(FieldValue::Text("wrong kind".into())));
        assert_eq!(changed.text(Field::Nickname), None);
        assert_eq!(changed.text(Field::Country), Some("CN"));
        assert_eq!(changed.flag(Field::Blocked), None);
        assert_eq!(changed.text(Field::Email), Some("a@b.cn"));
        assert_eq!(
            format!("{changed:?}"),
            r#"{"email": "a@b.cn", "phone": "13900000000", "email_verified": false, "country": "CN"}"#
        );
    }

    #[test]
    fn a_profile_is_compact() {
        assert_eq!(std::mem::size_of::<Profile>(), 24);
        let builder = {
            let mut builder = ProfileBuilder::default();
            for field in [
                Field::Email,
                Field::Username,
                Field::Nickname,
                Field::Company,
            ] {
                builder.text(field, "user1");
            }
            builder
        };
        let profile = builder.build();
        // The four texts, then one byte for where each ends.
        assert_eq!(profile.data.len(), 24);
    }

    #[test]
    fn long_texts_read_back_whatever_width_their_ends_take() {
        // Texts of 0 to 2.1 MB in all: ends of one to four bytes, and the edges where the
        // width changes.
        for total in [
            0_usize, 1, 100, 127, 128, 200, 16_383, 16_384, 20_000, 2_097_151, 2_097_152, 2_100_000,
        ] {
            for count in [1, 2, 5, Field::ALL.len()] {
                let fields: Vec<Field> = Field::ALL
                    .into_iter()
                    .filter(|field| !field.is_bool())
                    .take(count)
                    .collect();
                let mut builder = ProfileBuilder::default();
                let mut expected = Vec::new();
                for (at, field) in fields.iter().enumerate() {
                    // The first text takes what the others leave; one is non-ASCII.
                    let length = if at == 0 {
                        total.saturating_sub(3 * (fields.len() - 1))
                    } else {
                        3
                    };
                    let text = if at == 1 {
                        "é".to_string() + "x"
                    } else {
                        "y".repeat(length)
                    };
                    builder.text(*field, &text);
                    expected.push((*field, text));
                }
                builder.flag(Field::Blocked, true);
                let profile = builder.build();
                for (field, text) in &expected {
                    assert_eq!(profile.text(*field), Some(text.as_str()), "{total} {count}");
                }
                assert_eq!(profile.flag(Field::Blocked), Some(true));
                assert_eq!(profile.fields().count(), expected.len() + 1);
            }
        }
    }

    #[test]
    fn field_matching_follows_the_normalisers() {
        assert!(field_matches(
            Field::Email,
            FieldRef::Text(" a@b.cn"),
            Some(FieldRef::Text("a@b.cn"))
        ));
        assert!(
            !field_matches(
                Field::Email,
                FieldRef::Text("A@B.cn"),
                Some(FieldRef::Text("a@b.CN"))
            ),
            "a change of case is written"
        );
        assert!(field_matches(
            Field::Phone,
            FieldRef::Text("13800000000"),
            Some(FieldRef::Text("+86 138 0000 0000"))
        ));
        assert!(field_matches(Field::Nickname, FieldRef::Text(""), None));
        assert!(!field_matches(Field::Nickname, FieldRef::Text("Al"), None));
        assert!(field_matches(Field::Blocked, FieldRef::Bool(false), None));
        assert!(!field_matches(
            Field::Blocked,
            FieldRef::Bool(true),
            Some(FieldRef::Bool(false))
        ));
        assert!(!field_matches(
            Field::Username,
            FieldRef::Text("Alice"),
            Some(FieldRef::Text("alice"))
        ));
    }
}
