//! Alerts and delivery channels as records: what was enqueued for whom, how each channel
//! fared, and the transitions users and the outbox make on them (acknowledge, snooze, cancel,
//! record a delivery attempt).
//!
//! The transitions are pure: the store applies them to the alert as stored, under its write
//! lock, so a change made while a delivery is in flight is never overwritten by a stale copy.

use super::alert_policy::Mark;
use super::backoff::{self, MAX_ATTEMPTS};
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
    /// The team whose members' alerts this channel receives (`notify add --team`); 0 for a
    /// holder's own channel. A team's channel has `holder_id` 0.
    #[serde(default)]
    pub team_id: u64,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.id)
            .field("holder_id", &self.holder_id)
            .field("kind", &self.kind)
            .field("target", &self.target)
            .field("team_id", &self.team_id)
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
    /// Not delivered yet; retried at `next_attempt_at`, if the alert is still open.
    Pending,
    /// The channel accepted it.
    Delivered,
    /// Given up: a permanent error or attempts exhausted.
    Failed,
}

/// The `channel_id` of a delivery to the holder's own e-mail address (`holder add --email`),
/// made when the holder has no e-mail channel of their own. No stored channel has id 0.
pub const HOLDER_EMAIL: u64 = 0;

/// Why a due e-mail delivery waits instead of being tried: recertd has no SMTP relay.
pub const WAITING_FOR_RELAY: &str = "waiting: no SMTP relay is configured (recertd --smtp-url)";

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

/// How one delivery attempt ended, as the channel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The channel accepted the alert.
    Delivered,
    /// The channel did not take it.
    Failed {
        /// What went wrong, for people.
        message: String,
        /// Retrying cannot help: give up now instead of backing off.
        permanent: bool,
    },
}

impl Delivery {
    /// A delivery through `channel_id` (`kind`, `target`) not tried yet, due at `at`.
    pub fn new(channel_id: u64, kind: ChannelKind, target: String, at: Timestamp) -> Delivery {
        Delivery {
            channel_id,
            kind,
            target,
            attempts: 0,
            last_error: String::new(),
            state: DeliveryState::Pending,
            next_attempt_at: Some(at),
        }
    }

    /// Whether an attempt through this channel is due at `now`: it is pending and its next
    /// attempt is not later than `now`.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.state == DeliveryState::Pending && self.next_attempt_at.is_none_or(|at| at <= now)
    }

    /// Counts one attempt made at `now`. Delivered, or given up on a permanent failure or after
    /// [`MAX_ATTEMPTS`]; otherwise, when `retry`, due again after the backoff seeded by `seed`,
    /// and without `retry` left pending with no next attempt.
    pub fn record_attempt(
        &mut self,
        outcome: &AttemptOutcome,
        now: Timestamp,
        seed: u64,
        retry: bool,
    ) {
        self.attempts = self.attempts.saturating_add(1);
        match outcome {
            AttemptOutcome::Delivered => {
                self.state = DeliveryState::Delivered;
                self.next_attempt_at = None;
                self.last_error.clear();
            }
            AttemptOutcome::Failed { message, permanent } => {
                self.last_error.clone_from(message);
                if *permanent || self.attempts >= MAX_ATTEMPTS {
                    self.state = DeliveryState::Failed;
                    self.next_attempt_at = None;
                } else if retry {
                    self.next_attempt_at =
                        Some(backoff::next_attempt(self.attempts - 1, now, seed));
                } else {
                    self.next_attempt_at = None;
                }
            }
        }
    }
}

/// Why an alert refused a transition: the change makes no sense in its current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    reason: String,
}

impl Refused {
    /// A refusal for `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Refused {
            reason: reason.into(),
        }
    }

    /// Why, in words a user understands.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Refused {}

/// What a user sees of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlertStatus {
    /// Some channel has not delivered yet.
    Pending,
    /// Every channel delivered it.
    Delivered,
    /// The holder acknowledged it: nothing more is sent, whatever was delivered.
    Acknowledged,
    /// Open, but there is no way to reach anyone: the holder has neither a channel nor an
    /// e-mail address. Delivered once a channel is added.
    Undeliverable,
    /// Some channel gave up.
    Failed,
    /// Held back until a date.
    Snoozed,
    /// Dropped before delivery: no longer relevant.
    Cancelled,
}

