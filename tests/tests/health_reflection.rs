//! The standard gRPC side services of the real `recertd`: health checking answers SERVING
//! for the server and every recert service, and server reflection (v1) lists the services
//! and serves the descriptor of the `recert.v1` types.

use prost::Message;
use prost_types::FileDescriptorProto;
use recert_tests::AuthChannel as Channel;
use recert_tests::Daemon;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

/// The recert services every client may call.
const RECERT_SERVICES: [&str; 5] = [
    "recert.v1.HolderService",
    "recert.v1.ProgramService",
    "recert.v1.CredentialService",
    "recert.v1.CourseService",
    "recert.v1.ComplianceService",
];

async fn channel(daemon: &Daemon) -> Channel {
    daemon.channel().await
}

/// Sends one reflection request on its own stream and returns the one answer.
///
/// tonic-reflection ends the stream with a status where the protocol has an
/// `ErrorResponse` message, so errors come back as either; both are turned into a status.
async fn reflect(channel: &Channel, request: MessageRequest) -> Result<MessageResponse, Status> {
    let mut client = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection stream opens")
        .into_inner();
    let answer: ServerReflectionResponse = answers.message().await?.expect("one reflection answer");
    match answer
        .message_response
        .expect("reflection answer has a body")
    {
        MessageResponse::ErrorResponse(e) => Err(Status::new(e.error_code.into(), e.error_message)),
        other => Ok(other),
    }
}

#[tokio::test]
async fn health_reports_serving_for_the_server_and_each_service() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&tmp.path().join("data"), None);
    let mut health = HealthClient::new(channel(&daemon).await);

    for service in std::iter::once("").chain(RECERT_SERVICES) {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .unwrap_or_else(|s| panic!("health check of {service:?} failed: {s}"))
            .into_inner();
        assert_eq!(
            answer.status(),
            ServingStatus::Serving,
            "health of {service:?}"
        );
    }

    let unknown = health
        .check(HealthCheckRequest {
            service: "recert.v1.NoSuchService".into(),
        })
        .await
        .expect_err("an unknown service has no health");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
}

#[tokio::test]
async fn reflection_lists_every_service() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&tmp.path().join("data"), None);
    let channel = channel(&daemon).await;

    let Ok(MessageResponse::ListServicesResponse(list)) =
        reflect(&channel, MessageRequest::ListServices(String::new())).await
    else {
        panic!("list_services answered with something else");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in RECERT_SERVICES.into_iter().chain([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ]) {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn reflection_resolves_the_file_of_a_recert_message() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&tmp.path().join("data"), None);
    let channel = channel(&daemon).await;

    let Ok(MessageResponse::FileDescriptorResponse(files)) = reflect(
        &channel,
        MessageRequest::FileContainingSymbol("recert.v1.Course".into()),
    )
    .await
    else {
        panic!("file_containing_symbol answered with something else");
    };
    let files: Vec<FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).expect("a file descriptor"))
        .collect();
    let course_file = files
        .iter()
        .find(|f| f.package() == "recert.v1" && f.message_type.iter().any(|m| m.name() == "Course"))
        .unwrap_or_else(|| {
            let names: Vec<&str> = files.iter().map(FileDescriptorProto::name).collect();
            panic!("no file defines recert.v1.Course among {names:?}")
        });
    let service = course_file
        .service
        .iter()
        .find(|s| s.name() == "CourseService")
        .expect("the file of Course also defines CourseService");
    let methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    assert_eq!(
        methods,
        [
            "GetCourse",
            "ListCourses",
            "CreateCourse",
            "CreateCourses",
            "UpdateCourse",
            "DeleteCourse"
        ]
    );

    let unknown = reflect(
        &channel,
        MessageRequest::FileContainingSymbol("recert.v1.NoSuchMessage".into()),
    )
    .await
    .expect_err("an unknown symbol has no file");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
}
