//! The alert outbox, delivery channels, alert settings and scheduler bookkeeping.

use super::keys::{alert_key, decode, id_key, pair_key, read_id, read_retry_at, retry_key};
use super::{
    ALERT_KEYS, ALERT_RETRY, ALERT_SETTINGS, ALERTS, ALERTS_BY_HOLDER, CHANNELS,
    CHANNELS_BY_HOLDER, DIRTY, HOLDERS_BY_ZONE, META, Page, Result, Store, StoreError, WriteSet,
    not_found,
};
use crate::domain::{Alert, AlertSettings, Channel, Credential, IdKind};
use jiff::Timestamp;

/// Whose alert settings: a program, a holder or a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsScope {
    /// A program, by slug.
    Program(String),
    /// A holder.
    Holder(u64),
    /// A credential.
    Credential(u64),
}

impl SettingsScope {
    pub(super) fn key(&self) -> Vec<u8> {
        match self {
            SettingsScope::Program(slug) => format!("p/{slug}"),
            SettingsScope::Holder(id) => format!("h/{id}"),
            SettingsScope::Credential(id) => format!("c/{id}"),
        }
        .into_bytes()
    }
}

fn plan_retry(tx: &mut WriteSet, old: Option<&Alert>, new: &Alert) {
    if let Some(at) = old.and_then(Alert::next_attempt) {
        tx.remove(ALERT_RETRY, &retry_key(at, new.id));
    }
    if let Some(at) = new.next_attempt() {
        tx.mark(ALERT_RETRY, &retry_key(at, new.id));
    }
}

impl Store {
    /// Writes `alert` to the outbox under its key (credential, cycle, threshold) unless that
    /// key was enqueued before; returns the stored alert, or `None` for a repeat.
    pub async fn enqueue_alert(&self, alert: Alert) -> Result<Option<Alert>> {
        self.write(|store, tx| {
            let key = alert_key(alert.credential_id, alert.expires_on, alert.threshold_days);
            if store.tree(ALERT_KEYS).contains_key(key)? {
                return Ok(None);
            }
            let mut alert = alert;
            alert.id = tx.next_id(store, IdKind::Alert)?;
            tx.put(ALERTS, &id_key(alert.id), &alert);
            tx.put_raw(ALERT_KEYS, &key, &id_key(alert.id));
            tx.mark(ALERTS_BY_HOLDER, &pair_key(alert.holder_id, alert.id));
            plan_retry(tx, None, &alert);
            Ok(Some(alert))
        })
        .await
    }

