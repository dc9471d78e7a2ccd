//! Kubernetes resource quantities (`500m`, `1.5`, `2Gi`, `1e3`, `128974848`) parsed exactly.
//!
//! The grammar is Kubernetes' own: an optionally signed decimal number followed by a binary SI
//! suffix (`Ki`…`Ei`), a decimal SI suffix (`n`, `u`, `m`, ``, `k`, `M`, `G`, `T`, `P`, `E`) or a
//! decimal exponent (`e3`, `E-2`). Values are converted to integers in a chosen unit (bytes,
//! millicores) rounding up, as the API server does when it reports `Value()`/`MilliValue()`.

use std::fmt;

/// Why a quantity string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("empty quantity")]
    Empty,
    #[error(
        "`{0}` is not a Kubernetes quantity (expected a number with an optional suffix such as m, Ki, Mi, Gi, k, M, G or e3)"
    )]
    Syntax(String),
    #[error(
        "unknown suffix `{suffix}` in quantity `{input}` (known: n u m k M G T P E Ki Mi Gi Ti Pi Ei, or an exponent like e3)"
    )]
    UnknownSuffix { input: String, suffix: String },
    #[error("quantity `{0}` is negative; requests and capacities must be zero or more")]
    Negative(String),
    #[error("quantity `{0}` is too large")]
    Overflow(String),
}

/// A parsed quantity as an exact rational `mantissa * 10^exp10 * 2^exp2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    negative: bool,
    mantissa: u128,
    exp10: i32,
    exp2: u32,
}

fn parse_exact(input: &str) -> Result<Exact, QuantityError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(QuantityError::Empty);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    if bytes[0] == b'+' || bytes[0] == b'-' {
        negative = bytes[0] == b'-';
        i = 1;
    }
    let mut mantissa: u128 = 0;
    let mut exp10: i32 = 0;
    let mut digits = 0usize;
    let mut seen_dot = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            // Keep at most 30 significant digits; further digits only shift the exponent. A
            // quantity with that many digits is nonsense for a resource anyway.
            if mantissa < 10u128.pow(30) {
                mantissa = mantissa * 10 + u128::from(c - b'0');
                if seen_dot {
                    exp10 -= 1;
                }
            } else if !seen_dot {
                exp10 += 1;
            }
            digits += 1;
        } else if c == b'.' && !seen_dot {
            seen_dot = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return Err(QuantityError::Syntax(input.to_string()));
    }
    let suffix = &s[i..];
    let (extra10, exp2) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        other => {
            if let Some(rest) = other.strip_prefix(['e', 'E']) {
                let e: i32 = rest.parse().map_err(|_| QuantityError::UnknownSuffix {
                    input: input.to_string(),
                    suffix: other.to_string(),
                })?;
                if !(-60..=60).contains(&e) {
                    return Err(QuantityError::Overflow(input.to_string()));
                }
                (e, 0)
            } else if other.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(QuantityError::UnknownSuffix {
                    input: input.to_string(),
                    suffix: other.to_string(),
                });
            } else {
                return Err(QuantityError::Syntax(input.to_string()));
            }
        }
    };
    Ok(Exact {
        negative,
        mantissa,
        exp10: exp10 + extra10,
        exp2,
    })
}

/// Parses `input` and returns its value multiplied by `10^scale10`, rounded up to an integer.
/// `scale10 = 0` gives base units (bytes, cores); `scale10 = 3` gives milli-units.
pub fn parse_scaled(input: &str, scale10: i32) -> Result<i64, QuantityError> {
    let q = parse_exact(input)?;
    if q.negative && q.mantissa != 0 {
        return Err(QuantityError::Negative(input.to_string()));
    }
    let overflow = || QuantityError::Overflow(input.to_string());
    let mut num: u128 = q.mantissa;
    num = num
        .checked_shl(q.exp2)
        .filter(|v| v >> q.exp2 == num)
        .ok_or_else(overflow)?;
    let e = q.exp10 + scale10;
    let value: u128 = if e >= 0 {
        let factor = 10u128.checked_pow(e as u32).ok_or_else(overflow)?;
        num.checked_mul(factor).ok_or_else(overflow)?
    } else {
        let div = 10u128.checked_pow((-e) as u32);
        match div {
            // Rounding up: any positive remainder counts as one more unit.
            Some(d) => num.div_ceil(d),
            None => u128::from(num > 0),
        }
    };
    i64::try_from(value).map_err(|_| overflow())
}

