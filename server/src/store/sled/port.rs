//! The sled engine behind the store port: each trait method answers from the engine's own
//! methods. Reads are synchronous on sled (its trees are in memory or a page fault away), so
//! they answer with ready futures; writes wait for the commit machine.

use super::keys::{id_key, read_id};
use super::{SledStore, expiry_cursor};
use crate::domain::{
    Actor, Alert, AlertSettings, Channel, Course, Credential, DedupeKey, HistoryEntry, Holder,
    Program, Team, Token, TokenHash,
};
use crate::store::{
    Access, Cursor, Dump, Outbox, Page, Records, RestorePlan, Result, Scheduler, SettingsScope,
    Snapshots, Store, StoreError, StoreView, Version,
};
use jiff::Timestamp;
use jiff::civil::Date;
use std::future::{Future, ready};

/// The id a cursor of an id-ordered list continues after.
fn id_after(after: Option<&Cursor>) -> Result<Option<u64>> {
    match after {
        None => Ok(None),
        Some(c) if c.bytes().len() == 8 => Ok(read_id(c.bytes())),
        Some(_) => Err(StoreError::BadCursor),
    }
}

/// The cursor of an id-ordered list that continues after `id`.
fn id_cursor(id: u64) -> Cursor {
    Cursor::new(id_key(id).to_vec())
}

