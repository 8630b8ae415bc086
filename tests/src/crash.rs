//! The crash test: concurrent writers against the real `recertd`, SIGKILL at a random
//! moment, then check that every acknowledged write survived, nothing unacknowledged is
//! half-applied, indexes agree with records (`recertd check`), and compliance matches a
//! model computed from the acknowledged writes.

use crate::AuthChannel as Channel;
use crate::{Daemon, binary};
use recert_proto::v1 as pb;
use recert_proto::v1::compliance_service_client::ComplianceServiceClient;
use recert_proto::v1::course_service_client::CourseServiceClient;
use recert_proto::v1::credential_service_client::CredentialServiceClient;
use recert_proto::v1::holder_service_client::HolderServiceClient;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The daemon's frozen clock, so compliance is deterministic.
pub const NOW: &str = "2026-11-24T15:00:00Z";
const AS_OF: &str = "2026-11-24";

/// What a course is, as far as the model cares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CourseState {
    title: String,
    credits: i64,
    completed_on: String,
}

/// What the acknowledged writes say the store must hold. `Maybe` entries come from writes
/// that were in flight at the kill: either outcome is allowed, but nothing in between.
#[derive(Debug, Default, Clone)]
struct Model {
    /// course id -> possible states (None = absent).
    courses: BTreeMap<String, Vec<Option<CourseState>>>,
    /// credential id -> possible expiry dates.
    expiries: BTreeMap<String, Vec<String>>,
    acknowledged: u64,
}

/// Figures of a crash run.
#[derive(Debug, Default, Clone, Copy)]
pub struct CrashFigures {
    /// Kill-restart cycles.
    pub cycles: u32,
    /// Writes the daemon acknowledged.
    pub acknowledged: u64,
    /// Acknowledged writes missing or wrong after a restart.
    pub lost: u64,
}

fn course_state(c: &pb::Course) -> CourseState {
    CourseState {
        title: c.title.clone(),
        credits: c.credits_hundredths,
        completed_on: c.completed_on.clone(),
    }
}

/// A channel to the daemon at `url` whose calls carry the data dir's admin token.
async fn connect(url: &str) -> Channel {
    let (url, token) = url.split_once(' ').expect("a url and a token");
    crate::connect_as(url, Some(token)).await
}

/// What the tasks are handed to reach `daemon`: its URL and admin token.
fn target(daemon: &Daemon) -> String {
    format!("{} {}", daemon.url, daemon.admin_token())
}

/// Small deterministic PRNG (xorshift), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One writer: random operations until its connection breaks (the kill). Each record has
/// one writer (its own courses, at most one credential), so the order of acknowledgements is
/// the order of writes to that record.
async fn writer(
    url: String,
    holder: String,
    credential: Option<String>,
    model: Arc<Mutex<Model>>,
    seed: u64,
) {
    let channel = connect(&url).await;
    let mut courses = CourseServiceClient::new(channel.clone());
    let mut creds = CredentialServiceClient::new(channel);
    let mut rng = Rng(seed | 1);
    let mut mine: Vec<String> = Vec::new();
    for step in 0.. {
        let op = rng.below(10);
        let day = 1 + rng.below(28);
        let date = format!("2026-{:02}-{day:02}", 1 + rng.below(10));
        if op < 5 || mine.is_empty() {
            let title = format!("w{seed}-{step}");
            let credits = 25 * (1 + rng.below(16) as i64);
            let req = pb::CreateCourseRequest {
                course: Some(pb::Course {
                    holder_id: holder.clone(),
                    title: title.clone(),
                    credits_hundredths: credits,
                    unit: "hours".into(),
                    completed_on: date.clone(),
                    ..Default::default()
                }),
                allow_duplicate: true,
            };
            match courses.create_course(req).await {
                Ok(reply) => {
                    let c = reply.into_inner();
                    let mut m = model.lock().unwrap();
                    m.courses.insert(c.id.clone(), vec![Some(course_state(&c))]);
                    m.acknowledged += 1;
                    mine.push(c.id);
                }
                // In flight at the kill: it may or may not exist; an unknown id can't be checked
                // by id, so the full listing is checked against the known ones instead.
                Err(_) => return,
            }
        } else if op < 8 {
            let id = mine[rng.below(mine.len() as u64) as usize].clone();
            let credits = 25 * (1 + rng.below(16) as i64);
            let before = model.lock().unwrap().courses[&id].clone();
            let after_state = before
                .last()
                .cloned()
                .flatten()
                .map(|s| CourseState { credits, ..s });
            let req = pb::UpdateCourseRequest {
                id: id.clone(),
                credits_hundredths: Some(credits),
                ..Default::default()
            };
            {
                let mut m = model.lock().unwrap();
                let mut possible = before.clone();
                possible.push(after_state.clone());
                m.courses.insert(id.clone(), possible);
            }
            match courses.update_course(req).await {
                Ok(_) => {
                    let mut m = model.lock().unwrap();
                    m.courses.insert(id, vec![after_state]);
                    m.acknowledged += 1;
                }
                Err(_) => return,
            }
        } else if op < 9 {
            let index = rng.below(mine.len() as u64) as usize;
            let id = mine.swap_remove(index);
            {
                let mut m = model.lock().unwrap();
                m.courses.get_mut(&id).expect("known course").push(None);
            }
            match courses
                .delete_course(pb::DeleteCourseRequest { id: id.clone() })
                .await
            {
                Ok(_) => {
                    let mut m = model.lock().unwrap();
                    m.courses.insert(id, vec![None]);
                    m.acknowledged += 1;
                }
                Err(_) => return,
            }
        } else if let Some(id) = credential.clone() {
            let expires = format!("{}-{:02}-{day:02}", 2027 + rng.below(3), 1 + rng.below(12));
            {
                let mut m = model.lock().unwrap();
                m.expiries
                    .get_mut(&id)
                    .expect("known credential")
                    .push(expires.clone());
            }
            let req = pb::UpdateCredentialRequest {
                id: id.clone(),
                expires_on: Some(expires.clone()),
                ..Default::default()
            };
            match creds.update_credential(req).await {
                Ok(_) => {
                    let mut m = model.lock().unwrap();
                    m.expiries.insert(id, vec![expires]);
                    m.acknowledged += 1;
                }
                Err(_) => return,
            }
        }
    }
}

