//! `recert.v1.AlertService` and `recert.v1.ChannelService`: the outbox as users see it,
//! snoozing and muting, the resumable stream, and delivery channels.

use super::convert::{self, date};
use super::{Api, ApiError, ApiResult};
use crate::alerts::AlertEngine;
use crate::domain::{
    Alert, AlertSettings, Channel, ChannelKind, Delivery, DeliveryState, IdKind, Refused,
};
use crate::store::SettingsScope;
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_server::AlertService;
use recert_proto::v1::channel_service_server::ChannelService;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// Alerts: list, acknowledge, snooze, mute, watch, test.
#[derive(Debug, Clone)]
pub struct AlertApi<S> {
    /// Shared state.
    pub api: Api<S>,
    /// The engine, for the stream and test sends.
    pub engine: AlertEngine<S>,
    /// Ends open streams when the daemon shuts down.
    pub shutdown: tokio_util::sync::CancellationToken,
}

/// Delivery channels of holders.
#[derive(Debug, Clone)]
pub struct ChannelApi<S> {
    /// Shared state.
    pub api: Api<S>,
    /// The engine, woken when channels change.
    pub engine: AlertEngine<S>,
}

fn delivery_to_pb(d: &Delivery) -> pb::Delivery {
    pb::Delivery {
        channel_id: IdKind::Channel.format(d.channel_id),
        kind: d.kind.name().to_string(),
        target: d.target.clone(),
        attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
        last_error: d.last_error.clone(),
        status: match d.state {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
        .to_string(),
        next_attempt_at: d.next_attempt_at.map(|t| t.to_string()).unwrap_or_default(),
    }
}

impl<S: Store> AlertApi<S> {
    async fn to_pb(&self, a: &Alert) -> ApiResult<pb::Alert> {
        let holder = self.api.store.holder(a.holder_id).await?;
        let status = match a.status(self.api.today(&holder)) {
            crate::domain::AlertStatus::Pending => pb::AlertStatus::Pending,
            crate::domain::AlertStatus::Delivered => pb::AlertStatus::Delivered,
            crate::domain::AlertStatus::Failed => pb::AlertStatus::Failed,
            crate::domain::AlertStatus::Snoozed => pb::AlertStatus::Snoozed,
            crate::domain::AlertStatus::Cancelled => pb::AlertStatus::Cancelled,
        };
        Ok(pb::Alert {
            id: IdKind::Alert.format(a.id),
            seq: a.id,
            holder_id: IdKind::Holder.format(a.holder_id),
            credential_id: IdKind::Credential.format(a.credential_id),
            program: a.program.clone(),
            threshold_days: a.threshold_days,
            mark: a.mark.label(),
            due_on: a.due_on.to_string(),
            expires_on: a.expires_on.to_string(),
            title: a.title.clone(),
            body: a.body.clone(),
            status: status.into(),
            deliveries: a.deliveries.iter().map(delivery_to_pb).collect(),
            idempotency_key: a.key(),
            snoozed_until: a.snoozed_until.map(|d| d.to_string()).unwrap_or_default(),
            acknowledged: a.acknowledged,
            created_at: a.created_at.to_string(),
        })
    }

    async fn list(&self, req: &pb::ListAlertsRequest) -> ApiResult<pb::ListAlertsResponse> {
        // "" is every status but cancelled; "all" includes cancelled.
        let filter = match req.filter.trim() {
            "" => Some("active"),
            "all" => None,
            f @ ("pending" | "failed" | "delivered" | "snoozed" | "cancelled") => Some(f),
            other => {
                return Err(ApiError::invalid(
                    "filter",
                    format!(
                        "filter {other:?} is not one of pending, failed, delivered, snoozed, cancelled, all"
                    ),
                ));
            }
        };
        let size = convert::page_size(req.page_size)?;
        let mut after = convert::page_token(&req.page_token)?;
        let holder = if req.holder_id.trim().is_empty() {
            None
        } else {
            let id = self.api.holder_id("holder_id", &req.holder_id).await?;
            self.api.store.holder(id).await?;
            Some(id)
        };
        let mut alerts = Vec::new();
        loop {
            let page = match holder {
                Some(h) => self.api.store.alerts_of(h, after.as_ref(), size).await?,
                None => self.api.store.all_alerts(after.as_ref(), size).await?,
            };
            for a in &page.items {
                after = Some(self.api.store.id_cursor(a.id));
                let pb = self.to_pb(a).await?;
                let name = pb::AlertStatus::try_from(pb.status)
                    .map(|s| {
                        s.as_str_name()
                            .trim_start_matches("ALERT_STATUS_")
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default();
                let wanted = match filter {
                    None => true,
                    Some("active") => name != "cancelled",
                    Some(f) => f == name,
                };
                if wanted {
                    alerts.push(pb);
                    if alerts.len() == size {
                        let more =
                            page.next.is_some() || a.id != page.items.last().map_or(0, |l| l.id);
                        return Ok(pb::ListAlertsResponse {
                            alerts,
                            next_page_token: if more {
                                convert::encode_token(after.clone())
                            } else {
                                String::new()
                            },
                        });
                    }
                }
            }
            if page.next.is_none() {
                return Ok(pb::ListAlertsResponse {
                    alerts,
                    next_page_token: String::new(),
                });
            }
        }
    }

    /// Applies a domain transition to the alert as stored now, in one write.
    async fn change(
        &self,
        id: &str,
        transition: impl FnOnce(&mut Alert) -> Result<(), Refused> + Send,
    ) -> ApiResult<pb::Alert> {
        let id = convert::id(IdKind::Alert, "id", id)?;
        let stored = self.api.store.modify_alert(id, transition).await??;
        self.engine.wake();
        self.to_pb(&stored).await
    }

    async fn snooze(&self, req: pb::SnoozeAlertRequest) -> ApiResult<pb::Alert> {
        let until = date("until", &req.until)?;
        let id = convert::id(IdKind::Alert, "id", &req.id)?;
        let holder = self
            .api
            .store
            .holder(self.api.store.alert(id).await?.holder_id)
            .await?;
        let today = self.api.today(&holder);
        if until <= today {
            return Err(ApiError::invalid(
                "until",
                format!("until ({until}) must be after today ({today})"),
            ));
        }
        let at = until
            .to_zoned(jiff::tz::TimeZone::get(&holder.time_zone).unwrap_or(jiff::tz::TimeZone::UTC))
            .map(|z| z.timestamp())
            .map_err(|_| ApiError::invalid("until", "until is out of range"))?;
        self.change(&req.id, |a| a.snooze(until, at)).await
    }

    /// Mutes or unmutes a credential. Muting cancels its alerts still waiting for delivery,
    /// in the same write as the setting; unmuting leaves cancelled alerts cancelled (the
    /// store does not record why an alert was cancelled, and a re-opened one would be
    /// stale), so the next mark that comes due alerts again.
    async fn mute(&self, req: pb::MuteCredentialRequest) -> ApiResult<pb::MuteCredentialResponse> {
        let id = convert::id(IdKind::Credential, "credential_id", &req.credential_id)?;
        let muted = req.muted;
        self.api
            .store
            .modify_credential_alerts(
                id,
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
        Ok(pb::MuteCredentialResponse {
            credential_id: IdKind::Credential.format(id),
            muted,
        })
    }
}

impl<S: Store> AlertApi<S> {
    async fn scope(
        &self,
        scope: Option<pb::AlertSettingsScope>,
    ) -> ApiResult<(SettingsScope, pb::AlertSettingsScope)> {
        let s = scope.ok_or_else(|| ApiError::invalid("scope", "scope is required"))?;
        let set = [&s.program, &s.holder_id, &s.credential_id]
            .iter()
            .filter(|v| !v.trim().is_empty())
            .count();
        if set != 1 {
            return Err(ApiError::invalid(
                "scope",
                "scope must name exactly one of program, holder_id, credential_id",
            ));
        }
        let scope = if !s.program.trim().is_empty() {
            let slug = s.program.trim();
            self.api.program(slug).await?;
            SettingsScope::Program(slug.to_string())
        } else if !s.holder_id.trim().is_empty() {
            let id = self.api.holder_id("scope.holder_id", &s.holder_id).await?;
            self.api.store.holder(id).await?;
            SettingsScope::Holder(id)
        } else {
            let id = convert::id(IdKind::Credential, "scope.credential_id", &s.credential_id)?;
            self.api.store.credential(id).await?;
            SettingsScope::Credential(id)
        };
        let echo = match &scope {
            SettingsScope::Program(slug) => pb::AlertSettingsScope {
                program: slug.clone(),
                ..Default::default()
            },
            SettingsScope::Holder(id) => pb::AlertSettingsScope {
                holder_id: IdKind::Holder.format(*id),
                ..Default::default()
            },
            SettingsScope::Credential(id) => pb::AlertSettingsScope {
                credential_id: IdKind::Credential.format(*id),
                ..Default::default()
            },
        };
        Ok((scope, echo))
    }

    async fn update_settings(
        &self,
        req: pb::UpdateAlertSettingsRequest,
    ) -> ApiResult<pb::AlertSettings> {
        let (scope, echo) = self.scope(req.scope).await?;
        let requested = AlertSettings {
            thresholds: Some(req.thresholds),
            muted: false,
        };
        requested
            .validate()
            .map_err(|e| convert::top_level(e, "alert_settings"))?;
        let mut settings = self.api.store.alert_settings(&scope).await?;
        settings.thresholds = requested.normalized().thresholds;
        let stored = self.api.store.set_alert_settings(scope, settings).await?;
        self.engine.wake();
        Ok(pb::AlertSettings {
            scope: Some(echo),
            thresholds: stored.thresholds.unwrap_or_default(),
            muted: stored.muted,
        })
    }
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<pb::Alert, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<S: Store> AlertService for AlertApi<S> {
    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        Ok(Response::new(self.list(request.get_ref()).await?))
    }

    async fn ack_alert(
        &self,
        request: Request<pb::AckAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let alert = self
            .change(&request.get_ref().id, |a| {
                a.acknowledge();
                Ok(())
            })
            .await?;
        Ok(Response::new(alert))
    }

    async fn snooze_alert(
        &self,
        request: Request<pb::SnoozeAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        Ok(Response::new(self.snooze(request.into_inner()).await?))
    }

    async fn mute_credential(
        &self,
        request: Request<pb::MuteCredentialRequest>,
    ) -> Result<Response<pb::MuteCredentialResponse>, Status> {
        Ok(Response::new(self.mute(request.into_inner()).await?))
    }

    type WatchAlertsStream = AlertStream;

    async fn watch_alerts(
        &self,
        request: Request<pb::WatchAlertsRequest>,
    ) -> Result<Response<AlertStream>, Status> {
        let req = request.into_inner();
        let holder = self.api.holder_id("holder_id", &req.holder_id).await?;
        self.api
            .store
            .holder(holder)
            .await
            .map_err(ApiError::from)?;
        // Subscribe before reading the backlog so nothing falls between the two.
        let mut live = self.engine.subscribe();
        let backlog = self
            .api
            .store
            .alerts_of(
                holder,
                Some(&self.api.store.id_cursor(req.after_seq)),
                usize::MAX,
            )
            .await
            .map_err(ApiError::from)?
            .items;
        let this = self.clone();
        let shutdown = self.shutdown.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            let mut last = req.after_seq;
            for a in backlog {
                last = a.id;
                let item = this.to_pb(&a).await.map_err(Status::from);
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            loop {
                tokio::select! {
                    () = tx.closed() => return,
                    () = shutdown.cancelled() => {
                        let _ = tx.send(Err(Status::unavailable("recertd is shutting down"))).await;
                        return;
                    }
                    received = live.recv() => match received {
                        Ok(a) if a.holder_id == holder && a.id > last => {
                            last = a.id;
                            if tx.send(this.to_pb(&a).await.map_err(Status::from)).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            // Fell behind: re-read from the store after the last sent.
                            let Ok(page) = this.api.store.alerts_of(holder, Some(&this.api.store.id_cursor(last)), usize::MAX).await else { return };
                            for a in page.items {
                                last = a.id;
                                if tx.send(this.to_pb(&a).await.map_err(Status::from)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_alert_settings(
        &self,
        request: Request<pb::GetAlertSettingsRequest>,
    ) -> Result<Response<pb::AlertSettings>, Status> {
        let (scope, echo) = self.scope(request.into_inner().scope).await?;
        let settings = self
            .api
            .store
            .alert_settings(&scope)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::AlertSettings {
            scope: Some(echo),
            thresholds: settings.thresholds.unwrap_or_default(),
            muted: settings.muted,
        }))
    }

    async fn update_alert_settings(
        &self,
        request: Request<pb::UpdateAlertSettingsRequest>,
    ) -> Result<Response<pb::AlertSettings>, Status> {
        Ok(Response::new(
            self.update_settings(request.into_inner()).await?,
        ))
    }

    async fn send_test_alert(
        &self,
        request: Request<pb::SendTestAlertRequest>,
    ) -> Result<Response<pb::SendTestAlertResponse>, Status> {
        let holder = self
            .api
            .holder_id("holder_id", &request.get_ref().holder_id)
            .await?;
        let deliveries = self.engine.send_test(holder).await.map_err(|e| match e {
            crate::alerts::AlertError::Store(e) => Status::from(ApiError::from(e)),
            other => {
                tracing::error!(error = %other, "test alert failed");
                Status::internal("the test alert could not be sent; see the recertd log")
            }
        })?;
        Ok(Response::new(pb::SendTestAlertResponse {
            deliveries: deliveries.iter().map(delivery_to_pb).collect(),
        }))
    }
}

impl<S: Store> ChannelApi<S> {
    async fn create(&self, req: pb::CreateChannelRequest) -> ApiResult<pb::Channel> {
        let c = req
            .channel
            .ok_or_else(|| ApiError::invalid("channel", "channel is required"))?;
        let holder_id = self
            .api
            .holder_id("channel.holder_id", &c.holder_id)
            .await?;
        let kind = ChannelKind::parse(&c.kind).ok_or_else(|| {
            ApiError::invalid(
                "channel.kind",
                format!("channel.kind {:?} is not webhook or email", c.kind),
            )
        })?;
        let channel = Channel {
            id: 0,
            holder_id,
            kind,
            target: c.target.trim().to_string(),
            secret: c.secret,
        };
        channel.validate()?;
        let channel = self.api.store.create_channel(channel).await?;
        self.engine.wake();
        Ok(channel_to_pb(&channel))
    }
}

fn channel_to_pb(c: &Channel) -> pb::Channel {
    pb::Channel {
        id: IdKind::Channel.format(c.id),
        holder_id: IdKind::Holder.format(c.holder_id),
        kind: c.kind.name().to_string(),
        target: c.target.clone(),
        secret: String::new(),
        has_secret: !c.secret.is_empty(),
    }
}

#[tonic::async_trait]
impl<S: Store> ChannelService for ChannelApi<S> {
    async fn create_channel(
        &self,
        request: Request<pb::CreateChannelRequest>,
    ) -> Result<Response<pb::Channel>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }

    async fn list_channels(
        &self,
        request: Request<pb::ListChannelsRequest>,
    ) -> Result<Response<pb::ListChannelsResponse>, Status> {
        let holder = self
            .api
            .holder_id("holder_id", &request.get_ref().holder_id)
            .await?;
        self.api
            .store
            .holder(holder)
            .await
            .map_err(ApiError::from)?;
        let channels = self
            .api
            .store
            .channels_of(holder)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListChannelsResponse {
            channels: channels.iter().map(channel_to_pb).collect(),
        }))
    }

    async fn delete_channel(
        &self,
        request: Request<pb::DeleteChannelRequest>,
    ) -> Result<Response<pb::DeleteChannelResponse>, Status> {
        let id = convert::id(IdKind::Channel, "id", &request.get_ref().id)?;
        self.api
            .store
            .delete_channel(id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::DeleteChannelResponse {}))
    }
}
