//! Competency assessments through the real daemon and CLI: the CLIA schedule from the hire
//! date (6 and 12 months, then yearly), remediation, bad input named by its flag, who may log
//! and see them (another holder's are NOT_FOUND), and export/import.

use recert_tests::Daemon;
use serde_json::Value;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn log(d: &Daemon, holder: &str, date: &str, result: &str) -> Value {
    d.json(&[
        "competency",
        "log",
        holder,
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
        "--date",
        date,
        "--assessor",
        "T. Consultant",
        "--elements",
        "1,2,3,4,5,6",
        "--result",
        result,
    ])
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_competency_at_hire_plus_six_months_is_next_due_at_twelve_then_yearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let ana = d.json(&[
        "holder",
        "add",
        "Ana Ruiz",
        "--tz",
        "UTC",
        "--hired",
        "2026-01-15",
    ]);
    assert_eq!(ana["hired_on"], "2026-01-15");
    let ana = id(&ana);

    // Tracked before the first assessment: due 6 months after hire, within 30 days now.
    let assigned = d.json(&[
        "competency",
        "assign",
        "Ana Ruiz",
        "--program",
        "clia-testing",
        "--skill",
        "Glucose meter",
    ]);
    assert_eq!(assigned["next_due"], "2026-07-15", "{assigned}");
    assert_eq!(assigned["status"], "due_soon");
    assert_eq!(assigned["last_assessed_on"], Value::Null);

    let six = log(&d, &ana, "2026-07-15", "pass");
    assert_eq!(six["next_due"], "2027-01-15", "{six}");
    assert_eq!(six["status"], "current");
    let twelve = log(&d, &ana, "2027-01-10", "pass");
    assert_eq!(twelve["next_due"], "2028-01-10", "{twelve}");
    let yearly = log(&d, &ana, "2028-01-05", "pass");
    assert_eq!(yearly["next_due"], "2029-01-05", "{yearly}");
    // A remediate result makes it due again 30 days later.
    let remediate = log(&d, &ana, "2029-01-04", "remediate");
    assert_eq!(remediate["next_due"], "2029-02-03", "{remediate}");
    assert_eq!(remediate["last_result"], "remediate");

    let status = d.json(&["--holder", &ana, "competency", "status"]);
    let rows = status.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{status}");
    let row = &rows[0];
    assert_eq!(row["holder_id"], ana.as_str());
    assert_eq!(row["holder_name"], "Ana Ruiz");
    assert_eq!(row["program"], "clia-testing");
    assert_eq!(row["skill"], "Glucose meter");
    assert_eq!(row["last_assessed_on"], "2029-01-04");
    assert_eq!(row["next_due"], "2029-02-03");
    assert_eq!(row["assessments"], 4);

    // A hire date changed later moves the schedule of a skill not yet assessed.
    let ben = id(&d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]));
    let unscheduled = d.json(&[
        "competency",
        "assign",
        &ben,
        "--program",
        "phlebotomy-annual",
        "--skill",
        "Venipuncture",
    ]);
    assert_eq!(unscheduled["status"], "unscheduled");
    assert_eq!(unscheduled["next_due"], Value::Null);
    d.json(&["holder", "edit", &ben, "--hired", "2025-03-01"]);
    let due = d.json(&["--holder", &ben, "competency", "status"]);
    assert_eq!(due[0]["next_due"], "2026-03-01", "{due}");
    assert_eq!(due[0]["status"], "overdue");
}

