//! Alert delivery channels (signed webhooks and email) and the retry schedule they share.
//!
//! Each channel makes one attempt and says whether a failure is worth retrying; the alert
//! records the attempt (`domain::Alert::record_attempt`) and decides when to retry, using
//! [`next_attempt`], and gives up after [`MAX_ATTEMPTS`] (both from `domain::backoff`).

pub mod email;
pub mod webhook;

pub use crate::domain::backoff::{MAX_ATTEMPTS, next_attempt};
pub use email::{DEFAULT_FROM, Mailer, MailerError, send_email};
pub use webhook::{WebhookClient, WebhookClientError, WebhookTarget, send_webhook, sign, verify};

use crate::domain::AttemptOutcome;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// What a channel delivers for one alert: the JSON body of a webhook and the content of an
/// email.
///
/// The field names are a public wire format (webhook receivers parse them), so they change
/// only by adding fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPayload {
    /// Stable for one alert across retries and restarts, so receivers can drop repeats.
    pub idempotency_key: String,
    /// The alert's id, as `recert alerts` shows it; `null` for a test alert.
    pub alert_id: Option<String>,
    /// The holder the credential belongs to.
    pub holder_id: String,
    /// The credential the alert is about; `null` for a test alert.
    pub credential_id: Option<String>,
    /// The program's slug, e.g. `nha-cpt`; `null` for a test alert.
    pub program: Option<String>,
    /// Days before expiry of the threshold that fired: negative inside the grace period;
    /// `null` for a test alert.
    pub threshold_days: Option<i64>,
    /// The local date the alert became due.
    pub due_on: Date,
    /// The last day of the credential's current cycle; `null` for a test alert.
    pub expires_on: Option<Date>,
    /// One line, used as the email subject.
    pub title: String,
    /// Several lines of plain text.
    pub body: String,
    /// The credential's compliance status in snake case (`met`, `on_track`, `at_risk`,
    /// `in_grace`, `expired`); a string so the wire format does not follow the domain enum.
    pub status: String,
    /// Set on alerts sent by hand to check a channel; receivers should not act on them.
    pub test: bool,
    /// What the alert is about: `credential` (a cycle's expiry), `competency` (a skill's
    /// assessment due), `dues` (annual dues due) or `digest` (a team's standing, to a lead);
    /// `test` for a test alert. Receivers written before it can take its absence as
    /// `credential`.
    #[serde(default)]
    pub subject: String,
    /// The competency skill of a `competency` alert; `null` otherwise.
    #[serde(default)]
    pub skill: Option<String>,
    /// The amount of a `dues` alert, in cents (US dollars); `null` otherwise.
    #[serde(default)]
    pub amount_cents: Option<u32>,
    /// The team of a `digest` alert (`tm2`), or of the team channel a member's alert reached;
    /// `null` otherwise.
    #[serde(default)]
    pub team_id: Option<String>,
    /// The holder's name, so a team's channel (which gets every member's alerts) can say
    /// whose alert it is; `null` where recertd does not know it.
    #[serde(default)]
    pub holder_name: Option<String>,
}

/// Why one delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// Retrying cannot help (the receiver refused the alert or the target is misconfigured):
    /// the alert should be marked failed now instead of backing off.
    pub permanent: bool,
    /// What went wrong, for people; it never contains a secret or credentials.
    pub message: String,
}

impl From<Result<(), DeliveryError>> for AttemptOutcome {
    fn from(result: Result<(), DeliveryError>) -> Self {
        match result {
            Ok(()) => AttemptOutcome::Delivered,
            Err(e) => AttemptOutcome::Failed {
                message: e.message,
                permanent: e.permanent,
            },
        }
    }
}

impl DeliveryError {
    /// A failure that retrying will not fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            permanent: true,
            message: message.into(),
        }
    }

    /// A failure that a later attempt may get past.
    pub fn transient(message: impl Into<String>) -> Self {
        DeliveryError {
            permanent: false,
            message: message.into(),
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A sample payload shared by the channel tests.

    use super::AlertPayload;
    use jiff::civil::date;

    /// An alert 30 days before an expiry on 2025-07-31.
    pub(crate) fn payload() -> AlertPayload {
        AlertPayload {
            idempotency_key: "cred_7-cycle_2025-07-31-t30".into(),
            alert_id: Some("alert_42".into()),
            holder_id: "holder_1".into(),
            credential_id: Some("cred_7".into()),
            program: Some("nha-cpt".into()),
            threshold_days: Some(30),
            due_on: date(2025, 7, 1),
            expires_on: Some(date(2025, 7, 31)),
            title: "NHA CPT expires in 30 days: 2.50 CE hours still needed".into(),
            body: "NHA CPT expires in 30 days: 2.50 CE hours still needed\n\
                   Credits: 7.50 of 10.00 CE hours earned; 2.50 still needed."
                .into(),
            status: "at_risk".into(),
            test: false,
            subject: "credential".into(),
            skill: None,
            amount_cents: None,
            team_id: None,
            holder_name: None,
        }
    }
}
