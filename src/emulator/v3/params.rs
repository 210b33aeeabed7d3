//! Reading v3 requests: the query string of a GET (repeated keys, a `[]` suffix and
//! comma-separated values all make lists; booleans in any case, as the Python SDK sends `True`),
//! and the JSON body of a POST, with Authing's `参数 X 格式错误` for a value of the wrong type.

use serde_json::{Map, Value};

use super::envelope::{Failure, V3Result};

/// A decoded query string, its pairs in order.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

/// `%XX` and `+` (a space) decoded; invalid escapes are kept as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(key), percent_decode(value))
            })
            .collect();
        Query { pairs }
    }

    /// The key without a `[]` suffix (axios writes arrays as `key[]=a&key[]=b`).
    fn base(key: &str) -> &str {
        key.strip_suffix("[]").unwrap_or(key)
    }

    /// The first value of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| Self::base(k) == key)
            .map(|(_, value)| value.as_str())
    }

    /// A non-empty string parameter, `None` when absent (an empty value is absent too).
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key)
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    }

    /// A list: repeated keys, `key[]`, and comma-separated values, in order; empty items dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| Self::base(k) == key)
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// `true`/`false` in any case; anything else is `参数 key 格式错误`.
    pub fn flag(&self, key: &str) -> V3Result<Option<bool>> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(None),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(Failure::bad_param(key)),
        }
    }

    /// An integer parameter.
    pub fn int(&self, key: &str) -> V3Result<Option<i64>> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(None),
            Some(value) => value.parse().map(Some).map_err(|_| Failure::bad_param(key)),
        }
    }

    /// The candidates for the signed resource's query part: the keys sorted, a list written as
    /// the JSON array of its strings (what the SDK signs) or, leniently, as it came.
    pub fn signed_forms(&self) -> Vec<String> {
        let mut keys: Vec<&str> = Vec::new();
        for (key, _) in &self.pairs {
            let base = Self::base(key);
            if !keys.contains(&base) {
                keys.push(base);
            }
        }
        keys.sort_unstable();
        let mut exact = Vec::with_capacity(keys.len());
        let mut raw = Vec::with_capacity(keys.len());
        for key in keys {
            let values: Vec<&(String, String)> = self
                .pairs
                .iter()
                .filter(|(k, _)| Self::base(k) == key)
                .collect();
            let is_list = values.len() > 1 || values.iter().any(|(k, _)| k.ends_with("[]"));
            let joined = values
                .iter()
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
                .join(",");
            if is_list {
                let strings: Vec<&str> = values.iter().map(|(_, value)| value.as_str()).collect();
                let json = serde_json::to_string(&strings).unwrap_or_default();
                exact.push(format!("{key}={json}"));
            } else {
                exact.push(format!("{key}={joined}"));
            }
            raw.push(format!("{key}={joined}"));
        }
        let mut forms = vec![exact.join("&")];
        let raw = raw.join("&");
        if !forms.contains(&raw) {
            forms.push(raw);
        }
        forms
    }
}

/// The JSON body of a POST: an object.
#[derive(Debug, Default, Clone)]
pub struct Body {
    pub fields: Map<String, Value>,
}

