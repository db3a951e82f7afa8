//! The access explorer's JSON API over a real HTTP server on 127.0.0.1 (port 0): every
//! endpoint, paging, search, access paths through nested groups, the diff of two syncs
//! (with a changed resource), 404s and 400s with messages, and read-only serving.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};

use connector_sdk::explorer::Explorer;
use connector_sdk::model::{
    Entitlement, Grant, GroupTrait, Resource, ResourceId, ResourceType, TraitKind, UserStatus,
    UserTrait,
};
use connector_sdk::store::SyncStore;
use serde_json::Value;

const FILLERS: usize = 120;
const EVIL: &str = "<script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">";

fn user(id: &str, name: &str, email: &str, status: UserStatus) -> Resource {
    Resource::with_id(ResourceId::new("user", id), name).with_user_trait(
        UserTrait::default()
            .with_email(email, true)
            .with_status(status),
    )
}

/// Two syncs of a small tenant. Users u1 (Ada, in Platform), u2 (Bob, in Engineering and
/// directly on the vault), u3 (a name full of markup), and fillers; Platform is nested in
/// Engineering, and Engineering reads the vault through an expandable grant. The second
/// sync disables Bob, adds u3 to Engineering and drops the last filler.
fn write_fixture(path: &Path) {
    let types = [
        ResourceType::new("user", "User").with_trait(TraitKind::User),
        ResourceType::new("group", "Group").with_trait(TraitKind::Group),
        ResourceType::new("vault", "Vault"),
    ];
    for second in [false, true] {
        let mut store = SyncStore::open(path).unwrap();
        store.start_sync().unwrap();
        store.put_resource_types(&types).unwrap();
        let bob_status = UserStatus::enabled_if(!second);
        let mut users = vec![
            user("u1", "Ada Lovelace", "ada@example.com", UserStatus::Enabled),
            user("u2", "Bob Builder", "bob@example.com", bob_status),
            user("u3", EVIL, "evil@example.com", UserStatus::Enabled),
        ];
        let fillers = if second { FILLERS - 1 } else { FILLERS };
        for i in 0..fillers {
            users.push(user(
                &format!("f{i:03}"),
                &format!("Filler {i:03}"),
                &format!("filler{i:03}@example.com"),
                UserStatus::Enabled,
            ));
        }
        store.put_resources(&users).unwrap();
        let eng = Resource::with_id(ResourceId::new("group", "g1"), "Engineering")
            .with_group_trait(GroupTrait::default());
        let platform = Resource::with_id(ResourceId::new("group", "g2"), "Platform")
            .with_group_trait(GroupTrait::default());
        let vault = Resource::with_id(ResourceId::new("vault", "v1"), "Prod secrets");
        store
            .put_resources(&[eng.clone(), platform.clone(), vault.clone()])
            .unwrap();
        let eng_member = Entitlement::assignment(&eng, "member");
        let platform_member = Entitlement::assignment(&platform, "member");
        let read = Entitlement::permission(&vault, "read");
        let write = Entitlement::permission(&vault, "write");
        store
            .put_entitlements(&eng, std::slice::from_ref(&eng_member))
            .unwrap();
        store
            .put_entitlements(&platform, std::slice::from_ref(&platform_member))
            .unwrap();
        store
            .put_entitlements(&vault, &[read.clone(), write.clone()])
            .unwrap();
        let mut grants = vec![
            Grant::new(&platform_member, ResourceId::new("user", "u1")),
            Grant::new(&eng_member, ResourceId::new("user", "u2")),
            Grant::new(&read, ResourceId::new("user", "u2")),
            Grant::new(&eng_member, ResourceId::new("group", "g2"))
                .expandable([platform_member.id()]),
            Grant::new(&read, ResourceId::new("group", "g1")).expandable([eng_member.id()]),
        ];
        if second {
            grants.push(Grant::new(&eng_member, ResourceId::new("user", "u3")));
        }
        store.put_grants(&grants).unwrap();
        store.expand_grants().unwrap();
        store.finish().unwrap();
    }
}

