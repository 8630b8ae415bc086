//! Alert use cases: the outbox as holders see it (list, acknowledge, snooze), muting a
//! credential, alert settings and the thresholds they put in effect, and delivery channels.
//!
//! Every change to an alert is a domain transition applied by the store to the alert as
//! stored now ([`Outbox::modify_alert`]), so a delivery in flight cannot overwrite it.

use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{
    Alert, AlertSettings, AlertStatus, Channel, ChannelKind, Holder, IdKind, Refused,
    default_thresholds, literal_host, thresholds_for,
};
use crate::store::{Cursor, Page, SettingsScope, Store};
use jiff::civil::Date;
use std::collections::HashMap;

/// The shortest webhook secret a new channel may have: a short one can be guessed, and
/// then anyone can forge signed alerts. Checked on creation only, so older dumps still
/// import.
pub const MIN_SECRET_BYTES: usize = 16;

/// Which alerts a list shows, by their status on the holder's today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertFilter {
    /// Every status but cancelled.
    #[default]
    Active,
    /// Every alert, cancelled ones included.
    All,
    /// Alerts of one status.
    Only(AlertStatus),
}

impl AlertFilter {
    /// Whether an alert of `status` is shown.
    pub fn admits(self, status: AlertStatus) -> bool {
        match self {
            AlertFilter::Active => status != AlertStatus::Cancelled,
            AlertFilter::All => true,
            AlertFilter::Only(wanted) => status == wanted,
        }
    }
}

/// An alert with its status on its holder's today: what a holder is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertWithStatus {
    /// The alert as stored.
    pub alert: Alert,
    /// Its status on the holder's local date when it was read.
    pub status: AlertStatus,
}

/// What muting or unmuting a credential did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Muted {
    /// The credential.
    pub credential_id: u64,
    /// Whether it is muted now.
    pub muted: bool,
    /// How many of its alerts the change cancelled.
    pub cancelled: usize,
}

/// The alert settings of one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedSettings {
    /// Whose settings.
    pub scope: SettingsScope,
    /// The settings as stored (defaults if none were set).
    pub settings: AlertSettings,
    /// The thresholds in effect for the scope and where they come from ("holder h1", "the
    /// default for a 24-month cycle"); `None` for a holder without its own (each
    /// credential's program decides).
    pub effective: Option<(Vec<u32>, String)>,
}

impl<S: Store> Service<S> {
    /// A page of alerts (one holder's, or everyone's) that `filter` admits, in id order,
    /// after `after`; at most `size` of them.
    pub async fn list_alerts(
        &self,
        caller: &Caller,
        holder: Option<u64>,
        filter: AlertFilter,
        mut after: Option<Cursor>,
        size: usize,
    ) -> ServiceResult<Page<AlertWithStatus>> {
        if let Some(id) = holder {
            self.holder(caller, id).await?;
        }
        let mut holders = HashMap::new();
        let mut alerts = Vec::new();
        loop {
            let page = match holder {
                Some(h) => self.store.alerts_of(h, after.as_ref(), size).await?,
                None => self.store.all_alerts(after.as_ref(), size).await?,
            };
            let last = page.items.last().map_or(0, |l| l.id);
            for alert in page.items {
                after = Some(self.store.id_cursor(alert.id));
                let id = alert.id;
                if !caller.sees(alert.holder_id) {
                    continue;
                }
                let shown = self.shown(caller, &mut holders, alert).await?;
                if !filter.admits(shown.status) {
                    continue;
                }
                alerts.push(shown);
                if alerts.len() == size {
                    let more = page.next.is_some() || id != last;
                    return Ok(Page {
                        items: alerts,
                        next: if more { after } else { None },
                    });
                }
            }
            if page.next.is_none() {
                return Ok(Page {
                    items: alerts,
                    next: None,
                });
            }
        }
    }

    /// A holder's alerts after the one numbered `after_seq`, in stream order (the backlog
    /// of a watch, or what a watcher that fell behind missed), at most `limit` of them.
    pub async fn alerts_after(
        &self,
        caller: &Caller,
        holder: u64,
        after_seq: u64,
        limit: usize,
    ) -> ServiceResult<Vec<AlertWithStatus>> {
        self.holder(caller, holder).await?;
        let page = self
            .store
            .alerts_of(holder, Some(&self.store.id_cursor(after_seq)), limit)
            .await?;
        let mut holders = HashMap::new();
        let mut out = Vec::with_capacity(page.items.len());
        for alert in page.items {
            out.push(self.shown(caller, &mut holders, alert).await?);
        }
        Ok(out)
    }

