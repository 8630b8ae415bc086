//! Email channel: an alert as a plain-text message through an SMTP relay.
//!
//! The message carries `X-Recert-Idempotency-Key` and a `Message-ID` derived from the
//! idempotency key, so a retry after a lost reply produces the same message and receivers
//! (or their filters) can drop the repeat.

use super::{AlertPayload, DeliveryError};
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;

/// The sender address used when the configuration names none.
pub const DEFAULT_FROM: &str = "recertd@localhost";

/// The header that carries the payload's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "X-Recert-Idempotency-Key";

/// How long any one SMTP step (connect, a command, the message) may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Why an SMTP URL or sender address was refused.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// The URL does not parse.
    #[error("invalid SMTP URL: {0}")]
    InvalidUrl(#[from] url::ParseError),
    /// The scheme is none of `smtp`, `smtp+starttls`, `smtps`.
    #[error("unsupported SMTP URL scheme {0:?}: use smtp, smtp+starttls or smtps")]
    UnsupportedScheme(String),
    /// The URL names no host.
    #[error("the SMTP URL has no host")]
    MissingHost,
    /// The user or password is not valid percent-encoded UTF-8.
    #[error("the SMTP URL's credentials are not valid percent-encoded UTF-8")]
    InvalidCredentials,
    /// The sender address does not parse.
    #[error("invalid sender address {address:?}: {reason}")]
    InvalidFrom {
        /// The address as configured.
        address: String,
        /// What the parser objected to.
        reason: String,
    },
    /// The URL carries a password, which would show in the process list and in logs.
    #[error(
        "the SMTP URL must not carry a password: give it with --smtp-password-file or RECERT_SMTP_PASSWORD"
    )]
    PasswordInUrl,
    /// A password was given but the URL names no user.
    #[error(
        "an SMTP password was given but the SMTP URL names no user (smtp+starttls://USER@host)"
    )]
    PasswordWithoutUser,
    /// Credentials over plain `smtp://` to a relay that is not on this machine.
    #[error(
        "refusing to send SMTP credentials in clear to {host}: use smtp+starttls:// or smtps://, or a relay on loopback"
    )]
    PlainAuth {
        /// The relay's host.
        host: String,
    },
    /// TLS could not be set up for the host.
    #[error("cannot set up TLS for the SMTP relay: {0}")]
    Tls(#[source] lettre::transport::smtp::Error),
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No TLS at all: only for relays on loopback or a trusted network.
    Plain,
    /// STARTTLS, required: the message is never sent in the clear.
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

impl Security {
    fn scheme(self) -> &'static str {
        match self {
            Security::Plain => "smtp",
            Security::StartTls => "smtp+starttls",
            Security::Implicit => "smtps",
        }
    }
}

/// An SMTP relay and the sender address alerts come from.
///
/// Each delivery opens its own connection: alerts are rare, and a stale pooled connection
/// would only add a failure mode.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    security: Security,
    host: String,
    port: u16,
    user: Option<String>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let credentials = match &self.user {
            Some(user) => format!("{user}:<redacted>@"),
            None => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        f.debug_struct("Mailer")
            .field(
                "url",
                &format!(
                    "{}://{credentials}{host}:{}",
                    self.security.scheme(),
                    self.port
                ),
            )
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// A mailer for the relay at `url`, sending as `from` ([`DEFAULT_FROM`] when empty).
    ///
    /// `url` is `smtp://host[:port]` (no TLS, for loopback relays; port 25),
    /// `smtp+starttls://host[:port]` (STARTTLS required; port 587) or `smtps://host[:port]`
    /// (implicit TLS; port 465), optionally with a percent-encoded `user@`; `password`
    /// authenticates that user, and is never part of the URL (which shows in process lists).
    /// Credentials over plain `smtp://` go only to a relay on loopback.
    /// Certificates are checked against the bundled web PKI roots.
    pub fn from_url(url: &str, from: &str, password: Option<&str>) -> Result<Mailer, MailerError> {
        let parsed = url::Url::parse(url)?;
        if parsed.password().is_some() {
            return Err(MailerError::PasswordInUrl);
        }
        let security = match parsed.scheme() {
            "smtp" => Security::Plain,
            "smtp+starttls" => Security::StartTls,
            "smtps" => Security::Implicit,
            other => return Err(MailerError::UnsupportedScheme(other.to_owned())),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain("")) | None => return Err(MailerError::MissingHost),
            Some(url::Host::Domain(domain)) => domain.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
        };
        let port = parsed.port().unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Implicit => 465,
        });
        let from = if from.is_empty() { DEFAULT_FROM } else { from };
        let from: Mailbox = from.parse().map_err(|e| MailerError::InvalidFrom {
            address: from.to_owned(),
            reason: format!("{e}"),
        })?;

        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .timeout(Some(TIMEOUT));
        if security != Security::Plain {
            let tls = TlsParameters::new(host.clone()).map_err(MailerError::Tls)?;
            builder = builder.tls(match security {
                Security::StartTls => Tls::Required(tls),
                _ => Tls::Wrapper(tls),
            });
        }
        let user = if parsed.username().is_empty() {
            if password.is_some() {
                return Err(MailerError::PasswordWithoutUser);
            }
            None
        } else {
            // `smtp` is not a special scheme to the URL parser, so an IPv4 host comes as a
            // name: read the host text as an address.
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if security == Security::Plain && !loopback {
                return Err(MailerError::PlainAuth { host });
            }
            let user = percent_decode(parsed.username())?;
            let password = password.unwrap_or_default().to_owned();
            builder = builder.credentials(Credentials::new(user.clone(), password));
            Some(user)
        };
        Ok(Mailer {
            transport: builder.build(),
            from,
            security,
            host,
            port,
            user,
        })
    }
}

