//! The v3 reply: HTTP 200 whatever happened, with `{statusCode, message, requestId, data}` on
//! success and `{statusCode, message, apiCode?, requestId}` on failure. Success is exactly
//! `statusCode == 200`; `apiCode` is set only where a failure has a business code.

use rand::RngExt;
use serde_json::{Map, Value, json};

/// A v3 failure: the envelope's `statusCode`, `apiCode` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status_code: u16,
    pub api_code: Option<u32>,
    pub message: String,
}

/// What a v3 endpoint returns: the envelope's `data`, or a failure.
pub type V3Result<T> = Result<T, Failure>;

impl Failure {
    pub fn new(status_code: u16, message: impl Into<String>) -> Failure {
        Failure {
            status_code,
            api_code: None,
            message: message.into(),
        }
    }

    pub fn with_api_code(mut self, api_code: u32) -> Failure {
        self.api_code = Some(api_code);
        self
    }

    /// 400 `参数 <name> 格式错误`, Authing's message for a parameter of the wrong shape.
    pub fn bad_param(name: &str) -> Failure {
        Failure::new(400, format!("参数 {name} 格式错误"))
    }

    /// 404 with apiCode 2004 `用户不存在`.
    pub fn user_not_found() -> Failure {
        Failure::new(404, "用户不存在").with_api_code(2004)
    }

    /// 409: a unique field another user holds.
    pub fn conflict(message: impl Into<String>) -> Failure {
        Failure::new(409, message)
    }

    /// 501: something real Authing does that the emulator does not.
    pub fn unsupported(message: impl Into<String>) -> Failure {
        Failure::new(501, message)
    }

    /// The same failure about item `index` of a batch.
    pub fn in_item(mut self, field: &str, index: usize) -> Failure {
        self.message = format!("{field}[{index}]: {}", self.message);
        self
    }
}

/// A fresh request id, shaped like a v4 UUID.
pub fn request_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// `{statusCode: 200, message: "操作成功", requestId, data}`.
pub fn success(data: Value) -> Value {
    let mut body = Map::new();
    body.insert("statusCode".into(), json!(200));
    body.insert("message".into(), json!("操作成功"));
    body.insert("requestId".into(), json!(request_id()));
    body.insert("data".into(), data);
    Value::Object(body)
}

/// `{statusCode, message, apiCode?, requestId}`.
pub fn failure(failure: &Failure) -> Value {
    let mut body = Map::new();
    body.insert("statusCode".into(), json!(failure.status_code));
    body.insert("message".into(), json!(failure.message));
    if let Some(api_code) = failure.api_code {
        body.insert("apiCode".into(), json!(api_code));
    }
    body.insert("requestId".into(), json!(request_id()));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        let ok = success(json!({"exists": true}));
        assert_eq!(ok["statusCode"], 200);
        assert_eq!(ok["data"]["exists"], true);
        let id = ok["requestId"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        let bad = failure(&Failure::user_not_found());
        assert_eq!(bad["statusCode"], 404);
        assert_eq!(bad["apiCode"], 2004);
        assert!(bad.get("data").is_none());
        assert!(
            failure(&Failure::bad_param("page"))
                .get("apiCode")
                .is_none()
        );
        assert_eq!(
            Failure::bad_param("email").in_item("list", 3).message,
            "list[3]: 参数 email 格式错误"
        );
    }
}
