//! Contract tests: the exact requests the client sends and the exact bodies the mock answers,
//! per endpoint, as reviewed snapshots, so the two sides cannot drift apart silently.

use vpsie_sim::mock::RecordedRequest;

use super::*;

fn render_requests(requests: &[RecordedRequest]) -> String {
    requests
        .iter()
        .map(|r| {
            format!(
                "{} {}{} [{}] {}\n",
                r.method,
                r.prefix,
                r.path,
                r.content_type.as_deref().unwrap_or("-"),
                if r.body.is_empty() { "-" } else { &r.body }
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_client_sends() {
    let server = mock(mock_config()).await;
    let (c, _) = client(client_config(&server), session_credentials());
    c.list_clusters().await.unwrap();
    c.get_cluster(CLUSTER).await.unwrap();
    c.list_node_groups(CLUSTER).await.unwrap();
    c.create_node_group(CLUSTER, "big", 6).await.unwrap();
    c.add_worker(CLUSTER, GROUP).await.unwrap();
    c.delete_worker(CLUSTER, "0a0b0c0d-0000-11f0-8000-000000000001")
        .await
        .unwrap();
    c.list_offers("eb8ac92d-9d4d-11ee-9444-7e0140123655")
        .await
        .unwrap();
    c.list_datacenters().await.unwrap();
    insta::assert_snapshot!(render_requests(&server.control().requests()));
    server.shutdown().await;
}

/// Every response body of the mock, one endpoint per line-separated section.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_the_mock_sends() {
    let server = mock(mock_config()).await;
    let http = reqwest::Client::new();
    let base = format!("{}/apps/v2", server.base_url());
    let mut out = String::new();
    let calls: Vec<(&str, String, Option<String>)> = vec![
        (
            "POST",
            "/auth/from/api".into(),
            Some(r#"{"clientId":"wrong","clientSecret":"nope"}"#.to_string()),
        ),
        ("GET", "/k8s/cluster/all".into(), None),
        ("GET", format!("/k8s/cluster/byId/{CLUSTER}"), None),
        ("GET", "/k8s/cluster/byId/unknown".into(), None),
        (
            "GET",
            format!("/k8s/node/groups/byClusterId/{CLUSTER}"),
            None,
        ),
        (
            "POST",
            "/k8s/cluster/add/group".into(),
            Some(format!(
                r#"{{"clusterIdentifier":"{CLUSTER}","groupName":"big","KubeSizeID":6}}"#
            )),
        ),
        (
            "POST",
            "/k8s/cluster/add/group".into(),
            Some(format!(
                r#"{{"clusterIdentifier":"{CLUSTER}","groupName":"dup","KubeSizeID":3}}"#
            )),
        ),
        (
            "POST",
            format!("/k8s/cluster/byId/{CLUSTER}/add/slave/group/{GROUP}"),
            None,
        ),
        (
            "DELETE",
            format!("/k8s/cluster/byId/{CLUSTER}/delete/slave"),
            Some(r#"{"identifier":"no-such-node"}"#.to_string()),
        ),
        (
            "DELETE",
            format!("/k8s/cluster/byId/{CLUSTER}/reduce/slave"),
            Some(r#"{"groupId":1187}"#.to_string()),
        ),
        (
            "POST",
            "/k8s/offers".into(),
            Some(r#"{"dcIdentifier":"eb8ac92d-9d4d-11ee-9444-7e0140123655"}"#.to_string()),
        ),
        ("GET", "/datacenter".into(), None),
        ("GET", "/projects".into(), None),
        ("GET", "/vm".into(), None),
    ];
    for (method, path, body) in calls {
        let mut request = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("Vpsie-Auth", TOKEN);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        out += &format!(
            "== {method} {path} -> {status}\n{}\n",
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
    // A successful login: tokens and wall-clock expiries vary, so show the shape only.
    let login = http
        .post(format!("{base}/auth/from/api"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("clientId={CLIENT_ID}&clientSecret={CLIENT_SECRET}"))
        .send()
        .await
        .unwrap();
    let value: serde_json::Value = login.json().await.unwrap();
    out += &format!("== POST /auth/from/api (form) shape\n{}\n", shape(&value));
    insta::assert_snapshot!(out);
    server.shutdown().await;
}

fn shape(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}: {}", shape(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        serde_json::Value::String(_) => "string".into(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}
