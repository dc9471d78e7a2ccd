//! The API routes (specification §4), the authentication and journal middleware, responses.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use vpsie_api::envelope::{Envelope, ErrorBody};
use vpsie_api::{
    AddWorkerData, AddedWorker, CreateGroupData, CreateGroupRequest, DeleteWorkerRequest,
    LoginRequest, LoginResponse, OffersRequest, ReduceRequest, TokenInfo, TokenPair, paths,
};

use super::render;
use super::state::{RecordedRequest, Shared};
use crate::cloud::{ApiOp, CloudError};

/// Largest request body the mock reads.
const MAX_REQUEST_BODY: usize = 64 * 1024;

pub(crate) fn api_router() -> Router<Shared> {
    Router::new()
        .route(paths::LOGIN, post(login))
        .route(paths::CLUSTERS, get(list_clusters))
        .route("/k8s/cluster/byId/{cid}", get(get_cluster))
        .route("/k8s/node/groups/byClusterId/{cid}", get(list_groups))
        .route(paths::CREATE_GROUP, post(create_group))
        .route("/k8s/cluster/delete/group/{guuid}", delete(delete_group))
        .route(
            "/k8s/cluster/byId/{cid}/add/slave/group/{gid}",
            post(add_worker),
        )
        .route(
            "/k8s/cluster/byId/{cid}/delete/slave",
            delete(delete_worker),
        )
        .route("/k8s/cluster/byId/{cid}/reduce/slave", delete(reduce_group))
        .route("/k8s/cluster/byId/{cid}/reduce", delete(reduce_cluster))
        .route(paths::OFFERS, post(offers))
        .route(paths::DATACENTERS, get(datacenters))
        .route(paths::PROJECTS, get(projects))
        .route(paths::VMS, get(vms))
}

pub(crate) fn error_response(status: u16, code: i64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &ErrorBody::new(code, message))
}

pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn ok<T: Serialize>(data: T) -> Response {
    json_response(StatusCode::OK, &Envelope::ok(data))
}

fn cloud_error(error: &CloudError) -> Response {
    error_response(
        error.http_status(),
        i64::from(error.envelope_code()),
        &error.to_string(),
    )
}

fn bad_request(message: &str) -> Response {
    error_response(400, 400, message)
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the early-return response itself"
)]
fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| bad_request(&format!("Invalid request body: {e}")))
}

