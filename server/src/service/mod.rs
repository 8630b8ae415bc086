//! The service layer: the use cases and the rules that span records (references,
//! uniqueness, cascades, which alerts a change cancels, who may touch what).
//!
//! It sits between the edges (`api/`, the alert engine, backup) and the store port: it takes
//! domain inputs and a [`Caller`], applies the domain's pure rules, reads and writes through
//! `S: Store`, and answers domain values or a [`ServiceError`]. It knows neither protobuf nor
//! any storage engine.

pub mod access;
pub mod alerts;
pub mod competency;
pub mod compliance;
mod courses;
mod credentials;
mod error;
mod holders;
pub mod import;
mod moot;
mod programs;
pub mod roster;
pub mod standing;
mod team_channels;
pub mod team_status;

pub use access::{Caller, HistoryQuery, NewToken, Principal, TeamChange};
pub use courses::{CoursePatch, NewCourse};
pub use credentials::{CredentialPatch, NewCredential, NewVerification, Renewal};
pub use error::{ServiceError, ServiceResult, join};
pub use holders::{HolderEntry, HolderPatch, HolderRef, NewHolder};
pub use programs::{Origin, ProgramEntry};
pub use team_status::{TeamFilter, TeamRow};

use crate::catalog;
use crate::clock::Clock;
use crate::domain::{Holder, IdKind, Program};
use crate::store::Store;
use jiff::civil::Date;
use std::sync::Arc;
use tokio::sync::Notify;

/// The use cases over one store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Service<S> {
    store: S,
    clock: Arc<dyn Clock>,
    standings: Arc<standing::Cache>,
    /// Wakes the alert engine: data changed, so its next deadline may have moved.
    wake: Arc<Notify>,
    /// Where webhooks may be delivered; a new channel naming a refused address is refused.
    destinations: Arc<crate::domain::DestinationPolicy>,
    /// Serializes this process's read-modify-writes of holder records that append to them
    /// (competency assessments), so concurrent requests do not lose one another's changes.
    holder_edits: Arc<tokio::sync::Mutex<()>>,
}

impl<S: Store> Service<S> {
    /// Use cases over `store`, telling time by `clock`; `wake` is the alert engine's.
    pub fn new(store: S, clock: Arc<dyn Clock>, wake: Arc<Notify>) -> Self {
        let rule = Arc::new(moot::MootAlerts {
            clock: clock.clone(),
        });
        Service {
            store: store.with_alerts_after(rule),
            clock,
            standings: Arc::default(),
            wake,
            destinations: Arc::default(),
            holder_edits: Arc::default(),
        }
    }

    /// The same use cases, checking new webhook channels against `destinations` (the alert
    /// engine's policy) instead of refusing every internal address.
    pub fn with_destinations(self, destinations: crate::domain::DestinationPolicy) -> Self {
        Service {
            destinations: Arc::new(destinations),
            ..self
        }
    }

    /// The same use cases, keeping at most about `bytes` of computed standings
    /// ([`standing::Cache`]).
    pub fn with_standing_budget(self, bytes: usize) -> Self {
        Service {
            standings: Arc::new(standing::Cache::with_budget(bytes)),
            ..self
        }
    }

    /// The store (for the edges that stream whole snapshots).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The holder a request names: `"default"` is the default holder, else an id.
    pub async fn holder_id(&self, caller: &Caller, field: &str, value: &str) -> ServiceResult<u64> {
        let holder = HolderRef::parse(field, value)?;
        self.resolve_holder(caller, holder).await
    }

    /// A holder the caller may see (another one is "not found", as if absent).
    pub async fn holder(&self, caller: &Caller, id: u64) -> ServiceResult<Holder> {
        self.visible(caller, IdKind::Holder, id, id)?;
        Ok(self.store.holder(id).await?)
    }

    /// A holder's local date now.
    pub fn today(&self, holder: &Holder) -> Date {
        standing::today(holder, self.clock.now())
    }

    /// The program in force for `slug`: a local one, else the built-in one.
    pub async fn program(&self, slug: &str) -> ServiceResult<Program> {
        standing::program(&self.store, slug).await?.ok_or_else(|| {
            ServiceError::NotFound(format!(
                "program {slug:?} not found (see: recert program list)"
            ))
        })
    }

    /// Every built-in program's slug (always present, whatever the store holds).
    pub fn builtin_slugs(&self) -> std::collections::BTreeSet<String> {
        catalog::builtin().iter().map(|p| p.slug.clone()).collect()
    }

    /// A holder's standing on `today` (or their own today), from the cache when nothing it
    /// depends on changed since.
    pub async fn standing(
        &self,
        holder: &Holder,
        as_of: Option<Date>,
    ) -> ServiceResult<Arc<standing::Standing>> {
        let today = as_of.unwrap_or_else(|| self.today(holder));
        Ok(self.standings.of_holder(&self.store, holder, today).await?)
    }

