//! A scripted Kubernetes API server for tests: a `tower_test` mock service behind a real
//! `kube::Client`, answering from an in-memory object store (create, get, list with a
//! `spec.nodeName` field selector, merge patch, JSON patch, delete), recording every request,
//! and letting a test override answers (e.g. a 429 PDB refusal for one pod's eviction).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

/// One request the client sent.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path without the query.
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

impl Recorded {
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A test's override: `Some((status, body))` answers instead of the store.
pub type Override = Box<dyn FnMut(&Recorded) -> Option<(u16, Value)> + Send>;

#[derive(Default)]
struct Inner {
    objects: BTreeMap<String, Value>,
    requests: Vec<Recorded>,
    overrides: Vec<Override>,
    resource_version: u64,
}

/// The fake server; clone it freely.
#[derive(Clone, Default)]
pub struct ApiServer {
    inner: Arc<Mutex<Inner>>,
}

fn merge(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = json!({});
        }
        let t = target.as_object_mut().unwrap();
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    } else {
        *target = patch.clone();
    }
}

fn pointer_parent<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let (parent, last) = path.rsplit_once('/')?;
    let last = last.replace("~1", "/").replace("~0", "~");
    Some((doc.pointer_mut(parent)?, last))
}

fn json_patch(doc: &mut Value, ops: &Value) -> bool {
    for op in ops.as_array().into_iter().flatten() {
        let path = op["path"].as_str().unwrap_or("");
        match op["op"].as_str().unwrap_or("") {
            "test" => {
                if doc.pointer(path) != Some(&op["value"]) {
                    return false;
                }
            }
            "add" | "replace" => {
                let Some((parent, last)) = pointer_parent(doc, path) else {
                    return false;
                };
                match parent {
                    Value::Object(m) => {
                        m.insert(last, op["value"].clone());
                    }
                    Value::Array(a) if last == "-" => a.push(op["value"].clone()),
                    Value::Array(a) => match last.parse::<usize>() {
                        Ok(i) if i <= a.len() => a.insert(i, op["value"].clone()),
                        _ => return false,
                    },
                    _ => return false,
                }
            }
            "remove" => {
                let Some((parent, last)) = pointer_parent(doc, path) else {
                    return false;
                };
                match parent {
                    Value::Object(m) => {
                        m.remove(&last);
                    }
                    Value::Array(a) => match last.parse::<usize>() {
                        Ok(i) if i < a.len() => {
                            a.remove(i);
                        }
                        _ => return false,
                    },
                    _ => return false,
                }
            }
            _ => return false,
        }
    }
    true
}

fn not_found(path: &str) -> (u16, Value) {
    (
        404,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
               "message": format!("{path} not found"), "code": 404}),
    )
}

/// Decides, from a request's method and path, whether it reaches the server.
pub type Admit = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

impl ApiServer {
    /// Starts serving; returns a client talking to this server.
    pub fn client(&self) -> kube::Client {
        self.client_gated(Arc::new(|_: &str, _: &str| true))
    }

