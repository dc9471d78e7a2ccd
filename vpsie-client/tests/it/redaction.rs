//! Secrets never appear in errors, Debug output, logs of the mock, or metrics.

use vpsie_client::ClientError;
use vpsie_sim::mock::FaultUpdate;

use super::*;

fn assert_clean(text: &str) {
    for secret in [TOKEN, CLIENT_SECRET] {
        assert!(!text.contains(secret), "secret leaked into: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_errors_debug_journal_or_metrics() {
    let server = mock(mock_config()).await;
    let (session, registry) = client(client_config(&server), session_credentials());
    session.list_clusters().await.unwrap();
    let (fixed, _) = client(client_config(&server), static_credentials());
    fixed.list_clusters().await.unwrap();

    server
        .control()
        .update_faults(FaultUpdate {
            login_failure: Some(true),
            expire_sessions: true,
            ..FaultUpdate::default()
        })
        .unwrap();
    let login_error = session.list_clusters().await.unwrap_err();
    let wrong = CredentialSource::fixed(Credentials::ClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(format!("{CLIENT_SECRET}-wrong")),
    });
    let (bad, _) = client(client_config(&server), wrong);
    let bad_error = bad.list_clusters().await.unwrap_err();
    assert!(matches!(bad_error, ClientError::Auth { .. }));

    let mut everything = String::new();
    for e in [&login_error, &bad_error] {
        everything += &format!("{e}\n{e:?}\n");
    }
    everything += &format!("{session:?}\n{fixed:?}\n{bad:?}\n");
    everything += &format!("{:?}\n{}\n", Secret::new(TOKEN), Secret::new(CLIENT_SECRET));
    everything += &format!("{:?}\n", static_credentials());
    everything += &format!("{:?}\n", session_credentials().current().unwrap());
    everything += &format!("{:?}\n", server.control());
    everything += &format!("{:?}\n", server.control().requests());
    everything += &metrics_text(&registry);
    assert_clean(&everything);
    assert!(everything.contains("<redacted>"));
    server.shutdown().await;
}

#[test]
fn credential_file_errors_do_not_quote_the_file() {
    let path = std::env::temp_dir().join(format!("vpsie-cred-{}.json", std::process::id()));
    std::fs::write(&path, format!("{{\"token\": \"{TOKEN}\" oops")).unwrap();
    let err = CredentialSource::file(&path).current().unwrap_err();
    let text = format!("{err} {err:?}");
    assert_clean(&text);
    assert!(text.contains("line 1"), "{text}");
    std::fs::write(&path, format!("{{\"clientSecret\": \"{CLIENT_SECRET}\"}}")).unwrap();
    let err = CredentialSource::file(&path).current().unwrap_err();
    assert_clean(&format!("{err} {err:?}"));
    std::fs::remove_file(&path).unwrap();
}
