//! Both auth schemes, session refresh, re-login on 401, login failure, credential rotation.

use vpsie_client::{ClientError, StaticTokenHeader};
use vpsie_sim::mock::FaultUpdate;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_token_in_either_header() {
    let server = mock(mock_config()).await;
    for header in [StaticTokenHeader::VpsieAuth, StaticTokenHeader::Bearer] {
        let (c, _) = client(
            ClientConfig {
                static_token_header: header,
                ..client_config(&server)
            },
            static_credentials(),
        );
        c.list_clusters().await.unwrap();
    }
    let wrong = CredentialSource::fixed(Credentials::StaticToken(Secret::new("wrong")));
    let (c, _) = client(client_config(&server), wrong);
    let err = c.list_clusters().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Auth { status: 401, .. }),
        "{err}"
    );
    assert_eq!(server.control().logins(), 0);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_is_reused_refreshed_and_renewed_once_on_401() {
    let server = mock(mock_config()).await;
    let (c, _) = client(client_config(&server), session_credentials());
    c.list_clusters().await.unwrap();
    c.list_datacenters().await.unwrap();
    assert_eq!(server.control().logins(), 1, "a valid session is reused");

    server
        .control()
        .update_faults(FaultUpdate {
            expire_sessions: true,
            ..FaultUpdate::default()
        })
        .unwrap();
    c.list_clusters().await.unwrap();
    assert_eq!(server.control().logins(), 2, "one re-login after the 401");

    // Tokens that expire within the refresh margin (5 min) are renewed before each call.
    server
        .control()
        .update_faults(FaultUpdate {
            session_ttl_seconds: Some(120),
            expire_sessions: true,
            ..FaultUpdate::default()
        })
        .unwrap();
    c.list_clusters().await.unwrap();
    c.list_clusters().await.unwrap();
    assert_eq!(server.control().logins(), 4);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failure_is_an_auth_error() {
    let server = mock(mock_config()).await;
    server
        .control()
        .update_faults(FaultUpdate {
            login_failure: Some(true),
            ..FaultUpdate::default()
        })
        .unwrap();
    let (c, _) = client(client_config(&server), session_credentials());
    let err = c.list_clusters().await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Auth { operation: "list_clusters", message, .. } if message.contains("login failed")),
        "{err}"
    );
    // No API request went out without a token.
    assert!(
        server
            .control()
            .requests()
            .iter()
            .all(|r| r.path == "/auth/from/api")
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_secret_files_are_picked_up() {
    let dir = std::env::temp_dir().join(format!("vpsie-client-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), "revoked").unwrap();
    let server = mock(mock_config()).await;
    let (c, _) = client(client_config(&server), CredentialSource::directory(&dir));
    assert!(matches!(
        c.list_clusters().await.unwrap_err(),
        ClientError::Auth { .. }
    ));
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    c.list_clusters().await.unwrap();
    // Switching the Secret to client credentials works too.
    std::fs::remove_file(dir.join("token")).unwrap();
    std::fs::write(dir.join("clientId"), CLIENT_ID).unwrap();
    std::fs::write(dir.join("clientSecret"), format!("{CLIENT_SECRET}\n")).unwrap();
    c.list_clusters().await.unwrap();
    assert_eq!(server.control().logins(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
    server.shutdown().await;
}
