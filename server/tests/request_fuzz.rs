//! Fuzz-style tests of request decoding and validation that run under `cargo test`: arbitrary
//! bytes and descriptor-shaped messages decoded as every `recert.v1` request and handed to the
//! real services, and arbitrary values fed to the domain validators and parsers.
//!
//! The libFuzzer targets in `fuzz/` cover the same ground for longer runs.

use jiff::civil::{Date, date};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestRunner;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_server::AlertService;
use recert_proto::v1::channel_service_server::ChannelService;
use recert_proto::v1::compliance_service_server::ComplianceService;
use recert_proto::v1::course_service_server::CourseService;
use recert_proto::v1::credential_service_server::CredentialService;
use recert_proto::v1::holder_service_server::HolderService;
use recert_proto::v1::program_service_server::ProgramService;
use recertd::alerts::{AlertConfig, AlertEngine};
use recertd::api::{
    AlertApi, Api, ChannelApi, ComplianceApi, CourseApi, CredentialApi, HolderApi, ProgramApi,
};
use recertd::clock::ManualClock;
use recertd::domain::{
    Cap, CapLimit, CapScope, CategoryMinimum, Course, Credential, Credits, CycleAnchor, Format,
    Holder, IdKind, MAX_COURSE_HOURS, MAX_NAME_LEN, Program, Unit, normalize_category,
};
use recertd::store::{SledStore as Store, StoreOptions};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::runtime::Runtime;
use tonic::Code;

/// The instant the services' clock is stopped at.
const NOW: &str = "2026-06-01T12:00:00Z";

/// `default` cases, or `PROPTEST_CASES` for a longer run.
fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// --- Every request type, once --------------------------------------------------------------

/// The services a test drives, over one store.
struct Services {
    store: Store,
    holders: HolderApi<Store>,
    programs: ProgramApi<Store>,
    credentials: CredentialApi<Store>,
    courses: CourseApi<Store>,
    compliance: ComplianceApi<Store>,
    alerts: AlertApi<Store>,
    channels: ChannelApi<Store>,
}

/// Declares the requests the services are driven with (`Rpc(pb::RpcRequest): service.method`),
/// and those only decoded: streams, and anything that could make the daemon send a message out
/// (channels, test alerts).
macro_rules! requests {
    (
        called { $($rpc:ident($ty:ty) : $service:ident . $method:ident),* $(,)? }
        decoded { $($only:ident($only_ty:ty)),* $(,)? }
    ) => {
        /// A decoded request of one of the called kinds.
        #[derive(Debug, Clone)]
        #[allow(clippy::large_enum_variant)]
        enum Request {
            $($rpc($ty)),*
        }

        /// The full names of the called request messages, in `Request`'s order.
        const CALLED: &[&str] = &[$(concat!("recert.v1.", stringify!($rpc), "Request")),*];

        /// The full names of the request messages that are only decoded.
        const DECODED_ONLY: &[&str] = &[$(concat!("recert.v1.", stringify!($only), "Request")),*];

        /// Decodes `bytes` as the `kind`-th called request.
        fn decode_called(kind: usize, bytes: &[u8]) -> Option<Request> {
            let mut i = 0usize;
            $(
                if kind == i {
                    return <$ty>::decode(bytes).ok().map(Request::$rpc);
                }
                i += 1;
            )*
            let _ = i;
            None
        }

        /// Decodes `bytes` as every request message, re-encodes what decodes and checks that
        /// it decodes to the same message.
        fn decode_every(bytes: &[u8]) -> Result<(), TestCaseError> {
            $(round_trip::<$ty>(bytes)?;)*
            $(round_trip::<$only_ty>(bytes)?;)*
            Ok(())
        }

        /// Sends `request` to its service.
        async fn call(services: &Services, request: Request) -> Result<(), tonic::Status> {
            match request {
                $(Request::$rpc(r) => services
                    .$service
                    .$method(tonic::Request::new(r))
                    .await
                    .map(drop),)*
            }
        }
    };
}

