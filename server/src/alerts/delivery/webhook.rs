//! Webhook channel: an alert as a JSON POST, signed with HMAC-SHA256 in the Stripe style.
//!
//! Headers sent with every delivery:
//! - `Content-Type: application/json`
//! - `User-Agent: recertd/<version>`
//! - `Idempotency-Key: <payload.idempotency_key>` (the same on every retry)
//! - `X-Recert-Event: alert`, or `test` for a test alert (`recert alerts test`)
//! - `X-Recert-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
//!   only when the target has a secret.
//!
//! A receiver recomputes the MAC over the raw body it received with [`verify`]; the
//! timestamp inside the signed text stops an old delivery from being replayed later.

use super::{AlertPayload, DeliveryError};
use crate::domain::{DestinationPolicy, literal_host};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::Sha256;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long one delivery may take, from connecting to reading the whole answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Recert-Signature";

/// The header that carries the payload's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The header that names the kind of event; always `alert` for now.
pub const EVENT_HEADER: &str = "X-Recert-Event";

const USER_AGENT: &str = concat!("recertd/", env!("CARGO_PKG_VERSION"));

/// The most of a refusing receiver's answer that is read (and then logged, never returned
/// to callers): enough to see what went wrong, too little to fill memory.
pub const ANSWER_READ_CAP: usize = 1024;

/// The most of a refusing receiver's answer kept in the log line.
const BODY_EXCERPT_CHARS: usize = 200;

type HmacSha256 = Hmac<Sha256>;

/// The HTTP client could not be set up (e.g. the TLS backend failed to initialise).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the webhook HTTP client: {0}")]
pub struct WebhookClientError(#[from] reqwest::Error);

/// A reusable HTTP client for webhook deliveries: it keeps connections and TLS sessions
/// alive between alerts. Cloning is cheap and shares them.
///
/// Every address it connects to passes its [`DestinationPolicy`]: names are resolved by
/// [`CheckedResolver`], which drops refused addresses, and a literal address in the URL is
/// checked before the request. Proxies from the environment are ignored, since a proxy
/// would make the connection on the daemon's behalf past the check.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: Arc<DestinationPolicy>,
}

impl WebhookClient {
    /// A client with the standard [`TIMEOUT`] that delivers where `policy` allows.
    pub fn new(policy: DestinationPolicy) -> Result<Self, WebhookClientError> {
        Self::with_timeout(policy, TIMEOUT)
    }

    /// A client whose deliveries give up after `timeout`.
    ///
    /// Redirects are not followed: a redirected POST may turn into a GET or carry the
    /// signature to another host (past the destination check), so a 3xx answer is a failure
    /// to fix in the target's URL.
    pub fn with_timeout(
        policy: DestinationPolicy,
        timeout: Duration,
    ) -> Result<Self, WebhookClientError> {
        let policy = Arc::new(policy);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                policy: policy.clone(),
            }))
            .user_agent(USER_AGENT)
            .build()?;
        Ok(WebhookClient { http, policy })
    }

    /// Where this client may deliver.
    pub fn policy(&self) -> &DestinationPolicy {
        &self.policy
    }
}

/// The system resolver, keeping only the addresses the policy allows: the check happens on
/// what the connection will use, so a name that resolves (or rebinds) to an internal
/// address is refused.
#[derive(Debug)]
pub struct CheckedResolver {
    policy: Arc<DestinationPolicy>,
}

