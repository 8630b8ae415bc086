//! The client's own records: what commands work with and what `--output json` prints.
//!
//! These are deliberately not the generated proto types, so the JSON stays stable when the
//! wire format grows, and so amounts are decimal numbers rather than hundredths. Optional
//! strings the server sends empty are `None` here (JSON `null`). JSON.md documents them.

use jiff::civil::Date;
use serde::Serialize;

use crate::credits::Credits;

/// A person who holds credentials.
#[derive(Debug, Clone, Serialize)]
pub struct Holder {
    /// Server-assigned id, e.g. "h1".
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail address for alerts, if any.
    pub email: Option<String>,
    /// IANA time zone the holder's "today" and alerts follow.
    pub time_zone: String,
    /// Whether commands use this holder when no `--holder` is given.
    pub is_default: bool,
    /// Hire date, from which competency assessments are scheduled, if known.
    pub hired_on: Option<Date>,
}

/// A holder to create (`holder add`).
#[derive(Debug, Clone)]
pub struct NewHolder {
    /// Display name.
    pub name: String,
    /// E-mail address for alerts.
    pub email: Option<String>,
    /// IANA time zone; `None` lets the server choose (UTC).
    pub time_zone: Option<String>,
    /// Hire date.
    pub hired_on: Option<Date>,
}

/// How sure the catalog is of a program's published numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Stated by the certifying body itself.
    Confirmed,
    /// Secondary sources only: verify with the body.
    Uncertain,
    /// The server did not say.
    Unspecified,
}

/// A minimum number of credits in one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryMinimum {
    /// Category name, e.g. "safety".
    pub category: String,
    /// Credits required in that category, in the program's unit.
    pub minimum: Credits,
}

/// The bound of a cap: a share of the requirement or a fixed amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapLimit {
    /// At most this percentage (1..=100) of the required credits.
    Percent(i32),
    /// At most this many credits.
    Amount(Credits),
}

/// A cap on how much of one category or one course format counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapRule {
    /// The capped category; exactly one of `category` and `format` is set.
    pub category: Option<String>,
    /// The capped course format.
    pub format: Option<String>,
    /// How much counts at most.
    pub limit: CapLimit,
}

impl Serialize for CapRule {
    /// `{category, format, max_percent, max}`, with the unused members `null`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shape<'a> {
            category: Option<&'a str>,
            format: Option<&'a str>,
            max_percent: Option<i32>,
            max: Option<Credits>,
        }
        let (max_percent, max) = match self.limit {
            CapLimit::Percent(p) => (Some(p), None),
            CapLimit::Amount(a) => (None, Some(a)),
        };
        Shape {
            category: self.category.as_deref(),
            format: self.format.as_deref(),
            max_percent,
            max,
        }
        .serialize(serializer)
    }
}

/// A credential type and its renewal rules.
#[derive(Debug, Clone, Serialize)]
pub struct Program {
    /// Short lowercase id, e.g. "nha-cpt".
    pub slug: String,
    /// Certifying body, e.g. "NHA".
    pub body: String,
    /// Full name of the credential.
    pub name: String,
    /// Length of a certification cycle.
    pub cycle_months: i32,
    /// Length of the CE window that ends on the expiry date.
    pub ce_window_months: i32,
    /// Name of the credit unit, e.g. "contact hour".
    pub unit: String,
    /// Contact hours per unit.
    pub unit_hours: Credits,
    /// Credits required per cycle.
    pub required: Credits,
    /// Per-category minimums.
    pub category_minimums: Vec<CategoryMinimum>,
    /// Per-category and per-format caps.
    pub caps: Vec<CapRule>,
    /// Days after expiry during which renewal is still possible.
    pub grace_days: i32,
    /// Whether one course may count toward this and other credentials at once.
    pub shares_courses: bool,
    /// Accreditations accepted; empty accepts any.
    pub accepted_accreditations: Vec<String>,
    /// Where the rules come from.
    pub sources: Vec<String>,
    /// Whether the numbers are confirmed by the body.
    pub confidence: Confidence,
    /// Free-form notes.
    pub notes: Option<String>,
    /// Shipped with recertd.
    pub builtin: bool,
    /// A local program replacing a built-in one of the same slug.
    pub overrides_builtin: bool,
    /// The rules whose values are uncertain, by field name.
    pub uncertain: Vec<String>,
    /// The rules a partial override (`program edit`) sets locally, by field name; the rest
    /// come from the built-in program. Empty otherwise.
    pub local_fields: Vec<String>,
    /// Where a cycle ends: `null` on the expiry date, `"MM-DD"` on that day each year, or
    /// `"birthday"`.
    pub cycle_anchor: Option<String>,
    /// The CE window also reaches back to January 1 of this many years before the cycle's
    /// last year (0: no).
    pub ce_window_years_before: i32,
    /// A pro-rata first cycle: this much per month certified (0: none).
    pub first_cycle_per_month: Credits,
    /// A credit counts toward one category minimum only.
    pub exclusive_categories: bool,
    /// Kinds of activity that count at most once every so many years.
    pub activity_limits: Vec<ActivityLimitRule>,
    /// Other ways to meet the requirement: fewer CE credits plus hours of another activity.
    pub alternatives: Vec<AlternativeRule>,
    /// Minimums from providers of one accreditation.
    pub accreditation_minimums: Vec<AccreditationMinimumRule>,
    /// A course counts only if it names its accreditation.
    pub accreditation_required: bool,
    /// Recurring dues, if any.
    pub dues: Option<DuesRule>,
    /// How a lapsed credential is reinstated, where the body states it.
    pub reinstatement: Option<ReinstatementRule>,
}