    /// An alert (for instance one the engine just enqueued) with its status now.
    pub async fn alert_status(
        &self,
        caller: &Caller,
        alert: Alert,
    ) -> ServiceResult<AlertWithStatus> {
        let holder = self.holder(caller, alert.holder_id).await?;
        let status = alert.status(self.today(&holder));
        Ok(AlertWithStatus { alert, status })
    }

    /// The holder has seen alert `id`: nothing more is delivered.
    pub async fn acknowledge_alert(
        &self,
        caller: &Caller,
        id: u64,
    ) -> ServiceResult<AlertWithStatus> {
        self.alert_of_caller(caller, id).await?;
        self.change_alert(caller, id, |a| {
            a.acknowledge();
            Ok(())
        })
        .await
    }

    /// "Remind me again on `until`": refused unless `until` is after the holder's today;
    /// deliveries start over at the holder's local midnight of `until`.
    pub async fn snooze_alert(
        &self,
        caller: &Caller,
        id: u64,
        until: Date,
    ) -> ServiceResult<AlertWithStatus> {
        let alert = self.alert_of_caller(caller, id).await?;
        let holder = self.holder(caller, alert.holder_id).await?;
        let today = self.today(&holder);
        if until <= today {
            return Err(ServiceError::invalid(
                "until",
                format!("until ({until}) must be after today ({today})"),
            ));
        }
        let at = until
            .to_zoned(holder.zone())
            .map(|z| z.timestamp())
            .map_err(|_| ServiceError::invalid("until", "until is out of range"))?;
        self.change_alert(caller, id, |a| a.snooze(until, at)).await
    }

    /// Mutes or unmutes a credential. Muting cancels its alerts still waiting for delivery,
    /// in the same write as the setting; unmuting leaves cancelled alerts cancelled (the
    /// store does not record why an alert was cancelled, and a re-opened one would be
    /// stale), so the next mark that comes due alerts again.
    pub async fn mute_credential(
        &self,
        caller: &Caller,
        credential_id: u64,
        muted: bool,
    ) -> ServiceResult<Muted> {
        self.get_credential(caller, credential_id).await?;
        let (settings, cancelled) = self
            .store_as(caller)
            .modify_credential_alerts(
                credential_id,
                |settings| settings.muted = muted,
                |a| {
                    let cancel = muted && a.next_attempt().is_some();
                    if cancel {
                        a.cancel();
                    }
                    cancel
                },
            )
            .await?;
        self.wake_alerts();
        Ok(Muted {
            credential_id,
            muted: settings.muted,
            cancelled,
        })
    }

    /// The alert settings of `scope`, which must name an existing program, holder or
    /// credential.
    pub async fn alert_settings(
        &self,
        caller: &Caller,
        scope: SettingsScope,
    ) -> ServiceResult<ScopedSettings> {
        self.check_scope(caller, &scope).await?;
        let settings = self.store.alert_settings(&scope).await?;
        let effective = self.effective_thresholds(&scope).await?;
        Ok(ScopedSettings {
            scope,
            settings,
            effective,
        })
    }

    /// The thresholds in effect for `scope`, and the level they come from: a credential's
    /// own, else its holder's, else its program's, else the defaults for the cycle.
    async fn effective_thresholds(
        &self,
        scope: &SettingsScope,
    ) -> ServiceResult<Option<(Vec<u32>, String)>> {
        let own = |scope: SettingsScope| async move {
            Ok::<_, ServiceError>(self.store.alert_settings(&scope).await?.thresholds)
        };
        let (levels, slug) = match scope {
            SettingsScope::Credential(id) => {
                let credential = self.store.credential(*id).await?;
                (
                    vec![
                        (
                            SettingsScope::Credential(*id),
                            format!("credential {}", IdKind::Credential.format(*id)),
                        ),
                        (
                            SettingsScope::Holder(credential.holder_id),
                            format!("holder {}", IdKind::Holder.format(credential.holder_id)),
                        ),
                        (
                            SettingsScope::Program(credential.program.clone()),
                            format!("program {}", credential.program),
                        ),
                    ],
                    credential.program,
                )
            }
            SettingsScope::Program(slug) => (
                vec![(
                    SettingsScope::Program(slug.clone()),
                    format!("program {slug}"),
                )],
                slug.clone(),
            ),
            SettingsScope::Holder(id) => {
                return Ok(own(SettingsScope::Holder(*id))
                    .await?
                    .map(|t| (t, format!("holder {}", IdKind::Holder.format(*id)))));
            }
        };
        for (level, from) in levels {
            if let Some(thresholds) = own(level).await? {
                return Ok(Some((thresholds, from)));
            }
        }
        let program = self.program(&slug).await?;
        Ok(Some((
            default_thresholds(program.cycle_months),
            format!("the default for a {}-month cycle", program.cycle_months),
        )))
    }

