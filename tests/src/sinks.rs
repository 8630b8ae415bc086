//! Real receivers on loopback for alert deliveries: an HTTP server that records webhook
//! requests and an SMTP server that records messages. Both hand what they receive to the
//! test through a channel, so tests wait for events instead of sleeping; the HTTP server can
//! also hold each answer until the test releases it, to keep a delivery in flight.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

/// One webhook request as the server received it.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// Header name (lowercase) and value pairs.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on loopback answering every POST with a settable status.
pub struct WebhookSink {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    status: Arc<AtomicU16>,
    /// Requests in arrival order.
    pub requests: mpsc::UnboundedReceiver<WebhookRequest>,
    /// When holding: one permit per answer the test let go.
    hold: Option<Arc<Semaphore>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookSink {
    /// Starts on a free port (or `addr`), answering `status`.
    pub async fn start(addr: Option<SocketAddr>, status: u16) -> WebhookSink {
        WebhookSink::serve(addr, status, None).await
    }

    /// Starts on a free port, answering `status` only once [`WebhookSink::release`] lets the
    /// answer go: each request is in [`WebhookSink::requests`] as soon as it arrived, and the
    /// sender waits for its answer until the test releases it.
    pub async fn start_holding(status: u16) -> WebhookSink {
        WebhookSink::serve(None, status, Some(Arc::new(Semaphore::new(0)))).await
    }

    /// Lets one held answer go (the oldest waiting, or the next one to arrive).
    pub fn release(&self) {
        self.hold
            .as_ref()
            .expect("release needs a sink started with start_holding")
            .add_permits(1);
    }

    async fn serve(
        addr: Option<SocketAddr>,
        status: u16,
        hold: Option<Arc<Semaphore>>,
    ) -> WebhookSink {
        let listener = TcpListener::bind(addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()))
            .await
            .expect("bind the webhook sink");
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(status));
        let (tx, requests) = mpsc::unbounded_channel();
        let answer = status.clone();
        let gate = hold.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                let answer = answer.clone();
                let gate = gate.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let tx = tx.clone();
                        let answer = answer.clone();
                        let gate = gate.clone();
                        async move {
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(n, v)| {
                                    (
                                        n.as_str().to_string(),
                                        v.to_str().unwrap_or_default().to_string(),
                                    )
                                })
                                .collect();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes().to_vec())
                                .unwrap_or_default();
                            let _ = tx.send(WebhookRequest { headers, body });
                            if let Some(gate) = gate {
                                gate.acquire().await.expect("the gate stays open").forget();
                            }
                            let code = StatusCode::from_u16(answer.load(Ordering::SeqCst))
                                .unwrap_or(StatusCode::OK);
                            Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(code)
                                    .body(Full::new(Bytes::from_static(b"ok")))
                                    .unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        WebhookSink {
            url: format!("http://{addr}/hook"),
            addr,
            status,
            requests,
            hold,
            task,
        }
    }

    /// Changes the status later requests get.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Stops listening (the port is free again).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipients.
    pub rcpt_to: Vec<String>,
    /// Headers and body as sent (dot-unstuffed).
    pub data: String,
}

impl Mail {
    /// A header's value (first occurrence).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        // A long header is folded over several lines (RFC 5322 2.2.3): unfold it.
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", "\t");
        unfolded.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A small SMTP server on loopback (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
/// QUIT) that accepts every message.
pub struct SmtpSink {
    /// `smtp://127.0.0.1:PORT`.
    pub url: String,
    /// Messages in arrival order.
    pub mails: mpsc::UnboundedReceiver<Mail>,
}

impl SmtpSink {
    /// Starts on a free port.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let (tx, mails) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = session(stream, tx).await;
                });
            }
        });
        SmtpSink {
            url: format!("smtp://{addr}"),
            mails,
        }
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    tx: mpsc::UnboundedSender<Mail>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut current: Option<Mail> = None;
    write
        .write_all(b"220 localhost ESMTP recert-tests\r\n")
        .await?;
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8".to_string()
        } else if upper.starts_with("HELO") {
            "250 localhost".into()
        } else if upper.starts_with("MAIL FROM:") {
            current = Some(Mail {
                mail_from: line[10..].trim().to_string(),
                ..Mail::default()
            });
            "250 2.1.0 OK".into()
        } else if upper.starts_with("RCPT TO:") {
            match current.as_mut() {
                Some(m) => {
                    m.rcpt_to.push(line[8..].trim().to_string());
                    "250 2.1.5 OK".into()
                }
                None => "503 5.5.1 MAIL first".into(),
            }
        } else if upper == "DATA" {
            let Some(mut mail) = current.take() else {
                write.write_all(b"503 5.5.1 MAIL first\r\n").await?;
                continue;
            };
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            loop {
                let mut data_line = String::new();
                if lines.read_line(&mut data_line).await? == 0 {
                    return Ok(());
                }
                if data_line == ".\r\n" {
                    break;
                }
                mail.data
                    .push_str(data_line.strip_prefix('.').unwrap_or(&data_line));
            }
            let _ = tx.send(mail);
            "250 2.0.0 Queued".into()
        } else if upper == "RSET" {
            current = None;
            "250 2.0.0 OK".into()
        } else if upper == "NOOP" {
            "250 2.0.0 OK".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "500 5.5.2 Command not recognized".into()
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}