/// How a lapsed credential is reinstated, as the body states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReinstatementRule {
    /// CE must be completed within this many months (0: not stated).
    pub within_months: i32,
    /// Contact hours of CE; 0: the program's requirement per cycle.
    pub ce_hours: Credits,
    /// What else the body asks, or `null`.
    pub note: Option<String>,
    /// Where the rule is published.
    pub sources: Vec<String>,
}

/// "A course of this kind counts at most once every N years".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityLimitRule {
    /// The category it applies to; exactly one of `category` and `format` is set.
    pub category: Option<String>,
    /// The course format it applies to.
    pub format: Option<String>,
    /// Years between two such courses that count.
    pub once_every_years: i32,
}

/// "Instead of `required`, this much CE plus this many hours of another activity".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlternativeRule {
    /// CE required instead, in the program's unit.
    pub required: Credits,
    /// Category of the other activity, e.g. `work-hours`.
    pub work_category: String,
    /// Hours of that activity.
    pub work_hours: Credits,
}

/// A minimum from providers of one accreditation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccreditationMinimumRule {
    /// The accreditation.
    pub accreditation: String,
    /// Minimum, in the program's unit.
    pub minimum: Credits,
}

/// Recurring dues between renewals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuesRule {
    /// Amount in US cents.
    pub amount_cents: i32,
    /// Months between two payments.
    pub every_months: i32,
    /// The month they fall due, relative to the anniversary month (0: that month).
    pub month_offset: i32,
}

/// Some rules of a program to change (`program edit`); `None` (or empty) leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct ProgramEdit {
    /// Cycle length.
    pub cycle_months: Option<i32>,
    /// CE window length.
    pub ce_window_months: Option<i32>,
    /// Contact hours per unit.
    pub unit_hours: Option<Credits>,
    /// Credits required per cycle.
    pub required: Option<Credits>,
    /// Per-category minimums (replacing them all).
    pub category_minimums: Option<Vec<CategoryMinimum>>,
    /// Caps (replacing them all).
    pub caps: Option<Vec<CapRule>>,
    /// Grace period in days.
    pub grace_days: Option<i32>,
    /// Whether courses may count toward other credentials too.
    pub shares_courses: Option<bool>,
    /// Accepted accreditations (replacing the list).
    pub accepted_accreditations: Option<Vec<String>>,
}

/// What `program reset` did.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramReset {
    /// Program slug.
    pub slug: String,
    /// The local fields dropped.
    pub reset: Vec<String>,
    /// The local fields that remain (empty: the built-in program applies as shipped).
    pub local_fields: Vec<String>,
}

/// The rules of a program the user defines (`program add`).
#[derive(Debug, Clone)]
pub struct ProgramDraft {
    /// Slug; a built-in slug creates a local override.
    pub slug: String,
    /// Certifying body.
    pub body: String,
    /// Full name.
    pub name: String,
    /// Cycle length.
    pub cycle_months: i32,
    /// CE window length.
    pub ce_window_months: i32,
    /// Unit name.
    pub unit: String,
    /// Contact hours per unit.
    pub unit_hours: Credits,
    /// Credits required per cycle.
    pub required: Credits,
    /// Per-category minimums.
    pub category_minimums: Vec<CategoryMinimum>,
    /// Caps.
    pub caps: Vec<CapRule>,
    /// Grace period in days.
    pub grace_days: i32,
    /// Whether courses may count toward other credentials too.
    pub shares_courses: bool,
    /// Accepted accreditations.
    pub accepted_accreditations: Vec<String>,
    /// Sources of the rules.
    pub sources: Vec<String>,
    /// Free-form notes.
    pub notes: Option<String>,
}

/// One completed cycle of a credential, kept on renewal.
#[derive(Debug, Clone, Serialize)]
pub struct PastCycle {
    /// Start of that cycle, if known.
    pub issued_on: Option<String>,
    /// Its expiry date.
    pub expires_on: String,
    /// When it was renewed.
    pub renewed_on: Option<String>,
}

/// A closed cycle with what it required and counted (`cert show`'s `past_cycles`).
#[derive(Debug, Clone, Serialize)]
pub struct ClosedCycle {
    /// Start of that cycle, if known.
    pub issued_on: Option<String>,
    /// Its expiry date.
    pub expires_on: String,
    /// When it was renewed.
    pub renewed_on: Option<String>,
    /// First day of its CE window; null when the outcome was not kept.
    pub window_start: Option<String>,
    /// Its last day; null when the outcome was not kept.
    pub ends_on: Option<String>,
    /// Unit of the amounts; null when the outcome was not kept.
    pub unit: Option<String>,
    /// Required; null when the outcome was not kept.
    pub required: Option<Credits>,
    /// Counted after caps; null when the outcome was not kept.
    pub earned: Option<Credits>,
    /// Per-category progress.
    pub categories: Vec<CategoryProgress>,
    /// Status on its last day; null when the outcome was not kept.
    pub status: Option<ComplianceStatus>,
    /// The courses it counted.
    pub counted_course_ids: Vec<String>,
    /// The same, with the amount each counted.
    pub counted: Vec<CountedCourse>,
}

/// A course counted toward a credential, with the amount it counted.
#[derive(Debug, Clone, Serialize)]
pub struct CountedCourse {
    /// Course id.
    pub course_id: String,
    /// Amount counted after caps, in the program's unit.
    pub amount: Credits,
    /// Whether a cap counted less than the course's full amount.
    pub capped: bool,
}