    /// Replaces the thresholds of `scope` (its mute stays as it is); an empty list brings
    /// back the defaults. Thresholds are stored farthest first, without repeats.
    pub async fn set_alert_thresholds(
        &self,
        caller: &Caller,
        scope: SettingsScope,
        thresholds: Vec<u32>,
    ) -> ServiceResult<ScopedSettings> {
        self.check_scope(caller, &scope).await?;
        if let SettingsScope::Program(_) = scope {
            caller.require_admin("setting a program's thresholds")?;
        }
        let requested = AlertSettings {
            thresholds: Some(thresholds),
            muted: false,
        };
        requested.validate()?;
        let mut settings = self.store.alert_settings(&scope).await?;
        settings.thresholds = requested.normalized().thresholds;
        let settings = self
            .store_as(caller)
            .set_alert_settings(scope.clone(), settings)
            .await?;
        self.wake_alerts();
        let effective = self.effective_thresholds(&scope).await?;
        Ok(ScopedSettings {
            scope,
            settings,
            effective,
        })
    }

    /// The thresholds in effect for a credential: its own settings, else its holder's, else
    /// its program's, else the program's defaults.
    pub async fn thresholds_in_effect(
        &self,
        caller: &Caller,
        credential_id: u64,
    ) -> ServiceResult<Vec<u32>> {
        let credential = self.get_credential(caller, credential_id).await?;
        let program = self.program(&credential.program).await?;
        let settings = |scope| async move { self.store.alert_settings(&scope).await };
        Ok(thresholds_for(
            &settings(SettingsScope::Credential(credential.id)).await?,
            &settings(SettingsScope::Holder(credential.holder_id)).await?,
            &settings(SettingsScope::Program(program.slug.clone())).await?,
            &program,
        ))
    }

    /// Adds a delivery channel: checked against its kind, one per holder, kind and target; a
    /// webhook to a literal address in a refused range, or with a short secret, is refused.
    pub async fn create_channel(
        &self,
        caller: &Caller,
        channel: Channel,
    ) -> ServiceResult<Channel> {
        self.holder(caller, channel.holder_id).await?;
        self.create_channel_checked(caller, channel).await
    }

    /// Adds a channel whose owner (holder or team) the caller was checked against.
    pub(super) async fn create_channel_checked(
        &self,
        caller: &Caller,
        channel: Channel,
    ) -> ServiceResult<Channel> {
        channel.validate()?;
        if channel.kind == ChannelKind::Webhook {
            if let Some(address) = literal_host(&channel.target)
                && let Err(denied) = self.destinations.check(address)
            {
                return Err(ServiceError::invalid(
                    "channel.target",
                    format!("channel.target is refused: {denied}"),
                ));
            }
            if !channel.secret.is_empty() && channel.secret.len() < MIN_SECRET_BYTES {
                return Err(ServiceError::invalid(
                    "channel.secret",
                    format!(
                        "channel.secret must be at least {MIN_SECRET_BYTES} bytes (a random one: `openssl rand -hex 32`)"
                    ),
                ));
            }
        }
        let channel = self.store_as(caller).create_channel(channel).await?;
        self.reach_through(&channel).await?;
        self.wake_alerts();
        Ok(channel)
    }

    /// Gives the undeliverable alerts of the holder of `channel` (of every member of its
    /// team, for a team's channel) a delivery through it, new in the store (by `notify add`
    /// or by an import); alerts that reach someone are left alone. Each holder's alerts
    /// change in one transaction of their own, as a tick's new alerts already carry the
    /// channel.
    pub(super) async fn reach_through(&self, channel: &Channel) -> ServiceResult<()> {
        let now = self.clock.now();
        let holders = if channel.team_id == 0 {
            vec![channel.holder_id]
        } else {
            self.store
                .teams()
                .await?
                .into_iter()
                .find(|t| t.id == channel.team_id)
                .map(|t| t.members)
                .unwrap_or_default()
        };
        let mut reached = 0;
        for holder in holders {
            reached += self
                .store
                .modify_alerts_of(holder, |a| {
                    a.reach(channel.id, channel.kind, &channel.target, now)
                })
                .await?;
        }
        if reached > 0 {
            tracing::info!(channel = %IdKind::Channel.format(channel.id), alerts = reached, "undeliverable alerts now go to the new channel");
        }
        Ok(())
    }

