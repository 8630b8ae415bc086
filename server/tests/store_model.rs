//! Model-based test of the store: random sequences of creates, updates and deletes (with
//! references that may or may not exist) applied to a real store and to a map model, which
//! must agree after every step and again after the store is reopened.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use proptest::prelude::*;
use proptest::sample::select;
use recertd::domain::{
    Alert, AlertSubject, Course, Credential, Credits, DedupeKey, Holder, Mark, PastCycle, Unit,
};
use recertd::store::{
    BatchReads, Conflict, Outbox, PgOptions, PgStore, Records, Scheduler, SledStore, Store,
    StoreError, StoreOptions,
};
use std::collections::BTreeMap;
use std::path::Path;

const PROGRAMS: [&str; 3] = ["nha-cpt", "ascp-pbt", "ca-cpt1"];
const ZONES: [&str; 3] = ["UTC", "America/Chicago", "Europe/Paris"];

fn day(offset: i32) -> Date {
    date(2025, 1, 1).checked_add(offset.days()).unwrap()
}

/// A reference to a record: resolved against the model, so that it names an existing record
/// (three times in four, when there is one), or any id handed out so far, one never handed
/// out, or the never-valid id 0.
#[derive(Debug, Clone, Copy)]
struct Ref(u8);

impl Ref {
    fn resolve<T>(self, existing: &BTreeMap<u64, T>, next: u64) -> u64 {
        let n = usize::from(self.0);
        if n % 4 != 0 && !existing.is_empty() {
            *existing.keys().nth(n / 4 % existing.len()).unwrap()
        } else {
            u64::from(self.0) % (next + 2)
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    CreateHolder {
        name: String,
        zone: &'static str,
    },
    UpdateHolder {
        holder: Ref,
        name: String,
        zone: &'static str,
        make_default: bool,
    },
    DeleteHolder {
        holder: Ref,
        force: bool,
    },
    CreateCredential {
        holder: Ref,
        program: &'static str,
        issued: Option<i32>,
        expires: i32,
    },
    UpdateCredential {
        credential: Ref,
        number: String,
        expires: i32,
        renewed: bool,
        other_holder: Option<Ref>,
        other_program: Option<&'static str>,
    },
    DeleteCredential {
        credential: Ref,
    },
    CreateCourse {
        holder: Ref,
        completed: i32,
        amount: i64,
        pins: Vec<Ref>,
    },
    UpdateCourse {
        course: Ref,
        title: String,
        pins: Vec<Ref>,
        other_holder: Option<Ref>,
    },
    DeleteCourse {
        course: Ref,
    },
}

fn reference() -> impl Strategy<Value = Ref> {
    any::<u8>().prop_map(Ref)
}

fn op() -> impl Strategy<Value = Op> {
    let name = select(vec!["Ana", "Lee", "Kim", "Dana"]).prop_map(String::from);
    let zone = select(&ZONES[..]);
    let program = select(&PROGRAMS[..]);
    prop_oneof![
        3 => (name.clone(), zone.clone()).prop_map(|(name, zone)| Op::CreateHolder { name, zone }),
        1 => (reference(), name.clone(), zone, any::<bool>()).prop_map(
            |(holder, name, zone, make_default)| Op::UpdateHolder { holder, name, zone, make_default }
        ),
        1 => (reference(), any::<bool>())
            .prop_map(|(holder, force)| Op::DeleteHolder { holder, force }),
        4 => (reference(), program.clone(), proptest::option::of(-800i32..0), 0i32..1500).prop_map(
            |(holder, program, issued, expires)| Op::CreateCredential { holder, program, issued, expires }
        ),
        2 => (
            reference(),
            name.clone(),
            0i32..1500,
            any::<bool>(),
            proptest::option::weighted(0.2, reference()),
            proptest::option::weighted(0.2, program),
        )
            .prop_map(|(credential, number, expires, renewed, other_holder, other_program)| {
                Op::UpdateCredential { credential, number, expires, renewed, other_holder, other_program }
            }),
        1 => reference().prop_map(|credential| Op::DeleteCredential { credential }),
        4 => (reference(), -800i32..400, 1i64..5000, proptest::collection::vec(reference(), 0..=2))
            .prop_map(|(holder, completed, amount, pins)| Op::CreateCourse { holder, completed, amount, pins }),
        2 => (
            reference(),
            name,
            proptest::collection::vec(reference(), 0..=2),
            proptest::option::weighted(0.2, reference()),
        )
            .prop_map(|(course, title, pins, other_holder)| Op::UpdateCourse { course, title, pins, other_holder }),
        1 => reference().prop_map(|course| Op::DeleteCourse { course }),
    ]
}

/// What a refused operation is refused as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    NotFound,
    AlreadyExists,
    FailedPrecondition,
}

fn refusal(e: &StoreError) -> Option<Refusal> {
    match e {
        StoreError::NotFound { .. } => Some(Refusal::NotFound),
        StoreError::Conflict(
            Conflict::CredentialHeld { .. }
            | Conflict::ChannelExists { .. }
            | Conflict::ProgramExists(_),
        ) => Some(Refusal::AlreadyExists),
        StoreError::Conflict(_) => Some(Refusal::FailedPrecondition),
        _ => None,
    }
}

/// The model: plain maps, and the next id of each kind (ids are never reused).
#[derive(Debug, Clone)]
struct Model {
    holders: BTreeMap<u64, Holder>,
    credentials: BTreeMap<u64, Credential>,
    courses: BTreeMap<u64, Course>,
    next_holder: u64,
    next_credential: u64,
    next_course: u64,
    default_holder: Option<u64>,
}

impl Model {
    fn new() -> Self {
        Model {
            holders: BTreeMap::new(),
            credentials: BTreeMap::new(),
            courses: BTreeMap::new(),
            next_holder: 1,
            next_credential: 1,
            next_course: 1,
            default_holder: None,
        }
    }