/// Every address a name resolved to was refused.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to refused addresses: {reason}")]
struct RefusedName {
    name: String,
    reason: String,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(denied) => {
                        refused.get_or_insert(denied);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = refused.map_or_else(|| "no address".to_owned(), |d| d.to_string());
                return Err(Box::new(RefusedName { name, reason }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Where to POST alerts, and the secret that signs them.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct WebhookTarget {
    /// An `http` or `https` URL.
    pub url: String,
    /// The shared HMAC secret; without one, deliveries are unsigned.
    pub secret: Option<String>,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &redacted_url(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The URL with any password and query string hidden: both often carry tokens.
fn redacted_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return "<unparsable URL>".into();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("redacted"));
    }
    if url.query().is_some() {
        url.set_query(Some("redacted"));
    }
    url.to_string()
}

/// Makes one delivery of `payload` to `target`, signed at `now` when the target has a secret.
///
/// Any 2xx answer is success. 408, 429, 5xx, connection failures and time-outs are transient;
/// other answers (4xx, 3xx) and a malformed URL are permanent.
pub async fn send_webhook(
    client: &WebhookClient,
    target: &WebhookTarget,
    payload: &AlertPayload,
    now: Timestamp,
) -> Result<(), DeliveryError> {
    if let Some(address) = literal_host(&target.url)
        && let Err(denied) = client.policy.check(address)
    {
        return Err(DeliveryError::permanent(format!(
            "webhook refused: {denied}"
        )));
    }
    let body = serde_json::to_vec(payload)
        .map_err(|e| DeliveryError::permanent(format!("cannot encode the alert: {e}")))?;
    let mut request = client
        .http
        .post(target.url.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(IDEMPOTENCY_HEADER, payload.idempotency_key.as_str())
        .header(EVENT_HEADER, if payload.test { "test" } else { "alert" });
    if let Some(secret) = &target.secret {
        request = request.header(
            SIGNATURE_HEADER,
            sign(secret.as_bytes(), now.as_second(), &body),
        );
    }
    let mut response = request
        .body(body)
        .send()
        .await
        .map_err(classify_request_error)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let transient = status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
    // The receiver's words go to the operator's log only: echoing them to callers would
    // let anyone read internal services through a webhook.
    let answer = read_capped(&mut response, ANSWER_READ_CAP).await;
    tracing::info!(
        status = status.as_u16(),
        answer = %excerpt(&String::from_utf8_lossy(&answer)),
        "webhook refused a delivery"
    );
    Err(DeliveryError {
        permanent: !transient,
        message: format!(
            "webhook answered {} ({})",
            status.as_u16(),
            status_class(status)
        ),
    })
}

/// What kind of answer `status` is, in words.
fn status_class(status: reqwest::StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "informational",
        300..=399 => "redirect, not followed",
        400..=499 => "client error",
        500..=599 => "server error",
        _ => "unexpected status",
    }
}

/// At most `cap` bytes of the answer's body; the rest is never read.
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - out.len();
                out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    out
}

/// The start of a receiver's answer, on one line, for the log.
fn excerpt(text: &str) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(BODY_EXCERPT_CHARS + 1)
        .collect();
    if one_line.chars().count() > BODY_EXCERPT_CHARS {
        let cut: String = one_line.chars().take(BODY_EXCERPT_CHARS).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// A request that got no HTTP answer: a bad URL is permanent, anything on the way is not.
fn classify_request_error(e: reqwest::Error) -> DeliveryError {
    let e = e.without_url();
    let mut message = if e.is_timeout() {
        "webhook timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect to the webhook".to_owned()
    } else if e.is_builder() {
        "invalid webhook URL".to_owned()
    } else {
        "webhook request failed".to_owned()
    };
    let mut refused = false;
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        refused |= cause.downcast_ref::<RefusedName>().is_some();
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DeliveryError {
        permanent: e.is_builder() || refused,
        message,
    }
}

/// The `X-Recert-Signature` value for `body` sent at `timestamp` (unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let mut out = format!("t={timestamp},v1=");
    for byte in tag {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether `header_value` is a valid signature of `body` by `secret`, made within
/// `tolerance` of `now` (either side, to allow for clock skew).
///
/// Several `v1=` entries are allowed (one per secret while a secret is rotated); one match
/// is enough. The comparison takes constant time.
pub fn verify(
    secret: &[u8],
    header_value: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header_value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => {
                if timestamp.is_some() {
                    return false;
                }
                timestamp = t.parse::<i64>().ok();
            }
            Some(("v1", hex)) => candidates.extend(decode_hex(hex)),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let age = now.as_second().abs_diff(timestamp);
    if u128::from(age) > tolerance.as_millis() / 1000 {
        return false;
    }
    let expected = mac(secret, timestamp, body);
    candidates
        .iter()
        .any(|tag| expected.clone().verify_slice(tag).is_ok())
}

/// The MAC state after absorbing `"<timestamp>.<body>"`.
fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Lower- or upper-case hex to bytes; `None` if malformed.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::payload;
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response, StatusCode};
    use hyper_util::rt::TokioIo;
    use std::net::SocketAddr;
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    const SECRET: &str = "whsec_test_secret";

    /// What the receiver saw of one request.
    #[derive(Debug)]
    struct Received {
        path: String,
        headers: hyper::HeaderMap,
        body: Bytes,
    }

    /// A real HTTP/1.1 server on loopback. It records every request and answers with the
    /// status named by the path (`/status/503`), or 204.
    async fn receiver() -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let path = req.uri().path().to_owned();
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await?.to_bytes();
                            let status = path
                                .strip_prefix("/status/")
                                .and_then(|s| s.parse::<u16>().ok())
                                .and_then(|s| StatusCode::from_u16(s).ok())
                                .unwrap_or(StatusCode::NO_CONTENT);
                            let _ = tx.send(Received {
                                path,
                                headers,
                                body,
                            });
                            let answer = if status == StatusCode::NO_CONTENT {
                                Bytes::new()
                            } else {
                                Bytes::from(format!("answer {}", status.as_u16()))
                            };
                            Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(status)
                                    .body(Full::new(answer))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, rx)
    }

