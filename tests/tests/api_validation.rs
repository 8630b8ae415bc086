//! Bad input to the real `recertd`: every create, update, renew and delete RPC answers
//! the right status code (INVALID_ARGUMENT with a `google.rpc.BadRequest` violation naming
//! the field, NOT_FOUND, ALREADY_EXISTS or FAILED_PRECONDITION) and leaves the store as it was.

use recert_proto::v1 as pb;
use recert_proto::v1::channel_service_client::ChannelServiceClient;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use recert_proto::v1::program_service_client::ProgramServiceClient;
use recert_tests::AuthChannel as Channel;
use recert_tests::Daemon;
use std::fmt::Debug;
use std::future::Future;
use tempfile::TempDir;
use tonic::{Code, Response, Status};
use tonic_types::StatusExt;

/// The daemon's frozen clock: "the future" starts on 2026-06-16 for a holder in UTC.
const NOW: &str = "2026-06-15T12:00:00Z";
const TODAY: &str = "2026-06-15";
const TOMORROW: &str = "2026-06-16";

/// What a rejected call must answer.
enum Want<'a> {
    /// INVALID_ARGUMENT whose message names this field and whose `BadRequest` details hold a
    /// violation of exactly this field path.
    Invalid(&'a str),
    /// This status code.
    Code(Code),
}

use Want::Invalid;
const NOT_FOUND: Want<'static> = Want::Code(Code::NotFound);
const ALREADY_EXISTS: Want<'static> = Want::Code(Code::AlreadyExists);
const FAILED_PRECONDITION: Want<'static> = Want::Code(Code::FailedPrecondition);

/// Asserts that `result` is the rejection `want`.
fn check<T: Debug>(what: &str, result: Result<Response<T>, Status>, want: &Want<'_>) {
    let status = match result {
        Ok(answer) => panic!("{what}: accepted, answered {:?}", answer.get_ref()),
        Err(status) => status,
    };
    match *want {
        Want::Invalid(field) => {
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{what}: wrong code: {status:?}"
            );
            assert!(
                status.message().contains(field),
                "{what}: message {:?} does not name {field}",
                status.message()
            );
            let bad = status
                .get_details_bad_request()
                .unwrap_or_else(|| panic!("{what}: no google.rpc.BadRequest in {status:?}"));
            let fields: Vec<&str> = bad
                .field_violations
                .iter()
                .map(|v| v.field.as_str())
                .collect();
            assert!(
                fields.contains(&field),
                "{what}: violations name {fields:?}, not {field}"
            );
            assert!(
                bad.field_violations
                    .iter()
                    .all(|v| !v.description.trim().is_empty()),
                "{what}: a violation has no description: {bad:?}"
            );
        }
        Want::Code(code) => assert_eq!(status.code(), code, "{what}: wrong code: {status:?}"),
    }
}

/// Everything the store holds, as clients see it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    holders: Vec<pb::Holder>,
    programs: Vec<pb::Program>,
    credentials: Vec<pb::Credential>,
    courses: Vec<pb::Course>,
}

/// A daemon with a few records, and a client of every service.
struct Fixture {
    _tmp: TempDir,
    _daemon: Daemon,
    channel: Channel,
}

impl Fixture {
    /// Starts a daemon at [`NOW`] holding:
    /// - h1 "Ana Ruiz" (UTC, the default) with cr1 (nha-cpt, 2025-03-31..2027-03-31) and
    ///   co1 (2 hours, pinned to cr1);
    /// - h2 "Ben Okafor" (America/Chicago) with cr2 of the custom program `clinic-ce`.
    async fn start() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let daemon = Daemon::start(&tmp.path().join("data"), Some(NOW));
        let channel = daemon.channel().await;
        let f = Fixture {
            _tmp: tmp,
            _daemon: daemon,
            channel,
        };
        let h1 = f.create_holder("Ana Ruiz", "UTC").await;
        let h2 = f.create_holder("Ben Okafor", "America/Chicago").await;
        assert_eq!((h1.id.as_str(), h2.id.as_str()), ("h1", "h2"));
        f.programs()
            .create_program(pb::CreateProgramRequest {
                program: Some(custom_program("clinic-ce")),
            })
            .await
            .expect("create clinic-ce");
        let cr1 = f
            .credentials()
            .create_credential(pb::CreateCredentialRequest {
                credential: Some(pb::Credential {
                    issued_on: "2025-03-31".into(),
                    ..credential("h1", "nha-cpt", "2027-03-31")
                }),
            })
            .await
            .expect("create cr1")
            .into_inner();
        let cr2 = f
            .credentials()
            .create_credential(pb::CreateCredentialRequest {
                credential: Some(credential("h2", "clinic-ce", "2027-01-31")),
            })
            .await
            .expect("create cr2")
            .into_inner();
        assert_eq!((cr1.id.as_str(), cr2.id.as_str()), ("cr1", "cr2"));
        let co1 = f
            .courses()
            .create_course(pb::CreateCourseRequest {
                course: Some(pb::Course {
                    credential_ids: vec!["cr1".into()],
                    ..course("h1", "Safety in specimen collection")
                }),
                allow_duplicate: false,
            })
            .await
            .expect("create co1")
            .into_inner();
        assert_eq!(co1.id, "co1");
        f
    }

    fn holders(&self) -> HolderServiceClient<Channel> {
        HolderServiceClient::new(self.channel.clone())
    }

    fn programs(&self) -> ProgramServiceClient<Channel> {
        ProgramServiceClient::new(self.channel.clone())
    }

    fn credentials(&self) -> CredentialServiceClient<Channel> {
        CredentialServiceClient::new(self.channel.clone())
    }

    fn courses(&self) -> CourseServiceClient<Channel> {
        CourseServiceClient::new(self.channel.clone())
    }

    fn compliance(&self) -> ComplianceServiceClient<Channel> {
        ComplianceServiceClient::new(self.channel.clone())
    }

    async fn create_holder(&self, name: &str, time_zone: &str) -> pb::Holder {
        self.holders()
            .create_holder(pb::CreateHolderRequest {
                holder: Some(pb::Holder {
                    name: name.into(),
                    time_zone: time_zone.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap_or_else(|s| panic!("create holder {name}: {s}"))
            .into_inner()
    }

    /// Lists every record, following page tokens.
    async fn snapshot(&self) -> Snapshot {
        let mut holders = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .holders()
                .list_holders(pb::ListHoldersRequest {
                    page_size: 1000,
                    page_token: token,
                })
                .await
                .expect("list holders")
                .into_inner();
            holders.extend(page.holders);
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        let programs = self
            .programs()
            .list_programs(pb::ListProgramsRequest {
                page_size: 1000,
                page_token: String::new(),
            })
            .await
            .expect("list programs")
            .into_inner();
        assert!(programs.next_page_token.is_empty(), "programs fit a page");
        let mut credentials = Vec::new();
        let mut courses = Vec::new();
        for h in &holders {
            let page = self
                .credentials()
                .list_credentials(pb::ListCredentialsRequest {
                    holder_id: h.id.clone(),
                    page_size: 1000,
                    page_token: String::new(),
                })
                .await
                .expect("list credentials")
                .into_inner();
            assert!(page.next_page_token.is_empty(), "credentials fit a page");
            credentials.extend(page.credentials);
            let page = self
                .courses()
                .list_courses(pb::ListCoursesRequest {
                    holder_id: h.id.clone(),
                    page_size: 1000,
                    page_token: String::new(),
                })
                .await
                .expect("list courses")
                .into_inner();
            assert!(page.next_page_token.is_empty(), "courses fit a page");
            courses.extend(page.courses);
        }
        Snapshot {
            holders,
            programs: programs.programs,
            credentials,
            courses,
        }
    }

    /// Runs `call`, asserts it is rejected as `want`, and that no record changed.
    async fn rejects<T: Debug>(
        &self,
        what: &str,
        call: impl Future<Output = Result<Response<T>, Status>>,
        want: Want<'_>,
    ) {
        let before = self.snapshot().await;
        check(what, call.await, &want);
        let after = self.snapshot().await;
        assert_eq!(
            after, before,
            "{what}: the store changed although the call failed"
        );
    }

    /// Runs `call`, asserts it is INVALID_ARGUMENT and that no record changed, and returns
    /// a description of the mismatch if the message or the violations do not name `field`.
    async fn misnames<T: Debug>(
        &self,
        what: &str,
        call: impl Future<Output = Result<Response<T>, Status>>,
        field: &str,
    ) -> Option<String> {
        let before = self.snapshot().await;
        let status = match call.await {
            Ok(answer) => panic!("{what}: accepted, answered {:?}", answer.get_ref()),
            Err(status) => status,
        };
        let after = self.snapshot().await;
        assert_eq!(
            after, before,
            "{what}: the store changed although the call failed"
        );
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{what}: wrong code: {status:?}"
        );
        let fields: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        let named = status.message().contains(field) && fields.iter().any(|f| f == field);
        (!named).then(|| {
            format!(
                "{what}: want {field}; violations name {fields:?}, message {:?}",
                status.message()
            )
        })
    }
}

/// A custom program that passes every check.
fn custom_program(slug: &str) -> pb::Program {
    pb::Program {
        slug: slug.into(),
        body: "Clinic Board".into(),
        name: "Clinic CE".into(),
        cycle_months: 24,
        ce_window_months: 24,
        unit: "contact hour".into(),
        unit_hours_hundredths: 100,
        required_hundredths: 1000,
        grace_days: 30,
        shares_courses: true,
        confidence: pb::Confidence::Confirmed.into(),
        ..Default::default()
    }
}

/// A credential that passes every check.
fn credential(holder: &str, program: &str, expires_on: &str) -> pb::Credential {
    pb::Credential {
        holder_id: holder.into(),
        program: program.into(),
        expires_on: expires_on.into(),
        ..Default::default()
    }
}

/// A course of 2 contact hours that passes every check.
fn course(holder: &str, title: &str) -> pb::Course {
    pb::Course {
        holder_id: holder.into(),
        title: title.into(),
        provider: "ASCLS".into(),
        completed_on: "2026-05-01".into(),
        credits_hundredths: 200,
        unit: "hours".into(),
        categories: vec!["safety".into()],
        format: "online".into(),
        ..Default::default()
    }
}

fn create_course(c: pb::Course) -> pb::CreateCourseRequest {
    pb::CreateCourseRequest {
        course: Some(c),
        allow_duplicate: false,
    }
}

fn create_credential(c: pb::Credential) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        credential: Some(c),
    }
}

