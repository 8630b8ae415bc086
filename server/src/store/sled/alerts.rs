//! The alert outbox, delivery channels, alert settings and scheduler bookkeeping.

use super::keys::{
    alert_key, decode, dedupe_index_key, dues_key, expiry_key, id_key, read_dues_month, read_id,
    read_retry_at, retry_key, settings_key,
};
use super::{
    ALERT_KEYS, ALERT_RETRY, ALERT_SETTINGS, ALERTS, ALERTS_BY_HOLDER, CHANNELS,
    CHANNELS_BY_HOLDER, CHANNELS_BY_TEAM, CRED_BY_DUES, DIRTY, DIRTY_HOLDERS, HOLDERS_BY_DUE,
    HOLDERS_BY_ZONE, META, Page, Result, SledStore, StoreError, TEAMS, WriteSet, not_found,
};
use crate::domain::{Alert, AlertSettings, Channel, Credential, DedupeKey, IdKind};
use crate::store::{Conflict, Cursor, SettingsScope};
use jiff::Timestamp;
use std::collections::BTreeSet;

/// Plans writing `new` over `old`, the same alert after a change, keeping its index
/// entries in step; returns whether anything changed. Refuses to change what the indexes are
/// keyed by.
pub(super) fn plan_change(tx: &mut WriteSet, old: &Alert, new: &Alert) -> Result<bool> {
    if new == old {
        return Ok(false);
    }
    let identity = |a: &Alert| (a.id, a.holder_id, a.dedupe_key());
    if identity(new) != identity(old) {
        return Err(StoreError::Conflict(Conflict::Immutable(
            "an alert's id, holder and key",
        )));
    }
    tx.put_record(Some(old), new);
    Ok(true)
}