    fn target(addr: SocketAddr, path: &str, secret: Option<&str>) -> WebhookTarget {
        WebhookTarget {
            url: format!("http://{addr}{path}"),
            secret: secret.map(str::to_owned),
        }
    }

    fn now() -> Timestamp {
        "2025-07-01T09:00:00Z".parse().unwrap()
    }

    /// The test receivers listen on loopback, which the default policy refuses.
    fn loopback() -> DestinationPolicy {
        DestinationPolicy::new(vec!["127.0.0.0/8".parse().unwrap()])
    }

    fn header<'a>(r: &'a Received, name: &str) -> &'a str {
        r.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    #[tokio::test]
    async fn delivers_signed_json_with_idempotency_key() {
        let (addr, mut rx) = receiver().await;
        let client = WebhookClient::new(loopback()).unwrap();
        let payload = payload();
        send_webhook(
            &client,
            &target(addr, "/hooks/recert", Some(SECRET)),
            &payload,
            now(),
        )
        .await
        .unwrap();

        let got = rx.recv().await.unwrap();
        assert_eq!(got.path, "/hooks/recert");
        assert_eq!(header(&got, "content-type"), "application/json");
        assert_eq!(
            header(&got, "user-agent"),
            concat!("recertd/", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            header(&got, "idempotency-key"),
            "cred_7-cycle_2025-07-31-t30"
        );
        assert_eq!(header(&got, "x-recert-event"), "alert");

        let json: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(json["idempotency_key"], "cred_7-cycle_2025-07-31-t30");
        assert_eq!(json["alert_id"], "alert_42");
        assert_eq!(json["holder_id"], "holder_1");
        assert_eq!(json["credential_id"], "cred_7");
        assert_eq!(json["program"], "nha-cpt");
        assert_eq!(json["threshold_days"], 30);
        assert_eq!(json["due_on"], "2025-07-01");
        assert_eq!(json["expires_on"], "2025-07-31");
        assert_eq!(json["status"], "at_risk");
        assert_eq!(json["test"], false);
        let decoded: AlertPayload = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(decoded, payload);

        let signature = header(&got, "x-recert-signature");
        assert!(
            signature.starts_with(&format!("t={},v1=", now().as_second())),
            "{signature}"
        );
        let tolerance = Duration::from_secs(300);
        let secret = SECRET.as_bytes();
        assert!(verify(secret, signature, &got.body, now(), tolerance));
        let later = now() + jiff::SignedDuration::from_secs(299);
        assert!(verify(secret, signature, &got.body, later, tolerance));

        let mut tampered = got.body.to_vec();
        let at = tampered.iter().position(|&b| b == b'3').unwrap();
        tampered[at] = b'4';
        assert!(!verify(secret, signature, &tampered, now(), tolerance));
        assert!(!verify(
            b"another secret",
            signature,
            &got.body,
            now(),
            tolerance
        ));
        let too_late = now() + jiff::SignedDuration::from_secs(301);
        assert!(!verify(secret, signature, &got.body, too_late, tolerance));
    }

    #[tokio::test]
    async fn unsigned_without_a_secret() {
        let (addr, mut rx) = receiver().await;
        let client = WebhookClient::new(loopback()).unwrap();
        send_webhook(&client, &target(addr, "/", None), &payload(), now())
            .await
            .unwrap();
        let got = rx.recv().await.unwrap();
        assert!(got.headers.get(SIGNATURE_HEADER).is_none());
        assert_eq!(header(&got, "idempotency-key"), payload().idempotency_key);
    }

    #[tokio::test]
    async fn answers_are_classified() {
        let (addr, mut rx) = receiver().await;
        let client = WebhookClient::new(loopback()).unwrap();
        for (status, permanent) in [
            (500, false),
            (503, false),
            (408, false),
            (429, false),
            (400, true),
            (401, true),
            (404, true),
            (410, true),
            (301, true),
        ] {
            let path = format!("/status/{status}");
            let err = send_webhook(
                &client,
                &target(addr, &path, Some(SECRET)),
                &payload(),
                now(),
            )
            .await
            .unwrap_err();
            assert_eq!(err.permanent, permanent, "status {status}: {err}");
            assert!(
                err.message.contains(&status.to_string()),
                "status {status}: {err}"
            );
            assert!(
                !err.message.contains(&format!("answer {status}")),
                "the receiver's body stays out of the error: {err}"
            );
            assert_eq!(rx.recv().await.unwrap().path, path);
        }
        for status in [200, 201, 202] {
            let path = format!("/status/{status}");
            send_webhook(&client, &target(addr, &path, None), &payload(), now())
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn internal_destinations_are_refused_without_connecting() {
        let (addr, mut rx) = receiver().await;
        let client = WebhookClient::new(DestinationPolicy::default()).unwrap();
        let port = addr.port();
        for url in [
            format!("http://{addr}/"),
            format!("http://0x7f000001:{port}/"),
            format!("http://127.1:{port}/"),
            format!("http://[::1]:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "http://10.0.0.1/".to_owned(),
            // A name: refused after resolution, whatever the URL looks like.
            format!("http://localhost:{port}/"),
        ] {
            let err = send_webhook(
                &client,
                &WebhookTarget {
                    url: url.clone(),
                    secret: None,
                },
                &payload(),
                now(),
            )
            .await
            .unwrap_err();
            assert!(err.permanent, "{url}: {err}");
            assert!(err.message.contains("--webhook-allow-net"), "{url}: {err}");
        }
        assert!(rx.try_recv().is_err(), "nothing reached the receiver");

        // A name resolving to an allowed range is delivered.
        let allowed = WebhookClient::new(loopback()).unwrap();
        let by_name = WebhookTarget {
            url: format!("http://localhost:{port}/by-name"),
            secret: None,
        };
        send_webhook(&allowed, &by_name, &payload(), now())
            .await
            .unwrap();
        assert_eq!(rx.recv().await.unwrap().path, "/by-name");
    }

    #[tokio::test]
    async fn a_huge_refusal_is_read_only_up_to_the_cap() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 64 * 1024];
            let _ = stream.read(&mut request).await.unwrap();
            let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 104857600\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            // Write until the client stops reading and closes; count what it took.
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0usize;
            while stream.write_all(&chunk).await.is_ok() {
                sent += chunk.len();
                if sent >= 100 * 1024 * 1024 {
                    break;
                }
            }
            sent
        });
        let client = WebhookClient::new(loopback()).unwrap();
        let err = send_webhook(&client, &target(addr, "/", None), &payload(), now())
            .await
            .unwrap_err();
        assert_eq!(err.message, "webhook answered 500 (server error)");
        // The client dropped the connection after the cap: far less than the 100 MiB went.
        let sent = served.await.unwrap();
        assert!(sent < 16 * 1024 * 1024, "{sent} bytes were sent");
    }

    #[tokio::test]
    async fn nothing_listening_is_transient() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let client = WebhookClient::new(loopback()).unwrap();
        let err = send_webhook(&client, &target(addr, "/", Some(SECRET)), &payload(), now())
            .await
            .unwrap_err();
        assert!(!err.permanent, "{err}");
        assert!(err.message.starts_with("cannot connect"), "{err}");
    }

    #[tokio::test]
    async fn silent_receiver_times_out_transiently() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            // Keep the connection open without answering until the test ends.
            std::future::pending::<()>().await;
            drop(stream);
        });
        let client = WebhookClient::with_timeout(loopback(), Duration::from_millis(200)).unwrap();
        let err = send_webhook(&client, &target(addr, "/", None), &payload(), now())
            .await
            .unwrap_err();
        assert!(!err.permanent, "{err}");
        assert!(err.message.contains("timed out"), "{err}");
        hold.abort();
    }

    #[tokio::test]
    async fn malformed_url_is_permanent() {
        let client = WebhookClient::new(loopback()).unwrap();
        let bad = WebhookTarget {
            url: "not a url".into(),
            secret: None,
        };
        let err = send_webhook(&client, &bad, &payload(), now())
            .await
            .unwrap_err();
        assert!(err.permanent, "{err}");
    }

    #[test]
    fn signature_matches_an_independent_vector() {
        // HMAC-SHA256("secret", "1700000000.{}"), computed with
        // `printf '1700000000.{}' | openssl dgst -sha256 -hmac secret`.
        assert_eq!(
            sign(b"secret", 1_700_000_000, b"{}"),
            "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }

    #[test]
    fn verify_rejects_malformed_headers() {
        let body = b"{}";
        let t = now().as_second();
        let good = sign(b"k", t, body);
        let tol = Duration::from_secs(60);
        assert!(verify(b"k", &good, body, now(), tol));
        let v1 = good.split_once(",v1=").unwrap().1;
        let rotated = format!("t={t},v1={},v1={v1}", "00".repeat(32));
        assert!(verify(b"k", &rotated, body, now(), tol));
        assert!(verify(
            b"k",
            &good
                .to_uppercase()
                .replace("T=", "t=")
                .replace("V1=", "v1="),
            body,
            now(),
            tol
        ));
        for bad in [
            "",
            "v1=abcd",
            &format!("t={t}"),
            &format!("t=x,v1={v1}"),
            &format!("t={t},v1={}", &v1[1..]),
            &format!("t={t},t={t},v1={v1}"),
            &format!("t={t},v0={v1}"),
        ] {
            assert!(!verify(b"k", bad, body, now(), tol), "{bad}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let target = WebhookTarget {
            url: "https://user:hunter2@hooks.example.com/recert?token=abc123".into(),
            secret: Some("whsec_supersecret".into()),
        };
        let shown = format!("{target:?}");
        for secret in ["hunter2", "abc123", "whsec_supersecret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("hooks.example.com/recert"), "{shown}");
    }
}
