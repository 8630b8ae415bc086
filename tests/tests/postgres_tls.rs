//! recertd on a PostgreSQL that serves only TLS and asks for a password: with
//! `sslmode=require&sslrootcert=CA.pem` naming the CA that signed the server's certificate it
//! works; with another CA it refuses to start, saying why; the password appears in no log.
//!
//! The test makes its CA and server certificate with rcgen and starts a cluster of its own
//! (`scripts/pg-cluster start --tls CERTDIR --password FILE`), so the shared cluster is not
//! touched. Runs when `RECERT_TEST_DATABASE_URL` is set (`scripts/test`), as the other
//! PostgreSQL tests do.

use recert_tests::{Daemon, binary};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The role's password: distinctive, so a search of the logs cannot miss it.
const PASSWORD: &str = "Tls-pw-7c1e9a";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("pg-cluster")
}

/// A cluster of this test's own, stopped and removed on drop.
struct Cluster {
    dir: PathBuf,
    /// `postgres://recert@127.0.0.1:PORT/postgres`.
    url: String,
}

impl Cluster {
    fn start(args: &[&str]) -> Cluster {
        let out = Command::new(script())
            .arg("start")
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "pg-cluster start {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let var = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .to_string()
        };
        Cluster {
            dir: PathBuf::from(var("PG_CLUSTER_DIR")),
            url: var("RECERT_TEST_DATABASE_URL"),
        }
    }

    /// The URL with the password and TLS parameters.
    fn url_with(&self, query: &str) -> String {
        let rest = self.url.strip_prefix("postgres://recert@").unwrap();
        format!("postgres://recert:{PASSWORD}@{rest}?{query}")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

/// A self-signed CA named `name`, written to `dir/NAME-ca.pem`.
fn make_ca(dir: &Path, name: &str) -> (rcgen::CertifiedIssuer<'static, rcgen::KeyPair>, PathBuf) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} database CA"));
    let issuer =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let path = dir.join(format!("{name}-ca.pem"));
    std::fs::write(&path, issuer.pem()).unwrap();
    (issuer, path)
}

/// Runs `recertd` over `url` expecting it to refuse to start; its exit status and output.
fn refused_start(data_dir: &Path, url: &str) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(binary("recertd"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(["--database-url", url])
        .env_remove("RECERT_DATABASE_URL")
        .env("RECERT_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("recertd with a wrong CA did not exit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut output = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    (status, output)
}

#[test]
fn tls_to_postgres_works_with_its_ca_is_refused_with_another_and_never_logs_the_password() {
    match std::env::var("RECERT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {}
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set RECERT_TEST_DATABASE_URL"
            );
            eprintln!("RECERT_TEST_DATABASE_URL is not set: PostgreSQL tests skipped");
            return;
        }
    }
    let root = tempfile::tempdir().unwrap();
    let certs = root.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let (issuer, ca) = make_ca(&certs, "lab");
    let (_, wrong_ca) = make_ca(&certs, "other");
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(certs.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(certs.join("server.key"), key.serialize_pem()).unwrap();
    let password_file = root.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let cluster = Cluster::start(&[
        "--tls",
        certs.to_str().unwrap(),
        "--password",
        password_file.to_str().unwrap(),
    ]);

    // The right CA: the daemon starts, writes and reads over TLS.
    let url = cluster.url_with(&format!("sslmode=require&sslrootcert={}", ca.display()));
    let d = Daemon::start_with(&root.path().join("good"), None, &["--database-url", &url]);
    let holder = d.json(&["holder", "add", "Dana", "--tz", "UTC"]);
    let holder = holder["id"].as_str().unwrap().to_string();
    d.json(&["cert", "add", "nha-cpt", "--expires", "2027-01-15"]);
    let listed = d.json(&["holder", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Dana"]);
    let status = d.json(&["--holder", &holder, "status"]);
    assert!(
        status.to_string().contains("nha-cpt"),
        "status over TLS: {status}"
    );
    // The connection really is TLS: the cluster refuses TCP without it.
    let plain = cluster.url_with("sslmode=disable");
    let (code, output) = refused_start(&root.path().join("plain"), &plain);
    assert!(!code.success(), "recertd started without TLS: {output}");
    assert!(output.contains("no encryption"), "{output}");

    // Another CA: refused at start, naming the certificate problem.
    let wrong = cluster.url_with(&format!(
        "sslmode=require&sslrootcert={}",
        wrong_ca.display()
    ));
    let (code, output) = refused_start(&root.path().join("wrong"), &wrong);
    assert!(!code.success(), "recertd started with a wrong CA: {output}");
    assert!(
        output.contains("certificate") && output.contains("UnknownIssuer"),
        "the refusal does not say the certificate is not trusted: {output}"
    );
    assert!(output.contains("cannot connect"), "{output}");

    // The password is in no log: neither the working daemon's nor the refused ones'.
    let log = d.log();
    assert!(
        log.contains("recert:***@"),
        "the URL is not shown redacted: {log}"
    );
    for text in [&log, &output] {
        assert!(!text.contains(PASSWORD), "the password was logged:\n{text}");
    }
    drop(d);
    drop(cluster);
}