impl AlertStatus {
    /// `pending`, `delivered`, `acknowledged`, `undeliverable`, `failed`, `snoozed`,
    /// `cancelled`.
    pub const fn name(self) -> &'static str {
        match self {
            AlertStatus::Pending => "pending",
            AlertStatus::Delivered => "delivered",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Undeliverable => "undeliverable",
            AlertStatus::Failed => "failed",
            AlertStatus::Snoozed => "snoozed",
            AlertStatus::Cancelled => "cancelled",
        }
    }
}

/// What an alert is about. Its kind is part of the dedupe key, so reminders of different
/// subjects never stand in for one another; an alert stored before subjects existed is about a
/// credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlertSubject {
    /// One cycle of a credential (`credential_id`), ending `expires_on`.
    #[default]
    Credential,
    /// A competency skill of the holder under the competency program `program`, due
    /// `expires_on`; `credential_id` is 0.
    Competency {
        /// The skill assessed.
        skill: String,
    },
    /// The dues of the credential `credential_id`, due by `expires_on`.
    Dues {
        /// The amount, in cents (US dollars).
        amount_cents: u32,
    },
    /// A digest of a team's standing to one of its leads (`holder_id`), for the period
    /// starting `expires_on`; `credential_id` is 0.
    Digest {
        /// The team.
        team_id: u64,
    },
}

impl AlertSubject {
    /// `credential`, `competency`, `dues` or `digest`: the webhook's `subject` field and the
    /// JSON `subject`.
    pub const fn kind(&self) -> &'static str {
        match self {
            AlertSubject::Credential => "credential",
            AlertSubject::Competency { .. } => "competency",
            AlertSubject::Dues { .. } => "dues",
            AlertSubject::Digest { .. } => "digest",
        }
    }
}

/// What the outbox dedupes on: no two alerts share one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DedupeKey {
    /// A credential cycle's mark: (credential, cycle end, threshold), as it always was.
    Credential {
        /// The credential.
        credential_id: u64,
        /// The cycle's last day.
        expires_on: Date,
        /// The mark as signed days before it.
        threshold_days: i64,
    },
    /// Any other subject: its key text ([`Alert::key`]), which names its kind.
    Subject(String),
}

impl DedupeKey {
    /// The key as text, the same as [`Alert::key`] of the alerts it dedupes.
    pub fn text(&self) -> String {
        match self {
            DedupeKey::Credential {
                credential_id,
                expires_on,
                threshold_days,
            } => format!(
                "{}/{expires_on}/{threshold_days}",
                super::IdKind::Credential.format(*credential_id)
            ),
            DedupeKey::Subject(text) => text.clone(),
        }
    }
}