    /// After a change to a holder's records written behind the service's back (straight to
    /// the store, as an import or another tool would): pending shortfall alerts whose
    /// credential is now met are cancelled (in one transaction, on the alerts as stored: one
    /// acknowledged or delivered meanwhile is left alone), and the alert engine re-plans.
    /// Returns how many were cancelled. The service's own writes need none of this: the
    /// store cancels those alerts inside the change's write ([`moot::MootAlerts`]).
    pub async fn holder_changed(&self, holder_id: u64) -> ServiceResult<usize> {
        let cancelled = self.cancel_met_alerts(holder_id).await;
        self.wake.notify_one();
        cancelled
    }

    /// Every record as of one instant, for an export.
    pub async fn export(&self, caller: &Caller) -> ServiceResult<crate::store::Dump> {
        caller.require_admin("exporting the store")?;
        tracing::info!(by = %caller.who(), "exporting the store");
        Ok(self.store.dump().await?)
    }

    /// The records of one holder as a dump (trial 2.18): the holder, their credentials,
    /// courses, channels, alerts, alert settings and history, the local programs their
    /// credentials use and the stored competency programs their skills name; nothing of any other holder (no tokens, no teams, no other holder's
    /// zone). Anyone who may see the holder may export them: an admin, a supervisor of one of
    /// their teams, the holder's own token (another holder is "not found").
    pub async fn export_holder(
        &self,
        caller: &Caller,
        holder_id: u64,
    ) -> ServiceResult<crate::store::Dump> {
        let holder = self.holder(caller, holder_id).await?;
        tracing::info!(by = %caller.who(), holder = %IdKind::Holder.format(holder_id), "exporting one holder");
        let mut dump = self.store.dump().await?;
        dump.holders.retain(|h| h.id == holder_id);
        dump.default_holder = dump.default_holder.filter(|&h| h == holder_id);
        dump.credentials.retain(|c| c.holder_id == holder_id);
        let credentials: std::collections::BTreeSet<u64> =
            dump.credentials.iter().map(|c| c.id).collect();
        let programs: std::collections::BTreeSet<&str> = dump
            .credentials
            .iter()
            .map(|c| c.program.as_str())
            .collect();
        dump.programs.retain(|p| programs.contains(p.slug.as_str()));
        // The lab's competency programs the holder's skills name (a holder line needs them).
        let assessed: std::collections::BTreeSet<&str> = holder
            .competencies
            .iter()
            .map(|s| s.program.as_str())
            .collect();
        dump.competency_programs
            .retain(|p| assessed.contains(p.slug.as_str()));
        dump.courses.retain(|c| c.holder_id == holder_id);
        dump.channels.retain(|c| c.holder_id == holder_id);
        dump.alert_settings.retain(|(scope, _)| match scope {
            crate::store::SettingsScope::Holder(h) => *h == holder_id,
            crate::store::SettingsScope::Credential(c) => credentials.contains(c),
            crate::store::SettingsScope::Program(_) => false,
        });
        dump.alerts.retain(|a| a.holder_id == holder_id);
        dump.last_ticks
            .retain(|(zone, _)| *zone == holder.time_zone);
        dump.dirty_credentials.retain(|c| credentials.contains(c));
        dump.tokens.clear();
        dump.teams.clear();
        dump.history.retain(|h| h.holder_id == Some(holder_id));
        Ok(dump)
    }

    /// Wakes the alert engine.
    pub fn wake_alerts(&self) {
        self.wake.notify_one();
    }

    async fn cancel_met_alerts(&self, holder_id: u64) -> ServiceResult<usize> {
        let holder = match self.store.holder(holder_id).await {
            Ok(h) => h,
            Err(crate::store::StoreError::NotFound { .. }) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        // Most writes find no open shortfall alert: then the holder's standing (every
        // course) is not computed. The probe reads each credential's current cycle's alerts
        // through the dedupe key's index, a handful each, whatever the holder's history.
        let mut open = false;
        for credential in self.store.credentials_of(holder_id).await? {
            let Some(program) = standing::program(&self.store, &credential.program).await? else {
                continue;
            };
            let ends_on = program.cycle_end(credential.expires_on, None);
            self.store
                .modify_cycle_alerts(credential.id, ends_on, |alert| {
                    open |= !alert.met && alert.next_attempt().is_some();
                    false
                })
                .await?;
            if open {
                break;
            }
        }
        if !open {
            return Ok(0);
        }
        let standing = self.standing(&holder, None).await?;
        let met: Vec<(u64, Date)> = standing
            .iter()
            .filter(|(_, answer, _)| answer.remaining.0 == 0)
            .map(|(c, answer, _)| (c.id, answer.expires_on))
            .collect();
        if met.is_empty() {
            return Ok(0);
        }
        // Through the cycle's own alerts, not all of the holder's (issue 12 point 5).
        let mut cancelled = 0;
        for (credential, expires_on) in met {
            cancelled += self
                .store
                .modify_cycle_alerts(credential, expires_on, |alert| {
                    if !alert.met && alert.next_attempt().is_some() {
                        alert.cancel();
                        true
                    } else {
                        false
                    }
                })
                .await?;
        }
        Ok(cancelled)
    }
}

impl<S: Store> Service<S> {
    /// Tells the alert engine a holder's records changed, so its next deadline may have
    /// moved. The alerts the change made moot were cancelled in the change's own write.
    async fn after_change(&self, _holder_id: u64) {
        self.wake.notify_one();
    }
}