/// A course a credential does not count, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotCounted {
    /// Course id.
    pub course_id: String,
    /// `pinned_elsewhere`, `accreditation_not_accepted`, `outside_window`, `activity_limit`,
    /// `not_shared`, `work_hours` or `capped`.
    pub reason: String,
    /// The reason in words.
    pub detail: String,
}

/// A program held by a holder.
#[derive(Debug, Clone, Serialize)]
pub struct Credential {
    /// Server-assigned id, e.g. "cr1".
    pub id: String,
    /// Owner.
    pub holder_id: String,
    /// Program slug.
    pub program: String,
    /// Certificate number, if recorded.
    pub number: Option<String>,
    /// Issue date of the current cycle, if recorded.
    pub issued_on: Option<String>,
    /// Expiry date of the current cycle.
    pub expires_on: String,
    /// Past cycles, oldest first as the server keeps them.
    pub history: Vec<PastCycle>,
    /// The same cycles with what each required and counted.
    pub past_cycles: Vec<ClosedCycle>,
    /// The latest check against the issuing body's registry; `null` when never checked.
    pub last_verification: Option<Verification>,
    /// Whether the latest check saw `active` for the current cycle.
    pub verified: bool,
    /// The opposite of `verified`: renewed since the latest check, never checked, or last
    /// seen not-found, expired or mismatched.
    pub unverified: bool,
}

/// A check of a credential against its issuing body's registry (`cert verify`).
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// `active`, `not-found`, `expired` or `mismatch`.
    pub result: String,
    /// Where it was checked; `null` if not recorded.
    pub source: Option<String>,
    /// Who checked.
    pub by: String,
    /// The day of the check.
    pub on: String,
    /// The credential's expiry when the check was recorded: the cycle it vouches for.
    pub cycle_expires_on: String,
}

/// A new credential (`cert add`).
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// Owner.
    pub holder_id: String,
    /// Program slug.
    pub program: String,
    /// Certificate number.
    pub number: Option<String>,
    /// Issue date.
    pub issued_on: Option<Date>,
    /// Expiry date.
    pub expires_on: Date,
}

/// Changes to a credential (`cert edit`); `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CredentialChanges {
    /// New certificate number ("" clears it).
    pub number: Option<String>,
    /// New issue date.
    pub issued_on: Option<Date>,
    /// New expiry date.
    pub expires_on: Option<Date>,
}

/// A completed CE activity.
#[derive(Debug, Clone, Serialize)]
pub struct Course {
    /// Server-assigned id, e.g. "co1".
    pub id: String,
    /// Owner.
    pub holder_id: String,
    /// Title.
    pub title: String,
    /// Provider, if recorded.
    pub provider: Option<String>,
    /// Accreditation, e.g. "P.A.C.E.", if recorded.
    pub accreditation: Option<String>,
    /// Completion date.
    pub completed_on: String,
    /// Amount as awarded, in `unit`.
    pub credits: Credits,
    /// Unit of `credits`, e.g. "hours" or "ceu".
    pub unit: String,
    /// The amount in contact hours, computed by the server.
    pub hours: Credits,
    /// Categories.
    pub categories: Vec<String>,
    /// Format, if recorded.
    pub format: Option<String>,
    /// Credentials the course is pinned to; empty counts toward every eligible one.
    pub credential_ids: Vec<String>,
    /// Certificate reference, if recorded.
    pub evidence: Option<String>,
}

/// The unit a course's credits are awarded in; names ignore case, and the other number
/// (`hour`, `ceus`, `points`, ...) is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CourseUnit {
    /// Contact hours.
    #[value(alias = "hour", alias = "contact-hour", alias = "contact-hours")]
    Hours,
    /// Continuing education units: 1 CEU = 10 contact hours.
    #[value(alias = "ceus")]
    Ceu,
    /// Points (ASCP, AMT): 1 point = 1 contact hour.
    #[value(alias = "points")]
    Point,
    /// NHA CE credits: 1 credit = 2 contact hours (unconfirmed by NHA).
    #[value(alias = "nha-credits")]
    NhaCredit,
    /// Academic semester hours: 1 semester hour = 15 contact hours.
    #[value(alias = "semester-hours")]
    SemesterHour,
    /// Academic quarter hours: 1 quarter hour = 10 contact hours.
    #[value(alias = "quarter-hours")]
    QuarterHour,
}

impl CourseUnit {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hours => "hours",
            Self::Ceu => "ceu",
            Self::Point => "point",
            Self::NhaCredit => "nha-credit",
            Self::SemesterHour => "semester-hour",
            Self::QuarterHour => "quarter-hour",
        }
    }
}

/// How a course was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CourseFormat {
    /// In person or live webinar.
    Live,
    /// Self-paced online.
    Online,
    /// Home study (print or recorded).
    HomeStudy,
    /// Academic course work.
    Academic,
}

impl CourseFormat {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Online => "online",
            Self::HomeStudy => "home-study",
            Self::Academic => "academic",
        }
    }

    /// Looks a format up by its wire name, ignoring case.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Live, Self::Online, Self::HomeStudy, Self::Academic]
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// A course to log (`course log`).
#[derive(Debug, Clone)]
pub struct NewCourse {
    /// Owner.
    pub holder_id: String,
    /// Title.
    pub title: String,
    /// Provider.
    pub provider: Option<String>,
    /// Accreditation.
    pub accreditation: Option<String>,
    /// Completion date; `None` lets the daemon use the holder's today in their zone.
    pub completed_on: Option<Date>,
    /// Amount as awarded.
    pub credits: Credits,
    /// Unit of `credits`.
    pub unit: CourseUnit,
    /// Categories.
    pub categories: Vec<String>,
    /// Format.
    pub format: Option<CourseFormat>,
    /// Credential ids to pin the course to (already resolved from slugs).
    pub credential_ids: Vec<String>,
    /// Certificate reference.
    pub evidence: Option<String>,
}