requests! {
    called {
        GetHolder(pb::GetHolderRequest): holders.get_holder,
        ListHolders(pb::ListHoldersRequest): holders.list_holders,
        CreateHolder(pb::CreateHolderRequest): holders.create_holder,
        UpdateHolder(pb::UpdateHolderRequest): holders.update_holder,
        DeleteHolder(pb::DeleteHolderRequest): holders.delete_holder,
        GetProgram(pb::GetProgramRequest): programs.get_program,
        ListPrograms(pb::ListProgramsRequest): programs.list_programs,
        CreateProgram(pb::CreateProgramRequest): programs.create_program,
        UpdateProgram(pb::UpdateProgramRequest): programs.update_program,
        DeleteProgram(pb::DeleteProgramRequest): programs.delete_program,
        GetCredential(pb::GetCredentialRequest): credentials.get_credential,
        ListCredentials(pb::ListCredentialsRequest): credentials.list_credentials,
        CreateCredential(pb::CreateCredentialRequest): credentials.create_credential,
        UpdateCredential(pb::UpdateCredentialRequest): credentials.update_credential,
        DeleteCredential(pb::DeleteCredentialRequest): credentials.delete_credential,
        RenewCredential(pb::RenewCredentialRequest): credentials.renew_credential,
        GetCourse(pb::GetCourseRequest): courses.get_course,
        ListCourses(pb::ListCoursesRequest): courses.list_courses,
        CreateCourse(pb::CreateCourseRequest): courses.create_course,
        UpdateCourse(pb::UpdateCourseRequest): courses.update_course,
        DeleteCourse(pb::DeleteCourseRequest): courses.delete_course,
        GetCompliance(pb::GetComplianceRequest): compliance.get_compliance,
        ListCompliance(pb::ListComplianceRequest): compliance.list_compliance,
        ListDeadlines(pb::ListDeadlinesRequest): compliance.list_deadlines,
        ListAlerts(pb::ListAlertsRequest): alerts.list_alerts,
        AckAlert(pb::AckAlertRequest): alerts.ack_alert,
        SnoozeAlert(pb::SnoozeAlertRequest): alerts.snooze_alert,
        MuteCredential(pb::MuteCredentialRequest): alerts.mute_credential,
        GetAlertSettings(pb::GetAlertSettingsRequest): alerts.get_alert_settings,
        UpdateAlertSettings(pb::UpdateAlertSettingsRequest): alerts.update_alert_settings,
        ListChannels(pb::ListChannelsRequest): channels.list_channels,
        DeleteChannel(pb::DeleteChannelRequest): channels.delete_channel,
    }
    decoded {
        WatchAlerts(pb::WatchAlertsRequest),
        SendTestAlert(pb::SendTestAlertRequest),
        CreateChannel(pb::CreateChannelRequest),
    }
}

fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    if let Ok(message) = M::decode(bytes) {
        let again = M::decode(message.encode_to_vec().as_slice());
        prop_assert_eq!(again.as_ref().ok(), Some(&message));
    }
    Ok(())
}

// --- Messages shaped by the descriptors ----------------------------------------------------

/// Every message of the `recert.v1` descriptor set, by full name (`.recert.v1.Holder`).
fn descriptors() -> &'static HashMap<String, DescriptorProto> {
    static DESCRIPTORS: OnceLock<HashMap<String, DescriptorProto>> = OnceLock::new();
    DESCRIPTORS.get_or_init(|| {
        let set = FileDescriptorSet::decode(recert_proto::FILE_DESCRIPTOR_SET).unwrap();
        set.file
            .into_iter()
            .flat_map(|file| {
                let package = file.package().to_string();
                file.message_type
                    .into_iter()
                    .map(move |m| (format!(".{package}.{}", m.name()), m))
            })
            .collect()
    })
}

/// One value on the tape a message is built from; each field takes the next value.
#[derive(Debug, Clone)]
enum Value {
    /// The field is left out.
    Skip,
    /// A value typical of the field (by its name), picked by the number.
    Typical(u16),
    /// Any text (for a number field: its length).
    Text(String),
    /// Any number (for a text field: its digits).
    Int(i64),
    /// How many entries a repeated field gets (mod 4).
    Count(u8),
}

/// Picks by `n` from `valid`, and one time in eight from `invalid` instead.
fn pick<T: Copy>(valid: &[T], invalid: &[T], n: u16) -> T {
    let n = usize::from(n);
    if n.is_multiple_of(8) && !invalid.is_empty() {
        invalid[n / 8 % invalid.len()]
    } else {
        valid[n % valid.len()]
    }
}

