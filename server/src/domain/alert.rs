//! Alerts and delivery channels as records: what was enqueued for whom, and how each
//! channel fared.

use super::alert_policy::Mark;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// How an alert leaves the daemon, besides the stream every holder has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelKind {
    /// HTTP POST of a signed JSON body.
    Webhook,
    /// An e-mail through the configured SMTP relay.
    Email,
}

impl ChannelKind {
    /// `webhook` or `email`.
    pub const fn name(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }

    /// Parses `webhook` or `email`.
    pub fn parse(s: &str) -> Option<ChannelKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "webhook" => Some(ChannelKind::Webhook),
            "email" | "e-mail" => Some(ChannelKind::Email),
            _ => None,
        }
    }
}

/// A holder's delivery channel.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Store-assigned id.
    pub id: u64,
    /// The holder.
    pub holder_id: u64,
    /// Webhook or e-mail.
    pub kind: ChannelKind,
    /// URL or address.
    pub target: String,
    /// Webhook signing secret; empty for none.
    pub secret: String,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("holder_id", &self.holder_id)
            .field("kind", &self.kind)
            .field("target", &self.target)
            .field(
                "secret",
                &if self.secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .finish()
    }
}

/// Where one channel's delivery of one alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    /// Not delivered yet; retried at `next_attempt_at`.
    Pending,
    /// The channel accepted it.
    Delivered,
    /// Given up: a permanent error or attempts exhausted.
    Failed,
}

/// One channel's delivery of one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The channel.
    pub channel_id: u64,
    /// Its kind, kept so the history reads even after the channel is removed.
    pub kind: ChannelKind,
    /// Its target, likewise.
    pub target: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error; empty if none.
    pub last_error: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// When to try next, while pending.
    pub next_attempt_at: Option<Timestamp>,
}

/// What a user sees of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlertStatus {
    /// Some channel has not delivered yet.
    Pending,
    /// Every channel delivered it, or the holder acknowledged it.
    Delivered,
    /// Some channel gave up.
    Failed,
    /// Held back until a date.
    Snoozed,
    /// Dropped before delivery: no longer relevant.
    Cancelled,
}

impl AlertStatus {
    /// `pending`, `delivered`, `failed`, `snoozed`, `cancelled`.
    pub const fn name(self) -> &'static str {
        match self {
            AlertStatus::Pending => "pending",
            AlertStatus::Delivered => "delivered",
            AlertStatus::Failed => "failed",
            AlertStatus::Snoozed => "snoozed",
            AlertStatus::Cancelled => "cancelled",
        }
    }
}

/// A reminder about one cycle of one credential, enqueued once per (credential, cycle, mark).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Store-assigned id; also its position in the holder's stream.
    pub id: u64,
    /// The holder.
    pub holder_id: u64,
    /// The credential.
    pub credential_id: u64,
    /// The program's slug.
    pub program: String,
    /// Expiry of the cycle the alert is about.
    pub expires_on: Date,
    /// Which point of the schedule.
    pub mark: Mark,
    /// The mark as signed days before expiry.
    pub threshold_days: i64,
    /// The holder's local date it became due.
    pub due_on: Date,
    /// One-line summary.
    pub title: String,
    /// Full text.
    pub body: String,
    /// Whether the requirements were met when it was enqueued ("apply" reminder).
    pub met: bool,
    /// The credential's compliance status when it was enqueued (`at_risk`, ...).
    pub compliance_status: String,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// Held back until this local date.
    pub snoozed_until: Option<Date>,
    /// The holder acknowledged it.
    pub acknowledged: bool,
    /// Dropped before delivery.
    pub cancelled: bool,
    /// One entry per channel the holder had when it was enqueued.
    pub deliveries: Vec<Delivery>,
}

impl Alert {
    /// The dedupe and idempotency key: `cr3/2027-03-01/30`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            super::IdKind::Credential.format(self.credential_id),
            self.expires_on,
            self.threshold_days
        )
    }

    /// The status as of the holder's local `today`.
    pub fn status(&self, today: Date) -> AlertStatus {
        if self.cancelled {
            AlertStatus::Cancelled
        } else if self.acknowledged {
            AlertStatus::Delivered
        } else if self.snoozed_until.is_some_and(|u| u > today) {
            AlertStatus::Snoozed
        } else if self
            .deliveries
            .iter()
            .any(|d| d.state == DeliveryState::Failed)
        {
            AlertStatus::Failed
        } else if self
            .deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Delivered)
        {
            AlertStatus::Delivered
        } else {
            AlertStatus::Pending
        }
    }

    /// The earliest pending delivery attempt, if any.
    pub fn next_attempt(&self) -> Option<Timestamp> {
        if self.cancelled || self.acknowledged {
            return None;
        }
        self.deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Pending)
            .filter_map(|d| d.next_attempt_at)
            .min()
    }
}

/// Alert settings of one scope (a program, a holder or a credential).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettings {
    /// Thresholds in days before expiry, replacing the defaults.
    pub thresholds: Option<Vec<u32>>,
    /// No alerts at all (a credential retired or lapsed on purpose).
    pub muted: bool,
}