    /// Gives the holder's undeliverable alerts a delivery to their own e-mail address, once
    /// they have one and no e-mail channel (after `holder edit --email`).
    pub(super) async fn reach_holder_address(&self, holder: &Holder) -> ServiceResult<()> {
        let channels = self.store.channels_of(holder.id).await?;
        if let Some(address) = crate::domain::holder_address(&channels, holder) {
            let now = self.clock.now();
            self.store
                .modify_alerts_of(holder.id, |a| {
                    a.reach(
                        crate::domain::HOLDER_EMAIL,
                        ChannelKind::Email,
                        address,
                        now,
                    )
                })
                .await?;
        }
        Ok(())
    }

    /// A holder's delivery channels.
    pub async fn channels(&self, caller: &Caller, holder: u64) -> ServiceResult<Vec<Channel>> {
        self.holder(caller, holder).await?;
        Ok(self.store.channels_of(holder).await?)
    }

    /// Removes a delivery channel.
    pub async fn delete_channel(&self, caller: &Caller, id: u64) -> ServiceResult<()> {
        let channel = self.store.channel(id).await?;
        if channel.team_id != 0 {
            self.may_change_team_channel(caller, &channel).await?;
        } else {
            self.visible(caller, IdKind::Channel, id, channel.holder_id)?;
        }
        Ok(self.store_as(caller).delete_channel(id).await?)
    }

    /// Alert `id` as stored, if the caller may see it (else "not found", as if absent).
    async fn alert_of_caller(&self, caller: &Caller, id: u64) -> ServiceResult<Alert> {
        let alert = self.store.alert(id).await?;
        self.visible(caller, IdKind::Alert, id, alert.holder_id)?;
        Ok(alert)
    }

    /// Applies a domain transition to alert `id` as stored now, in one write.
    async fn change_alert(
        &self,
        caller: &Caller,
        id: u64,
        transition: impl FnOnce(&mut Alert) -> Result<(), Refused> + Send,
    ) -> ServiceResult<AlertWithStatus> {
        let stored = self.store_as(caller).modify_alert(id, transition).await??;
        self.wake_alerts();
        self.alert_status(caller, stored).await
    }

    /// The scope's program, holder or credential exists.
    async fn check_scope(&self, caller: &Caller, scope: &SettingsScope) -> ServiceResult<()> {
        match scope {
            SettingsScope::Program(slug) => {
                self.program(slug).await?;
            }
            SettingsScope::Holder(id) => {
                self.holder(caller, *id).await?;
            }
            SettingsScope::Credential(id) => {
                self.get_credential(caller, *id).await?;
            }
        }
        Ok(())
    }

