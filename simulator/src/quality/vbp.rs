//! Reader of the vector bin packing `.vbp` format (VPSolver's, used by the Vectorpack
//! benchmarks) and of the `*_summary_known.csv` / `*_base_OPT.csv` optimum tables.
//!
//! `.vbp`: the number of dimensions `d`, the `d` capacities, the number of item lines `m`, then
//! `m` lines of `d` sizes and a multiplicity. Integers throughout.

use std::collections::BTreeMap;

use super::{Instance, OptimumSource, QualityError};

/// Parses one `.vbp` file; the optimum is filled in by the caller from the set's table.
pub fn parse_file(text: &str, file: &str, name: &str) -> Result<Instance, QualityError> {
    let mut tokens = text
        .lines()
        .enumerate()
        .flat_map(|(i, line)| line.split_whitespace().map(move |t| (i + 1, t)));
    let mut last_line = 1;
    let mut next_int = |what: &str, allow_negative: bool| -> Result<i64, QualityError> {
        let (line, t) = tokens.next().ok_or_else(|| QualityError::Syntax {
            file: file.to_string(),
            line: last_line,
            what: format!("file ends before {what}"),
        })?;
        last_line = line;
        t.parse::<i64>()
            .ok()
            .filter(|v| allow_negative || *v >= 0)
            .ok_or_else(|| QualityError::Syntax {
                file: file.to_string(),
                line,
                what: format!("{what}: `{t}` is not a non-negative integer"),
            })
    };
    let dims = next_int("the number of dimensions", false)?;
    if !(1..=16).contains(&dims) {
        return Err(QualityError::Syntax {
            file: file.to_string(),
            line: 1,
            what: format!("{dims} dimensions is outside 1..=16"),
        });
    }
    let dims = dims as usize;
    let mut capacity = Vec::with_capacity(dims);
    for d in 0..dims {
        capacity.push(next_int(&format!("capacity {}", d + 1), false)?);
    }
    let lines = next_int("the number of item lines", false)?;
    let mut items = Vec::new();
    let mut clamped = 0usize;
    for i in 0..lines {
        let mut size = Vec::with_capacity(dims);
        for d in 0..dims {
            // A few published Triplet files hold a size of -1 (a generator artefact): it is read
            // as 0, which keeps the planted optimal packing feasible, and counted.
            let v = next_int(&format!("item line {} size {}", i + 1, d + 1), true)?;
            if v < 0 {
                clamped += 1;
            }
            size.push(v.max(0));
        }
        let copies = next_int(&format!("item line {} multiplicity", i + 1), false)?;
        for _ in 0..copies {
            items.push(size.clone());
        }
    }
    Ok(Instance {
        name: name.to_string(),
        capacity,
        items,
        optimum: 0,
        optimum_source: OptimumSource::Table,
        negative_sizes_read_as_zero: clamped,
    })
}

/// Optimum per instance name from a tab-separated table with a header naming `instance_name`
/// and `OPT` columns. Unknown optima (`-1`) are absent.
pub fn parse_optima(text: &str, file: &str) -> Result<BTreeMap<String, u64>, QualityError> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Ok(BTreeMap::new());
    };
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    let column = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| QualityError::Syntax {
                file: file.to_string(),
                line: 1,
                what: format!("header has no `{name}` column"),
            })
    };
    let name_col = column("instance_name")?;
    let opt_col = column("OPT")?;
    let mut out = BTreeMap::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (Some(name), Some(opt)) = (fields.get(name_col), fields.get(opt_col)) else {
            return Err(QualityError::Syntax {
                file: file.to_string(),
                line: i + 1,
                what: "row has fewer columns than the header".to_string(),
            });
        };
        let opt: i64 = opt.parse().map_err(|_| QualityError::Syntax {
            file: file.to_string(),
            line: i + 1,
            what: format!("OPT `{opt}` is not an integer"),
        })?;
        if opt > 0 {
            out.insert((*name).to_string(), opt as u64);
        }
    }
    Ok(out)
}
