//! Conversions between `recert.v1` alert messages and the domain: alerts with their status,
//! deliveries, channels, alert settings and their scopes, and the list filter.

use super::id;
use crate::api::{ApiError, ApiResult};
use crate::domain::{
    AlertStatus, AlertSubject, Channel, ChannelKind, Delivery, DeliveryState, HOLDER_EMAIL, IdKind,
    listed_target,
};
use crate::service::alerts::{AlertFilter, AlertWithStatus, Muted, ScopedSettings};
use crate::store::SettingsScope;
use recert_proto::v1 as pb;

impl From<AlertStatus> for pb::AlertStatus {
    fn from(s: AlertStatus) -> Self {
        match s {
            AlertStatus::Pending => pb::AlertStatus::Pending,
            AlertStatus::Delivered => pb::AlertStatus::Delivered,
            AlertStatus::Acknowledged => pb::AlertStatus::Acknowledged,
            AlertStatus::Undeliverable => pb::AlertStatus::Undeliverable,
            AlertStatus::Failed => pb::AlertStatus::Failed,
            AlertStatus::Snoozed => pb::AlertStatus::Snoozed,
            AlertStatus::Cancelled => pb::AlertStatus::Cancelled,
        }
    }
}

/// A delivery as sent to clients: the target as lists show it ([`listed_target`]).
impl From<&Delivery> for pb::Delivery {
    fn from(d: &Delivery) -> Self {
        pb::Delivery {
            channel_id: if d.channel_id == HOLDER_EMAIL {
                String::new()
            } else {
                IdKind::Channel.format(d.channel_id)
            },
            kind: d.kind.name().to_string(),
            target: listed_target(d.kind, &d.target),
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
}

impl From<&AlertWithStatus> for pb::Alert {
    fn from(shown: &AlertWithStatus) -> Self {
        let a = &shown.alert;
        pb::Alert {
            id: IdKind::Alert.format(a.id),
            seq: a.id,
            holder_id: IdKind::Holder.format(a.holder_id),
            credential_id: if a.credential_id == 0 {
                String::new()
            } else {
                IdKind::Credential.format(a.credential_id)
            },
            program: a.program.clone(),
            threshold_days: a.threshold_days,
            mark: match (&a.subject, a.mark) {
                (AlertSubject::Credential, mark) => mark.label(),
                (_, crate::domain::Mark::Before(1)) => "1 day before due".into(),
                (_, crate::domain::Mark::Before(d)) => format!("{d} days before due"),
                (_, crate::domain::Mark::ExpiryDay) => "due day".into(),
                (_, _) => "overdue".into(),
            },
            due_on: a.due_on.to_string(),
            expires_on: a.expires_on.to_string(),
            title: a.title.clone(),
            body: a.body.clone(),
            status: pb::AlertStatus::from(shown.status).into(),
            deliveries: a
                .deliveries
                .iter()
                .map(|d| {
                    let mut shown = pb::Delivery::from(d);
                    if !a.is_open() && d.state == DeliveryState::Pending {
                        "stopped".clone_into(&mut shown.status);
                    }
                    shown
                })
                .collect(),
            idempotency_key: a.key(),
            snoozed_until: a.snoozed_until.map(|d| d.to_string()).unwrap_or_default(),
            acknowledged: a.acknowledged,
            created_at: a.created_at.to_string(),
            subject: a.subject.kind().to_string(),
            skill: match &a.subject {
                AlertSubject::Competency { skill } => skill.clone(),
                _ => String::new(),
            },
            amount_cents: match a.subject {
                AlertSubject::Dues { amount_cents } => amount_cents,
                _ => 0,
            },
            team_id: match a.subject {
                AlertSubject::Digest { team_id } => crate::domain::team_id(team_id),
                _ => String::new(),
            },
        }
    }
}

/// Parses a list filter: empty is every status but cancelled, `all` includes cancelled.
pub fn alert_filter(value: &str) -> ApiResult<AlertFilter> {
    let status = match value.trim() {
        "" => return Ok(AlertFilter::Active),
        "all" => return Ok(AlertFilter::All),
        "pending" => AlertStatus::Pending,
        "failed" => AlertStatus::Failed,
        "delivered" => AlertStatus::Delivered,
        "acknowledged" => AlertStatus::Acknowledged,
        "undeliverable" => AlertStatus::Undeliverable,
        "snoozed" => AlertStatus::Snoozed,
        "cancelled" => AlertStatus::Cancelled,
        other => {
            return Err(ApiError::invalid(
                "filter",
                format!(
                    "filter {other:?} is not one of pending, failed, delivered, acknowledged, undeliverable, snoozed, cancelled, all"
                ),
            ));
        }
    };
    Ok(AlertFilter::Only(status))
}

impl From<&Muted> for pb::MuteCredentialResponse {
    fn from(m: &Muted) -> Self {
        pb::MuteCredentialResponse {
            credential_id: IdKind::Credential.format(m.credential_id),
            muted: m.muted,
        }
    }
}

/// The one scope a settings request names, as given: a holder may still be `"default"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedScope {
    /// A program, by slug.
    Program(String),
    /// A holder, by id or `"default"`.
    Holder(String),
    /// A credential.
    Credential(u64),
}

/// Parses a settings scope: required, and naming exactly one of program, holder, credential.
pub fn settings_scope(scope: Option<&pb::AlertSettingsScope>) -> ApiResult<NamedScope> {
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
    Ok(if !s.program.trim().is_empty() {
        NamedScope::Program(s.program.trim().to_string())
    } else if !s.holder_id.trim().is_empty() {
        NamedScope::Holder(s.holder_id.clone())
    } else {
        NamedScope::Credential(id(
            IdKind::Credential,
            "scope.credential_id",
            &s.credential_id,
        )?)
    })
}

impl From<&SettingsScope> for pb::AlertSettingsScope {
    fn from(scope: &SettingsScope) -> Self {
        match scope {
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
        }
    }
}

impl From<&ScopedSettings> for pb::AlertSettings {
    fn from(s: &ScopedSettings) -> Self {
        pb::AlertSettings {
            scope: Some(pb::AlertSettingsScope::from(&s.scope)),
            thresholds: s.settings.thresholds.clone().unwrap_or_default(),
            muted: s.settings.muted,
            effective_thresholds: s
                .effective
                .as_ref()
                .map(|(t, _)| t.clone())
                .unwrap_or_default(),
            effective_from: s
                .effective
                .as_ref()
                .map(|(_, from)| from.clone())
                .unwrap_or_default(),
        }
    }
}

/// A channel from a client, for `holder_id` (resolved by the caller); its target trimmed.
/// Whether the target suits the kind is the service's check.
pub fn channel_from_pb(c: pb::Channel, holder_id: u64) -> ApiResult<Channel> {
    let kind = ChannelKind::parse(&c.kind).ok_or_else(|| {
        ApiError::invalid(
            "channel.kind",
            format!("channel.kind {:?} is not webhook or email", c.kind),
        )
    })?;
    Ok(Channel {
        id: 0,
        holder_id,
        kind,
        target: c.target.trim().to_string(),
        secret: c.secret,
        team_id: 0,
    })
}

/// A channel as sent to clients: the secret never leaves, only whether there is one, and a
/// webhook URL is cut to its scheme and host ([`listed_target`]).
impl From<&Channel> for pb::Channel {
    fn from(c: &Channel) -> Self {
        pb::Channel {
            id: IdKind::Channel.format(c.id),
            holder_id: if c.team_id == 0 {
                IdKind::Holder.format(c.holder_id)
            } else {
                String::new()
            },
            kind: c.kind.name().to_string(),
            target: listed_target(c.kind, &c.target),
            secret: String::new(),
            has_secret: !c.secret.is_empty(),
            warning: String::new(),
            team_id: if c.team_id == 0 {
                String::new()
            } else {
                crate::domain::team_id(c.team_id)
            },
        }
    }
}