/// A value typical of text field `field` of `message`: ids that exist or nearly do, dates
/// around today, known slugs, units, formats and zones, and now and then a near miss.
fn typical_text(message: &str, field: &str, n: u16) -> String {
    let id_prefix = ["Holder", "Credential", "Course", "Alert", "Channel"]
        .iter()
        .zip(["h", "cr", "co", "al", "ch"])
        .find(|(noun, _)| message.contains(*noun))
        .map_or("h", |(_, prefix)| prefix);
    // Scopes and caps name exactly one of their fields: most are left empty.
    if matches!(message, "AlertSettingsScope" | "Cap") && !n.is_multiple_of(3) {
        return String::new();
    }
    let value = match field {
        "id" => {
            let number = pick(&[1, 2, 3, 4], &[0, 9], n);
            return format!("{id_prefix}{number}");
        }
        "holder_id" => pick(&["h1", "h2", "h3", "default"], &["h9", "cr1", "h01"], n),
        "credential_id" | "credential_ids" => pick(&["cr1", "cr2", "cr3"], &["cr9", "h1"], n),
        "program" | "slug" => pick(
            &["nha-cpt", "ascp-pbt", "ca-cpt1", "custom-1", "custom-2"],
            &["Bad Slug", "-x", ""],
            n,
        ),
        f if f.ends_with("_on") || f == "as_of" || f == "until" => pick(
            &[
                "2025-01-01",
                "2026-03-01",
                "2026-06-01",
                "2026-07-01",
                "2027-01-01",
                "2028-02-29",
                "",
            ],
            &[
                "2026-02-30",
                "2026-1-1",
                "+2026-01-01",
                "2026-06-02",
                "1949-12-31",
            ],
            n,
        ),
        "unit" if message == "Program" => pick(&["credit", "point"], &[""], n),
        "unit" => pick(
            &["hours", "ceu", "nha-credit", "point", "semester-hour", ""],
            &["minutes"],
            n,
        ),
        "format" => pick(
            &["online", "live", "academic", "home-study", ""],
            &["tv"],
            n,
        ),
        "time_zone" => pick(
            &[
                "UTC",
                "America/Chicago",
                "Pacific/Kiritimati",
                "Pacific/Pago_Pago",
                "",
            ],
            &["Mars/Base"],
            n,
        ),
        "email" => pick(&["", "ana@example.org"], &["ana@example"], n),
        "category" | "categories" => pick(&["safety", "Ethics ", "lab"], &[" "], n),
        "sources" => pick(&["https://example.org/rules"], &["ftp://example.org"], n),
        "page_token" => pick(&[""], &["00", "zz", "0000000000000001"], n),
        "filter" => pick(&["", "pending", "all", "acknowledged"], &["nonsense"], n),
        _ => pick(
            &["Ana Ruiz", "Venipuncture safety", "P.A.C.E.", "x"],
            &["", "\u{7}"],
            n,
        ),
    };
    value.to_string()
}

/// A value typical of number (or bool or enum) field `field`.
fn typical_int(field: &str, n: u16) -> i64 {
    match field {
        "credits_hundredths" | "minimum_hundredths" | "hours_hundredths" => {
            pick(&[50, 100, 300, 1000, 2000], &[0, -5, 25_000], n)
        }
        "max_hundredths" => pick(&[0, 500], &[-5], n),
        "required_hundredths" => pick(&[600, 1000, 2000], &[0], n),
        "unit_hours_hundredths" => pick(&[100, 200, 1000], &[0], n),
        "cycle_months" | "ce_window_months" => pick(&[12, 24, 36], &[0, 121], n),
        "max_percent" => pick(&[50, 100, 0], &[101], n),
        "grace_days" => pick(&[0, 30, 90], &[], n),
        "page_size" => pick(&[0, 1, 2, 5000], &[-1], n),
        "within_days" => pick(&[0, 30, 400], &[-1], n),
        "thresholds" => pick(&[90, 60, 30, 7], &[0], n),
        _ => i64::from(n % 3),
    }
}

/// Strings the API gives meaning to, and strings it must survive.
fn text() -> impl Strategy<Value = String> {
    let meaningful = select(vec![
        "h1",
        "default",
        " h1 ",
        "H1",
        "h01",
        "h0",
        "h18446744073709551616",
        "cr1",
        "co1",
        "2026-06-01",
        "2026-02-30",
        "+2026-01-01",
        "-009999-01-01",
        "9999-12-31",
        "1949-12-31",
        "nha-cpt",
        "-bad",
        "ceu",
        "minutes",
        "academic",
        "America/Chicago",
        "Mars/Olympus_Mons",
        "ana@example.org",
        "https://example.org/rules",
        "00ff",
    ])
    .prop_map(String::from);
    prop_oneof![
        2 => meaningful,
        2 => "\\PC{0,12}",
        1 => any::<String>(),
        1 => (190usize..260, any::<char>()).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -3i64..400,
        2 => 0i64..100_000,
        1 => any::<i64>(),
        1 => select(vec![i64::MIN, i64::MAX, i64::from(i32::MIN), i64::from(i32::MAX), -1, 0]),
    ]
}

/// A tape of typical values only, or of any values.
fn tape() -> impl Strategy<Value = Vec<Value>> {
    let typical = prop_oneof![
        1 => Just(Value::Skip),
        9 => any::<u16>().prop_map(Value::Typical),
    ];
    let any_value = prop_oneof![
        2 => Just(Value::Skip),
        4 => any::<u16>().prop_map(Value::Typical),
        2 => text().prop_map(Value::Text),
        1 => int().prop_map(Value::Int),
        1 => any::<u8>().prop_map(Value::Count),
    ];
    prop_oneof![
        proptest::collection::vec(typical, 0..48),
        proptest::collection::vec(any_value, 0..48),
    ]
}

