//! The leader lease: one row per job (`alerts`), naming the daemon that runs it and until
//! when. A daemon takes the lease when it is free or expired, and renews it while it holds
//! it, each in one transaction; so only one daemon ticks and delivers at a time, and another
//! takes over within the lease time when the leader dies.

use super::{PgStore, db_err, query};
use crate::store::Result;

/// A lease on a named job, as this daemon sees it.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The job's name.
    pub name: String,
    /// This daemon's id.
    pub holder: String,
}

impl PgStore {
    /// Takes or renews `lease` for `ttl` if it is free, expired or already ours; whether we
    /// hold it now. Expiry is measured by the database's clock, the one clock every daemon
    /// shares (the daemons' own clocks may be frozen for tests, or drift).
    pub async fn take_lease(&self, lease: &Lease, ttl: std::time::Duration) -> Result<bool> {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let rows = query(
            &client,
            "INSERT INTO leases (name, holder, expires_at) \
             VALUES ($1, $2, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT + $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder \
                OR leases.expires_at <= (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT \
             RETURNING holder",
            &[&lease.name, &lease.holder, &ttl],
        )
        .await?;
        Ok(rows
            .first()
            .and_then(|r| r.try_get::<_, &str>(0).ok())
            .is_some_and(|h| h == lease.holder))
    }

    /// Gives the lease up (at shutdown), so another daemon need not wait for it to expire.
    pub async fn release_lease(&self, lease: &Lease) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&lease.name, &lease.holder],
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
