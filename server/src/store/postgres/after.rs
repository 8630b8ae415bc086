//! The alerts a write makes moot, decided and written inside that write's transaction (see
//! [`crate::store::Store::with_alerts_after`]): after the change, the holder's row is locked
//! (`SELECT ... FOR UPDATE`, so concurrent writes for the holder queue behind this one), the
//! service's [`AlertsAfter`] reads the holder's records through the transaction (seeing the
//! change), and the alerts it answers are written before the commit.

use super::outbox::change_alert;
use super::records::{courses_in, credentials_in, holder_in};
use super::{PgStore, body, bump_versions, day, db_err, query, sql_id};
use crate::domain::{Alert, Course, Credential, Holder, Program};
use crate::store::{Result, StoreError, TxFuture, TxView};
use deadpool_postgres::GenericClient;
use jiff::civil::Date;

/// The records as the transaction `c` sees them.
struct InTx<'a, C> {
    c: &'a C,
    /// The holder whose row the transaction locked, as that read answered (so the rule's
    /// own read of it is not another round trip).
    locked: Holder,
}

impl<C: GenericClient + Sync> TxView for InTx<'_, C> {
    fn holder(&self, id: u64) -> TxFuture<'_, Holder> {
        if id == self.locked.id {
            return Box::pin(std::future::ready(Ok(self.locked.clone())));
        }
        Box::pin(holder_in(self.c, id, false))
    }
    fn credentials_of(&self, holder: u64) -> TxFuture<'_, Vec<Credential>> {
        Box::pin(credentials_in(self.c, holder))
    }
    fn courses_of(&self, holder: u64) -> TxFuture<'_, Vec<Course>> {
        Box::pin(courses_in(self.c, holder, false))
    }
    fn local_program<'a>(&'a self, slug: &'a str) -> TxFuture<'a, Option<Program>> {
        Box::pin(async move {
            query(
                self.c,
                "SELECT body FROM programs WHERE slug = $1",
                &[&slug],
            )
            .await?
            .first()
            .map(|r| body(r, 0))
            .transpose()
        })
    }
    fn cycle_alerts(&self, credential: u64, expires_on: Date) -> TxFuture<'_, Vec<Alert>> {
        Box::pin(async move {
            query(
                self.c,
                "SELECT body FROM alerts WHERE credential_id = $1 AND expires_on = $2 \
                 ORDER BY id FOR UPDATE",
                &[&sql_id(credential), &day(expires_on)],
            )
            .await?
            .iter()
            .map(|r| body(r, 0))
            .collect()
        })
    }
    fn credentials_with_programs(
        &self,
        holder: u64,
    ) -> TxFuture<'_, Vec<(Credential, Option<Program>)>> {
        Box::pin(async move {
            query(
                self.c,
                "SELECT c.body, p.body FROM credentials c LEFT JOIN programs p ON p.slug = c.program \
                 WHERE c.holder_id = $1 ORDER BY c.id",
                &[&sql_id(holder)],
            )
            .await?
            .iter()
            .map(|r| {
                let program = match r.try_get::<_, Option<&[u8]>>(1).map_err(db_err)? {
                    Some(_) => Some(body(r, 1)?),
                    None => None,
                };
                Ok((body(r, 0)?, program))
            })
            .collect()
        })
    }
    fn cycles_alerts<'a>(&'a self, cycles: &'a [(u64, Date)]) -> TxFuture<'a, Vec<Alert>> {
        Box::pin(async move {
            if cycles.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<i64> = cycles.iter().map(|c| sql_id(c.0)).collect();
            let days: Vec<i32> = cycles.iter().map(|c| day(c.1)).collect();
            let mut alerts: Vec<Alert> = query(
                self.c,
                "SELECT body FROM alerts WHERE (credential_id, expires_on) IN \
                 (SELECT * FROM UNNEST($1::BIGINT[], $2::INT[])) ORDER BY id FOR UPDATE",
                &[&ids, &days],
            )
            .await?
            .iter()
            .map(|r| body(r, 0))
            .collect::<Result<_>>()?;
            // In the order of `cycles`, as one read per cycle answers (the sort is stable).
            alerts.sort_by_key(|a| {
                cycles
                    .iter()
                    .position(|&(c, e)| c == a.credential_id && e == a.expires_on)
            });
            Ok(alerts)
        })
    }
}

impl PgStore {
    /// Ends a write that changed `holders`' records, inside its transaction `tx`: runs the
    /// alerts-after rule for each of them (their rows locked first) and writes the alerts it
    /// answers, then moves their change versions.
    pub(super) async fn changed<C: GenericClient + Sync>(
        &self,
        tx: &C,
        holders: impl IntoIterator<Item = u64>,
    ) -> Result<()> {
        let mut holders: Vec<u64> = holders.into_iter().collect();
        holders.sort_unstable();
        holders.dedup();
        if let Some(after) = &self.after {
            for &holder in &holders {
                let locked = match holder_in(tx, holder, true).await {
                    Ok(h) => h,
                    Err(StoreError::NotFound { .. }) => continue,
                    Err(e) => return Err(e),
                };
                let view = InTx { c: tx, locked };
                for new in after.moot(&view, holder).await? {
                    let old: Alert = query(
                        tx,
                        "SELECT body FROM alerts WHERE id = $1 FOR UPDATE",
                        &[&sql_id(new.id)],
                    )
                    .await?
                    .first()
                    .map(|r| body(r, 0))
                    .transpose()?
                    .ok_or_else(|| StoreError::not_found(crate::domain::IdKind::Alert, new.id))?;
                    change_alert(tx, self.actor(), &old, &new).await?;
                }
            }
        }
        bump_versions(tx, holders, false).await
    }
}