/// Records the request, then checks the token on every route but login.
pub(crate) async fn gatekeeper(
    State(shared): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REQUEST_BODY).await else {
        return error_response(413, 413, "Request body too large");
    };
    let full_path = parts.uri.path().to_string();
    let Some((prefix, path)) = paths::PREFIXES
        .iter()
        .find_map(|p| full_path.strip_prefix(p).map(|rest| (*p, rest)))
    else {
        return error_response(404, 404, "Route not found");
    };
    let is_login = path == paths::LOGIN;
    {
        let mut inner = shared.lock();
        inner.record(RecordedRequest {
            method: parts.method.to_string(),
            path: path.to_string(),
            prefix: prefix.to_string(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            // Login bodies carry the client secret: never journal them.
            body: if is_login {
                "<redacted>".to_string()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            },
        });
        if !is_login {
            let valid = presented_token(&parts.headers).is_some_and(|t| inner.token_valid(t));
            if !valid {
                return error_response(401, 401, "Unauthorized");
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The token from `Vpsie-Auth`, else from `Authorization: Bearer`.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers.get("vpsie-auth").and_then(|v| v.to_str().ok()) {
        return Some(token.trim());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Runs a read-only route: advances the cloud, applies call faults, renders.
fn read(
    shared: &Shared,
    op: ApiOp,
    cluster: Option<&str>,
    render: impl FnOnce(&super::state::Inner) -> Result<Response, CloudError>,
) -> Response {
    let mut inner = shared.lock();
    let now = inner.tick();
    if let Err(e) = inner.cloud.api_call(now, op, cluster) {
        return cloud_error(&e);
    }
    render(&inner).unwrap_or_else(|e| cloud_error(&e))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the early-return response itself"
)]
fn parse_login(headers: &HeaderMap, body: &Bytes) -> Result<LoginRequest, Response> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return parse_json(body);
    }
    let text = String::from_utf8_lossy(body);
    let mut request = LoginRequest::default();
    for pair in text.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match percent_decode(key).as_str() {
            "clientId" => request.client_id = percent_decode(value),
            "clientSecret" => request.client_secret = percent_decode(value),
            _ => {}
        }
    }
    Ok(request)
}

async fn login(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let request = match parse_login(&headers, &body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let mut inner = shared.lock();
    let now = inner.tick();
    if let Err(e) = inner.cloud.api_call(now, ApiOp::Login, None) {
        return cloud_error(&e);
    }
    let known = inner
        .auth
        .clients
        .iter()
        .any(|c| c.client_id == request.client_id && c.client_secret == request.client_secret);
    if inner.auth.login_failure || !known {
        return error_response(401, 401, "Invalid credentials");
    }
    let (access, access_expires) = inner.issue_session();
    let refresh_expires = access_expires + 86_400_000;
    let access = TokenInfo {
        token: access,
        expires: vpsie_api::time::format_rfc3339(access_expires),
    };
    let refresh = TokenInfo {
        token: format!("refresh-{}", inner.logins),
        expires: vpsie_api::time::format_rfc3339(refresh_expires),
    };
    json_response(
        StatusCode::OK,
        &LoginResponse {
            error: false,
            access_token: Some(access.clone()),
            refresh_token: Some(refresh.clone()),
            token: Some(TokenPair { access, refresh }),
        },
    )
}

async fn list_clusters(State(shared): State<Shared>) -> Response {
    read(&shared, ApiOp::ListClusters, None, |inner| {
        let clusters: Vec<_> = inner
            .cloud
            .clusters()
            .map(|c| render::cluster(inner, c, false))
            .collect();
        Ok(ok(clusters))
    })
}

fn find_cluster<'a>(
    inner: &'a super::state::Inner,
    cid: &str,
) -> Result<&'a crate::cloud::ClusterState, CloudError> {
    inner
        .cloud
        .cluster(cid)
        .ok_or_else(|| CloudError::UnknownCluster {
            cluster: cid.to_string(),
        })
}

async fn get_cluster(State(shared): State<Shared>, Path(cid): Path<String>) -> Response {
    read(&shared, ApiOp::GetCluster, Some(&cid), |inner| {
        let c = find_cluster(inner, &cid)?;
        Ok(ok(render::cluster(inner, c, true)))
    })
}

async fn list_groups(State(shared): State<Shared>, Path(cid): Path<String>) -> Response {
    read(&shared, ApiOp::ListGroups, Some(&cid), |inner| {
        let c = find_cluster(inner, &cid)?;
        let groups: Vec<_> = c
            .active_groups()
            .map(|g| render::group(inner, c, g))
            .collect();
        Ok(ok(groups))
    })
}

async fn create_group(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: CreateGroupRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let Ok(size_id) = u32::try_from(request.kube_size_id) else {
        return bad_request(&format!("Invalid KubeSizeID {}", request.kube_size_id));
    };
    if request.group_name.trim().is_empty() {
        return bad_request("groupName is required");
    }
    let mut inner = shared.lock();
    let now = inner.tick();
    match inner.cloud.create_group(
        now,
        &request.cluster_identifier,
        &request.group_name,
        size_id,
    ) {
        Ok(id) => json_response(
            StatusCode::OK,
            &Envelope {
                error: false,
                code: Some(200),
                message: Some("Node group created".to_string()),
                data: CreateGroupData {
                    group_id: id.to_string(),
                },
                total: None,
            },
        ),
        Err(e) => cloud_error(&e),
    }
}

async fn delete_group(
    State(shared): State<Shared>,
    Path(group): Path<String>,
    _body: Bytes,
) -> Response {
    let mut inner = shared.lock();
    let now = inner.tick();
    // The URL names the group only; find its cluster.
    let cluster = inner
        .cloud
        .clusters()
        .find(|c| {
            c.active_groups()
                .any(|g| g.identifier == group || g.id.to_string() == group)
        })
        .map(|c| c.identifier.clone());
    let Some(cluster) = cluster else {
        if let Err(e) = inner.cloud.api_call(now, ApiOp::DeleteGroup, None) {
            return cloud_error(&e);
        }
        return cloud_error(&CloudError::UnknownGroup { group });
    };
    match inner.cloud.delete_group(now, &cluster, &group) {
        Ok(()) => message_ok("Node group deleted"),
        Err(e) => cloud_error(&e),
    }
}

