//! A holder's standing: their credentials with the programs in force, and compliance.
//!
//! Shared by the API and the alert engine so both answer the same.

use crate::catalog;
use crate::domain::{Compliance, Credential, Holder, Program, compliance_all};
use crate::store::{Records, StoreError};
use jiff::civil::Date;
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
        return Ok(Some(p));
    }
    Ok(catalog::find(slug).cloned())
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

/// A holder's standing: each credential with its compliance and its program.
pub type Standing = Vec<(Credential, Compliance, Program)>;

/// Most holders a [`Cache`] keeps; it starts over when full.
const CACHE_HOLDERS: usize = 8192;

/// Standings already computed, per (holder, date), each valid while the store's change
/// counters for that holder ([`Store::generation`]) have not moved.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<CacheMap>,
}

/// (holder, date) -> (the holder's change version when computed, the standing).
type CacheMap = HashMap<(u64, Date), (crate::store::Version, Arc<Standing>)>;

impl Cache {
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
        let key = (holder.id, today);
        if let Some((seen, standing)) = self.lock().get(&key)
            && *seen == generation
        {
            return Ok(standing.clone());
        }
        let standing = Arc::new(of_holder(store, holder, today).await?);
        let mut entries = self.lock();
        if entries.len() >= CACHE_HOLDERS {
            entries.clear();
        }
        entries.insert(key, (generation, standing.clone()));
        Ok(standing)
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
}