/// Sets up one holder with three credentials; returns (holder id, credential ids).
async fn setup(url: &str, model: &Mutex<Model>) -> (String, Vec<String>) {
    let channel = connect(url).await;
    let holder = HolderServiceClient::new(channel.clone())
        .create_holder(pb::CreateHolderRequest {
            holder: Some(pb::Holder {
                name: "Crash Test".into(),
                time_zone: "UTC".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("create holder")
        .into_inner();
    let mut ids = Vec::new();
    for (program, expires) in [
        ("nha-cpt", "2027-04-24"),
        ("ascp-pbt", "2028-06-30"),
        ("amt-rpt", "2027-12-31"),
    ] {
        let c = CredentialServiceClient::new(channel.clone())
            .create_credential(pb::CreateCredentialRequest {
                credential: Some(pb::Credential {
                    holder_id: holder.id.clone(),
                    program: program.into(),
                    expires_on: expires.into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create credential")
            .into_inner();
        model
            .lock()
            .unwrap()
            .expiries
            .insert(c.id.clone(), vec![expires.to_string()]);
        ids.push(c.id);
    }
    (holder.id, ids)
}

/// Checks the restarted daemon against the model; resolves uncertain entries to what the
/// store holds (once checked to be allowed). Returns the number of violations.
async fn verify(url: &str, holder: &str, model: &Mutex<Model>) -> u64 {
    let channel = connect(url).await;
    let mut lost = 0;
    let mut listed: BTreeMap<String, CourseState> = BTreeMap::new();
    let mut token = String::new();
    loop {
        let page = CourseServiceClient::new(channel.clone())
            .list_courses(pb::ListCoursesRequest {
                holder_id: holder.into(),
                page_size: 97,
                page_token: token,
            })
            .await
            .expect("list courses")
            .into_inner();
        for c in page.courses {
            listed.insert(c.id.clone(), course_state(&c));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expiries = {
        let mut m = model.lock().unwrap();
        for (id, possible) in m.courses.iter_mut() {
            let actual = listed.remove(id);
            if !possible.contains(&actual) {
                eprintln!("course {id}: found {actual:?}, allowed {possible:?}");
                lost += 1;
            }
            *possible = vec![actual];
        }
        // Courses the model never heard of were created by calls cut off by the kill:
        // allowed, and adopted into the model whole.
        for (id, state) in std::mem::take(&mut listed) {
            m.courses.insert(id, vec![Some(state)]);
        }
        m.expiries.clone()
    };
    let mut creds = CredentialServiceClient::new(channel.clone());
    let mut resolved = BTreeMap::new();
    for (id, possible) in expiries {
        let c = creds
            .get_credential(pb::GetCredentialRequest { id: id.clone() })
            .await
            .expect("get credential")
            .into_inner();
        if !possible.contains(&c.expires_on) {
            eprintln!(
                "credential {id}: expires {}, allowed {possible:?}",
                c.expires_on
            );
            lost += 1;
        }
        resolved.insert(id, vec![c.expires_on]);
    }
    let snapshot = {
        let mut m = model.lock().unwrap();
        m.expiries = resolved;
        m.clone()
    };
    lost + compliance_matches(channel, holder, &snapshot).await
}

/// Compliance from the daemon equals compliance computed by the domain from the model.
async fn compliance_matches(channel: Channel, holder: &str, m: &Model) -> u64 {
    use recertd::domain::{Course, Credential, Credits, Unit, compliance_all};
    let answers = ComplianceServiceClient::new(channel)
        .list_compliance(pb::ListComplianceRequest {
            holder_id: holder.into(),
            as_of: AS_OF.into(),
        })
        .await
        .expect("list compliance")
        .into_inner()
        .compliance;
    let id = |s: &str, prefix: &str| s.trim_start_matches(prefix).parse::<u64>().unwrap();
    let holder_id = id(holder, "h");
    let programs = ["nha-cpt", "ascp-pbt", "amt-rpt"];
    let credentials: Vec<(Credential, recertd::domain::Program)> = m
        .expiries
        .iter()
        .zip(programs)
        .map(|((cid, exp), program)| {
            let c = Credential {
                id: id(cid, "cr"),
                holder_id,
                program: program.into(),
                number: String::new(),
                issued_on: None,
                expires_on: exp[0].parse().unwrap(),
                history: Vec::new(),
                verifications: Vec::new(),
            };
            (c, recertd::catalog::find(program).unwrap().clone())
        })
        .collect();
    let courses: Vec<Course> = m
        .courses
        .iter()
        .filter_map(|(cid, s)| s[0].clone().map(|s| (cid, s)))
        .map(|(cid, s)| Course {
            id: id(cid, "co"),
            holder_id,
            title: s.title,
            provider: String::new(),
            accreditation: String::new(),
            completed_on: s.completed_on.parse().unwrap(),
            amount: Credits(s.credits),
            unit: Unit::Hours,
            categories: Vec::new(),
            format: None,
            credential_ids: Vec::new(),
            evidence: String::new(),
        })
        .collect();
    let expected = compliance_all(&credentials, &courses, AS_OF.parse().unwrap());
    let mut wrong = 0;
    for e in expected {
        let got = answers
            .iter()
            .find(|a| a.credential_id == format!("cr{}", e.credential_id))
            .expect("every credential answered");
        if (got.earned_hundredths, got.remaining_hundredths) != (e.earned.0, e.remaining.0) {
            eprintln!(
                "compliance of cr{}: daemon {got:?}, model {e:?}",
                e.credential_id
            );
            wrong += 1;
        }
    }
    wrong
}

/// `recertd check --json` on the (unlocked) data dir: the problems it reports.
fn offline_check(data: &Path) -> Vec<String> {
    let mut command = std::process::Command::new(binary("recertd"));
    command.args(["check", "--json", "--data-dir"]).arg(data);
    if let Some(base) = crate::postgres_base() {
        command
            .arg("--database-url")
            .arg(crate::database_for(&base, data));
    }
    let out = command.output().expect("run recertd check");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("check output: {}", String::from_utf8_lossy(&out.stderr)));
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_string())
        .collect()
}

/// How each cycle stops the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL: a crash.
    Kill,
    /// SIGTERM: a graceful shutdown under load, which must exit 0.
    Term,
}

/// Runs `cycles` kill-restart cycles with `writers` concurrent writers; panics on any index
/// problem; returns the figures (with `lost` counting model violations).
pub async fn run(data: &Path, cycles: u32, writers: u64, seed: u64) -> CrashFigures {
    run_with(data, cycles, writers, seed, Stop::Kill).await
}

/// [`run`], stopping the daemon the given way.
pub async fn run_with(
    data: &Path,
    cycles: u32,
    writers: u64,
    seed: u64,
    stop: Stop,
) -> CrashFigures {
    let model = Arc::new(Mutex::new(Model::default()));
    let mut daemon = Daemon::start(data, Some(NOW));
    let (holder, credentials) = setup(&target(&daemon), &model).await;
    let mut rng = Rng(seed | 1);
    let mut figures = CrashFigures::default();
    for cycle in 0..cycles {
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                tokio::spawn(writer(
                    target(&daemon),
                    holder.clone(),
                    credentials.get(w as usize).cloned(),
                    model.clone(),
                    seed ^ (u64::from(cycle) << 20) ^ (w + 1),
                ))
            })
            .collect();
        // The random moment of the kill.
        tokio::time::sleep(std::time::Duration::from_millis(30 + rng.below(250))).await;
        match stop {
            Stop::Kill => daemon.kill(),
            Stop::Term => {
                let code = tokio::task::block_in_place(|| daemon.stop());
                assert_eq!(
                    code,
                    Some(0),
                    "cycle {cycle}: SIGTERM under load must exit 0"
                );
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        let problems = offline_check(data);
        assert!(
            problems.is_empty(),
            "cycle {cycle}: indexes disagree with records: {problems:?}"
        );
        daemon = Daemon::start(data, Some(NOW));
        figures.lost += verify(&target(&daemon), &holder, &model).await;
        figures.cycles += 1;
    }
    figures.acknowledged = model.lock().unwrap().acknowledged;
    figures
}
