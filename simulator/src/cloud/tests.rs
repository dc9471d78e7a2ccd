//! Unit tests of the simulated cloud: lifecycle, limits, groups, faults, billing, determinism.

use super::*;

const CLUSTER: &str = "7c1d4e20-f8a1-11f0-9c3e-0050569c68dc";
const GROUP: i64 = 1187;

fn fixed(ms: i64) -> Delay {
    Delay::Fixed { ms }
}

fn cloud_with(delays: [i64; 4], faults: Vec<FaultRule>) -> Cloud {
    let config = CloudConfig {
        delays: Delays {
            create: fixed(delays[0]),
            boot: fixed(delays[1]),
            ready: fixed(delays[2]),
            delete: fixed(delays[3]),
        },
        faults,
        ..CloudConfig::default()
    };
    config.validate().unwrap();
    Cloud::new(config, 7)
}

fn kinds(events: &[CloudEvent]) -> Vec<(i64, CloudEventKind)> {
    events.iter().map(|e| (e.at_ms, e.kind)).collect()
}

#[test]
fn example_world_matches_the_specification() {
    let cloud = Cloud::new(CloudConfig::default(), 1);
    let cluster = cloud.cluster(CLUSTER).unwrap();
    assert_eq!(cluster.name, "HEL-Kubernetes-49ab");
    assert_eq!(
        cluster.masters[0].hostname,
        "HEL-Kubernetes-49ab-master-main"
    );
    let hostnames: Vec<_> = cluster
        .listed_workers()
        .iter()
        .map(|w| w.hostname.clone())
        .collect();
    assert_eq!(
        hostnames,
        [
            "hel-kubernetes-49ab-slave-11cc",
            "hel-kubernetes-49ab-slave-7f02"
        ]
    );
    assert_eq!(cluster.group_nodes_count(GROUP), 2);
    assert_eq!(cloud.sizes().len(), 6);
    assert_eq!(cloud.size(3).unwrap().hourly_price, 0.0274);
    assert_eq!(cloud.next_event_at(), None);
}

#[test]
fn an_add_walks_the_lifecycle_with_its_delays() {
    let mut cloud = cloud_with([1_000, 2_000, 3_000, 4_000], vec![]);
    let receipt = cloud.add_worker(100, CLUSTER, GROUP).unwrap();
    assert_eq!(receipt.materializes_at_ms, Some(1_100));
    assert!(receipt.hostname.starts_with("hel-kubernetes-49ab-slave-"));
    // Accepted but not listed yet.
    assert_eq!(cloud.cluster(CLUSTER).unwrap().listed_workers().len(), 2);
    assert_eq!(cloud.next_event_at(), Some(1_100));
    assert!(cloud.advance(1_099).is_empty());
    let events = cloud.advance(10_000);
    assert_eq!(
        kinds(&events),
        [
            (1_100, CloudEventKind::Provisioning),
            (3_100, CloudEventKind::Running),
            (6_100, CloudEventKind::NodeReady)
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.worker.identifier == receipt.identifier)
    );
    assert_eq!(cloud.cluster(CLUSTER).unwrap().group_nodes_count(GROUP), 3);

    cloud
        .delete_worker(20_000, CLUSTER, &receipt.identifier)
        .unwrap();
    let w = &cloud.cluster(CLUSTER).unwrap().workers[&receipt.identifier];
    assert_eq!(w.status.api_status(), Some("deleting"));
    // Deleting twice is accepted and changes nothing.
    cloud
        .delete_worker(20_500, CLUSTER, &receipt.identifier)
        .unwrap();
    assert_eq!(
        kinds(&cloud.advance(30_000)),
        [(24_000, CloudEventKind::Gone)]
    );
    assert_eq!(
        cloud.delete_worker(30_000, CLUSTER, &receipt.identifier),
        Err(CloudError::UnknownWorker {
            identifier: receipt.identifier.clone()
        })
    );
    assert_eq!(cloud.next_event_at(), None);
}