/// Decodes `%XX` escapes; malformed escapes and non-UTF-8 results are refused.
fn percent_decode(s: &str) -> Result<String, MailerError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(MailerError::InvalidCredentials)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| MailerError::InvalidCredentials)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| MailerError::InvalidCredentials)
}

/// Sends `payload` to the address `to` through `mailer`'s relay.
///
/// A malformed recipient address and 5xx replies (e.g. "550 no such user") are permanent;
/// 4xx replies, connection and TLS failures and time-outs are transient.
pub async fn send_email(
    mailer: &Mailer,
    to: &str,
    payload: &AlertPayload,
) -> Result<(), DeliveryError> {
    let recipient: Mailbox = to
        .parse()
        .map_err(|e| DeliveryError::permanent(format!("invalid recipient address {to:?}: {e}")))?;
    let message = Message::builder()
        .from(mailer.from.clone())
        .to(recipient)
        .subject(payload.title.as_str())
        .message_id(Some(message_id(
            &payload.idempotency_key,
            mailer.from.email.domain(),
        )))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER),
            payload.idempotency_key.clone(),
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(text(payload))
        .map_err(|e| DeliveryError::permanent(format!("cannot build the email: {e}")))?;
    mailer
        .transport
        .send(message)
        .await
        .map(drop)
        .map_err(classify)
}

/// The message text: the alert, its dates, and how to quiet it.
fn text(payload: &AlertPayload) -> String {
    let mut text = String::new();
    if payload.test {
        text.push_str("This is a test alert from recert: nothing needs doing.\n\n");
    }
    text.push_str(payload.body.trim_end());
    if payload.test {
        // A test is about no credential: no dates to show and nothing to snooze or mute.
        text.push_str(
            "\n\n-- \n\
             You get this because someone ran `recert alerts test` for this channel.\n\
             To see the holder's real alerts: recert alerts list\n",
        );
        return text;
    }
    let (date_label, what) = match payload.subject.as_str() {
        "competency" => ("assessment due", "this competency"),
        "dues" => ("dues due", "this credential's dues"),
        "digest" => ("period from", "this team"),
        _ => ("expires on", "this credential"),
    };
    text.push_str(&format!(
        "\n\nDue on: {}, {date_label}: {}.\n\n-- \n\
         You get this because recert tracks {what}.\n\
         To snooze this alert:          recert alerts snooze {} --until DATE\n",
        payload.due_on,
        payload
            .expires_on
            .map_or_else(|| "-".to_string(), |d| d.to_string()),
        payload.alert_id.as_deref().unwrap_or("ID"),
    ));
    // Only a credential can be muted; a competency or a digest has none.
    if let Some(credential) = &payload.credential_id {
        text.push_str(&format!(
            "To stop alerts for it:         recert alerts mute {credential}\n"
        ));
    }
    text
}

