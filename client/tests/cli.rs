//! The built `recert` binary without a daemon: exit codes and the one-line error contract.

use std::net::TcpListener;

use assert_cmd::Command;

/// A loopback URL where nothing listens: bind port 0, note it, close it.
fn dead_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn recert() -> Command {
    let mut cmd = Command::cargo_bin("recert").expect("recert binary");
    cmd.env_remove("RECERT_SERVER")
        .env_remove("RECERT_HOLDER")
        .env_remove("RECERT_OUTPUT");
    cmd
}

#[test]
fn unreachable_daemon_is_one_line_and_exit_3() {
    let server = dead_server();
    let output = recert()
        .args(["--server", &server, "-o", "json", "status"])
        .output()
        .expect("run recert");
    assert_eq!(output.status.code(), Some(3));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert_eq!(
        stderr,
        format!(
            "error: cannot reach recertd at {server} (is it running? start it with: recertd)\n"
        )
    );
}

#[test]
fn server_url_comes_from_the_environment() {
    let server = dead_server();
    let output = recert()
        .env("RECERT_SERVER", &server)
        .args(["holder", "list"])
        .output()
        .expect("run recert");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(stderr.contains(&server), "{stderr}");
}

#[test]
fn bad_values_are_usage_errors_before_connecting() {
    let server = dead_server();
    for args in [
        &["course", "log", "Needle safety", "--credits", "1.255"][..],
        &["course", "log", "Needle safety", "--credits", "-1"],
        &["cert", "add", "nha-cpt", "--expires", "2025-02-30"],
        &["deadlines", "--within", "soon"],
        &["holder", "edit", "h1"],
    ] {
        let output = recert()
            .arg("--server")
            .arg(&server)
            .args(args)
            .output()
            .expect("run recert");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).expect("utf-8");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("cannot reach"), "{args:?}: {stderr}");
    }
}

#[test]
fn invalid_server_url_is_a_usage_error() {
    let output = recert()
        .args(["--server", "not a url", "status"])
        .output()
        .expect("run recert");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).expect("utf-8"),
        "error: invalid --server URL 'not a url'\n"
    );
}
