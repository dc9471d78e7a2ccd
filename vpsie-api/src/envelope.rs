//! The response envelope: `{"error": false, "data": ...}` or `{"error": true, "code", "message"}`.
//!
//! [`decode_envelope`] is a pure function of the HTTP status and the raw body so that it can be
//! fuzzed: it never panics, checks the `error` flag on every response (HTTP 200 included), and
//! keeps at most [`MAX_ERROR_BODY_CHARS`] characters of a body it could not understand.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How much of an undecodable body an error keeps.
pub const MAX_ERROR_BODY_CHARS: usize = 256;

/// A successful envelope, serialised by the mock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub error: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub data: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl<T> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Envelope {
            error: false,
            code: None,
            message: None,
            data,
            total: None,
        }
    }
}

/// A failure envelope, serialised by the mock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: bool,
    pub code: i64,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorBody {
            error: true,
            code,
            message: message.into(),
        }
    }
}

/// What a successful response carried besides `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEnvelope<T> {
    pub status: u16,
    /// `None` for 204, an empty body, or an envelope without `data`.
    pub data: Option<T>,
    pub code: Option<i64>,
    pub message: Option<String>,
    pub total: Option<i64>,
}

/// A response that is not a success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The API said no: a non-2xx status, or `error: true` (possibly on HTTP 200).
    #[error("HTTP {status}{}: {message}", code.map(|c| format!(" (code {c})")).unwrap_or_default())]
    Api {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// The body is not the JSON we expect.
    #[error("undecodable response (HTTP {status}): {reason}; body starts: {body:?}")]
    Decode {
        status: u16,
        reason: String,
        body: String,
    },
}

/// At most [`MAX_ERROR_BODY_CHARS`] characters of a body, lossily decoded.
pub fn truncate_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(MAX_ERROR_BODY_CHARS).collect()
}

/// A decoder's message cut to [`MAX_ERROR_BODY_CHARS`] characters: serde quotes the offending
/// value, and a 50 MB string field must not become a 50 MB error.
fn clip(reason: String) -> String {
    match reason.char_indices().nth(MAX_ERROR_BODY_CHARS) {
        None => reason,
        Some((end, _)) => format!("{}... ({} bytes in all)", &reason[..end], reason.len()),
    }
}