/// Changes to a course (`course edit`); `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CourseChanges {
    /// New title.
    pub title: Option<String>,
    /// New provider ("" clears it).
    pub provider: Option<String>,
    /// New accreditation ("" clears it).
    pub accreditation: Option<String>,
    /// New completion date.
    pub completed_on: Option<Date>,
    /// New amount.
    pub credits: Option<Credits>,
    /// New unit.
    pub unit: Option<CourseUnit>,
    /// Replacement list of categories.
    pub categories: Option<Vec<String>>,
    /// New format.
    pub format: Option<CourseFormat>,
    /// Replacement list of pinned credential ids.
    pub credential_ids: Option<Vec<String>>,
    /// New certificate reference ("" clears it).
    pub evidence: Option<String>,
}

/// Changes to a holder (`holder edit`); `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct HolderChanges {
    /// New name.
    pub name: Option<String>,
    /// New e-mail ("" clears it).
    pub email: Option<String>,
    /// New IANA time zone.
    pub time_zone: Option<String>,
    /// New hire date.
    pub hired_on: Option<Date>,
    /// Make this holder the default.
    pub make_default: bool,
}

/// Where a credential stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplianceStatus {
    /// Every requirement of the cycle is met.
    Met,
    /// Not met yet, but on pace.
    OnTrack,
    /// Behind pace or close to expiry with credits missing.
    AtRisk,
    /// Past expiry, inside the grace period.
    InGrace,
    /// Past expiry and grace.
    Expired,
    /// A status this client does not know.
    Unknown,
}

impl ComplianceStatus {
    /// The word shown in tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::OnTrack => "on track",
            Self::AtRisk => "at risk",
            Self::InGrace => "in grace",
            Self::Expired => "expired",
            Self::Unknown => "unknown",
        }
    }
}

/// Progress in one category with a minimum.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryProgress {
    /// Category name.
    pub category: String,
    /// Minimum required.
    pub required: Credits,
    /// Earned so far (after caps).
    pub earned: Credits,
}

/// Where one credential stands on a given day.
#[derive(Debug, Clone, Serialize)]
pub struct Compliance {
    /// Credential id.
    pub credential_id: String,
    /// Owner.
    pub holder_id: String,
    /// Program slug.
    pub program: String,
    /// Program name.
    pub program_name: String,
    /// Expiry date of the current cycle.
    pub expires_on: String,
    /// First day of the CE window (inclusive).
    pub window_start: String,
    /// The program's credit unit.
    pub unit: String,
    /// Credits required.
    pub required: Credits,
    /// Credits earned, after caps.
    pub earned: Credits,
    /// Credits still needed, counting category shortfalls.
    pub remaining: Credits,
    /// Days to expiry (negative once expired).
    pub days_left: i64,
    /// Status.
    pub status: ComplianceStatus,
    /// Per-category progress.
    pub categories: Vec<CategoryProgress>,
    /// "verify with <body>" when the program's numbers are uncertain.
    pub caution: Option<String>,
    /// The day the answer is for.
    pub as_of: String,
    /// Courses counted toward this credential: the CE courses of `counted`, then the work
    /// hours counted toward a met alternative.
    pub counted_course_ids: Vec<String>,
    /// The CE courses counted, with the amount each counted after caps.
    pub counted: Vec<CountedCourse>,
    /// The holder's courses this cycle does not count, and why.
    pub not_counted: Vec<NotCounted>,
    /// Why the status is what it is (`behind pace: 3 expected by now`); null for met and on
    /// track.
    pub status_reason: Option<String>,
}

/// An upcoming expiry.
#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    /// Credential id.
    pub credential_id: String,
    /// Owner.
    pub holder_id: String,
    /// Owner's name.
    pub holder_name: String,
    /// Program slug.
    pub program: String,
    /// Expiry date.
    pub expires_on: String,
    /// Days to expiry (negative in grace).
    pub days_left: i64,
    /// Status.
    pub status: ComplianceStatus,
    /// The program's credit unit.
    pub unit: String,
    /// Credits still needed.
    pub remaining: Credits,
    /// `expiry`, or `dues` for a row about the credential's dues (due by `expires_on`).
    pub kind: String,
    /// The amount of a dues row, in cents.
    pub dues_amount_cents: Option<u32>,
    /// Months between two dues payments (a dues row's default reminders scale with it).
    #[serde(skip)]
    pub dues_every_months: u32,
}

impl Deadline {
    /// Whether the row is about dues, not an expiry.
    pub fn is_dues(&self) -> bool {
        self.kind == "dues"
    }
}

