//! Roster import through the real daemon and CLI (issue 14, point 3): `roster template`, a
//! good file creates exactly what it says (and `team status` shows it), a second import of it
//! changes nothing, a bad file names every bad cell by line and column and changes nothing,
//! `--dry-run` changes nothing, and a supervisor imports only into a team they lead.

use recert_tests::Daemon;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HEADER: &str = "name,email,time_zone,hired_on,team,program,number,issued_on,expires_on";

fn write(dir: &tempfile::TempDir, name: &str, rows: &[&str]) -> PathBuf {
    let path = dir.path().join(name);
    let mut text = String::from(HEADER);
    for r in rows {
        text.push('\n');
        text.push_str(r);
    }
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}

/// Everything an import could change, to compare before and after.
fn state(d: &Daemon) -> (Value, Value, Value) {
    (
        d.json(&["holder", "list"]),
        d.json(&["team", "list"]),
        d.json(&["team", "status", "--as-of", "2026-07-01"]),
    )
}

#[test]
fn the_template_parses_as_a_roster_and_a_good_file_creates_exactly_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let template = d.cli(&["roster", "template"]);
    assert!(template.status.success());
    let template = stdout(&template);
    assert!(template.starts_with(&format!("{HEADER}\n")), "{template}");
    assert_eq!(template.lines().count(), 2, "{template}");

    // Carmen exists already (matched by e-mail, case ignored, and left as she is).
    let carmen = d.json(&[
        "holder",
        "add",
        "Carmen Diaz",
        "--email",
        "carmen@example.org",
        "--tz",
        "America/Los_Angeles",
    ]);
    let carmen = carmen["id"].as_str().unwrap().to_string();
    let file = write(
        &dir,
        "roster.csv",
        &[
            "Ana Ruiz,ana@example.org,America/Chicago,2024-03-01,Day lab,nha-cpt,CPT-1,2024-12-31,2026-12-31",
            "Ana Ruiz,ana@example.org,America/Chicago,2024-03-01,Day lab,ascp-pbt,PBT-9,,2027-06-30",
            "Ben Okafor,ben@example.org,,,Day lab,,,,",
            "Carmen D.,CARMEN@example.org,UTC,,Day lab,ca-cpt1,CA-77,,2026-08-01",
        ],
    );
    let out = d.cli(&["roster", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no progress bar off a terminal");
    let text = stdout(&out);
    assert!(
        text.contains("2 holders created, 1 existing (left as they are); 1 teams created; 3 added to teams; 3 credentials created, 0 already held"),
        "{text}"
    );

    let holders = d.json(&["holder", "list"]);
    let holders = holders.as_array().unwrap();
    assert_eq!(holders.len(), 3, "{holders:?}");
    let by_email = |email: &str| {
        holders
            .iter()
            .find(|h| h["email"] == email)
            .unwrap_or_else(|| panic!("{email} in {holders:?}"))
            .clone()
    };
    let ana = by_email("ana@example.org");
    assert_eq!(ana["name"], "Ana Ruiz");
    assert_eq!(ana["time_zone"], "America/Chicago");
    assert_eq!(ana["hired_on"], "2024-03-01");
    assert_eq!(by_email("ben@example.org")["time_zone"], "UTC");
    let kept = by_email("carmen@example.org");
    assert_eq!(kept["id"], carmen.as_str());
    assert_eq!(kept["name"], "Carmen Diaz", "left as she is");
    assert_eq!(kept["time_zone"], "America/Los_Angeles");

    let team = d.json(&["team", "show", "Day lab"]);
    assert_eq!(team["member_ids"].as_array().unwrap().len(), 3, "{team}");
    let board = d.json(&["team", "status", "Day lab", "--as-of", "2026-07-01"]);
    let rows: Vec<(String, String, String)> = board
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["holder_name"].as_str().unwrap().to_string(),
                r["program"].as_str().unwrap().to_string(),
                r["expires_on"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            ("Ana Ruiz".into(), "ascp-pbt".into(), "2027-06-30".into()),
            ("Ana Ruiz".into(), "nha-cpt".into(), "2026-12-31".into()),
            ("Carmen Diaz".into(), "ca-cpt1".into(), "2026-08-01".into()),
        ],
        "{board}"
    );
    let ana_id = ana["id"].as_str().unwrap();
    let certs = d.json(&["--holder", ana_id, "cert", "list"]);
    let nha = certs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["program"] == "nha-cpt")
        .unwrap();
    assert_eq!(nha["number"], "CPT-1");
    assert_eq!(nha["issued_on"], "2024-12-31");

    // The history names each created record.
    let history = d.json(&["history", "--all-holders"]).to_string();
    assert!(
        history.contains("Day lab") && history.contains("ana@example.org"),
        "{history}"
    );

    // The same file again: everything exists, nothing changes.
    let before = state(&d);
    let again = d.json(&["roster", "import", file.to_str().unwrap()]);
    assert_eq!(again["dry_run"], false);
    assert!(
        again["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["outcome"] == "existing"),
        "{again}"
    );
    assert_eq!(state(&d), before);
}