#[test]
fn worker_limit_counts_accepted_adds() {
    let mut cloud = cloud_with([60_000, 0, 0, 0], vec![]);
    for _ in 0..8 {
        cloud.add_worker(0, CLUSTER, GROUP).unwrap();
    }
    let err = cloud.add_worker(0, CLUSTER, GROUP).unwrap_err();
    assert_eq!(err, CloudError::WorkerLimit { limit: 10 });
    assert!(err.to_string().contains("exceeds the allowed limit"));
    assert_eq!(err.http_status(), 400);
}

#[test]
fn one_group_per_size_and_unique_names() {
    let mut cloud = cloud_with([0; 4], vec![]);
    let err = cloud.create_group(0, CLUSTER, "other", 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Group GRP-Advanced-c745 has same selected Size, please select another size"
    );
    let id = cloud.create_group(0, CLUSTER, "big", 6).unwrap();
    assert!(id > GROUP);
    assert!(matches!(
        cloud.create_group(0, CLUSTER, "big", 5),
        Err(CloudError::DuplicateGroupName { .. })
    ));
    assert!(matches!(
        cloud.create_group(0, CLUSTER, "x", 99),
        Err(CloudError::UnknownSize { size_id: 99 })
    ));
    assert!(matches!(
        cloud.add_worker(0, CLUSTER, 4242),
        Err(CloudError::UnknownGroup { .. })
    ));
    assert!(matches!(
        cloud.add_worker(0, "nope", GROUP),
        Err(CloudError::UnknownCluster { .. })
    ));
    // A non-empty group cannot be deleted; an empty one can, and its size is free again.
    assert!(matches!(
        cloud.delete_group(0, CLUSTER, "1187"),
        Err(CloudError::GroupNotEmpty { .. })
    ));
    let big = cloud
        .cluster(CLUSTER)
        .unwrap()
        .group(id)
        .unwrap()
        .identifier
        .clone();
    cloud.delete_group(0, CLUSTER, &big).unwrap();
    cloud.create_group(0, CLUSTER, "big2", 6).unwrap();
}

#[test]
fn reduce_removes_the_newest_worker() {
    let mut cloud = cloud_with([0, 0, 0, 1_000], vec![]);
    let receipt = cloud.add_worker(5_000, CLUSTER, GROUP).unwrap();
    cloud.advance(5_000);
    let removed = cloud.reduce(6_000, CLUSTER, Some(GROUP)).unwrap().unwrap();
    assert_eq!(removed.identifier, receipt.identifier);
    let next = cloud.reduce(6_000, CLUSTER, None).unwrap().unwrap();
    assert_ne!(next.identifier, receipt.identifier);
}

#[test]
fn call_faults_fire_in_their_window_and_count() {
    let rules = vec![
        FaultRule::always(FaultKind::ServerError { status: 502 })
            .on(&[ApiOp::AddWorker])
            .between(1_000, 2_000),
        FaultRule::always(FaultKind::RateLimited)
            .on(&[ApiOp::ListClusters])
            .times(2),
        FaultRule::always(FaultKind::ErrorOn200 {
            message: "oops".into(),
        })
        .on(&[ApiOp::Offers]),
    ];
    let mut cloud = cloud_with([0; 4], rules);
    assert!(cloud.add_worker(999, CLUSTER, GROUP).is_ok());
    assert_eq!(
        cloud.add_worker(1_000, CLUSTER, GROUP),
        Err(CloudError::ServerError { status: 502 })
    );
    assert!(cloud.add_worker(2_000, CLUSTER, GROUP).is_ok());
    assert_eq!(
        cloud.api_call(0, ApiOp::ListClusters, None),
        Err(CloudError::RateLimited)
    );
    assert_eq!(
        cloud.api_call(0, ApiOp::ListClusters, None),
        Err(CloudError::RateLimited)
    );
    assert_eq!(cloud.api_call(0, ApiOp::ListClusters, None), Ok(()));
    let err = cloud.api_call(0, ApiOp::Offers, None).unwrap_err();
    assert_eq!(
        (err.http_status(), err.envelope_code(), err.to_string()),
        (200, 500, "oops".into())
    );
}

