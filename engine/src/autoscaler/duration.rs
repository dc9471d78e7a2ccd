//! Durations as configuration strings (`"10m"`, `"30s"`, `"1h30m"`, `"250ms"`), held as
//! integer milliseconds.
//!
//! Parsing is strict: every number needs a unit (`ms`, `s`, `m`, `h`, `d`), except a bare `0`;
//! a sign is rejected with a message saying durations cannot be negative; fractions are not
//! accepted (write `90s`, not `1.5m`) so that a value always means exactly one number of
//! milliseconds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration in whole milliseconds, written in files as `"10m"`, `"30s"`, ...
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DurationMs(pub i64);

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration (write e.g. \"10m\", \"30s\" or \"0s\")")]
    Empty,
    #[error("duration `{0}` is negative; durations must be zero or more")]
    Negative(String),
    #[error(
        "duration `{input}`: the number `{number}` has no unit (use ms, s, m, h or d, e.g. \"{number}s\")"
    )]
    MissingUnit { input: String, number: String },
    #[error("duration `{input}`: unknown unit `{unit}` (use ms, s, m, h or d)")]
    UnknownUnit { input: String, unit: String },
    #[error("duration `{0}` is not of the form \"1h30m\", \"10m\", \"30s\" or \"250ms\"")]
    Syntax(String),
    #[error("duration `{0}` is too large")]
    Overflow(String),
}

impl DurationMs {
    pub const ZERO: DurationMs = DurationMs(0);

    pub const fn from_secs(s: i64) -> Self {
        DurationMs(s * 1000)
    }

    pub const fn from_mins(m: i64) -> Self {
        DurationMs(m * 60_000)
    }

    pub const fn from_hours(h: i64) -> Self {
        DurationMs(h * 3_600_000)
    }

    /// Milliseconds.
    pub const fn ms(self) -> i64 {
        self.0
    }

    /// Parses `"1h30m"`, `"10m"`, `"30s"`, `"250ms"`, `"2d"`, or `"0"`.
    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        if s.starts_with('-') {
            return Err(DurationError::Negative(input.to_string()));
        }
        if s == "0" {
            return Ok(DurationMs(0));
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut total: i64 = 0;
        let overflow = || DurationError::Overflow(input.to_string());
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(DurationError::Syntax(input.to_string()));
            }
            let number = &s[start..i];
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &s[unit_start..i];
            if unit.is_empty() {
                if i < bytes.len() {
                    return Err(DurationError::Syntax(input.to_string()));
                }
                return Err(DurationError::MissingUnit {
                    input: input.to_string(),
                    number: number.to_string(),
                });
            }
            let factor: i64 = match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => {
                    return Err(DurationError::UnknownUnit {
                        input: input.to_string(),
                        unit: unit.to_string(),
                    });
                }
            };
            let n: i64 = number.parse().map_err(|_| overflow())?;
            total = n
                .checked_mul(factor)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(overflow)?;
        }
        Ok(DurationMs(total))
    }
}

impl fmt::Display for DurationMs {
    /// Canonical form: the largest units first, `0s` for zero (`5400000` → `1h30m`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        if rest < 0 {
            f.write_str("-")?;
            rest = rest.saturating_neg();
        }
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for DurationMs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DurationMs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"10m\", \"30s\", \"1h30m\" or \"0s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationMs, E> {
                DurationMs::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DurationMs, E> {
                if v == 0 {
                    Ok(DurationMs(0))
                } else if v < 0 {
                    Err(E::custom(DurationError::Negative(v.to_string())))
                } else {
                    Err(E::custom(DurationError::MissingUnit {
                        input: v.to_string(),
                        number: v.to_string(),
                    }))
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DurationMs, E> {
                if v == 0 {
                    Ok(DurationMs(0))
                } else {
                    Err(E::custom(DurationError::MissingUnit {
                        input: v.to_string(),
                        number: v.to_string(),
                    }))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for DurationMs {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(0|([0-9]+(ms|s|m|h|d))+)$",
            "description": "A duration such as \"10m\", \"30s\", \"1h30m\", \"250ms\" or \"0s\"."
        })
    }
}