    fn credentials_of(&self, holder: u64) -> Vec<Credential> {
        self.credentials
            .values()
            .filter(|c| c.holder_id == holder)
            .cloned()
            .collect()
    }

    fn courses_of(&self, holder: u64) -> Vec<Course> {
        self.courses
            .values()
            .filter(|c| c.holder_id == holder)
            .cloned()
            .collect()
    }

    fn expiring(&self, from: Date, to: Date) -> Vec<Credential> {
        let mut found: Vec<Credential> = self
            .credentials
            .values()
            .filter(|c| from <= c.expires_on && c.expires_on <= to)
            .cloned()
            .collect();
        found.sort_by_key(|c| (c.expires_on, c.id));
        found
    }

    fn check_pins(&self, holder_id: u64, pins: &[u64]) -> Result<(), Refusal> {
        for pin in pins {
            match self.credentials.get(pin) {
                None => return Err(Refusal::NotFound),
                Some(c) if c.holder_id != holder_id => return Err(Refusal::FailedPrecondition),
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// One operation with its references resolved, ready for both sides.
#[derive(Debug, Clone)]
enum Step {
    CreateHolder(Holder),
    UpdateHolder(Holder, bool),
    DeleteHolder(u64, bool),
    CreateCredential(Credential),
    UpdateCredential(Credential),
    DeleteCredential(u64),
    CreateCourse(Course),
    UpdateCourse(Course),
    DeleteCourse(u64),
}

/// Turns `op` into a concrete step. Updates start from the model's record when there is one
/// (as the API does: read, change, write), else from a made-up record with that id.
fn resolve(op: &Op, model: &Model) -> Step {
    let holder_ref = |r: Ref| r.resolve(&model.holders, model.next_holder);
    let credential_ref = |r: Ref| r.resolve(&model.credentials, model.next_credential);
    let course_ref = |r: Ref| r.resolve(&model.courses, model.next_course);
    match op.clone() {
        Op::CreateHolder { name, zone } => Step::CreateHolder(Holder {
            id: 0,
            name,
            email: String::new(),
            time_zone: zone.into(),
            hired_on: None,
            competencies: Vec::new(),
        }),
        Op::UpdateHolder {
            holder,
            name,
            zone,
            make_default,
        } => {
            let id = holder_ref(holder);
            let mut h = model.holders.get(&id).cloned().unwrap_or(Holder {
                id,
                name: String::new(),
                email: String::new(),
                time_zone: "UTC".into(),
                hired_on: None,
                competencies: Vec::new(),
            });
            h.name = name;
            h.email = format!("{}@example.org", h.name.to_lowercase());
            h.time_zone = zone.into();
            Step::UpdateHolder(h, make_default)
        }
        Op::DeleteHolder { holder, force } => Step::DeleteHolder(holder_ref(holder), force),
        Op::CreateCredential {
            holder,
            program,
            issued,
            expires,
        } => Step::CreateCredential(Credential {
            id: 0,
            holder_id: holder_ref(holder),
            program: program.into(),
            number: String::new(),
            issued_on: issued.map(|i| day(expires + i)),
            expires_on: day(expires),
            history: vec![],
            verifications: Vec::new(),
        }),
        Op::UpdateCredential {
            credential,
            number,
            expires,
            renewed,
            other_holder,
            other_program,
        } => {
            let id = credential_ref(credential);
            let mut c = model.credentials.get(&id).cloned().unwrap_or(Credential {
                id,
                holder_id: 1,
                program: PROGRAMS[0].into(),
                number: String::new(),
                issued_on: None,
                expires_on: day(0),
                history: vec![],
                verifications: Vec::new(),
            });
            if renewed {
                c.history.push(PastCycle {
                    issued_on: c.issued_on,
                    expires_on: c.expires_on,
                    renewed_on: day(expires - 10),
                    outcome: None,
                });
                c.issued_on = Some(c.expires_on);
            }
            c.number = number;
            c.expires_on = day(expires);
            if let Some(h) = other_holder {
                c.holder_id = holder_ref(h);
            }
            if let Some(p) = other_program {
                c.program = p.into();
            }
            Step::UpdateCredential(c)
        }
        Op::DeleteCredential { credential } => Step::DeleteCredential(credential_ref(credential)),
        Op::CreateCourse {
            holder,
            completed,
            amount,
            pins,
        } => Step::CreateCourse(Course {
            id: 0,
            holder_id: holder_ref(holder),
            title: "Course".into(),
            provider: "Provider".into(),
            accreditation: String::new(),
            completed_on: day(completed),
            amount: Credits(amount),
            unit: Unit::ALL[(amount % 6) as usize],
            categories: vec!["safety".into()],
            format: None,
            credential_ids: pins.into_iter().map(credential_ref).collect(),
            evidence: String::new(),
        }),
        Op::UpdateCourse {
            course,
            title,
            pins,
            other_holder,
        } => {
            let id = course_ref(course);
            let mut c = model.courses.get(&id).cloned().unwrap_or(Course {
                id,
                holder_id: 1,
                title: String::new(),
                provider: String::new(),
                accreditation: String::new(),
                completed_on: day(0),
                amount: Credits(100),
                unit: Unit::Hours,
                categories: vec![],
                format: None,
                credential_ids: vec![],
                evidence: String::new(),
            });
            c.title = title;
            c.credential_ids = pins.into_iter().map(credential_ref).collect();
            if let Some(h) = other_holder {
                c.holder_id = holder_ref(h);
            }
            Step::UpdateCourse(c)
        }
        Op::DeleteCourse { course } => Step::DeleteCourse(course_ref(course)),
    }
}

/// Applies `step` to the model; on refusal the model is left as it was.
fn apply_model(model: &mut Model, step: &Step) -> Result<u64, Refusal> {
    match step {
        Step::CreateHolder(h) => {
            let id = model.next_holder;
            model.next_holder += 1;
            model.holders.insert(id, Holder { id, ..h.clone() });
            model.default_holder.get_or_insert(id);
            Ok(id)
        }
        Step::UpdateHolder(h, make_default) => {
            if !model.holders.contains_key(&h.id) {
                return Err(Refusal::NotFound);
            }
            model.holders.insert(h.id, h.clone());
            if *make_default {
                model.default_holder = Some(h.id);
            }
            Ok(h.id)
        }
        Step::DeleteHolder(id, force) => {
            if !model.holders.contains_key(id) {
                return Err(Refusal::NotFound);
            }
            let has_records =
                !model.credentials_of(*id).is_empty() || !model.courses_of(*id).is_empty();
            if has_records && !force {
                return Err(Refusal::FailedPrecondition);
            }
            model.holders.remove(id);
            model.credentials.retain(|_, c| c.holder_id != *id);
            model.courses.retain(|_, c| c.holder_id != *id);
            if model.default_holder == Some(*id) {
                model.default_holder = model.holders.keys().next().copied();
            }
            Ok(*id)
        }
        Step::CreateCredential(c) => {
            if !model.holders.contains_key(&c.holder_id) {
                return Err(Refusal::NotFound);
            }
            if model
                .credentials_of(c.holder_id)
                .iter()
                .any(|held| held.program == c.program)
            {
                return Err(Refusal::AlreadyExists);
            }
            let id = model.next_credential;
            model.next_credential += 1;
            model.credentials.insert(id, Credential { id, ..c.clone() });
            Ok(id)
        }
        Step::UpdateCredential(c) => {
            let old = model.credentials.get(&c.id).ok_or(Refusal::NotFound)?;
            if old.holder_id != c.holder_id || old.program != c.program {
                return Err(Refusal::FailedPrecondition);
            }
            model.credentials.insert(c.id, c.clone());
            Ok(c.id)
        }
        Step::DeleteCredential(id) => {
            model.credentials.remove(id).ok_or(Refusal::NotFound)?;
            for course in model.courses.values_mut() {
                course.credential_ids.retain(|pin| pin != id);
            }
            Ok(*id)
        }
        Step::CreateCourse(c) => {
            if !model.holders.contains_key(&c.holder_id) {
                return Err(Refusal::NotFound);
            }
            model.check_pins(c.holder_id, &c.credential_ids)?;
            let id = model.next_course;
            model.next_course += 1;
            model.courses.insert(id, Course { id, ..c.clone() });
            Ok(id)
        }
        Step::UpdateCourse(c) => {
            let old = model.courses.get(&c.id).ok_or(Refusal::NotFound)?;
            if old.holder_id != c.holder_id {
                return Err(Refusal::FailedPrecondition);
            }
            model.check_pins(c.holder_id, &c.credential_ids)?;
            model.courses.insert(c.id, c.clone());
            Ok(c.id)
        }
        Step::DeleteCourse(id) => {
            model.courses.remove(id).ok_or(Refusal::NotFound)?;
            Ok(*id)
        }
    }
}

/// Applies `step` to the store; returns the id written, or how it was refused.
async fn apply_store<S: Records>(
    store: &S,
    step: &Step,
) -> Result<Result<u64, Refusal>, StoreError> {
    let result = match step.clone() {
        Step::CreateHolder(h) => store.create_holder(h).await.map(|h| h.id),
        Step::UpdateHolder(h, d) => store.update_holder(h, d).await.map(|h| h.id),
        Step::DeleteHolder(id, force) => store.delete_holder(id, force).await.map(|()| id),
        Step::CreateCredential(c) => store.create_credential(c).await.map(|c| c.id),
        Step::UpdateCredential(c) => store.update_credential(c).await.map(|c| c.id),
        Step::DeleteCredential(id) => store.delete_credential(id).await.map(|()| id),
        Step::CreateCourse(c) => store.create_course(c).await.map(|c| c.id),
        Step::UpdateCourse(c) => store.update_course(c).await.map(|c| c.id),
        Step::DeleteCourse(id) => store.delete_course(id).await.map(|()| id),
    };
    match result {
        Ok(id) => Ok(Ok(id)),
        Err(e) => match refusal(&e) {
            Some(r) => Ok(Err(r)),
            None => Err(e),
        },
    }
}

/// Everything the store answers, compared with the model. Returns a description of the
/// first difference.
async fn compare<S: BatchReads>(store: &S, model: &Model) -> Result<(), String> {
    fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
        if got == want {
            Ok(())
        } else {
            Err(format!("{what}: store has {got:?}, model has {want:?}"))
        }
    }
    let err = |e: StoreError| e.to_string();
    for id in 0..=model.next_holder {
        same(
            &format!("holder {id}"),
            store.holder(id).await.ok(),
            model.holders.get(&id).cloned(),
        )?;
        same(
            &format!("credentials_of({id})"),
            store.credentials_of(id).await.map_err(err)?,
            model.credentials_of(id),
        )?;
        same(
            &format!("courses_of({id})"),
            store.courses_of(id).await.map_err(err)?,
            model.courses_of(id),
        )?;
        let mut days: Vec<Date> = model
            .courses_of(id)
            .iter()
            .map(|c| c.completed_on)
            .collect();
        days.push(day(-1));
        days.dedup();
        for on in days {
            let mut want = model.courses_of(id);
            want.retain(|c| c.completed_on == on);
            same(
                &format!("courses_on({id}, {on})"),
                store.courses_on(id, on).await.map_err(err)?,
                want,
            )?;
        }
    }
    for id in 0..=model.next_credential {
        same(
            &format!("credential {id}"),
            store.credential(id).await.ok(),
            model.credentials.get(&id).cloned(),
        )?;
    }
    for id in 0..=model.next_course {
        same(
            &format!("course {id}"),
            store.course(id).await.ok(),
            model.courses.get(&id).cloned(),
        )?;
    }
    same(
        "list_holders",
        store
            .list_holders(None, usize::MAX)
            .await
            .map_err(err)?
            .items,
        model.holders.values().cloned().collect(),
    )?;
    same(
        "default_holder_id",
        store.default_holder_id().await.map_err(err)?,
        model.default_holder,
    )?;
    for (from, to) in [(0, 1500), (0, 0), (100, 400), (700, 1499), (400, 100)] {
        let (from, to) = (day(from), day(to));
        same(
            &format!("expiring({from}, {to})"),
            store
                .expiring(from, to, None, usize::MAX)
                .await
                .map_err(err)?
                .items,
            model.expiring(from, to),
        )?;
    }
    // The batch reads answer what the one-by-one reads answer (PostgreSQL has its own).
    let holder_ids: Vec<u64> = (0..=model.next_holder).collect();
    let mut got = store.holders_by_id(&holder_ids).await.map_err(err)?;
    got.sort_by_key(|h| h.id);
    same(
        "holders_by_id",
        got,
        model.holders.values().cloned().collect(),
    )?;
    let credential_ids: Vec<u64> = (0..=model.next_credential).collect();
    let mut got = store
        .credentials_by_id(&credential_ids)
        .await
        .map_err(err)?;
    got.sort_by_key(|c| c.id);
    same(
        "credentials_by_id",
        got,
        model.credentials.values().cloned().collect(),
    )?;
    // Each holder asked for twice, and ids that were never handed out.
    let asked: Vec<u64> = holder_ids.iter().chain(&holder_ids).copied().collect();
    let records = store.records_of(&asked).await.map_err(err)?;
    same("records_of: answers", records.len(), asked.len())?;
    for (&id, records) in asked.iter().zip(&records) {
        same(
            &format!("records_of({id}).credentials"),
            records.credentials.clone(),
            model.credentials_of(id),
        )?;
        same(
            &format!("records_of({id}).courses"),
            records.courses.clone(),
            model.courses_of(id),
        )?;
    }
    let versions = store.versions(&asked).await.map_err(err)?;
    for (&id, version) in asked.iter().zip(versions) {
        let one = store.version(id).await.map_err(err)?;
        same(&format!("versions({id})"), version, one)?;
        same(
            &format!("holder_with_version({id})"),
            store.holder_with_version(id).await.ok(),
            model.holders.get(&id).cloned().map(|h| (h, one)),
        )?;
    }
    let windows = [(0, 0), (100, 400), (300, 700), (1400, 1499), (400, 100)];
    let windows: Vec<(Date, Date)> = windows.iter().map(|&(f, t)| (day(f), day(t))).collect();
    let mut want: Vec<u64> = windows
        .iter()
        .flat_map(|&(f, t)| model.expiring(f, t))
        .map(|c| c.id)
        .collect();
    want.sort_unstable();
    want.dedup();
    same(
        "expiring_ids",
        store.expiring_ids(&windows).await.map_err(err)?,
        want,
    )?;
    // Pages of three, following the cursor, list the same credentials.
    let mut paged = Vec::new();
    let mut after: Option<recertd::store::Cursor> = None;
    loop {
        let page = store
            .expiring(day(0), day(1500), after.as_ref(), 3)
            .await
            .map_err(err)?;
        paged.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    same(
        "expiring in pages",
        paged,
        model.expiring(day(0), day(1500)),
    )?;
    Ok(())
}

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, &StoreOptions::default()).unwrap()
}

/// Opens the store again after `close` and drop. sled 0.34 releases its file lock from a
/// background thread after the last `Db` is dropped (spacejam/sled#1234), so an immediate
/// reopen fails about once in a thousand; this retries that one error for up to two seconds.
fn reopen(dir: &Path) -> SledStore {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match SledStore::open(dir, &StoreOptions::default()) {
            Err(StoreError::Open { detail, .. })
                if detail.contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            result => return result.unwrap(),
        }
    }
}

/// Where a case runs: a sled store in a temporary dir, or a fresh PostgreSQL database.
enum Backend {
    Sled(tempfile::TempDir),
    Postgres(String),
}

/// The PostgreSQL cluster of `RECERT_TEST_DATABASE_URL`, if set (`.ci/run` sets it; under
/// CI a missing cluster fails rather than quietly testing sled alone).
fn postgres_base() -> Option<String> {
    match std::env::var("RECERT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set RECERT_TEST_DATABASE_URL (scripts/pg-cluster start)"
            );
            None
        }
    }
}