    /// Enqueues several alerts in one transaction and one flush (a tick's worth); skips keys
    /// enqueued before or repeated in `alerts`. Returns the stored alerts.
    pub async fn enqueue_alerts(&self, alerts: Vec<Alert>) -> Result<Vec<Alert>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|store, tx| {
            let mut keys = std::collections::HashSet::new();
            let fresh: Vec<Alert> = alerts
                .into_iter()
                .filter(|a| {
                    let key = alert_key(a.credential_id, a.expires_on, a.threshold_days);
                    keys.insert(key) && !store.tree(ALERT_KEYS).contains_key(key).unwrap_or(true)
                })
                .collect();
            let first = tx.reserve_ids(store, IdKind::Alert, fresh.len() as u64)?;
            let mut stored = Vec::with_capacity(fresh.len());
            for (alert, id) in fresh.into_iter().zip(first..) {
                let alert = Alert { id, ..alert };
                let key = alert_key(alert.credential_id, alert.expires_on, alert.threshold_days);
                tx.put(ALERTS, &id_key(alert.id), &alert);
                tx.put_raw(ALERT_KEYS, &key, &id_key(alert.id));
                tx.mark(ALERTS_BY_HOLDER, &pair_key(alert.holder_id, alert.id));
                plan_retry(tx, None, &alert);
                stored.push(alert);
            }
            Ok(stored)
        })
        .await
    }

    /// Whether an alert with this key was ever enqueued.
    pub fn alert_enqueued(
        &self,
        credential: u64,
        expires_on: jiff::civil::Date,
        threshold_days: i64,
    ) -> Result<bool> {
        Ok(self
            .tree(ALERT_KEYS)
            .contains_key(alert_key(credential, expires_on, threshold_days))?)
    }

    /// An alert by id.
    pub fn alert(&self, id: u64) -> Result<Alert> {
        self.get(ALERTS, &id_key(id))?
            .ok_or_else(|| not_found(IdKind::Alert, id))
    }

    /// Replaces an alert, keeping the retry index in step.
    pub async fn update_alert(&self, alert: Alert) -> Result<Alert> {
        self.write(|store, tx| {
            let old = store.alert(alert.id)?;
            plan_retry(tx, Some(&old), &alert);
            tx.put(ALERTS, &id_key(alert.id), &alert);
            Ok(alert)
        })
        .await
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
                let next = items.last().map(|a| id_key(a.id).to_vec());
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

    /// Creates a delivery channel for an existing holder.
    pub async fn create_channel(&self, channel: Channel) -> Result<Channel> {
        self.write(|store, tx| {
            store.holder(channel.holder_id)?;
            let existing = store.channels_of(channel.holder_id)?;
            if existing
                .iter()
                .any(|c| c.kind == channel.kind && c.target == channel.target)
            {
                return Err(StoreError::AlreadyExists(format!(
                    "holder {} already has the {} channel {}",
                    IdKind::Holder.format(channel.holder_id),
                    channel.kind.name(),
                    channel.target
                )));
            }
            let mut channel = channel;
            channel.id = tx.next_id(store, IdKind::Channel)?;
            tx.put(CHANNELS, &id_key(channel.id), &channel);
            tx.mark(CHANNELS_BY_HOLDER, &pair_key(channel.holder_id, channel.id));
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

    /// Deletes a channel.
    pub async fn delete_channel(&self, id: u64) -> Result<()> {
        self.write(|store, tx| {
            let old = store.channel(id)?;
            tx.remove(CHANNELS, &id_key(id));
            tx.remove(CHANNELS_BY_HOLDER, &pair_key(old.holder_id, id));
            Ok(())
        })
        .await
    }

    /// The alert settings of a scope (defaults if none were set).
    pub fn alert_settings(&self, scope: &SettingsScope) -> Result<AlertSettings> {
        Ok(self.get(ALERT_SETTINGS, &scope.key())?.unwrap_or_default())
    }

    /// Replaces the alert settings of a scope.
    pub async fn set_alert_settings(
        &self,
        scope: SettingsScope,
        settings: AlertSettings,
    ) -> Result<AlertSettings> {
        self.write(|_, tx| {
            tx.put(ALERT_SETTINGS, &scope.key(), &settings);
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

    /// Forgets that these credentials changed.
    pub async fn clear_dirty(&self, ids: &[u64]) -> Result<()> {
        self.write(|_, tx| {
            for id in ids {
                tx.remove(DIRTY, &id_key(*id));
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

    /// The instant of the last completed tick in `zone`.
    pub fn last_tick(&self, zone: &str) -> Result<Option<Timestamp>> {
        let key = format!("last_tick/{zone}");
        Ok(self
            .tree(META)
            .get(key.as_bytes())?
            .and_then(|v| read_id(&v))
            .and_then(|s| Timestamp::from_second(s as i64).ok()))
    }

    /// Records a completed tick in `zone`.
    pub async fn set_last_tick(&self, zone: &str, at: Timestamp) -> Result<()> {
        let key = format!("last_tick/{zone}");
        self.write(|_, tx| {
            tx.put_raw(META, key.as_bytes(), &id_key(at.as_second() as u64));
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
            plan_retry(
                tx,
                Some(&alert),
                &Alert {
                    cancelled: true,
                    ..alert.clone()
                },
            );
            tx.remove(ALERTS, &id_key(alert.id));
            tx.remove(ALERTS_BY_HOLDER, &pair_key(holder, alert.id));
            tx.remove(
                ALERT_KEYS,
                &alert_key(alert.credential_id, alert.expires_on, alert.threshold_days),
            );
        }
        for channel in self.channels_of(holder)? {
            tx.remove(CHANNELS, &id_key(channel.id));
            tx.remove(CHANNELS_BY_HOLDER, &pair_key(holder, channel.id));
        }
        for c in creds {
            tx.remove(DIRTY, &id_key(c.id));
            tx.remove(ALERT_SETTINGS, format!("c/{}", c.id).as_bytes());
        }
        tx.remove(ALERT_SETTINGS, format!("h/{holder}").as_bytes());
        Ok(())
    }
}