impl Records for SledStore {
    fn create_holder(&self, holder: Holder) -> impl Future<Output = Result<Holder>> + Send {
        SledStore::create_holder(self, holder)
    }
    fn holder(&self, id: u64) -> impl Future<Output = Result<Holder>> + Send {
        ready(SledStore::holder(self, id))
    }
    fn default_holder_id(&self) -> impl Future<Output = Result<Option<u64>>> + Send {
        ready(SledStore::default_holder_id(self))
    }
    fn list_holders(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Holder>>> + Send {
        ready(id_after(after).and_then(|a| SledStore::list_holders(self, a, limit)))
    }
    fn update_holder(
        &self,
        holder: Holder,
        make_default: bool,
    ) -> impl Future<Output = Result<Holder>> + Send {
        SledStore::update_holder(self, holder, make_default)
    }
    fn delete_holder(&self, id: u64, force: bool) -> impl Future<Output = Result<()>> + Send {
        SledStore::delete_holder(self, id, force)
    }
    fn version(&self, holder: u64) -> impl Future<Output = Result<Version>> + Send {
        ready(SledStore::version(self, holder))
    }
    fn local_program(&self, slug: &str) -> impl Future<Output = Result<Option<Program>>> + Send {
        ready(SledStore::local_program(self, slug))
    }
    fn local_programs(&self) -> impl Future<Output = Result<Vec<Program>>> + Send {
        ready(SledStore::local_programs(self))
    }
    fn put_program(
        &self,
        program: Program,
        create: bool,
    ) -> impl Future<Output = Result<Program>> + Send {
        SledStore::put_program(self, program, create)
    }
    fn delete_program(
        &self,
        slug: &str,
        in_use_blocks: bool,
    ) -> impl Future<Output = Result<()>> + Send {
        SledStore::delete_program(self, slug, in_use_blocks)
    }
    fn competency_programs(
        &self,
    ) -> impl Future<Output = Result<Vec<crate::domain::CompetencyProgram>>> + Send {
        ready(SledStore::stored_competencies(self))
    }
    fn put_competency_program(
        &self,
        program: crate::domain::CompetencyProgram,
        create: bool,
    ) -> impl Future<Output = Result<crate::domain::CompetencyProgram>> + Send {
        SledStore::put_competency_program(self, program, create)
    }
    fn delete_competency_program(
        &self,
        slug: &str,
        in_use_blocks: bool,
    ) -> impl Future<Output = Result<()>> + Send {
        SledStore::delete_competency_program(self, slug, in_use_blocks)
    }
    fn create_credential(
        &self,
        credential: Credential,
    ) -> impl Future<Output = Result<Credential>> + Send {
        SledStore::create_credential(self, credential)
    }
    fn credential(&self, id: u64) -> impl Future<Output = Result<Credential>> + Send {
        ready(SledStore::credential(self, id))
    }
    fn list_credentials(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Credential>>> + Send {
        ready(id_after(after).and_then(|a| SledStore::list_credentials(self, holder, a, limit)))
    }
    fn credentials_of(&self, holder: u64) -> impl Future<Output = Result<Vec<Credential>>> + Send {
        ready(SledStore::credentials_of(self, holder))
    }
    fn update_credential(
        &self,
        credential: Credential,
    ) -> impl Future<Output = Result<Credential>> + Send {
        SledStore::update_credential(self, credential)
    }
    fn delete_credential(&self, id: u64) -> impl Future<Output = Result<()>> + Send {
        SledStore::delete_credential(self, id)
    }
    fn expiring(
        &self,
        from: Date,
        to: Date,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Credential>>> + Send {
        ready(SledStore::expiring(self, from, to, after, limit))
    }
    fn expiry_cursor(&self, credential: &Credential) -> Cursor {
        expiry_cursor(credential)
    }
    fn id_cursor(&self, id: u64) -> Cursor {
        id_cursor(id)
    }
    fn create_course(&self, course: Course) -> impl Future<Output = Result<Course>> + Send {
        SledStore::create_course(self, course)
    }
    fn create_courses(
        &self,
        courses: Vec<Course>,
        distinct: bool,
    ) -> impl Future<Output = Result<Vec<Course>>> + Send {
        SledStore::create_courses(self, courses, distinct)
    }

    fn create_distinct_course(
        &self,
        course: Course,
    ) -> impl Future<Output = Result<Course>> + Send {
        SledStore::create_distinct_course(self, course)
    }
    fn course(&self, id: u64) -> impl Future<Output = Result<Course>> + Send {
        ready(SledStore::course(self, id))
    }
    fn list_courses(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Course>>> + Send {
        ready(id_after(after).and_then(|a| SledStore::list_courses(self, holder, a, limit)))
    }
    fn courses_of(&self, holder: u64) -> impl Future<Output = Result<Vec<Course>>> + Send {
        ready(SledStore::courses_of(self, holder))
    }
    fn courses_on(
        &self,
        holder: u64,
        day: Date,
    ) -> impl Future<Output = Result<Vec<Course>>> + Send {
        ready(SledStore::courses_on(self, holder, day))
    }
    fn update_course(&self, course: Course) -> impl Future<Output = Result<Course>> + Send {
        SledStore::update_course(self, course)
    }
    fn delete_course(&self, id: u64) -> impl Future<Output = Result<()>> + Send {
        SledStore::delete_course(self, id)
    }
}

impl Outbox for SledStore {
    fn enqueue_alerts(
        &self,
        alerts: Vec<Alert>,
    ) -> impl Future<Output = Result<Vec<Alert>>> + Send {
        SledStore::enqueue_alerts(self, alerts)
    }
    fn alert_enqueued(&self, key: &DedupeKey) -> impl Future<Output = Result<bool>> + Send {
        ready(SledStore::alert_enqueued(self, key))
    }
    fn alert(&self, id: u64) -> impl Future<Output = Result<Alert>> + Send {
        ready(SledStore::alert(self, id))
    }
    fn alerts_of(
        &self,
        holder: u64,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Alert>>> + Send {
        ready(id_after(after).and_then(|a| SledStore::alerts_of(self, holder, a, limit)))
    }
    fn all_alerts(
        &self,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Alert>>> + Send {
        ready(id_after(after).and_then(|a| SledStore::all_alerts(self, a, limit)))
    }
    fn alerts_due(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Alert>>> + Send {
        ready(SledStore::alerts_due(self, now, limit))
    }
    fn next_retry_at(&self) -> impl Future<Output = Result<Option<Timestamp>>> + Send {
        ready(SledStore::next_retry_at(self))
    }
    fn modify_alert<E: Send>(
        &self,
        id: u64,
        change: impl FnOnce(&mut Alert) -> std::result::Result<(), E> + Send,
    ) -> impl Future<Output = Result<std::result::Result<Alert, E>>> + Send {
        SledStore::modify_alert(self, id, change)
    }
    fn modify_cycle_alerts(
        &self,
        credential: u64,
        expires_on: jiff::civil::Date,
        change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> impl Future<Output = Result<usize>> + Send {
        SledStore::modify_cycle_alerts(self, credential, expires_on, change)
    }
    fn modify_alerts_of(
        &self,
        holder: u64,
        change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> impl Future<Output = Result<usize>> + Send {
        SledStore::modify_alerts_of(self, holder, change)
    }
    fn modify_credential_alerts(
        &self,
        credential: u64,
        settings: impl FnOnce(&mut AlertSettings) + Send,
        change: impl FnMut(&mut Alert) -> bool + Send,
    ) -> impl Future<Output = Result<(AlertSettings, usize)>> + Send {
        SledStore::modify_credential_alerts(self, credential, settings, change)
    }
    fn create_channel(&self, channel: Channel) -> impl Future<Output = Result<Channel>> + Send {
        SledStore::create_channel(self, channel)
    }
    fn channel(&self, id: u64) -> impl Future<Output = Result<Channel>> + Send {
        ready(SledStore::channel(self, id))
    }
    fn channels_of(&self, holder: u64) -> impl Future<Output = Result<Vec<Channel>>> + Send {
        ready(SledStore::channels_of(self, holder))
    }
    fn team_channels(&self, team: u64) -> impl Future<Output = Result<Vec<Channel>>> + Send {
        ready(SledStore::team_channels(self, team))
    }
    fn delete_channel(&self, id: u64) -> impl Future<Output = Result<()>> + Send {
        SledStore::delete_channel(self, id)
    }
    fn alert_settings(
        &self,
        scope: &SettingsScope,
    ) -> impl Future<Output = Result<AlertSettings>> + Send {
        ready(SledStore::alert_settings(self, scope))
    }
    fn set_alert_settings(
        &self,
        scope: SettingsScope,
        settings: AlertSettings,
    ) -> impl Future<Output = Result<AlertSettings>> + Send {
        SledStore::set_alert_settings(self, scope, settings)
    }
    fn thresholds_in_use(&self) -> impl Future<Output = Result<Vec<u32>>> + Send {
        ready(SledStore::thresholds_in_use(self))
    }
}

impl Scheduler for SledStore {
    fn dirty_credentials(&self) -> impl Future<Output = Result<Vec<u64>>> + Send {
        ready(SledStore::dirty_credentials(self))
    }
    fn clear_dirty(
        &self,
        evaluated: &[Credential],
        gone: &[u64],
    ) -> impl Future<Output = Result<()>> + Send {
        SledStore::clear_dirty(self, evaluated, gone)
    }
    fn holder_zones(&self) -> impl Future<Output = Result<Vec<String>>> + Send {
        ready(SledStore::holder_zones(self))
    }
    fn holders_in_zone(&self, zone: &str) -> impl Future<Output = Result<Vec<u64>>> + Send {
        ready(SledStore::holders_in_zone(self, zone))
    }
    fn competencies_due(
        &self,
        windows: &[(Date, Date)],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send {
        ready(SledStore::competencies_due(self, windows))
    }
    fn dues_holders(
        &self,
        program: &str,
        dues: &crate::domain::Dues,
        residues: &std::collections::BTreeSet<i32>,
    ) -> impl Future<Output = Result<Vec<u64>>> + Send {
        ready(SledStore::dues_holders(self, program, dues, residues))
    }
    fn dirty_holders(&self) -> impl Future<Output = Result<Vec<u64>>> + Send {
        ready(SledStore::dirty_holders(self))
    }
    fn clear_dirty_holders(
        &self,
        evaluated: &[Holder],
        gone: &[u64],
    ) -> impl Future<Output = Result<()>> + Send {
        SledStore::clear_dirty_holders(self, evaluated, gone)
    }
    fn last_tick(&self, zone: &str) -> impl Future<Output = Result<Option<Timestamp>>> + Send {
        ready(SledStore::last_tick(self, zone))
    }
    fn set_last_tick(&self, zone: &str, at: Timestamp) -> impl Future<Output = Result<()>> + Send {
        SledStore::set_last_tick(self, zone, at)
    }
}

impl Snapshots for SledStore {
    async fn dump(&self) -> Result<Dump> {
        // A copy of every tree: off the runtime's threads.
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.dump())
            .await
            .map_err(|e| StoreError::Storage(format!("the dump task failed: {e}")))?
    }
    /// sled's view is the store itself: `wanted` is not needed.
    fn restore<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        _wanted: crate::store::Lookups,
        plan: impl FnOnce(&dyn StoreView) -> std::result::Result<(RestorePlan, T), E> + Send + 'static,
    ) -> impl Future<Output = std::result::Result<T, E>> + Send {
        SledStore::restore(self, plan)
    }
    fn restore_batches<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        job: impl FnOnce(&mut dyn crate::store::Restorer) -> std::result::Result<T, E> + Send + 'static,
    ) -> impl Future<Output = std::result::Result<T, E>> + Send {
        SledStore::restore_batches(self, job)
    }
}

impl Access for SledStore {
    fn create_token(&self, token: Token) -> impl Future<Output = Result<Token>> + Send {
        SledStore::create_token(self, token)
    }
    fn token_by_hash(&self, hash: TokenHash) -> impl Future<Output = Result<Option<Token>>> + Send {
        ready(SledStore::token_by_hash(self, hash))
    }
    fn tokens(&self) -> impl Future<Output = Result<Vec<Token>>> + Send {
        ready(SledStore::tokens(self))
    }
    fn revoke_token(&self, id: u64, at: Timestamp) -> impl Future<Output = Result<Token>> + Send {
        SledStore::revoke_token(self, id, at)
    }
    fn put_team(&self, team: Team) -> impl Future<Output = Result<Team>> + Send {
        SledStore::put_team(self, team)
    }
    fn teams(&self) -> impl Future<Output = Result<Vec<Team>>> + Send {
        ready(SledStore::teams(self))
    }
    fn history(
        &self,
        holder: Option<u64>,
        after: Option<&Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<HistoryEntry>>> + Send {
        ready(id_after(after).and_then(|a| SledStore::history(self, holder, a, limit)))
    }
}

/// Sled reads are in-process: the one-by-one defaults are already cheap.
impl crate::store::BatchReads for SledStore {}

impl Store for SledStore {
    fn acting(&self, actor: Actor) -> Self {
        SledStore::acting(self, actor)
    }
    fn with_alerts_after(&self, after: std::sync::Arc<dyn crate::store::AlertsAfter>) -> Self {
        SledStore::with_alerts_after(self, after)
    }
    fn close(&self) -> impl Future<Output = Result<()>> + Send {
        SledStore::close(self)
    }
}
