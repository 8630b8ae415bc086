//! `recert.v1.AlertService` and `recert.v1.ChannelService`: the outbox as users see it,
//! snoozing and muting, the resumable stream, and delivery channels. Each handler parses
//! the request, calls the service and converts the answer; the stream and test sends go
//! through the alert engine.

use super::convert::{self, NamedScope};
use super::{Api, ApiError, ApiResult, caller};
use crate::domain::IdKind;
use crate::service::Caller;
use crate::service::alerts::AlertWithStatus;
use crate::store::{SettingsScope, Store};
use recert_proto::v1 as pb;
use recert_proto::v1::alert_service_server::AlertService;
use recert_proto::v1::channel_service_server::ChannelService;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// Alerts: list, acknowledge, snooze, mute, watch, test.
#[derive(Debug, Clone)]
pub struct AlertApi<S> {
    /// Shared state (its alert engine serves the stream and test sends).
    pub api: Api<S>,
    /// Ends open streams when the daemon shuts down.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Open `WatchAlerts` streams per token.
    pub watchers: Watchers,
}

/// How often an open `WatchAlerts` stream checks that its token still holds (it also
/// checks before each alert it sends): a revoked or expired token's stream ends with
/// UNAUTHENTICATED within this time, whichever daemon revoked it.
const TOKEN_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Most `WatchAlerts` streams one token (or the local operator) may hold open at once.
pub const WATCH_STREAMS_PER_TOKEN: usize = 16;

/// Most `WatchAlerts` streams the daemon holds open at once, whatever their tokens: each
/// costs a task, a buffer of [`WATCH_BUFFER`] alerts and a live subscription, so many tokens
/// together cannot grow the daemon without bound either.
pub const WATCH_STREAMS_TOTAL: usize = 512;

/// Alerts a stream reads from the store at a time (its backlog, or what it missed after
/// falling behind), and the most it buffers for a slow reader: a stream holds at most one
/// page and [`WATCH_BUFFER`] alerts, whatever the backlog.
pub const WATCH_PAGE: usize = 64;

/// Alerts buffered per stream between the store and a slow reader.
pub const WATCH_BUFFER: usize = 16;

/// The open `WatchAlerts` streams of each token, and in all.
#[derive(Debug, Clone, Default)]
pub struct Watchers(std::sync::Arc<std::sync::Mutex<Open>>);

/// Open streams per token key, and their sum.
#[derive(Debug, Default)]
struct Open {
    per_token: std::collections::HashMap<u64, usize>,
    total: usize,
}

/// One open stream, counted until dropped.
#[derive(Debug)]
struct Watching {
    watchers: Watchers,
    key: u64,
}

impl Watchers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new stream of `caller`, or refuses it past [`WATCH_STREAMS_PER_TOKEN`] of
    /// its token or [`WATCH_STREAMS_TOTAL`] in all.
    fn open(&self, caller: &Caller) -> Result<Watching, Status> {
        let (key, who) = match caller {
            Caller::Token(p) => (p.token_id, format!("token {:?}", p.token_name)),
            Caller::LocalOperator => (u64::MAX, "the local operator".to_string()),
        };
        let mut open = self.lock();
        if open.total >= WATCH_STREAMS_TOTAL {
            tracing::warn!(%who, open = open.total, "WatchAlerts refused: the daemon's streams are all taken");
            return Err(Status::resource_exhausted(format!(
                "recertd already has {WATCH_STREAMS_TOTAL} WatchAlerts streams open, the most \
                 it holds at once; try again later"
            )));
        }
        let count = open.per_token.entry(key).or_default();
        if *count >= WATCH_STREAMS_PER_TOKEN {
            tracing::warn!(%who, open = *count, "WatchAlerts refused: too many open streams");
            return Err(Status::resource_exhausted(format!(
                "{who} already has {WATCH_STREAMS_PER_TOKEN} WatchAlerts streams open, the most \
                 one token may hold; close one first"
            )));
        }
        *count += 1;
        open.total += 1;
        Ok(Watching {
            watchers: self.clone(),
            key,
        })
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let mut open = self.watchers.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_token.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_token.remove(&self.key);
            }
        }
    }
}

/// Delivery channels of holders.
#[derive(Debug, Clone)]
pub struct ChannelApi<S>(pub Api<S>);

impl<S: Store> AlertApi<S> {
    /// The settings scope a request names, with `"default"` resolved to a holder id.
    async fn scope(
        &self,
        caller: &Caller,
        scope: Option<&pb::AlertSettingsScope>,
    ) -> ApiResult<SettingsScope> {
        Ok(match convert::settings_scope(scope)? {
            NamedScope::Program(slug) => SettingsScope::Program(slug),
            NamedScope::Holder(id) => SettingsScope::Holder(
                self.api
                    .service
                    .holder_id(caller, "scope.holder_id", &id)
                    .await?,
            ),
            NamedScope::Credential(id) => SettingsScope::Credential(id),
        })
    }

