use connector_sdk::testing::{MemoryConnector, assert_conformance};

#[tokio::test]
async fn kit_and_http() {
    assert_conformance(&MemoryConnector::seeded()).await;
    let server = wiremock_server().await;
    let users = minconn::users(&server).await.unwrap();
    assert_eq!(users.len(), 1);
}

async fn wiremock_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let body = r#"[{"id":"u1"}]"#;
            let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            let _ = s.write_all(resp.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}
