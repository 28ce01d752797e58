//! A raw `GET` for the one read bollard cannot decode faithfully.
//!
//! bollard's `ContainerSpec` renames its health check field `HealthCheck`
//! (from the API's swagger), but the engine writes `Healthcheck`; serde is
//! case-sensitive, so every health check reads back as missing and the diff
//! would update such services forever. Go decodes keys case-insensitively,
//! so writes through bollard are fine. For `GET /services` we read the JSON
//! ourselves, fix that key, and hand the result to bollard's types.
//!
//! HTTP/1.0 keeps this small: the engine then sends a plain body and closes
//! the connection (no chunked encoding). Unix sockets, plain-TCP and ssh
//! `DOCKER_HOST`s are supported; TLS endpoints use bollard's own call.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the engine listens, as far as a raw request can reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEndpoint {
    Unix(String),
    Tcp(String),
    /// `ssh … docker system dial-stdio`: a fresh ssh per request.
    Ssh(crate::ssh::SshDialer),
}

impl RawEndpoint {
    pub fn parse(docker_host: &str) -> Option<Self> {
        if let Some(path) = docker_host.strip_prefix("unix://") {
            return Some(RawEndpoint::Unix(path.to_owned()));
        }
        if let Some(addr) = docker_host.strip_prefix("tcp://") {
            let tls = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
            return (!tls).then(|| RawEndpoint::Tcp(addr.trim_end_matches('/').to_owned()));
        }
        None
    }
}

/// How long one raw read may take, connection to last byte.
pub const RAW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The largest answer read: the services of a big swarm are a few MiB.
pub const MAX_RAW_BYTES: u64 = 256 << 20;

/// GET `path` (with the `/v1.xx` prefix) and return the JSON body, within
/// [`RAW_TIMEOUT`] and [`MAX_RAW_BYTES`].
pub async fn get_json(endpoint: &RawEndpoint, path: &str) -> std::io::Result<serde_json::Value> {
    get_json_within(endpoint, path, RAW_TIMEOUT, MAX_RAW_BYTES).await
}

/// [`get_json`] with explicit bounds.
pub async fn get_json_within(
    endpoint: &RawEndpoint,
    path: &str,
    timeout: std::time::Duration,
    max_bytes: u64,
) -> std::io::Result<serde_json::Value> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: docker\r\nAccept: application/json\r\n\r\n");
    let read = async {
        let mut response = Vec::new();
        match endpoint {
            RawEndpoint::Unix(socket) => {
                let mut stream = tokio::net::UnixStream::connect(socket).await?;
                stream.write_all(request.as_bytes()).await?;
                (&mut stream).take(max_bytes + 1).read_to_end(&mut response).await?;
            }
            RawEndpoint::Tcp(addr) => {
                let mut stream = tokio::net::TcpStream::connect(addr).await?;
                stream.write_all(request.as_bytes()).await?;
                (&mut stream).take(max_bytes + 1).read_to_end(&mut response).await?;
            }
            RawEndpoint::Ssh(dialer) => {
                let mut stream = dialer.dial()?;
                stream.write_all(request.as_bytes()).await?;
                (&mut stream).take(max_bytes + 1).read_to_end(&mut response).await?;
            }
        }
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(timeout, read).await.map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "GET {path}: the engine did not answer within {}s; check that it runs and is not overloaded",
                timeout.as_secs()
            ),
        )
    })??;
    if response.len() as u64 > max_bytes {
        return Err(std::io::Error::other(format!(
            "GET {path}: the engine's answer is larger than {max_bytes} bytes; refusing to read it"
        )));
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("the engine's answer has no HTTP header end"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    let body = &response[split + 4..];
    if status != 200 {
        return Err(std::io::Error::other(format!(
            "GET {path}: HTTP {status}: {}",
            String::from_utf8_lossy(body).trim()
        )));
    }
    serde_json::from_slice(body).map_err(std::io::Error::other)
}

/// Rename `Healthcheck` to bollard's `HealthCheck` in every ContainerSpec.
pub fn fix_healthcheck_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(container) = map.get_mut("ContainerSpec").and_then(|c| c.as_object_mut())
                && let Some(hc) = container.remove("Healthcheck")
            {
                container.insert("HealthCheck".to_owned(), hc);
            }
            for v in map.values_mut() {
                fix_healthcheck_keys(v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fix_healthcheck_keys),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that accepts and then says nothing (a stalled engine),
    /// or answers with more bytes than allowed.
    async fn server(answer: Option<Vec<u8>>) -> (TempSocket, RawEndpoint) {
        let path = std::env::temp_dir().join(format!("sk-raw-{}-{}.sock", std::process::id(), fastrand_id()));
        let dir = TempSocket(path.clone());
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = stream.read(&mut buf).await;
                    match answer {
                        Some(bytes) => {
                            let _ = stream.write_all(&bytes).await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                });
            }
        });
        (dir, RawEndpoint::Unix(path.display().to_string()))
    }

    struct TempSocket(std::path::PathBuf);
    impl Drop for TempSocket {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn fastrand_id() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    #[tokio::test]
    async fn a_silent_engine_times_out_with_a_clear_error() {
        let (_dir, endpoint) = server(None).await;
        let err = get_json_within(
            &endpoint,
            "/v1.41/services",
            std::time::Duration::from_millis(200),
            1 << 20,
        )
        .await
        .expect_err("must time out");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("did not answer within"), "{err}");
    }

    #[tokio::test]
    async fn an_oversized_answer_is_refused() {
        let mut answer = b"HTTP/1.0 200 OK\r\n\r\n[".to_vec();
        answer.extend(std::iter::repeat_n(b' ', 4096));
        answer.push(b']');
        let (_dir, endpoint) = server(Some(answer)).await;
        let err = get_json_within(&endpoint, "/v1.41/services", std::time::Duration::from_secs(5), 1024)
            .await
            .expect_err("must refuse");
        assert!(err.to_string().contains("larger than"), "{err}");
        let ok = get_json_within(&endpoint, "/v1.41/services", std::time::Duration::from_secs(5), 1 << 20)
            .await
            .expect("fits");
        assert_eq!(ok, serde_json::json!([]));
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            RawEndpoint::parse("unix:///var/run/docker.sock"),
            Some(RawEndpoint::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(RawEndpoint::parse("ssh://host"), None);
    }

    #[test]
    fn healthcheck_key_is_renamed_where_bollard_expects_it() {
        let mut v = serde_json::json!([{"Spec": {"TaskTemplate": {"ContainerSpec": {"Healthcheck": {"Retries": 3}}}}}]);
        fix_healthcheck_keys(&mut v);
        assert_eq!(
            v[0]["Spec"]["TaskTemplate"]["ContainerSpec"]["HealthCheck"]["Retries"],
            3
        );
        let services: Vec<bollard::models::Service> = serde_json::from_value(v).expect("bollard reads it");
        let hc = services[0]
            .spec
            .as_ref()
            .and_then(|s| s.task_template.as_ref())
            .and_then(|t| t.container_spec.as_ref())
            .and_then(|c| c.health_check.as_ref());
        assert_eq!(hc.and_then(|h| h.retries), Some(3));
    }
}
