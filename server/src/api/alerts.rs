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
        // Subscribe before reading the backlog so nothing falls between the two.
        let mut live = self.api.alerts.subscribe();
        let backlog = service.alerts_after(&caller, holder, req.after_seq).await?;
        let shutdown = self.shutdown.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            let mut last = req.after_seq;
            for a in backlog {
                last = a.alert.id;
                if tx.send(streamed(Ok(a))).await.is_err() {
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
                            let item = streamed(service.alert_status(&caller, a).await);
                            if tx.send(item).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            // Fell behind: re-read from the store after the last sent.
                            let Ok(missed) = service.alerts_after(&caller, holder, last).await else { return };
                            for a in missed {
                                last = a.alert.id;
                                if tx.send(streamed(Ok(a))).await.is_err() {
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
        let holder = self
            .api
            .service
            .holder_id(&caller, "holder_id", &request.get_ref().holder_id)
            .await?;
        let deliveries = self
            .api
            .alerts
            .send_test(holder)
            .await
            .map_err(|e| match e {
                crate::alerts::AlertError::Store(e) => Status::from(ApiError::from(e)),
                other => {
                    tracing::error!(error = %other, "test alert failed");
                    Status::internal("the test alert could not be sent; see the recertd log")
                }
            })?;
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
        let holder_id = self
            .0
            .service
            .holder_id(&caller, "channel.holder_id", &c.holder_id)
            .await?;
        let channel = convert::channel_from_pb(c, holder_id)?;
        let channel = self.0.service.create_channel(&caller, channel).await?;
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
        let holder = service
            .holder_id(&caller, "holder_id", &request.get_ref().holder_id)
            .await?;
        let channels = service.channels(&caller, holder).await?;
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
