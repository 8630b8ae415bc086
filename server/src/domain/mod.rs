//! Pure types and rules of recert: credits, programs, credentials, courses, compliance, alert
//! policy and the validation of every record.
//!
//! Nothing here performs I/O or knows about the wire or the store; every rule that depends on
//! the date takes an explicit `today`.

mod access;
mod alert;
mod alert_policy;
pub mod backoff;
mod competency;
mod compliance;
mod credits;
mod destination;
mod history;
mod ids;
pub mod limits;
mod program;
mod records;
mod validate;

pub use access::{Role, Team, Token, TokenHash, parse_team_id, parse_token_id, team_id, token_id};
pub use alert::{
    Alert, AlertSettings, AlertStatus, AlertSubject, AttemptOutcome, Channel, ChannelKind,
    DedupeKey, Delivery, DeliveryState, HOLDER_EMAIL, Refused, WAITING_FOR_RELAY, holder_address,
};
pub use alert_policy::{
    AlertText, Mark, alert_text, competency_alert_text, default_thresholds, dollars, due_mark,
    dues_alert_text, marks, scan_windows, thresholds_for,
};
pub use competency::{
    Assessment, AssessmentResult, CompetencyProgram, CompetencySkill, CompetencyStatus,
    DUE_SOON_DAYS, parse_elements, validate_skill,
};
pub use compliance::{
    AccreditationProgress, AlternativeProgress, CategoryProgress, Compliance, CountedCourse,
    NotCounted, NotCountedReason, Status, compliance, compliance_all,
};
pub use compliance::{cycle_window_start, window_start};
pub use credits::{Credits, Unit};
pub use destination::{DeniedAddress, DestinationPolicy, listed_target, literal_host};
pub use history::{Actor, HistoryEntry};
pub use ids::IdKind;
pub use program::{
    AccreditationMinimum, ActivityLimit, Alternative, Cap, CapLimit, CapScope, CategoryMinimum,
    Confidence, CycleAnchor, Dues, MonthDay, Program, Reinstatement, RuleField, dues_month,
};
pub use records::{
    Course, Credential, CycleOutcome, Format, Holder, MAX_VERIFICATIONS, PastCycle, Verification,
    VerificationResult, zone,
};
pub use validate::{
    FieldError, MAX_COURSE_HOURS, MAX_NAME_LEN, MAX_SECRET_BYTES, MAX_TEXT_LEN, MAX_THRESHOLD_DAYS,
    MAX_THRESHOLDS, is_email_address, normalize_category, parse_date, parse_id,
};