    /// `alert` with its status, reading its holder once per list.
    async fn shown(
        &self,
        caller: &Caller,
        holders: &mut HashMap<u64, Holder>,
        alert: Alert,
    ) -> ServiceResult<AlertWithStatus> {
        let holder = match holders.get(&alert.holder_id) {
            Some(h) => h,
            None => {
                let h = self.holder(caller, alert.holder_id).await?;
                holders.entry(alert.holder_id).or_insert(h)
            }
        };
        let status = alert.status(self.today(holder));
        Ok(AlertWithStatus { alert, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::domain::{ChannelKind, Credential, Delivery, DeliveryState, Mark};
    use crate::store::{SledStore, StoreOptions};
    use jiff::Timestamp;
    use std::sync::Arc;

    /// A service at 2027-03-31T12:00Z over a fresh store, with one holder in Auckland (where
    /// it is already 2027-04-01) and two credentials.
    async fn service() -> (
        tempfile::TempDir,
        Service<SledStore>,
        Holder,
        [Credential; 2],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), &StoreOptions::default()).unwrap();
        let clock = ManualClock::new("2027-03-31T12:00:00Z".parse().unwrap());
        let service = Service::new(store.clone(), Arc::new(clock), Arc::default());
        let holder = store
            .create_holder(Holder {
                id: 0,
                name: "Aroha".into(),
                email: String::new(),
                time_zone: "Pacific/Auckland".into(),
                hired_on: None,
                competencies: Vec::new(),
            })
            .await
            .unwrap();
        let mut credentials = Vec::new();
        for program in ["nha-cpt", "aha-bls"] {
            credentials.push(
                store
                    .create_credential(Credential {
                        id: 0,
                        holder_id: holder.id,
                        program: program.into(),
                        number: String::new(),
                        issued_on: None,
                        expires_on: "2027-04-30".parse().unwrap(),
                        history: Vec::new(),
                        verifications: Vec::new(),
                    })
                    .await
                    .unwrap(),
            );
        }
        let credentials = credentials.try_into().unwrap();
        (dir, service, holder, credentials)
    }

    /// An alert about `credential` `threshold` days before expiry, due for delivery now.
    fn alert(credential: &Credential, threshold: u32) -> Alert {
        let due: Timestamp = "2027-03-31T08:00:00Z".parse().unwrap();
        Alert {
            id: 0,
            holder_id: credential.holder_id,
            subject: crate::domain::AlertSubject::Credential,
            credential_id: credential.id,
            program: credential.program.clone(),
            expires_on: credential.expires_on,
            mark: Mark::Before(threshold),
            threshold_days: i64::from(threshold),
            due_on: "2027-03-31".parse().unwrap(),
            title: "Renew soon".into(),
            body: String::new(),
            met: false,
            compliance_status: "at_risk".into(),
            created_at: due,
            snoozed_until: None,
            acknowledged: false,
            cancelled: false,
            deliveries: vec![Delivery {
                channel_id: 1,
                kind: ChannelKind::Webhook,
                target: "https://example.org/hook".into(),
                attempts: 0,
                last_error: String::new(),
                state: DeliveryState::Pending,
                next_attempt_at: Some(due),
            }],
        }
    }

    #[tokio::test]
    async fn snoozing_must_reach_past_the_holders_today_not_the_servers() {
        let (_dir, service, _holder, [cpt, _]) = service().await;
        let caller = Caller::LocalOperator;
        let stored = service
            .store
            .enqueue_alerts(vec![alert(&cpt, 30)])
            .await
            .unwrap();
        let id = stored[0].id;

        // It is still 2027-03-31 in UTC, but already 2027-04-01 in Auckland.
        let refused = service
            .snooze_alert(&caller, id, "2027-04-01".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "until (2027-04-01) must be after today (2027-04-01)"
        );
        assert!(matches!(&refused, ServiceError::Invalid(e) if e[0].field == "until"));
        assert_eq!(
            crate::store::Outbox::alert(&service.store, id)
                .await
                .unwrap(),
            stored[0]
        );

        // The next day is accepted: deliveries start over at the holder's local midnight.
        let snoozed = service
            .snooze_alert(&caller, id, "2027-04-02".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(snoozed.status, AlertStatus::Snoozed);
        assert_eq!(
            snoozed.alert.next_attempt(),
            Some("2027-04-01T11:00:00Z".parse().unwrap())
        );
        service.store.close().await.unwrap();
    }

    #[tokio::test]
    async fn muting_cancels_only_that_credentials_pending_alerts_and_unmuting_keeps_them_cancelled()
    {
        let (_dir, service, _holder, [cpt, bls]) = service().await;
        let caller = Caller::LocalOperator;
        let stored = service
            .store
            .enqueue_alerts(vec![alert(&cpt, 60), alert(&cpt, 30), alert(&bls, 30)])
            .await
            .unwrap();
        let [seen, waiting, other] = [stored[0].id, stored[1].id, stored[2].id];
        service.acknowledge_alert(&caller, seen).await.unwrap();

        let muted = service
            .mute_credential(&caller, cpt.id, true)
            .await
            .unwrap();
        assert_eq!(
            muted,
            Muted {
                credential_id: cpt.id,
                muted: true,
                cancelled: 1
            }
        );
        let status = |alerts: &Page<AlertWithStatus>, id| {
            alerts
                .items
                .iter()
                .find(|a| a.alert.id == id)
                .map(|a| a.status)
        };
        let all = service
            .list_alerts(&caller, None, AlertFilter::All, None, 10)
            .await
            .unwrap();
        assert_eq!(status(&all, seen), Some(AlertStatus::Acknowledged));
        assert_eq!(status(&all, waiting), Some(AlertStatus::Cancelled));
        assert_eq!(status(&all, other), Some(AlertStatus::Pending));
        let settings = service
            .alert_settings(&caller, SettingsScope::Credential(cpt.id))
            .await
            .unwrap();
        assert!(settings.settings.muted);

        let unmuted = service
            .mute_credential(&caller, cpt.id, false)
            .await
            .unwrap();
        assert_eq!((unmuted.muted, unmuted.cancelled), (false, 0));
        let active = service
            .list_alerts(&caller, None, AlertFilter::Active, None, 10)
            .await
            .unwrap();
        assert_eq!(status(&active, waiting), None);
        assert_eq!(active.items.len(), 2);
        service.store.close().await.unwrap();
    }
}
