//! Value format 1, frozen: postcard of the domain structs exactly as they were when format 2
//! replaced it, so stores written before then still read whatever the domain becomes.
//!
//! postcard is positional and carries no names: a struct is its fields in declaration order, an
//! enum is its variant's index then its payload, a newtype is its inner value, and `jiff` dates
//! and timestamps are their ISO 8601 strings. These copies therefore keep every field's order and
//! type and every enum's variant order as they were, and must never change. A field added to the
//! domain since is filled in by the `From` conversions below, with the value a record written
//! before it had means.

use crate::domain;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;

/// Format-1 `Holder`.
#[derive(Deserialize)]
pub(crate) struct Holder {
    id: u64,
    name: String,
    email: String,
    time_zone: String,
}

impl From<Holder> for domain::Holder {
    fn from(v1: Holder) -> Self {
        let Holder {
            id,
            name,
            email,
            time_zone,
        } = v1;
        domain::Holder {
            id,
            name,
            email,
            time_zone,
            hired_on: None,
            competencies: Vec::new(),
        }
    }
}

/// Format-1 `PastCycle`.
#[derive(Deserialize)]
struct PastCycle {
    issued_on: Option<Date>,
    expires_on: Date,
    renewed_on: Date,
}

impl From<PastCycle> for domain::PastCycle {
    fn from(v1: PastCycle) -> Self {
        let PastCycle {
            issued_on,
            expires_on,
            renewed_on,
        } = v1;
        domain::PastCycle {
            issued_on,
            expires_on,
            renewed_on,
            outcome: None,
        }
    }
}

/// Format-1 `Credential`.
#[derive(Deserialize)]
pub(crate) struct Credential {
    id: u64,
    holder_id: u64,
    program: String,
    number: String,
    issued_on: Option<Date>,
    expires_on: Date,
    history: Vec<PastCycle>,
}

impl From<Credential> for domain::Credential {
    fn from(v1: Credential) -> Self {
        let Credential {
            id,
            holder_id,
            program,
            number,
            issued_on,
            expires_on,
            history,
        } = v1;
        domain::Credential {
            id,
            holder_id,
            program,
            number,
            issued_on,
            expires_on,
            verifications: Vec::new(),
            history: history.into_iter().map(Into::into).collect(),
        }
    }
}

/// Format-1 `Credits`: hundredths.
#[derive(Deserialize)]
pub(crate) struct Credits(i64);

impl From<Credits> for domain::Credits {
    fn from(v1: Credits) -> Self {
        let Credits(hundredths) = v1;
        domain::Credits(hundredths)
    }
}

/// Format-1 `Unit`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum Unit {
    Hours,
    Ceu,
    Point,
    NhaCredit,
    SemesterHour,
    QuarterHour,
}

impl From<Unit> for domain::Unit {
    fn from(v1: Unit) -> Self {
        match v1 {
            Unit::Hours => domain::Unit::Hours,
            Unit::Ceu => domain::Unit::Ceu,
            Unit::Point => domain::Unit::Point,
            Unit::NhaCredit => domain::Unit::NhaCredit,
            Unit::SemesterHour => domain::Unit::SemesterHour,
            Unit::QuarterHour => domain::Unit::QuarterHour,
        }
    }
}

/// Format-1 `Format`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum Format {
    Live,
    Online,
    HomeStudy,
    Academic,
}

impl From<Format> for domain::Format {
    fn from(v1: Format) -> Self {
        match v1 {
            Format::Live => domain::Format::Live,
            Format::Online => domain::Format::Online,
            Format::HomeStudy => domain::Format::HomeStudy,
            Format::Academic => domain::Format::Academic,
        }
    }
}

/// Format-1 `Course`.
#[derive(Deserialize)]
pub(crate) struct Course {
    id: u64,
    holder_id: u64,
    title: String,
    provider: String,
    accreditation: String,
    completed_on: Date,
    amount: Credits,
    unit: Unit,
    categories: Vec<String>,
    format: Option<Format>,
    credential_ids: Vec<u64>,
    evidence: String,
}

impl From<Course> for domain::Course {
    fn from(v1: Course) -> Self {
        let Course {
            id,
            holder_id,
            title,
            provider,
            accreditation,
            completed_on,
            amount,
            unit,
            categories,
            format,
            credential_ids,
            evidence,
        } = v1;
        domain::Course {
            id,
            holder_id,
            title,
            provider,
            accreditation,
            completed_on,
            amount: amount.into(),
            unit: unit.into(),
            categories,
            format: format.map(Into::into),
            credential_ids,
            evidence,
        }
    }
}

