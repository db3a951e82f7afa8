//! The access explorer driven in headless Chromium (WebDriver, `chromedriver`) against
//! `inspect serve` over the demo's files: search a SendGrid teammate and see their scopes,
//! open a scope and see its holders, see a 1Password user's vault access through a group,
//! see the provisioning round trip as exactly one new grant, and see markup in names as
//! text. Each test saves a screenshot in `target/explorer-screenshots/`.
//!
//! CI (`CI` set) fails when Chromium is missing; elsewhere the tests skip with a message.

mod browser;
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;

use browser::Browser;
use common::command;
use connector_sdk::model::{
    Entitlement, Grant, GroupTrait, Resource, ResourceId, ResourceType, TraitKind, UserTrait,
};
use connector_sdk::store::SyncStore;

/// The demo's output (four files, each synced twice around a grant), made once.
fn demo_files() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("explorer-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = command("demo").arg(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// `inspect serve FILE --listen 127.0.0.1:0`, stopped on drop: its base URL and the link
/// it printed (with this run's token).
struct Served {
    child: Child,
    url: String,
    link: String,
}

impl Served {
    fn start(file: &Path) -> Served {
        let mut child = command("baton")
            .arg("serve")
            .arg(file)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let link = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        let (url, _) = link
            .split_once("/#token=")
            .unwrap_or_else(|| panic!("no token in {link:?}"));
        Served {
            child,
            url: url.to_string(),
            link,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser that has not opened this run's link reads nothing: the page says to open
/// it. Pasted into the same tab (only the fragment changes, so the page does not reload
/// by itself), the link opens the file; its token leaves the address bar and stays in this
/// origin's storage. A cut-off link says so.
#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
)]
async fn a_tab_reads_nothing_until_the_printed_link_is_opened_in_it() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let served = Served::start(&demo_files().join("sendgrid.c1z"));
    b.goto(&format!("{}/#/syncs", served.url)).await;
    b.wait_for(".error", Some("open that link")).await;
    assert_eq!(b.count("#types .card").await, 0);
    assert!(!b.text("body").await.contains("sendgrid.c1z"));

    b.goto(&served.link).await;
    b.wait_for("#types .card", Some("teammate")).await;
    let url = b.url().await;
    assert!(url.ends_with("/#/") && !url.contains("token"), "{url}");
    let (_, token) = served.link.split_once("#token=").unwrap();
    let stored = b
        .eval(
            "return localStorage.getItem('baton-explorer-token');",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(stored, serde_json::json!(token));

    b.goto(&format!("{}/#token=0123abc", served.url)).await;
    b.wait_for(".error", Some("32 characters")).await;
    assert!(!b.url().await.contains("0123abc"));
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
)]
async fn sendgrid_search_a_teammate_see_their_scopes_then_a_scopes_holders() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let served = Served::start(&demo_files().join("sendgrid.c1z"));
    // The printed link: the page keeps its token for the later pages.
    b.goto(&served.link).await;
    b.wait_for("#types .card", Some("teammate")).await;

    let search = b.wait_for("#search", None).await;
    b.type_into(&search, "kim").await;
    let submit = b.wait_for("#search-form button", None).await;
    b.click(&submit).await;
    let hit = b
        .wait_for("#results a.resource-link", Some("kim@acme.example"))
        .await;
    assert_eq!(
        b.count("#results tr.result").await,
        1,
        "{}",
        b.text("#results").await
    );
    assert!(b.url().await.ends_with("#/search?q=kim"));
    b.click(&hit).await;

    b.wait_for("#title", Some("kim@acme.example")).await;
    b.wait_for("#access tr.holding", Some("whitelabel.read"))
        .await;
    let access = b.text("#access tbody").await;
    // Two scopes: the one from the simulated tenant and the one the demo granted.
    assert_eq!(b.count("#access tr.holding").await, 2, "{access}");
    assert!(access.contains("direct"), "{access}");
    assert!(
        b.url()
            .await
            .ends_with("#/resource/teammate/kim%40acme.example")
    );
    b.screenshot("sendgrid-teammate").await;

    let scope = b
        .wait_for("#access a.entitlement-link", Some("whitelabel.read"))
        .await;
    b.click(&scope).await;
    b.wait_for("#title", Some("whitelabel.read")).await;
    b.wait_for("#holders tr.holder", Some("kim@acme.example"))
        .await;
    // Admins hold every scope; kim holds it since the round trip.
    let holders = b.text("#holders tbody").await;
    assert_eq!(b.count("#holders tr.holder").await, 5, "{holders}");
    assert!(b.text("main h2").await.contains("Holders (5)"));
    assert!(
        b.url()
            .await
            .ends_with("#/entitlement/scope%3Awhitelabel.read%3Aassigned")
    );
    b.screenshot("sendgrid-scope-holders").await;

    // Back goes back to the teammate (the hash is the state).
    b.eval("history.back(); return null;", serde_json::json!([]))
        .await;
    b.wait_for("#title", Some("kim@acme.example")).await;
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
)]
async fn onepassword_a_users_vault_access_through_a_group_shows_the_path() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let served = Served::start(&demo_files().join("1password.c1z"));
    // A deep link straight to search results.
    // The printed link (the page keeps its token), then at once another address: the
    // home page, still loading, must not draw over the search (a late answer draws
    // nothing once the reader has moved on).
    b.goto(&served.link).await;
    b.goto(&format!("{}/#/search?q=wendy&type=user", served.url))
        .await;
    let wendy = b
        .wait_for("#results a.resource-link", Some("Wendy Appleseed"))
        .await;
    b.click(&wendy).await;
    b.wait_for("#title", Some("Wendy Appleseed")).await;
    // Her vault access through the group: the row names the path, not "direct".
    let row = b
        .wait_for_all("#access tr.holding", &["view items", "via"])
        .await;
    let text = b.text_of(&row).await;
    assert!(text.contains("Engineering"), "{text}");
    assert!(text.contains("(Engineering group member)"), "{text}");
    assert!(!text.contains("direct"), "{text}");
    // Her direct vault grant says so.
    assert!(b.text("#access tbody").await.contains("direct"));
    b.screenshot("onepassword-vault-via-group").await;

    // The group in the path links to the group.
    let group = b
        .wait_for("#access .path a.resource-link", Some("Engineering"))
        .await;
    b.click(&group).await;
    b.wait_for("#title", Some("Engineering")).await;
    b.wait_for("#grants td", Some("Wendy Appleseed")).await;
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
)]
async fn the_diff_after_a_provisioning_round_trip_shows_exactly_the_new_grant() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let served = Served::start(&demo_files().join("sendgrid.c1z"));
    // The printed link: the page keeps its token for the later pages.
    b.goto(&served.link).await;
    let nav = b.wait_for("#nav-diff", None).await;
    b.click(&nav).await;
    b.wait_for("#diff-summary", None).await;
    b.wait_for("#diff-grants-added tr.diff-row", Some("kim@acme.example"))
        .await;
    assert_eq!(b.count("tr.diff-row").await, 1, "{}", b.text("main").await);
    let row = b.text("tr.diff-row").await;
    assert!(row.contains("whitelabel.read"), "{row}");
    assert!(
        row.contains("scope:whitelabel.read:assigned:teammate:kim@acme.example"),
        "{row}"
    );
    let summary = b.text("#diff-summary").await;
    assert!(summary.contains("Grants added: 1"), "{summary}");
    assert!(summary.contains("Grants removed: 0"), "{summary}");
    assert!(summary.contains("Resources changed: 0"), "{summary}");
    b.screenshot("sendgrid-diff").await;
}