/// One member credential on a team's board (`team status`).
#[derive(Debug, Clone, Serialize)]
pub struct TeamStatusRow {
    /// Member id.
    pub holder_id: String,
    /// Member name.
    pub holder_name: String,
    /// Credential id.
    pub credential_id: String,
    /// Program slug.
    pub program: String,
    /// The program's credit unit.
    pub unit: String,
    /// End of the cycle.
    pub expires_on: String,
    /// Days to expiry (negative once past it).
    pub days_left: i64,
    /// Required this cycle.
    pub required: Credits,
    /// Earned after caps.
    pub earned: Credits,
    /// Still needed.
    pub remaining: Credits,
    /// Every category with a minimum.
    pub categories: Vec<CategoryProgress>,
    /// Status.
    pub status: ComplianceStatus,
    /// Why the status is what it is; `null` for met and on track.
    pub status_reason: Option<String>,
    /// The day the row is computed for.
    pub as_of: String,
    /// The day of the latest check against the issuing body's registry; `null` when never.
    pub last_verified_on: Option<String>,
    /// Whether the credential is unverified: renewed since the latest check, never checked,
    /// or last seen not-found, expired or mismatched.
    pub unverified: bool,
}

/// Which rows of a team's board to ask for.
#[derive(Debug, Clone, Default)]
pub struct TeamStatusQuery {
    /// A team id or name; `None` for every team the caller leads.
    pub team: Option<String>,
    /// Only these statuses (empty: all).
    pub statuses: Vec<ComplianceStatus>,
    /// Only this program.
    pub program: Option<String>,
    /// Only credentials expiring within this many days.
    pub within_days: Option<i32>,
    /// Compute for this day instead of today.
    pub as_of: Option<Date>,
}

/// Which deadlines to list.
#[derive(Debug, Clone)]
pub struct DeadlineQuery {
    /// Look-ahead in days.
    pub within_days: i32,
    /// One holder, or all holders when `None`.
    pub holder_id: Option<String>,
    /// Compute for this day instead of today.
    pub as_of: Option<Date>,
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Enqueued; at least one channel has not delivered it yet.
    Pending,
    /// Every channel delivered it.
    Delivered,
    /// Acknowledged by the holder: nothing more is sent.
    Acknowledged,
    /// Open, but nothing can reach anyone (no channel, no e-mail address) until a channel
    /// is added.
    Undeliverable,
    /// A channel gave up on it.
    Failed,
    /// Put off until `snoozed_until`.
    Snoozed,
    /// No longer relevant (e.g. a course closed the shortfall) before it was delivered.
    Cancelled,
    /// A status this client does not know.
    Unknown,
}

impl AlertStatus {
    /// The word shown in tables (the same as in JSON).
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Acknowledged => "acknowledged",
            Self::Undeliverable => "undeliverable",
            Self::Failed => "failed",
            Self::Snoozed => "snoozed",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
        }
    }
}

/// One channel's attempts at delivering one alert.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// The channel, e.g. "ch1"; `None` for the holder's own e-mail address.
    pub channel_id: Option<String>,
    /// "webhook" or "email" (a newer server may add kinds).
    pub kind: String,
    /// Webhook URL or e-mail address.
    pub target: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// "pending", "delivered" or "failed".
    pub status: String,
    /// RFC 3339 instant of the next retry, when one is scheduled.
    pub next_attempt_at: Option<String>,
}

/// A reminder about one credential's cycle.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// Server-assigned id, e.g. "al1".
    pub id: String,
    /// Position in the holder's alert stream; `alerts watch --after` resumes after it.
    pub seq: u64,
    /// Owner.
    pub holder_id: String,
    /// The credential the alert is about; `None` for a competency or a digest.
    pub credential_id: Option<String>,
    /// Program slug.
    pub program: String,
    /// Days before expiry the alert is for (negative after it).
    pub threshold_days: i64,
    /// The mark in words, e.g. "30 days before expiry" or "grace period, week 1".
    pub mark: String,
    /// The holder's local date the alert became due.
    pub due_on: String,
    /// Expiry date of the cycle the alert is about.
    pub expires_on: String,
    /// One-line summary.
    pub title: String,
    /// Full text.
    pub body: String,
    /// Where it stands.
    pub status: AlertStatus,
    /// One entry per channel.
    pub deliveries: Vec<Delivery>,
    /// Receivers drop repeats by it.
    pub idempotency_key: String,
    /// The date a snoozed alert is due again.
    pub snoozed_until: Option<String>,
    /// Whether someone acknowledged it.
    pub acknowledged: bool,
    /// RFC 3339 instant it was enqueued.
    pub created_at: String,
    /// What it is about: `credential`, `competency`, `dues` or `digest`.
    pub subject: String,
    /// The skill of a competency alert.
    pub skill: Option<String>,
    /// The amount of a dues alert, in cents.
    pub amount_cents: Option<u32>,
    /// The team of a digest.
    pub team_id: Option<String>,
}

/// Which alerts `alerts list` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertFilter {
    /// The server's default: every status except cancelled.
    #[default]
    NotCancelled,
    /// Not delivered yet.
    Pending,
    /// Given up on by a channel.
    Failed,
    /// Every status, cancelled included.
    All,
}

impl AlertFilter {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotCancelled => "",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::All => "all",
        }
    }
}

/// Which alerts to list.
#[derive(Debug, Clone)]
pub struct AlertQuery {
    /// One holder, or all holders when `None`.
    pub holder_id: Option<String>,
    /// Which statuses.
    pub filter: AlertFilter,
}

/// Whether alerts about one credential are muted (`alerts mute`).
#[derive(Debug, Clone, Serialize)]
pub struct CredentialMute {
    /// The credential.
    pub credential_id: String,
    /// `true` while its alerts are muted.
    pub muted: bool,
}

