//! The rules of the completed catalog over gRPC: built-in programs show their per-rule
//! confidence, cycle anchors, limits and dues; a custom program keeps every such rule through
//! create and get; a malformed rule is INVALID_ARGUMENT naming its field.

use recert_proto::v1 as pb;
use recert_proto::v1::program_service_client::ProgramServiceClient;
use recert_tests::AuthChannel as Channel;
use recert_tests::Daemon;
use tonic::Code;
use tonic_types::StatusExt;

async fn connect(daemon: &Daemon) -> ProgramServiceClient<Channel> {
    let channel = daemon.channel().await;
    ProgramServiceClient::new(channel)
}

async fn get(programs: &mut ProgramServiceClient<Channel>, slug: &str) -> pb::Program {
    programs
        .get_program(pb::GetProgramRequest { slug: slug.into() })
        .await
        .unwrap_or_else(|e| panic!("get {slug}: {e:?}"))
        .into_inner()
}

/// A custom program with every newer rule set.
fn with_every_rule() -> pb::Program {
    pb::Program {
        slug: "clinic-ma".into(),
        body: "Clinic Board".into(),
        name: "Clinic MA".into(),
        cycle_months: 24,
        ce_window_months: 24,
        unit: "hour".into(),
        unit_hours_hundredths: 100,
        required_hundredths: 2000,
        category_minimums: ["administrative", "clinical"]
            .map(|c| pb::CategoryMinimum {
                category: c.into(),
                minimum_hundredths: 500,
            })
            .to_vec(),
        shares_courses: true,
        confidence: pb::Confidence::Uncertain.into(),
        uncertain: vec!["required".into(), "dues".into()],
        cycle_anchor: "06-30".into(),
        ce_window_years_before: 1,
        first_cycle_per_month_hundredths: 50,
        exclusive_categories: true,
        activity_limits: vec![pb::ActivityLimit {
            category: "employer-training".into(),
            once_every_years: 5,
            ..Default::default()
        }],
        alternatives: vec![pb::Alternative {
            required_hundredths: 1000,
            work_category: "work-hours".into(),
            work_hours_hundredths: 208_000,
        }],
        accreditation_minimums: vec![pb::AccreditationMinimum {
            accreditation: "AAMA".into(),
            minimum_hundredths: 1000,
        }],
        accreditation_required: true,
        dues: Some(pb::Dues {
            amount_cents: 5000,
            every_months: 12,
            month_offset: 0,
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn built_in_programs_show_their_rules_and_per_rule_confidence() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&tmp.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let mut programs = connect(&daemon).await;

    let aspt = get(&mut programs, "aspt-cpt").await;
    assert_eq!(aspt.cycle_anchor, "11-30");
    assert_eq!(
        aspt.accepted_accreditations,
        ["ASPT", "P.A.C.E.", "PACE", "hospital in-service"]
    );
    assert_eq!(
        aspt.uncertain,
        ["unit_hours", "grace_days", "shares_courses"]
    );
    assert_eq!(aspt.confidence(), pb::Confidence::Uncertain);

    let ncct = get(&mut programs, "ncct-ncpt").await;
    assert_eq!(ncct.ce_window_years_before, 1);
    assert_eq!(
        ncct.activity_limits,
        [pb::ActivityLimit {
            category: "employer-training".into(),
            format: String::new(),
            once_every_years: 5,
        }]
    );
    let rpt = get(&mut programs, "amt-rpt").await;
    assert_eq!(
        rpt.dues,
        Some(pb::Dues {
            amount_cents: 5000,
            every_months: 12,
            month_offset: 0,
        })
    );
    assert!(get(&mut programs, "ca-lpt").await.accreditation_required);
    assert_eq!(get(&mut programs, "wa-map").await.cycle_anchor, "birthday");
    let nhco = get(&mut programs, "nhco-cpt").await;
    assert_eq!(nhco.alternatives[0].work_hours_hundredths, 208_000);
    let aama = get(&mut programs, "aama-cma").await;
    assert!(aama.exclusive_categories);
    assert_eq!(aama.accreditation_minimums[0].accreditation, "AAMA");
    assert_eq!(
        get(&mut programs, "aca-cpt")
            .await
            .first_cycle_per_month_hundredths,
        50
    );
    // An unknown requirement is 0, flagged.
    let la = get(&mut programs, "la-phlebotomist").await;
    assert_eq!(la.required_hundredths, 0);
    assert!(la.uncertain.iter().any(|f| f == "required"));
}

#[tokio::test]
async fn a_custom_program_keeps_every_rule_and_bad_rules_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&tmp.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let mut programs = connect(&daemon).await;

    let sent = with_every_rule();
    let created = programs
        .create_program(pb::CreateProgramRequest {
            program: Some(sent.clone()),
        })
        .await
        .expect("create clinic-ma")
        .into_inner();
    assert_eq!(created, sent);
    assert_eq!(get(&mut programs, "clinic-ma").await, sent);

    // "Uncertain" without naming a rule still reads as uncertain.
    let vague = pb::Program {
        slug: "clinic-vague".into(),
        uncertain: Vec::new(),
        ..with_every_rule()
    };
    let created = programs
        .create_program(pb::CreateProgramRequest {
            program: Some(vague),
        })
        .await
        .expect("create clinic-vague")
        .into_inner();
    assert_eq!(created.uncertain, ["unspecified"]);
    assert_eq!(created.confidence(), pb::Confidence::Uncertain);

    let cases = [
        (
            pb::Program {
                cycle_anchor: "11/30".into(),
                ..with_every_rule()
            },
            "program.cycle_anchor",
        ),
        (
            pb::Program {
                uncertain: vec!["grace".into()],
                ..with_every_rule()
            },
            "program.uncertain",
        ),
        (
            pb::Program {
                confidence: pb::Confidence::Confirmed.into(),
                ..with_every_rule()
            },
            "program.uncertain",
        ),
        (
            pb::Program {
                activity_limits: vec![pb::ActivityLimit {
                    category: "employer-training".into(),
                    format: "online".into(),
                    once_every_years: 5,
                }],
                ..with_every_rule()
            },
            "program.activity_limits[0]",
        ),
        (
            pb::Program {
                dues: Some(pb::Dues {
                    amount_cents: 5000,
                    every_months: 0,
                    month_offset: 0,
                }),
                ..with_every_rule()
            },
            "program.dues",
        ),
        (
            pb::Program {
                category_minimums: Vec::new(),
                ..with_every_rule()
            },
            "program.exclusive_categories",
        ),
        (
            pb::Program {
                required_hundredths: 0,
                uncertain: vec!["dues".into()],
                ..with_every_rule()
            },
            "program.required_hundredths",
        ),
    ];
    for (program, field) in cases {
        let what = format!("{field}: {program:?}");
        let status = programs
            .create_program(pb::CreateProgramRequest {
                program: Some(pb::Program {
                    slug: "clinic-bad".into(),
                    ..program
                }),
            })
            .await
            .expect_err(&what);
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        let violations: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert!(
            violations.iter().any(|v| v == field),
            "{what}: {violations:?}"
        );
    }
}