struct Server {
    base: String,
    token: String,
    file: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Serves `file` on 127.0.0.1 (a free port) until the sender is dropped or sent to: its
/// base URL, its token, the sender.
async fn serve(file: &Path) -> (String, String, tokio::sync::oneshot::Sender<()>) {
    let bound = Explorer::open(file)
        .unwrap()
        .bind("127.0.0.1:0".parse().unwrap(), false)
        .await
        .unwrap();
    let base = format!("http://{}", bound.local_addr());
    let token = bound.token().to_string();
    assert_eq!(bound.url(), format!("{base}/#token={token}"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve_until(async move {
        let _ = rx.await;
    }));
    (base, token, tx)
}

/// A client that sends `token` as a bearer token, following no redirect.
fn client_with(token: &str) -> reqwest::Client {
    connector_sdk::http::ensure_tls_provider();
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {token}").parse().unwrap();
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenant.c1z");
    write_fixture(&file);
    let (base, token, tx) = serve(&file).await;
    Server {
        base,
        token,
        file,
        _dir: dir,
        stop: Some(tx),
    }
}

impl Server {
    fn client(&self) -> reqwest::Client {
        client_with(&self.token)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .client()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"));
        (status, body)
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

fn keys(items: &Value, field: &str) -> Vec<String> {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn resource_types_come_with_counts_and_the_file_names_its_sync() {
    let s = server().await;
    let types = s.ok("/api/resource-types").await;
    let counts: Vec<(String, u64)> = types["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["resources"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("user".to_string(), 3 + FILLERS as u64 - 1),
            ("group".to_string(), 2),
            ("vault".to_string(), 1)
        ]
    );
    assert_eq!(types["items"][0]["traits"], serde_json::json!(["user"]));
    let file = s.ok("/api/file").await;
    assert_eq!(file["file"], "tenant.c1z");
    assert_eq!(file["syncs"], 2);
    assert_eq!(file["read_only"], true);
    let syncs = s.ok("/api/syncs").await;
    assert_eq!(syncs["items"].as_array().unwrap().len(), 2);
    assert_eq!(syncs["items"][1]["current"], true);
    assert_eq!(syncs["current"], file["sync"]["sync_id"]);
}

#[tokio::test]
async fn resources_page_without_gaps_or_repeats_and_search_by_name_email_or_id() {
    let s = server().await;
    let mut seen = Vec::new();
    let mut after = 0;
    let mut pages = 0;
    loop {
        let page = s
            .ok(&format!("/api/resources?type=user&limit=50&after={after}"))
            .await;
        let ks = keys(&page, "key");
        assert!(ks.len() <= 50);
        seen.extend(ks);
        pages += 1;
        match page["next"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let total = 3 + FILLERS - 1;
    assert_eq!(seen.len(), total);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), total, "a resource came twice");

    let by_name = s.ok("/api/resources?q=lovelace").await;
    assert_eq!(keys(&by_name, "key"), ["user:u1"]);
    assert_eq!(by_name["items"][0]["email"], "ada@example.com");
    let by_email = s.ok("/api/resources?q=BOB%40EXAMPLE.com&type=user").await;
    assert_eq!(keys(&by_email, "key"), ["user:u2"]);
    assert_eq!(by_email["items"][0]["status"], "disabled");
    let by_id = s.ok("/api/resources?q=f11").await;
    assert_eq!(
        keys(&by_id, "key").len(),
        9,
        "f110..f118 (f119 was removed)"
    );
    let none = s.ok("/api/resources?q=nobody-at-all").await;
    assert!(none["items"].as_array().unwrap().is_empty());
    assert!(none["next"].is_null());
    // Search pages too: 119 fillers match "filler".
    let first = s.ok("/api/resources?q=filler&limit=100").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 100);
    let rest = s
        .ok(&format!(
            "/api/resources?q=filler&limit=100&after={}",
            first["next"]
        ))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), FILLERS - 1 - 100);
    // Markup in names is data: it comes back exactly as stored.
    let evil = s.ok("/api/resources?q=evil%40example").await;
    assert_eq!(evil["items"][0]["display_name"], EVIL);
}

#[tokio::test]
async fn a_principal_shows_what_it_holds_and_through_which_groups() {
    let s = server().await;
    let ada = s.ok("/api/resources/user/u1").await;
    assert_eq!(ada["resource"]["display_name"], "Ada Lovelace");
    assert_eq!(ada["status"], "enabled");
    // Platform member (direct), Engineering member (via Platform), vault read (via both).
    assert_eq!(ada["access"], 3);
    let access = s.ok("/api/resources/user/u1/access").await;
    let by_ent = |id: &str| {
        access["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["entitlement"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing: {access}"))
            .clone()
    };
    let platform = by_ent("group:g2:member");
    assert_eq!(platform["direct"], true);
    assert!(platform["paths"].as_array().unwrap().is_empty());
    let eng = by_ent("group:g1:member");
    assert_eq!(eng["direct"], false);
    assert_eq!(eng["paths"][0][0]["resource"]["display_name"], "Platform");
    assert_eq!(eng["paths"][0][0]["grant_id"], "group:g1:member:group:g2");
    let read = by_ent("vault:v1:read");
    assert_eq!(read["direct"], false);
    assert_eq!(read["resource"]["display_name"], "Prod secrets");
    let path: Vec<&str> = read["paths"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["resource"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(path, ["group:g2", "group:g1"], "{read}");
    assert_eq!(read["paths"][0][1]["grant_id"], "vault:v1:read:group:g1");
    assert_eq!(
        read["paths"][0][1]["entitlement"]["display_name"],
        "Engineering member"
    );

    // Bob holds the vault both directly and through Engineering.
    let bob = s.ok("/api/resources/user/u2/access").await;
    let read = bob["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["entitlement"]["id"] == "vault:v1:read")
        .unwrap()
        .clone();
    assert_eq!(read["direct"], true);
    assert_eq!(read["paths"][0][0]["resource"]["key"], "group:g1");

    // Paging the access list.
    let one = s.ok("/api/resources/user/u1/access?limit=2").await;
    assert_eq!(one["items"].as_array().unwrap().len(), 2);
    let two = s
        .ok(&format!(
            "/api/resources/user/u1/access?limit=2&after={}",
            one["next"]
        ))
        .await;
    assert_eq!(two["items"].as_array().unwrap().len(), 1);
    assert!(two["next"].is_null());
}

#[tokio::test]
async fn an_entitlement_shows_its_holders_and_a_resource_its_entitlements() {
    let s = server().await;
    let read = s.ok("/api/entitlements/vault:v1:read").await;
    assert_eq!(read["resource"]["display_name"], "Prod secrets");
    assert_eq!(read["entitlement"]["purpose"], "permission");
    // g1 (expandable), u2 (direct), and through Engineering: u1, u3 and Platform itself
    // (a member of Engineering).
    assert_eq!(read["holders"], 5);
    let holders = s.ok("/api/entitlements/vault:v1:read/holders").await;
    let mut who = keys(
        &serde_json::json!({"items": holders["items"].as_array().unwrap().iter().map(|g| g["principal"].clone()).collect::<Vec<_>>()}),
        "key",
    );
    who.sort();
    assert_eq!(
        who,
        ["group:g1", "group:g2", "user:u1", "user:u2", "user:u3"]
    );
    let g1 = holders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["principal"]["key"] == "group:g1")
        .unwrap();
    assert_eq!(g1["expandable"], true);
    assert_eq!(g1["direct"], true);

    let vault = s.ok("/api/resources/vault/v1").await;
    assert_eq!(
        (vault["entitlements"].as_u64(), vault["grants"].as_u64()),
        (Some(2), Some(5))
    );
    let ents = s.ok("/api/resources/vault/v1/entitlements").await;
    let holders_by_ent: Vec<(String, u64)> = ents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().into(),
                e["holders"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        holders_by_ent,
        [("vault:v1:read".into(), 5), ("vault:v1:write".into(), 0)]
    );
    let on = s.ok("/api/resources/vault/v1/grants?limit=3").await;
    assert_eq!(on["items"].as_array().unwrap().len(), 3);
    assert!(on["next"].is_i64());
}

#[tokio::test]
async fn the_diff_shows_added_removed_and_changed_resources_and_grants() {
    let s = server().await;
    let diff = s.ok("/api/diff").await;
    let count = |kind: &str| {
        diff["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == kind)
            .unwrap()["count"]
            .as_u64()
            .unwrap()
    };
    // u3 joins Engineering: the direct grant and the vault read it brings.
    assert_eq!(count("grants-added"), 2, "{diff}");
    assert_eq!(count("grants-removed"), 0);
    assert_eq!(count("resources-removed"), 1);
    assert_eq!(count("resources-added"), 0);
    assert_eq!(count("resources-changed"), 1);
    assert_eq!(count("entitlements-added"), 0);

    let added = s.ok("/api/diff/grants-added").await;
    let ids = keys(&added, "grant_id");
    assert_eq!(
        ids,
        ["group:g1:member:user:u3", "vault:v1:read:user:u3"],
        "{added}"
    );
    assert_eq!(added["items"][0]["principal"]["display_name"], EVIL);
    assert_eq!(
        added["items"][0]["entitlement"]["display_name"],
        "Engineering member"
    );

    let changed = s.ok("/api/diff/resources-changed").await;
    let row = &changed["items"][0];
    assert_eq!(row["resource"]["key"], "user:u2");
    assert_eq!(
        row["fields"],
        serde_json::json!([{"field": "user.status", "before": "enabled", "after": "disabled"}])
    );
    let removed = s.ok("/api/diff/resources-removed").await;
    assert_eq!(
        removed["items"][0]["resource"]["display_name"],
        "Filler 119"
    );
    assert_eq!(removed["items"][0]["change"], "removed");

    // The other direction, by sync id.
    let (from, to) = (diff["from"].as_str().unwrap(), diff["to"].as_str().unwrap());
    let back = s
        .ok(&format!("/api/diff/grants-removed?from={to}&to={from}"))
        .await;
    assert_eq!(back["items"].as_array().unwrap().len(), 2);
    let (status, body) = s.get("/api/diff?from=nosuchsync").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nosuchsync"));
}

#[tokio::test]
async fn unknown_ids_are_404s_and_malformed_parameters_400s_with_a_message() {
    let s = server().await;
    for (path, status, words) in [
        ("/api/resources/user/nobody", 404, "no resource user:nobody"),
        (
            "/api/resources/user/nobody/access",
            404,
            "no resource user:nobody",
        ),
        (
            "/api/resources/user/nobody/grants",
            404,
            "no resource user:nobody",
        ),
        (
            "/api/resources/user/nobody/entitlements",
            404,
            "no resource",
        ),
        (
            "/api/entitlements/vault:v1:fly",
            404,
            "no entitlement vault:v1:fly",
        ),
        (
            "/api/entitlements/vault:v1:fly/holders",
            404,
            "no entitlement",
        ),
        ("/api/diff/sideways", 404, "no kind of change"),
        ("/api/nothing-here", 404, "no such page"),
        ("/api/resources?limit=0", 400, "limit"),
        ("/api/resources?limit=many", 400, "limit"),
        ("/api/resources?limit=100000", 400, "limit"),
        ("/api/resources?after=-5", 400, "after"),
        (
            "/api/entitlements/vault:v1:read/holders?after=x",
            400,
            "after",
        ),
        ("/api/resources/user/%FF%FE", 400, "malformed path"),
    ] {
        let (got, body) = s.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        let msg = body["error"].as_str().unwrap_or_default();
        assert!(msg.contains(words), "{path}: {msg}");
    }
    let long = format!("/api/resources?q={}", "x".repeat(400));
    assert_eq!(s.get(&long).await.0, 400);
}

#[tokio::test]
async fn the_server_is_read_only_and_serves_the_page_with_a_strict_policy() {
    let s = server().await;
    let before = std::fs::read(&s.file).unwrap();
    let client = s.client();
    for path in ["/api/resources", "/api/resources/user/u1", "/", "/api/diff"] {
        for method in [
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let res = client
                .request(method.clone(), format!("{}{path}", s.base))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), 405, "{method} {path}");
        }
    }
    let page = client.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("/assets/app.js") && html.contains("id=\"search\""));
    for asset in ["/assets/app.js", "/assets/style.css"] {
        let res = client
            .get(format!("{}{asset}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{asset}");
    }
    assert_eq!(std::fs::read(&s.file).unwrap(), before, "the file changed");
}

#[tokio::test]
async fn a_file_that_is_not_a_c1z_is_refused_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.c1z");
    std::fs::write(&text, "just some notes, not a sync file\n").unwrap();
    let err = Explorer::open(&text).unwrap_err().to_string();
    assert!(err.contains("not a c1z"), "{err}");
    assert!(err.contains("notes.c1z"), "{err}");
    let missing = Explorer::open(&dir.path().join("missing.c1z"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("does not exist"), "{missing}");
}

#[tokio::test]
async fn a_non_loopback_address_needs_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.c1z");
    write_fixture(&file);
    let err = Explorer::open(&file)
        .unwrap()
        .bind("0.0.0.0:0".parse().unwrap(), false)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--allow-remote"), "{err}");
    assert!(err.contains("only authentication is the token"), "{err}");
    // Allowed, it goes on to bind (tests bind only loopback: this address is not ours).
    let err = Explorer::open(&file)
        .unwrap()
        .bind("192.0.2.1:0".parse().unwrap(), true)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot listen on 192.0.2.1:0"), "{err}");
}

