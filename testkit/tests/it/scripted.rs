//! A scripted Kubernetes API server (kube-rs style): a `tower_test` mock service behind a real
//! `kube::Client`. A test queues the requests it expects, in order, each with a check and an
//! answer; the server answers them one by one and records every mismatch, and
//! [`Scripted::verify`] fails the test on a mismatch, an unexpected request or a missing one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

type Check = Box<dyn Fn(&Seen) -> Result<(), String> + Send>;

/// One expected request and its answer.
pub struct Step {
    method: &'static str,
    path: String,
    check: Check,
    status: u16,
    answer: Value,
}

impl Step {
    pub fn new(method: &'static str, path: impl Into<String>, answer: Value) -> Self {
        Self {
            method,
            path: path.into(),
            check: Box::new(|_| Ok(())),
            status: 200,
            answer,
        }
    }

    /// A check of the request; a panic inside it (e.g. a failed `assert_eq!`) is a mismatch.
    pub fn check(mut self, f: impl Fn(&Seen) + Send + 'static) -> Self {
        self.check = Box::new(move |s| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(s))).map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            })
        });
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }
}

/// A Kubernetes list.
pub fn list(items: Vec<Value>) -> Value {
    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
}

pub fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
           "message": "not found", "code": 404})
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Step>,
    seen: Vec<Seen>,
    failures: Vec<String>,
}

/// The scripted server; clone freely.
#[derive(Clone, Default)]
pub struct Scripted {
    inner: Arc<Mutex<Inner>>,
}

impl Scripted {
    /// Starts serving; returns a client talking to this server.
    pub fn client(&self) -> kube::Client {
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            while let Some((req, send)) = handle.next_request().await {
                let method = req.method().to_string();
                let path = req.uri().path().to_string();
                let query = req.uri().query().unwrap_or("").to_string();
                let content_type = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let bytes = req.into_body().collect_bytes().await.unwrap_or_default();
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let seen = Seen {
                    method,
                    path,
                    query,
                    content_type,
                    body,
                };
                let (status, answer) = {
                    let mut inner = inner.lock().unwrap();
                    let n = inner.seen.len();
                    inner.seen.push(seen.clone());
                    match inner.script.pop_front() {
                        None => {
                            inner.failures.push(format!(
                                "request {n}: unexpected {} {}?{}",
                                seen.method, seen.path, seen.query
                            ));
                            (
                                500,
                                json!({"kind": "Status", "code": 500, "message": "unscripted"}),
                            )
                        }
                        Some(step) => {
                            if (seen.method.as_str(), seen.path.as_str())
                                != (step.method, step.path.as_str())
                            {
                                inner.failures.push(format!(
                                    "request {n}: expected {} {}, got {} {}?{}",
                                    step.method, step.path, seen.method, seen.path, seen.query
                                ));
                            } else if let Err(m) = (step.check)(&seen) {
                                inner.failures.push(format!(
                                    "request {n} ({} {}): {m}",
                                    seen.method, seen.path
                                ));
                            }
                            (step.status, step.answer)
                        }
                    }
                };
                let resp = Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                    .unwrap();
                send.send_response(resp);
            }
        });
        kube::Client::new(svc, "default")
    }

    /// Queues the next expected requests.
    pub fn expect(&self, steps: impl IntoIterator<Item = Step>) {
        self.inner.lock().unwrap().script.extend(steps);
    }

    /// Fails the test unless every queued request came, in order, and passed its check.
    pub fn verify(&self) -> Vec<Seen> {
        let mut inner = self.inner.lock().unwrap();
        let missing: Vec<String> = inner
            .script
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect();
        assert!(
            inner.failures.is_empty(),
            "scripted API server: {:#?}",
            inner.failures
        );
        assert!(missing.is_empty(), "requests never sent: {missing:?}");
        std::mem::take(&mut inner.seen)
    }
}