/// A reminder about one subject (a credential's cycle, a competency, dues, a team digest),
/// enqueued once per dedupe key ([`Alert::dedupe_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Store-assigned id; also its position in the holder's stream.
    pub id: u64,
    /// The holder (for a digest: the lead it goes to).
    pub holder_id: u64,
    /// What it is about.
    #[serde(default)]
    pub subject: AlertSubject,
    /// The credential (a credential's cycle or its dues); 0 for the other subjects.
    pub credential_id: u64,
    /// The program's slug (a competency program's for a competency; empty for a digest).
    pub program: String,
    /// Expiry of the cycle the alert is about; the due date of a competency or dues; the first
    /// day of a digest's period.
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
    /// The dedupe and idempotency key as text: `cr3/2027-03-01/30` for a credential's cycle,
    /// `h1/competency/clia-testing/Glucose/2027-03-01/30`, `cr3/dues/2027-03-31/30`,
    /// `tm2/h5/digest/2027-03-01`.
    pub fn key(&self) -> String {
        use super::IdKind;
        match &self.subject {
            AlertSubject::Credential => self.dedupe_key().text(),
            AlertSubject::Competency { skill } => format!(
                "{}/competency/{}/{skill}/{}/{}",
                IdKind::Holder.format(self.holder_id),
                self.program,
                self.expires_on,
                self.threshold_days
            ),
            AlertSubject::Dues { .. } => format!(
                "{}/dues/{}/{}",
                IdKind::Credential.format(self.credential_id),
                self.expires_on,
                self.threshold_days
            ),
            AlertSubject::Digest { team_id } => format!(
                "{}/{}/digest/{}",
                super::team_id(*team_id),
                IdKind::Holder.format(self.holder_id),
                self.expires_on
            ),
        }
    }

    /// What the outbox dedupes this alert on.
    pub fn dedupe_key(&self) -> DedupeKey {
        match self.subject {
            AlertSubject::Credential => DedupeKey::Credential {
                credential_id: self.credential_id,
                expires_on: self.expires_on,
                threshold_days: self.threshold_days,
            },
            _ => DedupeKey::Subject(self.key()),
        }
    }

    /// Whether it is about a cycle of a credential (and not its dues, a competency or a
    /// digest).
    pub fn is_credential_cycle(&self) -> bool {
        self.subject == AlertSubject::Credential
    }

    /// The status as of the holder's local `today`.
    pub fn status(&self, today: Date) -> AlertStatus {
        if self.cancelled {
            AlertStatus::Cancelled
        } else if self.acknowledged {
            AlertStatus::Acknowledged
        } else if self.snoozed_until.is_some_and(|u| u > today) {
            AlertStatus::Snoozed
        } else if self.deliveries.is_empty() {
            AlertStatus::Undeliverable
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

    /// Whether deliveries may still be attempted: neither acknowledged nor cancelled.
    pub fn is_open(&self) -> bool {
        !self.cancelled && !self.acknowledged
    }

    /// The channels whose delivery is due at `now`; none once the alert is closed.
    pub fn due_channels(&self, now: Timestamp) -> Vec<u64> {
        if !self.is_open() {
            return Vec::new();
        }
        self.deliveries
            .iter()
            .filter(|d| d.is_due(now))
            .map(|d| d.channel_id)
            .collect()
    }

    /// The holder has seen it: nothing more is delivered, and a pending snooze is dropped, so
    /// the alert shows no upcoming attempt. Repeating it changes nothing.
    pub fn acknowledge(&mut self) {
        self.acknowledged = true;
        self.snoozed_until = None;
        self.clear_schedule();
    }

    /// Drops the alert before delivery (no longer relevant, or its credential was muted):
    /// nothing more is delivered.
    pub fn cancel(&mut self) {
        self.cancelled = true;
        self.clear_schedule();
    }

    /// "Remind me again on `until`" (a local date of the holder, starting at `resume_at`):
    /// every delivery starts over at `resume_at`, and an acknowledged alert is re-opened, so
    /// what the holder is shown (snoozed, not acknowledged) is what is stored and done.
    /// A cancelled alert cannot be snoozed.
    pub fn snooze(&mut self, until: Date, resume_at: Timestamp) -> Result<(), Refused> {
        if self.cancelled {
            return Err(Refused::new("a cancelled alert cannot be snoozed"));
        }
        self.snoozed_until = Some(until);
        self.acknowledged = false;
        for d in &mut self.deliveries {
            d.state = DeliveryState::Pending;
            d.attempts = 0;
            d.last_error.clear();
            d.next_attempt_at = Some(resume_at);
        }
        Ok(())
    }

    /// Holds every pending delivery until `resume_at` (the end of a snooze on the holder's
    /// clock), for a snoozed alert that came due before its snooze ended.
    pub fn hold_until(&mut self, resume_at: Timestamp) {
        for d in &mut self.deliveries {
            if d.state == DeliveryState::Pending {
                d.next_attempt_at = Some(resume_at);
            }
        }
    }

    /// Gives up every pending delivery with `reason` (the engine cannot say when to try it,
    /// or its holder is gone): the alert shows as failed and is never due again.
    pub fn give_up(&mut self, reason: &str) {
        for d in &mut self.deliveries {
            if d.state == DeliveryState::Pending {
                d.state = DeliveryState::Failed;
                d.next_attempt_at = None;
                d.last_error = reason.to_string();
            }
        }
    }

    /// Records an attempt made through `channel_id` at `now` on this alert as it is stored
    /// now, which may have changed while the attempt was in flight:
    ///
    /// - acknowledged or cancelled meanwhile: the attempt is counted, but a failure is not
    ///   retried;
    /// - the delivery is no longer due at `now` (snoozed meanwhile, so it starts over later,
    ///   or settled by another attempt): the attempt belongs to a superseded round and
    ///   changes nothing.
    ///
    /// Returns whether the attempt was recorded. Retries back off with a jitter seeded by the
    /// alert and channel, so they are known exactly in advance.
    pub fn record_attempt(
        &mut self,
        channel_id: u64,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> bool {
        let open = self.is_open();
        let seed = self.id.rotate_left(17) ^ channel_id;
        match self
            .deliveries
            .iter_mut()
            .find(|d| d.channel_id == channel_id)
        {
            Some(d) if d.is_due(now) => {
                d.record_attempt(outcome, now, seed, open);
                true
            }
            _ => false,
        }
    }

    /// Gives an open alert that reaches no one (no deliveries) a delivery through
    /// `channel_id`, due at `now`. Returns whether it did; an alert that already reaches
    /// someone is left alone, so adding a channel never repeats a delivered alert.
    pub fn reach(
        &mut self,
        channel_id: u64,
        kind: ChannelKind,
        target: &str,
        now: Timestamp,
    ) -> bool {
        if !self.is_open() || !self.deliveries.is_empty() {
            return false;
        }
        self.deliveries
            .push(Delivery::new(channel_id, kind, target.to_string(), now));
        true
    }

    /// Puts off the due delivery through `channel_id` until `until` without counting an
    /// attempt, saying why in its last error (an e-mail while recertd has no SMTP relay).
    /// Returns whether it did.
    pub fn wait(&mut self, channel_id: u64, now: Timestamp, until: Timestamp, why: &str) -> bool {
        if !self.is_open() {
            return false;
        }
        match self
            .deliveries
            .iter_mut()
            .find(|d| d.channel_id == channel_id)
        {
            Some(d) if d.is_due(now) => {
                d.next_attempt_at = Some(until);
                why.clone_into(&mut d.last_error);
                true
            }
            _ => false,
        }
    }

    /// Forgets when pending deliveries were to be tried: the alert is closed.
    fn clear_schedule(&mut self) {
        for d in &mut self.deliveries {
            if d.state == DeliveryState::Pending {
                d.next_attempt_at = None;
            }
        }
    }
}

/// The holder's own e-mail address, when alerts should go there: they have one and no
/// e-mail channel of their own.
pub fn holder_address<'a>(channels: &[Channel], holder: &'a super::Holder) -> Option<&'a str> {
    let address = holder.email.trim();
    (!address.is_empty() && !channels.iter().any(|c| c.kind == ChannelKind::Email))
        .then_some(address)
}