/// A fresh database on the cluster at `base`.
async fn fresh_database(base: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "model_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let out = std::process::Command::new("psql")
        .arg(base)
        .args(["-qAt", "-c", &format!("DROP DATABASE IF EXISTS {name}")])
        .args(["-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

async fn open_pg(url: &str) -> PgStore {
    PgStore::open(&PgOptions {
        url: url.to_string(),
        pool_size: 4,
    })
    .await
    .unwrap()
}

/// Runs `ops` against a fresh store and the model, comparing after every step, then reopens
/// the store and compares again.
fn run(ops: &[Op], postgres: bool) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let backend = if postgres {
            match postgres_base() {
                Some(base) => Backend::Postgres(fresh_database(&base).await),
                None => return Ok(()),
            }
        } else {
            Backend::Sled(tempfile::tempdir().unwrap())
        };
        let mut model = Model::new();
        match &backend {
            Backend::Sled(dir) => {
                let store = open(dir.path());
                steps(&store, &mut model, ops).await?;
                store.close().await.unwrap();
                drop(store);
                after_reopen(&reopen(dir.path()), &mut model).await
            }
            Backend::Postgres(url) => {
                let store = open_pg(url).await;
                steps(&store, &mut model, ops).await?;
                store.close().await.unwrap();
                drop(store);
                after_reopen(&open_pg(url).await, &mut model).await
            }
        }
    })
}

