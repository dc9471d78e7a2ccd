//! Kubernetes Events (events.k8s.io/v1) explaining decisions: on pending pods that get no
//! scale-up, and on nodes that are not removed. An event is repeated only when its reason
//! changes or after `repeat_after`, so a stuck pod does not flood the API server.

use std::collections::BTreeMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::ResourceExt;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use vpsie_engine::autoscaler::Decision;

use crate::snapshot::ClusterObjects;

/// Publishes explanation events, deduplicated per object and reason.
pub struct EventPublisher {
    recorder: Recorder,
    repeat_after_ms: i64,
    last: Mutex<BTreeMap<String, (String, i64)>>,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher").finish_non_exhaustive()
    }
}

impl EventPublisher {
    pub fn new(client: kube::Client, instance: Option<String>) -> Self {
        Self {
            recorder: Recorder::new(
                client,
                Reporter {
                    controller: "vpsie-autoscaler".into(),
                    instance,
                },
            ),
            repeat_after_ms: 10 * 60 * 1000,
            last: Mutex::new(BTreeMap::new()),
        }
    }

    fn should_send(&self, key: &str, code: &str, now_ms: i64) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match last.get(key) {
            Some((c, at)) if c == code && now_ms - at < self.repeat_after_ms => false,
            _ => {
                last.insert(key.to_string(), (code.to_string(), now_ms));
                true
            }
        }
    }

    async fn send(&self, reference: &ObjectReference, reason: &str, note: String, action: &str) {
        let ev = Event {
            type_: EventType::Normal,
            reason: reason.to_string(),
            note: Some(note.chars().take(1000).collect()),
            action: action.to_string(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, reference).await {
            tracing::debug!(error = %e, "event not published");
        }
    }

    /// Events for one decision: unschedulable pods and nodes kept (notes on `node/...`).
    pub async fn publish(&self, decision: &Decision, objects: &ClusterObjects) {
        let now = decision.now_ms;
        for p in &decision.scale_up.unschedulable {
            let key = format!("pod/{}", p.pod);
            if !self.should_send(&key, &p.code, now) {
                continue;
            }
            let Some((ns, name)) = p.pod.split_once('/') else {
                continue;
            };
            let Some(pod) = objects
                .pods
                .iter()
                .find(|o| o.name_any() == name && o.namespace().as_deref() == Some(ns))
            else {
                continue;
            };
            self.send(
                &pod.object_ref(&()),
                "NotTriggerScaleUp",
                format!("[{}] {}", p.code, p.sentence),
                "ScaleUp",
            )
            .await;
        }
        for n in &decision.notes {
            let Some(node) = n.subject.strip_prefix("node/") else {
                continue;
            };
            let code = n.reason.code().to_string();
            if !self.should_send(&n.subject, &code, now) {
                continue;
            }
            let Some(obj) = objects.nodes.iter().find(|o| o.name_any() == node) else {
                continue;
            };
            self.send(
                &obj.object_ref(&()),
                "ScaleDownBlocked",
                format!("[{code}] {}", n.reason.sentence(now)),
                "ScaleDown",
            )
            .await;
        }
    }
}
