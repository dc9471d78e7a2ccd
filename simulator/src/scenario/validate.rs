//! Checks a parsed scenario for what serde cannot: references, ranges, ordering.

use std::collections::BTreeSet;

use super::format::{ArrivalShape, DelaySpec, FaultKind};
use super::load::{LoadedScenario, ScenarioError};

/// Validates cross references and ranges; the first problem found is returned.
pub fn validate(l: &LoadedScenario) -> Result<(), ScenarioError> {
    let s = &l.scenario;
    if s.name.trim().is_empty() {
        return Err(l.invalid("name", "must not be empty"));
    }
    if s.duration.ms() <= 0 {
        return Err(l.invalid("duration", "must be longer than zero"));
    }
    if let Some(i) = s.sample_interval
        && i.ms() <= 0
    {
        return Err(l.invalid("sampleInterval", "must be longer than zero"));
    }
    let sizes = super::effective_sizes(s);
    let size_names: BTreeSet<&str> = sizes.iter().map(|z| z.name.as_str()).collect();
    let mut size_ids = BTreeSet::new();
    for (i, z) in sizes.iter().enumerate() {
        if !size_ids.insert(z.id) {
            return Err(l.invalid(
                &format!("cluster.sizes[{i}].id"),
                format!("size id {} appears twice", z.id),
            ));
        }
        if !(z.hourly_price.is_finite() && z.hourly_price >= 0.0) {
            return Err(l.invalid(
                &format!("cluster.sizes[{i}].hourlyPrice"),
                "must be a non-negative number",
            ));
        }
    }
    if s.cluster.node_groups.is_empty() {
        return Err(l.invalid("cluster.nodeGroups", "at least one node group is needed"));
    }
    let mut groups = BTreeSet::new();
    let mut group_sizes = BTreeSet::new();
    for (i, g) in s.cluster.node_groups.iter().enumerate() {
        let at = format!("cluster.nodeGroups[{i}]");
        if !groups.insert(g.name.as_str()) {
            return Err(l.invalid(
                &format!("{at}.name"),
                format!("group `{}` appears twice", g.name),
            ));
        }
        if !size_names.contains(g.size.as_str()) {
            return Err(l.invalid(
                &format!("{at}.size"),
                format!(
                    "size `{}` is not in the catalogue (known: {})",
                    g.size,
                    join(&size_names)
                ),
            ));
        }
        if !group_sizes.insert(g.size.as_str()) {
            return Err(l.invalid(
                &format!("{at}.size"),
                format!(
                    "VPSie allows one group per size; `{}` is used twice",
                    g.size
                ),
            ));
        }
        if g.min > g.max {
            return Err(l.invalid(
                &format!("{at}.min"),
                format!("min {} exceeds max {}", g.min, g.max),
            ));
        }
    }
    for (g, n) in &s.cluster.initial_nodes {
        let field = format!("cluster.initialNodes.{g}");
        let Some(group) = s.cluster.node_groups.iter().find(|x| &x.name == g) else {
            return Err(l.invalid(&field, format!("no node group named `{g}`")));
        };
        if *n > group.max {
            return Err(l.invalid(
                &field,
                format!("{n} nodes exceed the group's max {}", group.max),
            ));
        }
    }
    if s.cloud.worker_limit == 0 {
        return Err(l.invalid("cloud.workerLimit", "must be at least 1"));
    }
    for (name, d) in [
        ("createDelay", &s.cloud.create_delay),
        ("bootDelay", &s.cloud.boot_delay),
        ("readyDelay", &s.cloud.ready_delay),
        ("deleteDelay", &s.cloud.delete_delay),
    ] {
        check_delay(l, &format!("cloud.{name}"), d)?;
        if matches!(d, DelaySpec::Exponential { .. }) {
            return Err(l.invalid(
                &format!("cloud.{name}"),
                "cloud delays are fixed, uniform or normal (an exponential has no upper bound)",
            ));
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        let at = format!("faults[{i}]");
        if !(0.0..=1.0).contains(&f.probability) {
            return Err(l.invalid(&format!("{at}.probability"), "must be between 0 and 1"));
        }
        if let Some(until) = f.until
            && until < f.at
        {
            return Err(l.invalid(&format!("{at}.until"), "ends before it starts"));
        }
        match f.kind {
            FaultKind::StockOut => match &f.size {
                None => return Err(l.invalid(&format!("{at}.size"), "a stock-out needs a size")),
                Some(z) if !size_names.contains(z.as_str()) => {
                    return Err(l.invalid(&format!("{at}.size"), format!("unknown size `{z}`")));
                }
                Some(_) => {}
            },
            FaultKind::NodeDeath if f.count == 0 => {
                return Err(l.invalid(&format!("{at}.count"), "must be at least 1"));
            }
            _ => {}
        }
    }
    validate_workload(l)?;
    if s.autoscaler.file.is_some() && s.autoscaler.config.is_some() {
        return Err(l.invalid("autoscaler", "give either `file` or `config`, not both"));
    }
    Ok(())
}

fn validate_workload(l: &LoadedScenario) -> Result<(), ScenarioError> {
    let w = &l.scenario.workload;
    let check_template = |field: &str, t: &Option<String>| -> Result<(), ScenarioError> {
        match t {
            Some(name) if !w.templates.contains_key(name) => Err(l.invalid(
                field,
                format!("no template named `{name}` in workload.templates"),
            )),
            _ => Ok(()),
        }
    };
    let mut names = BTreeSet::new();
    let mut unique = |field: String, name: &str| -> Result<(), ScenarioError> {
        if name.is_empty() {
            return Err(l.invalid(&field, "must not be empty"));
        }
        if !names.insert(name.to_string()) {
            return Err(l.invalid(
                &field,
                format!("the name `{name}` is used twice in the workload"),
            ));
        }
        Ok(())
    };
    for (i, p) in w.pods.iter().enumerate() {
        unique(format!("workload.pods[{i}].name"), &p.name)?;
        check_template(&format!("workload.pods[{i}].template"), &p.template)?;
        if p.count == 0 {
            return Err(l.invalid(&format!("workload.pods[{i}].count"), "must be at least 1"));
        }
    }
    for (i, d) in w.deployments.iter().enumerate() {
        unique(format!("workload.deployments[{i}].name"), &d.name)?;
        check_template(&format!("workload.deployments[{i}].template"), &d.template)?;
        if d.replicas.is_empty() {
            return Err(l.invalid(
                &format!("workload.deployments[{i}].replicas"),
                "needs at least one step",
            ));
        }
        if d.replicas.windows(2).any(|w| w[1].at < w[0].at) {
            return Err(l.invalid(
                &format!("workload.deployments[{i}].replicas"),
                "steps must be sorted by `at`",
            ));
        }
        if let Some(pdb) = &d.pdb
            && pdb.min_available.is_some() == pdb.max_unavailable.is_some()
        {
            return Err(l.invalid(
                &format!("workload.deployments[{i}].pdb"),
                "give exactly one of minAvailable and maxUnavailable",
            ));
        }
    }
    for (i, j) in w.jobs.iter().enumerate() {
        let at = format!("workload.jobs[{i}]");
        unique(format!("{at}.name"), &j.name)?;
        check_template(&format!("{at}.template"), &j.template)?;
        if j.completions == 0 {
            return Err(l.invalid(&format!("{at}.completions"), "must be at least 1"));
        }
        if j.parallelism == 0 {
            return Err(l.invalid(&format!("{at}.parallelism"), "must be at least 1"));
        }
        check_delay(l, &format!("{at}.duration"), &j.duration)?;
    }
    for (i, g) in w.generators.iter().enumerate() {
        let at = format!("workload.generators[{i}]");
        unique(format!("{at}.name"), &g.name)?;
        check_template(&format!("{at}.template"), &g.template)?;
        check_delay(l, &format!("{at}.lifetime"), &g.lifetime)?;
        let rate_ok = |x: f64| x.is_finite() && (0.0..=1e7).contains(&x);
        match &g.shape {
            ArrivalShape::Constant { per_hour } if !rate_ok(*per_hour) => {
                return Err(l.invalid(
                    &format!("{at}.shape.perHour"),
                    "must be between 0 and 10,000,000",
                ));
            }
            ArrivalShape::Diurnal {
                mean_per_hour,
                amplitude,
                period,
                ..
            } => {
                if !rate_ok(*mean_per_hour) {
                    return Err(l.invalid(
                        &format!("{at}.shape.meanPerHour"),
                        "must be between 0 and 10,000,000",
                    ));
                }
                if !(0.0..=1.0).contains(amplitude) {
                    return Err(
                        l.invalid(&format!("{at}.shape.amplitude"), "must be between 0 and 1")
                    );
                }
                if period.ms() <= 0 {
                    return Err(
                        l.invalid(&format!("{at}.shape.period"), "must be longer than zero")
                    );
                }
            }
            ArrivalShape::Ramp {
                start_per_hour,
                end_per_hour,
            } if !rate_ok(*start_per_hour) || !rate_ok(*end_per_hour) => {
                return Err(l.invalid(
                    &format!("{at}.shape"),
                    "rates must be between 0 and 10,000,000",
                ));
            }
            _ => {}
        }
        if let Some(until) = g.until
            && until < g.from
        {
            return Err(l.invalid(&format!("{at}.until"), "ends before `from`"));
        }
    }
    Ok(())
}

fn check_delay(l: &LoadedScenario, field: &str, d: &DelaySpec) -> Result<(), ScenarioError> {
    if let DelaySpec::Uniform { min, max } = d
        && min > max
    {
        return Err(l.invalid(field, format!("min {min} exceeds max {max}")));
    }
    Ok(())
}

fn join(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(", ")
}