/// Appends the fields of `message`, drawn from `tape`, in wire format.
fn encode_message(
    message: &DescriptorProto,
    tape: &mut std::slice::Iter<'_, Value>,
    depth: u32,
    out: &mut Vec<u8>,
) {
    for field in &message.field {
        let entries = if field.label() == Label::Repeated {
            match tape.next() {
                Some(Value::Count(n)) => n % 4,
                Some(Value::Typical(n)) => (n % 3) as u8,
                Some(Value::Skip) | None => 0,
                Some(_) => 1,
            }
        } else {
            1
        };
        for _ in 0..entries {
            encode_field(message.name(), field, tape, depth, out);
        }
    }
}

fn encode_field(
    message: &str,
    field: &FieldDescriptorProto,
    tape: &mut std::slice::Iter<'_, Value>,
    depth: u32,
    out: &mut Vec<u8>,
) {
    let tag = u32::try_from(field.number()).unwrap();
    let value = match tape.next() {
        None | Some(Value::Skip) => return,
        Some(v) => v,
    };
    match field.r#type() {
        Type::String | Type::Bytes => {
            let text = match value {
                Value::Typical(n) => typical_text(message, field.name(), *n),
                Value::Text(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                Value::Count(n) => "x".repeat(usize::from(*n)),
                Value::Skip => unreachable!(),
            };
            encode_key(tag, WireType::LengthDelimited, out);
            encode_varint(text.len() as u64, out);
            out.extend_from_slice(text.as_bytes());
        }
        Type::Message => {
            if depth >= 3 {
                return;
            }
            let Some(nested) = descriptors().get(field.type_name()) else {
                return;
            };
            let mut inner = Vec::new();
            encode_message(nested, tape, depth + 1, &mut inner);
            encode_key(tag, WireType::LengthDelimited, out);
            encode_varint(inner.len() as u64, out);
            out.extend_from_slice(&inner);
        }
        _ => {
            let number = match value {
                Value::Typical(n) => typical_int(field.name(), *n) as u64,
                Value::Int(i) => *i as u64,
                Value::Text(s) => s.len() as u64,
                Value::Count(n) => u64::from(*n),
                Value::Skip => unreachable!(),
            };
            encode_key(tag, WireType::Varint, out);
            encode_varint(number, out);
        }
    }
}

/// A request of one kind: a descriptor-shaped message, maybe corrupted, or raw bytes.
#[derive(Debug, Clone)]
struct Input {
    kind: usize,
    tape: Vec<Value>,
    /// Bytes to flip: (position, mask).
    flips: Vec<(u16, u8)>,
    truncate: Option<u16>,
    raw: Option<Vec<u8>>,
}

impl Input {
    fn bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let name = format!(".{}", CALLED[self.kind]);
        let mut out = Vec::new();
        encode_message(&descriptors()[&name], &mut self.tape.iter(), 0, &mut out);
        for &(at, mask) in &self.flips {
            if !out.is_empty() {
                let at = usize::from(at) % out.len();
                out[at] ^= mask;
            }
        }
        if let Some(n) = self.truncate {
            out.truncate(usize::from(n));
        }
        out
    }
}

