//! Transport, files and outbound requests, through the real daemon and CLI: TLS with a CA
//! the test makes, the refusal to serve plaintext off loopback, a private data dir whatever
//! the umask, exclusive export files, and webhooks that cannot reach internal addresses.

use recert_proto::v1 as pb;
use recert_proto::v1::channel_service_client::ChannelServiceClient;
use recert_tests::sinks::WebhookSink;
use recert_tests::{Daemon, binary};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use tonic_types::StatusExt;

/// A CA and a certificate it signed for `localhost` and 127.0.0.1, as PEM files in `dir`.
struct Pki {
    ca: std::path::PathBuf,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn make_ca(
    dir: &Path,
    name: &str,
) -> (
    rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    std::path::PathBuf,
) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    let issuer =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let path = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&path, issuer.pem()).unwrap();
    (issuer, path)
}

fn pki(dir: &Path) -> Pki {
    let (issuer, ca) = make_ca(dir, "lab");
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server-key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Pki {
        ca,
        cert: cert_path,
        key: key_path,
    }
}

fn port(d: &Daemon) -> u16 {
    d.url.rsplit(':').next().unwrap().parse().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn tls_end_to_end_with_a_ca_made_here_and_a_wrong_ca_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let cert = pki.cert.to_str().unwrap();
    let key = pki.key.to_str().unwrap();
    let mut d = Daemon::start_with(
        &dir.path().join("data"),
        None,
        &["--tls-cert", cert, "--tls-key", key],
    );
    let port = port(&d);
    d.url = format!("https://localhost:{port}");
    let ca_file = pki.ca.to_str().unwrap();
    let out = d.cli(&[
        "--ca",
        ca_file,
        "holder",
        "add",
        "Dana Reyes",
        "--tz",
        "UTC",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // RECERT_CA works as the flag does, and an IP address in the URL is verified too.
    let by_ip = Command::new(binary("recert"))
        .args([
            "--server",
            &format!("https://127.0.0.1:{port}"),
            "-o",
            "json",
        ])
        .args(["holder", "list"])
        .env("RECERT_CA", ca_file)
        .env("RECERT_TOKEN", d.admin_token())
        .output()
        .unwrap();
    assert!(by_ip.status.success(), "{}", text(&by_ip.stderr));
    assert!(text(&by_ip.stdout).contains("Dana Reyes"));

    // A CA that did not sign the daemon's certificate: refused, naming what to fix.
    let (_other, other_ca) = make_ca(dir.path(), "other");
    let out = d.cli(&["--ca", other_ca.to_str().unwrap(), "holder", "list"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot verify recertd") && err.contains("--ca"),
        "{err}"
    );
    // No CA at all: the web PKI roots do not know this one either.
    let out = d.cli(&["holder", "list"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("--ca"), "{}", text(&out.stderr));
    // Plaintext to a TLS port gets nothing.
    d.url = format!("http://127.0.0.1:{port}");
    let out = d.cli(&["holder", "list"]);
    assert!(!out.status.success());
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn a_bad_tls_key_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let out = Command::new(binary("recertd"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&pki.cert)
        .arg("--tls-key")
        .arg(&pki.ca)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("TLS"), "{err}");
    let out = Command::new(binary("recertd"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&pki.cert)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--tls-key"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn plaintext_on_a_non_loopback_address_refuses_to_start_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let out = Command::new(binary("recertd"))
            .args(["--listen", listen, "--data-dir"])
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{listen}");
        let err = text(&out.stderr);
        assert!(err.contains("--insecure-plaintext"), "{listen}: {err}");
        assert!(err.contains("--tls-cert"), "{listen}: {err}");
        assert!(text(&out.stdout).is_empty(), "it never listened");
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing was created before the refusal"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// Every directory and file under `dir`, itself included.
fn tree(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        if out[i].is_dir() {
            let entries: Vec<_> = std::fs::read_dir(&out[i])
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            out.extend(entries);
        }
        i += 1;
    }
    out
}

/// Spawns `command` (a `recertd`) and returns it with its first stdout line, once it
/// listens.
fn spawn_listening(command: &mut Command) -> (std::process::Child, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("recertd listening on"), "{line:?}");
    (child, line.trim().to_owned())
}

/// Sends SIGTERM to `child` and asserts it exits 0.
fn terminate(mut child: std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
}

/// Starts `recertd` under `umask 000` through a shell, waits until it listens, and stops it.
fn run_under_umask_000(data_dir: &Path) -> String {
    let log = data_dir.with_extension("log");
    let (child, _) = spawn_listening(
        Command::new("sh")
            .arg("-c")
            .arg("umask 000; exec \"$0\" --listen 127.0.0.1:0 --data-dir \"$1\" --backup-schedule off")
            .arg(binary("recertd"))
            .arg(data_dir)
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    terminate(child);
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn the_data_dir_is_private_whatever_the_umask_and_a_wide_one_is_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh");
    run_under_umask_000(&fresh);
    let paths = tree(&fresh);
    assert!(paths.len() > 3, "{paths:?}");
    for path in &paths {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(path), want, "{} is {:o}", path.display(), mode(path));
    }

    // An existing data dir opened to everyone is narrowed, and the log says so.
    for path in &paths {
        let wide = if path.is_dir() { 0o777 } else { 0o666 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(wide)).unwrap();
    }
    let log = run_under_umask_000(&fresh);
    assert!(log.contains("narrowed it to its owner"), "{log}");
    for path in tree(&fresh) {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "{} is {:o}", path.display(), mode(&path));
    }
}

#[test]
fn export_files_are_new_private_and_never_written_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), None);
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    let dump = dir.path().join("dump.jsonl");
    let dump_arg = dump.to_str().unwrap();
    let out = d.cli(&["export", "--file", dump_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(mode(&dump), 0o600);
    let first = std::fs::read(&dump).unwrap();

    // An existing file is not overwritten without --force.
    let out = d.cli(&["export", "--file", dump_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    d.json(&["holder", "add", "Ana Lee", "--tz", "UTC"]);
    let out = d.cli(&["export", "--file", dump_arg, "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_ne!(std::fs::read(&dump).unwrap(), first);
    assert_eq!(mode(&dump), 0o600);

    // A link planted where the dump goes is refused, and its target untouched.
    let victim = dir.path().join("victim.conf");
    std::fs::write(&victim, b"keep me").unwrap();
    let planted = dir.path().join("planted.jsonl");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let out = d.cli(&["export", "--file", planted.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_to_internal_addresses_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = WebhookSink::start(None, 200).await;
    // recertd as an operator gets it: no range allowed.
    let strict = Daemon::start_exactly(&dir.path().join("strict"), None, &[]);
    let holder = strict.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    // Over gRPC: INVALID_ARGUMENT naming channel.target, in words and in BadRequest.
    let transport = strict.channel().await;
    let mut channels = ChannelServiceClient::new(transport);
    let status = channels
        .create_channel(pb::CreateChannelRequest {
            channel: Some(pb::Channel {
                holder_id: holder["id"].as_str().unwrap().to_owned(),
                kind: "webhook".into(),
                target: "http://10.0.0.1/".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("channel.target"), "{status:?}");
    let fields: Vec<String> = status
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["channel.target"]);
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:9/hook",
        "http://0x7f000001/",
        "http://2130706433:8500/v1/agent/self",
        "http://[::ffff:127.0.0.1]/",
        &sink.url,
    ] {
        let out = strict.cli(&["notify", "add", "webhook", url]);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(
            err.contains("is refused") && err.contains("--webhook-allow-net"),
            "{url}: {err}"
        );
    }
    assert!(
        strict
            .json(&["notify", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A name that resolves to loopback passes creation, and is refused at connect time.
    let by_name = format!("http://localhost:{}/hook", sink.addr.port());
    strict.json(&["notify", "add", "webhook", &by_name]);
    let report = strict.json(&["alerts", "test"]);
    let delivery = &report["deliveries"][0];
    assert_eq!(delivery["status"], "failed", "{report:#}");
    let error = delivery["last_error"].as_str().unwrap();
    assert!(
        error.contains("refused") && error.contains("--webhook-allow-net"),
        "{error}"
    );
    assert!(
        sink.requests.try_recv().is_err(),
        "nothing reached the sink"
    );

    // With loopback allowed (as every other test daemon has it), the same channel delivers.
    let allowed = Daemon::start(&dir.path().join("allowed"), None);
    allowed.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    let url = format!("{}?token=abc123", sink.url);
    let channel = allowed.json(&[
        "notify",
        "add",
        "webhook",
        &url,
        "--secret",
        "whsec-0123456789abcdef",
    ]);
    // Lists show scheme and host only, and never the secret.
    let port = sink.addr.port();
    let listed = format!("http://127.0.0.1:{port}/…");
    assert_eq!(channel["target"], listed.as_str(), "{channel:#}");
    let list = allowed.json(&["notify", "list"]);
    assert_eq!(list[0]["target"], listed.as_str(), "{list:#}");
    let shown = allowed.cli(&["notify", "list"]);
    let shown = text(&shown.stdout);
    assert!(
        !shown.contains("abc123") && !shown.contains("whsec"),
        "{shown}"
    );
    let report = allowed.json(&["alerts", "test"]);
    assert_eq!(report["deliveries"][0]["status"], "delivered", "{report:#}");
    let request = tokio::time::timeout(Duration::from_secs(10), sink.requests.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(request.header("x-recert-signature").is_some());

    // `alerts test` again at once: the channel is rate-limited, nothing is sent.
    let again = allowed.json(&["alerts", "test"]);
    let delivery = &again["deliveries"][0];
    assert_eq!(delivery["status"], "failed", "{again:#}");
    assert!(
        delivery["last_error"]
            .as_str()
            .unwrap()
            .contains("not sent"),
        "{again:#}"
    );
    assert!(sink.requests.try_recv().is_err());

    // A short secret is refused, naming the field.
    let out = allowed.cli(&["notify", "add", "webhook", &sink.url, "--secret", "short"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("16 bytes"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_test_delivery_shows_the_status_class_not_the_receivers_body() {
    let dir = tempfile::tempdir().unwrap();
    let sink = WebhookSink::start(None, 404).await;
    let d = Daemon::start(&dir.path().join("data"), None);
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    d.json(&["notify", "add", "webhook", &sink.url]);
    let report = d.json(&["alerts", "test"]);
    let error = report["deliveries"][0]["last_error"].as_str().unwrap();
    assert_eq!(error, "webhook answered 404 (client error)", "{report:#}");
}

#[test]
fn smtp_credentials_never_travel_in_clear_nor_in_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let start = |url: &str, password_file: Option<&Path>| {
        let mut command = Command::new(binary("recertd"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--smtp-url", url])
            .env_remove("RECERT_SMTP_PASSWORD")
            .stdin(Stdio::null());
        if let Some(file) = password_file {
            command.arg("--smtp-password-file").arg(file);
        }
        command.output().unwrap()
    };
    let secret = "Sup3rSecretPW";
    let file = dir.path().join("smtp-password");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let out = start("smtp://alertbot@mail.example.org:25", Some(&file));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("in clear") && !err.contains(secret), "{err}");
    let out = start(&format!("smtps://alertbot:{secret}@mail.example.org"), None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--smtp-password-file") && !err.contains(secret),
        "{err}"
    );
}

/// Runs `recert ARGS` against `d` with its stdout on a terminal (a pseudo-terminal made by
/// util-linux `script`); returns the exit code and what the terminal showed.
fn on_a_terminal(d: &Daemon, args: &str) -> (Option<i32>, String) {
    let command = format!("'{}' --server {} {args}", binary("recert").display(), d.url);
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("RECERT_TOKEN", d.admin_token())
        .stdin(Stdio::null())
        .output()
        .expect("run script(1)");
    (out.status.code(), text(&out.stdout))
}

#[test]
fn export_to_a_terminal_refuses_unless_secrets_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), None);
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    let (code, shown) = on_a_terminal(&d, "export");
    assert_eq!(code, Some(2), "{shown}");
    assert!(shown.contains("--no-secrets"), "{shown}");
    assert!(!shown.contains("recert-export"), "{shown}");
    let (code, shown) = on_a_terminal(&d, "export --no-secrets");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("recert-export"), "{shown}");
}

#[test]
fn a_unix_socket_is_private_and_serves_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("recertd.sock");
    let listen = format!("unix:{}", socket.display());
    let (child, line) = spawn_listening(
        Command::new(binary("recertd"))
            .args(["--listen", &listen, "--data-dir"])
            .arg(dir.path().join("data"))
            .stderr(Stdio::null()),
    );
    assert_eq!(line, format!("recertd listening on {listen}"));
    assert_eq!(mode(&socket), 0o600);
    let cli = |args: &[&str]| {
        Command::new(binary("recert"))
            .args(["--server", &listen, "-o", "json"])
            .args(args)
            .env(
                "RECERT_TOKEN",
                recert_tests::admin_token(&dir.path().join("data")),
            )
            .output()
            .unwrap()
    };
    let out = cli(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli(&["holder", "list"]);
    assert!(
        text(&out.stdout).contains("Dana Reyes"),
        "{}",
        text(&out.stdout)
    );
    // A second daemon on the same socket is refused while the first answers.
    let second = Command::new(binary("recertd"))
        .args(["--listen", &listen, "--data-dir"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(text(&second.stderr).contains("another daemon answers there"));
    terminate(child);
    assert!(!socket.exists(), "the socket is removed on shutdown");
}