/// `<key@domain>` when the key is a valid message-id left part, else a hash of the key in
/// its place: the same key always gives the same id.
fn message_id(key: &str, domain: &str) -> String {
    let plain = !key.is_empty()
        && !key.starts_with('.')
        && !key.ends_with('.')
        && !key.contains("..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+=".contains(&b));
    let left = if plain {
        key.to_owned()
    } else {
        Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    format!("<{left}@{domain}>")
}

/// 5xx replies and client-side refusals are permanent; the rest may pass later.
fn classify(e: lettre::transport::smtp::Error) -> DeliveryError {
    let permanent = e.is_permanent() || e.is_client();
    let mut message = format!("SMTP delivery failed: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DeliveryError { permanent, message }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::payload;
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    /// One message as the SMTP server received it.
    #[derive(Debug, Default, Clone)]
    struct Envelope {
        mail_from: String,
        rcpt_to: Vec<String>,
        data: String,
    }

    /// What happened on one SMTP session.
    #[derive(Debug, Default)]
    struct Session {
        commands: Vec<String>,
        messages: Vec<Envelope>,
    }

    /// A small SMTP server (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on
    /// loopback. It serves one session, answering RCPT with `rcpt_reply`, and hands back
    /// what it saw when the client leaves.
    async fn smtp_server(rcpt_reply: &'static str) -> (SocketAddr, JoinHandle<Session>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let session = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read);
            let mut session = Session::default();
            let mut current: Option<Envelope> = None;
            write
                .write_all(b"220 localhost ESMTP recert-test ready\r\n")
                .await
                .unwrap();
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                let line = line.trim_end_matches(['\r', '\n']).to_owned();
                session.commands.push(line.clone());
                let verb = line
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                let upper = line.to_ascii_uppercase();
                let reply: String = match verb.as_str() {
                    "EHLO" => "250-localhost greets you\r\n250-8BITMIME\r\n250 SMTPUTF8".into(),
                    "HELO" => "250 localhost".into(),
                    "NOOP" => "250 2.0.0 OK".into(),
                    "RSET" => {
                        current = None;
                        "250 2.0.0 OK".into()
                    }
                    "QUIT" => {
                        write.write_all(b"221 2.0.0 Bye\r\n").await.unwrap();
                        break;
                    }
                    "MAIL" if upper.starts_with("MAIL FROM:") => {
                        current = Some(Envelope {
                            mail_from: line["MAIL FROM:".len()..].trim().to_owned(),
                            ..Envelope::default()
                        });
                        "250 2.1.0 OK".into()
                    }
                    "RCPT" if upper.starts_with("RCPT TO:") => match current.as_mut() {
                        None => "503 5.5.1 MAIL first".into(),
                        Some(envelope) => {
                            if rcpt_reply.starts_with('2') {
                                envelope
                                    .rcpt_to
                                    .push(line["RCPT TO:".len()..].trim().to_owned());
                            }
                            rcpt_reply.into()
                        }
                    },
                    "DATA" => match current.take() {
                        Some(mut envelope) if !envelope.rcpt_to.is_empty() => {
                            write
                                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                                .await
                                .unwrap();
                            loop {
                                let mut data_line = String::new();
                                if lines.read_line(&mut data_line).await.unwrap() == 0 {
                                    return session;
                                }
                                if data_line == ".\r\n" {
                                    break;
                                }
                                let unstuffed = data_line.strip_prefix('.').unwrap_or(&data_line);
                                envelope.data.push_str(unstuffed);
                            }
                            session.messages.push(envelope);
                            "250 2.0.0 Queued".into()
                        }
                        other => {
                            current = other;
                            "554 5.5.1 No valid recipients".into()
                        }
                    },
                    _ => "500 5.5.2 Command not recognized".into(),
                };
                write
                    .write_all(format!("{reply}\r\n").as_bytes())
                    .await
                    .unwrap();
            }
            session
        });
        (addr, session)
    }

    fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
        let head = data.split("\r\n\r\n").next().unwrap();
        head.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    #[tokio::test]
    async fn delivers_a_readable_message() {
        let (addr, session) = smtp_server("250 2.1.5 OK").await;
        let mailer = Mailer::from_url(&format!("smtp://{addr}"), "", None).unwrap();
        let payload = payload();
        send_email(&mailer, "Pat Doe <pat@example.org>", &payload)
            .await
            .unwrap();

        let session = session.await.unwrap();
        assert_eq!(session.messages.len(), 1, "{:?}", session.commands);
        let message = &session.messages[0];
        assert_eq!(message.mail_from, "<recertd@localhost>");
        assert_eq!(message.rcpt_to, ["<pat@example.org>"]);
        let data = &message.data;
        assert_eq!(header(data, "From"), Some("recertd@localhost"));
        assert_eq!(header(data, "To"), Some("\"Pat Doe\" <pat@example.org>"));
        assert_eq!(header(data, "Subject"), Some(payload.title.as_str()));
        assert_eq!(
            header(data, "X-Recert-Idempotency-Key"),
            Some("cred_7-cycle_2025-07-31-t30")
        );
        assert_eq!(
            header(data, "Message-ID"),
            Some("<cred_7-cycle_2025-07-31-t30@localhost>")
        );
        assert_eq!(
            header(data, "Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        let body = data.split_once("\r\n\r\n").unwrap().1;
        for line in [
            "NHA CPT expires in 30 days: 2.50 CE hours still needed",
            "Credits: 7.50 of 10.00 CE hours earned; 2.50 still needed.",
            "Due on: 2025-07-01, expires on: 2025-07-31.",
            "recert alerts snooze alert_42 --until DATE",
            "recert alerts mute cred_7",
        ] {
            assert!(body.contains(line), "missing {line:?} in:\n{body}");
        }
        assert!(!body.contains("test alert"));
        assert_eq!(session.commands.last().map(String::as_str), Some("QUIT"));
    }

    #[tokio::test]
    async fn the_same_alert_gives_the_same_message_id() {
        let mut ids = Vec::new();
        for _ in 0..2 {
            let (addr, session) = smtp_server("250 OK").await;
            let mailer = Mailer::from_url(
                &format!("smtp://{addr}"),
                "Recert <alerts@example.org>",
                None,
            )
            .unwrap();
            let mut test = payload();
            test.test = true;
            send_email(&mailer, "pat@example.org", &test).await.unwrap();
            let session = session.await.unwrap();
            let data = &session.messages[0].data;
            assert_eq!(header(data, "From"), Some("Recert <alerts@example.org>"));
            assert!(data.contains("This is a test alert"), "{data}");
            ids.push(header(data, "Message-ID").unwrap().to_owned());
        }
        assert_eq!(ids[0], ids[1]);
        assert_eq!(ids[0], "<cred_7-cycle_2025-07-31-t30@example.org>");
    }

    #[tokio::test]
    async fn rejected_recipient_is_permanent() {
        let (addr, session) = smtp_server("550 5.1.1 No such user").await;
        let mailer = Mailer::from_url(&format!("smtp://{addr}"), "", None).unwrap();
        let err = send_email(&mailer, "nobody@example.org", &payload())
            .await
            .unwrap_err();
        assert!(err.permanent, "{err}");
        assert!(err.message.contains("No such user"), "{err}");
        assert!(session.await.unwrap().messages.is_empty());
    }

    #[tokio::test]
    async fn deferred_recipient_is_transient() {
        let (addr, session) = smtp_server("451 4.3.0 Try again later").await;
        let mailer = Mailer::from_url(&format!("smtp://{addr}"), "", None).unwrap();
        let err = send_email(&mailer, "pat@example.org", &payload())
            .await
            .unwrap_err();
        assert!(!err.permanent, "{err}");
        assert!(session.await.unwrap().messages.is_empty());
    }

    #[tokio::test]
    async fn nothing_listening_is_transient() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let mailer = Mailer::from_url(&format!("smtp://{addr}"), "", None).unwrap();
        let err = send_email(&mailer, "pat@example.org", &payload())
            .await
            .unwrap_err();
        assert!(!err.permanent, "{err}");
    }

    #[tokio::test]
    async fn malformed_recipient_is_permanent() {
        let mailer = Mailer::from_url("smtp://127.0.0.1:1", "", None).unwrap();
        let err = send_email(&mailer, "not an address", &payload())
            .await
            .unwrap_err();
        assert!(err.permanent, "{err}");
    }

    #[test]
    fn urls_choose_security_and_ports() {
        let cases = [
            ("smtp://relay.local", Security::Plain, 25),
            ("smtp://127.0.0.1:2525", Security::Plain, 2525),
            ("smtp+starttls://mail.example.org", Security::StartTls, 587),
            (
                "smtp+starttls://mail.example.org:25",
                Security::StartTls,
                25,
            ),
            ("smtps://mail.example.org", Security::Implicit, 465),
            ("smtp://[::1]:2525", Security::Plain, 2525),
        ];
        for (url, security, port) in cases {
            let mailer = Mailer::from_url(url, "", None).unwrap();
            assert_eq!((mailer.security, mailer.port), (security, port), "{url}");
            assert_eq!(mailer.user, None);
        }
        assert_eq!(
            Mailer::from_url("smtp://[::1]:2525", "", None)
                .unwrap()
                .host,
            "::1"
        );
        for bad in [
            "http://mail.example.org",
            "smtp://",
            "not a url",
            "smtp:relay",
        ] {
            assert!(Mailer::from_url(bad, "", None).is_err(), "{bad}");
        }
        assert!(matches!(
            Mailer::from_url("smtp://localhost", "not an address", None),
            Err(MailerError::InvalidFrom { .. })
        ));
    }

    #[test]
    fn a_test_alert_has_no_snooze_or_mute_footer() {
        let payload = |test: bool| AlertPayload {
            idempotency_key: "k".into(),
            alert_id: (!test).then(|| "al4".into()),
            holder_id: "h1".into(),
            credential_id: (!test).then(|| "cr2".into()),
            program: None,
            threshold_days: (!test).then_some(30),
            due_on: "2026-12-01".parse().unwrap(),
            expires_on: (!test).then(|| "2026-12-31".parse().unwrap()),
            title: "t".into(),
            body: "b".into(),
            status: "at_risk".into(),
            test,
            subject: "credential".into(),
            skill: None,
            amount_cents: None,
            team_id: None,
            holder_name: None,
        };
        let test = text(&payload(true));
        assert!(
            !test.contains("snooze") && !test.contains("mute") && test.contains("alerts test"),
            "{test}"
        );
        let real = text(&payload(false));
        assert!(
            real.contains("recert alerts snooze al4 --until DATE")
                && real.contains("recert alerts mute cr2"),
            "{real}"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let mailer = Mailer::from_url(
            "smtps://alerts%40example.org@mail.example.org",
            "alerts@example.org",
            Some("s3cr:t"),
        )
        .unwrap();
        assert_eq!(mailer.user.as_deref(), Some("alerts@example.org"));
        let shown = format!("{mailer:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(
            shown.contains("smtps://alerts@example.org:<redacted>@mail.example.org:465"),
            "{shown}"
        );
    }

    #[test]
    fn passwords_stay_out_of_urls_and_off_plain_remote_links() {
        let secret = "Sup3r@SecretPW";
        let in_url = Mailer::from_url("smtps://bot:Sup3r%40SecretPW@mail.example.org", "", None);
        assert!(matches!(in_url, Err(MailerError::PasswordInUrl)));
        let plain_remote = Mailer::from_url("smtp://bot@mail.example.org", "", Some(secret));
        let err = plain_remote.unwrap_err();
        assert!(matches!(err, MailerError::PlainAuth { .. }), "{err}");
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(matches!(
            Mailer::from_url("smtp://mail.example.org", "", Some(secret)),
            Err(MailerError::PasswordWithoutUser)
        ));
        for fine in [
            "smtp://bot@127.0.0.1:2525",
            "smtp://bot@[::1]:2525",
            "smtp://bot@localhost:2525",
            "smtp+starttls://bot@mail.example.org",
            "smtps://bot@mail.example.org",
        ] {
            let mailer = Mailer::from_url(fine, "", Some(secret)).unwrap();
            assert_eq!(mailer.user.as_deref(), Some("bot"), "{fine}");
            assert!(!format!("{mailer:?}").contains(secret), "{fine}");
        }
        // Without credentials, plain SMTP to any relay stays as it was.
        assert!(Mailer::from_url("smtp://relay.local", "", None).is_ok());
    }

    #[test]
    fn message_ids_are_valid_and_stable() {
        assert_eq!(message_id("a-b_c.d", "x.org"), "<a-b_c.d@x.org>");
        let odd = message_id("cred 7/cycle<2>", "x.org");
        assert_eq!(odd, message_id("cred 7/cycle<2>", "x.org"));
        assert_ne!(odd, message_id("cred 7/cycle<3>", "x.org"));
        assert_eq!(odd.len(), "<@x.org>".len() + 64);
        assert!(odd[1..65].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
