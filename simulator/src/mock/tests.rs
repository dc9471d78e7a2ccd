//! Tests of the mock's configuration and of the server over a raw loopback socket (the client's
//! test suite exercises every route through the real HTTP client).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

fn test_config() -> MockConfig {
    MockConfig {
        speed: 0.0,
        auth: AuthConfig {
            static_tokens: vec!["static-token".into()],
            ..AuthConfig::default()
        },
        ..MockConfig::default()
    }
}

#[tokio::test]
async fn serves_under_every_prefix_and_requires_a_token() {
    let server = start_ephemeral(test_config()).await.unwrap();
    for prefix in ["/apps/v2", "/api/v2", "/v2"] {
        let ok = raw(
            server.addr(),
            &format!("GET {prefix}/k8s/cluster/all HTTP/1.1\r\nHost: x\r\nVpsie-Auth: static-token\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(
            ok.contains("\"cluster_name\":\"HEL-Kubernetes-49ab\""),
            "{ok}"
        );
    }
    let denied = raw(
        server.addr(),
        "GET /v2/k8s/cluster/all HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    assert!(
        denied.contains(r#"{"error":true,"code":401,"message":"Unauthorized"}"#),
        "{denied}"
    );
    let unknown = raw(
        server.addr(),
        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    server.shutdown().await;
}

#[tokio::test]
async fn admin_advance_drives_the_frozen_clock() {
    let server = start_ephemeral(test_config()).await.unwrap();
    let control = server.control().clone();
    control
        .with_cloud(|cloud, now| {
            cloud.add_worker(now, "7c1d4e20-f8a1-11f0-9c3e-0050569c68dc", 1187)
        })
        .unwrap();
    assert_eq!(control.now_ms(), 0);
    let body = r#"{"ms": 600000}"#;
    let response = raw(
        server.addr(),
        &format!("POST /__admin/advance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    )
    .await;
    assert!(response.contains("\"nowMs\":600000"), "{response}");
    assert!(response.contains("\"kind\":\"nodeReady\""), "{response}");
    server.shutdown().await;
}

#[test]
fn config_files_parse_as_json_or_yaml_and_errors_name_the_field() {
    let yaml = "speed: 10\nauth:\n  staticTokens: [t]\n  clients:\n    - clientId: id\n      clientSecret: s\ncloud:\n  delays:\n    create: {kind: fixed, ms: 5}\n";
    let config = MockConfig::from_str(yaml, "mock.yaml").unwrap();
    assert_eq!(config.speed, 10.0);
    assert_eq!(config.auth.clients[0].client_id, "id");
    let json = r#"{"speed": 1, "cloud": {"delays": {"create": {"kind": "fixed", "ms": -1}}}}"#;
    let err = MockConfig::from_str(json, "mock.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mock.json") && err.contains("delays.create"),
        "{err}"
    );
    let err = MockConfig::from_str("{\"sped\": 1}", "m.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1") && err.contains("sped"), "{err}");
}