/// The status line and body of a raw HTTP/1.1 request naming `host`.
async fn raw_get(base: &str, path: &str, host: &str, token: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// DNS rebinding: a page on `evil.example` whose name now resolves to 127.0.0.1 sends
/// `Host: evil.example`; the explorer answers 421 and nothing of the file. Its own
/// names answer, every answer with `nosniff`.
#[tokio::test]
async fn a_request_for_another_host_is_refused_421() {
    let s = server().await;
    let port = s.base.rsplit(':').next().unwrap().to_string();
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        "127.0.0.1".to_string(),
        format!("localhost:{}", port.parse::<u16>().unwrap().wrapping_add(1)),
    ] {
        for path in ["/api/file", "/", "/api/resources/user/u1/access", "/nope"] {
            let (status, text) = raw_get(&s.base, path, &host, &s.token).await;
            assert_eq!(status, 421, "Host {host} GET {path}: {text}");
            assert!(!text.contains("tenant.c1z"), "{text}");
            assert!(!text.contains("Ada"), "{text}");
            assert!(text.contains("--public-host"), "{text}");
        }
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (status, text) = raw_get(&s.base, "/api/file", &host, &s.token).await;
        assert_eq!(status, 200, "Host {host}: {text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("x-content-type-options: nosniff"),
            "{text}"
        );
    }
}

