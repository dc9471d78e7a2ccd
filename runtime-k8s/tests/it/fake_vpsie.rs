//! An in-memory VPSie for controller tests: add-worker creates a provisioning worker at once
//! (with a time the test sets), every call is recorded, and failures can be scripted.

use std::sync::Mutex;

use vpsie_autoscaler::cloud::{CloudError, CloudErrorKind, Vpsie, VpsieGroup, Worker};
use vpsie_engine::model::VpsieSize;

#[derive(Debug, Default)]
pub struct FakeVpsie {
    pub workers: Mutex<Vec<Worker>>,
    pub groups: Mutex<Vec<VpsieGroup>>,
    pub calls: Mutex<Vec<String>>,
    /// created_at of the next worker (milliseconds since the epoch).
    pub now_ms: Mutex<i64>,
    /// The next add-worker fails with this.
    pub fail_next_add: Mutex<Option<CloudError>>,
    next_id: Mutex<u32>,
}

impl FakeVpsie {
    pub fn with_group(id: i64, name: &str, size: u32) -> Self {
        let f = FakeVpsie::default();
        f.groups.lock().unwrap().push(VpsieGroup {
            id,
            name: name.to_string(),
            kube_size_id: size,
        });
        f
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    /// Moves every worker to `running`.
    pub fn run_all(&self) {
        for w in self.workers.lock().unwrap().iter_mut() {
            w.status = "running".into();
        }
    }

    fn call(&self, c: String) {
        self.calls.lock().unwrap().push(c);
    }
}

pub fn sizes() -> Vec<VpsieSize> {
    vpsie_autoscaler::oneshot::example_sizes()
}

impl Vpsie for FakeVpsie {
    async fn list_workers(&self, cluster: &str) -> Result<Vec<Worker>, CloudError> {
        self.call(format!("list_workers {cluster}"));
        Ok(self.workers.lock().unwrap().clone())
    }

    async fn list_groups(&self, cluster: &str) -> Result<Vec<VpsieGroup>, CloudError> {
        self.call(format!("list_groups {cluster}"));
        Ok(self.groups.lock().unwrap().clone())
    }

    async fn create_group(&self, cluster: &str, name: &str, size: u32) -> Result<(), CloudError> {
        self.call(format!("create_group {cluster} {name} {size}"));
        let mut groups = self.groups.lock().unwrap();
        if groups.iter().any(|g| g.kube_size_id == size) {
            return Err(CloudError::new(
                CloudErrorKind::SizeConflict,
                format!("Group {name} has same selected Size, please select another size"),
            ));
        }
        let id = 2000 + groups.len() as i64;
        groups.push(VpsieGroup {
            id,
            name: name.to_string(),
            kube_size_id: size,
        });
        Ok(())
    }

    async fn add_worker(&self, cluster: &str, group_id: i64) -> Result<(), CloudError> {
        self.call(format!("add_worker {cluster} {group_id}"));
        if let Some(e) = self.fail_next_add.lock().unwrap().take() {
            return Err(e);
        }
        let mut n = self.next_id.lock().unwrap();
        *n += 1;
        self.workers.lock().unwrap().push(Worker {
            identifier: format!("w-{:04}", *n),
            hostname: format!("test-slave-{:04}", *n),
            status: "provisioning".into(),
            group_id: Some(group_id),
            private_ip: Some(format!("10.0.0.{}", *n)),
            public_ip: None,
            created_at_ms: Some(*self.now_ms.lock().unwrap()),
        });
        Ok(())
    }

    async fn delete_worker(&self, cluster: &str, identifier: &str) -> Result<(), CloudError> {
        self.call(format!("delete_worker {cluster} {identifier}"));
        self.workers
            .lock()
            .unwrap()
            .retain(|w| w.identifier != identifier);
        Ok(())
    }

    async fn list_sizes(&self, datacenter: &str) -> Result<Vec<VpsieSize>, CloudError> {
        self.call(format!("list_sizes {datacenter}"));
        Ok(sizes())
    }
}