    async fn list(
        &self,
        caller: &Caller,
        req: &pb::ListAlertsRequest,
    ) -> ApiResult<pb::ListAlertsResponse> {
        let filter = convert::alert_filter(&req.filter)?;
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let holder = if req.holder_id.trim().is_empty() {
            None
        } else {
            Some(
                self.api
                    .service
                    .holder_id(caller, "holder_id", &req.holder_id)
                    .await?,
            )
        };
        let page = self
            .api
            .service
            .list_alerts(caller, holder, filter, after, size)
            .await?;
        Ok(pb::ListAlertsResponse {
            alerts: page.items.iter().map(pb::Alert::from).collect(),
            next_page_token: convert::encode_token(page.next),
        })
    }

    async fn snooze(&self, caller: &Caller, req: &pb::SnoozeAlertRequest) -> ApiResult<pb::Alert> {
        let until = convert::date("until", &req.until)?;
        let id = convert::id(IdKind::Alert, "id", &req.id)?;
        let shown = self.api.service.snooze_alert(caller, id, until).await?;
        Ok(pb::Alert::from(&shown))
    }

    async fn update_settings(
        &self,
        caller: &Caller,
        req: pb::UpdateAlertSettingsRequest,
    ) -> ApiResult<pb::AlertSettings> {
        let scope = self.scope(caller, req.scope.as_ref()).await?;
        let stored = self
            .api
            .service
            .set_alert_thresholds(caller, scope, req.thresholds)
            .await
            .map_err(|e| match e {
                ApiError::Invalid(errors) => convert::top_level(errors, "alert_settings"),
                other => other,
            })?;
        Ok(pb::AlertSettings::from(&stored))
    }
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<pb::Alert, Status>> + Send + 'static>>;

/// An alert for the stream.
fn streamed(shown: ApiResult<AlertWithStatus>) -> Result<pb::Alert, Status> {
    shown.map(|a| pb::Alert::from(&a)).map_err(Status::from)
}

#[tonic::async_trait]
impl<S: Store> AlertService for AlertApi<S> {
    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(self.list(&caller, request.get_ref()).await?))
    }

    async fn ack_alert(
        &self,
        request: Request<pb::AckAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let caller = caller(&request)?;
        let id = convert::id(IdKind::Alert, "id", &request.get_ref().id)?;
        let shown = self.api.service.acknowledge_alert(&caller, id).await?;
        Ok(Response::new(pb::Alert::from(&shown)))
    }

    async fn snooze_alert(
        &self,
        request: Request<pb::SnoozeAlertRequest>,
    ) -> Result<Response<pb::Alert>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.snooze(&caller, request.get_ref()).await?,
        ))
    }

    async fn mute_credential(
        &self,
        request: Request<pb::MuteCredentialRequest>,
    ) -> Result<Response<pb::MuteCredentialResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let id = convert::id(IdKind::Credential, "credential_id", &req.credential_id)?;
        let muted = self
            .api
            .service
            .mute_credential(&caller, id, req.muted)
            .await?;
        Ok(Response::new(pb::MuteCredentialResponse::from(&muted)))
    }

    type WatchAlertsStream = AlertStream;

    async fn watch_alerts(
        &self,
        request: Request<pb::WatchAlertsRequest>,
    ) -> Result<Response<AlertStream>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let service = self.api.service.clone();
        let holder = service
            .holder_id(&caller, "holder_id", &req.holder_id)
            .await?;
        service.holder(&caller, holder).await?;
        let watching = self.watchers.open(&caller)?;
        // Subscribe before reading the backlog so nothing falls between the two.
        let mut live = self.api.alerts.subscribe();
        // The first page now, so a refusal (a holder out of reach) is the call's answer.
        let first = service
            .alerts_after(&caller, holder, req.after_seq, WATCH_PAGE)
            .await?;
        let shutdown = self.shutdown.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_BUFFER);
        tokio::spawn(async move {
            let _watching = watching;
            let mut recheck = tokio::time::interval(TOKEN_RECHECK);
            recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            recheck.tick().await;
            let mut last = req.after_seq;
            // The backlog (and later what a lagging stream missed), a page at a time.
            let mut page = Some(first);
            loop {
                let batch = match page.take() {
                    Some(batch) => batch,
                    None => match service
                        .alerts_after(&caller, holder, last, WATCH_PAGE)
                        .await
                    {
                        Ok(batch) => batch,
                        Err(e) => {
                            let _ = tx.send(Err(Status::from(e))).await;
                            return;
                        }
                    },
                };
                if let Err(e) = service.still_authenticated(&caller).await {
                    let _ = tx.send(Err(Status::from(e))).await;
                    return;
                }
                let full = batch.len() >= WATCH_PAGE;
                for a in batch {
                    last = a.alert.id;
                    if tx.send(streamed(Ok(a))).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                // Caught up: follow new alerts until the stream falls behind.
                loop {
                    tokio::select! {
                        () = tx.closed() => return,
                        () = shutdown.cancelled() => {
                            let _ = tx.send(Err(Status::unavailable("recertd is shutting down"))).await;
                            return;
                        }
                        _ = recheck.tick() => {
                            if let Err(e) = service.still_authenticated(&caller).await {
                                let _ = tx.send(Err(Status::from(e))).await;
                                return;
                            }
                        }
                        received = live.recv() => match received {
                            Ok(a) if a.holder_id == holder && a.id > last => {
                                if let Err(e) = service.still_authenticated(&caller).await {
                                    let _ = tx.send(Err(Status::from(e))).await;
                                    return;
                                }
                                last = a.id;
                                let item = streamed(service.alert_status(&caller, a).await);
                                if tx.send(item).await.is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            // Fell behind: re-read from the store after the last sent.
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                        },
                    }
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
        let caller = caller(&request)?;
        let scope = self
            .scope(&caller, request.get_ref().scope.as_ref())
            .await?;
        let settings = self.api.service.alert_settings(&caller, scope).await?;
        Ok(Response::new(pb::AlertSettings::from(&settings)))
    }

    async fn update_alert_settings(
        &self,
        request: Request<pb::UpdateAlertSettingsRequest>,
    ) -> Result<Response<pb::AlertSettings>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.update_settings(&caller, request.into_inner()).await?,
        ))
    }

    async fn send_test_alert(
        &self,
        request: Request<pb::SendTestAlertRequest>,
    ) -> Result<Response<pb::SendTestAlertResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let deliveries = if request.team.trim().is_empty() {
            let holder = self
                .api
                .service
                .holder_id(&caller, "holder_id", &request.holder_id)
                .await?;
            self.api.alerts.send_test(holder).await?
        } else {
            if !request.holder_id.trim().is_empty() {
                return Err(ApiError::invalid(
                    "holder_id",
                    "holder_id and team are exclusive: a test of a team's channels has no holder",
                )
                .into());
            }
            let team = self.api.service.led_team(&caller, &request.team).await?;
            self.api.alerts.send_team_test(&team).await?
        };
        Ok(Response::new(pb::SendTestAlertResponse {
            deliveries: deliveries.iter().map(pb::Delivery::from).collect(),
        }))
    }
}