/// Format-1 `Confidence`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum Confidence {
    Confirmed,
    Uncertain,
}

impl From<Confidence> for domain::Confidence {
    fn from(v1: Confidence) -> Self {
        match v1 {
            Confidence::Confirmed => domain::Confidence::Confirmed,
            Confidence::Uncertain => domain::Confidence::Uncertain,
        }
    }
}

/// Format-1 `CategoryMinimum`.
#[derive(Deserialize)]
struct CategoryMinimum {
    category: String,
    minimum: Credits,
}

impl From<CategoryMinimum> for domain::CategoryMinimum {
    fn from(v1: CategoryMinimum) -> Self {
        let CategoryMinimum { category, minimum } = v1;
        domain::CategoryMinimum {
            category,
            minimum: minimum.into(),
        }
    }
}

/// Format-1 `CapScope`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum CapScope {
    Category(String),
    Format(Format),
}

impl From<CapScope> for domain::CapScope {
    fn from(v1: CapScope) -> Self {
        match v1 {
            CapScope::Category(category) => domain::CapScope::Category(category),
            CapScope::Format(format) => domain::CapScope::Format(format.into()),
        }
    }
}

/// Format-1 `CapLimit`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum CapLimit {
    Percent(u32),
    Amount(Credits),
}

impl From<CapLimit> for domain::CapLimit {
    fn from(v1: CapLimit) -> Self {
        match v1 {
            CapLimit::Percent(percent) => domain::CapLimit::Percent(percent),
            CapLimit::Amount(amount) => domain::CapLimit::Amount(amount.into()),
        }
    }
}

/// Format-1 `Cap`.
#[derive(Deserialize)]
struct Cap {
    scope: CapScope,
    limit: CapLimit,
}

impl From<Cap> for domain::Cap {
    fn from(v1: Cap) -> Self {
        let Cap { scope, limit } = v1;
        domain::Cap {
            scope: scope.into(),
            limit: limit.into(),
        }
    }
}

/// Format-1 `Program`. (The domain's `#[serde(default)]`s serve its TOML catalog; postcard
/// wrote every field.)
#[derive(Deserialize)]
pub(crate) struct Program {
    slug: String,
    body: String,
    name: String,
    cycle_months: u32,
    ce_window_months: u32,
    unit_name: String,
    unit_hours: Credits,
    required: Credits,
    category_minimums: Vec<CategoryMinimum>,
    caps: Vec<Cap>,
    grace_days: u32,
    shares_courses: bool,
    accepted_accreditations: Vec<String>,
    sources: Vec<String>,
    confidence: Confidence,
    notes: String,
}

impl From<Program> for domain::Program {
    fn from(v1: Program) -> Self {
        let Program {
            slug,
            body,
            name,
            cycle_months,
            ce_window_months,
            unit_name,
            unit_hours,
            required,
            category_minimums,
            caps,
            grace_days,
            shares_courses,
            accepted_accreditations,
            sources,
            confidence,
            notes,
        } = v1;
        // Format 1 flagged the program as a whole: "uncertain" without saying which rule.
        let uncertain = match domain::Confidence::from(confidence) {
            domain::Confidence::Confirmed => Vec::new(),
            domain::Confidence::Uncertain => vec![domain::RuleField::Unspecified],
        };
        // The rules added since format 1 take the values that mean "no such rule".
        domain::Program {
            slug,
            body,
            name,
            cycle_months,
            cycle_anchor: domain::CycleAnchor::Issue,
            ce_window_months,
            ce_window_years_before: 0,
            unit_name,
            unit_hours: unit_hours.into(),
            required: required.into(),
            first_cycle_per_month: domain::Credits::ZERO,
            category_minimums: category_minimums.into_iter().map(Into::into).collect(),
            exclusive_categories: false,
            caps: caps.into_iter().map(Into::into).collect(),
            activity_limits: Vec::new(),
            alternatives: Vec::new(),
            accreditation_minimums: Vec::new(),
            grace_days,
            shares_courses,
            accepted_accreditations,
            accreditation_required: false,
            dues: None,
            sources,
            uncertain,
            notes,
            local_fields: Vec::new(),
            reinstatement: None,
        }
    }
}

