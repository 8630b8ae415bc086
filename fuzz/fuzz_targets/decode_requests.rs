//! Decodes arbitrary bytes as every `recert.v1` request message, then hands the request that
//! the first byte picks to the real services (conversion, validation, store) and checks that
//! nothing panics and no request is answered with `INTERNAL` or `UNKNOWN`.
//!
//! Streams and anything that could send a message out (channels, test alerts) are only
//! decoded, never called.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
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
use recertd::store::{SledStore as Store, StoreOptions};
use std::sync::{Arc, OnceLock};
use tokio::runtime::Runtime;
use tonic::Code;

/// The services over one store, shared by every input of a fuzzing process.
struct Services {
    holders: HolderApi<Store>,
    programs: ProgramApi<Store>,
    credentials: CredentialApi<Store>,
    courses: CourseApi<Store>,
    compliance: ComplianceApi<Store>,
    alerts: AlertApi<Store>,
    channels: ChannelApi<Store>,
}

/// Declares the requests sent to the services (`Rpc(pb::RpcRequest): service.method`) and
/// those only decoded.
macro_rules! requests {
    (
        called { $($rpc:ident($ty:ty) : $service:ident . $method:ident),* $(,)? }
        decoded { $($only:ty),* $(,)? }
    ) => {
        /// A decoded request of one of the called kinds.
        #[allow(clippy::large_enum_variant)]
        enum Request {
            $($rpc($ty)),*
        }

        /// How many kinds are called.
        const CALLED: usize = [$(stringify!($rpc)),*].len();

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

        /// Decodes `bytes` as every request message; what decodes re-encodes to the same.
        fn decode_every(bytes: &[u8]) {
            $(round_trip::<$ty>(bytes);)*
            $(round_trip::<$only>(bytes);)*
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
    decoded { pb::WatchAlertsRequest, pb::SendTestAlertRequest, pb::CreateChannelRequest }
}

fn round_trip<M: Message + Default + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(message) = M::decode(bytes) {
        let again = M::decode(message.encode_to_vec().as_slice()).expect("re-encoded decodes");
        assert_eq!(again, message);
    }
}

/// The runtime, the services, and the store's directory (left in the temp dir at exit).
struct Fixture {
    runtime: Runtime,
    services: Services,
    _dir: tempfile::TempDir,
}

/// One holder (`h1`, in Chicago), one credential (`cr1`) and one course (`co1`), made on the
/// first input.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::Builder::new()
            .prefix("recert-fuzz-")
            .tempdir()
            .unwrap();
        let services = runtime.block_on(async {
            let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
            let clock = Arc::new(ManualClock::new("2026-06-01T12:00:00Z".parse().unwrap()));
            let engine = AlertEngine::new(store.clone(), clock.clone(), &AlertConfig::default())
                .map_err(|e| e.to_string())
                .unwrap();
            let api = Api::new(store, clock, engine);
            let services = Services {
                holders: HolderApi(api.clone()),
                programs: ProgramApi(api.clone()),
                credentials: CredentialApi(api.clone()),
                courses: CourseApi(api.clone()),
                compliance: ComplianceApi(api.clone()),
                alerts: AlertApi {
                    api: api.clone(),
                    shutdown: tokio_util::sync::CancellationToken::new(),
                },
                channels: ChannelApi(api),
            };
            let seed = [
                Request::CreateHolder(pb::CreateHolderRequest {
                    holder: Some(pb::Holder {
                        name: "Ana Ruiz".into(),
                        time_zone: "America/Chicago".into(),
                        ..Default::default()
                    }),
                }),
                Request::CreateCredential(pb::CreateCredentialRequest {
                    credential: Some(pb::Credential {
                        holder_id: "h1".into(),
                        program: "nha-cpt".into(),
                        expires_on: "2027-01-01".into(),
                        ..Default::default()
                    }),
                }),
                Request::CreateCourse(pb::CreateCourseRequest {
                    course: Some(pb::Course {
                        holder_id: "h1".into(),
                        title: "Venipuncture safety".into(),
                        completed_on: "2026-03-01".into(),
                        credits_hundredths: 300,
                        ..Default::default()
                    }),
                    allow_duplicate: false,
                }),
            ];
            for request in seed {
                call(&services, request).await.unwrap();
            }
            services
        });
        Fixture {
            runtime,
            services,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    decode_every(bytes);
    let Some(request) = decode_called(usize::from(selector) % CALLED, bytes) else {
        return;
    };
    let fixture = fixture();
    if let Err(status) = fixture.runtime.block_on(call(&fixture.services, request)) {
        assert!(
            !matches!(status.code(), Code::Internal | Code::Unknown),
            "{status:?}"
        );
    }
});