#[test]
fn a_bad_file_names_every_bad_cell_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "UTC"]);
    let before = state(&d);
    let file = write(
        &dir,
        "bad.csv",
        &[
            "Ana Ruiz,ana@example.org,America/Chicago,,Day lab,nha-cpt,,,2026-12-31",
            "Ben Okafor,not-an-address,UTC,,Day lab,nha-cpt,,,2026-12-31",
            "Carmen Diaz,carmen@example.org,Mars/Olympus,,Day lab,nha-cpt,,,2026-13-01",
            "Dev Patel,dev@example.org,UTC,,Day lab,no-such-program,,,2026-12-31",
            "Ana Ruiz,ana@example.org,America/Chicago,,Day lab,nha-cpt,,,2027-12-31",
        ],
    );
    let out = d.cli(&["roster", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    for expected in [
        "line 3, column 2 (email): email \"not-an-address\" is not an e-mail address",
        "line 4, column 3 (time_zone): time_zone \"Mars/Olympus\" is not an IANA time zone",
        "line 4, column 9 (expires_on):",
        "line 5, column 6 (program): program \"no-such-program\" not found",
        "line 6, column 6 (program): program \"nha-cpt\" is already on line 2",
        "nothing was imported",
    ] {
        assert!(err.contains(expected), "{expected:?} in {err}");
    }
    assert!(err.contains("has 5 problems"), "{err}");
    assert_eq!(state(&d), before);

    // A file with an unknown column, a short row and no e-mail column: named by line.
    let path = dir.path().join("shape.csv");
    std::fs::write(
        &path,
        "name,e-mail,program,expires_on\nAna Ruiz,ana@example.org,nha-cpt,2026-12-31\nBen,ben@example.org\n",
    )
    .unwrap();
    let out = d.cli(&["roster", "import", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("line 1, column 2 (e-mail): unknown column"),
        "{err}"
    );
    assert!(err.contains("line 1: the email column is missing"), "{err}");
    assert!(err.contains("line 3: 2 values for 4 columns"), "{err}");
    assert_eq!(state(&d), before);
}

#[test]
fn a_dry_run_says_what_it_would_do_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let before = state(&d);
    let file = write(
        &dir,
        "roster.csv",
        &["Ana Ruiz,ana@example.org,UTC,,Day lab,nha-cpt,,,2026-12-31"],
    );
    let out = d.cli(&["roster", "import", file.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("nothing was written") && text.contains("would create"),
        "{text}"
    );
    let report = d.json(&["roster", "import", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(report["dry_run"], true);
    let kinds: Vec<(&str, &str)> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("holder", "created"),
            ("team", "created"),
            ("membership", "added"),
            ("credential", "created"),
        ]
    );
    assert_eq!(report["actions"][0]["id"], Value::Null);
    assert_eq!(state(&d), before);
}

#[test]
fn a_supervisor_imports_only_into_a_team_they_lead() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let sam = d.json(&["holder", "add", "Sam Lead", "--tz", "UTC"]);
    let sam = sam["id"].as_str().unwrap().to_string();
    let oscar = d.json(&[
        "holder",
        "add",
        "Oscar Outside",
        "--email",
        "oscar@example.org",
    ]);
    let oscar = oscar["id"].as_str().unwrap().to_string();
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add", "Night lab"]);
    d.json(&["team", "add-lead", "Day lab", &sam]);
    let token = |args: &[&str]| {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        d.json(&all)["token"].as_str().unwrap().to_string()
    };
    let supervisor = token(&["--role", "supervisor", "--holder", &sam]);
    let holder = token(&["--role", "holder", "--holder", &oscar]);
    let before = state(&d);

    for (name, team) in [
        ("night.csv", "Night lab"),
        ("new.csv", "Evening lab"),
        ("none.csv", ""),
    ] {
        let file = write(
            &dir,
            name,
            &[&format!(
                "Ana Ruiz,ana@example.org,UTC,,{team},nha-cpt,,,2026-12-31"
            )],
        );
        let out = d.cli_as(
            Some(&supervisor),
            &["roster", "import", file.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(1), "{team}");
        let err = stderr(&out);
        let expected = if team.is_empty() {
            "line 2, column 5 (team): team is required: a supervisor imports into a team they lead"
                .to_string()
        } else {
            format!("line 2, column 5 (team): team \"{team}\" is not a team you lead")
        };
        assert!(err.contains(&expected), "{expected:?} in {err}");
    }
    let file = write(
        &dir,
        "day.csv",
        &["Ana Ruiz,ana@example.org,UTC,,Day lab,nha-cpt,,,2026-12-31"],
    );
    let out = d.cli_as(Some(&holder), &["roster", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("supervisor or admin"),
        "{}",
        stderr(&out)
    );
    assert_eq!(state(&d), before);

    // Into their own team: the new member is on their board.
    let out = d.cli_as(
        Some(&supervisor),
        &["roster", "import", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let board = d.json_as(&supervisor, &["team", "status", "Day lab"]);
    assert_eq!(board.as_array().unwrap().len(), 1, "{board}");
    assert_eq!(board[0]["holder_name"], "Ana Ruiz");
    assert_eq!(board[0]["program"], "nha-cpt");

    // Oscar's e-mail, outside the supervisor's teams, is not matched to him: he is not
    // added to Day lab (a new holder is made for the row instead).
    let file = write(
        &dir,
        "oscar.csv",
        &["Oscar O.,oscar@example.org,UTC,,Day lab,,,,"],
    );
    let out = d.cli_as(
        Some(&supervisor),
        &["roster", "import", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let team = d.json(&["team", "show", "Day lab"]);
    assert!(
        !team["member_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == oscar.as_str()),
        "{team}"
    );
    assert_eq!(d.json(&["holder", "show", &oscar])["name"], "Oscar Outside");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_rpcs_need_a_token() {
    use recert_proto::v1 as pb;
    use recert_proto::v1::credential_service_client::CredentialServiceClient;
    use recert_proto::v1::roster_service_client::RosterServiceClient;
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    d.json(&["holder", "add", "Ana Ruiz", "--tz", "UTC"]);
    d.json(&["cert", "add", "nha-cpt", "--expires", "2026-12-31"]);
    let channel = recert_tests::connect_as(&d.url, None).await;
    let verify = CredentialServiceClient::new(channel.clone())
        .verify_credential(pb::VerifyCredentialRequest {
            id: "cr1".into(),
            result: "active".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(verify.unwrap_err().code(), tonic::Code::Unauthenticated);
    let roster = RosterServiceClient::new(channel)
        .import_roster(pb::ImportRosterRequest {
            rows: vec![pb::RosterRow {
                line: 2,
                name: "Ben".into(),
                email: "ben@example.org".into(),
                ..Default::default()
            }],
            dry_run: false,
        })
        .await;
    assert_eq!(roster.unwrap_err().code(), tonic::Code::Unauthenticated);
    assert_eq!(d.json(&["holder", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(
        d.json(&["cert", "show", "cr1"])["last_verification"],
        Value::Null
    );

    // With a token, more rows than the limit are refused before anything is read.
    let mut client = RosterServiceClient::new(d.channel().await);
    let rows = (0..5001)
        .map(|n| pb::RosterRow {
            line: n + 2,
            name: format!("P{n}"),
            email: format!("p{n}@example.org"),
            ..Default::default()
        })
        .collect();
    let err = client
        .import_roster(pb::ImportRosterRequest {
            rows,
            dry_run: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("rows"), "{}", err.message());
    assert_eq!(d.json(&["holder", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn a_roster_into_an_empty_store_leaves_it_sound_with_a_default_holder() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let file = write(
        &dir,
        "roster.csv",
        &[
            "Ana Ruiz,ana@example.org,UTC,,Day lab,nha-cpt,,,2026-12-31",
            "Ben Okafor,ben@example.org,UTC,,Day lab,nha-cpt,,,2026-12-31",
        ],
    );
    let out = d.cli(&["roster", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // As with `holder add`, the first holder made is the default one.
    let status = d.json(&["cert", "list"]);
    assert_eq!(status[0]["holder_id"], "h1", "{status}");
    assert_eq!(d.stop(), Some(0));
    let check = d.check_store(&[]);
    assert!(
        check.status.success(),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
}