#[test]
fn bad_input_names_the_flag_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let ana = id(&d.json(&[
        "holder",
        "add",
        "Ana Ruiz",
        "--tz",
        "UTC",
        "--hired",
        "2026-01-15",
    ]));
    let attempt = |extra: &[&str]| {
        let mut args = vec![
            "competency",
            "log",
            ana.as_str(),
            "--skill",
            "Glucose meter",
            "--assessor",
            "T. C.",
            "--result",
            "pass",
        ];
        args.extend_from_slice(extra);
        d.cli(&args)
    };
    let out = attempt(&["--program", "clia-testing", "--elements", "1,7"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--elements") && err.contains("7"), "{err}");
    let out = attempt(&["--program", "cpr", "--elements", "1"]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("--program") && err.contains("clia-testing"),
        "{err}"
    );
    let out = attempt(&["--program", "clia-testing", "--elements", "one"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--elements"), "{}", stderr(&out));
    let out = d.cli(&["holder", "add", "Kim", "--hired", "2026-02-30"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--hired"), "{}", stderr(&out));

    let status = d.json(&["--holder", &ana, "competency", "status"]);
    assert_eq!(status, serde_json::json!([]), "nothing was logged");
    assert_eq!(d.json(&["holder", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn assessments_are_logged_by_supervisors_and_another_holders_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    let lead = id(&d.json(&["holder", "add", "Sam Lead", "--tz", "UTC"]));
    let member = id(&d.json(&[
        "holder",
        "add",
        "Mia Member",
        "--tz",
        "UTC",
        "--hired",
        "2026-01-01",
    ]));
    let outsider = id(&d.json(&[
        "holder",
        "add",
        "Oscar Outside",
        "--tz",
        "UTC",
        "--hired",
        "2026-01-01",
    ]));
    d.json(&["team", "add", "Day lab"]);
    d.json(&["team", "add-member", "Day lab", &member]);
    d.json(&["team", "add-lead", "Day lab", &lead]);
    log(&d, &outsider, "2026-06-30", "pass");
    let token = |args: &[&str]| {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        d.json(&all)["token"].as_str().unwrap().to_string()
    };
    let supervisor = token(&["--role", "supervisor", "--holder", &lead]);
    let holder = token(&["--role", "holder", "--holder", &member]);

    // The supervisor logs for their team's member, by name.
    let logged = d.json_as(
        &supervisor,
        &[
            "competency",
            "log",
            "Mia Member",
            "--program",
            "clia-testing",
            "--skill",
            "Hematology analyser",
            "--date",
            "2026-06-30",
            "--assessor",
            "Sam Lead",
            "--elements",
            "1,2,6",
            "--result",
            "pass",
        ],
    );
    assert_eq!(logged["holder_id"], member.as_str());
    assert_eq!(logged["next_due"], "2027-01-01");
    let team = d.json_as(&supervisor, &["competency", "status", "--team", "Day lab"]);
    assert_eq!(team.as_array().unwrap().len(), 1, "{team}");
    assert_eq!(team[0]["holder_name"], "Mia Member");

    // Not the outsider's, by id or by name: not found, as if absent.
    for who in [outsider.as_str(), "Oscar Outside"] {
        let out = d.cli_as(
            Some(&supervisor),
            &["--holder", who, "competency", "status"],
        );
        assert!(!out.status.success());
        assert!(reads_as_absent(&stderr(&out)), "{}", stderr(&out));
        let out = d.cli_as(
            Some(&supervisor),
            &[
                "competency",
                "log",
                who,
                "--program",
                "clia-testing",
                "--skill",
                "Glucose meter",
                "--assessor",
                "Sam",
                "--elements",
                "1",
                "--result",
                "pass",
            ],
        );
        assert!(!out.status.success());
        assert!(reads_as_absent(&stderr(&out)), "{}", stderr(&out));
    }

    // A holder sees their own competencies, not another's, and cannot log their own.
    let own = d.json_as(&holder, &["competency", "status"]);
    assert_eq!(own[0]["skill"], "Hematology analyser", "{own}");
    let out = d.cli_as(
        Some(&holder),
        &["--holder", &outsider, "competency", "status"],
    );
    assert!(!out.status.success());
    assert!(reads_as_absent(&stderr(&out)), "{}", stderr(&out));
    let out = d.cli_as(
        Some(&holder),
        &[
            "competency",
            "log",
            &member,
            "--program",
            "clia-testing",
            "--skill",
            "Glucose meter",
            "--assessor",
            "Me",
            "--elements",
            "1",
            "--result",
            "pass",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("supervisor or admin"),
        "{}",
        stderr(&out)
    );
    let after = d.json(&["--holder", &outsider, "competency", "status"]);
    assert_eq!(after[0]["assessments"], 1, "{after}");
}

#[test]
fn competencies_and_the_hire_date_survive_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let a = Daemon::start(&dir.path().join("a"), Some("2026-07-01T12:00:00Z"));
    let ana = id(&a.json(&[
        "holder",
        "add",
        "Ana Ruiz",
        "--tz",
        "UTC",
        "--hired",
        "2026-01-15",
    ]));
    log(&a, &ana, "2026-07-15", "pass");
    let file = dir.path().join("dump.jsonl");
    a.json(&["export", "--file", file.to_str().unwrap()]);
    let dump = std::fs::read_to_string(&file).unwrap();
    assert!(dump.contains("\"hired_on\":\"2026-01-15\""), "{dump}");

    let b = Daemon::start(&dir.path().join("b"), Some("2026-07-01T12:00:00Z"));
    let out = b.cli(&["import", "--file", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = b.json(&["--holder", &ana, "competency", "status"]);
    assert_eq!(status[0]["next_due"], "2027-01-15", "{status}");
    assert_eq!(status[0]["last_assessed_on"], "2026-07-15");
    assert_eq!(b.json(&["holder", "show", &ana])["hired_on"], "2026-01-15");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_competency_rpc_needs_a_token() {
    use recert_proto::v1 as pb;
    use recert_proto::v1::competency_service_client::CompetencyServiceClient;
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    d.json(&["holder", "add", "Ana Ruiz", "--tz", "UTC"]);
    let mut client = CompetencyServiceClient::new(recert_tests::connect_as(&d.url, None).await);
    let codes = [
        client
            .list_competency_programs(pb::ListCompetencyProgramsRequest {})
            .await
            .map(drop),
        client
            .list_competency_status(pb::ListCompetencyStatusRequest::default())
            .await
            .map(drop),
        client
            .assign_competency(pb::AssignCompetencyRequest {
                holder: "h1".into(),
                program: "clia-testing".into(),
                skill: "Glucose".into(),
            })
            .await
            .map(drop),
        client
            .log_assessment(pb::LogAssessmentRequest {
                holder: "h1".into(),
                program: "clia-testing".into(),
                skill: "Glucose".into(),
                assessor: "T".into(),
                elements: vec![1],
                result: "pass".into(),
                ..Default::default()
            })
            .await
            .map(drop),
    ];
    for code in codes {
        assert_eq!(code.unwrap_err().code(), tonic::Code::Unauthenticated);
    }
    let status = d.json(&["--holder", "h1", "competency", "status"]);
    assert_eq!(status, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_assessments_of_one_holder_are_all_kept() {
    use recert_proto::v1 as pb;
    use recert_proto::v1::competency_service_client::CompetencyServiceClient;
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-07-01T12:00:00Z"));
    d.json(&[
        "holder",
        "add",
        "Ana Ruiz",
        "--tz",
        "UTC",
        "--hired",
        "2026-01-15",
    ]);
    let client = CompetencyServiceClient::new(d.channel().await);
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..24u32 {
        let mut client = client.clone();
        calls.spawn(async move {
            client
                .log_assessment(pb::LogAssessmentRequest {
                    holder: "h1".into(),
                    program: "clia-testing".into(),
                    skill: format!("Skill {}", n % 3),
                    assessed_on: format!("2026-06-{:02}", n + 1),
                    assessor: "T. C.".into(),
                    elements: vec![1, 2, 3, 4, 5, 6],
                    result: "pass".into(),
                    note: String::new(),
                })
                .await
                .map(drop)
        });
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap().unwrap();
    }
    let status = d.json(&["--holder", "h1", "competency", "status"]);
    let kept: u64 = status
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["assessments"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (status.as_array().unwrap().len(), kept),
        (3, 24),
        "{status}"
    );
}

/// Another holder's record reads as absent: "not found" from the server, or the CLI's
/// "no holder has that name or id" when `--holder` is resolved against the visible holders.
fn reads_as_absent(message: &str) -> bool {
    message.contains("not found") || message.contains("no holder has that name or id")
}
