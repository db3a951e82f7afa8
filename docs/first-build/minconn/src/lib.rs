//! A minimal connector library: one HTTP call through the SDK's client.
use connector_sdk::http::HttpClient;
use connector_sdk::Result;

#[derive(serde::Deserialize)]
pub struct User { pub id: String }

pub async fn users(base: &str) -> Result<Vec<User>> {
    let client = HttpClient::builder(base)?.build()?;
    client.get(&["users"]).send_json().await
}