#[test]
fn lost_and_late_adds() {
    let rules = vec![
        FaultRule::always(FaultKind::LostAdd).times(1),
        FaultRule::always(FaultKind::LateMaterialization { delay_ms: 900_000 }).times(1),
    ];
    let mut cloud = cloud_with([1_000, 0, 0, 0], rules);
    let lost = cloud.add_worker(0, CLUSTER, GROUP).unwrap();
    assert_eq!(lost.materializes_at_ms, None);
    assert_eq!(cloud.lost_adds(), 1);
    let late = cloud.add_worker(0, CLUSTER, GROUP).unwrap();
    assert_eq!(late.materializes_at_ms, Some(900_000));
    let normal = cloud.add_worker(0, CLUSTER, GROUP).unwrap();
    assert_eq!(normal.materializes_at_ms, Some(1_000));
    let events = cloud.advance(i64::MAX / 2);
    let provisioned: Vec<_> = events
        .iter()
        .filter(|e| e.kind == CloudEventKind::Provisioning)
        .map(|e| (e.at_ms, e.worker.identifier.clone()))
        .collect();
    assert_eq!(
        provisioned,
        [(1_000, normal.identifier), (900_000, late.identifier)]
    );
    assert!(
        !cloud
            .cluster(CLUSTER)
            .unwrap()
            .workers
            .contains_key(&lost.identifier)
    );
}

#[test]
fn failed_delete_reverts_and_stock_out_refuses() {
    let rules = vec![
        FaultRule::always(FaultKind::FailedDelete).times(1),
        FaultRule::always(FaultKind::StockOut { size_id: 3 }).between(0, 1_000),
    ];
    let mut cloud = cloud_with([0, 0, 0, 500], rules);
    let err = cloud.add_worker(0, CLUSTER, GROUP).unwrap_err();
    assert!(err.to_string().contains("out of stock"), "{err}");
    let worker = cloud.cluster(CLUSTER).unwrap().listed_workers()[0]
        .identifier
        .clone();
    cloud.delete_worker(0, CLUSTER, &worker).unwrap();
    assert_eq!(
        kinds(&cloud.advance(1_000)),
        [(500, CloudEventKind::DeleteFailed)]
    );
    assert_eq!(
        cloud.cluster(CLUSTER).unwrap().workers[&worker].status,
        WorkerStatus::Ready
    );
    cloud.delete_worker(1_000, CLUSTER, &worker).unwrap();
    assert_eq!(
        kinds(&cloud.advance(2_000)),
        [(1_500, CloudEventKind::Gone)]
    );
}

#[test]
fn scheduled_node_death() {
    let rule = FaultRule {
        from_ms: Some(5_000),
        ..FaultRule::always(FaultKind::NodeDeath {
            hostname: Some("HEL-kubernetes-49ab-slave-7f02".into()),
            interval_ms: None,
        })
    };
    let mut cloud = cloud_with([0; 4], vec![rule]);
    assert_eq!(cloud.next_event_at(), Some(5_000));
    let events = cloud.advance(5_000);
    assert_eq!(kinds(&events), [(5_000, CloudEventKind::Died)]);
    assert_eq!(events[0].worker.hostname, "hel-kubernetes-49ab-slave-7f02");
    let dead = cloud
        .cluster(CLUSTER)
        .unwrap()
        .find_by_hostname("hel-kubernetes-49ab-slave-7f02")
        .unwrap();
    assert_eq!(dead.status.api_status(), Some("stopped"));
}