    /// A client whose requests pass through `admit` (given method and path) first: a refused
    /// request never reaches the store and gets a 503, as if the process had died before
    /// sending it (restart tests cut a controller off after its k-th write this way).
    pub fn client_gated(&self, admit: Admit) -> kube::Client {
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = self.clone();
        tokio::spawn(async move {
            while let Some((req, send)) = handle.next_request().await {
                let method = req.method().to_string();
                if !admit(&method, req.uri().path()) {
                    let resp = Response::builder()
                        .status(503)
                        .header("content-type", "application/json")
                        .body(Body::from(
                            br#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":503,"message":"controller crashed"}"#.to_vec(),
                        ))
                        .unwrap();
                    send.send_response(resp);
                    continue;
                }
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
                let rec = Recorded {
                    method,
                    path,
                    query,
                    content_type,
                    body,
                };
                let (status, answer) = server.answer(rec);
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

    /// Puts an object at its API path (e.g. `/api/v1/nodes/n1`).
    pub fn put(&self, path: &str, object: Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.objects.insert(path.to_string(), object);
    }

    /// Removes an object at once (no finalizers), as a controller outside the test would.
    pub fn remove(&self, path: &str) -> Option<Value> {
        self.inner.lock().unwrap().objects.remove(path)
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.inner.lock().unwrap().objects.get(path).cloned()
    }

    /// Paths of stored objects under a prefix.
    pub fn paths_under(&self, prefix: &str) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .objects
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn on(&self, f: impl FnMut(&Recorded) -> Option<(u16, Value)> + Send + 'static) {
        self.inner.lock().unwrap().overrides.push(Box::new(f));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// `METHOD path` of every request, in order.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests().iter().map(Recorded::line).collect()
    }

    fn answer(&self, rec: Recorded) -> (u16, Value) {
        let mut inner = self.inner.lock().unwrap();
        inner.requests.push(rec.clone());
        let mut overrides = std::mem::take(&mut inner.overrides);
        let mut answer = None;
        for o in &mut overrides {
            if let Some(a) = o(&rec) {
                answer = Some(a);
                break;
            }
        }
        inner.overrides = overrides;
        if let Some(a) = answer {
            return a;
        }
        inner.resource_version += 1;
        let rv = inner.resource_version.to_string();
        let path = rec.path.trim_end_matches("/status").to_string();
        match rec.method.as_str() {
            "GET" => {
                if let Some(o) = inner.objects.get(&path) {
                    return (200, o.clone());
                }
                // A collection: list what is under it (cluster-wide lists match any namespace).
                let kind_segment = path.rsplit('/').next().unwrap_or("").to_string();
                let node_filter = rec
                    .query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("fieldSelector="))
                    .map(|v| v.replace("%3D", "=").replace("%2F", "/"))
                    .and_then(|v| v.strip_prefix("spec.nodeName=").map(str::to_string));
                let items: Vec<Value> = inner
                    .objects
                    .iter()
                    .filter(|(k, _)| {
                        let mut parts = k.rsplitn(3, '/');
                        let _name = parts.next();
                        parts.next() == Some(kind_segment.as_str())
                            && (k.starts_with(&format!("{path}/"))
                                || !path.contains("/namespaces/"))
                    })
                    .map(|(_, v)| v.clone())
                    .filter(|v| {
                        node_filter
                            .as_ref()
                            .is_none_or(|n| v["spec"]["nodeName"].as_str() == Some(n.as_str()))
                    })
                    .collect();
                if items.is_empty() && !path.ends_with('s') {
                    return not_found(&path);
                }
                (
                    200,
                    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items}),
                )
            }
            "POST" => {
                if path.ends_with("/eviction") {
                    let pod = path.trim_end_matches("/eviction").to_string();
                    if inner.objects.remove(&pod).is_none() {
                        return not_found(&pod);
                    }
                    return (
                        201,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}),
                    );
                }
                let mut obj = rec.body.clone();
                let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
                let key = format!("{path}/{name}");
                if inner.objects.contains_key(&key) {
                    return (
                        409,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "AlreadyExists", "code": 409, "message": "exists"}),
                    );
                }
                obj["metadata"]["resourceVersion"] = json!(rv);
                obj["metadata"]["uid"] = json!(format!("uid-{name}"));
                obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
                inner.objects.insert(key, obj.clone());
                (201, obj)
            }
            "PATCH" => {
                let Some(obj) = inner.objects.get_mut(&path) else {
                    return not_found(&path);
                };
                if rec.content_type.contains("json-patch") {
                    let mut copy = obj.clone();
                    if !json_patch(&mut copy, &rec.body) {
                        return (
                            422,
                            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 422, "message": "patch failed"}),
                        );
                    }
                    *obj = copy;
                } else {
                    let mut patch = rec.body.clone();
                    if let Some(m) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.remove("resourceVersion");
                    }
                    merge(obj, &patch);
                }
                obj["metadata"]["resourceVersion"] = json!(rv);
                let answer = obj.clone();
                let gone = answer["metadata"]["deletionTimestamp"].is_string()
                    && answer["metadata"]["finalizers"]
                        .as_array()
                        .is_none_or(|f| f.is_empty());
                if gone {
                    inner.objects.remove(&path);
                }
                (200, answer)
            }
            "PUT" => {
                // Optimistic concurrency: a replace based on a stale read is refused.
                let sent = rec.body["metadata"]["resourceVersion"].as_str();
                let stored = inner
                    .objects
                    .get(&path)
                    .and_then(|o| o["metadata"]["resourceVersion"].as_str());
                if let (Some(sent), Some(stored)) = (sent, stored)
                    && sent != stored
                {
                    return (
                        409,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409, "message": "the object has been modified"}),
                    );
                }
                let mut obj = rec.body.clone();
                obj["metadata"]["resourceVersion"] = json!(rv);
                inner.objects.insert(path, obj.clone());
                (200, obj)
            }
            "DELETE" => {
                // Objects with finalizers only get a deletion timestamp, as in Kubernetes.
                if let Some(o) = inner.objects.get_mut(&path)
                    && o["metadata"]["finalizers"]
                        .as_array()
                        .is_some_and(|f| !f.is_empty())
                {
                    o["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
                    return (200, o.clone());
                }
                match inner.objects.remove(&path) {
                    Some(o) => (200, o),
                    None => not_found(&path),
                }
            }
            _ => (405, json!({})),
        }
    }
}