/// 14 groups each nested in every other one, the group Ada is in sorting last (the shape
/// that made the old depth-first path search exponential): her access answers with paths
/// within the request deadline, and another request is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fourteen_nested_groups_answer_quickly_while_another_request_is_served() {
    const N: usize = 14;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested.c1z");
    let mut store = SyncStore::open(&file).unwrap();
    store.start_sync().unwrap();
    store
        .put_resource_types(&[
            ResourceType::new("user", "User").with_trait(TraitKind::User),
            ResourceType::new("group", "Group").with_trait(TraitKind::Group),
        ])
        .unwrap();
    store
        .put_resources(&[user("u1", "Ada", "ada@example.com", UserStatus::Enabled)])
        .unwrap();
    let groups: Vec<Resource> = (0..N)
        .map(|i| {
            Resource::with_id(
                ResourceId::new("group", format!("g{i:02}")),
                format!("G{i}"),
            )
            .with_group_trait(GroupTrait::default())
        })
        .collect();
    store.put_resources(&groups).unwrap();
    let members: Vec<Entitlement> = groups
        .iter()
        .map(|g| Entitlement::assignment(g, "member"))
        .collect();
    for (g, m) in groups.iter().zip(&members) {
        store.put_entitlements(g, std::slice::from_ref(m)).unwrap();
    }
    let mut grants = vec![Grant::new(&members[N - 1], ResourceId::new("user", "u1"))];
    for i in 0..N {
        for j in (0..N).filter(|j| *j != i) {
            grants
                .push(Grant::new(&members[j], groups[i].id.clone()).expandable([members[i].id()]));
        }
    }
    store.put_grants(&grants).unwrap();
    store.expand_grants().unwrap();
    store.finish().unwrap();
    drop(store);

    let (base, token, _stop) = serve(&file).await;
    let client = client_with(&token);
    let started = std::time::Instant::now();
    let access = client
        .get(format!("{base}/api/resources/user/u1/access?limit=500"))
        .send();
    let other = client.get(format!("{base}/api/file")).send();
    let (access, other) = tokio::join!(access, other);
    let (access, other) = (access.unwrap(), other.unwrap());
    assert_eq!(other.status(), 200);
    assert_eq!(access.status(), 200);
    let body: Value = access.json().await.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), N, "{body}");
    let first = items
        .iter()
        .find(|g| g["entitlement"]["id"] == members[0].id())
        .unwrap();
    let paths = first["paths"].as_array().unwrap();
    assert!(!paths.is_empty() && paths.len() <= 10, "{first}");
    // Every path starts at the group Ada holds directly.
    for p in paths {
        let p = p.as_array().unwrap();
        assert_eq!(p[0]["entitlement"]["id"], members[N - 1].id(), "{first}");
    }
}

