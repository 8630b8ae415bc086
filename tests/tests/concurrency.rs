//! Concurrent writers against the real `recertd`: every acknowledged course is listed
//! (through small pages) with unique ids and survives SIGKILL, and racing creates that
//! conflict admit exactly one winner.

use recert_proto::v1 as pb;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use recert_tests::AuthChannel as Channel;
use recert_tests::Daemon;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use tokio::sync::Barrier;
use tonic::Code;

/// The daemon's frozen clock, so course dates are never "in the future".
const NOW: &str = "2026-06-15T12:00:00Z";

async fn connect(daemon: &Daemon) -> Channel {
    daemon.channel().await
}

async fn create_holder(channel: &Channel, name: &str) -> pb::Holder {
    HolderServiceClient::new(channel.clone())
        .create_holder(pb::CreateHolderRequest {
            holder: Some(pb::Holder {
                name: name.into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_or_else(|s| panic!("create holder {name}: {s}"))
        .into_inner()
}

/// Every course of `holder`, id to title, read `page_size` at a time; asserts that pages
/// respect the size and that no course appears twice.
async fn list_courses(channel: &Channel, holder: &str, page_size: i32) -> BTreeMap<String, String> {
    let mut client = CourseServiceClient::new(channel.clone());
    let mut courses = BTreeMap::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_courses(pb::ListCoursesRequest {
                holder_id: holder.into(),
                page_size,
                page_token: token,
            })
            .await
            .unwrap_or_else(|s| panic!("list courses of {holder}: {s}"))
            .into_inner();
        pages += 1;
        assert!(
            page.courses.len() <= usize::try_from(page_size).unwrap(),
            "page {pages} of {holder} holds {} courses",
            page.courses.len()
        );
        for course in page.courses {
            assert_eq!(course.holder_id, holder);
            let id = course.id.clone();
            assert!(
                courses.insert(course.id, course.title).is_none(),
                "{id} listed twice for {holder}"
            );
        }
        token = page.next_page_token;
        if token.is_empty() {
            return courses;
        }
        assert!(pages <= 1000, "paging of {holder} does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_course_is_listed_and_survives_sigkill() {
    const TASKS: usize = 16;
    const PER_TASK: usize = 25;
    const PAGE: i32 = 7;

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut daemon = Daemon::start(&data, Some(NOW));
    let channel = connect(&daemon).await;
    let mut holders = Vec::new();
    for name in ["Ana Ruiz", "Ben Okafor", "Cy Lee"] {
        holders.push(create_holder(&channel, name).await.id);
    }

    // Each task is its own client on its own connection; all start together.
    let start = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let holders = holders.clone();
        let start = Arc::clone(&start);
        let url = daemon.url.clone();
        let token = daemon.admin_token();
        tasks.push(tokio::spawn(async move {
            let channel = recert_tests::connect_as(&url, Some(&token)).await;
            let mut client = CourseServiceClient::new(channel);
            start.wait().await;
            let mut acknowledged = Vec::new();
            for n in 0..PER_TASK {
                let holder = &holders[(task + n) % holders.len()];
                let title = format!("task {task:02} course {n:02}");
                let course = client
                    .create_course(pb::CreateCourseRequest {
                        course: Some(pb::Course {
                            holder_id: holder.clone(),
                            title: title.clone(),
                            completed_on: "2026-05-01".into(),
                            credits_hundredths: 100 + i64::try_from(n).unwrap(),
                            ..Default::default()
                        }),
                        allow_duplicate: false,
                    })
                    .await
                    .unwrap_or_else(|s| panic!("{title}: {s}"))
                    .into_inner();
                assert_eq!((&course.holder_id, &course.title), (holder, &title));
                acknowledged.push(course);
            }
            acknowledged
        }));
    }
    let mut expected: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut ids = HashSet::new();
    for task in tasks {
        for course in task.await.expect("writer task") {
            assert!(
                ids.insert(course.id.clone()),
                "id {} handed out twice",
                course.id
            );
            expected
                .entry(course.holder_id)
                .or_default()
                .insert(course.id, course.title);
        }
    }
    assert_eq!(ids.len(), TASKS * PER_TASK);
    assert_eq!(expected.len(), holders.len());

    for holder in &holders {
        let listed = list_courses(&channel, holder, PAGE).await;
        assert_eq!(&listed, &expected[holder], "courses of {holder} as listed");
    }

    // Acknowledged means durable: a SIGKILL right after loses nothing.
    daemon.kill();
    let daemon = Daemon::start(&data, Some(NOW));
    let channel = connect(&daemon).await;
    for holder in &holders {
        let listed = list_courses(&channel, holder, PAGE).await;
        assert_eq!(
            &listed, &expected[holder],
            "courses of {holder} after SIGKILL"
        );
    }
    let next = CourseServiceClient::new(channel.clone())
        .create_course(pb::CreateCourseRequest {
            course: Some(pb::Course {
                holder_id: holders[0].clone(),
                title: "after the restart".into(),
                credits_hundredths: 100,
                ..Default::default()
            }),
            allow_duplicate: false,
        })
        .await
        .expect("create after restart")
        .into_inner();
    assert!(!ids.contains(&next.id), "{} was handed out again", next.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_credential_admit_exactly_one() {
    const RACERS: usize = 8;

    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&tmp.path().join("data"), Some(NOW));
    let channel = connect(&daemon).await;
    let holder = create_holder(&channel, "Ana Ruiz").await.id;

    let start = Arc::new(Barrier::new(RACERS));
    let mut racers = Vec::new();
    for racer in 0..RACERS {
        let start = Arc::clone(&start);
        let url = daemon.url.clone();
        let token = daemon.admin_token();
        let holder = holder.clone();
        racers.push(tokio::spawn(async move {
            let channel = recert_tests::connect_as(&url, Some(&token)).await;
            let mut client = CredentialServiceClient::new(channel);
            start.wait().await;
            client
                .create_credential(pb::CreateCredentialRequest {
                    credential: Some(pb::Credential {
                        holder_id: holder,
                        program: "nha-cpt".into(),
                        number: format!("racer {racer}"),
                        expires_on: "2027-03-31".into(),
                        ..Default::default()
                    }),
                })
                .await
                .map(tonic::Response::into_inner)
        }));
    }
    let mut winners = Vec::new();
    for racer in racers {
        match racer.await.expect("racer task") {
            Ok(credential) => winners.push(credential),
            Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");

    let listed = CredentialServiceClient::new(channel)
        .list_credentials(pb::ListCredentialsRequest {
            holder_id: holder,
            ..Default::default()
        })
        .await
        .expect("list credentials")
        .into_inner();
    assert_eq!(listed.credentials, winners);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_holders_leave_exactly_one_default() {
    const RACERS: usize = 8;

    let tmp = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&tmp.path().join("data"), Some(NOW));
    let channel = connect(&daemon).await;

    let start = Arc::new(Barrier::new(RACERS));
    let mut racers = Vec::new();
    for racer in 0..RACERS {
        let start = Arc::clone(&start);
        let url = daemon.url.clone();
        let token = daemon.admin_token();
        racers.push(tokio::spawn(async move {
            let channel = recert_tests::connect_as(&url, Some(&token)).await;
            start.wait().await;
            create_holder(&channel, &format!("Holder {racer}")).await
        }));
    }
    let mut created = Vec::new();
    for racer in racers {
        created.push(racer.await.expect("racer task"));
    }

    let listed = HolderServiceClient::new(channel.clone())
        .list_holders(pb::ListHoldersRequest::default())
        .await
        .expect("list holders")
        .into_inner()
        .holders;
    assert_eq!(listed.len(), RACERS);
    let defaults: Vec<&pb::Holder> = listed.iter().filter(|h| h.is_default).collect();
    assert_eq!(defaults.len(), 1, "defaults: {defaults:?}");
    let default = HolderServiceClient::new(channel)
        .get_holder(pb::GetHolderRequest {
            id: "default".into(),
        })
        .await
        .expect("get the default holder")
        .into_inner();
    assert_eq!(&default, defaults[0]);
    let ids: HashSet<&str> = created.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids.len(), RACERS, "ids handed out twice: {created:?}");
}

/// Issue 13: the twin check ran before the write, outside the lock, so identical courses
/// logged at the same instant could all pass it. Now exactly one is logged, every other is
/// ALREADY_EXISTS naming it, and `allow_duplicate` still logs the same course again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_courses_logged_at_the_same_instant_are_logged_once() {
    const RACERS: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&dir.path().join("data"), Some(NOW));
    let channel = connect(&daemon).await;
    let holder = create_holder(&channel, "Dana").await.id;
    let new = |allow_duplicate| pb::CreateCourseRequest {
        course: Some(pb::Course {
            holder_id: holder.clone(),
            title: "Order of Draw".into(),
            completed_on: "2026-05-01".into(),
            credits_hundredths: 150,
            ..Default::default()
        }),
        allow_duplicate,
    };
    for round in 0..3 {
        let barrier = Arc::new(Barrier::new(RACERS));
        let tasks: Vec<_> = (0..RACERS)
            .map(|_| {
                let (channel, barrier, request) = (channel.clone(), barrier.clone(), new(false));
                tokio::spawn(async move {
                    let mut client = CourseServiceClient::new(channel);
                    barrier.wait().await;
                    client.create_course(request).await
                })
            })
            .collect();
        let mut logged = Vec::new();
        let mut refused = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(course) => logged.push(course.into_inner().id),
                Err(status) => {
                    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
                    refused.push(status.message().to_string());
                }
            }
        }
        let expected = usize::from(round == 0);
        assert_eq!(logged.len(), expected, "round {round}: {logged:?}");
        let first = list_courses(&channel, &holder, 100).await;
        assert_eq!(first.len(), 1, "one course stored: {first:?}");
        let id = first.keys().next().unwrap();
        assert!(
            refused
                .iter()
                .all(|m| m.contains(&format!("looks like {id} "))),
            "{refused:?}"
        );
    }
    // Another holder's identical course, logged at once, is no twin (the bench caught the
    // batch check comparing across holders).
    let ben = create_holder(&channel, "Ben").await.id;
    let barrier = Arc::new(Barrier::new(2));
    let both: Vec<_> = [holder.clone(), ben.clone()]
        .into_iter()
        .map(|h| {
            let (channel, barrier) = (channel.clone(), barrier.clone());
            let mut request = new(false);
            request.course.as_mut().unwrap().holder_id = h;
            request.course.as_mut().unwrap().title = "Sharps safety".into();
            tokio::spawn(async move {
                barrier.wait().await;
                CourseServiceClient::new(channel)
                    .create_course(request)
                    .await
            })
        })
        .collect();
    for task in both {
        task.await.unwrap().expect("one each, no twin");
    }
    let again = CourseServiceClient::new(channel.clone())
        .create_course(new(true))
        .await
        .expect("allow_duplicate logs it again");
    assert_ne!(again.get_ref().id, "");
    assert_eq!(list_courses(&channel, &holder, 100).await.len(), 3);
    assert_eq!(list_courses(&channel, &ben, 100).await.len(), 1);
}
