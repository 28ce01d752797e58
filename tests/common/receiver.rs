//! A local HTTP server standing for a notification receiver (a Slack
//! incoming webhook, a JSON webhook): it answers 200 to every POST and
//! keeps what it was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

/// What the receiver got, in order.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<Got>>>);

impl Received {
    pub fn on(&self, prefix: &str) -> Vec<serde_json::Value> {
        self.0
            .lock()
            .map(|all| {
                all.iter()
                    .filter(|g| g.path.starts_with(prefix))
                    .map(|g| g.body.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The whole requests to paths starting with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<Got> {
        self.0
            .lock()
            .map(|all| all.iter().filter(|g| g.path.starts_with(prefix)).cloned().collect())
            .unwrap_or_default()
    }

    /// Everything received.
    pub fn all(&self) -> Vec<Got> {
        self.0.lock().map(|all| all.clone()).unwrap_or_default()
    }
}

/// An HTTP server on 127.0.0.1 that answers 200 to every POST and keeps
/// what it was sent; its port.
pub fn receiver() -> (u16, Received) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Received::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let keep = keep.clone();
            std::thread::spawn(move || serve(stream, &keep));
        }
    });
    (port, got)
}

fn serve(stream: std::net::TcpStream, got: &Received) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut length = 0;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let value = serde_json::from_slice(&body)
            .unwrap_or(serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
        if let Ok(mut all) = got.0.lock() {
            all.push(Got {
                path,
                headers,
                body: value,
            });
        }
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if reader.get_mut().write_all(answer).is_err() {
            return;
        }
    }
}