/// Format-1 `ChannelKind`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum ChannelKind {
    Webhook,
    Email,
}

impl From<ChannelKind> for domain::ChannelKind {
    fn from(v1: ChannelKind) -> Self {
        match v1 {
            ChannelKind::Webhook => domain::ChannelKind::Webhook,
            ChannelKind::Email => domain::ChannelKind::Email,
        }
    }
}

/// Format-1 `Channel`.
#[derive(Deserialize)]
pub(crate) struct Channel {
    id: u64,
    holder_id: u64,
    kind: ChannelKind,
    target: String,
    secret: String,
}

impl From<Channel> for domain::Channel {
    fn from(v1: Channel) -> Self {
        let Channel {
            id,
            holder_id,
            kind,
            target,
            secret,
        } = v1;
        domain::Channel {
            id,
            holder_id,
            kind: kind.into(),
            target,
            secret,
            team_id: 0,
        }
    }
}

/// Format-1 `DeliveryState`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl From<DeliveryState> for domain::DeliveryState {
    fn from(v1: DeliveryState) -> Self {
        match v1 {
            DeliveryState::Pending => domain::DeliveryState::Pending,
            DeliveryState::Delivered => domain::DeliveryState::Delivered,
            DeliveryState::Failed => domain::DeliveryState::Failed,
        }
    }
}

/// Format-1 `Delivery`.
#[derive(Deserialize)]
struct Delivery {
    channel_id: u64,
    kind: ChannelKind,
    target: String,
    attempts: u32,
    last_error: String,
    state: DeliveryState,
    next_attempt_at: Option<Timestamp>,
}

impl From<Delivery> for domain::Delivery {
    fn from(v1: Delivery) -> Self {
        let Delivery {
            channel_id,
            kind,
            target,
            attempts,
            last_error,
            state,
            next_attempt_at,
        } = v1;
        domain::Delivery {
            channel_id,
            kind: kind.into(),
            target,
            attempts,
            last_error,
            state: state.into(),
            next_attempt_at,
        }
    }
}

/// Format-1 `Mark`, variants in their format-1 order.
#[derive(Deserialize)]
pub(crate) enum Mark {
    Before(u32),
    ExpiryDay,
    GraceWeek(u32),
    Lapsed,
}

impl From<Mark> for domain::Mark {
    fn from(v1: Mark) -> Self {
        match v1 {
            Mark::Before(days) => domain::Mark::Before(days),
            Mark::ExpiryDay => domain::Mark::ExpiryDay,
            Mark::GraceWeek(weeks) => domain::Mark::GraceWeek(weeks),
            Mark::Lapsed => domain::Mark::Lapsed,
        }
    }
}

/// Format-1 `Alert`.
#[derive(Deserialize)]
pub(crate) struct Alert {
    id: u64,
    holder_id: u64,
    credential_id: u64,
    program: String,
    expires_on: Date,
    mark: Mark,
    threshold_days: i64,
    due_on: Date,
    title: String,
    body: String,
    met: bool,
    compliance_status: String,
    created_at: Timestamp,
    snoozed_until: Option<Date>,
    acknowledged: bool,
    cancelled: bool,
    deliveries: Vec<Delivery>,
}

impl From<Alert> for domain::Alert {
    fn from(v1: Alert) -> Self {
        let Alert {
            id,
            holder_id,
            credential_id,
            program,
            expires_on,
            mark,
            threshold_days,
            due_on,
            title,
            body,
            met,
            compliance_status,
            created_at,
            snoozed_until,
            acknowledged,
            cancelled,
            deliveries,
        } = v1;
        domain::Alert {
            id,
            holder_id,
            subject: domain::AlertSubject::Credential,
            credential_id,
            program,
            expires_on,
            mark: mark.into(),
            threshold_days,
            due_on,
            title,
            body,
            met,
            compliance_status,
            created_at,
            snoozed_until,
            acknowledged,
            cancelled,
            deliveries: deliveries.into_iter().map(Into::into).collect(),
        }
    }
}

/// Format-1 `AlertSettings`.
#[derive(Deserialize)]
pub(crate) struct AlertSettings {
    thresholds: Option<Vec<u32>>,
    muted: bool,
}

impl From<AlertSettings> for domain::AlertSettings {
    fn from(v1: AlertSettings) -> Self {
        let AlertSettings { thresholds, muted } = v1;
        domain::AlertSettings { thresholds, muted }
    }
}