/// The alert settings of one scope as the server keeps them.
#[derive(Debug, Clone)]
pub struct ScopeSettings {
    /// The scope's id as the server resolved it: "h1" for the holder "default".
    pub id: String,
    /// The scope's own thresholds; empty when it inherits (credential, holder, program,
    /// then the defaults).
    pub thresholds: Vec<u32>,
    /// Whether alerts about the credential are muted (credential scopes only).
    pub muted: bool,
    /// The thresholds in effect; empty for a holder without its own.
    pub effective_thresholds: Vec<u32>,
    /// Where they come from, e.g. "the default for a 24-month cycle".
    pub effective_from: Option<String>,
}

/// Alert thresholds of one scope (`alerts thresholds`).
#[derive(Debug, Clone, Serialize)]
pub struct AlertThresholds {
    /// `holder`, `credential` or `program`.
    pub scope: String,
    /// The holder id, credential id or program slug.
    pub id: String,
    /// Days before expiry; empty when the scope inherits (from the next level or the defaults).
    pub thresholds: Vec<u32>,
    /// The thresholds in effect for the scope; empty for a holder without its own (each
    /// credential's program decides).
    pub effective_thresholds: Vec<u32>,
    /// Where they come from: "credential cr3", "holder h1", "program nha-cpt", "the default
    /// for a 24-month cycle"; null when `effective_thresholds` is empty.
    pub effective_from: Option<String>,
}

/// The result of `alerts test`: one delivery per channel of the holder.
#[derive(Debug, Clone, Serialize)]
pub struct TestAlertReport {
    /// What each channel did with the test alert.
    pub deliveries: Vec<Delivery>,
}

/// Where a holder's alerts go, besides the stream. The secret is write-only: the server
/// only says whether one is set.
#[derive(Debug, Clone, Serialize)]
pub struct AlertChannel {
    /// Server-assigned id, e.g. "ch1".
    pub id: String,
    /// Owner; empty (and left out of the JSON) on a team's channel.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub holder_id: String,
    /// The team of a team's channel (`notify add --team`), e.g. "tm1"; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// "webhook" or "email" (a newer server may add kinds).
    pub kind: String,
    /// Webhook URL or e-mail address.
    pub target: String,
    /// Whether deliveries are signed with a secret.
    pub has_secret: bool,
    /// Why deliveries cannot happen yet (set on creation only; printed as a `warning:` on
    /// stderr, not part of the JSON).
    #[serde(skip)]
    pub warning: Option<String>,
}

/// The kinds of channel `notify add` creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// An HTTP(S) endpoint.
    Webhook,
    /// An e-mail address.
    Email,
}

impl ChannelKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
        }
    }
}

/// A channel to create (`notify add`).
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// Owner (empty with `team`).
    pub holder_id: String,
    /// The team whose members' alerts it receives (an id or a name), instead of a holder.
    pub team: Option<String>,
    /// Webhook or e-mail.
    pub kind: ChannelKind,
    /// Webhook URL or e-mail address, already checked.
    pub target: String,
    /// Webhook signing secret.
    pub secret: Option<Secret>,
}

/// A write-only value such as a webhook signing secret: sent to the server, never printed.
///
/// `Debug` is redacted, so a secret cannot leak through `{:?}` of the parsed command line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the request that carries it.
    pub fn reveal(self) -> String {
        self.0
    }

    /// Whether the secret is the empty string (which means "no secret").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// What `recert import` did (JSON.md, "Import").
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Records written.
    pub imported: u64,
    /// Records the store already held with equal content.
    pub unchanged: u64,
    /// Holders, credentials and courses that replaced the store's different record
    /// (`--replace`); not counted in `imported`.
    pub replaced: u64,
    /// Webhook channels restored without their secret (the dump left secrets out).
    pub channels_without_secret: u64,
}

/// What `recert export --file PATH` prints (JSON.md, "Export").
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The holder whose records alone were exported (`--holder`), or `null`: the whole store.
    pub holder: Option<String>,
    /// The file written.
    pub file: String,
    /// Record lines in it (besides the header and the end line).
    pub records: u64,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// Server-assigned id, e.g. "tk2".
    pub id: String,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// "admin", "supervisor" or "holder".
    pub role: String,
    /// The holder it acts for, if any.
    pub holder_id: Option<String>,
    /// When it stops working (RFC 3339), if ever.
    pub expires_at: Option<String>,
    /// When it was revoked (RFC 3339), if it was.
    pub revoked_at: Option<String>,
}

/// A token just made: its id and its secret, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct NewTokenSecret {
    /// Server-assigned id.
    pub id: String,
    /// The bearer secret ("rct_...").
    pub token: String,
    /// Its role.
    pub role: String,
    /// The holder it acts for, if any.
    pub holder_id: Option<String>,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
}

/// One change in the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Server-assigned id, e.g. "hi12", in the order changes were made.
    pub id: String,
    /// When (RFC 3339).
    pub at: String,
    /// The token that made it, if any (none: recertd itself).
    pub token_id: Option<String>,
    /// Who: the token's id and name, or "recertd".
    pub actor: String,
    /// "create", "update" or "delete".
    pub action: String,
    /// The record's kind.
    pub kind: String,
    /// The record's id (a program's slug, a settings scope).
    pub record: String,
    /// Whose record it is.
    pub holder_id: Option<String>,
    /// The record before (a JSON object), or null for a create.
    pub before: Option<serde_json::Value>,
    /// The record after (a JSON object), or null for a delete.
    pub after: Option<serde_json::Value>,
}

