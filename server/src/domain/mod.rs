//! Pure types and rules of recert: credits, programs, credentials, courses and compliance.
//!
//! Nothing here performs I/O or knows about the wire or the store; every rule that depends on
//! the date takes an explicit `today`.

mod alert;
mod alert_policy;
pub mod backoff;
mod compliance;
mod credits;
mod ids;
mod program;
mod records;
mod validate;

pub use alert::{
    Alert, AlertSettings, AlertStatus, AttemptOutcome, Channel, ChannelKind, Delivery,
    DeliveryState, Refused,
};
pub use alert_policy::{AlertText, Mark, alert_text, default_thresholds, due_mark, marks};
pub use compliance::window_start;
pub use compliance::{CategoryProgress, Compliance, Status, compliance, compliance_all};
pub use credits::{Credits, Unit};
pub use ids::IdKind;
pub use program::{Cap, CapLimit, CapScope, CategoryMinimum, Confidence, Program};
pub use records::{Course, Credential, Format, Holder, PastCycle};
pub use validate::{FieldError, MAX_COURSE_HOURS, MAX_NAME_LEN, MAX_TEXT_LEN, normalize_category};