fn input() -> impl Strategy<Value = Input> {
    (
        0..CALLED.len(),
        tape(),
        prop_oneof![
            6 => Just(vec![]),
            1 => proptest::collection::vec(any::<(u16, u8)>(), 1..4)
        ],
        proptest::option::weighted(0.1, any::<u16>()),
        proptest::option::weighted(0.1, proptest::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(|(kind, tape, flips, truncate, raw)| Input {
            kind,
            tape,
            flips,
            truncate,
            raw,
        })
}

// --- The services --------------------------------------------------------------------------

/// Holders `h1` to `h3` (in Chicago, Kiritimati and UTC), credentials `cr1` to `cr3`, courses
/// `co1` to `co3` and a custom program `custom-1`.
fn seed() -> Vec<Request> {
    let mut requests = Vec::new();
    for (name, time_zone) in [
        ("Ana Ruiz", "America/Chicago"),
        ("Lee Park", "Pacific/Kiritimati"),
        ("Kim Cho", "UTC"),
    ] {
        requests.push(Request::CreateHolder(pb::CreateHolderRequest {
            holder: Some(pb::Holder {
                name: name.into(),
                time_zone: time_zone.into(),
                ..Default::default()
            }),
        }));
    }
    requests.push(Request::CreateProgram(pb::CreateProgramRequest {
        program: Some(pb::Program {
            slug: "custom-1".into(),
            body: "Lab".into(),
            name: "Custom".into(),
            cycle_months: 24,
            ce_window_months: 24,
            unit: "credit".into(),
            unit_hours_hundredths: 200,
            required_hundredths: 1000,
            category_minimums: vec![pb::CategoryMinimum {
                category: "safety".into(),
                minimum_hundredths: 100,
            }],
            caps: vec![pb::Cap {
                format: "online".into(),
                max_percent: 50,
                ..Default::default()
            }],
            ..Default::default()
        }),
    }));
    for (holder_id, program, expires_on) in [
        ("h1", "nha-cpt", "2027-01-01"),
        ("h1", "custom-1", "2026-06-20"),
        ("h2", "ascp-pbt", "2026-05-01"),
    ] {
        requests.push(Request::CreateCredential(pb::CreateCredentialRequest {
            credential: Some(pb::Credential {
                holder_id: holder_id.into(),
                program: program.into(),
                expires_on: expires_on.into(),
                ..Default::default()
            }),
        }));
    }
    for (holder_id, format, pins) in [
        ("h1", "", vec![]),
        ("h1", "online", vec!["cr2"]),
        ("h2", "academic", vec![]),
    ] {
        requests.push(Request::CreateCourse(pb::CreateCourseRequest {
            course: Some(pb::Course {
                holder_id: holder_id.into(),
                title: "Venipuncture safety".into(),
                completed_on: "2026-03-01".into(),
                credits_hundredths: 300,
                categories: vec!["safety".into()],
                format: format.into(),
                credential_ids: pins.into_iter().map(String::from).collect(),
                ..Default::default()
            }),
            allow_duplicate: true,
        }));
    }
    requests
}

/// A runtime and the services over a fresh store holding the [`seed`].
fn start() -> (Runtime, Services, tempfile::TempDir) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let services = runtime.block_on(async {
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
        let engine = AlertEngine::new(store.clone(), clock.clone(), &AlertConfig::default())
            .map_err(|e| e.to_string())
            .unwrap();
        let api = Api::new(store.clone(), clock, engine);
        let services = Services {
            store,
            holders: HolderApi(api.clone()),
            programs: ProgramApi(api.clone()),
            credentials: CredentialApi(api.clone()),
            courses: CourseApi(api.clone()),
            compliance: ComplianceApi(api.clone()),
            alerts: AlertApi {
                api: api.clone(),
                shutdown: tokio_util::sync::CancellationToken::new(),
                watchers: Default::default(),
            },
            channels: ChannelApi(api),
        };
        for request in seed() {
            call(&services, request).await.unwrap();
        }
        services
    });
    (runtime, services, dir)
}

/// Every record the store holds passes the domain's validation.
fn stored_records_are_valid(store: &Store) -> Result<(), TestCaseError> {
    // A course may be dated "today" in its holder's zone, which can be a day ahead of UTC.
    let tomorrow = date(2026, 6, 2);
    for holder in store.list_holders(None, usize::MAX).unwrap().items {
        prop_assert_eq!(holder.validate(), Ok(()), "{:?}", holder);
        for credential in store.credentials_of(holder.id).unwrap() {
            prop_assert_eq!(credential.validate(), Ok(()), "{:?}", credential);
        }
        for course in store.courses_of(holder.id).unwrap() {
            prop_assert_eq!(course.validate(tomorrow), Ok(()), "{:?}", course);
        }
    }
    for program in store.local_programs().unwrap() {
        prop_assert_eq!(program.validate(), Ok(()), "{:?}", program);
    }
    Ok(())
}

#[test]
fn every_request_message_decodes_arbitrary_bytes_without_panicking() {
    let mut runner = TestRunner::new(config(512));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
            decode_every(&bytes)
        })
        .unwrap();
    // Descriptor-shaped bytes reach deeper than noise.
    let mut runner = TestRunner::new(config(256));
    runner
        .run(&input(), |input| decode_every(&input.bytes()))
        .unwrap();
}

#[test]
fn every_request_type_is_known_to_the_descriptors() {
    for name in CALLED.iter().chain(DECODED_ONLY) {
        assert!(
            descriptors().contains_key(&format!(".{name}")),
            "{name} is not in the descriptor set"
        );
    }
}