async fn steps<S: BatchReads>(
    store: &S,
    model: &mut Model,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    for (i, op) in ops.iter().enumerate() {
        let step = resolve(op, model);
        let want = apply_model(model, &step);
        let got = apply_store(store, &step)
            .await
            .map_err(|e| TestCaseError::fail(format!("step {i} {step:?}: {e}")))?;
        prop_assert_eq!(got, want, "step {} {:?}", i, step);
        // A refused step left the model as it was, so this also checks that the store
        // changed nothing.
        compare(store, model)
            .await
            .map_err(|e| TestCaseError::fail(format!("after step {i} {step:?}: {e}")))?;
    }
    Ok(())
}

async fn after_reopen<S: Store>(store: &S, model: &mut Model) -> Result<(), TestCaseError> {
    compare(store, model)
        .await
        .map_err(|e| TestCaseError::fail(format!("after reopen: {e}")))?;
    // Id counters survive the reopen too.
    let step = Step::CreateHolder(Holder {
        id: 0,
        name: "After".into(),
        email: String::new(),
        time_zone: "UTC".into(),
        hired_on: None,
        competencies: Vec::new(),
    });
    let want = apply_model(model, &step);
    let got = apply_store(store, &step).await.unwrap();
    prop_assert_eq!(got, want);
    compare(store, model).await.map_err(TestCaseError::fail)?;
    store.close().await.unwrap();
    Ok(())
}