/// Bytes (memory, ephemeral-storage) or plain counts (pods, extended resources).
pub fn parse_units(input: &str) -> Result<i64, QuantityError> {
    parse_scaled(input, 0)
}

/// Millicores (cpu).
pub fn parse_milli(input: &str) -> Result<i64, QuantityError> {
    parse_scaled(input, 3)
}

/// Formats millicores canonically: whole cores as `2`, otherwise `1500m`.
pub fn format_milli(milli: i64) -> String {
    if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{milli}m")
    }
}

/// Formats bytes canonically with the largest exact binary suffix (`2Gi`, `1536Mi`, `100`).
pub fn format_bytes(bytes: i64) -> String {
    const SUFFIXES: [(&str, u32); 6] = [
        ("Ei", 60),
        ("Pi", 50),
        ("Ti", 40),
        ("Gi", 30),
        ("Mi", 20),
        ("Ki", 10),
    ];
    if bytes != 0 {
        for (suffix, shift) in SUFFIXES {
            let unit = 1i64 << shift;
            if bytes % unit == 0 {
                return format!("{}{suffix}", bytes / unit);
            }
        }
    }
    format!("{bytes}")
}

/// A human rendering of bytes with one decimal (`1.5 GiB`), for reports and explanations.
pub struct HumanBytes(pub i64);

impl fmt::Display for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        const GI: f64 = (1u64 << 30) as f64;
        const MI: f64 = (1u64 << 20) as f64;
        if b.abs() >= GI {
            write!(f, "{:.1} GiB", b / GI)
        } else if b.abs() >= MI {
            write!(f, "{:.1} MiB", b / MI)
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

impl fmt::Debug for HumanBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_examples() {
        let cases: &[(&str, i64, i64)] = &[
            // input, milli, units (rounded up)
            ("500m", 500, 1),
            ("1.5", 1500, 2),
            ("2Gi", 2 * 1024 * 1024 * 1024 * 1000, 2 * 1024 * 1024 * 1024),
            ("1e3", 1_000_000, 1000),
            ("128974848", 128_974_848_000, 128_974_848),
            ("129e6", 129_000_000_000, 129_000_000),
            ("123Mi", 123 * 1024 * 1024 * 1000, 123 * 1024 * 1024),
            ("1k", 1_000_000, 1000),
            ("0.1", 100, 1),
            ("100n", 1, 1),
            ("0", 0, 0),
            ("+2", 2000, 2),
            ("1E2", 100_000, 100),
            ("12e-1", 1200, 2),
        ];
        for (input, milli, units) in cases {
            assert_eq!(parse_milli(input), Ok(*milli), "milli of {input}");
            assert_eq!(parse_units(input), Ok(*units), "units of {input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            parse_units("12Qi"),
            Err(QuantityError::UnknownSuffix { .. })
        ));
        assert!(matches!(parse_units(""), Err(QuantityError::Empty)));
        assert!(matches!(parse_units("abc"), Err(QuantityError::Syntax(_))));
        assert!(matches!(parse_units("-1"), Err(QuantityError::Negative(_))));
        assert!(matches!(parse_units("1..2"), Err(QuantityError::Syntax(_))));
        assert!(matches!(
            parse_units("99999999999Ei"),
            Err(QuantityError::Overflow(_))
        ));
        assert!(matches!(
            parse_units("1e999"),
            Err(QuantityError::Overflow(_))
        ));
        assert!(matches!(parse_units("1 Gi"), Err(QuantityError::Syntax(_))));
    }

    #[test]
    fn formats_round_trip() {
        for v in [0i64, 1, 1000, 1536 * 1024 * 1024, 3 << 30, 12345] {
            assert_eq!(parse_units(&format_bytes(v)), Ok(v));
        }
        for v in [0i64, 1, 250, 1000, 1500, 64000] {
            assert_eq!(parse_milli(&format_milli(v)), Ok(v));
        }
    }
}
