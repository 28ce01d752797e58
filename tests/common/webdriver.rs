//! Headless Chromium driven through chromedriver's W3C WebDriver API (plain
//! HTTP JSON on 127.0.0.1): Debian's `chromium` and `chromium-driver`,
//! which `tests/lab/up` installs. Chromium starts with the flags that keep
//! it off the network (no background networking, component updates, sync
//! or QUIC) and an empty profile of its own.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A chromedriver process and one browser session; both end on drop.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: super::DesiredDir,
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to chromedriver");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send to chromedriver");
    // chromedriver keeps the connection open: read the head, then exactly
    // the body it announces.
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut reader, &mut line).expect("read from chromedriver");
        if n == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or_else(|| panic!("chromedriver answered without a Content-Length: {head}"));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("read the body from chromedriver");
    let body = String::from_utf8_lossy(&body);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("chromedriver answered {head}\n{body}: {e}"))
}

impl Browser {
    /// Start chromedriver and a headless Chromium session.
    pub fn start() -> Browser {
        let port = super::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (Debian's chromium-driver; tests/lab/up installs it)");
        super::eventually(30, "chromedriver to answer", || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        let profile = super::DesiredDir::new("chromium-profile");
        let created = http(
            port,
            "POST",
            "/session",
            Some(&json!({
                "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--disable-dev-shm-usage", "--window-size=1280,900",
                            format!("--user-data-dir={}", profile.arg()),
                        ],
                    },
                    "goog:loggingPrefs": { "browser": "ALL" },
                }},
            })),
        );
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        Browser {
            driver,
            port,
            session,
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let answer = http(self.port, method, &format!("/session/{}{path}", self.session), body);
        answer["value"].clone()
    }

    pub fn open(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Run `script` (a function body) in the page; what it returns.
    pub fn run(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(&json!({ "script": script, "args": [] })))
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        self.run("return document.body ? document.body.innerText : '';")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The browser's console messages at level SEVERE (errors).
    pub fn console_errors(&self) -> Vec<String> {
        let log = self.call("POST", "/se/log", Some(&json!({ "type": "browser" })));
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A PNG of the window, saved at `path`.
    pub fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let shot = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().expect("a base64 screenshot"))
            .expect("the screenshot decodes");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the artifact directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where tests keep what they produce for people to look at.
pub fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| super::repo_root().join("target"), PathBuf::from);
    target.join("test-artifacts")
}
