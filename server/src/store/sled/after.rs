//! The alerts a write makes moot, decided and written inside that write (see
//! [`crate::store::Store::with_alerts_after`]).
//!
//! Under the write lock, after a write set is planned and before it is applied, the
//! service's [`AlertsAfter`] reads each touched holder's records through a [`Planned`] view
//! (the trees with the planned writes laid over them: no other writer can change them
//! meanwhile), and the alerts it answers are planned into the same set, so one sled
//! transaction (and one flush) carries the change and the cancellations.

use super::keys::{alert_key, decode, id_key, pair_key, read_id};
use super::{
    ALERT_KEYS, ALERTS, COURSE_BY_HOLDER, COURSES, CRED_BY_HOLDER, CREDENTIALS, HOLDERS, Op,
    PROGRAMS, Record, Result, SledStore, StoreError, WriteSet, not_found,
};
use crate::domain::{Alert, Course, Credential, Holder, IdKind, Program};
use crate::store::{AlertsAfter, TxFuture, TxView};
use jiff::civil::Date;
use std::collections::BTreeMap;
use std::task::{Context, Poll, Waker};

/// The store as a planned write set will leave it. Reads only; call under the write lock.
struct Planned<'a> {
    store: &'a SledStore,
    /// The planned writes by (tree, key); the last one of a key wins.
    ops: BTreeMap<(usize, &'a [u8]), Option<&'a [u8]>>,
}

impl<'a> Planned<'a> {
    fn new(store: &'a SledStore, ops: &'a [Op]) -> Self {
        let ops = ops
            .iter()
            .map(|(tree, key, value)| ((*tree, key.as_slice()), value.as_deref()))
            .collect();
        Planned { store, ops }
    }

    fn raw(&self, tree: usize, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(planned) = planned(&self.ops, tree, key) {
            return Ok(planned.map(<[u8]>::to_vec));
        }
        Ok(self.store.tree(tree).get(key)?.map(|v| v.to_vec()))
    }

    fn get<T: Record>(&self, tree: usize, key: &[u8]) -> Result<Option<T>> {
        match self.raw(tree, key)? {
            Some(bytes) => decode(&bytes).map(Some).map_err(StoreError::Corrupt),
            None => Ok(None),
        }
    }

    /// The entries of `tree` whose key starts with `prefix`, in key order.
    fn scan(&self, tree: usize, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut found: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for entry in self.store.tree(tree).scan_prefix(prefix) {
            let (key, value) = entry?;
            found.insert(key.to_vec(), value.to_vec());
        }
        for ((_, key), value) in planned_from(&self.ops, tree, prefix)
            .take_while(|((t, k), _)| *t == tree && k.starts_with(prefix))
        {
            match value {
                Some(v) => found.insert(key.to_vec(), v.to_vec()),
                None => found.remove(*key),
            };
        }
        Ok(found.into_iter().collect())
    }

    /// The records of `primary` that the (parent, child) index `index` lists under `parent`.
    fn children<T: Record>(&self, index: usize, primary: usize, parent: u64) -> Result<Vec<T>> {
        let prefix = pair_key(parent, 0);
        let mut out = Vec::new();
        for (key, _) in self.scan(index, &prefix[..8])? {
            let child =
                read_id(&key[8..]).ok_or_else(|| StoreError::Corrupt("bad index key".into()))?;
            out.push(self.get::<T>(primary, &id_key(child))?.ok_or_else(|| {
                StoreError::Corrupt(format!("an index points at a missing {} {child}", T::KIND))
            })?);
        }
        Ok(out)
    }

    fn holder(&self, id: u64) -> Result<Holder> {
        self.get(HOLDERS, &id_key(id))?
            .ok_or_else(|| not_found(IdKind::Holder, id))
    }

    fn cycle_alerts(&self, credential: u64, expires_on: Date) -> Result<Vec<Alert>> {
        let prefix = alert_key(credential, expires_on, 0);
        let mut out = Vec::new();
        for (_, id) in self.scan(ALERT_KEYS, &prefix[..12])? {
            let id = read_id(&id).ok_or_else(|| StoreError::Corrupt("bad alert key".into()))?;
            out.push(
                self.get(ALERTS, &id_key(id))?
                    .ok_or_else(|| not_found(IdKind::Alert, id))?,
            );
        }
        Ok(out)
    }
}

/// The planned write of `key` in `tree`, if any (`Some(None)`: removed).
fn planned<'k>(
    ops: &BTreeMap<(usize, &'k [u8]), Option<&'k [u8]>>,
    tree: usize,
    key: &'k [u8],
) -> Option<Option<&'k [u8]>> {
    ops.get(&(tree, key)).copied()
}

/// The planned writes from `key` in `tree` on, in key order.
fn planned_from<'m, 'k>(
    ops: &'m BTreeMap<(usize, &'k [u8]), Option<&'k [u8]>>,
    tree: usize,
    key: &'k [u8],
) -> std::collections::btree_map::Range<'m, (usize, &'k [u8]), Option<&'k [u8]>> {
    ops.range((tree, key)..)
}

fn ready<'a, T: Send + 'a>(value: Result<T>) -> TxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl TxView for Planned<'_> {
    fn holder(&self, id: u64) -> TxFuture<'_, Holder> {
        ready(Planned::holder(self, id))
    }
    fn credentials_of(&self, holder: u64) -> TxFuture<'_, Vec<Credential>> {
        ready(self.children(CRED_BY_HOLDER, CREDENTIALS, holder))
    }
    fn courses_of(&self, holder: u64) -> TxFuture<'_, Vec<Course>> {
        ready(self.children(COURSE_BY_HOLDER, COURSES, holder))
    }
    fn local_program<'a>(&'a self, slug: &'a str) -> TxFuture<'a, Option<Program>> {
        ready(self.get(PROGRAMS, slug.as_bytes()))
    }
    fn cycle_alerts(&self, credential: u64, expires_on: Date) -> TxFuture<'_, Vec<Alert>> {
        ready(Planned::cycle_alerts(self, credential, expires_on))
    }
}

/// Runs a future whose every await is a ready [`Planned`] read to its end, on this thread.
fn run_ready<T>(future: TxFuture<'_, T>) -> Result<T> {
    let mut future = future;
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(answer) => answer,
        // Only an `AlertsAfter` that waits on something other than the view gets here.
        Poll::Pending => Err(StoreError::Storage(
            "the alerts-after rule waited inside a sled write".into(),
        )),
    }
}

impl SledStore {
    /// Plans, into `set`, the alerts that `after` finds moot for each holder the set
    /// touches, as the set will leave the store. Call under the write lock, after planning
    /// the change and before [`WriteSet::stamp_versions`].
    pub(super) fn plan_alerts_after(
        &self,
        after: &dyn AlertsAfter,
        set: &mut WriteSet,
    ) -> Result<()> {
        let holders: Vec<u64> = set.touched.iter().copied().collect();
        let mut changes: Vec<(Alert, Alert)> = Vec::new();
        {
            let view = Planned::new(self, &set.ops);
            for holder in holders {
                for new in run_ready(after.moot(&view, holder))? {
                    let old = view
                        .get::<Alert>(ALERTS, &id_key(new.id))?
                        .ok_or_else(|| not_found(IdKind::Alert, new.id))?;
                    changes.push((old, new));
                }
            }
        }
        for (old, new) in changes {
            super::alerts::plan_change(set, &old, &new)?;
        }
        Ok(())
    }
}