#[test]
fn services_answer_arbitrary_requests_without_panics_or_internal_errors() {
    let (runtime, services, _dir) = start();
    let mut runner = TestRunner::new(config(256));
    let strategy = proptest::collection::vec(input(), 1..=4);
    runner
        .run(&strategy, |inputs| {
            runtime.block_on(async {
                for input in &inputs {
                    let Some(request) = decode_called(input.kind, &input.bytes()) else {
                        continue;
                    };
                    let shown = format!("{request:?}");
                    if let Err(status) = call(&services, request).await {
                        prop_assert!(
                            !matches!(status.code(), Code::Internal | Code::Unknown),
                            "{} answered {:?}",
                            shown,
                            status
                        );
                    }
                }
                stored_records_are_valid(&services.store)
            })
        })
        .unwrap();
    runtime.block_on(services.store.close()).unwrap();
}

/// A string that is longer than `MAX_NAME_LEN` once trimmed, of any characters.
fn too_long() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<char>(), MAX_NAME_LEN + 1..MAX_NAME_LEN + 40)
            .prop_map(|chars| chars.into_iter().collect::<String>()),
        (any::<char>(), 0usize..40)
            .prop_map(|(c, extra)| c.to_string().repeat(MAX_NAME_LEN + 1 + extra)),
    ]
    .prop_filter("longer than the limit once trimmed", |s| {
        s.trim().chars().count() > MAX_NAME_LEN
    })
}

/// The field violations of an `INVALID_ARGUMENT` status are named in its message.
fn rejected_for(result: Result<(), tonic::Status>, field: &str) -> Result<(), TestCaseError> {
    match result {
        Ok(()) => Err(TestCaseError::fail(format!(
            "accepted; {field} should fail"
        ))),
        Err(status) => {
            prop_assert_eq!(status.code(), Code::InvalidArgument, "{:?}", status);
            prop_assert!(status.message().contains(field), "{:?}", status);
            Ok(())
        }
    }
}

#[test]
fn services_reject_what_the_validators_must() {
    let (runtime, services, _dir) = start();
    let course = |title: String, credits: i64, unit: &str, completed_on: &str| {
        Request::CreateCourse(pb::CreateCourseRequest {
            course: Some(pb::Course {
                holder_id: "h1".into(),
                title,
                completed_on: completed_on.into(),
                credits_hundredths: credits,
                unit: unit.into(),
                ..Default::default()
            }),
            allow_duplicate: true,
        })
    };
    let mut runner = TestRunner::new(config(64));
    runner
        .run(&too_long(), |name| {
            runtime.block_on(async {
                let holder = Request::CreateHolder(pb::CreateHolderRequest {
                    holder: Some(pb::Holder {
                        name: name.clone(),
                        ..Default::default()
                    }),
                });
                rejected_for(call(&services, holder).await, "holder.name")?;
                let title = course(name, 100, "hours", "2026-01-01");
                rejected_for(call(&services, title).await, "course.title")
            })
        })
        .unwrap();
    // Amounts: never zero or below, never above 200 contact hours in whatever unit.
    runner
        .run(
            &(any::<i64>(), select(&Unit::ALL[..])),
            |(credits, unit)| {
                runtime.block_on(async {
                    let hours = unit.to_hours(Credits(credits));
                    let result = call(
                        &services,
                        course("T".into(), credits, unit.name(), "2026-01-01"),
                    )
                    .await;
                    if credits <= 0 || hours > MAX_COURSE_HOURS {
                        rejected_for(result, "course.credits_hundredths")
                    } else {
                        prop_assert!(result.is_ok(), "{:?}", result);
                        Ok(())
                    }
                })
            },
        )
        .unwrap();
    // Dates: a course is never in the future (the holder is in Chicago: today is June 1).
    runner
        .run(&(0i32..3000), |offset| {
            runtime.block_on(async {
                let day = date(2024, 1, 1)
                    .checked_add(jiff::Span::new().days(offset))
                    .unwrap();
                let result = call(&services, course("T".into(), 100, "", &day.to_string())).await;
                if day > date(2026, 6, 1) {
                    rejected_for(result, "course.completed_on")
                } else {
                    prop_assert!(result.is_ok(), "{day}: {result:?}");
                    Ok(())
                }
            })
        })
        .unwrap();
    runtime.block_on(services.store.close()).unwrap();
}

// --- Domain validators and parsers ---------------------------------------------------------

fn any_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        (-40_000i32..40_000).prop_map(|d| date(2026, 1, 1)
            .checked_add(jiff::Span::new().days(d))
            .unwrap()),
        select(vec![
            Date::MIN,
            Date::MAX,
            date(1950, 1, 1),
            date(2200, 12, 31)
        ]),
    ]
}

fn texts(max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(text(), 0..max)
}

fn holder() -> impl Strategy<Value = Holder> {
    (text(), text(), text()).prop_map(|(name, email, time_zone)| Holder {
        id: 1,
        name,
        email,
        time_zone,
        hired_on: None,
        competencies: Vec::new(),
    })
}