fn message_ok(message: &str) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::json!({"error": false, "code": 200, "message": message}),
    )
}

async fn add_worker(
    State(shared): State<Shared>,
    Path((cid, gid)): Path<(String, String)>,
    _body: Bytes,
) -> Response {
    let Ok(gid) = gid.parse::<i64>() else {
        return error_response(404, 404, &format!("Node group {gid} not found"));
    };
    let mut inner = shared.lock();
    let now = inner.tick();
    match inner.cloud.add_worker(now, &cid, gid) {
        Ok(receipt) => {
            let data = if inner.add_worker_object_form {
                AddWorkerData::Worker(AddedWorker {
                    id: receipt.id,
                    identifier: receipt.identifier,
                    status: "provisioning".to_string(),
                    hostname: receipt.hostname,
                })
            } else {
                AddWorkerData::Accepted(true)
            };
            json_response(
                StatusCode::OK,
                &Envelope {
                    error: false,
                    code: Some(200),
                    message: Some("Worker node is being added".to_string()),
                    data,
                    total: None,
                },
            )
        }
        Err(e) => cloud_error(&e),
    }
}

async fn delete_worker(
    State(shared): State<Shared>,
    Path(cid): Path<String>,
    body: Bytes,
) -> Response {
    let request: DeleteWorkerRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let mut inner = shared.lock();
    let now = inner.tick();
    match inner.cloud.delete_worker(now, &cid, &request.identifier) {
        Ok(()) => message_ok("Worker node is being deleted"),
        Err(e) => cloud_error(&e),
    }
}

async fn reduce_group(
    State(shared): State<Shared>,
    Path(cid): Path<String>,
    body: Bytes,
) -> Response {
    let request: ReduceRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    reduce(&shared, &cid, Some(request.group_id))
}

async fn reduce_cluster(
    State(shared): State<Shared>,
    Path(cid): Path<String>,
    _body: Bytes,
) -> Response {
    reduce(&shared, &cid, None)
}

fn reduce(shared: &Shared, cid: &str, group: Option<i64>) -> Response {
    let mut inner = shared.lock();
    let now = inner.tick();
    match inner.cloud.reduce(now, cid, group) {
        Ok(Some(_)) => message_ok("Worker node is being removed"),
        Ok(None) => bad_request("No worker node to remove"),
        Err(e) => cloud_error(&e),
    }
}

async fn offers(State(shared): State<Shared>, body: Bytes) -> Response {
    // The datacenter does not change the catalogue; an empty body is tolerated.
    if !body.iter().all(u8::is_ascii_whitespace)
        && let Err(response) = parse_json::<OffersRequest>(&body)
    {
        return response;
    }
    read(&shared, ApiOp::Offers, None, |inner| {
        Ok(json_response(
            StatusCode::OK,
            &Envelope {
                error: false,
                code: Some(200),
                message: Some(String::new()),
                data: render::offers(inner),
                total: None,
            },
        ))
    })
}

async fn datacenters(State(shared): State<Shared>) -> Response {
    read(&shared, ApiOp::Datacenters, None, |inner| {
        let list = render::datacenters(inner);
        let total = list.len() as i64;
        Ok(json_response(
            StatusCode::OK,
            &Envelope {
                total: Some(total),
                ..Envelope::ok(list)
            },
        ))
    })
}

async fn projects(State(shared): State<Shared>) -> Response {
    read(&shared, ApiOp::Projects, None, |inner| {
        Ok(ok(render::projects(inner)))
    })
}

async fn vms(State(shared): State<Shared>) -> Response {
    read(&shared, ApiOp::ListVms, None, |inner| {
        let list = render::vms(inner);
        let total = list.len() as i64;
        Ok(json_response(
            StatusCode::OK,
            &Envelope {
                total: Some(total),
                ..Envelope::ok(list)
            },
        ))
    })
}

pub(crate) async fn not_found() -> Response {
    error_response(404, 404, "Route not found")
}

pub(crate) fn with_gatekeeper(router: Router<Shared>, shared: Shared) -> Router<Shared> {
    router.layer(middleware::from_fn_with_state(shared, gatekeeper))
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_decoding() {
        assert_eq!(super::percent_decode("a%2Fb+c%zz%4"), "a/b c%zz%4");
    }
}