/// Runs `psql` on `url` with `sql`, returning its unaligned output.
fn psql(url: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .arg(url)
        .args(["-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What takes a database at schema 7 back to schema 4, as an older release wrote it.
/// Undoes schemas 7 (a lab's competency programs), 6 (team channels) and 5 (the tick's
/// marks), newest first, so a test can step a database back to an older release's schema.
const UNDO_SCHEMA_7_5: &str = "DROP TABLE competency_programs; \
     DELETE FROM versions WHERE key = 'competency-programs'; \
     DELETE FROM recert_schema WHERE version = 7; \
     DROP INDEX channels_by_team; \
     ALTER TABLE channels DROP CONSTRAINT channels_holder_id_kind_target_key; \
     ALTER TABLE channels DROP COLUMN team_id; \
     ALTER TABLE channels ADD CONSTRAINT channels_holder_id_kind_target_key \
     UNIQUE (holder_id, kind, target); \
     ALTER TABLE channels ADD CONSTRAINT channels_holder_id_fkey \
     FOREIGN KEY (holder_id) REFERENCES holders (id); \
     DELETE FROM recert_schema WHERE version = 6; \
     DROP TABLE dirty_holders; DROP TABLE competencies_due; DROP INDEX credentials_by_dues; \
     ALTER TABLE credentials DROP COLUMN dues_month; \
     DELETE FROM recert_schema WHERE version = 5;";

/// The newest PostgreSQL schema, which opening a store migrates to.
const PG_SCHEMA: u32 = 7;

const UNDO_SCHEMA_4: &str = "DROP INDEX alerts_by_dedupe_key; DROP INDEX alerts_by_cycle; \
     ALTER TABLE alerts DROP COLUMN dedupe_key; ALTER TABLE alerts DROP COLUMN subject; \
     ALTER TABLE alerts ADD CONSTRAINT alerts_credential_id_expires_on_threshold_days_key \
     UNIQUE (credential_id, expires_on, threshold_days); \
     DELETE FROM recert_schema WHERE version = 4;";

/// Schema 3 on PostgreSQL: a database at schema 2 with courses gains the indexed
/// `completed_on` column, filled from each course's body, and `courses_on` answers from it.
#[test]
fn postgres_schema_3_indexes_courses_by_day_and_fills_the_day_of_existing_courses() {
    let Some(base) = postgres_base() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = fresh_database(&base).await;
        let store = open_pg(&url).await;
        let holder = store
            .create_holder(Holder {
                id: 0,
                name: "Ana".into(),
                email: String::new(),
                time_zone: "UTC".into(),
                hired_on: None,
                competencies: Vec::new(),
            })
            .await
            .unwrap();
        let mut made = Vec::new();
        for (i, on) in [day(3), day(5), day(3), day(9)].into_iter().enumerate() {
            let course = store
                .create_course(Course {
                    id: 0,
                    holder_id: holder.id,
                    title: format!("Course {i}"),
                    provider: String::new(),
                    accreditation: String::new(),
                    completed_on: on,
                    amount: Credits(100),
                    unit: Unit::ALL[0],
                    categories: Vec::new(),
                    format: None,
                    credential_ids: Vec::new(),
                    evidence: String::new(),
                })
                .await
                .unwrap();
            made.push(course);
        }
        store.close().await.unwrap();
        // Back to schema 2, as a database written by the previous release.
        psql(
            &url,
            &format!(
                "BEGIN; {UNDO_SCHEMA_7_5} {UNDO_SCHEMA_4} DROP INDEX courses_by_day; \
                 ALTER TABLE courses DROP COLUMN completed_on; \
                 DELETE FROM recert_schema WHERE version = 3; COMMIT;"
            ),
        );
        let store = open_pg(&url).await;
        assert_eq!(store.schema_version().await.unwrap(), PG_SCHEMA);
        assert_eq!(
            psql(
                &url,
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'courses_by_day'"
            ),
            "CREATE INDEX courses_by_day ON public.courses USING btree (holder_id, completed_on)"
        );
        assert_eq!(
            psql(
                &url,
                "SELECT string_agg(completed_on::TEXT, ',' ORDER BY id) FROM courses"
            ),
            "20250104,20250106,20250104,20250110"
        );
        let on_3 = store.courses_on(holder.id, day(3)).await.unwrap();
        assert_eq!(on_3, vec![made[0].clone(), made[2].clone()]);
        assert!(
            store
                .courses_on(holder.id, day(4))
                .await
                .unwrap()
                .is_empty()
        );
        // A course moved to another day is found on its new day only.
        let moved = store
            .update_course(Course {
                completed_on: day(4),
                ..made[2].clone()
            })
            .await
            .unwrap();
        assert_eq!(
            store.courses_on(holder.id, day(4)).await.unwrap(),
            vec![moved]
        );
        assert_eq!(
            store.courses_on(holder.id, day(3)).await.unwrap(),
            vec![made[0].clone()]
        );
        store.close().await.unwrap();
    });
}

/// An alert of `holder` about `subject`, for the outbox tests.
fn outbox_alert(holder: u64, credential: u64, subject: AlertSubject) -> Alert {
    Alert {
        id: 0,
        holder_id: holder,
        subject,
        credential_id: credential,
        program: "amt-rpt".into(),
        expires_on: day(30),
        mark: Mark::Before(30),
        threshold_days: 30,
        due_on: day(0),
        title: "t".into(),
        body: "b".into(),
        met: false,
        compliance_status: "on_track".into(),
        created_at: "2025-01-01T08:00:00Z".parse().unwrap(),
        snoozed_until: None,
        acknowledged: false,
        cancelled: false,
        deliveries: Vec::new(),
    }
}

/// Schema 4 on PostgreSQL: a database at schema 3 with a credential's alert migrates; the
/// alert reads as a credential's, keeps deduping under its old key, and an alert of another
/// subject with the same credential, date and threshold (its dues) is enqueued beside it.
#[test]
fn postgres_schema_4_keys_alerts_by_subject_and_old_alerts_read_as_credential_alerts() {
    let Some(base) = postgres_base() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = fresh_database(&base).await;
        let store = open_pg(&url).await;
        let holder = store
            .create_holder(Holder {
                id: 0,
                name: "Ana".into(),
                email: String::new(),
                time_zone: "UTC".into(),
                hired_on: None,
                competencies: Vec::new(),
            })
            .await
            .unwrap();
        let old = store
            .enqueue_alerts(vec![outbox_alert(holder.id, 7, AlertSubject::Credential)])
            .await
            .unwrap();
        assert_eq!(old.len(), 1);
        store.close().await.unwrap();
        // Back to schema 3, as a database written by the previous release.
        psql(
            &url,
            &format!("BEGIN; {UNDO_SCHEMA_7_5} {UNDO_SCHEMA_4} COMMIT;"),
        );
        let store = open_pg(&url).await;
        assert_eq!(store.schema_version().await.unwrap(), PG_SCHEMA);
        assert_eq!(
            psql(&url, "SELECT subject || ' ' || dedupe_key FROM alerts"),
            format!("credential cr7/{}/30", day(30))
        );
        let read = store.alert(old[0].id).await.unwrap();
        assert_eq!(read.subject, AlertSubject::Credential);
        assert_eq!(read, old[0]);
        assert!(
            store
                .alert_enqueued(&DedupeKey::Credential {
                    credential_id: 7,
                    expires_on: day(30),
                    threshold_days: 30
                })
                .await
                .unwrap()
        );
        let again = store
            .enqueue_alerts(vec![
                outbox_alert(holder.id, 7, AlertSubject::Credential),
                outbox_alert(holder.id, 7, AlertSubject::Dues { amount_cents: 5000 }),
                outbox_alert(holder.id, 7, AlertSubject::Dues { amount_cents: 5000 }),
            ])
            .await
            .unwrap();
        assert_eq!(again.len(), 1, "only the dues alert is new: {again:?}");
        assert_eq!(again[0].subject, AlertSubject::Dues { amount_cents: 5000 });
        assert_eq!(again[0].key(), format!("cr7/dues/{}/30", day(30)));
        assert!(store.alert_enqueued(&again[0].dedupe_key()).await.unwrap());
        // A credential's cycle does not include its dues.
        let mut seen = Vec::new();
        store
            .modify_cycle_alerts(7, day(30), |a| {
                seen.push(a.id);
                false
            })
            .await
            .unwrap();
        assert_eq!(seen, vec![old[0].id]);
        store.close().await.unwrap();
    });
}