#[tonic::async_trait]
impl<S: Store> ChannelService for ChannelApi<S> {
    async fn create_channel(
        &self,
        request: Request<pb::CreateChannelRequest>,
    ) -> Result<Response<pb::Channel>, Status> {
        let caller = caller(&request)?;
        let c = request
            .into_inner()
            .channel
            .ok_or_else(|| ApiError::invalid("channel", "channel is required"))?;
        let channel = if c.team_id.trim().is_empty() {
            let holder_id = self
                .0
                .service
                .holder_id(&caller, "channel.holder_id", &c.holder_id)
                .await?;
            let channel = convert::channel_from_pb(c, holder_id)?;
            self.0.service.create_channel(&caller, channel).await?
        } else {
            if !c.holder_id.trim().is_empty() {
                return Err(ApiError::invalid(
                    "channel.holder_id",
                    "channel.holder_id and channel.team_id are exclusive: a team's channel has no holder",
                )
                .into());
            }
            let team = c.team_id.clone();
            let channel = convert::channel_from_pb(c, 0)?;
            self.0
                .service
                .create_team_channel(&caller, &team, channel)
                .await?
        };
        let mut created = pb::Channel::from(&channel);
        if channel.kind == crate::domain::ChannelKind::Email && !self.0.alerts.can_email() {
            created.warning = "recertd has no SMTP relay (recertd --smtp-url): e-mail alerts \
                               wait until one is configured"
                .to_string();
        }
        Ok(Response::new(created))
    }

    async fn list_channels(
        &self,
        request: Request<pb::ListChannelsRequest>,
    ) -> Result<Response<pb::ListChannelsResponse>, Status> {
        let caller = caller(&request)?;
        let service = &self.0.service;
        let team = request.get_ref().team.trim();
        let channels = if team.is_empty() {
            let holder = service
                .holder_id(&caller, "holder_id", &request.get_ref().holder_id)
                .await?;
            service.channels(&caller, holder).await?
        } else {
            service.team_channels(&caller, team).await?
        };
        Ok(Response::new(pb::ListChannelsResponse {
            channels: channels.iter().map(pb::Channel::from).collect(),
        }))
    }

    async fn delete_channel(
        &self,
        request: Request<pb::DeleteChannelRequest>,
    ) -> Result<Response<pb::DeleteChannelResponse>, Status> {
        let caller = caller(&request)?;
        let id = convert::id(IdKind::Channel, "id", &request.get_ref().id)?;
        self.0.service.delete_channel(&caller, id).await?;
        Ok(Response::new(pb::DeleteChannelResponse {}))
    }
}