impl Body {
    /// `{}` for an empty body; anything but a JSON object is refused.
    pub fn parse(bytes: &[u8]) -> V3Result<Body> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => Ok(Body { fields }),
            _ => Err(Failure::new(400, "请求体必须是 JSON 对象")),
        }
    }

    /// The signed resource's query part: top-level keys sorted, strings as they are, `null` as
    /// `null`, objects and arrays as compact JSON in the order they came.
    pub fn signed_form(&self) -> String {
        let mut keys: Vec<&String> = self.fields.keys().collect();
        keys.sort_unstable();
        keys.iter()
            .map(|key| {
                let value = &self.fields[key.as_str()];
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => serde_json::to_string(other).unwrap_or_default(),
                };
                format!("{key}={text}")
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Typed reads of a JSON object's fields; `null` is the same as absent.
pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;

    fn string(&self, key: &str) -> V3Result<Option<String>> {
        match self.field(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(Failure::bad_param(key)),
        }
    }

    fn boolean(&self, key: &str) -> V3Result<Option<bool>> {
        match self.field(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(Failure::bad_param(key)),
        }
    }

    fn integer(&self, key: &str) -> V3Result<Option<i64>> {
        match self.field(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => number
                .as_i64()
                .map(Some)
                .ok_or_else(|| Failure::bad_param(key)),
            Some(_) => Err(Failure::bad_param(key)),
        }
    }

    fn object(&self, key: &str) -> V3Result<Option<&Map<String, Value>>> {
        match self.field(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object)),
            Some(_) => Err(Failure::bad_param(key)),
        }
    }

    fn array(&self, key: &str) -> V3Result<Option<&Vec<Value>>> {
        match self.field(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(Failure::bad_param(key)),
        }
    }

    /// An array of strings (each trimmed, none empty).
    fn strings(&self, key: &str) -> V3Result<Option<Vec<String>>> {
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| match item {
                Value::String(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
                _ => Err(Failure::bad_param(key)),
            })
            .collect::<V3Result<Vec<_>>>()
            .map(Some)
    }
}

impl Fields for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

impl Fields for Body {
    fn field(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_come_in_every_spelling() {
        for raw in [
            "userIds=a&userIds=b&userIds=c",
            "userIds[]=a&userIds[]=b&userIds[]=c",
            "userIds%5B%5D=a&userIds%5B%5D=b&userIds%5B%5D=c",
            "userIds=a,b,c",
            "userIds=a%2Cb&userIds=c",
        ] {
            assert_eq!(
                Query::parse(Some(raw)).list("userIds"),
                ["a", "b", "c"],
                "{raw}"
            );
        }
    }

    #[test]
    fn decoding_and_flags() {
        let query = Query::parse(Some(
            "email=a%2Bb%40example.com&name=Ada+L&x=%zz&f=True&g=no",
        ));
        assert_eq!(query.get("email"), Some("a+b@example.com"));
        assert_eq!(query.get("name"), Some("Ada L"));
        assert_eq!(query.get("x"), Some("%zz"));
        assert_eq!(query.flag("f"), Ok(Some(true)));
        assert_eq!(query.flag("g"), Err(Failure::bad_param("g")));
        assert_eq!(query.flag("missing"), Ok(None));
    }

    #[test]
    fn signed_forms_sort_keys_and_write_lists_as_json() {
        let query = Query::parse(Some(
            "userIds[]=b&userIds[]=a&withCustomData=false&type=PHONE",
        ));
        let forms = query.signed_forms();
        assert_eq!(
            forms[0],
            r#"type=PHONE&userIds=["b","a"]&withCustomData=false"#
        );
        assert!(forms.contains(&"type=PHONE&userIds=b,a&withCustomData=false".to_string()));
        let body = Body::parse(
            br#"{"phone":"13800000000","options":{"passwordEncryptType":"none","resetPasswordOnFirstLogin":false},"email":"alice@example.com","n":null,"k":3}"#,
        )
        .expect("body");
        assert_eq!(
            body.signed_form(),
            r#"email=alice@example.com&k=3&n=null&options={"passwordEncryptType":"none","resetPasswordOnFirstLogin":false}&phone=13800000000"#
        );
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(Body::parse(b"").is_ok());
        assert!(Body::parse(b"[1]").is_err());
        assert!(Body::parse(b"nope").is_err());
        let body = Body::parse(br#"{"a": "x", "b": 1, "c": true, "d": null}"#).expect("body");
        assert_eq!(body.string("a"), Ok(Some("x".to_string())));
        assert_eq!(body.string("b"), Err(Failure::bad_param("b")));
        assert_eq!(body.boolean("c"), Ok(Some(true)));
        assert_eq!(body.string("d"), Ok(None));
        assert_eq!(body.integer("b"), Ok(Some(1)));
    }
}
