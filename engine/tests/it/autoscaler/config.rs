//! Configuration: defaults, both file formats, the shipped examples, and a bad-input table.

use std::path::PathBuf;

use vpsie_engine::autoscaler::config::MemoryBytes;
use vpsie_engine::autoscaler::{AutoscalerConfig, ConfigError, DurationMs};

#[test]
fn empty_document_gives_defaults() {
    for text in ["", "# nothing\n", "---\n", "{}"] {
        assert_eq!(
            AutoscalerConfig::from_text(text, "c.yaml").unwrap(),
            AutoscalerConfig::default(),
            "{text:?}"
        );
    }
}

#[test]
fn defaults_are_as_documented() {
    let c = AutoscalerConfig::default();
    assert_eq!(c.scan_interval, DurationMs::from_secs(10));
    assert_eq!(c.scale_down.unneeded_time, DurationMs::from_mins(10));
    assert_eq!(c.scale_down.delay_after_add, DurationMs::from_mins(10));
    assert_eq!(c.scale_down.delay_after_delete, DurationMs::ZERO);
    assert_eq!(c.scale_down.delay_after_failure, DurationMs::from_mins(3));
    assert_eq!(c.scale_up.new_pod_delay, DurationMs::ZERO);
    assert_eq!(
        c.lifecycle.max_node_provision_time,
        DurationMs::from_mins(15)
    );
    assert_eq!(c.backoff.initial, DurationMs::from_mins(5));
    assert_eq!(c.backoff.max, DurationMs::from_mins(30));
    assert_eq!(c.backoff.reset_after, DurationMs::from_hours(3));
    assert_eq!(c.scale_down.max_empty_bulk_delete, 10);
    assert_eq!(c.scale_down.utilization_threshold, 0.5);
    assert_eq!(c.scale_up.expander, "least-cost");
    c.validate().unwrap();
}