impl SledStore {
    /// Enqueues several alerts in one transaction and one flush (a tick's worth); skips keys
    /// enqueued before or repeated in `alerts`. Returns the stored alerts.
    pub async fn enqueue_alerts(&self, alerts: Vec<Alert>) -> Result<Vec<Alert>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|store, tx| {
            let mut keys = std::collections::HashSet::new();
            let mut fresh: Vec<Alert> = Vec::with_capacity(alerts.len());
            for a in alerts {
                let key = dedupe_index_key(&a.dedupe_key());
                // A read error fails the tick (it is retried); it never passes for a repeat.
                if keys.insert(key.clone()) && !store.tree(ALERT_KEYS).contains_key(key)? {
                    fresh.push(a);
                }
            }
            let first = tx.reserve_ids(store, IdKind::Alert, fresh.len() as u64)?;
            let mut stored = Vec::with_capacity(fresh.len());
            for (alert, id) in fresh.into_iter().zip(first..) {
                let alert = Alert { id, ..alert };
                tx.put_record(None, &alert);
                stored.push(alert);
            }
            Ok(stored)
        })
        .await
    }

    /// Whether an alert with this dedupe key was ever enqueued.
    pub fn alert_enqueued(&self, key: &DedupeKey) -> Result<bool> {
        Ok(self.tree(ALERT_KEYS).contains_key(dedupe_index_key(key))?)
    }

    /// An alert by id.
    pub fn alert(&self, id: u64) -> Result<Alert> {
        self.get(ALERTS, &id_key(id))?
            .ok_or_else(|| not_found(IdKind::Alert, id))
    }

    /// Changes the alert `id` as it is stored now: `change` runs under the write lock on the
    /// current record, and what it leaves is written with the retry index in one write, so
    /// concurrent changes (an acknowledgement while a delivery is in flight) are never lost.
    ///
    /// The outer error is the store's; the inner one is `change`'s refusal, in which case
    /// nothing is written. The alert's id, holder and key cannot change.
    pub async fn modify_alert<E>(
        &self,
        id: u64,
        change: impl FnOnce(&mut Alert) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<Alert, E>> {
        self.write(|store, tx| {
            let old = store.alert(id)?;
            let mut new = old.clone();
            if let Err(refused) = change(&mut new) {
                return Ok(Err(refused));
            }
            plan_change(tx, &old, &new)?;
            Ok(Ok(new))
        })
        .await
    }

    /// Changes a holder's alerts in one transaction: `change` runs under the write lock on
    /// each current record and says whether it changed it. Returns how many changed.
    pub async fn modify_alerts_of(
        &self,
        holder: u64,
        mut change: impl FnMut(&mut Alert) -> bool,
    ) -> Result<usize> {
        self.write(|store, tx| store.plan_modify_alerts_of(tx, holder, |_| true, &mut change))
            .await
    }

    /// Changes a credential's alert settings and its alerts in one write, so a mute and the
    /// cancellations it implies land together or not at all. `settings` edits the
    /// credential's settings (the defaults if none were set); `change` runs on each of the
    /// credential's alerts and says whether it changed it. Returns the stored settings and
    /// how many alerts changed.
    pub async fn modify_credential_alerts(
        &self,
        credential: u64,
        settings: impl FnOnce(&mut AlertSettings),
        mut change: impl FnMut(&mut Alert) -> bool,
    ) -> Result<(AlertSettings, usize)> {
        self.write(|store, tx| {
            let holder = store.credential(credential)?.holder_id;
            let scope = SettingsScope::Credential(credential);
            let mut stored = store.alert_settings(&scope)?;
            settings(&mut stored);
            tx.put(ALERT_SETTINGS, &settings_key(&scope), &stored);
            let changed = store.plan_modify_alerts_of(
                tx,
                holder,
                |a| a.credential_id == credential,
                &mut change,
            )?;
            Ok((stored, changed))
        })
        .await
    }

    /// Changes the alerts of one cycle of `credential` (see the port's
    /// `modify_cycle_alerts`): the cycle's entries of the dedupe index, a prefix of its key.
    pub async fn modify_cycle_alerts(
        &self,
        credential: u64,
        expires_on: jiff::civil::Date,
        mut change: impl FnMut(&mut Alert) -> bool,
    ) -> Result<usize> {
        let prefix = alert_key(credential, expires_on, 0)[..12].to_vec();
        let cycle = |store: &SledStore| -> Result<Vec<Alert>> {
            let mut alerts = Vec::new();
            for entry in store.tree(ALERT_KEYS).scan_prefix(&prefix) {
                let (_, id) = entry?;
                let id = read_id(&id).ok_or_else(|| StoreError::Corrupt("bad alert key".into()))?;
                alerts.push(store.alert(id)?);
            }
            Ok(alerts)
        };
        // Most writes change nothing here: find out without the write lock or a flush.
        if !cycle(self)?.into_iter().any(|mut a| change(&mut a)) {
            return Ok(0);
        }
        self.write(|store, tx| {
            let mut changed = 0;
            for old in cycle(store)? {
                let mut new = old.clone();
                if change(&mut new) && plan_change(tx, &old, &new)? {
                    changed += 1;
                }
            }
            Ok(changed)
        })
        .await
    }

    /// Plans `change` on each of a holder's alerts that `select` picks; returns how many
    /// changed. Call under the write lock.
    fn plan_modify_alerts_of(
        &self,
        tx: &mut WriteSet,
        holder: u64,
        select: impl Fn(&Alert) -> bool,
        change: &mut impl FnMut(&mut Alert) -> bool,
    ) -> Result<usize> {
        let mut changed = 0;
        for old in self.alerts_of(holder, None, usize::MAX)?.items {
            if !select(&old) {
                continue;
            }
            let mut new = old.clone();
            if change(&mut new) && plan_change(tx, &old, &new)? {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// A page of one holder's alerts in stream order, after `after`.
    pub fn alerts_of(&self, holder: u64, after: Option<u64>, limit: usize) -> Result<Page<Alert>> {
        self.children(ALERTS_BY_HOLDER, ALERTS, holder, after, limit)
    }

    /// A page of every alert in id order, after `after`.
    pub fn all_alerts(&self, after: Option<u64>, limit: usize) -> Result<Page<Alert>> {
        let start = id_key(after.map_or(0, |a| a.saturating_add(1)));
        let mut items: Vec<Alert> = Vec::new();
        for entry in self.tree(ALERTS).range(start..) {
            let (_, value) = entry?;
            if items.len() == limit {
                let next = items.last().map(|a| Cursor::new(id_key(a.id).to_vec()));
                return Ok(Page { items, next });
            }
            items.push(decode(&value).map_err(StoreError::Corrupt)?);
        }
        Ok(Page { items, next: None })
    }

    /// Alerts with a delivery attempt due at or before `now`, earliest first.
    pub fn alerts_due(&self, now: Timestamp, limit: usize) -> Result<Vec<Alert>> {
        let end = retry_key(now, u64::MAX);
        let mut out = Vec::new();
        for entry in self.tree(ALERT_RETRY).range(..=end.to_vec()) {
            let (key, _) = entry?;
            let id =
                read_id(&key[8..]).ok_or_else(|| StoreError::Corrupt("bad retry key".into()))?;
            out.push(self.alert(id)?);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// The earliest scheduled delivery attempt.
    pub fn next_retry_at(&self) -> Result<Option<Timestamp>> {
        Ok(self
            .tree(ALERT_RETRY)
            .first()?
            .and_then(|(k, _)| read_retry_at(&k)))
    }

    /// Creates a delivery channel for an existing holder, or for an existing team.
    pub async fn create_channel(&self, channel: Channel) -> Result<Channel> {
        self.write(|store, tx| {
            if channel.team_id != 0 {
                if store
                    .get::<crate::domain::Team>(TEAMS, &id_key(channel.team_id))?
                    .is_none()
                {
                    return Err(StoreError::Conflict(Conflict::NoSuchTeam(channel.team_id)));
                }
                let existing = store.team_channels(channel.team_id)?;
                if existing
                    .iter()
                    .any(|c| c.kind == channel.kind && c.target == channel.target)
                {
                    return Err(StoreError::Conflict(Conflict::TeamChannelExists {
                        team: channel.team_id,
                        kind: channel.kind.name(),
                        target: channel.target.clone(),
                    }));
                }
                let mut channel = channel;
                channel.holder_id = 0;
                channel.id = tx.next_id(store, IdKind::Channel)?;
                tx.put_record(None, &channel);
                return Ok(channel);
            }
            store.holder(channel.holder_id)?;
            let existing = store.channels_of(channel.holder_id)?;
            if existing
                .iter()
                .any(|c| c.kind == channel.kind && c.target == channel.target)
            {
                return Err(StoreError::Conflict(Conflict::ChannelExists {
                    holder: channel.holder_id,
                    kind: channel.kind.name(),
                    target: channel.target.clone(),
                }));
            }
            let mut channel = channel;
            channel.id = tx.next_id(store, IdKind::Channel)?;
            tx.put_record(None, &channel);
            Ok(channel)
        })
        .await
    }

    /// A channel by id.
    pub fn channel(&self, id: u64) -> Result<Channel> {
        self.get(CHANNELS, &id_key(id))?
            .ok_or_else(|| not_found(IdKind::Channel, id))
    }

    /// Every channel of a holder.
    pub fn channels_of(&self, holder: u64) -> Result<Vec<Channel>> {
        Ok(self
            .children(CHANNELS_BY_HOLDER, CHANNELS, holder, None, usize::MAX)?
            .items)
    }

    /// Every channel of a team.
    pub fn team_channels(&self, team: u64) -> Result<Vec<Channel>> {
        Ok(self
            .children(CHANNELS_BY_TEAM, CHANNELS, team, None, usize::MAX)?
            .items)
    }

    /// Deletes a channel.
    pub async fn delete_channel(&self, id: u64) -> Result<()> {
        self.write(|store, tx| {
            let old = store.channel(id)?;
            tx.remove_record(&old);
            Ok(())
        })
        .await
    }

    /// The alert settings of a scope (defaults if none were set).
    pub fn alert_settings(&self, scope: &SettingsScope) -> Result<AlertSettings> {
        Ok(self
            .get(ALERT_SETTINGS, &settings_key(scope))?
            .unwrap_or_default())
    }

    /// Replaces the alert settings of a scope.
    pub async fn set_alert_settings(
        &self,
        scope: SettingsScope,
        settings: AlertSettings,
    ) -> Result<AlertSettings> {
        self.write(|store, tx| {
            let key = settings_key(&scope);
            let old: Option<AlertSettings> = store.get(ALERT_SETTINGS, &key)?;
            let (record, holder) = match &scope {
                SettingsScope::Program(slug) => (format!("program {slug}"), None),
                SettingsScope::Holder(h) => (IdKind::Holder.format(*h), Some(*h)),
                SettingsScope::Credential(c) => (
                    IdKind::Credential.format(*c),
                    store.credential(*c).ok().map(|c| c.holder_id),
                ),
            };
            let json = |s: &AlertSettings| super::history::json_without(s, &[]);
            tx.note_raw(
                "alert settings",
                record,
                holder,
                old.as_ref().map(json),
                Some(json(&settings)),
            );
            tx.put(ALERT_SETTINGS, &key, &settings);
            Ok(settings)
        })
        .await
    }

    /// Every threshold any settings use, beyond the defaults (for the tick's index scans).
    pub fn thresholds_in_use(&self) -> Result<Vec<u32>> {
        let mut all = Vec::new();
        for v in self.tree(ALERT_SETTINGS).iter().values() {
            let s: AlertSettings = decode(&v?).map_err(StoreError::Corrupt)?;
            all.extend(s.thresholds.unwrap_or_default());
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Credentials changed since the last tick.
    pub fn dirty_credentials(&self) -> Result<Vec<u64>> {
        self.tree(DIRTY)
            .iter()
            .keys()
            .map(|k| read_id(&k?).ok_or_else(|| StoreError::Corrupt("bad dirty key".into())))
            .collect()
    }

    /// Forgets that these credentials changed: each of `evaluated` still stored as given,
    /// and each of `gone`.
    pub async fn clear_dirty(&self, evaluated: &[Credential], gone: &[u64]) -> Result<()> {
        self.write(|store, tx| {
            for c in evaluated {
                if store.credential(c.id).ok().as_ref() == Some(c) {
                    tx.remove(DIRTY, &id_key(c.id));
                }
            }
            for id in gone {
                tx.remove(DIRTY, &id_key(*id));
            }
            Ok(())
        })
        .await
    }

    /// Holders with a competency due on a day in any of `windows`: the competency index.
    pub fn competencies_due(
        &self,
        windows: &[(jiff::civil::Date, jiff::civil::Date)],
    ) -> Result<Vec<u64>> {
        let tree = self.tree(HOLDERS_BY_DUE);
        let mut ids = BTreeSet::new();
        for &(from, to) in windows {
            let range = expiry_key(from, 0).to_vec()..=expiry_key(to, u64::MAX).to_vec();
            for key in tree.range(range).keys() {
                let key = key?;
                ids.insert(
                    key.get(4..)
                        .and_then(read_id)
                        .ok_or_else(|| StoreError::Corrupt("bad competency index key".into()))?,
                );
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// Holders of a credential of `program` whose dues anniversary month is in one of
    /// `residues` modulo the dues period: the dues index, read for each such month between the
    /// program's first and last entries.
    pub fn dues_holders(
        &self,
        program: &str,
        dues: &crate::domain::Dues,
        residues: &BTreeSet<i32>,
    ) -> Result<Vec<u64>> {
        let tree = self.tree(CRED_BY_DUES);
        let mut prefix = program.as_bytes().to_vec();
        prefix.push(0);
        let bad = || StoreError::Corrupt("bad dues index key".into());
        let (Some(first), Some(last)) = (
            tree.scan_prefix(&prefix).keys().next().transpose()?,
            tree.scan_prefix(&prefix).keys().next_back().transpose()?,
        ) else {
            return Ok(Vec::new());
        };
        let min = read_dues_month(&first, prefix.len()).ok_or_else(bad)?;
        let max = read_dues_month(&last, prefix.len()).ok_or_else(bad)?;
        let mut ids = BTreeSet::new();
        for month in dues.anniversary_months(residues, min, max) {
            let range = dues_key(program, month, 0)..=dues_key(program, month, u64::MAX);
            for value in tree.range(range).values() {
                ids.insert(read_id(&value?).ok_or_else(bad)?);
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// Holders written since the last tick evaluated them.
    pub fn dirty_holders(&self) -> Result<Vec<u64>> {
        self.tree(DIRTY_HOLDERS)
            .iter()
            .keys()
            .map(|k| read_id(&k?).ok_or_else(|| StoreError::Corrupt("bad dirty holder key".into())))
            .collect()
    }

    /// Forgets that these holders changed: each of `evaluated` still stored as given, and
    /// each of `gone`.
    pub async fn clear_dirty_holders(
        &self,
        evaluated: &[crate::domain::Holder],
        gone: &[u64],
    ) -> Result<()> {
        self.write(|store, tx| {
            for h in evaluated {
                if store.holder(h.id).ok().as_ref() == Some(h) {
                    tx.remove(DIRTY_HOLDERS, &id_key(h.id));
                }
            }
            for id in gone {
                tx.remove(DIRTY_HOLDERS, &id_key(*id));
            }
            Ok(())
        })
        .await
    }

    /// The distinct time zones of holders.
    pub fn holder_zones(&self) -> Result<Vec<String>> {
        let tree = self.tree(HOLDERS_BY_ZONE);
        let mut zones = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some((key, _)) = tree.range(from.clone()..).next().transpose()? {
            let zone_len = key.iter().position(|&b| b == 0).unwrap_or(key.len());
            let zone = String::from_utf8_lossy(&key[..zone_len]).into_owned();
            from = key[..zone_len].to_vec();
            from.push(1);
            zones.push(zone);
        }
        Ok(zones)
    }

    /// The ids of the holders in `zone`, ascending: the zone index's entries under the zone.
    pub fn holders_in_zone(&self, zone: &str) -> Result<Vec<u64>> {
        let mut prefix = zone.as_bytes().to_vec();
        prefix.push(0);
        self.tree(HOLDERS_BY_ZONE)
            .scan_prefix(&prefix)
            .keys()
            .map(|k| {
                let k = k?;
                read_id(&k[prefix.len()..])
                    .ok_or_else(|| StoreError::Corrupt("bad zone index key".into()))
            })
            .collect()
    }

    /// The instant of the last completed tick in `zone`.
    pub fn last_tick(&self, zone: &str) -> Result<Option<Timestamp>> {
        let key = super::keys::last_tick_key(zone);
        Ok(self
            .tree(META)
            .get(&key)?
            .and_then(|v| read_id(&v))
            .and_then(|s| Timestamp::from_second(s as i64).ok()))
    }

    /// Records a completed tick in `zone`.
    pub async fn set_last_tick(&self, zone: &str, at: Timestamp) -> Result<()> {
        let key = super::keys::last_tick_key(zone);
        self.write(|_, tx| {
            tx.put_raw(META, &key, &id_key(at.as_second() as u64));
            Ok(())
        })
        .await
    }

    /// Plans the removal of a deleted holder's alerts, channels and settings.
    pub(super) fn plan_delete_alert_state(
        &self,
        tx: &mut WriteSet,
        holder: u64,
        creds: &[Credential],
    ) -> Result<()> {
        for alert in self.alerts_of(holder, None, usize::MAX)?.items {
            tx.remove_record(&alert);
        }
        for channel in self.channels_of(holder)? {
            tx.remove_record(&channel);
        }
        for c in creds {
            tx.remove(DIRTY, &id_key(c.id));
            tx.remove(
                ALERT_SETTINGS,
                &settings_key(&SettingsScope::Credential(c.id)),
            );
        }
        tx.remove(
            ALERT_SETTINGS,
            &settings_key(&SettingsScope::Holder(holder)),
        );
        Ok(())
    }
}