/// A holder in UTC named `name`, not yet stored.
fn new_holder(name: &str) -> Holder {
    Holder {
        id: 0,
        name: name.into(),
        email: String::new(),
        time_zone: "UTC".into(),
        hired_on: None,
        competencies: Vec::new(),
    }
}

/// The tick's change marks as a tick meets a write: the tick reads the marked credential
/// and holder, a write lands while it evaluates them, and the tick then clears the marks of
/// what it read. The written record keeps its mark (the next tick evaluates it); a record
/// unchanged since it was read, and one that is gone, lose theirs.
async fn a_write_during_a_tick_keeps_its_mark<S: Store>(store: &S) {
    let holder = store.create_holder(new_holder("Ana")).await.unwrap();
    let credential = store
        .create_credential(Credential {
            id: 0,
            holder_id: holder.id,
            program: "nha-cpt".into(),
            number: String::new(),
            issued_on: None,
            expires_on: day(400),
            history: Vec::new(),
            verifications: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.dirty_credentials().await.unwrap(),
        vec![credential.id]
    );
    assert_eq!(store.dirty_holders().await.unwrap(), vec![holder.id]);
    // The tick reads them; then a write moves the expiry and renames the holder.
    let read_credential = store.credential(credential.id).await.unwrap();
    let read_holder = store.holder(holder.id).await.unwrap();
    let written = store
        .update_credential(Credential {
            expires_on: day(20),
            ..credential.clone()
        })
        .await
        .unwrap();
    store
        .update_holder(
            Holder {
                name: "Ana Ruiz".into(),
                ..holder.clone()
            },
            false,
        )
        .await
        .unwrap();
    store
        .clear_dirty(std::slice::from_ref(&read_credential), &[])
        .await
        .unwrap();
    store
        .clear_dirty_holders(std::slice::from_ref(&read_holder), &[])
        .await
        .unwrap();
    assert_eq!(
        store.dirty_credentials().await.unwrap(),
        vec![credential.id],
        "a credential written after the tick read it keeps its mark"
    );
    assert_eq!(
        store.dirty_holders().await.unwrap(),
        vec![holder.id],
        "a holder written after the tick read it keeps its mark"
    );
    // The next tick reads what was written, and nothing lands meanwhile: cleared.
    store
        .clear_dirty(std::slice::from_ref(&written), &[])
        .await
        .unwrap();
    let renamed = store.holder(holder.id).await.unwrap();
    store
        .clear_dirty_holders(std::slice::from_ref(&renamed), &[])
        .await
        .unwrap();
    assert!(store.dirty_credentials().await.unwrap().is_empty());
    assert!(store.dirty_holders().await.unwrap().is_empty());
    // A mark of a credential the tick found gone is cleared whatever is stored.
    store
        .update_credential(Credential {
            expires_on: day(30),
            ..written
        })
        .await
        .unwrap();
    store.clear_dirty(&[], &[credential.id]).await.unwrap();
    assert!(store.dirty_credentials().await.unwrap().is_empty());
    store.close().await.unwrap();
}

#[test]
fn a_write_during_a_tick_keeps_its_change_mark_on_sled() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        a_write_during_a_tick_keeps_its_mark(&open(dir.path())).await;
    });
}