/// A team of holders.
#[derive(Debug, Clone, Serialize)]
pub struct Team {
    /// Server-assigned id, e.g. "tm1".
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// Holder ids of the members.
    pub member_ids: Vec<String>,
    /// Holder ids of the leads.
    pub lead_ids: Vec<String>,
}

/// What a delete command prints in JSON mode.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    /// Id (or slug) of the removed record.
    pub deleted: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn amount(h: i64) -> Credits {
        Credits::from_hundredths(h)
    }

    #[test]
    fn status_row_renders_stable_json() {
        let row = Compliance {
            credential_id: "cr3".into(),
            holder_id: "h1".into(),
            program: "ascp-pbt".into(),
            program_name: "Phlebotomy Technician".into(),
            expires_on: "2026-03-31".into(),
            window_start: "2023-04-01".into(),
            unit: "point".into(),
            required: amount(900),
            earned: amount(650),
            remaining: amount(250),
            days_left: 120,
            status: ComplianceStatus::OnTrack,
            categories: vec![CategoryProgress {
                category: "safety".into(),
                required: amount(100),
                earned: amount(25),
            }],
            caution: None,
            as_of: "2025-12-01".into(),
            counted_course_ids: vec!["co1".into(), "co2".into()],
            counted: vec![CountedCourse {
                course_id: "co1".into(),
                amount: amount(450),
                capped: true,
            }],
            not_counted: vec![NotCounted {
                course_id: "co7".into(),
                reason: "outside_window".into(),
                detail: "2016-11-20 is outside the window 2023-04-01 to 2026-03-31".into(),
            }],
            status_reason: None,
        };
        let value = serde_json::to_value(&row).unwrap();
        assert_eq!(
            value,
            json!({
                "credential_id": "cr3",
                "holder_id": "h1",
                "program": "ascp-pbt",
                "program_name": "Phlebotomy Technician",
                "expires_on": "2026-03-31",
                "window_start": "2023-04-01",
                "unit": "point",
                "required": 9,
                "earned": 6.5,
                "remaining": 2.5,
                "days_left": 120,
                "status": "on_track",
                "categories": [{"category": "safety", "required": 1, "earned": 0.25}],
                "caution": null,
                "as_of": "2025-12-01",
                "counted_course_ids": ["co1", "co2"],
                "counted": [{"course_id": "co1", "amount": 4.5, "capped": true}],
                "not_counted": [{
                    "course_id": "co7",
                    "reason": "outside_window",
                    "detail": "2016-11-20 is outside the window 2023-04-01 to 2026-03-31",
                }],
                "status_reason": null,
            })
        );
        let text = serde_json::to_string(&row).unwrap();
        assert!(text.contains(r#""remaining":2.5,"#), "{text}");
        assert!(text.contains(r#""required":9,"#), "{text}");
    }

    #[test]
    fn alerts_render_stable_json() {
        let alert = Alert {
            id: "al3".into(),
            seq: 14,
            holder_id: "h1".into(),
            credential_id: Some("cr1".into()),
            program: "nha-cpt".into(),
            threshold_days: -7,
            mark: "grace period, week 1".into(),
            due_on: "2026-05-08".into(),
            expires_on: "2026-05-01".into(),
            title: "NHA CPT expired a week ago".into(),
            body: "Renew before the grace period ends.".into(),
            status: AlertStatus::Failed,
            deliveries: vec![Delivery {
                channel_id: Some("ch2".into()),
                kind: "email".into(),
                target: "alice@example.org".into(),
                attempts: 5,
                last_error: Some("550 mailbox unavailable".into()),
                status: "failed".into(),
                next_attempt_at: None,
            }],
            idempotency_key: "cr1/2026-05-01/-7".into(),
            snoozed_until: None,
            acknowledged: false,
            created_at: "2026-05-08T13:00:00Z".into(),
            subject: "credential".into(),
            skill: None,
            amount_cents: None,
            team_id: None,
        };
        assert_eq!(
            serde_json::to_value(&alert).unwrap(),
            json!({
                "id": "al3",
                "seq": 14,
                "holder_id": "h1",
                "credential_id": "cr1",
                "program": "nha-cpt",
                "threshold_days": -7,
                "mark": "grace period, week 1",
                "due_on": "2026-05-08",
                "expires_on": "2026-05-01",
                "title": "NHA CPT expired a week ago",
                "body": "Renew before the grace period ends.",
                "status": "failed",
                "deliveries": [{
                    "channel_id": "ch2",
                    "kind": "email",
                    "target": "alice@example.org",
                    "attempts": 5,
                    "last_error": "550 mailbox unavailable",
                    "status": "failed",
                    "next_attempt_at": null,
                }],
                "idempotency_key": "cr1/2026-05-01/-7",
                "snoozed_until": null,
                "acknowledged": false,
                "created_at": "2026-05-08T13:00:00Z",
                "subject": "credential",
                "skill": null,
                "amount_cents": null,
                "team_id": null,
            })
        );
        let statuses: Vec<_> = [
            AlertStatus::Pending,
            AlertStatus::Delivered,
            AlertStatus::Snoozed,
            AlertStatus::Cancelled,
            AlertStatus::Unknown,
        ]
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
        assert_eq!(
            statuses,
            [
                json!("pending"),
                json!("delivered"),
                json!("snoozed"),
                json!("cancelled"),
                json!("unknown")
            ]
        );
    }

    #[test]
    fn channels_mutes_and_test_reports_render_stable_json() {
        let channel = AlertChannel {
            id: "ch1".into(),
            holder_id: "h1".into(),
            kind: "webhook".into(),
            target: "https://example.org/hook".into(),
            has_secret: true,
            warning: None,
            team_id: None,
        };
        assert_eq!(
            serde_json::to_value(&channel).unwrap(),
            json!({
                "id": "ch1",
                "holder_id": "h1",
                "kind": "webhook",
                "target": "https://example.org/hook",
                "has_secret": true,
            })
        );
        let mute = CredentialMute {
            credential_id: "cr1".into(),
            muted: true,
        };
        assert_eq!(
            serde_json::to_value(&mute).unwrap(),
            json!({"credential_id": "cr1", "muted": true})
        );
        let report = TestAlertReport {
            deliveries: Vec::new(),
        };
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({"deliveries": []})
        );
        assert_eq!(
            format!("{:?}", Secret::from("hunter2".to_owned())),
            "Secret(redacted)"
        );
    }

    #[test]
    fn caps_render_only_their_limit() {
        let percent = CapRule {
            category: None,
            format: Some("online".into()),
            limit: CapLimit::Percent(50),
        };
        assert_eq!(
            serde_json::to_value(&percent).unwrap(),
            json!({"category": null, "format": "online", "max_percent": 50, "max": null})
        );
        let fixed = CapRule {
            category: Some("management".into()),
            format: None,
            limit: CapLimit::Amount(amount(350)),
        };
        assert_eq!(
            serde_json::to_value(&fixed).unwrap(),
            json!({"category": "management", "format": null, "max_percent": null, "max": 3.5})
        );
    }

    #[test]
    fn statuses_use_snake_case_names() {
        let names: Vec<_> = [
            ComplianceStatus::Met,
            ComplianceStatus::OnTrack,
            ComplianceStatus::AtRisk,
            ComplianceStatus::InGrace,
            ComplianceStatus::Expired,
        ]
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
        assert_eq!(
            names,
            vec![
                json!("met"),
                json!("on_track"),
                json!("at_risk"),
                json!("in_grace"),
                json!("expired")
            ]
        );
    }
}

/// Where one tracked skill of one holder stands (`competency status`, `competency log`).
#[derive(Debug, Clone, Serialize)]
pub struct CompetencyRow {
    /// The holder's id.
    pub holder_id: String,
    /// The holder's name.
    pub holder_name: String,
    /// The competency program's slug.
    pub program: String,
    /// The skill or test system.
    pub skill: String,
    /// The latest assessment's day, if any.
    pub last_assessed_on: Option<Date>,
    /// The latest result: `pass` or `remediate`, if any.
    pub last_result: Option<String>,
    /// When the next assessment is due; `null` when unscheduled.
    pub next_due: Option<Date>,
    /// `current`, `due_soon` (within 30 days), `overdue` or `unscheduled`.
    pub status: String,
    /// How many assessments the skill has.
    pub assessments: u32,
}

/// A competency program (`competency programs`).
#[derive(Debug, Clone, Serialize)]
pub struct CompetencyProgram {
    /// Slug, e.g. `clia-testing`.
    pub slug: String,
    /// Name.
    pub name: String,
    /// The elements, numbered from 1 in this order.
    pub elements: Vec<String>,
    /// Months after hire of the first assessments.
    pub initial_months: Vec<u32>,
    /// Months between assessments after those.
    pub every_months: u32,
    /// Days after a `remediate` until due again.
    pub remediate_days: u32,
    /// Where the rules come from.
    pub sources: Vec<String>,
    /// Notes.
    pub notes: String,
    /// `builtin` (shipped with recertd) or `local` (stored by the lab).
    pub origin: String,
    /// A local program that replaces the built-in one of its slug.
    pub overrides_builtin: bool,
}

/// One assessment to log.
#[derive(Debug, Clone)]
pub struct NewAssessment {
    /// Holder id or name.
    pub holder: String,
    /// Program slug.
    pub program: String,
    /// Skill.
    pub skill: String,
    /// Day; `None` for today.
    pub date: Option<Date>,
    /// Assessor.
    pub assessor: String,
    /// Elements covered.
    pub elements: Vec<u32>,
    /// `pass` or `remediate`.
    pub result: String,
    /// Note.
    pub note: Option<String>,
}

/// One thing a roster import did or would do (`roster import`).
#[derive(Debug, Clone, Serialize)]
pub struct RosterAction {
    /// `holder`, `credential`, `team` or `membership`.
    pub kind: String,
    /// `created`, `existing` (matched and left as it is) or `added` (to a team).
    pub outcome: String,
    /// The record's id; `null` for a record a dry run would create.
    pub id: Option<String>,
    /// What it is.
    pub description: String,
    /// The first line of the file it comes from.
    pub line: u32,
}

/// A roster import's answer.
#[derive(Debug, Clone, Serialize)]
pub struct RosterReport {
    /// Whether nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// Every holder, team, membership and credential of the file, with what was done.
    pub actions: Vec<RosterAction>,
}

/// One data row of a roster file, every cell as written (`roster import`).
#[derive(Debug, Clone, Default)]
pub struct RosterRow {
    /// The row's line in the file.
    pub line: u32,
    /// `name` column.
    pub name: String,
    /// `email` column.
    pub email: String,
    /// `time_zone` column.
    pub time_zone: String,
    /// `hired_on` column.
    pub hired_on: String,
    /// `team` column.
    pub team: String,
    /// `program` column.
    pub program: String,
    /// `number` column.
    pub number: String,
    /// `issued_on` column.
    pub issued_on: String,
    /// `expires_on` column.
    pub expires_on: String,
}