fn course() -> impl Strategy<Value = Course> {
    (
        (text(), text(), text(), text()),
        any_date(),
        int(),
        select(&Unit::ALL[..]),
        prop_oneof![
            texts(4),
            proptest::collection::vec("[a-z]{1,3}", 15..20),
            Just(vec!["x".repeat(65)])
        ],
        proptest::option::of(select(vec![
            Format::Live,
            Format::Online,
            Format::HomeStudy,
            Format::Academic,
        ])),
    )
        .prop_map(
            |(
                (title, provider, accreditation, evidence),
                completed_on,
                amount,
                unit,
                categories,
                format,
            )| {
                Course {
                    id: 1,
                    holder_id: 1,
                    title,
                    provider,
                    accreditation,
                    completed_on,
                    amount: Credits(amount),
                    unit,
                    categories,
                    format,
                    credential_ids: vec![],
                    evidence,
                }
            },
        )
}

fn program() -> impl Strategy<Value = Program> {
    let minimum = (text(), int()).prop_map(|(category, m)| CategoryMinimum {
        category,
        minimum: Credits(m),
    });
    let cap = (
        prop_oneof![
            text().prop_map(CapScope::Category),
            select(vec![Format::Online, Format::Academic]).prop_map(CapScope::Format),
        ],
        prop_oneof![
            any::<u32>().prop_map(CapLimit::Percent),
            (0u32..120).prop_map(CapLimit::Percent),
            int().prop_map(|a| CapLimit::Amount(Credits(a))),
        ],
    )
        .prop_map(|(scope, limit)| Cap { scope, limit });
    (
        (text(), text(), text(), text(), text()),
        (
            prop_oneof![any::<u32>(), 0u32..130],
            prop_oneof![any::<u32>(), 0u32..130],
        ),
        (int(), int()),
        proptest::collection::vec(minimum, 0..4),
        proptest::collection::vec(cap, 0..4),
        prop_oneof![any::<u32>(), 0u32..4000],
        texts(3),
    )
        .prop_map(
            |(
                (slug, body, name, unit_name, notes),
                (cycle_months, ce_window_months),
                (unit_hours, required),
                category_minimums,
                caps,
                grace_days,
                sources,
            )| Program {
                local_fields: Vec::new(),
                reinstatement: None,
                slug,
                body,
                name,
                cycle_months,
                cycle_anchor: CycleAnchor::Issue,
                ce_window_months,
                ce_window_years_before: 0,
                unit_name,
                unit_hours: Credits(unit_hours),
                required: Credits(required),
                first_cycle_per_month: Credits::ZERO,
                category_minimums,
                exclusive_categories: false,
                caps,
                activity_limits: vec![],
                alternatives: vec![],
                accreditation_minimums: vec![],
                grace_days,
                shares_courses: true,
                accepted_accreditations: vec![],
                accreditation_required: false,
                dues: None,
                sources,
                uncertain: vec![],
                notes,
            },
        )
}