#[test]
fn a_write_during_a_tick_keeps_its_change_mark_on_postgres() {
    let Some(base) = postgres_base() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = fresh_database(&base).await;
        a_write_during_a_tick_keeps_its_mark(&open_pg(&url).await).await;
    });
}

/// Schema 5 on PostgreSQL: a database at schema 4 with holders who have competencies and
/// credentials with and without dues migrates; `competencies_due` and
/// `credentials.dues_month` then hold what a fresh write computes, and every holder is
/// marked for the next tick.
#[test]
fn postgres_schema_5_fills_the_tick_marks_a_fresh_write_makes() {
    let Some(base) = postgres_base() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let url = fresh_database(&base).await;
        let store = open_pg(&url).await;
        let assessed = |on: Date| recertd::domain::Assessment {
            assessed_on: on,
            assessor: "Pat".into(),
            elements: vec![1, 2, 3, 4, 5, 6],
            result: recertd::domain::AssessmentResult::Pass,
            note: String::new(),
        };
        let skill = |program: &str, name: &str, assessments| recertd::domain::CompetencySkill {
            program: program.into(),
            skill: name.into(),
            assessments,
        };
        let mut holders = Vec::new();
        // Hired, with one skill assessed and one never; hired with none; hired with one.
        for (name, hired, competencies) in [
            (
                "Ana",
                Some(day(-200)),
                vec![
                    skill("clia-testing", "Glucose", vec![assessed(day(-20))]),
                    skill("phlebotomy-annual", "Venipuncture", vec![]),
                ],
            ),
            ("Bo", Some(day(-30)), vec![]),
            (
                "Cy",
                Some(day(-100)),
                vec![skill("phlebotomy-annual", "Capillary", vec![])],
            ),
        ] {
            let h = store
                .create_holder(Holder {
                    hired_on: hired,
                    competencies,
                    ..new_holder(name)
                })
                .await
                .unwrap();
            holders.push(h.id);
        }
        // AMT credentials have dues (from the issue date, else the expiry); NHA's have none.
        for (i, (program, issued, expires)) in [
            ("amt-rma", Some(day(-400)), day(700)),
            ("amt-rpt", None, day(300)),
            ("nha-cpt", Some(day(-100)), day(600)),
        ]
        .into_iter()
        .enumerate()
        {
            store
                .create_credential(Credential {
                    id: 0,
                    holder_id: holders[i],
                    program: program.into(),
                    number: String::new(),
                    issued_on: issued,
                    expires_on: expires,
                    history: Vec::new(),
                    verifications: Vec::new(),
                })
                .await
                .unwrap();
        }
        store.close().await.unwrap();
        let due_sql = "SELECT string_agg(holder_id || ':' || due_on, ',' ORDER BY holder_id, due_on) \
                       FROM competencies_due";
        let months_sql =
            "SELECT string_agg(id || ':' || dues_month, ',' ORDER BY id) FROM credentials";
        let due = psql(&url, due_sql);
        let months = psql(&url, months_sql);
        assert!(due.split(',').count() >= 2, "{due}");
        assert_eq!(months.split(',').count(), 3, "{months}");
        // Back to schema 4, as a database written by the previous release.
        psql(&url, &format!("BEGIN; {UNDO_SCHEMA_7_5} COMMIT;"));
        assert_eq!(
            psql(
                &url,
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'competencies_due'"
            ),
            "0"
        );
        let store = open_pg(&url).await;
        assert_eq!(store.schema_version().await.unwrap(), PG_SCHEMA);
        assert_eq!(psql(&url, due_sql), due);
        assert_eq!(psql(&url, months_sql), months);
        assert_eq!(store.dirty_holders().await.unwrap(), holders);
        assert_eq!(
            psql(
                &url,
                "SELECT is_nullable FROM information_schema.columns \
                 WHERE table_name = 'credentials' AND column_name = 'dues_month'"
            ),
            "NO"
        );
        store.close().await.unwrap();
    });
}

proptest! {
    #![proptest_config(ProptestConfig {
        // 48 cases, or `PROPTEST_CASES` for a longer run.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops, false)?;
    }

    #[test]
    fn postgres_store_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops, true)?;
    }
}
