//! Who may do what, through the real daemon: every RPC needs a valid token; a holder token
//! sees only its holder (another holder's record is NOT_FOUND, exactly as an absent one); a
//! supervisor sees exactly the teams they lead; a revoked token fails on its next call; the
//! first start writes admin.token, which the CLI finds by itself on this machine. Every RPC
//! of the API (read from the descriptor set) is in the holder token's tables: another
//! holder's record NOT_FOUND, admin only PERMISSION_DENIED, or open to it (its own only).

use prost::Message;
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_client::AlertServiceClient;
use recert_proto::v1::backup_service_client::BackupServiceClient;
use recert_proto::v1::channel_service_client::ChannelServiceClient;
use recert_proto::v1::competency_service_client::CompetencyServiceClient;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::history_service_client::HistoryServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use recert_proto::v1::program_service_client::ProgramServiceClient;
use recert_proto::v1::roster_service_client::RosterServiceClient;
use recert_proto::v1::team_service_client::TeamServiceClient;
use recert_proto::v1::token_service_client::TokenServiceClient;
use recert_tests::{AuthChannel, Daemon, binary};
use serde_json::Value;
use std::str::FromStr;
use std::time::Duration;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

/// Every method of every service the daemon serves, as `/package.Service/Method`: the
/// recert.v1 services from the descriptor set, and both reflection services.
fn every_method() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(recert_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                out.push(format!(
                    "/{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    out.push("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo".into());
    out.push("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo".into());
    out
}

/// Calls `path` with an empty message; the status code of the answer.
async fn call_empty(channel: AuthChannel, path: &str) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = PathAndQuery::from_str(path).unwrap();
    match grpc.unary(tonic::Request::new(()), path, codec).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// What `result` answered: `Ok` or the status code.
fn code<T>(result: Result<T, tonic::Status>) -> Code {
    result.map_or_else(|s| s.code(), |_| Code::Ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_without_a_valid_token_is_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), None);
    let methods = every_method();
    assert!(methods.len() > 40, "{methods:?}");
    assert!(
        methods
            .iter()
            .any(|m| m.ends_with("TokenService/RevokeToken"))
    );
    for token in [None, Some("rct_not-a-real-token"), Some("")] {
        let channel = d.channel_as(token).await;
        for method in &methods {
            assert_eq!(
                call_empty(channel.clone(), method).await,
                Code::Unauthenticated,
                "{method} with token {token:?}"
            );
        }
    }
    // A valid token passes the check (the call itself may then fail on its empty message).
    let admin = d.channel().await;
    let holders = call_empty(admin, "/recert.v1.HolderService/ListHolders").await;
    assert_eq!(holders, Code::Ok);
    // Health needs no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(d.channel_as(None).await);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health answers without a token");
    assert!(
        d.log().contains("call refused: not authenticated"),
        "{}",
        d.log()
    );
}

/// The id field of a JSON record.
fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A token made by the admin through the CLI.
fn token(d: &Daemon, args: &[&str]) -> (String, String) {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    let made = d.json(&all);
    assert!(
        made["token"].as_str().unwrap().starts_with("rct_"),
        "{made}"
    );
    (id(&made), made["token"].as_str().unwrap().to_string())
}

/// Waits (a blocking stream, no polling) for the first alert of `holder`.
async fn first_alert(d: &Daemon, holder: &str) -> pb::Alert {
    let mut alerts = AlertServiceClient::new(d.channel().await);
    let mut stream = alerts
        .watch_alerts(pb::WatchAlertsRequest {
            holder_id: holder.into(),
            after_seq: 0,
        })
        .await
        .unwrap()
        .into_inner();
    tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("an alert within the tick")
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_token_finds_another_holders_records_not_found_by_every_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(
        &dir.path().join("data"),
        None,
        &["--alert-schedule", "* * * * * *"],
    );
    let expires = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::ToSpan::days(30))
        .unwrap()
        .to_string();
    let mut ids = Vec::new();
    for name in ["Dana", "Ben"] {
        let h = id(&d.json(&["holder", "add", name, "--tz", "UTC"]));
        let cr = id(&d.json(&[
            "--holder",
            &h,
            "cert",
            "add",
            "nha-cpt",
            "--expires",
            &expires,
        ]));
        let co = id(&d.json(&["--holder", &h, "course", "log", "Safety", "--credits", "1"]));
        let ch = id(&d.json(&["--holder", &h, "notify", "add", "email", "x@example.org"]));
        ids.push((h, cr, co, ch));
    }
    let (own, other) = (&ids[0], &ids[1]);
    let (h2, cr2, co2, ch2) = (
        other.0.as_str(),
        other.1.as_str(),
        other.2.as_str(),
        other.3.as_str(),
    );
    let al2 = first_alert(&d, h2).await.id;
    let (_, secret) = token(
        &d,
        &["--role", "holder", "--holder", &own.0, "--name", "Dana's"],
    );
    let c = d.channel_as(Some(&secret)).await;
    let mut holders = HolderServiceClient::new(c.clone());
    let mut creds = CredentialServiceClient::new(c.clone());
    let mut courses = CourseServiceClient::new(c.clone());
    let mut compliance = ComplianceServiceClient::new(c.clone());
    let mut alerts = AlertServiceClient::new(c.clone());
    let mut channels = ChannelServiceClient::new(c.clone());
    let mut programs = ProgramServiceClient::new(c.clone());
    let mut backup = BackupServiceClient::new(c.clone());
    let mut competency = CompetencyServiceClient::new(c.clone());
    let mut roster = RosterServiceClient::new(c.clone());
    let mut teams = TeamServiceClient::new(c.clone());
    let mut tokens = TokenServiceClient::new(c.clone());
    let mut history = HistoryServiceClient::new(c.clone());
    // A team Dana is not on, and a token that is not hers.
    let team = d.json(&["team", "add", "Night lab"]);
    let tm = id(&team);
    assert!(d.cli(&["team", "add-member", &tm, h2]).status.success());
    let (other_token, _) = token(&d, &["--role", "admin", "--name", "other"]);

    let scope = |holder: &str, credential: &str| {
        Some(pb::AlertSettingsScope {
            holder_id: holder.into(),
            credential_id: credential.into(),
            program: String::new(),
        })
    };
    let not_found = [
        (
            "GetHolder",
            code(
                holders
                    .get_holder(pb::GetHolderRequest { id: h2.into() })
                    .await,
            ),
        ),
        (
            "UpdateHolder",
            code(
                holders
                    .update_holder(pb::UpdateHolderRequest {
                        id: h2.into(),
                        name: Some("Taken".into()),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "DeleteHolder",
            code(
                holders
                    .delete_holder(pb::DeleteHolderRequest {
                        id: h2.into(),
                        force: true,
                    })
                    .await,
            ),
        ),
        (
            "GetCredential",
            code(
                creds
                    .get_credential(pb::GetCredentialRequest { id: cr2.into() })
                    .await,
            ),
        ),
        (
            "ListCredentials",
            code(
                creds
                    .list_credentials(pb::ListCredentialsRequest {
                        holder_id: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "CreateCredential",
            code(
                creds
                    .create_credential(pb::CreateCredentialRequest {
                        credential: Some(pb::Credential {
                            holder_id: h2.into(),
                            program: "ascp-pbt".into(),
                            expires_on: expires.clone(),
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "UpdateCredential",
            code(
                creds
                    .update_credential(pb::UpdateCredentialRequest {
                        id: cr2.into(),
                        number: Some("X".into()),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "RenewCredential",
            code(
                creds
                    .renew_credential(pb::RenewCredentialRequest {
                        id: cr2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "UndoRenewal",
            code(
                creds
                    .undo_renewal(pb::UndoRenewalRequest { id: cr2.into() })
                    .await,
            ),
        ),
        (
            "DeleteCredential",
            code(
                creds
                    .delete_credential(pb::DeleteCredentialRequest {
                        id: cr2.into(),
                        force: false,
                    })
                    .await,
            ),
        ),
        (
            "GetCourse",
            code(
                courses
                    .get_course(pb::GetCourseRequest { id: co2.into() })
                    .await,
            ),
        ),
        (
            "ListCourses",
            code(
                courses
                    .list_courses(pb::ListCoursesRequest {
                        holder_id: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "CreateCourse",
            code(
                courses
                    .create_course(pb::CreateCourseRequest {
                        course: Some(pb::Course {
                            holder_id: h2.into(),
                            title: "Planted".into(),
                            credits_hundredths: 100,
                            ..Default::default()
                        }),
                        allow_duplicate: false,
                    })
                    .await,
            ),
        ),
        (
            "CreateCourses",
            code(
                courses
                    .create_courses(pb::CreateCoursesRequest {
                        course: Some(pb::Course {
                            title: "Planted".into(),
                            credits_hundredths: 100,
                            ..Default::default()
                        }),
                        holder_ids: vec![h2.into()],
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "UpdateCourse",
            code(
                courses
                    .update_course(pb::UpdateCourseRequest {
                        id: co2.into(),
                        title: Some("Changed".into()),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "DeleteCourse",
            code(
                courses
                    .delete_course(pb::DeleteCourseRequest { id: co2.into() })
                    .await,
            ),
        ),
        (
            "GetCompliance",
            code(
                compliance
                    .get_compliance(pb::GetComplianceRequest {
                        credential_id: cr2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "ListCompliance",
            code(
                compliance
                    .list_compliance(pb::ListComplianceRequest {
                        holder_id: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "ListDeadlines",
            code(
                compliance
                    .list_deadlines(pb::ListDeadlinesRequest {
                        holder_id: h2.into(),
                        within_days: 90,
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "ListAlerts",
            code(
                alerts
                    .list_alerts(pb::ListAlertsRequest {
                        holder_id: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "AckAlert",
            code(
                alerts
                    .ack_alert(pb::AckAlertRequest { id: al2.clone() })
                    .await,
            ),
        ),
        (
            "SnoozeAlert",
            code(
                alerts
                    .snooze_alert(pb::SnoozeAlertRequest {
                        id: al2.clone(),
                        until: "2199-01-01".into(),
                    })
                    .await,
            ),
        ),
        (
            "MuteCredential",
            code(
                alerts
                    .mute_credential(pb::MuteCredentialRequest {
                        credential_id: cr2.into(),
                        muted: true,
                    })
                    .await,
            ),
        ),
        (
            "WatchAlerts",
            code(
                alerts
                    .watch_alerts(pb::WatchAlertsRequest {
                        holder_id: h2.into(),
                        after_seq: 0,
                    })
                    .await,
            ),
        ),
        (
            "SendTestAlert",
            code(
                alerts
                    .send_test_alert(pb::SendTestAlertRequest {
                        holder_id: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "GetAlertSettings holder",
            code(
                alerts
                    .get_alert_settings(pb::GetAlertSettingsRequest {
                        scope: scope(h2, ""),
                    })
                    .await,
            ),
        ),
        (
            "GetAlertSettings credential",
            code(
                alerts
                    .get_alert_settings(pb::GetAlertSettingsRequest {
                        scope: scope("", cr2),
                    })
                    .await,
            ),
        ),
        (
            "UpdateAlertSettings",
            code(
                alerts
                    .update_alert_settings(pb::UpdateAlertSettingsRequest {
                        scope: scope("", cr2),
                        thresholds: vec![10],
                    })
                    .await,
            ),
        ),
        (
            "CreateChannel",
            code(
                channels
                    .create_channel(pb::CreateChannelRequest {
                        channel: Some(pb::Channel {
                            holder_id: h2.into(),
                            kind: "email".into(),
                            target: "spy@example.org".into(),
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "ListChannels",
            code(
                channels
                    .list_channels(pb::ListChannelsRequest {
                        holder_id: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "DeleteChannel",
            code(
                channels
                    .delete_channel(pb::DeleteChannelRequest { id: ch2.into() })
                    .await,
            ),
        ),
        (
            "VerifyCredential",
            code(
                creds
                    .verify_credential(pb::VerifyCredentialRequest {
                        id: cr2.into(),
                        result: "active".into(),
                        source: "https://registry.example.org".into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "AssignCompetency",
            code(
                competency
                    .assign_competency(pb::AssignCompetencyRequest {
                        holder: h2.into(),
                        program: "clia-testing".into(),
                        skill: "Glucose meter".into(),
                    })
                    .await,
            ),
        ),
        (
            "LogAssessment",
            code(
                competency
                    .log_assessment(pb::LogAssessmentRequest {
                        holder: h2.into(),
                        program: "clia-testing".into(),
                        skill: "Glucose meter".into(),
                        elements: vec![1, 2, 3, 4, 5, 6],
                        result: "pass".into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "ListCompetencyStatus",
            code(
                competency
                    .list_competency_status(pb::ListCompetencyStatusRequest {
                        holder: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "TeamStatus",
            code(
                compliance
                    .team_status(pb::TeamStatusRequest {
                        team: tm.clone(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "RevokeToken",
            code(
                tokens
                    .revoke_token(pb::RevokeTokenRequest {
                        id: other_token.clone(),
                    })
                    .await,
            ),
        ),
        (
            "GetTeam",
            code(
                teams
                    .get_team(pb::GetTeamRequest { team: tm.clone() })
                    .await,
            ),
        ),
        (
            "ListHistory",
            code(
                history
                    .list_history(pb::ListHistoryRequest {
                        holder_id: h2.into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
    ];
    for (rpc, answered) in &not_found {
        assert_eq!(
            *answered,
            Code::NotFound,
            "{rpc} on another holder's record"
        );
    }
    // Exactly as absent: the same words as for an id that does not exist.
    let theirs = creds
        .get_credential(pb::GetCredentialRequest { id: cr2.into() })
        .await
        .unwrap_err();
    let absent = creds
        .get_credential(pb::GetCredentialRequest { id: "cr999".into() })
        .await
        .unwrap_err();
    assert_eq!(
        theirs.message().replace(cr2, "ID"),
        absent.message().replace("cr999", "ID")
    );

    // Lists show only their own; "default" is their own holder.
    let listed = holders
        .list_holders(pb::ListHoldersRequest::default())
        .await
        .unwrap()
        .into_inner();
    let listed: Vec<&str> = listed.holders.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(listed, [own.0.as_str()]);
    let all_alerts = alerts
        .list_alerts(pb::ListAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(
        all_alerts.alerts.iter().all(|a| a.holder_id == own.0),
        "{all_alerts:?}"
    );
    let deadlines = compliance
        .list_deadlines(pb::ListDeadlinesRequest {
            within_days: 90,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let whose: Vec<&str> = deadlines
        .deadlines
        .iter()
        .map(|x| x.holder_id.as_str())
        .collect();
    assert_eq!(whose, [own.0.as_str()]);
    let mine = d.json_as(&secret, &["status"]);
    assert_eq!(mine[0]["holder_id"], own.0.as_str(), "{mine}");
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");

    // Their own records they may change.
    creds
        .update_credential(pb::UpdateCredentialRequest {
            id: own.1.clone(),
            number: Some("N-1".into()),
            ..Default::default()
        })
        .await
        .expect("a holder changes their own credential");

    // What only an admin may do (ImportRoster: an admin or a team's lead) is refused as such.
    let admin_only = [
        (
            "CreateHolder",
            code(
                holders
                    .create_holder(pb::CreateHolderRequest {
                        holder: Some(pb::Holder {
                            name: "New".into(),
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "DeleteProgram",
            code(
                programs
                    .delete_program(pb::DeleteProgramRequest {
                        slug: "nha-cpt".into(),
                    })
                    .await,
            ),
        ),
        (
            "ExportData",
            code(backup.export_data(pb::ExportDataRequest::default()).await),
        ),
        (
            "ImportData",
            code(
                backup
                    .import_data(tokio_stream::iter(vec![pb::ImportDataRequest {
                        data: b"{}\n".to_vec(),
                        ..Default::default()
                    }]))
                    .await,
            ),
        ),
        (
            "UpdateAlertSettings program",
            code(
                alerts
                    .update_alert_settings(pb::UpdateAlertSettingsRequest {
                        scope: Some(pb::AlertSettingsScope {
                            program: "nha-cpt".into(),
                            ..Default::default()
                        }),
                        thresholds: vec![10],
                    })
                    .await,
            ),
        ),
        (
            "CreateProgram",
            code(
                programs
                    .create_program(pb::CreateProgramRequest {
                        program: Some(pb::Program {
                            slug: "planted".into(),
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "CreateCompetencyProgram",
            code(
                competency
                    .create_competency_program(pb::CreateCompetencyProgramRequest {
                        program: Some(pb::CompetencyProgram {
                            slug: "planted".into(),
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "UpdateCompetencyProgram",
            code(
                competency
                    .update_competency_program(pb::UpdateCompetencyProgramRequest {
                        program: Some(pb::CompetencyProgram {
                            slug: "clia-testing".into(),
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "DeleteCompetencyProgram",
            code(
                competency
                    .delete_competency_program(pb::DeleteCompetencyProgramRequest {
                        slug: "clia-testing".into(),
                    })
                    .await,
            ),
        ),
        (
            "UpdateProgram",
            code(
                programs
                    .update_program(pb::UpdateProgramRequest {
                        program: Some(pb::Program {
                            slug: "nha-cpt".into(),
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "ImportRoster",
            code(
                roster
                    .import_roster(pb::ImportRosterRequest::default())
                    .await,
            ),
        ),
        (
            "CreateToken",
            code(
                tokens
                    .create_token(pb::CreateTokenRequest {
                        name: "mine".into(),
                        role: "admin".into(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "CreateTeam",
            code(
                teams
                    .create_team(pb::CreateTeamRequest {
                        name: "Planted".into(),
                    })
                    .await,
            ),
        ),
        (
            "AddMember",
            code(
                teams
                    .add_member(pb::TeamMemberRequest {
                        team: tm.clone(),
                        holder_id: own.0.clone(),
                    })
                    .await,
            ),
        ),
        (
            "RemoveMember",
            code(
                teams
                    .remove_member(pb::TeamMemberRequest {
                        team: tm.clone(),
                        holder_id: h2.into(),
                    })
                    .await,
            ),
        ),
        (
            "AddLead",
            code(
                teams
                    .add_lead(pb::TeamMemberRequest {
                        team: tm.clone(),
                        holder_id: own.0.clone(),
                    })
                    .await,
            ),
        ),
    ];
    for (rpc, answered) in &admin_only {
        assert_eq!(*answered, Code::PermissionDenied, "{rpc} by a holder");
    }
    // What any token may read, a holder token reads (its own records, or the catalog).
    let allowed = [
        (
            "ListHolders",
            code(
                holders
                    .list_holders(pb::ListHoldersRequest::default())
                    .await,
            ),
        ),
        (
            "GetProgram",
            code(
                programs
                    .get_program(pb::GetProgramRequest {
                        slug: "nha-cpt".into(),
                    })
                    .await,
            ),
        ),
        (
            "ListPrograms",
            code(
                programs
                    .list_programs(pb::ListProgramsRequest::default())
                    .await,
            ),
        ),
        (
            "ListCompetencyPrograms",
            code(
                competency
                    .list_competency_programs(pb::ListCompetencyProgramsRequest {})
                    .await,
            ),
        ),
        (
            "ListTokens",
            code(tokens.list_tokens(pb::ListTokensRequest {}).await),
        ),
        (
            "ListTeams",
            code(teams.list_teams(pb::ListTeamsRequest {}).await),
        ),
    ];
    for (rpc, answered) in &allowed {
        assert_eq!(*answered, Code::Ok, "{rpc} by a holder");
    }
    // ... and only its own: the tokens bound to its holder, the teams it is on (none).
    let listed = tokens
        .list_tokens(pb::ListTokensRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(
        !listed.tokens.is_empty() && listed.tokens.iter().all(|t| t.holder_id == own.0),
        "{listed:?}"
    );
    let listed = teams
        .list_teams(pb::ListTeamsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(listed.teams.is_empty(), "{listed:?}");
    // Every RPC of the API is in one of the tables above: a new one must be added.
    let tabled: std::collections::BTreeSet<&str> = not_found
        .iter()
        .chain(&admin_only)
        .chain(&allowed)
        .map(|(rpc, _)| rpc.split(' ').next().unwrap())
        .collect();
    let missing: Vec<String> = every_method()
        .into_iter()
        .filter(|m| m.starts_with("/recert."))
        .filter(|m| !tabled.contains(m.rsplit('/').next().unwrap()))
        .collect();
    assert!(
        missing.is_empty(),
        "RPCs missing from the tables: {missing:?}"
    );
    let out = d.cli_as(Some(&secret), &["token", "create", "--role", "admin"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs an admin token"));

    // Nothing of the other holder changed.
    let ben = d.json(&["--holder", h2, "cert", "list"]);
    assert_eq!(ben.as_array().unwrap().len(), 1, "{ben}");
    assert_eq!(ben[0]["number"], Value::Null, "{ben}");
    let ben_courses = d.json(&["--holder", h2, "course", "list"]);
    assert_eq!(ben_courses.as_array().unwrap().len(), 1, "{ben_courses}");
    assert_eq!(
        d.json(&["--holder", h2, "notify", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sees_exactly_the_teams_they_lead() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let lead = id(&d.json(&["holder", "add", "Sam Lead", "--tz", "UTC"]));
    let member = id(&d.json(&["holder", "add", "Mia Member", "--tz", "UTC"]));
    let outsider = id(&d.json(&["holder", "add", "Oscar Outside", "--tz", "UTC"]));
    let other_team = id(&d.json(&["holder", "add", "Ola Other", "--tz", "UTC"]));
    let lab = d.json(&["team", "add", "Day lab"]);
    assert_eq!(lab["id"], "tm1");
    d.json(&["team", "add", "Night lab"]);
    d.json(&["team", "add-member", "Day lab", &member]);
    d.json(&["team", "add-lead", "tm1", &lead]);
    d.json(&["team", "add-member", "Night lab", &other_team]);
    let shown = d.json(&["team", "show", "Day lab"]);
    assert_eq!(shown["member_ids"], serde_json::json!([member]));
    assert_eq!(shown["lead_ids"], serde_json::json!([lead]));

    let (_, secret) = token(&d, &["--role", "supervisor", "--holder", &lead]);
    let holders = d.json_as(&secret, &["holder", "list"]);
    let seen: Vec<&str> = holders
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [lead.as_str(), member.as_str()]);
    let teams = d.json_as(&secret, &["team", "list"]);
    assert_eq!(teams.as_array().unwrap().len(), 1, "{teams}");

    // They log and fix courses for their team, not for anyone else.
    let course = d.json_as(
        &secret,
        &[
            "--holder",
            &member,
            "course",
            "log",
            "Sharps",
            "--credits",
            "1",
        ],
    );
    assert_eq!(course["holder_id"], member.as_str());
    for holder in [&outsider, &other_team] {
        let out = d.cli_as(
            Some(&secret),
            &[
                "--holder",
                holder,
                "course",
                "log",
                "Sharps",
                "--credits",
                "1",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{holder}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not found"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Team changes are the admin's.
    let out = d.cli_as(Some(&secret), &["team", "add-member", "Day lab", &outsider]);
    assert_eq!(out.status.code(), Some(1));
    // Removing a member ends the supervisor's view of them at the next call.
    d.json(&["team", "remove-member", "Day lab", &member]);
    let out = d.cli_as(Some(&secret), &["--holder", &member, "course", "list"]);
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_fails_on_its_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let holder = id(&d.json(&["holder", "add", "Dana", "--tz", "UTC"]));
    let (token_id, secret) = token(&d, &["--role", "holder", "--holder", &holder]);
    let mut holders = HolderServiceClient::new(d.channel_as(Some(&secret)).await);
    holders
        .get_holder(pb::GetHolderRequest {
            id: "default".into(),
        })
        .await
        .expect("the token works");
    let listed = d.json(&["token", "list"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == token_id.as_str())
        .unwrap();
    assert_eq!(row["role"], "holder");
    assert_eq!(row["holder_id"], holder.as_str());
    assert!(
        row.get("token").is_none() && row.get("secret").is_none(),
        "{row}"
    );
    d.json(&["token", "revoke", &token_id]);
    let refused = holders
        .get_holder(pb::GetHolderRequest {
            id: "default".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    // An expiry in the past is refused at creation.
    let out = d.cli(&[
        "token",
        "create",
        "--role",
        "admin",
        "--expires",
        "2020-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// An open `WatchAlerts` stream does not outlive its token: revoked, the stream ends with
/// UNAUTHENTICATED (the stream checks the token periodically, not only when it opens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_watch_alerts_stream_is_cut_when_its_token_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let holder = id(&d.json(&["holder", "add", "Dana", "--tz", "UTC"]));
    let (token_id, secret) = token(&d, &["--role", "holder", "--holder", &holder]);
    let mut alerts = AlertServiceClient::new(d.channel_as(Some(&secret)).await);
    let mut stream = alerts
        .watch_alerts(pb::WatchAlertsRequest {
            holder_id: holder.clone(),
            after_seq: 0,
        })
        .await
        .expect("the token opens the stream")
        .into_inner();
    d.json(&["token", "revoke", &token_id]);
    let cut = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("the stream ends once its token is revoked");
    let status = cut.expect_err("the stream ends with an error, not an alert");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("revoked"), "{status:?}");
}

#[cfg(unix)]
#[test]
fn the_first_start_writes_admin_token_which_a_local_cli_finds_by_itself() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // The default data dir of a user whose XDG data home is `xdg`.
    let xdg = dir.path().join("xdg");
    let data = xdg.join("recert");
    std::fs::create_dir_all(&xdg).unwrap();
    let mut d = Daemon::start(&data, Some("2026-06-15T12:00:00Z"));
    let file = data.join("admin.token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let first = d.admin_token();
    assert!(first.starts_with("rct_") && first.len() > 4 + 32, "{first}");

    let recert = |xdg: &std::path::Path, args: &[&str]| {
        std::process::Command::new(binary("recert"))
            .args(["--server", &d.url])
            .args(args)
            .env_remove("RECERT_TOKEN")
            .env_remove("RECERT_HOLDER")
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", xdg)
            .output()
            .unwrap()
    };
    let out = recert(&xdg, &["holder", "add", "Dana"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another user (another data home) has no token, and is told how to give one.
    let out = recert(&dir.path().join("elsewhere"), &["holder", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--token") && err.contains("RECERT_TOKEN"),
        "{err}"
    );

    // A restart keeps the file as it is.
    d.restart();
    assert_eq!(d.admin_token(), first);
    // Lost: `recertd token create-admin` makes a new one with the daemon stopped, and never
    // overwrites a file that is there.
    assert_eq!(d.stop(), Some(0));
    std::fs::remove_file(&file).unwrap();
    let create = || {
        let mut command = std::process::Command::new(binary("recertd"));
        command
            .args(["token", "create-admin", "--data-dir"])
            .arg(&data)
            .env_remove("RECERT_DATABASE_URL");
        // On PostgreSQL the token goes into the daemon's database, the file beside its data dir.
        if let Some(base) = recert_tests::postgres_base() {
            command
                .arg("--database-url")
                .arg(recert_tests::database_for(&base, &data));
        }
        command.output().unwrap()
    };
    let out = create();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_ne!(second, first);
    let out = create();
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), second);
    let d = Daemon::start(&data, Some("2026-06-15T12:00:00Z"));
    let holders = d.json(&["holder", "list"]);
    assert_eq!(holders.as_array().unwrap().len(), 1);
    // The first token still works too (it was not revoked).
    assert_eq!(d.json_as(&first, &["holder", "list"]), holders);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_in_the_history_with_who_when_before_and_after() {
    const NOW: &str = "2026-06-15T12:00:00Z";
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    let dana = id(&d.json(&["holder", "add", "Dana", "--tz", "UTC"]));
    let ben = id(&d.json(&["holder", "add", "Ben", "--tz", "UTC"]));
    let (token_id, secret) = token(
        &d,
        &["--role", "holder", "--holder", &dana, "--name", "laptop"],
    );
    let course = id(&d.json_as(&secret, &["course", "log", "Sharps", "--credits", "1"]));
    d.json_as(
        &secret,
        &["course", "edit", &course, "--title", "Sharps safety"],
    );
    let cred = id(&d.json(&["cert", "add", "nha-cpt", "--expires", "2027-01-31"]));
    d.json(&["cert", "renew", &cred, "--force"]);
    d.json(&["--holder", &ben, "course", "log", "Other", "--credits", "1"]);
    d.json_as(&secret, &["course", "remove", &course]);

    let all = d.json(&["history", "--all-holders"]);
    let entries = all.as_array().unwrap();
    let find = |kind: &str, action: &str, record: &str| {
        entries
            .iter()
            .find(|e| e["kind"] == kind && e["action"] == action && e["record"] == record)
            .unwrap_or_else(|| panic!("no {action} of {kind} {record} in {all:#}"))
    };
    let created = find("course", "create", &course);
    assert_eq!(created["at"], NOW);
    assert_eq!(created["token_id"], token_id.as_str());
    assert_eq!(created["actor"], format!("{token_id} (laptop)"));
    assert_eq!(created["holder_id"], dana.as_str());
    assert_eq!(created["before"], Value::Null);
    assert_eq!(created["after"]["title"], "Sharps");
    let edited = find("course", "update", &course);
    assert_eq!(edited["before"]["title"], "Sharps");
    assert_eq!(edited["after"]["title"], "Sharps safety");
    let removed = find("course", "delete", &course);
    assert_eq!(removed["after"], Value::Null);
    assert_eq!(removed["before"]["title"], "Sharps safety");
    let renewed = find("credential", "update", &cred);
    assert_eq!(renewed["before"]["expires_on"], "2027-01-31");
    assert_eq!(renewed["after"]["expires_on"], "2029-01-31");
    assert!(
        renewed["actor"].as_str().unwrap().starts_with("tk1"),
        "{renewed}"
    );
    find("holder", "create", &dana);
    let made = find("token", "create", &token_id);
    assert!(!made.to_string().contains(&secret), "{made}");

    // By credential, and since a date.
    let of_cred = d.json(&["history", "--credential", &cred]);
    assert!(
        of_cred
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["record"] == cred.as_str())
    );
    assert_eq!(of_cred.as_array().unwrap().len(), 2, "{of_cred:#}");
    let later = d.json(&["history", "--all-holders", "--since", "2026-06-16"]);
    assert_eq!(later, serde_json::json!([]));

    // A holder sees their own records' history only.
    let mine = d.json_as(&secret, &["history", "--all-holders"]);
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|e| e["holder_id"] == dana.as_str()),
        "{mine:#}"
    );
    let out = d.cli_as(Some(&secret), &["--holder", &ben, "history"]);
    assert_eq!(out.status.code(), Some(1));
    let table = d.cli(&["history", "--credential", &cred]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("expires_on"), "{table}");
}

/// `recert` reads its server and token from `config.toml` in the user's config dir when
/// neither a flag nor the environment gives them; `RECERT_TOKEN` and `--token` win over it.
#[test]
fn the_cli_takes_server_and_token_from_its_config_file_below_flags_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let dana = id(&d.json(&["holder", "add", "Dana", "--tz", "UTC"]));
    let sam = id(&d.json(&["holder", "add", "Sam", "--tz", "UTC"]));
    let (_, dana_token) = token(&d, &["--role", "holder", "--holder", &dana]);
    let (_, sam_token) = token(&d, &["--role", "holder", "--holder", &sam]);
    let home = dir.path().join("home");
    let config = home.join("config").join("recert");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("server = \"{}\"\ntoken = \"{dana_token}\"\n", d.url),
    )
    .unwrap();
    let recert = |env_token: Option<&str>, args: &[&str]| {
        let mut command = std::process::Command::new(binary("recert"));
        command
            .args(["--output", "json"])
            .args(args)
            .env_remove("RECERT_SERVER")
            .env_remove("RECERT_HOLDER")
            .env_remove("RECERT_CA")
            .env_remove("RECERT_CONFIG")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"));
        match env_token {
            Some(t) => command.env("RECERT_TOKEN", t),
            None => command.env_remove("RECERT_TOKEN"),
        };
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let holders: Value = serde_json::from_slice(&out.stdout).unwrap();
        holders
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // No --server, no RECERT_TOKEN: both from the file.
    assert_eq!(recert(None, &["holder", "list"]), [dana.as_str()]);
    // The environment beats the file, the flag beats both.
    assert_eq!(
        recert(Some(&sam_token), &["holder", "list"]),
        [sam.as_str()]
    );
    assert_eq!(
        recert(
            Some(&sam_token),
            &["--token", &dana_token, "holder", "list"]
        ),
        [dana.as_str()]
    );
    // A bad file is named, with the key it does not know.
    std::fs::write(config.join("config.toml"), "tokn = \"x\"\n").unwrap();
    let out = std::process::Command::new(binary("recert"))
        .args(["holder", "list"])
        .env_remove("RECERT_TOKEN")
        .env_remove("RECERT_CONFIG")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.toml") && err.contains("tokn"), "{err}");
}

/// `recert token create --role supervisor --team T` binds the token to T's lead (its only
/// one, or the one `--holder` names by id or name); the token then sees T's holders.
#[test]
fn a_supervisor_token_made_for_a_team_is_bound_to_its_lead() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let lead = id(&d.json(&["holder", "add", "Lena Lead", "--tz", "UTC"]));
    let member = id(&d.json(&["holder", "add", "Max Member", "--tz", "UTC"]));
    id(&d.json(&["holder", "add", "Olga Outside", "--tz", "UTC"]));
    d.json(&["team", "add", "Day lab"]);
    let out = d.cli(&[
        "token",
        "create",
        "--role",
        "supervisor",
        "--team",
        "Day lab",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no lead"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.json(&["team", "add-member", "Day lab", &member]);
    d.json(&["team", "add-lead", "Day lab", &lead]);
    let made = d.json(&[
        "token",
        "create",
        "--role",
        "supervisor",
        "--team",
        "Day lab",
    ]);
    assert_eq!(made["holder_id"], lead.as_str(), "{made}");
    let seen = d.json_as(made["token"].as_str().unwrap(), &["holder", "list"]);
    let seen: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, [lead.as_str(), member.as_str()]);
    // --holder by name picks the lead; a holder who does not lead the team is refused.
    let named = d.json(&[
        "--holder",
        "Lena Lead",
        "token",
        "create",
        "--role",
        "supervisor",
        "--team",
        "tm1",
    ]);
    assert_eq!(named["holder_id"], lead.as_str(), "{named}");
    let out = d.cli(&[
        "--holder",
        "Max Member",
        "token",
        "create",
        "--role",
        "supervisor",
        "--team",
        "Day lab",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not lead team Day lab"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = d.cli(&["token", "create", "--role", "holder", "--team", "Day lab"]);
    assert_eq!(out.status.code(), Some(2));
}