/// Alert settings of one scope (a program, a holder or a credential).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettings {
    /// Thresholds in days before expiry, replacing the defaults.
    pub thresholds: Option<Vec<u32>>,
    /// No alerts at all (a credential retired or lapsed on purpose).
    pub muted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// An alert with two pending deliveries (channels 1 and 2), due at 08:00.
    fn alert() -> Alert {
        let due = at("2027-03-31T08:00:00Z");
        let delivery = |channel_id| Delivery {
            channel_id,
            kind: ChannelKind::Webhook,
            target: format!("https://example.org/{channel_id}"),
            attempts: 0,
            last_error: String::new(),
            state: DeliveryState::Pending,
            next_attempt_at: Some(due),
        };
        Alert {
            id: 7,
            holder_id: 1,
            subject: AlertSubject::Credential,
            credential_id: 3,
            program: "nha-cpt".into(),
            expires_on: "2027-04-30".parse().unwrap(),
            mark: Mark::Before(30),
            threshold_days: 30,
            due_on: "2027-03-31".parse().unwrap(),
            title: "t".into(),
            body: "b".into(),
            met: false,
            compliance_status: "at_risk".into(),
            created_at: due,
            snoozed_until: None,
            acknowledged: false,
            cancelled: false,
            deliveries: vec![delivery(1), delivery(2)],
        }
    }

    fn failed(permanent: bool) -> AttemptOutcome {
        AttemptOutcome::Failed {
            message: "503".into(),
            permanent,
        }
    }

    #[test]
    fn a_failed_attempt_is_retried_with_backoff_and_a_delivered_one_settles() {
        let now = at("2027-03-31T08:00:00Z");
        let mut a = alert();
        assert_eq!(a.due_channels(now), [1, 2]);
        assert!(a.record_attempt(1, &failed(false), now));
        let retry = backoff::next_attempt(0, now, 7u64.rotate_left(17) ^ 1);
        assert_eq!(a.deliveries[0].next_attempt_at, Some(retry));
        assert_eq!(
            (
                a.deliveries[0].attempts,
                a.deliveries[0].last_error.as_str()
            ),
            (1, "503")
        );
        assert!(a.record_attempt(2, &AttemptOutcome::Delivered, now));
        assert_eq!(a.deliveries[1].state, DeliveryState::Delivered);
        assert_eq!(a.next_attempt(), Some(retry));
        assert_eq!(
            a.due_channels(now),
            Vec::<u64>::new(),
            "not before the retry"
        );
        assert_eq!(a.due_channels(retry), [1]);
    }

    #[test]
    fn a_permanent_failure_or_the_last_attempt_gives_up() {
        let now = at("2027-03-31T08:00:00Z");
        let mut a = alert();
        a.record_attempt(1, &failed(true), now);
        assert_eq!(a.deliveries[0].state, DeliveryState::Failed);
        a.deliveries[1].attempts = MAX_ATTEMPTS - 1;
        a.record_attempt(2, &failed(false), now);
        assert_eq!(a.deliveries[1].state, DeliveryState::Failed);
        assert_eq!(a.next_attempt(), None);
    }

    #[test]
    fn an_attempt_that_ends_after_an_acknowledgement_is_counted_but_not_retried() {
        let now = at("2027-03-31T08:00:00Z");
        for outcome in [failed(false), AttemptOutcome::Delivered] {
            let mut a = alert();
            a.acknowledge();
            assert_eq!(a.next_attempt(), None);
            assert_eq!(a.deliveries[0].next_attempt_at, None, "no attempt shown");
            assert!(a.record_attempt(1, &outcome, now));
            assert!(a.acknowledged);
            assert_eq!(a.deliveries[0].attempts, 1);
            assert_eq!(a.deliveries[0].next_attempt_at, None);
            assert_eq!(a.next_attempt(), None);
            assert!(a.due_channels(now).is_empty());
        }
    }

    #[test]
    fn an_attempt_that_ends_after_a_cancellation_is_not_retried() {
        let now = at("2027-03-31T08:00:00Z");
        let mut a = alert();
        a.cancel();
        a.record_attempt(1, &failed(false), now);
        assert_eq!(a.deliveries[0].next_attempt_at, None);
        assert_eq!(
            a.status("2027-03-31".parse().unwrap()),
            AlertStatus::Cancelled
        );
        assert!(a.due_channels(now).is_empty());
    }

    #[test]
    fn an_attempt_that_ends_after_a_snooze_leaves_the_new_round_alone() {
        let now = at("2027-03-31T08:00:00Z");
        let resume = at("2027-04-05T00:00:00Z");
        let mut a = alert();
        a.deliveries[0].attempts = 2;
        a.snooze("2027-04-05".parse().unwrap(), resume).unwrap();
        let snoozed = a.clone();
        assert!(!a.record_attempt(1, &AttemptOutcome::Delivered, now));
        assert!(!a.record_attempt(2, &failed(false), now));
        assert_eq!(a, snoozed);
        assert_eq!(a.deliveries[0].attempts, 0);
        assert_eq!(a.next_attempt(), Some(resume));
    }

    #[test]
    fn snoozing_reopens_an_acknowledged_alert_and_refuses_a_cancelled_one() {
        let resume = at("2027-04-05T00:00:00Z");
        let until: Date = "2027-04-05".parse().unwrap();
        let mut a = alert();
        a.record_attempt(1, &AttemptOutcome::Delivered, at("2027-03-31T08:00:00Z"));
        a.acknowledge();
        a.snooze(until, resume).unwrap();
        assert!(!a.acknowledged);
        assert_eq!(a.snoozed_until, Some(until));
        assert_eq!(
            a.status("2027-04-01".parse().unwrap()),
            AlertStatus::Snoozed
        );
        assert!(
            a.deliveries
                .iter()
                .all(|d| d.state == DeliveryState::Pending
                    && d.attempts == 0
                    && d.next_attempt_at == Some(resume))
        );
        a.acknowledge();
        assert_eq!(a.snoozed_until, None, "acknowledging drops the snooze");
        assert_eq!(
            a.status("2027-04-01".parse().unwrap()),
            AlertStatus::Acknowledged
        );

        let mut c = alert();
        c.cancel();
        let before = c.clone();
        let refused = c.snooze(until, resume).unwrap_err();
        assert_eq!(refused.reason(), "a cancelled alert cannot be snoozed");
        assert_eq!(c, before, "a refused change changes nothing");
    }

    #[test]
    fn holding_moves_only_pending_deliveries() {
        let now = at("2027-03-31T08:00:00Z");
        let resume = at("2027-04-05T00:00:00Z");
        let mut a = alert();
        a.record_attempt(2, &AttemptOutcome::Delivered, now);
        a.hold_until(resume);
        assert_eq!(a.deliveries[0].next_attempt_at, Some(resume));
        assert_eq!(a.deliveries[1].next_attempt_at, None);
    }
}