/// Another user of the machine can reach the port but not read the file: without this
/// run's token every API route (and any other path) is 401, whatever the method, and says
/// to open the printed link; a token in the query or a cookie is no token. The page and its
/// assets are served to anyone and hold nothing of the file. The bearer token (scheme in
/// any case) reads; another run's token reads nothing.
#[tokio::test]
async fn without_this_runs_token_nothing_of_the_file_is_served() {
    let s = server().await;
    let other = server().await;
    assert_ne!(s.token, other.token);
    connector_sdk::http::ensure_tls_provider();
    let anonymous = reqwest::Client::new();
    let port = s.base.rsplit(':').next().unwrap();
    let refused = [
        anonymous.get(format!("{}/api/file", s.base)),
        anonymous.get(format!("{}/api/resources/user/u1/access", s.base)),
        anonymous.get(format!("{}/nope", s.base)),
        anonymous.head(format!("{}/api/file", s.base)),
        anonymous.post(format!("{}/api/resources", s.base)),
        anonymous.get(format!("{}/api/file?token={}", s.base, s.token)),
        anonymous
            .get(format!("{}/api/file", s.base))
            .header("cookie", format!("baton_explorer_{port}={}", s.token)),
        client_with(&other.token).get(format!("{}/api/file", s.base)),
        client_with("").get(format!("{}/api/file", s.base)),
        anonymous
            .get(format!("{}/api/file", s.base))
            .header("authorization", format!("Basic {}", s.token)),
        anonymous.request(reqwest::Method::OPTIONS, format!("{}/api/file", s.base)),
        anonymous.delete(format!("{}/api/nope", s.base)),
    ];
    for (i, request) in refused.into_iter().enumerate() {
        let res = request.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 401, "request {i}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "request {i}");
        let text = res.text().await.unwrap();
        assert!(
            !text.contains("tenant.c1z") && !text.contains("Ada"),
            "{text}"
        );
        // (HEAD, request 3, has no body.)
        if i != 3 {
            assert!(text.contains("open that link"), "request {i}: {text}");
        }
    }
    // The page is public and empty of data.
    for path in ["/", "/assets/app.js", "/assets/style.css"] {
        let res = anonymous
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let text = res.text().await.unwrap();
        assert!(
            !text.contains("tenant.c1z") && !text.contains("Ada"),
            "{path}"
        );
    }
    // The bearer token reads, the scheme in any case.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let res = anonymous
            .get(format!("{}/api/file", s.base))
            .header("authorization", format!("{scheme} {}", s.token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{scheme}");
        assert!(res.text().await.unwrap().contains("tenant.c1z"));
    }
    // A foreign Host is refused before the token is even looked at.
    let (status, _) = raw_get(&s.base, "/api/file", "evil.example", &s.token).await;
    assert_eq!(status, 421);
}
