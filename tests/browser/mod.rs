//! A small W3C WebDriver client over `reqwest` for the explorer's browser tests: starts
//! Debian's `chromedriver` on a free loopback port with headless `chromium`, and offers
//! the few commands the tests need (navigate, find, click, type, run a script, wait,
//! screenshot). `fantoccini` was considered (cargo info fantoccini: 0.22, MIT/Apache) but
//! this needs no new crate: the root package already builds reqwest and base64.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C element key in WebDriver responses.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// A headless Chromium session, ended (and its driver stopped) on drop.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    base: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. Without them: fails under CI
    /// (`CI` set), otherwise returns `None` after saying why, so the test can skip.
    pub async fn start() -> Option<Browser> {
        let chromium = find_program(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        );
        let driver = find_program("CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let msg = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver; .ci/run does it); skipping the browser test";
            if std::env::var_os("CI").is_some() {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver.display()));
        let base = format!("http://127.0.0.1:{port}");
        connector_sdk::http::ensure_tls_provider();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start on {base}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--no-first-run", "--no-proxy-server",
                         "--disable-extensions", "--disable-background-networking"]
            }
        }}});
        let mut browser = Browser {
            http,
            session: String::new(),
            driver: child,
            base,
        };
        let res = browser.call("POST", "/session", caps).await;
        browser.session = res["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_string();
        Some(browser)
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), json!({"url": url}))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.call("GET", &self.s("/url"), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to 10 s) until an element matches `css` and, if given, its text contains
    /// `text`; returns that element's id.
    pub async fn wait_for(&self, css: &str, text: Option<&str>) -> String {
        self.wait_for_all(css, text.as_slice()).await
    }

    /// Waits (up to 10 s) until an element matches `css` and its text contains every one
    /// of `texts`; returns that element's id.
    pub async fn wait_for_all(&self, css: &str, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let text = texts.join(" + ");
        loop {
            let found = self
                .eval(
                    "return Array.from(document.querySelectorAll(arguments[0]))
                       .find(e => arguments[1].every(t => e.textContent.includes(t))) || null;",
                    json!([css, texts]),
                )
                .await;
            if let Some(id) = found.get(ELEMENT).and_then(Value::as_str) {
                return id.to_string();
            }
            if Instant::now() > deadline {
                let body = self.text("body").await;
                panic!(
                    "no {css} containing {text:?} after 10 s (last answer {found}); the page shows:\n{body}"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks an element as a user would (WebDriver element click).
    pub async fn click(&self, element: &str) {
        self.call(
            "POST",
            &self.s(&format!("/element/{element}/click")),
            json!({}),
        )
        .await;
    }

    /// Types `text` into an element.
    pub async fn type_into(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &self.s(&format!("/element/{element}/value")),
            json!({"text": text}),
        )
        .await;
    }

    /// The text of one element (an id from [`wait_for`](Self::wait_for)).
    pub async fn text_of(&self, element: &str) -> String {
        self.call(
            "GET",
            &self.s(&format!("/element/{element}/text")),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The text of every element matching `css`, joined by newlines.
    pub async fn text(&self, css: &str) -> String {
        self.eval(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText).join('\\n');",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.eval(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([css]),
        )
        .await
        .as_u64()
        .unwrap_or(0) as usize
    }

    /// Saves a PNG of the window under `target/explorer-screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call("GET", &self.s("/screenshot"), Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

/// `target/explorer-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("explorer-screenshots")
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Best effort: end the session (closes Chromium), then stop the driver we started.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                connector_sdk::http::ensure_tls_provider();
                let _ = reqwest::Client::new()
                    .delete(url)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
            });
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
