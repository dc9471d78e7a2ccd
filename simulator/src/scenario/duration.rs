//! Durations in scenario files: a number of seconds (`90`) or a string with units
//! (`"250ms"`, `"30s"`, `"10m"`, `"1h30m"`, `"2d"`), held as integer milliseconds.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::des::SimTime;

/// A non-negative span of virtual time in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub SimTime);

impl SimDuration {
    pub const fn from_secs(s: i64) -> Self {
        Self(s * 1000)
    }
    pub fn ms(self) -> SimTime {
        self.0
    }
}

/// Parses `"1h30m"`, `"250ms"`, `"45"` (seconds) into milliseconds.
pub fn parse_duration(text: &str) -> Result<SimTime, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return secs_to_ms(secs);
    }
    let mut total: i64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "`{text}` is not a duration (expected e.g. 90s, 10m, 1h30m)"
            ));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("`{text}` has a malformed number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ms" => 1.0,
            "s" => 1e3,
            "m" | "min" => 60e3,
            "h" => 3600e3,
            "d" => 86400e3,
            "" => {
                return Err(format!(
                    "`{text}` needs a unit after {value} (ms, s, m, h, d)"
                ));
            }
            other => {
                return Err(format!(
                    "unknown duration unit `{other}` in `{text}` (use ms, s, m, h, d)"
                ));
            }
        };
        let ms = value * scale;
        if !ms.is_finite() || ms > 1e15 {
            return Err(format!("duration `{text}` is too large"));
        }
        total = total.saturating_add(ms.round() as i64);
    }
    Ok(total)
}

fn secs_to_ms(secs: f64) -> Result<SimTime, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "duration {secs} must be a non-negative number of seconds"
        ));
    }
    if secs > 1e12 {
        return Err(format!("duration {secs} s is too large"));
    }
    Ok((secs * 1000.0).round() as SimTime)
}

/// Renders milliseconds compactly (`1h30m`, `45s`, `250ms`).
pub fn format_duration(ms: SimTime) -> String {
    if ms == 0 {
        return "0s".into();
    }
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let mut s = ms / 1000;
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(self.0))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DurationText {
    Int(u64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = DurationText::deserialize(deserializer)?;
        let ms = match raw {
            DurationText::Int(s) => secs_to_ms(s as f64),
            DurationText::Float(s) => secs_to_ms(s),
            DurationText::Text(t) => parse_duration(&t),
        }
        .map_err(serde::de::Error::custom)?;
        Ok(SimDuration(ms))
    }
}

impl JsonSchema for SimDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: a number of seconds, or a string with units ms, s, m, h, d (e.g. \"90s\", \"1h30m\").",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|min|h|d))+$|^[0-9]+(\\.[0-9]+)?$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_round_trips() {
        for (text, ms) in [
            ("90", 90_000),
            ("250ms", 250),
            ("1h30m", 5_400_000),
            ("2d", 172_800_000),
            ("0.5s", 500),
            ("1m30s", 90_000),
        ] {
            assert_eq!(parse_duration(text), Ok(ms), "{text}");
        }
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(90_061_000), "1d1h1m1s");
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("-3").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5").is_ok());
        assert!(parse_duration("5x").is_err());
    }
}
