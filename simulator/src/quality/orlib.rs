//! Reader of OR-Library's 1-D bin packing files (`binpack1.txt` … `binpack8.txt`) and of the
//! BPPLIB bounds table that overrides their header values.
//!
//! File format (whitespace separated): the number of instances, then per instance its name, a
//! line `capacity item-count best-known`, and one size per line. Capacities and sizes may carry
//! decimals (the triplet files use `100.0` and `36.6`); an instance is scaled by the power of ten
//! that makes all of its numbers integers.

use std::collections::BTreeMap;

use super::{Instance, OptimumSource, QualityError};

/// Parses one OR-Library file. `Ok(None)` when the file does not look like one at all (its first
/// token is not a count), so a folder's README or info files are skipped.
pub fn parse_file(text: &str, file: &str) -> Result<Option<Vec<Instance>>, QualityError> {
    let mut tokens = text
        .lines()
        .enumerate()
        .flat_map(|(i, line)| line.split_whitespace().map(move |t| (i + 1, t)))
        .peekable();
    let Some(&(_, first)) = tokens.peek() else {
        return Ok(None);
    };
    let Ok(count) = first.parse::<usize>() else {
        return Ok(None);
    };
    tokens.next();
    let mut instances = Vec::with_capacity(count);
    let syntax = |line: usize, what: String| QualityError::Syntax {
        file: file.to_string(),
        line,
        what,
    };
    let mut last_line = 1;
    for _ in 0..count {
        let mut next = |what: &str| {
            tokens
                .next()
                .inspect(|(l, _)| last_line = *l)
                .ok_or_else(|| syntax(last_line, format!("file ends before {what}")))
        };
        let (_, name) = next("an instance name")?;
        let name = name.to_string();
        let (cap_line, cap_text) = next("the capacity")?;
        let (n_line, n_text) = next("the item count")?;
        let n: usize = n_text.parse().map_err(|_| {
            syntax(
                n_line,
                format!("instance {name}: item count `{n_text}` is not an integer"),
            )
        })?;
        let (b_line, b_text) = next("the best-known bin count")?;
        let best: u64 = b_text.parse().map_err(|_| {
            syntax(
                b_line,
                format!("instance {name}: bin count `{b_text}` is not an integer"),
            )
        })?;
        let mut numbers: Vec<(usize, Decimal)> = Vec::with_capacity(n + 1);
        numbers.push((
            cap_line,
            Decimal::parse(cap_text).ok_or_else(|| {
                syntax(
                    cap_line,
                    format!("instance {name}: capacity `{cap_text}` is not a non-negative number"),
                )
            })?,
        ));
        for i in 0..n {
            let (l, t) = next("all item sizes")?;
            let d = Decimal::parse(t).ok_or_else(|| {
                syntax(
                    l,
                    format!(
                        "instance {name}: item {} size `{t}` is not a non-negative number",
                        i + 1
                    ),
                )
            })?;
            numbers.push((l, d));
        }
        let scale = numbers.iter().map(|(_, d)| d.decimals).max().unwrap_or(0);
        let mut scaled = Vec::with_capacity(numbers.len());
        for (l, d) in &numbers {
            scaled.push(
                d.scaled(scale)
                    .ok_or_else(|| syntax(*l, format!("instance {name}: number too large")))?,
            );
        }
        let capacity = scaled[0];
        if capacity <= 0 {
            return Err(syntax(
                cap_line,
                format!("instance {name}: capacity must be positive"),
            ));
        }
        instances.push(Instance {
            name,
            capacity: vec![capacity],
            items: scaled[1..].iter().map(|s| vec![*s]).collect(),
            optimum: best,
            optimum_source: OptimumSource::Header,
            negative_sizes_read_as_zero: 0,
        });
    }
    Ok(Some(instances))
}

/// A non-negative decimal number as written: digits and how many of them follow the point.
#[derive(Debug, Clone, Copy)]
struct Decimal {
    digits: i64,
    decimals: u32,
}

impl Decimal {
    fn parse(text: &str) -> Option<Self> {
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac = frac.trim_end_matches('0');
        let all = format!("{int}{frac}");
        let digits = if all.is_empty() { 0 } else { all.parse().ok()? };
        Some(Self {
            digits,
            decimals: u32::try_from(frac.len()).ok()?,
        })
    }

    fn scaled(self, decimals: u32) -> Option<i64> {
        let factor = 10i64.checked_pow(decimals.checked_sub(self.decimals)?)?;
        self.digits.checked_mul(factor)
    }
}

/// BPPLIB's bounds table: `name LB UB` per line (tabs or spaces, CRLF tolerated).
#[derive(Debug, Clone, Default)]
pub struct BoundsTable {
    entries: BTreeMap<String, (u64, u64)>,
}

impl BoundsTable {
    pub fn parse(text: &str, file: &str) -> Result<Self, QualityError> {
        let mut entries = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            let bad = || QualityError::Syntax {
                file: file.to_string(),
                line: i + 1,
                what: format!(
                    "expected `name lower-bound upper-bound`, found `{}`",
                    line.trim()
                ),
            };
            let [name, lb, ub] = fields[..] else {
                return Err(bad());
            };
            let lb: u64 = lb.parse().map_err(|_| bad())?;
            let ub: u64 = ub.parse().map_err(|_| bad())?;
            entries.insert(name.to_string(), (lb, ub));
        }
        Ok(Self { entries })
    }

    /// The proven optimum of an instance (lower bound equal to upper bound), looked up by its
    /// own name or with BPPLIB's `Falkenauer_` prefix.
    pub fn optimum(&self, name: &str) -> Option<u64> {
        [name.to_string(), format!("Falkenauer_{name}")]
            .iter()
            .find_map(|k| self.entries.get(k))
            .and_then(|&(lb, ub)| (lb == ub).then_some(ub))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
