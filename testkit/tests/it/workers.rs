//! The worker view of the simulated cloud: which workers have a kubelet, in which state, with
//! which capacity.

use vpsie_sim::cloud::{Cloud, CloudConfig, Delay, Delays};
use vpsie_testkit::{KubeletState, workers_of};

const CLUSTER: &str = "7c1d4e20-f8a1-11f0-9c3e-0050569c68dc";

fn cloud() -> Cloud {
    let config = CloudConfig {
        delays: Delays {
            create: Delay::Fixed { ms: 1_000 },
            boot: Delay::Fixed { ms: 1_000 },
            ready: Delay::Fixed { ms: 1_000 },
            delete: Delay::Fixed { ms: 1_000 },
        },
        ..CloudConfig::default()
    };
    Cloud::new(config, 7)
}

#[test]
fn the_example_workers_are_ready_with_their_sizes_capacity() {
    let views = workers_of(&cloud());
    assert_eq!(views.len(), 2, "{views:?}");
    for v in &views {
        assert_eq!(v.state, KubeletState::Ready);
        assert_eq!(v.node_name, v.node_name.to_lowercase());
        assert_eq!(v.size_name, "K8S-4C-8G");
        assert_eq!(v.capacity.cpu_milli, 4_000);
        assert_eq!(v.capacity.memory, 8_192 << 20);
        assert!(v.capacity.pods > 0);
        assert!(v.internal_ip.starts_with("10.10."), "{}", v.internal_ip);
        assert_eq!(v.group, "GRP-Advanced-c745");
    }
    let mut names: Vec<_> = views.iter().map(|v| v.node_name.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        views
            .iter()
            .map(|v| v.node_name.clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_new_worker_gets_a_kubelet_when_it_boots_and_loses_it_when_deleted() {
    let mut cloud = cloud();
    cloud.add_worker(0, CLUSTER, 1187).unwrap();
    let state_of_new = |cloud: &Cloud| workers_of(cloud).len();
    cloud.advance(500);
    assert_eq!(state_of_new(&cloud), 2, "accepted: no kubelet");
    cloud.advance(1_500);
    assert_eq!(state_of_new(&cloud), 2, "provisioning: no kubelet");
    cloud.advance(2_500);
    let views = workers_of(&cloud);
    assert_eq!(views.len(), 3);
    assert_eq!(
        views
            .iter()
            .filter(|v| v.state == KubeletState::NotReady)
            .count(),
        1,
        "booted: a NotReady kubelet"
    );
    cloud.advance(3_500);
    let views = workers_of(&cloud);
    assert!(
        views.iter().all(|v| v.state == KubeletState::Ready),
        "{views:?}"
    );
    let new = views
        .iter()
        .find(|v| {
            !workers_of(&self::cloud())
                .iter()
                .any(|o| o.identifier == v.identifier)
        })
        .unwrap()
        .clone();
    cloud
        .delete_worker(3_500, CLUSTER, &new.identifier)
        .unwrap();
    let views = workers_of(&cloud);
    let deleting = views
        .iter()
        .find(|v| v.identifier == new.identifier)
        .unwrap();
    assert_eq!(deleting.state, KubeletState::Silent);
    cloud.advance(5_000);
    assert!(
        workers_of(&cloud)
            .iter()
            .all(|v| v.identifier != new.identifier)
    );
}