#[test]
fn billing_rounds_up_started_units() {
    assert_eq!(BillingGranularity::PerHour.billed_ms(1), 3_600_000);
    assert_eq!(BillingGranularity::PerMinute.billed_ms(60_001), 120_000);
    assert_eq!(BillingGranularity::PerSecond.billed_ms(0), 0);
    let mut cloud = cloud_with([0, 0, 0, 0], vec![]);
    // Two initial workers of size 3 for 90 minutes: two started hours each.
    let bill = cloud.billing(5_400_000);
    assert!((bill.total_usd - 4.0 * 0.0274).abs() < 1e-9, "{bill:?}");
    assert_eq!(bill.worker_ms, 2 * 5_400_000);
    // A worker added at 1 h and deleted 10 minutes later costs one hour.
    let w = cloud.add_worker(3_600_000, CLUSTER, GROUP).unwrap();
    cloud.advance(3_600_000);
    cloud
        .delete_worker(3_600_000 + 600_000, CLUSTER, &w.identifier)
        .unwrap();
    cloud.advance(i64::MAX / 2);
    let bill = cloud.billing(7_200_000);
    assert!((bill.total_usd - 5.0 * 0.0274).abs() < 1e-9, "{bill:?}");
    assert_eq!(bill.groups["GRP-Advanced-c745"].workers, 3);
}

fn run_random_world(seed: u64) -> String {
    let config = CloudConfig {
        faults: vec![
            FaultRule::always(FaultKind::ServerError { status: 503 }).with_probability(0.2),
            FaultRule::always(FaultKind::LostAdd).with_probability(0.1),
            FaultRule {
                from_ms: Some(100_000),
                ..FaultRule::always(FaultKind::NodeDeath {
                    hostname: None,
                    interval_ms: Some(200_000),
                })
            },
        ],
        ..CloudConfig::default()
    };
    let mut cloud = Cloud::new(config, seed);
    let mut log = String::new();
    for step in 0..40i64 {
        let now = step * 30_000;
        for e in cloud.advance(now) {
            log.push_str(&format!(
                "{} {:?} {} {}\n",
                e.at_ms, e.kind, e.worker.hostname, e.worker.identifier
            ));
        }
        let r = cloud.add_worker(now, CLUSTER, GROUP);
        log.push_str(&format!("{now} add {r:?}\n"));
        if step % 3 == 0 {
            let first = cloud
                .cluster(CLUSTER)
                .unwrap()
                .listed_workers()
                .first()
                .map(|w| w.identifier.clone());
            if let Some(id) = first {
                log.push_str(&format!(
                    "{now} delete {:?}\n",
                    cloud.delete_worker(now, CLUSTER, &id)
                ));
            }
        }
    }
    log.push_str(&format!("{:?}\n", cloud.billing(1_200_000)));
    log
}

#[test]
fn same_seed_same_history_other_seed_other_history() {
    let a = run_random_world(42);
    assert_eq!(a, run_random_world(42));
    assert_ne!(a, run_random_world(43));
    assert!(a.contains("Died"), "{a}");
    assert!(a.contains("ServerError"), "{a}");
}

#[test]
fn delays_are_drawn_within_bounds() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let normal = Delay::Normal {
        mean_ms: 1_000,
        std_dev_ms: 5_000,
        min_ms: 100,
        max_ms: 2_000,
    };
    let uniform = Delay::uniform(10, 20);
    for _ in 0..1_000 {
        assert!((100..=2_000).contains(&normal.sample(&mut rng)));
        assert!((10..=20).contains(&uniform.sample(&mut rng)));
    }
    assert!(Delay::uniform(5, 1).validate("d").is_err());
}

#[test]
fn config_round_trips_through_json_and_refuses_bad_values() {
    let text = serde_json::to_string(&CloudConfig::default()).unwrap();
    let back: CloudConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(back, CloudConfig::default());
    let bad = CloudConfig {
        faults: vec![FaultRule::always(FaultKind::ServerError { status: 404 })],
        ..CloudConfig::default()
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .contains("faults[0].fault.status")
    );
    let json = r#"{"faults":[{"fault":{"kind":"lateMaterialization","delayMs":600000},"ops":["addWorker"],"probability":0.5}]}"#;
    let parsed: CloudConfig = serde_json::from_str(json).unwrap();
    assert_eq!(
        parsed.faults[0].fault,
        FaultKind::LateMaterialization { delay_ms: 600_000 }
    );
}