fn fails(result: &Result<(), Vec<recertd::domain::FieldError>>, field: &str) -> bool {
    result
        .as_ref()
        .err()
        .is_some_and(|errors| errors.iter().any(|e| e.field == field))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn holder_validation(holder in holder(), long in too_long()) {
        let result = holder.validate();
        if result.is_ok() {
            prop_assert!(!holder.name.trim().is_empty());
            prop_assert!(holder.name.chars().count() <= MAX_NAME_LEN);
            prop_assert!(!holder.name.chars().any(char::is_control));
            prop_assert!(jiff::tz::TimeZone::get(&holder.time_zone).is_ok());
        }
        let named = Holder { name: long, ..holder };
        prop_assert!(fails(&named.validate(), "holder.name"));
    }

    #[test]
    fn course_validation(course in course(), today in any_date(), long in too_long()) {
        let result = course.validate(today);
        if result.is_ok() {
            prop_assert!(!course.title.trim().is_empty());
            prop_assert!(course.title.chars().count() <= MAX_NAME_LEN);
            prop_assert!(course.amount > Credits::ZERO);
            prop_assert!(course.hours() > Credits::ZERO && course.hours() <= MAX_COURSE_HOURS);
            prop_assert!(course.completed_on <= today && course.completed_on.year() >= 1950);
            prop_assert!(course.categories.len() <= 16);
            prop_assert!(course.categories.iter().all(|c| !c.trim().is_empty() && c.chars().count() <= 64));
        }
        let titled = Course { title: long, ..course };
        prop_assert!(fails(&titled.validate(today), "course.title"));
    }

    #[test]
    fn program_validation(program in program()) {
        if program.validate().is_ok() {
            prop_assert!((1..=120).contains(&program.cycle_months));
            prop_assert!((1..=120).contains(&program.ce_window_months));
            prop_assert!(program.unit_hours > Credits::ZERO && program.unit_hours <= Credits::whole(100));
            prop_assert!(program.required > Credits::ZERO && program.required <= Credits::whole(10_000));
            prop_assert!(program.grace_days <= 3650);
            for m in &program.category_minimums {
                prop_assert!(m.minimum > Credits::ZERO && m.minimum <= program.required);
            }
            for cap in &program.caps {
                match cap.limit {
                    CapLimit::Percent(p) => prop_assert!((1..=100).contains(&p)),
                    CapLimit::Amount(a) => prop_assert!(a > Credits::ZERO),
                }
            }
            // The unit conversions of a valid program stay in range.
            prop_assert!(program.to_hours(program.required) > Credits::ZERO);
        }
    }

    #[test]
    fn credential_validation(number in text(), issued in proptest::option::of(any_date()), expires in any_date()) {
        let credential = Credential {
            id: 1,
            holder_id: 1,
            program: "p".into(),
            number,
            issued_on: issued,
            expires_on: expires,
            history: vec![],
            verifications: Vec::new(),
        };
        if credential.validate().is_ok() {
            prop_assert!(credential.issued_on.is_none_or(|i| i < credential.expires_on));
            prop_assert!((1950..=2200).contains(&credential.expires_on.year()));
            prop_assert!(credential.number.chars().count() <= 64);
        }
    }

    #[test]
    fn ids_parse_only_their_canonical_form(s in prop_oneof![text(), "(h|cr|co|al|ch)[0-9]{0,22}"], n in 1u64..) {
        for kind in [IdKind::Holder, IdKind::Credential, IdKind::Course, IdKind::Alert, IdKind::Channel] {
            if let Some(id) = kind.parse(&s) {
                prop_assert!(id >= 1);
                prop_assert_eq!(kind.format(id), s.trim());
            }
            prop_assert_eq!(kind.parse(&kind.format(n)), Some(n));
            prop_assert_eq!(kind.parse(&kind.format(0)), None);
        }
    }

    #[test]
    fn units_and_formats_parse_without_panicking(s in text()) {
        if let Some(unit) = Unit::parse(&s) {
            prop_assert_eq!(Unit::parse(unit.name()), Some(unit));
        }
        if let Some(format) = Format::parse(&s) {
            prop_assert_eq!(Format::parse(format.name()), Some(format));
        }
        let once = normalize_category(&s);
        prop_assert_eq!(normalize_category(&once), once.clone());
    }

    #[test]
    fn conversions_never_wrap(amount in int(), unit in select(&Unit::ALL[..]), unit_hours in 1i64..=10_000) {
        let hours = unit.to_hours(Credits(amount));
        let keeps_sign = if amount >= 0 { hours.0 >= 0 } else { hours.0 <= 0 };
        prop_assert!(keeps_sign);
        if let Some(exact) = amount.checked_mul(unit.hours_per_unit().0) {
            prop_assert_eq!(hours, Credits(exact / 100));
        }
        let mut program = Program {
            local_fields: Vec::new(),
            reinstatement: None,
            slug: "p".into(),
            body: "B".into(),
            name: "P".into(),
            cycle_months: 24,
            cycle_anchor: CycleAnchor::Issue,
            ce_window_months: 24,
            ce_window_years_before: 0,
            unit_name: "u".into(),
            unit_hours: Credits(unit_hours),
            required: Credits(100),
            first_cycle_per_month: Credits::ZERO,
            category_minimums: vec![],
            exclusive_categories: false,
            caps: vec![],
            activity_limits: vec![],
            alternatives: vec![],
            accreditation_minimums: vec![],
            grace_days: 0,
            shares_courses: true,
            accepted_accreditations: vec![],
            accreditation_required: false,
            dues: None,
            sources: vec![],
            uncertain: vec![],
            notes: String::new(),
        };
        if amount >= 0 {
            prop_assert!(program.from_hours(Credits(amount)) >= Credits::ZERO);
            prop_assert!(program.to_hours(Credits(amount)) >= Credits::ZERO);
        }
        program.unit_hours = Credits(0);
        prop_assert_eq!(program.from_hours(Credits(amount)), Credits::ZERO);
    }

    #[test]
    fn credits_display_is_exact(amount in any::<i64>()) {
        let shown = Credits(amount).to_string();
        let (sign, digits) = match shown.strip_prefix('-') {
            Some(rest) => (-1i128, rest),
            None => (1, shown.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        prop_assert!(frac.len() <= 2 && !frac.ends_with('0'));
        let frac = format!("{frac:0<2}");
        let value = sign * (whole.parse::<i128>().unwrap() * 100 + frac.parse::<i128>().unwrap());
        prop_assert_eq!(value, i128::from(amount));
    }
}