#[test]
fn yaml_and_json_round_trip() {
    let mut c = AutoscalerConfig::default();
    c.limits.max_total_memory = Some(MemoryBytes(512 << 30));
    c.limits.max_nodes_total = Some(50);
    c.scale_down.unneeded_time = DurationMs(5_400_000);
    let yaml = c.to_yaml();
    assert!(yaml.contains("unneededTime: 1h30m"), "{yaml}");
    assert!(yaml.contains("maxTotalMemory: 512Gi"), "{yaml}");
    assert_eq!(AutoscalerConfig::from_text(&yaml, "c.yaml").unwrap(), c);
    let json = serde_json::to_string_pretty(&c).unwrap();
    assert_eq!(AutoscalerConfig::from_text(&json, "c.json").unwrap(), c);
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn shipped_examples_load_and_agree() {
    let dir = workspace_root().join("examples/config");
    let yaml_path = dir.join("autoscaler.yaml");
    let json_path = dir.join("autoscaler.json");
    let yaml = std::fs::read_to_string(&yaml_path).unwrap();
    let json = std::fs::read_to_string(&json_path).unwrap();
    let a = AutoscalerConfig::from_text(&yaml, "autoscaler.yaml").unwrap();
    let b = AutoscalerConfig::from_text(&json, "autoscaler.json").unwrap();
    assert_eq!(
        a, b,
        "the YAML and JSON examples must describe the same configuration"
    );
    assert!(
        !a.node_groups.is_empty(),
        "the example shows a per-group override"
    );
}

/// (name, text, field the error must name, line it must point at)
const BAD: &[(&str, &str, &str, Option<usize>)] = &[
    (
        "negative duration",
        "scanInterval: 10s\nscaleDown:\n  unneededTime: -5m\n",
        "scaleDown.unneededTime",
        Some(3),
    ),
    (
        "duration without unit",
        "scaleDown:\n  delayAfterAdd: 10\n",
        "scaleDown.delayAfterAdd",
        Some(2),
    ),
    (
        "unknown duration unit",
        "lifecycle:\n  maxNodeProvisionTime: 15 minutes\n",
        "lifecycle.maxNodeProvisionTime",
        Some(2),
    ),
    (
        "fractional duration",
        "backoff:\n  initial: 1.5m\n",
        "backoff.initial",
        Some(2),
    ),
    (
        "zero scan interval",
        "scanInterval: 0s\n",
        "scanInterval",
        Some(1),
    ),
    (
        "zero unready node timeout",
        "lifecycle:\n  unreadyNodeTimeout: 0s\n",
        "lifecycle.unreadyNodeTimeout",
        Some(2),
    ),
    (
        "unknown expander",
        "scaleUp:\n  expander: cheapest\n",
        "scaleUp.expander",
        Some(2),
    ),
    (
        "threshold above 1",
        "scaleDown:\n  utilizationThreshold: 1.5\n",
        "scaleDown.utilizationThreshold",
        Some(2),
    ),
    (
        "threshold below 0",
        "scaleDown:\n  utilizationThreshold: -0.1\n",
        "scaleDown.utilizationThreshold",
        Some(2),
    ),
    (
        "group threshold",
        "nodeGroups:\n  web:\n    utilizationThreshold: 2\n",
        "nodeGroups.web.utilizationThreshold",
        Some(3),
    ),
    (
        "backoff initial above max",
        "backoff:\n  initial: 1h\n  max: 30m\n",
        "backoff.initial",
        Some(2),
    ),
    (
        "unknown field",
        "scaleDown:\n  unneededTme: 5m\n",
        "scaleDown",
        Some(2),
    ),
    (
        "wrong type",
        "scaleUp:\n  maxConcurrent: many\n",
        "scaleUp.maxConcurrent",
        Some(2),
    ),
    (
        "zero max nodes",
        "limits:\n  maxNodesTotal: 0\n",
        "limits.maxNodesTotal",
        Some(2),
    ),
    (
        "bad memory",
        "limits:\n  maxTotalMemory: lots\n",
        "limits.maxTotalMemory",
        Some(2),
    ),
    (
        "zero parallelism",
        "scaleDown:\n  maxParallelism: 0\n",
        "scaleDown.maxParallelism",
        Some(2),
    ),
    (
        "drain above removal parallelism",
        "scaleDown:\n  maxParallelism: 2\n  maxDrainParallelism: 3\n",
        "scaleDown.maxDrainParallelism",
        Some(3),
    ),
    (
        "percentage above 100",
        "health:\n  maxUnreadyPercentage: 150\n",
        "health.maxUnreadyPercentage",
        Some(2),
    ),
    (
        "negative balance",
        "consolidation:\n  balance: -1\n",
        "consolidation.balance",
        Some(2),
    ),
    (
        "json negative duration",
        "{\n  \"scaleDown\": {\n    \"delayAfterFailure\": \"-3m\"\n  }\n}",
        "scaleDown.delayAfterFailure",
        Some(3),
    ),
    (
        "json unknown expander",
        "{\"scaleUp\": {\"expander\": \"nope\"}}",
        "scaleUp.expander",
        Some(1),
    ),
    ("yaml syntax", "scaleDown: [unclosed\n", "", None),
];

#[test]
fn bad_input_is_rejected_with_file_line_and_field() {
    for (name, text, field, line) in BAD {
        let err = AutoscalerConfig::from_text(text, "cfg/autoscaler.yaml").expect_err(name);
        let shown = err.to_string();
        assert!(shown.starts_with("cfg/autoscaler.yaml"), "{name}: {shown}");
        assert!(
            err.field().starts_with(field),
            "{name}: field {} in {shown}",
            err.field()
        );
        let err_line = match &err {
            ConfigError::Parse { line, .. } | ConfigError::Invalid { line, .. } => *line,
        };
        if line.is_some() {
            assert_eq!(err_line, *line, "{name}: {shown}");
        }
    }
}

#[test]
fn error_messages_read_well() {
    let err =
        AutoscalerConfig::from_text("scaleDown:\n  unneededTime: -5m\n", "a.yaml").unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"a.yaml:2:17: field `scaleDown.unneededTime`: duration `-5m` is negative; durations must be zero or more");
    let err =
        AutoscalerConfig::from_text("scaleUp:\n  expander: cheapest\n", "a.yaml").unwrap_err();
    insta::assert_snapshot!(err.to_string(), @"a.yaml:2: field `scaleUp.expander`: unknown expander `cheapest`; expected one of least-cost, least-waste, most-pods, priority, random");
}

#[test]
fn durations_parse_strictly() {
    let ok = [
        ("0", 0),
        ("0s", 0),
        ("250ms", 250),
        ("30s", 30_000),
        ("10m", 600_000),
        ("3h", 10_800_000),
        ("1h30m", 5_400_000),
        ("1d", 86_400_000),
    ];
    for (text, ms) in ok {
        assert_eq!(DurationMs::parse(text), Ok(DurationMs(ms)), "{text}");
    }
    for bad in [
        "",
        "-1s",
        "10",
        "1.5m",
        "5 m",
        "m",
        "10x",
        "99999999999999999999h",
    ] {
        assert!(
            DurationMs::parse(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }
    assert_eq!(DurationMs(5_400_250).to_string(), "1h30m250ms");
}

#[test]
fn validation_never_panics_on_extreme_values() {
    let mut c = AutoscalerConfig::default();
    c.scale_down.utilization_threshold = f64::NAN;
    assert!(c.validate().is_err());
    c = AutoscalerConfig::default();
    c.scale_down.unneeded_time = DurationMs(-1);
    assert_eq!(c.validate().unwrap_err().field(), "scaleDown.unneededTime");
    c = AutoscalerConfig::default();
    c.health.max_unready_percentage = f64::INFINITY;
    assert!(c.validate().is_err());
}
