//! A holder's standing: their credentials with the programs in force, and compliance.
//!
//! Shared by the API and the alert engine so both answer the same.

use crate::catalog;
use crate::domain::{Compliance, Credential, Holder, Program, compliance_all};
use crate::store::{BatchReads, HolderRecords, Records, Scheduler, StoreError};
use jiff::civil::Date;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why a standing could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum StandingError {
    /// A credential names a program that no longer exists.
    #[error("program {0:?} not found (see: recert program list)")]
    UnknownProgram(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The program in force for `slug`: a local one, else the built-in one.
pub async fn program<S: Records>(store: &S, slug: &str) -> Result<Option<Program>, StoreError> {
    if let Some(p) = store.local_program(slug).await? {
        return Ok(Some(catalog::in_force(p)));
    }
    Ok(catalog::find(slug).cloned())
}

/// The ids of the holders of a credential whose dues can fall due on a day within one of
/// `windows` (each `from..=to`), for every program in force with dues (`local`: the lab's
/// stored programs, in force), read from the dues index: what the alert tick and the
/// deadlines' dues rows both start from, so neither reads every holder.
pub async fn dues_holders<S: Scheduler>(
    store: &S,
    local: &[Program],
    windows: &[(Date, Date)],
) -> Result<std::collections::BTreeSet<u64>, StoreError> {
    let mut with_dues: std::collections::BTreeMap<&str, crate::domain::Dues> =
        std::collections::BTreeMap::new();
    for p in catalog::builtin().iter().chain(local) {
        match p.dues {
            Some(dues) => with_dues.insert(&p.slug, dues),
            None => with_dues.remove(p.slug.as_str()),
        };
    }
    let mut out = std::collections::BTreeSet::new();
    for (slug, dues) in &with_dues {
        let residues: std::collections::BTreeSet<i32> = windows
            .iter()
            .flat_map(|&(from, to)| dues.anniversary_residues(from, to))
            .collect();
        if !residues.is_empty() {
            out.extend(store.dues_holders(slug, dues, &residues).await?);
        }
    }
    Ok(out)
}

/// A holder's local date at `now`.
pub fn today(holder: &Holder, now: jiff::Timestamp) -> Date {
    now.to_zoned(holder.zone()).date()
}

/// Compliance of every credential of `holder` on `today`, each with its program, in the
/// order of the holder's credentials.
pub async fn of_holder<S: Records>(
    store: &S,
    holder: &Holder,
    today: Date,
) -> Result<Standing, StandingError> {
    let mut credentials: Vec<(Credential, Program)> = Vec::new();
    for c in store.credentials_of(holder.id).await? {
        let p = program(store, &c.program)
            .await?
            .ok_or_else(|| StandingError::UnknownProgram(c.program.clone()))?;
        credentials.push((c, p));
    }
    let courses = store.courses_of(holder.id).await?;
    let answers = compliance_all(&credentials, &courses, today);
    Ok(answers
        .into_iter()
        .zip(credentials)
        .map(|(answer, (credential, program))| (credential, answer, program))
        .collect())
}

/// The program in force for `slug` among `local` (the local programs, read once): a local
/// one, else the built-in one. The same answer as [`program`] without a read per slug.
pub fn program_among(local: &[Program], slug: &str) -> Option<Program> {
    local
        .iter()
        .find(|p| p.slug == slug)
        .or_else(|| catalog::find(slug))
        .cloned()
}

/// [`of_holder`] from records already read (`local`: every local program), for answers
/// that read many holders' records at once.
pub fn from_records(
    records: HolderRecords,
    local: &[Program],
    today: Date,
) -> Result<Standing, StandingError> {
    let mut credentials: Vec<(Credential, Program)> = Vec::with_capacity(records.credentials.len());
    for c in records.credentials {
        let p = program_among(local, &c.program)
            .ok_or_else(|| StandingError::UnknownProgram(c.program.clone()))?;
        credentials.push((c, p));
    }
    let answers = compliance_all(&credentials, &records.courses, today);
    Ok(answers
        .into_iter()
        .zip(credentials)
        .map(|(answer, (credential, program))| (credential, answer, program))
        .collect())
}

/// A holder's standing: each credential with its compliance and its program.
pub type Standing = Vec<(Credential, Compliance, Program)>;

/// The bytes a [`Cache`] may hold by default (64 MiB): past it, entries are evicted, least
/// recently used first. A standing bigger than the whole budget is not kept at all.
pub const CACHE_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// Standings already computed, per (holder, date), each valid while the store's change
/// counters for that holder ([`Store::generation`]) have not moved. Bounded in bytes: each
/// entry's size is estimated ([`estimated_bytes`]) when it is stored.
#[derive(Debug)]
pub struct Cache {
    budget: usize,
    entries: Mutex<CacheMap>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::with_budget(CACHE_BUDGET_BYTES)
    }
}

/// The entries, their total estimated size and a use counter for eviction.
#[derive(Debug, Default)]
struct CacheMap {
    /// (holder, date) -> the entry.
    map: HashMap<(u64, Date), Entry>,
    /// Sum of the entries' `bytes`.
    bytes: usize,
    /// Bumped on every use; an entry's `used` is the value at its last use.
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    /// The holder's change version when computed.
    version: crate::store::Version,
    standing: Arc<Standing>,
    /// A value made from `standing` (the API's encoded compliance answer), kept as long as
    /// it is; its size is in `bytes`.
    derived: Option<Arc<dyn Any + Send + Sync>>,
    bytes: usize,
    used: u64,
}

/// Counts what is written to it.
struct Counter(usize);

impl std::fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// An estimate of the memory a standing holds: the length of its `Debug` rendering (every
/// string, date and number of its credentials, compliance answers and programs, with field
/// names, so it over-counts rather than under-counts), and the fixed size of an entry.
/// Computed without allocating.
pub fn estimated_bytes(standing: &Standing) -> usize {
    use std::fmt::Write;
    let mut counter = Counter(0);
    let _ = write!(counter, "{standing:?}");
    counter.0.saturating_add(std::mem::size_of::<Entry>() + 64)
}

impl Cache {
    /// A cache that holds at most about `budget` bytes of standings.
    pub fn with_budget(budget: usize) -> Self {
        Cache {
            budget,
            entries: Mutex::default(),
        }
    }

    /// The estimated bytes held now, and the number of entries.
    pub fn held(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.bytes, entries.map.len())
    }

    /// [`of_holder`], answered from the cache when nothing it depends on was written since.
    pub async fn of_holder<S: Records>(
        &self,
        store: &S,
        holder: &Holder,
        today: Date,
    ) -> Result<Arc<Standing>, StandingError> {
        // Read the counters before the records: a write that lands in between moves them,
        // so an answer computed from older records is never kept under newer counters.
        let generation = store.version(holder.id).await?;
        self.of_holder_at(store, holder, today, generation).await
    }

    /// [`Cache::of_holder`] with the holder's change version already read (before any of
    /// the records the standing is computed from).
    pub async fn of_holder_at<S: Records>(
        &self,
        store: &S,
        holder: &Holder,
        today: Date,
        generation: crate::store::Version,
    ) -> Result<Arc<Standing>, StandingError> {
        let key = (holder.id, today);
        {
            let mut entries = self.lock();
            entries.clock += 1;
            let now = entries.clock;
            if let Some(entry) = entries.map.get_mut(&key)
                && entry.version == generation
            {
                entry.used = now;
                return Ok(entry.standing.clone());
            }
        }
        let standing = Arc::new(of_holder(store, holder, today).await?);
        self.keep(key, generation, standing.clone());
        Ok(standing)
    }

    /// A value made from the standing of `holder` on `today` (what [`Cache::of_holder_at`]
    /// answers) by `derive`, which also says its size in bytes. It is kept beside the
    /// standing under the same change version, so while the holder is not written to,
    /// `derive` runs once; a standing keeps one derived value (of one type `T`).
    pub async fn derived_at<S: Records, T: Any + Send + Sync>(
        &self,
        store: &S,
        holder: &Holder,
        today: Date,
        generation: crate::store::Version,
        derive: impl FnOnce(&Standing) -> (T, usize),
    ) -> Result<Arc<T>, StandingError> {
        let key = (holder.id, today);
        {
            let mut entries = self.lock();
            entries.clock += 1;
            let now = entries.clock;
            if let Some(entry) = entries.map.get_mut(&key)
                && entry.version == generation
                && let Some(derived) = entry.derived.clone()
                && let Ok(value) = derived.downcast::<T>()
            {
                entry.used = now;
                return Ok(value);
            }
        }
        let standing = self.of_holder_at(store, holder, today, generation).await?;
        let (value, bytes) = derive(&standing);
        let value = Arc::new(value);
        let mut entries = self.lock();
        let entries = &mut *entries;
        // Kept only beside the very standing it was made from (a concurrent write may have
        // replaced it meanwhile).
        if let Some(entry) = entries.map.get_mut(&key)
            && entry.version == generation
            && Arc::ptr_eq(&entry.standing, &standing)
        {
            let had = entry.derived.replace(value.clone()).is_some();
            if !had && entries.bytes + bytes <= self.budget {
                entry.bytes += bytes;
                entries.bytes += bytes;
            } else if !had {
                entry.derived = None;
            }
        }
        Ok(value)
    }

    /// [`Cache::of_holder`] for many holders at once, each on its own date, aligned with
    /// `holders`: one batch read of their versions, then one of the records of those whose
    /// cached standing is stale (and of the local programs, when any is).
    pub async fn of_holders<S: BatchReads>(
        &self,
        store: &S,
        holders: &[(&Holder, Date)],
    ) -> Result<Vec<Arc<Standing>>, StandingError> {
        let ids: Vec<u64> = holders.iter().map(|(h, _)| h.id).collect();
        let generations = store.versions(&ids).await?;
        let mut found: Vec<Option<Arc<Standing>>> = Vec::with_capacity(holders.len());
        {
            let mut entries = self.lock();
            for ((holder, today), generation) in holders.iter().zip(&generations) {
                entries.clock += 1;
                let now = entries.clock;
                found.push(match entries.map.get_mut(&(holder.id, *today)) {
                    Some(entry) if entry.version == *generation => {
                        entry.used = now;
                        Some(entry.standing.clone())
                    }
                    _ => None,
                });
            }
        }
        let stale: Vec<usize> = (0..holders.len()).filter(|&i| found[i].is_none()).collect();
        if !stale.is_empty() {
            let local = store.local_programs().await?;
            let stale_ids: Vec<u64> = stale.iter().map(|&i| ids[i]).collect();
            let records = store.records_of(&stale_ids).await?;
            for (i, records) in stale.into_iter().zip(records) {
                let (holder, today) = holders[i];
                let standing = Arc::new(from_records(records, &local, today)?);
                self.keep((holder.id, today), generations[i], standing.clone());
                found[i] = Some(standing);
            }
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// Keeps `standing`, computed at `generation`, evicting the least recently used entries
    /// past the budget.
    fn keep(&self, key: (u64, Date), generation: crate::store::Version, standing: Arc<Standing>) {
        let bytes = estimated_bytes(&standing);
        let mut entries = self.lock();
        if let Some(old) = entries.map.remove(&key) {
            entries.bytes -= old.bytes;
        }
        if bytes > self.budget {
            return;
        }
        if entries.bytes + bytes > self.budget {
            // Evict the least recently used down to three quarters of the budget, so a
            // full cache does not sort on every insert.
            let target = (self.budget / 4 * 3).saturating_sub(bytes);
            let mut by_use: Vec<((u64, Date), u64)> =
                entries.map.iter().map(|(k, e)| (*k, e.used)).collect();
            by_use.sort_unstable_by_key(|(_, used)| *used);
            let mut evicted = 0usize;
            for (oldest, _) in by_use {
                if entries.bytes <= target {
                    break;
                }
                if let Some(old) = entries.map.remove(&oldest) {
                    entries.bytes -= old.bytes;
                    evicted += 1;
                }
            }
            tracing::info!(
                evicted,
                held_bytes = entries.bytes + bytes,
                entries = entries.map.len() + 1,
                budget_bytes = self.budget,
                "standing cache at its budget: least recently used evicted"
            );
        }
        entries.clock += 1;
        let used = entries.clock;
        entries.bytes += bytes;
        entries.map.insert(
            key,
            Entry {
                version: generation,
                standing,
                derived: None,
                bytes,
                used,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheMap> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Course, Credits, Unit};
    use crate::store::{SledStore as Store, StoreOptions};

    fn course(holder_id: u64, hours: i64) -> Course {
        Course {
            id: 0,
            holder_id,
            title: "Venipuncture update".into(),
            provider: String::new(),
            accreditation: String::new(),
            completed_on: "2026-10-01".parse().unwrap(),
            amount: Credits::whole(hours),
            unit: Unit::Hours,
            categories: Vec::new(),
            format: None,
            credential_ids: Vec::new(),
            evidence: String::new(),
        }
    }

    fn earned(standing: &Standing) -> i64 {
        standing[0].1.earned.0
    }

    #[tokio::test]
    async fn a_derived_value_is_made_once_per_version_and_again_after_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let dana = store
            .create_holder(Holder {
                id: 0,
                name: "Dana".into(),
                email: String::new(),
                time_zone: "UTC".into(),
                hired_on: None,
                competencies: Vec::new(),
            })
            .await
            .unwrap();
        store
            .create_credential(Credential {
                id: 0,
                holder_id: dana.id,
                program: "nha-cpt".into(),
                number: String::new(),
                issued_on: None,
                expires_on: "2027-04-24".parse().unwrap(),
                history: Vec::new(),
                verifications: Vec::new(),
            })
            .await
            .unwrap();
        let today: Date = "2026-11-24".parse().unwrap();
        let cache = Cache::default();
        let made = std::sync::atomic::AtomicUsize::new(0);
        let derive = |standing: &Standing| {
            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (earned(standing), 8)
        };
        let at = |v| cache.derived_at(&store, &dana, today, v, derive);
        let v1 = Records::version(&store, dana.id).await.unwrap();
        assert_eq!(*at(v1).await.unwrap(), 0);
        let (bytes, _) = cache.held();
        assert_eq!(*at(v1).await.unwrap(), 0);
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(cache.held().0, bytes, "counted once");

        store.create_course(course(dana.id, 4)).await.unwrap();
        let v2 = Records::version(&store, dana.id).await.unwrap();
        assert_eq!(*at(v2).await.unwrap(), 200);
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn cached_standings_follow_every_kind_of_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let mut holders = Vec::new();
        for name in ["Dana", "Lee"] {
            let h = store
                .create_holder(Holder {
                    id: 0,
                    name: name.into(),
                    email: String::new(),
                    time_zone: "UTC".into(),
                    hired_on: None,
                    competencies: Vec::new(),
                })
                .await
                .unwrap();
            store
                .create_credential(Credential {
                    id: 0,
                    holder_id: h.id,
                    program: "nha-cpt".into(),
                    number: String::new(),
                    issued_on: None,
                    expires_on: "2027-04-24".parse().unwrap(),
                    history: Vec::new(),
                    verifications: Vec::new(),
                })
                .await
                .unwrap();
            holders.push(h);
        }
        let (dana, lee) = (&holders[0], &holders[1]);
        let today: Date = "2026-11-24".parse().unwrap();
        let cache = Cache::default();
        let lee_before = cache.of_holder(&store, lee, today).await.unwrap();
        let first = cache.of_holder(&store, dana, today).await.unwrap();
        assert_eq!(earned(&first), 0);
        assert!(Arc::ptr_eq(
            &first,
            &cache.of_holder(&store, dana, today).await.unwrap()
        ));

        // A course (the batched path): Dana's answer changes, Lee's stays cached.
        let c = store.create_course(course(dana.id, 4)).await.unwrap();
        assert_eq!(
            earned(&cache.of_holder(&store, dana, today).await.unwrap()),
            200
        );
        assert!(Arc::ptr_eq(
            &lee_before,
            &cache.of_holder(&store, lee, today).await.unwrap()
        ));

        // Editing the course (the general write path).
        let mut edited = c.clone();
        edited.amount = Credits::whole(6);
        store.update_course(edited).await.unwrap();
        assert_eq!(
            earned(&cache.of_holder(&store, dana, today).await.unwrap()),
            300
        );

        // A local program overriding the built-in one (half the hours per credit).
        let mut program = crate::catalog::find("nha-cpt").unwrap().clone();
        program.unit_hours = Credits::whole(1);
        store.put_program(program, true).await.unwrap();
        assert_eq!(
            earned(&cache.of_holder(&store, dana, today).await.unwrap()),
            600
        );

        // Deleting the course, and another date.
        store.delete_course(c.id).await.unwrap();
        assert_eq!(
            earned(&cache.of_holder(&store, dana, today).await.unwrap()),
            0
        );
        let later = cache
            .of_holder(&store, dana, "2027-05-01".parse().unwrap())
            .await
            .unwrap();
        assert!(later[0].1.days_left < 0);
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_byte_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let mut holders = Vec::new();
        for i in 0..20 {
            let h = store
                .create_holder(Holder {
                    id: 0,
                    name: format!("Holder {i}"),
                    email: String::new(),
                    time_zone: "UTC".into(),
                    hired_on: None,
                    competencies: Vec::new(),
                })
                .await
                .unwrap();
            store
                .create_credential(Credential {
                    id: 0,
                    holder_id: h.id,
                    program: "nha-cpt".into(),
                    number: String::new(),
                    issued_on: None,
                    expires_on: "2027-04-24".parse().unwrap(),
                    history: Vec::new(),
                    verifications: Vec::new(),
                })
                .await
                .unwrap();
            holders.push(h);
        }
        let today: Date = "2026-11-24".parse().unwrap();
        let one = estimated_bytes(&of_holder(&store, &holders[0], today).await.unwrap());
        assert!(one > 500, "an nha-cpt standing is estimated at {one} bytes");
        let budget = one * 5;
        let cache = Cache::with_budget(budget);
        for h in &holders {
            cache.of_holder(&store, h, today).await.unwrap();
            let (bytes, _) = cache.held();
            assert!(
                bytes <= budget,
                "{bytes} bytes held over a budget of {budget}"
            );
        }
        let (_, count) = cache.held();
        assert!((1..=5).contains(&count), "{count} entries kept");
        // The most recent is kept, the first was evicted.
        let last = cache.of_holder(&store, &holders[19], today).await.unwrap();
        assert!(Arc::ptr_eq(
            &last,
            &cache.of_holder(&store, &holders[19], today).await.unwrap()
        ));
        let first = cache.of_holder(&store, &holders[0], today).await.unwrap();
        let (_, after) = cache.held();
        assert!(after <= 5);
        drop(first);

        // Distinct dates of one holder count the same way.
        for day in 1..=28 {
            let date = jiff::civil::date(2026, 2, day);
            cache.of_holder(&store, &holders[1], date).await.unwrap();
            assert!(cache.held().0 <= budget);
        }

        // A standing bigger than the whole budget is answered but not kept.
        let tiny = Cache::with_budget(one / 2);
        tiny.of_holder(&store, &holders[0], today).await.unwrap();
        assert_eq!(tiny.held(), (0, 0));
        store.close().await.unwrap();
    }
}