fn create_program(p: pb::Program) -> pb::CreateProgramRequest {
    pb::CreateProgramRequest { program: Some(p) }
}

fn update_course(id: &str) -> pb::UpdateCourseRequest {
    pb::UpdateCourseRequest {
        id: id.into(),
        ..Default::default()
    }
}

fn update_credential(id: &str) -> pb::UpdateCredentialRequest {
    pb::UpdateCredentialRequest {
        id: id.into(),
        ..Default::default()
    }
}

fn update_holder(id: &str) -> pb::UpdateHolderRequest {
    pb::UpdateHolderRequest {
        id: id.into(),
        ..Default::default()
    }
}

fn renew(id: &str) -> pb::RenewCredentialRequest {
    pb::RenewCredentialRequest {
        id: id.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn create_holder_rejects_bad_fields() {
    let f = Fixture::start().await;
    let holder = |name: &str, email: &str, tz: &str| pb::CreateHolderRequest {
        holder: Some(pb::Holder {
            name: name.into(),
            email: email.into(),
            time_zone: tz.into(),
            ..Default::default()
        }),
    };
    let long = "n".repeat(201);
    let cases = [
        (
            "no holder",
            pb::CreateHolderRequest { holder: None },
            Invalid("holder"),
        ),
        ("empty name", holder("", "", "UTC"), Invalid("holder.name")),
        (
            "blank name",
            holder("   ", "", "UTC"),
            Invalid("holder.name"),
        ),
        (
            "201-char name",
            holder(&long, "", "UTC"),
            Invalid("holder.name"),
        ),
        (
            "name with a newline",
            holder("Ana\nRuiz", "", "UTC"),
            Invalid("holder.name"),
        ),
        (
            "e-mail without @",
            holder("Cy", "cy", "UTC"),
            Invalid("holder.email"),
        ),
        (
            "e-mail without domain",
            holder("Cy", "cy@host", "UTC"),
            Invalid("holder.email"),
        ),
        (
            "unknown time zone",
            holder("Cy", "", "Mars/Olympus"),
            Invalid("holder.time_zone"),
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.holders().create_holder(request), want)
            .await;
    }
}

/// Bad field values in UpdateHolder are in `update_violations_name_the_request_fields`.
#[tokio::test]
async fn update_holder_rejects_bad_and_unknown_ids() {
    let f = Fixture::start().await;
    let cases = [
        ("empty id", update_holder(""), Invalid("id")),
        ("malformed id", update_holder("xyz"), Invalid("id")),
        (
            "course id for a holder",
            update_holder("co1"),
            Invalid("id"),
        ),
        ("zero-padded id", update_holder("h01"), Invalid("id")),
        ("unknown holder", update_holder("h999"), NOT_FOUND),
        (
            "unknown holder with a bad name",
            pb::UpdateHolderRequest {
                name: Some(String::new()),
                ..update_holder("h999")
            },
            NOT_FOUND,
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.holders().update_holder(request), want)
            .await;
    }
}

#[tokio::test]
async fn delete_and_get_holder_reject_bad_ids() {
    let f = Fixture::start().await;
    let delete = |id: &str, force: bool| pb::DeleteHolderRequest {
        id: id.into(),
        force,
    };
    let cases = [
        ("empty id", delete("", true), Invalid("id")),
        ("malformed id", delete("xyz", true), Invalid("id")),
        ("negative id", delete("h-1", true), Invalid("id")),
        (
            "id past u64",
            delete("h99999999999999999999999", true),
            Invalid("id"),
        ),
        ("unknown holder", delete("h999", true), NOT_FOUND),
        (
            "holder with records, no force",
            delete("h1", false),
            FAILED_PRECONDITION,
        ),
        (
            "default holder with records, no force",
            delete("default", false),
            FAILED_PRECONDITION,
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.holders().delete_holder(request), want)
            .await;
    }
    for (id, want) in [("xyz", Invalid("id")), ("h999", NOT_FOUND)] {
        let request = pb::GetHolderRequest { id: id.into() };
        check(
            &format!("get {id}"),
            f.holders().get_holder(request).await,
            &want,
        );
    }

    // A holder with only a course is still refused without force.
    let h3 = f.create_holder("Cy Lee", "UTC").await;
    f.courses()
        .create_course(create_course(course(&h3.id, "Only course")))
        .await
        .expect("course for h3");
    f.rejects(
        "holder with only a course, no force",
        f.holders().delete_holder(delete(&h3.id, false)),
        FAILED_PRECONDITION,
    )
    .await;
}

#[tokio::test]
async fn create_program_rejects_bad_fields() {
    let f = Fixture::start().await;
    let p = || custom_program("new-ce");
    let cap = |category: &str, format: &str, max_percent: i32, max_hundredths: i64| pb::Cap {
        category: category.into(),
        format: format.into(),
        max_percent,
        max_hundredths,
    };
    let cases = [
        (
            "no program",
            pb::CreateProgramRequest { program: None },
            Invalid("program"),
        ),
        (
            "empty slug",
            create_program(custom_program("")),
            Invalid("program.slug"),
        ),
        (
            "slug with a space",
            create_program(custom_program("new ce")),
            Invalid("program.slug"),
        ),
        (
            "upper-case slug",
            create_program(custom_program("NEW-CE")),
            Invalid("program.slug"),
        ),
        (
            "slug starting with -",
            create_program(custom_program("-ce")),
            Invalid("program.slug"),
        ),
        (
            "49-char slug",
            create_program(custom_program(&"a".repeat(49))),
            Invalid("program.slug"),
        ),
        (
            "empty name",
            create_program(pb::Program {
                name: String::new(),
                ..p()
            }),
            Invalid("program.name"),
        ),
        (
            "empty body",
            create_program(pb::Program {
                body: " ".into(),
                ..p()
            }),
            Invalid("program.body"),
        ),
        (
            "201-char name",
            create_program(pb::Program {
                name: "n".repeat(201),
                ..p()
            }),
            Invalid("program.name"),
        ),
        (
            "zero cycle",
            create_program(pb::Program {
                cycle_months: 0,
                ce_window_months: 12,
                ..p()
            }),
            Invalid("program.cycle_months"),
        ),
        (
            "negative cycle",
            create_program(pb::Program {
                cycle_months: -12,
                ..p()
            }),
            Invalid("program.cycle_months"),
        ),
        (
            "cycle over ten years",
            create_program(pb::Program {
                cycle_months: 121,
                ce_window_months: 12,
                ..p()
            }),
            Invalid("program.cycle_months"),
        ),
        (
            "negative window",
            create_program(pb::Program {
                ce_window_months: -1,
                ..p()
            }),
            Invalid("program.ce_window_months"),
        ),
        (
            "zero required",
            create_program(pb::Program {
                required_hundredths: 0,
                ..p()
            }),
            Invalid("program.required_hundredths"),
        ),
        (
            "negative required",
            create_program(pb::Program {
                required_hundredths: -100,
                ..p()
            }),
            Invalid("program.required_hundredths"),
        ),
        (
            "required above the maximum",
            create_program(pb::Program {
                required_hundredths: 1_000_001,
                ..p()
            }),
            Invalid("program.required_hundredths"),
        ),
        (
            "negative unit hours",
            create_program(pb::Program {
                unit_hours_hundredths: -100,
                ..p()
            }),
            Invalid("program.unit_hours_hundredths"),
        ),
        (
            "unit of more than 100 hours",
            create_program(pb::Program {
                unit_hours_hundredths: 10_001,
                ..p()
            }),
            Invalid("program.unit_hours_hundredths"),
        ),
        (
            "negative grace",
            create_program(pb::Program {
                grace_days: -1,
                ..p()
            }),
            Invalid("program.grace_days"),
        ),
        (
            "grace over ten years",
            create_program(pb::Program {
                grace_days: 3651,
                ..p()
            }),
            Invalid("program.grace_days"),
        ),
        (
            "unknown confidence",
            create_program(pb::Program {
                confidence: 7,
                ..p()
            }),
            Invalid("program.confidence"),
        ),
        (
            "negative minimum",
            create_program(pb::Program {
                category_minimums: vec![pb::CategoryMinimum {
                    category: "safety".into(),
                    minimum_hundredths: -1,
                }],
                ..p()
            }),
            Invalid("program.category_minimums"),
        ),
        (
            "cap with category and format",
            create_program(pb::Program {
                caps: vec![cap("safety", "online", 50, 0)],
                ..p()
            }),
            Invalid("program.caps[0]"),
        ),
        (
            "cap with neither category nor format",
            create_program(pb::Program {
                caps: vec![cap("", "", 50, 0)],
                ..p()
            }),
            Invalid("program.caps[0]"),
        ),
        (
            "cap of an unknown format",
            create_program(pb::Program {
                caps: vec![cap("", "bogus", 50, 0)],
                ..p()
            }),
            Invalid("program.caps[0].format"),
        ),
        (
            "cap with percent and amount",
            create_program(pb::Program {
                caps: vec![cap("", "online", 50, 100)],
                ..p()
            }),
            Invalid("program.caps[0]"),
        ),
        (
            "cap with no limit",
            create_program(pb::Program {
                caps: vec![cap("", "online", 0, 0)],
                ..p()
            }),
            Invalid("program.caps[0]"),
        ),
        (
            "cap of a negative percent",
            create_program(pb::Program {
                caps: vec![cap("", "online", -5, 0)],
                ..p()
            }),
            Invalid("program.caps[0].max_percent"),
        ),
        (
            "cap of a negative amount",
            create_program(pb::Program {
                caps: vec![cap("safety", "", 0, -100)],
                ..p()
            }),
            Invalid("program.caps[0].max_hundredths"),
        ),
        (
            "source that is not a URL",
            create_program(pb::Program {
                sources: vec!["ftp://clinic.example".into()],
                ..p()
            }),
            Invalid("program.sources"),
        ),
        (
            "custom program created twice",
            create_program(custom_program("clinic-ce")),
            ALREADY_EXISTS,
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.programs().create_program(request), want)
            .await;
    }

    // A local override of a built-in program, created twice.
    let override_ = pb::Program {
        grace_days: 60,
        ..custom_program("nha-cpt")
    };
    let created = f
        .programs()
        .create_program(create_program(override_.clone()))
        .await
        .expect("override nha-cpt")
        .into_inner();
    assert!(created.overrides_builtin && !created.builtin, "{created:?}");
    f.rejects(
        "override created twice",
        f.programs().create_program(create_program(override_)),
        ALREADY_EXISTS,
    )
    .await;
}

#[tokio::test]
async fn update_delete_and_get_program_reject_bad_input() {
    let f = Fixture::start().await;
    let update = |p: pb::Program| pb::UpdateProgramRequest { program: Some(p) };
    let cases = [
        (
            "no program",
            pb::UpdateProgramRequest { program: None },
            Invalid("program"),
        ),
        (
            "unknown program",
            update(custom_program("no-such")),
            NOT_FOUND,
        ),
        (
            "built-in program without override",
            update(custom_program("nha-cpt")),
            NOT_FOUND,
        ),
        (
            "negative required",
            update(pb::Program {
                required_hundredths: -5,
                ..custom_program("clinic-ce")
            }),
            Invalid("program.required_hundredths"),
        ),
        (
            "empty name",
            update(pb::Program {
                name: String::new(),
                ..custom_program("clinic-ce")
            }),
            Invalid("program.name"),
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.programs().update_program(request), want)
            .await;
    }

    let delete = |slug: &str| pb::DeleteProgramRequest { slug: slug.into() };
    let cases = [
        ("empty slug", delete(""), Invalid("slug")),
        ("unknown program", delete("no-such"), NOT_FOUND),
        (
            "built-in program without override",
            delete("nha-cpt"),
            NOT_FOUND,
        ),
        (
            "custom program in use",
            delete("clinic-ce"),
            FAILED_PRECONDITION,
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.programs().delete_program(request), want)
            .await;
    }

    for (slug, want) in [("", Invalid("slug")), ("no-such", NOT_FOUND)] {
        let request = pb::GetProgramRequest { slug: slug.into() };
        check(
            &format!("get {slug:?}"),
            f.programs().get_program(request).await,
            &want,
        );
    }
}

#[tokio::test]
async fn create_credential_rejects_bad_fields_and_references() {
    let f = Fixture::start().await;
    let c = || credential("h1", "ascp-pbt", "2027-09-30");
    let cases = [
        (
            "no credential",
            pb::CreateCredentialRequest { credential: None },
            Invalid("credential"),
        ),
        (
            "empty holder",
            create_credential(pb::Credential {
                holder_id: String::new(),
                ..c()
            }),
            Invalid("credential.holder_id"),
        ),
        (
            "malformed holder",
            create_credential(pb::Credential {
                holder_id: "xyz".into(),
                ..c()
            }),
            Invalid("credential.holder_id"),
        ),
        (
            "unknown holder",
            create_credential(pb::Credential {
                holder_id: "h999".into(),
                ..c()
            }),
            NOT_FOUND,
        ),
        (
            "empty program",
            create_credential(pb::Credential {
                program: " ".into(),
                ..c()
            }),
            Invalid("credential.program"),
        ),
        (
            "unknown program",
            create_credential(pb::Credential {
                program: "no-such".into(),
                ..c()
            }),
            NOT_FOUND,
        ),
        (
            "missing expiry",
            create_credential(pb::Credential {
                expires_on: String::new(),
                ..c()
            }),
            Invalid("credential.expires_on"),
        ),
        (
            "month 13",
            create_credential(pb::Credential {
                expires_on: "2026-13-01".into(),
                ..c()
            }),
            Invalid("credential.expires_on"),
        ),
        (
            "unpadded date",
            create_credential(pb::Credential {
                expires_on: "2027-9-30".into(),
                ..c()
            }),
            Invalid("credential.expires_on"),
        ),
        (
            "US date",
            create_credential(pb::Credential {
                expires_on: "09/30/2027".into(),
                ..c()
            }),
            Invalid("credential.expires_on"),
        ),
        (
            "February 30 issue date",
            create_credential(pb::Credential {
                issued_on: "2026-02-30".into(),
                ..c()
            }),
            Invalid("credential.issued_on"),
        ),
        (
            "expires before issued",
            create_credential(pb::Credential {
                issued_on: "2027-10-01".into(),
                ..c()
            }),
            Invalid("credential.expires_on"),
        ),
        (
            "expires the day it is issued",
            create_credential(pb::Credential {
                issued_on: "2027-09-30".into(),
                ..c()
            }),
            Invalid("credential.expires_on"),
        ),
        (
            "expires after 2200",
            create_credential(pb::Credential {
                expires_on: "2201-01-01".into(),
                ..c()
            }),
            Invalid("credential.expires_on"),
        ),
        (
            "65-char number",
            create_credential(pb::Credential {
                number: "9".repeat(65),
                ..c()
            }),
            Invalid("credential.number"),
        ),
        (
            "second credential of the same program",
            create_credential(credential("h1", "nha-cpt", "2028-01-31")),
            ALREADY_EXISTS,
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.credentials().create_credential(request), want)
            .await;
    }
}

#[tokio::test]
async fn update_credential_rejects_bad_ids_and_fields() {
    let f = Fixture::start().await;
    let cases = [
        ("empty id", update_credential(""), Invalid("id")),
        ("malformed id", update_credential("xyz"), Invalid("id")),
        (
            "holder id for a credential",
            update_credential("h1"),
            Invalid("id"),
        ),
        ("unknown credential", update_credential("cr999"), NOT_FOUND),
        (
            "month 13",
            pb::UpdateCredentialRequest {
                expires_on: Some("2026-13-01".into()),
                ..update_credential("cr1")
            },
            Invalid("expires_on"),
        ),
        (
            "empty expiry",
            pb::UpdateCredentialRequest {
                expires_on: Some(String::new()),
                ..update_credential("cr1")
            },
            Invalid("expires_on"),
        ),
        (
            "malformed issue date",
            pb::UpdateCredentialRequest {
                issued_on: Some("yesterday".into()),
                ..update_credential("cr1")
            },
            Invalid("issued_on"),
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.credentials().update_credential(request), want)
            .await;
    }
}

#[tokio::test]
async fn renew_credential_rejects_bad_input() {
    let f = Fixture::start().await;
    let cases = [
        ("empty id", renew(""), Invalid("id")),
        ("malformed id", renew("xyz"), Invalid("id")),
        ("unknown credential", renew("cr999"), NOT_FOUND),
        (
            "new expiry equal to the current one",
            pb::RenewCredentialRequest {
                expires_on: "2027-03-31".into(),
                ..renew("cr1")
            },
            Invalid("expires_on"),
        ),
        (
            "new expiry before the current one",
            pb::RenewCredentialRequest {
                expires_on: "2026-01-01".into(),
                ..renew("cr1")
            },
            Invalid("expires_on"),
        ),
        (
            "malformed new expiry",
            pb::RenewCredentialRequest {
                expires_on: "2029-02-30".into(),
                ..renew("cr1")
            },
            Invalid("expires_on"),
        ),
        (
            "malformed renewal date",
            pb::RenewCredentialRequest {
                renewed_on: "2026-13-01".into(),
                ..renew("cr1")
            },
            Invalid("renewed_on"),
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.credentials().renew_credential(request), want)
            .await;
    }
}

#[tokio::test]
async fn delete_and_get_credential_reject_bad_ids() {
    let f = Fixture::start().await;
    for (id, want) in [
        ("", Invalid("id")),
        ("xyz", Invalid("id")),
        ("co1", Invalid("id")),
        ("cr0", Invalid("id")),
        ("cr999", NOT_FOUND),
    ] {
        let request = pb::DeleteCredentialRequest {
            id: id.into(),
            ..Default::default()
        };
        f.rejects(
            &format!("delete {id:?}"),
            f.credentials().delete_credential(request),
            want,
        )
        .await;
    }
    for (id, want) in [("xyz", Invalid("id")), ("cr999", NOT_FOUND)] {
        let request = pb::GetCredentialRequest { id: id.into() };
        check(
            &format!("get {id:?}"),
            f.credentials().get_credential(request).await,
            &want,
        );
    }
}

#[tokio::test]
async fn create_course_rejects_bad_fields_and_references() {
    let f = Fixture::start().await;
    let c = || course("h1", "Blood-borne pathogens");
    let cases = [
        (
            "no course",
            pb::CreateCourseRequest {
                course: None,
                allow_duplicate: false,
            },
            Invalid("course"),
        ),
        (
            "empty holder",
            create_course(pb::Course {
                holder_id: String::new(),
                ..c()
            }),
            Invalid("course.holder_id"),
        ),
        (
            "malformed holder",
            create_course(pb::Course {
                holder_id: "xyz".into(),
                ..c()
            }),
            Invalid("course.holder_id"),
        ),
        (
            "unknown holder",
            create_course(pb::Course {
                holder_id: "h999".into(),
                ..c()
            }),
            NOT_FOUND,
        ),
        (
            "empty title",
            create_course(pb::Course {
                title: String::new(),
                ..c()
            }),
            Invalid("course.title"),
        ),
        (
            "blank title",
            create_course(pb::Course {
                title: " \t ".into(),
                ..c()
            }),
            Invalid("course.title"),
        ),
        (
            "201-char title",
            create_course(pb::Course {
                title: "t".repeat(201),
                ..c()
            }),
            Invalid("course.title"),
        ),
        (
            "zero credits",
            create_course(pb::Course {
                credits_hundredths: 0,
                ..c()
            }),
            Invalid("course.credits_hundredths"),
        ),
        (
            "negative credits",
            create_course(pb::Course {
                credits_hundredths: -100,
                ..c()
            }),
            Invalid("course.credits_hundredths"),
        ),
        (
            "most negative credits",
            create_course(pb::Course {
                credits_hundredths: i64::MIN,
                ..c()
            }),
            Invalid("course.credits_hundredths"),
        ),
        (
            "20.01 CEU (200.1 contact hours)",
            create_course(pb::Course {
                credits_hundredths: 2001,
                unit: "ceu".into(),
                ..c()
            }),
            Invalid("course.credits_hundredths"),
        ),
        (
            "201 contact hours",
            create_course(pb::Course {
                credits_hundredths: 20_100,
                ..c()
            }),
            Invalid("course.credits_hundredths"),
        ),
        (
            "largest credits",
            create_course(pb::Course {
                credits_hundredths: i64::MAX,
                unit: "ceu".into(),
                ..c()
            }),
            Invalid("course.credits_hundredths"),
        ),
        (
            "completed tomorrow",
            create_course(pb::Course {
                completed_on: TOMORROW.into(),
                ..c()
            }),
            Invalid("course.completed_on"),
        ),
        (
            "month 13",
            create_course(pb::Course {
                completed_on: "2026-13-01".into(),
                ..c()
            }),
            Invalid("course.completed_on"),
        ),
        (
            "date with a time",
            create_course(pb::Course {
                completed_on: "2026-05-01T10:00".into(),
                ..c()
            }),
            Invalid("course.completed_on"),
        ),
        (
            "completed before 1950",
            create_course(pb::Course {
                completed_on: "1949-12-31".into(),
                ..c()
            }),
            Invalid("course.completed_on"),
        ),
        (
            "unit furlongs",
            create_course(pb::Course {
                unit: "furlongs".into(),
                ..c()
            }),
            Invalid("course.unit"),
        ),
        (
            "format bogus",
            create_course(pb::Course {
                format: "bogus".into(),
                ..c()
            }),
            Invalid("course.format"),
        ),
        (
            "empty category",
            create_course(pb::Course {
                categories: vec!["safety".into(), " ".into()],
                ..c()
            }),
            Invalid("course.categories"),
        ),
        (
            "17 categories",
            create_course(pb::Course {
                categories: (0..17).map(|i| format!("c{i}")).collect(),
                ..c()
            }),
            Invalid("course.categories"),
        ),
        (
            "201-char provider",
            create_course(pb::Course {
                provider: "p".repeat(201),
                ..c()
            }),
            Invalid("course.provider"),
        ),
        (
            "2001-char evidence",
            create_course(pb::Course {
                evidence: "e".repeat(2001),
                ..c()
            }),
            Invalid("course.evidence"),
        ),
        (
            "malformed pinned credential",
            create_course(pb::Course {
                credential_ids: vec!["xyz".into()],
                ..c()
            }),
            Invalid("course.credential_ids"),
        ),
        (
            "unknown pinned credential",
            create_course(pb::Course {
                credential_ids: vec!["cr999".into()],
                ..c()
            }),
            NOT_FOUND,
        ),
        (
            "pinned to another holder's credential",
            create_course(pb::Course {
                credential_ids: vec!["cr2".into()],
                ..c()
            }),
            FAILED_PRECONDITION,
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.courses().create_course(request), want)
            .await;
    }
}

#[tokio::test]
async fn update_course_rejects_bad_ids_and_fields() {
    let f = Fixture::start().await;
    let u = || update_course("co1");
    let cases = [
        ("empty id", update_course(""), Invalid("id")),
        ("malformed id", update_course("xyz"), Invalid("id")),
        (
            "credential id for a course",
            update_course("cr1"),
            Invalid("id"),
        ),
        ("unknown course", update_course("co999"), NOT_FOUND),
        (
            "unknown course with a bad title",
            pb::UpdateCourseRequest {
                title: Some(String::new()),
                ..update_course("co999")
            },
            NOT_FOUND,
        ),
        (
            "unit furlongs",
            pb::UpdateCourseRequest {
                unit: Some("furlongs".into()),
                ..u()
            },
            Invalid("unit"),
        ),
        (
            "format bogus",
            pb::UpdateCourseRequest {
                format: Some("bogus".into()),
                ..u()
            },
            Invalid("format"),
        ),
        (
            "month 13",
            pb::UpdateCourseRequest {
                completed_on: Some("2026-13-01".into()),
                ..u()
            },
            Invalid("completed_on"),
        ),
        (
            "empty date",
            pb::UpdateCourseRequest {
                completed_on: Some(String::new()),
                ..u()
            },
            Invalid("completed_on"),
        ),
        (
            "malformed pinned credential",
            pb::UpdateCourseRequest {
                set_credential_ids: true,
                credential_ids: vec!["xyz".into()],
                ..u()
            },
            Invalid("credential_ids"),
        ),
        (
            "unknown pinned credential",
            pb::UpdateCourseRequest {
                set_credential_ids: true,
                credential_ids: vec!["cr1".into(), "cr999".into()],
                ..u()
            },
            NOT_FOUND,
        ),
        (
            "pinned to another holder's credential",
            pb::UpdateCourseRequest {
                set_credential_ids: true,
                credential_ids: vec!["cr2".into()],
                ..u()
            },
            FAILED_PRECONDITION,
        ),
    ];
    for (what, request, want) in cases {
        f.rejects(what, f.courses().update_course(request), want)
            .await;
    }
}

#[tokio::test]
async fn delete_and_get_course_reject_bad_ids() {
    let f = Fixture::start().await;
    for (id, want) in [
        ("", Invalid("id")),
        ("xyz", Invalid("id")),
        ("h1", Invalid("id")),
        ("co999", NOT_FOUND),
    ] {
        let request = pb::DeleteCourseRequest { id: id.into() };
        f.rejects(
            &format!("delete {id:?}"),
            f.courses().delete_course(request),
            want,
        )
        .await;
    }
    for (id, want) in [("xyz", Invalid("id")), ("co999", NOT_FOUND)] {
        let request = pb::GetCourseRequest { id: id.into() };
        check(
            &format!("get {id:?}"),
            f.courses().get_course(request).await,
            &want,
        );
    }
}

#[tokio::test]
async fn lists_reject_bad_holders_and_paging() {
    let f = Fixture::start().await;
    let bad_paging = [
        (-1, "", Invalid("page_size")),
        (i32::MIN, "", Invalid("page_size")),
        (0, "zz", Invalid("page_token")),
        (0, "abc", Invalid("page_token")),
        (0, "garbage!", Invalid("page_token")),
        (0, "00", Invalid("page_token")),
        (0, &"0".repeat(130), Invalid("page_token")),
    ];
    for (size, token, want) in &bad_paging {
        let what = format!("page_size {size}, page_token {token:?}");
        let holders = pb::ListHoldersRequest {
            page_size: *size,
            page_token: token.to_string(),
        };
        check(
            &format!("holders: {what}"),
            f.holders().list_holders(holders).await,
            want,
        );
        let credentials = pb::ListCredentialsRequest {
            holder_id: "h1".into(),
            page_size: *size,
            page_token: token.to_string(),
        };
        check(
            &format!("credentials: {what}"),
            f.credentials().list_credentials(credentials).await,
            want,
        );
        let courses = pb::ListCoursesRequest {
            holder_id: "h1".into(),
            page_size: *size,
            page_token: token.to_string(),
        };
        check(
            &format!("courses: {what}"),
            f.courses().list_courses(courses).await,
            want,
        );
    }
    for (size, token) in [(-1, ""), (0, "zz"), (0, "abc"), (0, "ff")] {
        let want = if size < 0 {
            Invalid("page_size")
        } else {
            Invalid("page_token")
        };
        let programs = pb::ListProgramsRequest {
            page_size: size,
            page_token: token.into(),
        };
        check(
            &format!("programs: page_size {size}, page_token {token:?}"),
            f.programs().list_programs(programs).await,
            &want,
        );
    }
    for (holder, want) in [
        ("", Invalid("holder_id")),
        ("xyz", Invalid("holder_id")),
        ("h999", NOT_FOUND),
    ] {
        let courses = pb::ListCoursesRequest {
            holder_id: holder.into(),
            ..Default::default()
        };
        check(
            &format!("courses of {holder:?}"),
            f.courses().list_courses(courses).await,
            &want,
        );
        let credentials = pb::ListCredentialsRequest {
            holder_id: holder.into(),
            ..Default::default()
        };
        check(
            &format!("credentials of {holder:?}"),
            f.credentials().list_credentials(credentials).await,
            &want,
        );
    }
}

#[tokio::test]
async fn compliance_rejects_bad_ids_dates_and_paging() {
    let f = Fixture::start().await;
    for (id, as_of, want) in [
        ("", "", Invalid("credential_id")),
        ("xyz", "", Invalid("credential_id")),
        ("cr999", "", NOT_FOUND),
        ("cr1", "2026-13-01", Invalid("as_of")),
        ("cr1", "soon", Invalid("as_of")),
    ] {
        let request = pb::GetComplianceRequest {
            credential_id: id.into(),
            as_of: as_of.into(),
        };
        check(
            &format!("get compliance {id:?} as of {as_of:?}"),
            f.compliance().get_compliance(request).await,
            &want,
        );
    }
    for (holder, as_of, want) in [
        ("", "", Invalid("holder_id")),
        ("xyz", "", Invalid("holder_id")),
        ("h999", "", NOT_FOUND),
        ("h1", "2026-02-30", Invalid("as_of")),
    ] {
        let request = pb::ListComplianceRequest {
            holder_id: holder.into(),
            as_of: as_of.into(),
        };
        check(
            &format!("list compliance of {holder:?} as of {as_of:?}"),
            f.compliance().list_compliance(request).await,
            &want,
        );
    }
    let deadlines = |within_days: i32, holder: &str, page_size: i32, page_token: &str| {
        pb::ListDeadlinesRequest {
            within_days,
            holder_id: holder.into(),
            as_of: String::new(),
            page_size,
            page_token: page_token.into(),
        }
    };
    for (what, request, want) in [
        (
            "negative window",
            deadlines(-1, "", 0, ""),
            Invalid("within_days"),
        ),
        (
            "window over ten years",
            deadlines(3661, "", 0, ""),
            Invalid("within_days"),
        ),
        (
            "malformed holder",
            deadlines(0, "xyz", 0, ""),
            Invalid("holder_id"),
        ),
        ("unknown holder", deadlines(0, "h999", 0, ""), NOT_FOUND),
        (
            "negative page size",
            deadlines(0, "", -1, ""),
            Invalid("page_size"),
        ),
        (
            "non-hex page token",
            deadlines(0, "", 0, "zz"),
            Invalid("page_token"),
        ),
        (
            "odd page token",
            deadlines(0, "", 0, "abc"),
            Invalid("page_token"),
        ),
        (
            "short page token",
            deadlines(0, "", 0, "ff"),
            Invalid("page_token"),
        ),
    ] {
        check(
            &format!("deadlines: {what}"),
            f.compliance().list_deadlines(request).await,
            &want,
        );
    }

    // The tokens the server does issue are accepted: one deadline a page, soonest first.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = f
            .compliance()
            .list_deadlines(pb::ListDeadlinesRequest {
                within_days: 365,
                as_of: "2026-12-01".into(),
                page_size: 1,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("a page of deadlines")
            .into_inner();
        assert!(page.deadlines.len() <= 1, "{page:?}");
        seen.extend(page.deadlines.into_iter().map(|d| d.credential_id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
        assert!(seen.len() < 10, "paging does not end: {seen:?}");
    }
    assert_eq!(seen, ["cr2", "cr1"]);
}

/// The limits are inclusive: the largest accepted values are accepted, so the rejections
/// above are about the values and not about something else in the requests.
#[tokio::test]
async fn values_at_the_limits_are_accepted() {
    let f = Fixture::start().await;
    let accepted = [
        pb::Course {
            title: "t".repeat(200),
            ..course("h1", "")
        },
        pb::Course {
            credits_hundredths: 2000,
            unit: "ceu".into(),
            ..course("h1", "20 CEU is 200 contact hours")
        },
        pb::Course {
            completed_on: TODAY.into(),
            ..course("h1", "Completed today")
        },
        pb::Course {
            completed_on: String::new(),
            ..course("h1", "No date means today")
        },
        pb::Course {
            categories: (0..16).map(|i| format!("c{i}")).collect(),
            ..course("h1", "16 categories")
        },
        pb::Course {
            credits_hundredths: 1,
            ..course("h1", "One hundredth of an hour")
        },
    ];
    for c in accepted {
        let title = c.title.clone();
        let created = f
            .courses()
            .create_course(create_course(c))
            .await
            .unwrap_or_else(|s| panic!("{title:?} was refused: {s:?}"))
            .into_inner();
        assert_eq!(created.title, title);
        if title == "20 CEU is 200 contact hours" {
            assert_eq!(created.hours_hundredths, 20_000);
        }
        if title == "No date means today" {
            assert_eq!(created.completed_on, TODAY);
        }
    }
    let holder = f.create_holder(&"n".repeat(200), "UTC").await;
    assert_eq!(holder.name.chars().count(), 200);
    f.credentials()
        .create_credential(create_credential(pb::Credential {
            number: "9".repeat(64),
            issued_on: "2027-09-29".into(),
            ..credential("h1", "ascp-pbt", "2027-09-30")
        }))
        .await
        .expect("a one-day cycle with a 64-char number");
}

/// "The future" is judged on the holder's own calendar: at 12:00 UTC it is already the
/// next day in Kiritimati (UTC+14) and still the same day in Pago Pago (UTC-11).
#[tokio::test]
async fn the_future_is_judged_in_the_holders_time_zone() {
    let f = Fixture::start().await;
    let east = f.create_holder("Tala", "Pacific/Kiritimati").await;
    let west = f.create_holder("Sione", "Pacific/Pago_Pago").await;

    let created = f
        .courses()
        .create_course(create_course(pb::Course {
            completed_on: TOMORROW.into(),
            ..course(&east.id, "Done on Kiritimati's today")
        }))
        .await
        .expect("tomorrow in UTC is today in Kiritimati")
        .into_inner();
    assert_eq!(created.completed_on, TOMORROW);
    let undated = f
        .courses()
        .create_course(create_course(pb::Course {
            completed_on: String::new(),
            ..course(&east.id, "Undated")
        }))
        .await
        .expect("undated course")
        .into_inner();
    assert_eq!(
        undated.completed_on, TOMORROW,
        "an undated course is the holder's today"
    );

    f.rejects(
        "the day after Kiritimati's today",
        f.courses().create_course(create_course(pb::Course {
            completed_on: "2026-06-17".into(),
            ..course(&east.id, "Too early")
        })),
        Invalid("course.completed_on"),
    )
    .await;
    f.rejects(
        "tomorrow in Pago Pago",
        f.courses().create_course(create_course(pb::Course {
            completed_on: TOMORROW.into(),
            ..course(&west.id, "Too early")
        })),
        Invalid("course.completed_on"),
    )
    .await;
}

/// The conflicts clear once their cause is gone: a forced delete removes the holder's
/// records, after which the custom program they used can be deleted.
#[tokio::test]
async fn conflicts_clear_once_their_cause_is_gone() {
    let f = Fixture::start().await;
    f.rejects(
        "custom program in use",
        f.programs().delete_program(pb::DeleteProgramRequest {
            slug: "clinic-ce".into(),
        }),
        FAILED_PRECONDITION,
    )
    .await;
    f.holders()
        .delete_holder(pb::DeleteHolderRequest {
            id: "h2".into(),
            force: true,
        })
        .await
        .expect("forced delete of h2");
    let after = f.snapshot().await;
    assert_eq!(
        after
            .holders
            .iter()
            .map(|h| h.id.as_str())
            .collect::<Vec<_>>(),
        ["h1"]
    );
    assert!(
        after.credentials.iter().all(|c| c.holder_id == "h1"),
        "{after:?}"
    );
    f.programs()
        .delete_program(pb::DeleteProgramRequest {
            slug: "clinic-ce".into(),
        })
        .await
        .expect("clinic-ce is no longer used");
    check(
        "clinic-ce after its deletion",
        f.programs()
            .get_program(pb::GetProgramRequest {
                slug: "clinic-ce".into(),
            })
            .await,
        &NOT_FOUND,
    );
}

/// The domain's checks of programs name the field in the violation but not in the message.
#[tokio::test]
async fn program_rule_messages_name_their_field() {
    let f = Fixture::start().await;
    let p = || custom_program("new-ce");
    let cap = |category: &str, format: &str, max_percent: i32, max_hundredths: i64| pb::Cap {
        category: category.into(),
        format: format.into(),
        max_percent,
        max_hundredths,
    };
    let cases = [
        (
            "minimum above the requirement",
            create_program(pb::Program {
                category_minimums: vec![pb::CategoryMinimum {
                    category: "safety".into(),
                    minimum_hundredths: 1001,
                }],
                ..p()
            }),
            "program.category_minimums",
        ),
        (
            "cap over 100 percent",
            create_program(pb::Program {
                caps: vec![cap("", "online", 150, 0)],
                ..p()
            }),
            "program.caps",
        ),
        (
            "zero minimum",
            create_program(pb::Program {
                category_minimums: vec![pb::CategoryMinimum {
                    category: "safety".into(),
                    minimum_hundredths: 0,
                }],
                ..p()
            }),
            "program.category_minimums",
        ),
    ];
    let mut wrong = Vec::new();
    for (what, request, field) in cases {
        wrong.extend(
            f.misnames(what, f.programs().create_program(request), field)
                .await,
        );
    }
    assert!(
        wrong.is_empty(),
        "messages that do not name their field:\n{}",
        wrong.join("\n")
    );
}

/// Update requests carry their fields at the top level (`title`, not `course.title`), so
/// a `BadRequest` violation must name them that way, as it already does for the fields the
/// API layer parses (`completed_on`, `unit`, `format`, `expires_on`, ...).
#[tokio::test]
async fn update_violations_name_the_request_fields() {
    let f = Fixture::start().await;
    let mut wrong = Vec::new();

    let cases = [
        (
            "empty name",
            pb::UpdateHolderRequest {
                name: Some(String::new()),
                ..update_holder("h1")
            },
            "name",
        ),
        (
            "201-char name",
            pb::UpdateHolderRequest {
                name: Some("n".repeat(201)),
                ..update_holder("h1")
            },
            "name",
        ),
        (
            "bad e-mail",
            pb::UpdateHolderRequest {
                email: Some("ana@".into()),
                ..update_holder("h1")
            },
            "email",
        ),
        (
            "unknown time zone",
            pb::UpdateHolderRequest {
                time_zone: Some("Mars/Olympus".into()),
                make_default: true,
                ..update_holder("h2")
            },
            "time_zone",
        ),
        (
            "empty time zone",
            pb::UpdateHolderRequest {
                time_zone: Some(String::new()),
                ..update_holder("h1")
            },
            "time_zone",
        ),
    ];
    for (what, request, field) in cases {
        let what = format!("UpdateHolder, {what}");
        wrong.extend(
            f.misnames(&what, f.holders().update_holder(request), field)
                .await,
        );
    }

    let u = || update_course("co1");
    let cases = [
        (
            "empty title",
            pb::UpdateCourseRequest {
                title: Some(String::new()),
                ..u()
            },
            "title",
        ),
        (
            "201-char title",
            pb::UpdateCourseRequest {
                title: Some("t".repeat(201)),
                ..u()
            },
            "title",
        ),
        (
            "zero credits",
            pb::UpdateCourseRequest {
                credits_hundredths: Some(0),
                ..u()
            },
            "credits_hundredths",
        ),
        (
            "negative credits",
            pb::UpdateCourseRequest {
                credits_hundredths: Some(-100),
                ..u()
            },
            "credits_hundredths",
        ),
        (
            "20.01 CEU",
            pb::UpdateCourseRequest {
                credits_hundredths: Some(2001),
                unit: Some("ceu".into()),
                ..u()
            },
            "credits_hundredths",
        ),
        (
            "completed tomorrow",
            pb::UpdateCourseRequest {
                completed_on: Some(TOMORROW.into()),
                ..u()
            },
            "completed_on",
        ),
        (
            "empty category",
            pb::UpdateCourseRequest {
                set_categories: true,
                categories: vec![String::new()],
                ..u()
            },
            "categories",
        ),
    ];
    for (what, request, field) in cases {
        let what = format!("UpdateCourse, {what}");
        wrong.extend(
            f.misnames(&what, f.courses().update_course(request), field)
                .await,
        );
    }

    let cases = [
        (
            "issued after the expiry",
            pb::UpdateCredentialRequest {
                issued_on: Some("2028-01-01".into()),
                ..update_credential("cr1")
            },
            "expires_on",
        ),
        (
            "expiry moved before the issue date",
            pb::UpdateCredentialRequest {
                expires_on: Some("2025-01-01".into()),
                ..update_credential("cr1")
            },
            "expires_on",
        ),
        (
            "65-char number",
            pb::UpdateCredentialRequest {
                number: Some("9".repeat(65)),
                ..update_credential("cr1")
            },
            "number",
        ),
    ];
    for (what, request, field) in cases {
        let what = format!("UpdateCredential, {what}");
        wrong.extend(
            f.misnames(&what, f.credentials().update_credential(request), field)
                .await,
        );
    }

    let cases = [(
        "new expiry after 2200",
        pb::RenewCredentialRequest {
            expires_on: "2201-01-01".into(),
            ..renew("cr1")
        },
        "expires_on",
    )];
    for (what, request, field) in cases {
        let what = format!("RenewCredential, {what}");
        wrong.extend(
            f.misnames(&what, f.credentials().renew_credential(request), field)
                .await,
        );
    }

    assert!(
        wrong.is_empty(),
        "violations that do not name a request field:\n{}",
        wrong.join("\n")
    );
}

/// The channel rules hold for every gRPC caller, not only for the `recert` CLI: a webhook URL
/// with a user name or password, or an e-mail address with a malformed part, is refused with
/// a violation of `channel.target`, and nothing is stored; well-formed targets pass.
#[tokio::test]
async fn create_channel_applies_the_strict_target_rules_to_any_caller() {
    let f = Fixture::start().await;
    let mut channels = ChannelServiceClient::new(f.channel.clone());
    let create = |kind: &str, target: &str| pb::CreateChannelRequest {
        channel: Some(pb::Channel {
            holder_id: "h1".into(),
            kind: kind.into(),
            target: target.into(),
            ..Default::default()
        }),
    };
    let cases = [
        (
            "user and password",
            "webhook",
            "https://user:pass@hooks.example.org/recert",
        ),
        (
            "user name only",
            "webhook",
            "https://user@hooks.example.org/recert",
        ),
        (
            "bad port",
            "webhook",
            "https://hooks.example.org:99999/recert",
        ),
        ("e-mail with two dots in a row", "email", "ana@example..org"),
        (
            "e-mail domain label starting with -",
            "email",
            "ana@-example.org",
        ),
        (
            "e-mail local part ending with .",
            "email",
            "ana.@example.org",
        ),
        (
            "e-mail with a display name",
            "email",
            "Ana <ana@example.org>",
        ),
    ];
    for (what, kind, target) in cases {
        let result = channels.create_channel(create(kind, target)).await;
        check(
            &format!("CreateChannel, {what}"),
            result,
            &Invalid("channel.target"),
        );
    }
    let listed = |channels: &mut ChannelServiceClient<Channel>| {
        let mut channels = channels.clone();
        async move {
            channels
                .list_channels(pb::ListChannelsRequest {
                    holder_id: "h1".into(),
                    ..Default::default()
                })
                .await
                .expect("list channels")
                .into_inner()
                .channels
                .len()
        }
    };
    assert_eq!(
        listed(&mut channels).await,
        0,
        "a refused channel was stored"
    );
    for (kind, target) in [
        ("webhook", "https://hooks.example.org/recert?x=1"),
        ("webhook", "http://127.0.0.1:8080/hook"),
        ("webhook", "http://[::1]:8080/hook"),
        ("email", "alice.smith+ce@mail.example.org"),
    ] {
        channels
            .create_channel(create(kind, target))
            .await
            .unwrap_or_else(|s| panic!("CreateChannel {kind} {target}: {s}"));
    }
    assert_eq!(listed(&mut channels).await, 4);
}
