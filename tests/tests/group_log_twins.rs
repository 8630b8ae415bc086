//! Issue 14.3: the twin check of a group course log (CreateCourses) ran in the service,
//! outside the write, so identical group logs sent at the same instant could all pass it and
//! log the course twice for everyone. It runs in the store's write now (sled: under the
//! write lock the course batches take; PostgreSQL: after locking the holders' rows), so
//! each holder ends with one course.

use recert_proto::v1 as pb;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_tests::Daemon;
use std::sync::Arc;
use tokio::sync::Barrier;
use tonic::Code;

/// The in-service every request logs.
fn in_service(holders: &[&str]) -> pb::CreateCoursesRequest {
    pb::CreateCoursesRequest {
        course: Some(pb::Course {
            title: "Annual bloodborne pathogens".into(),
            completed_on: "2026-06-01".into(),
            credits_hundredths: 100,
            unit: "hours".into(),
            ..Default::default()
        }),
        holder_ids: holders.iter().map(|h| (*h).to_owned()).collect(),
        ..Default::default()
    }
}

/// The number of courses `holder` has, through the CLI.
fn courses_of(d: &Daemon, holder: &str) -> usize {
    d.json(&["--holder", holder, "course", "list"])
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_group_logs_at_the_same_instant_give_one_course_each() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some("2026-06-15T12:00:00Z"));
    let mut ids = Vec::new();
    for name in ["Dana", "Sam", "Ben"] {
        let h = d.json(&["holder", "add", name, "--tz", "UTC"]);
        ids.push(h["id"].as_str().unwrap().to_owned());
    }
    let (h1, h2, h3) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    // More people in each log widen the time between a check and its write.
    let mut crowd = Vec::new();
    for i in 0..24 {
        let h = d.json(&["holder", "add", &format!("Tech {i}"), "--tz", "UTC"]);
        crowd.push(h["id"].as_str().unwrap().to_owned());
    }

    const SENDERS: usize = 24;
    let barrier = Arc::new(Barrier::new(SENDERS));
    let mut tasks = Vec::new();
    for i in 0..SENDERS {
        let channel = d.channel().await;
        let barrier = barrier.clone();
        // Half log it for Dana and Sam, half for Sam and Ben: Sam's twin check is shared,
        // and the two kinds lock overlapping holders.
        let mut names: Vec<&str> = crowd.iter().map(String::as_str).collect();
        if i % 2 == 0 {
            names.extend([h1.as_str(), h2.as_str()]);
        } else {
            names.extend([h3.as_str(), h2.as_str()]);
            names.reverse();
        }
        let request = in_service(&names);
        tasks.push(tokio::spawn(async move {
            let mut courses = CourseServiceClient::new(channel);
            barrier.wait().await;
            courses
                .create_courses(request)
                .await
                .map(|r| r.into_inner().courses.len())
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(n) => {
                assert_eq!(n, 26);
                created += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
                assert!(
                    status.message().contains(" (h"),
                    "the refusal names the holder: {status:?}"
                );
                assert!(status.message().contains("allow_duplicate"), "{status:?}");
            }
        }
    }
    // Sam is in every log: exactly one of them went through.
    assert_eq!(created, 1);
    assert_eq!(courses_of(&d, &h2), 1);
    assert_eq!(courses_of(&d, &h1) + courses_of(&d, &h3), 1);
    for h in &crowd {
        assert_eq!(courses_of(&d, h), 1, "{h}");
    }

    // With allow_duplicate the same log goes through, for everyone.
    let mut courses = CourseServiceClient::new(d.channel().await);
    let mut again = in_service(&[&h1, &h2, &h3]);
    again.allow_duplicate = true;
    let made = courses.create_courses(again).await.unwrap().into_inner();
    assert_eq!(made.courses.len(), 3);
    assert_eq!(courses_of(&d, &h2), 2);
}
