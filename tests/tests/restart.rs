//! Stopping and restarting the real `recertd` on its data dir: after SIGTERM (exit 0) every
//! record and every compliance answer is the same, an idle connection does not keep SIGTERM
//! from working, and a second daemon on a data dir in use refuses to start.

use recert_proto::v1 as pb;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use recert_proto::v1::program_service_client::ProgramServiceClient;
use recert_tests::AuthChannel as Channel;
use recert_tests::Daemon;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The daemon's frozen clock.
const NOW: &str = "2026-06-15T12:00:00Z";
/// The date compliance is asked for, so answers do not depend on the clock either.
const AS_OF: &str = "2026-06-01";
/// How long a daemon that should exit may run before the test calls it stuck.
const LIMIT: Duration = Duration::from_secs(30);

/// Spawns `recertd` on port 0 over `data_dir` with its output piped.
fn spawn_recertd(data_dir: &Path) -> Child {
    Command::new(recert_tests::binary("recertd"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("RECERT_NOW")
        .env_remove("RECERT_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn recertd")
}

/// Waits for `child` to exit and collects its output. `limit` is not a guess at how long
/// anything takes: it only turns a daemon that never exits into a failure instead of a hung
/// test (the child is then killed).
fn wait_at_most(child: Child, limit: Duration, what: &str) -> Output {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits"));
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match outcome.recv_timeout(limit) {
        Ok(output) => output.expect("wait for recertd"),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = outcome.recv();
            panic!("{what}: recertd was still running after {limit:?}");
        }
    }
}

async fn connect(daemon: &Daemon) -> Channel {
    daemon.channel().await
}

/// Everything a client can read back, records and answers.
#[derive(Debug, PartialEq)]
struct Answers {
    holders: Vec<pb::Holder>,
    default_holder: pb::Holder,
    programs: Vec<pb::Program>,
    credentials: Vec<pb::Credential>,
    courses: Vec<pb::Course>,
    compliance: Vec<pb::Compliance>,
    compliance_lists: Vec<pb::ListComplianceResponse>,
    deadlines: pb::ListDeadlinesResponse,
}

async fn answers(channel: &Channel) -> Answers {
    let mut holders_api = HolderServiceClient::new(channel.clone());
    let mut credentials_api = CredentialServiceClient::new(channel.clone());
    let mut courses_api = CourseServiceClient::new(channel.clone());
    let mut compliance_api = ComplianceServiceClient::new(channel.clone());

    let holders = holders_api
        .list_holders(pb::ListHoldersRequest::default())
        .await
        .expect("list holders")
        .into_inner()
        .holders;
    let default_holder = holders_api
        .get_holder(pb::GetHolderRequest {
            id: "default".into(),
        })
        .await
        .expect("get default holder")
        .into_inner();
    let programs = ProgramServiceClient::new(channel.clone())
        .list_programs(pb::ListProgramsRequest::default())
        .await
        .expect("list programs")
        .into_inner()
        .programs;
    let mut credentials = Vec::new();
    let mut courses = Vec::new();
    let mut compliance = Vec::new();
    let mut compliance_lists = Vec::new();
    for holder in &holders {
        let held = credentials_api
            .list_credentials(pb::ListCredentialsRequest {
                holder_id: holder.id.clone(),
                ..Default::default()
            })
            .await
            .expect("list credentials")
            .into_inner()
            .credentials;
        for credential in &held {
            compliance.push(
                compliance_api
                    .get_compliance(pb::GetComplianceRequest {
                        credential_id: credential.id.clone(),
                        as_of: AS_OF.into(),
                    })
                    .await
                    .expect("get compliance")
                    .into_inner(),
            );
        }
        credentials.extend(held);
        courses.extend(
            courses_api
                .list_courses(pb::ListCoursesRequest {
                    holder_id: holder.id.clone(),
                    ..Default::default()
                })
                .await
                .expect("list courses")
                .into_inner()
                .courses,
        );
        compliance_lists.push(
            compliance_api
                .list_compliance(pb::ListComplianceRequest {
                    holder_id: holder.id.clone(),
                    as_of: AS_OF.into(),
                })
                .await
                .expect("list compliance")
                .into_inner(),
        );
    }
    let deadlines = compliance_api
        .list_deadlines(pb::ListDeadlinesRequest {
            within_days: 3660,
            as_of: AS_OF.into(),
            ..Default::default()
        })
        .await
        .expect("list deadlines")
        .into_inner();
    Answers {
        holders,
        default_holder,
        programs,
        credentials,
        courses,
        compliance,
        compliance_lists,
        deadlines,
    }
}

/// Two holders (the second made the default), a custom program, three credentials (one
/// renewed, so it has history) and courses of several units, formats and pins, one of them
/// edited and one deleted.
async fn populate(channel: &Channel) {
    let mut holders = HolderServiceClient::new(channel.clone());
    let mut credentials = CredentialServiceClient::new(channel.clone());
    let mut courses = CourseServiceClient::new(channel.clone());
    for (name, email, time_zone) in [
        ("Ana Ruiz", "ana@example.org", "America/Chicago"),
        ("Ben Okafor", "", "Europe/Berlin"),
    ] {
        holders
            .create_holder(pb::CreateHolderRequest {
                holder: Some(pb::Holder {
                    name: name.into(),
                    email: email.into(),
                    time_zone: time_zone.into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create holder");
    }
    holders
        .update_holder(pb::UpdateHolderRequest {
            id: "h2".into(),
            make_default: true,
            ..Default::default()
        })
        .await
        .expect("make h2 the default");
    ProgramServiceClient::new(channel.clone())
        .create_program(pb::CreateProgramRequest {
            program: Some(pb::Program {
                slug: "clinic-ce".into(),
                body: "Clinic Board".into(),
                name: "Clinic CE".into(),
                cycle_months: 24,
                unit: "contact hour".into(),
                required_hundredths: 1000,
                category_minimums: vec![pb::CategoryMinimum {
                    category: "safety".into(),
                    minimum_hundredths: 200,
                }],
                grace_days: 30,
                shares_courses: true,
                ..Default::default()
            }),
        })
        .await
        .expect("create clinic-ce");

    for (holder, program, issued_on, expires_on) in [
        ("h1", "nha-cpt", "2025-03-31", "2027-03-31"),
        ("h1", "ascp-pbt", "2024-09-30", "2027-09-30"),
        ("h2", "clinic-ce", "2024-05-31", "2026-05-31"),
    ] {
        credentials
            .create_credential(pb::CreateCredentialRequest {
                credential: Some(pb::Credential {
                    holder_id: holder.into(),
                    program: program.into(),
                    number: format!("{program}-0042"),
                    issued_on: issued_on.into(),
                    expires_on: expires_on.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap_or_else(|s| panic!("create {program}: {s}"));
    }
    let renewed = credentials
        .renew_credential(pb::RenewCredentialRequest {
            id: "cr3".into(),
            renewed_on: "2026-05-20".into(),
            // No CE is logged: a renewal with the cycle unmet must be forced.
            force: true,
            ..Default::default()
        })
        .await
        .expect("renew cr3")
        .into_inner();
    assert_eq!(renewed.expires_on, "2028-05-31");
    assert_eq!(renewed.history.len(), 1);

    let course =
        |holder: &str, title: &str, completed_on: &str, credits: i64, unit: &str| pb::Course {
            holder_id: holder.into(),
            title: title.into(),
            provider: "ASCLS".into(),
            accreditation: "P.A.C.E.".into(),
            completed_on: completed_on.into(),
            credits_hundredths: credits,
            unit: unit.into(),
            ..Default::default()
        };
    let logged = [
        pb::Course {
            categories: vec!["safety".into()],
            format: "online".into(),
            ..course(
                "h1",
                "Safety in specimen collection",
                "2025-06-10",
                200,
                "hours",
            )
        },
        pb::Course {
            categories: vec!["phlebotomy".into()],
            format: "live".into(),
            ..course("h1", "Difficult draws", "2025-11-02", 50, "ceu")
        },
        pb::Course {
            credential_ids: vec!["cr2".into()],
            evidence: "https://example.org/cert/77".into(),
            ..course("h1", "Lab math", "2026-01-15", 300, "point")
        },
        course("h1", "Logged by mistake", "2026-02-01", 100, "hours"),
        pb::Course {
            categories: vec!["safety".into()],
            format: "home-study".into(),
            ..course("h2", "Fire safety", "2026-06-01", 250, "hours")
        },
    ];
    for c in logged {
        courses
            .create_course(pb::CreateCourseRequest {
                course: Some(c),
                allow_duplicate: false,
            })
            .await
            .expect("create course");
    }
    courses
        .update_course(pb::UpdateCourseRequest {
            id: "co2".into(),
            title: Some("Difficult draws, part 1".into()),
            set_credential_ids: true,
            credential_ids: vec!["cr1".into()],
            ..Default::default()
        })
        .await
        .expect("edit co2");
    courses
        .delete_course(pb::DeleteCourseRequest { id: "co4".into() })
        .await
        .expect("delete co4");
}

// Multi-threaded so that the client's connection keeps answering the daemon's
// graceful-shutdown handshake while this thread waits for the daemon to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_compliance_survive_a_clean_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut daemon = Daemon::start(&data, Some(NOW));
    let channel = connect(&daemon).await;
    populate(&channel).await;
    let before = answers(&channel).await;

    // The answers are worth comparing: they hold the records and real progress.
    assert_eq!(before.holders.len(), 2);
    assert_eq!(before.default_holder.id, "h2");
    assert_eq!(before.credentials.len(), 3);
    assert_eq!(
        before
            .courses
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["co1", "co2", "co3", "co5"]
    );
    assert!(before.programs.iter().any(|p| p.slug == "clinic-ce"));
    assert_eq!(before.compliance.len(), 3);
    assert!(
        before.compliance.iter().all(|c| c.as_of == AS_OF),
        "{:?}",
        before.compliance
    );
    assert!(
        before
            .compliance
            .iter()
            .any(|c| c.earned_hundredths > 0 && !c.counted.is_empty()),
        "no credential has progress: {:?}",
        before.compliance
    );
    assert_eq!(
        before.deadlines.deadlines.len(),
        3,
        "{:?}",
        before.deadlines
    );

    assert_eq!(daemon.stop(), Some(0), "recertd should exit 0 on SIGTERM");
    let daemon = Daemon::start(&data, Some(NOW));
    let channel = connect(&daemon).await;
    let after = answers(&channel).await;
    assert_eq!(after, before);

    // Ids keep counting after the restart.
    let next = CourseServiceClient::new(channel)
        .create_course(pb::CreateCourseRequest {
            course: Some(pb::Course {
                holder_id: "h1".into(),
                title: "After the restart".into(),
                credits_hundredths: 100,
                ..Default::default()
            }),
            allow_duplicate: false,
        })
        .await
        .expect("create after restart")
        .into_inner();
    assert!(
        !before.courses.iter().any(|c| c.id == next.id),
        "{} was handed out again",
        next.id
    );
}

#[tokio::test]
async fn a_second_daemon_on_a_data_dir_in_use_fails_at_once() {
    if recert_tests::on_postgres() {
        // The data dir's lock and files are the sled engine's; PostgreSQL has neither.
        eprintln!("sled only: skipped on PostgreSQL");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = Daemon::start(&data, None);
    let channel = connect(&first).await;
    let mut holders = HolderServiceClient::new(channel);
    holders
        .create_holder(pb::CreateHolderRequest {
            holder: Some(pb::Holder {
                name: "Ana Ruiz".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("create holder");

    let second = spawn_recertd(&data);
    let output = wait_at_most(second, LIMIT, "a second recertd on a data dir in use");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the second recertd exited with {}",
        output.status
    );
    assert!(
        stderr.contains("in use by another recertd"),
        "stderr does not say why: {stderr}"
    );

    // The first daemon is unharmed.
    let listed = holders
        .list_holders(pb::ListHoldersRequest::default())
        .await
        .expect("the first daemon still answers")
        .into_inner()
        .holders;
    assert_eq!(
        listed.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
        ["Ana Ruiz"]
    );
    holders
        .create_holder(pb::CreateHolderRequest {
            holder: Some(pb::Holder {
                name: "Ben Okafor".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("the first daemon still writes");
}

/// A client that connects and then goes quiet (a stuck CLI, a peer whose network vanished)
/// must not keep the daemon from stopping: SIGTERM still ends it, with exit code 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_is_not_held_up_by_an_idle_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let mut daemon = spawn_recertd(&tmp.path().join("data"));
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the address");
    let addr = line
        .trim()
        .strip_prefix("recertd listening on ")
        .unwrap_or_else(|| panic!("recertd did not start: {line:?}"))
        .to_string();
    // recertd prints its address before it listens for signals; once it has answered a
    // call it is serving, and SIGTERM means "shut down" rather than the default "die".
    let channel = recert_tests::connect_as(&format!("http://{addr}"), None).await;
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .expect("health check");
    let _idle = std::net::TcpStream::connect(&addr).expect("connect to recertd");

    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.id()).expect("pid fits"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
    let output = wait_at_most(daemon, LIMIT, "SIGTERM with an idle connection open");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