fn int_field(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn string_field(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The `error` flag: a boolean (what VPSie sends); a non-empty string is an error message (what
/// older clients expected); `null`, `0` or absent mean no error.
fn error_flag(value: Option<&Value>) -> (bool, Option<String>) {
    match value {
        Some(Value::Bool(b)) => (*b, None),
        Some(Value::String(s)) if s.is_empty() || s.eq_ignore_ascii_case("false") => (false, None),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => (true, None),
        Some(Value::String(s)) => (true, Some(s.clone())),
        Some(Value::Number(n)) => (n.as_i64() != Some(0), None),
        _ => (false, None),
    }
}

fn parse_object(
    status: u16,
    bytes: &[u8],
) -> Result<Option<serde_json::Map<String, Value>>, EnvelopeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(other) => Err(EnvelopeError::Decode {
            status,
            reason: format!("expected a JSON object, got {}", json_kind(&other)),
            body: truncate_body(bytes),
        }),
        Err(e) => Err(EnvelopeError::Decode {
            status,
            reason: clip(format!("invalid JSON: {e}")),
            body: truncate_body(bytes),
        }),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks status and envelope; on success returns the object for further decoding.
fn check(
    status: u16,
    bytes: &[u8],
) -> Result<Option<serde_json::Map<String, Value>>, EnvelopeError> {
    let success = (200..300).contains(&status);
    let parsed = parse_object(status, bytes);
    if !success {
        // Whatever the body is, this is an API error; take its message when there is one.
        let (code, message) = match &parsed {
            Ok(Some(map)) => (
                int_field(map.get("code")),
                string_field(map.get("message"))
                    .or_else(|| error_flag(map.get("error")).1)
                    .unwrap_or_else(|| truncate_body(bytes)),
            ),
            _ => (None, truncate_body(bytes)),
        };
        let message = if message.is_empty() {
            format!("HTTP {status} with an empty body")
        } else {
            message
        };
        return Err(EnvelopeError::Api {
            status,
            code,
            message,
        });
    }
    let map = parsed?;
    if let Some(map) = &map {
        let (failed, flag_message) = error_flag(map.get("error"));
        if failed {
            let message = string_field(map.get("message"))
                .or(flag_message)
                .unwrap_or_else(|| "error without a message".to_string());
            return Err(EnvelopeError::Api {
                status,
                code: int_field(map.get("code")),
                message,
            });
        }
    }
    Ok(map)
}

/// Decodes an enveloped response: checks the status and the `error` flag, then decodes `data`
/// as `T`. Never panics, whatever the bytes.
pub fn decode_envelope<T: DeserializeOwned>(
    status: u16,
    bytes: &[u8],
) -> Result<DecodedEnvelope<T>, EnvelopeError> {
    let Some(mut map) = check(status, bytes)? else {
        return Ok(DecodedEnvelope {
            status,
            data: None,
            code: None,
            message: None,
            total: None,
        });
    };
    let data = match map.remove("data") {
        None | Some(Value::Null) => None,
        Some(value) => {
            Some(
                serde_json::from_value::<T>(value).map_err(|e| EnvelopeError::Decode {
                    status,
                    reason: clip(format!("unexpected `data`: {e}")),
                    body: truncate_body(bytes),
                })?,
            )
        }
    };
    Ok(DecodedEnvelope {
        status,
        data,
        code: int_field(map.get("code")),
        message: string_field(map.get("message")),
        total: int_field(map.get("total")),
    })
}

/// Decodes a response whose payload is the whole object (login), after the same checks.
pub fn decode_body<T: DeserializeOwned>(status: u16, bytes: &[u8]) -> Result<T, EnvelopeError> {
    let map = check(status, bytes)?.ok_or_else(|| EnvelopeError::Decode {
        status,
        reason: "empty body".to_string(),
        body: String::new(),
    })?;
    serde_json::from_value(Value::Object(map)).map_err(|e| EnvelopeError::Decode {
        status,
        reason: clip(format!("unexpected body: {e}")),
        body: truncate_body(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_flag_is_checked_on_http_200() {
        let err =
            decode_envelope::<Value>(200, br#"{"error": true, "code": 500, "message": "boom"}"#)
                .unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::Api {
                status: 200,
                code: Some(500),
                message: "boom".into()
            }
        );
    }

    #[test]
    fn success_carries_data_and_total() {
        let ok =
            decode_envelope::<Vec<i64>>(200, br#"{"error": false, "data": [1,2], "total": 2}"#)
                .unwrap();
        assert_eq!(ok.data, Some(vec![1, 2]));
        assert_eq!(ok.total, Some(2));
    }

    #[test]
    fn string_error_flag_of_older_clients_is_understood() {
        let err = decode_envelope::<Value>(200, br#"{"error": "token expired"}"#).unwrap_err();
        assert!(matches!(err, EnvelopeError::Api { message, .. } if message == "token expired"));
        assert!(decode_envelope::<Value>(200, br#"{"error": "", "data": 1}"#).is_ok());
    }

    #[test]
    fn non_json_error_bodies_are_truncated() {
        let body = "x".repeat(10_000);
        let err = decode_envelope::<Value>(502, body.as_bytes()).unwrap_err();
        let EnvelopeError::Api { message, .. } = err else {
            panic!()
        };
        assert_eq!(message.len(), MAX_ERROR_BODY_CHARS);
        let err = decode_envelope::<Value>(200, body.as_bytes()).unwrap_err();
        let EnvelopeError::Decode { body, .. } = err else {
            panic!()
        };
        assert_eq!(body.len(), MAX_ERROR_BODY_CHARS);
    }

    #[test]
    fn empty_success_body_means_no_data() {
        let ok = decode_envelope::<Value>(204, b"").unwrap();
        assert_eq!(ok.data, None);
    }
}
