//! The workload: pods built from scenario templates, and arrival times drawn for generators.

use vpsie_engine::model::{Container, ContainerPort, OwnerRef, Pod, Resources};

use crate::des::{HOUR, SimRng, SimTime};
use crate::scenario::{ArrivalShape, DelaySpec, PodTemplate, Workload};

/// A template with the entry's own requests applied.
pub fn resolve_template(
    workload: &Workload,
    template: &Option<String>,
    requests: &Option<Resources>,
) -> PodTemplate {
    let mut t = template
        .as_ref()
        .and_then(|name| workload.templates.get(name))
        .cloned()
        .unwrap_or_default();
    if t.namespace.is_empty() {
        t.namespace = "default".to_string();
    }
    if let Some(r) = requests {
        t.requests = r.clone();
    }
    t
}

/// A pending pod named `name` from `template`, owned by `owner`, created at `now`.
pub fn make_pod(t: &PodTemplate, name: String, owner: Option<OwnerRef>, now: SimTime) -> Pod {
    let mut requests = t.requests.clone();
    // A pod requests one slot implicitly; a `pods` entry in a template would double count.
    requests.pods = 0;
    let ports = t
        .host_ports
        .iter()
        .map(|p| ContainerPort {
            container_port: Some(*p),
            host_port: Some(*p),
            protocol: "TCP".to_string(),
            host_ip: String::new(),
        })
        .collect();
    Pod {
        name,
        namespace: t.namespace.clone(),
        labels: t.labels.clone(),
        annotations: t.annotations.clone(),
        containers: vec![Container {
            name: "main".to_string(),
            requests,
            ports,
            restart_policy: None,
        }],
        init_containers: Vec::new(),
        overhead: Resources::default(),
        node_name: None,
        node_selector: t.node_selector.clone(),
        affinity: t.affinity.clone(),
        tolerations: t.tolerations.clone(),
        topology_spread_constraints: t.topology_spread_constraints.clone(),
        owner,
        priority: t.priority,
        volumes: t.volumes.clone(),
        created_at_ms: Some(now),
        termination_grace_period_seconds: t.termination_grace_period.map(|d| d.ms() / 1000),
    }
}

/// Draws one delay from a distribution.
pub fn draw_delay(d: &DelaySpec, rng: &mut SimRng) -> SimTime {
    match d {
        DelaySpec::Fixed(x) => x.ms(),
        DelaySpec::Uniform { min, max } => rng.between(min.ms(), max.ms()),
        DelaySpec::Normal {
            mean,
            std_dev,
            min,
            max,
        } => {
            let u1 = rng.unit().max(f64::MIN_POSITIVE);
            let u2 = rng.unit();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let x = (mean.ms() as f64 + z * std_dev.ms() as f64).round() as SimTime;
            x.clamp(min.ms(), max.ms().max(min.ms()))
        }
        DelaySpec::Exponential { mean } => rng.exponential_ms(mean.ms() as f64),
    }
}

/// Arrival rate (pods per hour) of a shape at time `t`, for the Poisson shapes.
fn rate_at(shape: &ArrivalShape, t: SimTime, from: SimTime, until: SimTime) -> f64 {
    match shape {
        ArrivalShape::Constant { per_hour } => *per_hour,
        ArrivalShape::Diurnal {
            mean_per_hour,
            amplitude,
            peak_at,
            period,
        } => {
            let phase = (t - peak_at.ms()) as f64 / period.ms().max(1) as f64;
            mean_per_hour * (1.0 + amplitude * (std::f64::consts::TAU * phase).cos())
        }
        ArrivalShape::Ramp {
            start_per_hour,
            end_per_hour,
        } => {
            let span = (until - from).max(1) as f64;
            let f = ((t - from) as f64 / span).clamp(0.0, 1.0);
            start_per_hour + (end_per_hour - start_per_hour) * f
        }
        ArrivalShape::Burst { .. } => 0.0,
    }
}

fn max_rate(shape: &ArrivalShape) -> f64 {
    match shape {
        ArrivalShape::Constant { per_hour } => *per_hour,
        ArrivalShape::Diurnal {
            mean_per_hour,
            amplitude,
            ..
        } => mean_per_hour * (1.0 + amplitude),
        ArrivalShape::Ramp {
            start_per_hour,
            end_per_hour,
        } => start_per_hour.max(*end_per_hour),
        ArrivalShape::Burst { .. } => 0.0,
    }
}

/// Arrival times of a generator within `[from, until)`: a (non-homogeneous) Poisson process by
/// thinning, or a burst spread uniformly. Sorted.
pub fn arrival_times(
    shape: &ArrivalShape,
    from: SimTime,
    until: SimTime,
    rng: &mut SimRng,
) -> Vec<SimTime> {
    if let ArrivalShape::Burst { count, spread } = shape {
        let mut out: Vec<SimTime> = (0..*count)
            .map(|_| from + rng.between(0, spread.ms()))
            .collect();
        out.sort_unstable();
        return out;
    }
    let peak = max_rate(shape);
    let mut out = Vec::new();
    if peak <= 0.0 || until <= from {
        return out;
    }
    let mean_gap = HOUR as f64 / peak;
    let mut t = from;
    loop {
        t += rng.exponential_ms(mean_gap).max(1);
        if t >= until {
            break;
        }
        let accept = rate_at(shape, t, from, until) / peak;
        if accept >= 1.0 || rng.chance(accept) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::SimDuration;

    #[test]
    fn constant_rate_gives_about_the_expected_count() {
        let mut rng = SimRng::new(3);
        let shape = ArrivalShape::Constant { per_hour: 600.0 };
        let n = arrival_times(&shape, 0, 10 * HOUR, &mut rng).len();
        assert!((5700..6300).contains(&n), "{n}");
    }

    #[test]
    fn diurnal_peaks_where_asked() {
        let mut rng = SimRng::new(4);
        let shape = ArrivalShape::Diurnal {
            mean_per_hour: 1000.0,
            amplitude: 0.8,
            peak_at: SimDuration(12 * HOUR),
            period: SimDuration(24 * HOUR),
        };
        let times = arrival_times(&shape, 0, 24 * HOUR, &mut rng);
        let near_peak = times
            .iter()
            .filter(|t| (11 * HOUR..13 * HOUR).contains(t))
            .count();
        let near_trough = times
            .iter()
            .filter(|t| **t < HOUR || **t >= 23 * HOUR)
            .count();
        assert!(near_peak > 4 * near_trough, "{near_peak} vs {near_trough}");
    }

    #[test]
    fn burst_stays_in_its_window() {
        let mut rng = SimRng::new(5);
        let shape = ArrivalShape::Burst {
            count: 50,
            spread: SimDuration(60_000),
        };
        let times = arrival_times(&shape, 1000, 99_999_999, &mut rng);
        assert_eq!(times.len(), 50);
        assert!(times.iter().all(|t| (1000..=61_000).contains(t)));
    }
}