/// A file whose names are markup: a user, a group and an entitlement.
fn markup_file(path: &Path) -> &'static str {
    const EVIL: &str = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>";
    let mut store = SyncStore::open(path).unwrap();
    store.start_sync().unwrap();
    store
        .put_resource_types(&[
            ResourceType::new("user", "User").with_trait(TraitKind::User),
            ResourceType::new("group", "<b>Group</b>").with_trait(TraitKind::Group),
        ])
        .unwrap();
    let user = Resource::with_id(ResourceId::new("user", "<u1>"), EVIL)
        .with_user_trait(UserTrait::default().with_email("x@example.com", true))
        .with_external_link("javascript:window.__pwned=3");
    let group = Resource::with_id(ResourceId::new("group", "g\"1"), EVIL)
        .with_group_trait(GroupTrait::default());
    store.put_resources(&[user.clone(), group.clone()]).unwrap();
    let member = Entitlement::assignment(&group, "member").with_display_name(EVIL);
    store
        .put_entitlements(&group, std::slice::from_ref(&member))
        .unwrap();
    store
        .put_grants(&[Grant::new(&member, user.id.clone())])
        .unwrap();
    store.finish().unwrap();
    EVIL
}

#[tokio::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
)]
async fn markup_in_names_is_shown_as_text_and_never_runs() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("markup.c1z");
    let evil = markup_file(&file);
    let served = Served::start(&file);
    b.goto(&served.link).await;
    b.goto(&format!("{}/#/search?q=x%40example.com", served.url))
        .await;
    let link = b.wait_for("#results a.resource-link", Some(evil)).await;
    b.click(&link).await;
    b.wait_for("#title", Some(evil)).await;
    b.wait_for("#access a.entitlement-link", Some(evil)).await;
    // The names are text nodes: no element came from the file, no script ran.
    assert_eq!(b.count("main img, main script, main b").await, 0);
    // A link that is not http(s) is text, not a link.
    assert_eq!(b.count("main a[href^='javascript']").await, 0);
    let unsafe_link = b.text("main .unsafe-link").await;
    assert_eq!(unsafe_link, "javascript:window.__pwned=3");
    let pwned = b
        .eval(
            "return window.__pwned === undefined;",
            serde_json::json!([]),
        )
        .await;
    assert_eq!(pwned, serde_json::json!(true));
    assert_eq!(b.text("#title").await, evil);
    b.screenshot("markup-as-text").await;
    let types = b.text("#search-type").await;
    assert!(types.contains("<b>Group</b>"), "{types}");
}
