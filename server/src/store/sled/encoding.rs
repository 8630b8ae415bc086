//! The storage encoding of every record kind (value format 2): one prost message per kind, with
//! explicit tags and separate from the domain structs, and the conversions between the two.
//!
//! What is on disk is these messages, not the domain structs, so a domain struct can change
//! shape without making stored records undecodable. Every conversion destructures every field,
//! so a field added to a domain struct does not compile until it has a tag here and a meaning
//! for records written before it (the value its absence decodes to). Changing a message:
//!
//! - never renumber a tag, and never reuse the tag of a removed field (note it as reserved);
//! - a new field takes the next free tag, and its absent value (0, empty, `None`) must mean
//!   what a record written before the field existed means;
//! - readers skip tags they do not know, so a record written by a newer build still reads.
//!
//! Representations: ids and counts are varints; dates are days since 1970-01-01 (`sint32`);
//! instants are seconds and nanoseconds since the Unix epoch; credits are hundredths
//! (`int64`); enums are explicit numbers in which 0 means "not set" and is refused where a value
//! is required; `Option`s are `optional` fields or optional messages.
//!
//! Format 1, postcard of the domain structs themselves, is still read through frozen copies of
//! their layouts in [`legacy_v1`].

mod legacy_v1;

use crate::domain::{
    AccreditationMinimum, ActivityLimit, Alert, AlertSettings, AlertSubject, Alternative,
    Assessment, AssessmentResult, Cap, CapLimit, CapScope, CategoryMinimum, CategoryProgress,
    Channel, ChannelKind, CompetencyProgram, CompetencySkill, Confidence, CountedCourse, Course,
    Credential, Credits, CycleAnchor, CycleOutcome, Delivery, DeliveryState, Dues, Format,
    HistoryEntry, Holder, Mark, MonthDay, PastCycle, Program, Reinstatement, Role, RuleField,
    Status, Team, Token, Unit, Verification, VerificationResult,
};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use prost::Message;

/// Why stored bytes do not make a record.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Invalid {
    /// The bytes are not a protobuf message.
    #[error("{0}")]
    Protobuf(#[from] prost::DecodeError),
    /// The bytes are not format-1 postcard of the kind.
    #[error("format 1: {0}")]
    Postcard(#[from] postcard::Error),
    /// A required field is absent.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// An enum field holds a number this build does not know.
    #[error("{field} {value} is not a known value")]
    Unknown {
        /// The field.
        field: &'static str,
        /// The number found.
        value: i32,
    },
    /// A date field is out of range.
    #[error("{field} {days} (days since 1970-01-01) is not a date")]
    Date {
        /// The field.
        field: &'static str,
        /// The number found.
        days: i32,
    },
    /// An instant field is out of range.
    #[error("{field} {seconds}s {nanos}ns is not an instant")]
    Instant {
        /// The field.
        field: &'static str,
        /// Seconds found.
        seconds: i64,
        /// Nanoseconds found.
        nanos: i32,
    },
}

/// A record kind's storage encoding: its message, and its frozen format-1 layout.
pub(crate) trait Stored: Sized {
    /// The kind's format-2 message.
    type Message: Message + Default;
    /// The kind's format-1 layout, still read.
    type V1: serde::de::DeserializeOwned + Into<Self>;

    /// The message that stores `self`. It clones the record's strings and lists: prost encodes
    /// only from a message that owns its fields.
    fn to_message(&self) -> Self::Message;

    /// The record a decoded message holds, refusing values no record has.
    fn from_message(message: Self::Message) -> Result<Self, Invalid>;
}

/// The byte `version`, then `value`'s message, in one allocation of exactly that size.
pub(crate) fn encode<T: Stored>(version: u8, value: &T) -> Vec<u8> {
    let message = value.to_message();
    let mut out = Vec::with_capacity(1 + message.encoded_len());
    out.push(version);
    // A Vec grows as needed, so encoding into one cannot run out of room.
    message
        .encode(&mut out)
        .expect("a Vec has room for any message");
    out
}

/// Decodes a format-2 value (after its version byte).
pub(crate) fn decode<T: Stored>(body: &[u8]) -> Result<T, Invalid> {
    T::from_message(T::Message::decode(body)?)
}

/// Decodes a format-1 value (after its version byte).
pub(crate) fn decode_v1<T: Stored>(body: &[u8]) -> Result<T, Invalid> {
    Ok(postcard::from_bytes::<T::V1>(body)?.into())
}

const EPOCH: Date = Date::constant(1970, 1, 1);

/// A date as days since 1970-01-01.
fn days(date: Date) -> i32 {
    // jiff dates lie within about 3.7 million days of the epoch, so this never truncates.
    (date.duration_since(EPOCH).as_hours() / 24) as i32
}

/// The date `days` after 1970-01-01.
fn date(field: &'static str, days: i32) -> Result<Date, Invalid> {
    EPOCH
        .checked_add(SignedDuration::from_hours(i64::from(days) * 24))
        .map_err(|_| Invalid::Date { field, days })
}

/// An optional date, as [`date`].
fn optional_date(field: &'static str, days: Option<i32>) -> Result<Option<Date>, Invalid> {
    days.map(|d| date(field, d)).transpose()
}

/// An instant: seconds and nanoseconds since the Unix epoch, of the same sign.
#[derive(Clone, PartialEq, Message)]
struct StoredInstant {
    #[prost(sint64, tag = "1")]
    seconds: i64,
    #[prost(sint32, tag = "2")]
    nanos: i32,
}

impl From<Timestamp> for StoredInstant {
    fn from(at: Timestamp) -> Self {
        StoredInstant {
            seconds: at.as_second(),
            nanos: at.subsec_nanosecond(),
        }
    }
}

/// The instant a [`StoredInstant`] holds.
fn instant(field: &'static str, stored: StoredInstant) -> Result<Timestamp, Invalid> {
    let StoredInstant { seconds, nanos } = stored;
    Timestamp::new(seconds, nanos).map_err(|_| Invalid::Instant {
        field,
        seconds,
        nanos,
    })
}

/// The variant of a stored enum that an enum field's number names.
fn known<E: TryFrom<i32>>(field: &'static str, value: i32) -> Result<E, Invalid> {
    E::try_from(value).map_err(|_| Invalid::Unknown { field, value })
}

// ---- Holder ----

/// Storage message of a [`Holder`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredHolder {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    email: String,
    #[prost(string, tag = "4")]
    time_zone: String,
    #[prost(sint32, optional, tag = "5")]
    hired_on: Option<i32>,
    #[prost(message, repeated, tag = "6")]
    competencies: Vec<StoredCompetencySkill>,
}

/// Storage message of a [`CompetencySkill`].
#[derive(Clone, PartialEq, Message)]
struct StoredCompetencySkill {
    #[prost(string, tag = "1")]
    program: String,
    #[prost(string, tag = "2")]
    skill: String,
    #[prost(message, repeated, tag = "3")]
    assessments: Vec<StoredAssessment>,
}

/// Storage message of an [`Assessment`].
#[derive(Clone, PartialEq, Message)]
struct StoredAssessment {
    #[prost(sint32, tag = "1")]
    assessed_on: i32,
    #[prost(string, tag = "2")]
    assessor: String,
    #[prost(uint32, repeated, tag = "3")]
    elements: Vec<u32>,
    /// 0 pass, 1 remediate.
    #[prost(uint32, tag = "4")]
    result: u32,
    #[prost(string, tag = "5")]
    note: String,
}

impl Stored for Holder {
    type Message = StoredHolder;
    type V1 = legacy_v1::Holder;

    fn to_message(&self) -> StoredHolder {
        let Holder {
            id,
            name,
            email,
            time_zone,
            hired_on,
            competencies,
        } = self;
        StoredHolder {
            id: *id,
            name: name.clone(),
            email: email.clone(),
            time_zone: time_zone.clone(),
            hired_on: hired_on.map(days),
            competencies: competencies
                .iter()
                .map(|c| {
                    let CompetencySkill {
                        program,
                        skill,
                        assessments,
                    } = c;
                    StoredCompetencySkill {
                        program: program.clone(),
                        skill: skill.clone(),
                        assessments: assessments
                            .iter()
                            .map(|a| {
                                let Assessment {
                                    assessed_on,
                                    assessor,
                                    elements,
                                    result,
                                    note,
                                } = a;
                                StoredAssessment {
                                    assessed_on: days(*assessed_on),
                                    assessor: assessor.clone(),
                                    elements: elements.clone(),
                                    result: match result {
                                        AssessmentResult::Pass => 0,
                                        AssessmentResult::Remediate => 1,
                                    },
                                    note: note.clone(),
                                }
                            })
                            .collect(),
                    }
                })
                .collect(),
        }
    }

    fn from_message(message: StoredHolder) -> Result<Self, Invalid> {
        let StoredHolder {
            id,
            name,
            email,
            time_zone,
            hired_on,
            competencies,
        } = message;
        let competencies = competencies
            .into_iter()
            .map(|c| {
                let assessments = c
                    .assessments
                    .into_iter()
                    .map(|a| {
                        Ok(Assessment {
                            assessed_on: date("assessment.assessed_on", a.assessed_on)?,
                            assessor: a.assessor,
                            elements: a.elements,
                            result: match a.result {
                                0 => AssessmentResult::Pass,
                                1 => AssessmentResult::Remediate,
                                value => {
                                    return Err(Invalid::Unknown {
                                        field: "assessment.result",
                                        value: value as i32,
                                    });
                                }
                            },
                            note: a.note,
                        })
                    })
                    .collect::<Result<Vec<_>, Invalid>>()?;
                Ok(CompetencySkill {
                    program: c.program,
                    skill: c.skill,
                    assessments,
                })
            })
            .collect::<Result<Vec<_>, Invalid>>()?;
        Ok(Holder {
            id,
            name,
            email,
            time_zone,
            hired_on: optional_date("hired_on", hired_on)?,
            competencies,
        })
    }
}

// ---- Credential ----

/// Storage message of a [`Credential`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredCredential {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint64, tag = "2")]
    holder_id: u64,
    #[prost(string, tag = "3")]
    program: String,
    #[prost(string, tag = "4")]
    number: String,
    #[prost(sint32, optional, tag = "5")]
    issued_on: Option<i32>,
    #[prost(sint32, tag = "6")]
    expires_on: i32,
    #[prost(message, repeated, tag = "7")]
    history: Vec<StoredPastCycle>,
    /// Absent in credentials stored before verifications were kept (they decode to none).
    #[prost(message, repeated, tag = "8")]
    verifications: Vec<StoredVerification>,
}

/// Storage message of a [`Verification`].
#[derive(Clone, PartialEq, Message)]
struct StoredVerification {
    #[prost(sint32, tag = "1")]
    checked_on: i32,
    /// 0 active, 1 not found, 2 expired, 3 mismatch.
    #[prost(uint32, tag = "2")]
    result: u32,
    #[prost(string, tag = "3")]
    source: String,
    #[prost(string, tag = "4")]
    checked_by: String,
    #[prost(sint32, tag = "5")]
    cycle_expires_on: i32,
}

impl From<&Verification> for StoredVerification {
    fn from(v: &Verification) -> Self {
        let Verification {
            checked_on,
            result,
            source,
            checked_by,
            cycle_expires_on,
        } = v;
        StoredVerification {
            checked_on: days(*checked_on),
            result: match result {
                VerificationResult::Active => 0,
                VerificationResult::NotFound => 1,
                VerificationResult::Expired => 2,
                VerificationResult::Mismatch => 3,
            },
            source: source.clone(),
            checked_by: checked_by.clone(),
            cycle_expires_on: days(*cycle_expires_on),
        }
    }
}

impl TryFrom<StoredVerification> for Verification {
    type Error = Invalid;

    fn try_from(stored: StoredVerification) -> Result<Self, Invalid> {
        let StoredVerification {
            checked_on,
            result,
            source,
            checked_by,
            cycle_expires_on,
        } = stored;
        Ok(Verification {
            checked_on: date("verification.checked_on", checked_on)?,
            result: match result {
                0 => VerificationResult::Active,
                1 => VerificationResult::NotFound,
                2 => VerificationResult::Expired,
                3 => VerificationResult::Mismatch,
                value => {
                    return Err(Invalid::Unknown {
                        field: "verification.result",
                        value: value as i32,
                    });
                }
            },
            source,
            checked_by,
            cycle_expires_on: date("verification.cycle_expires_on", cycle_expires_on)?,
        })
    }
}

/// Storage message of a [`PastCycle`].
#[derive(Clone, PartialEq, Message)]
struct StoredPastCycle {
    #[prost(sint32, optional, tag = "1")]
    issued_on: Option<i32>,
    #[prost(sint32, tag = "2")]
    expires_on: i32,
    #[prost(sint32, tag = "3")]
    renewed_on: i32,
    /// Absent in cycles closed before outcomes were kept (they decode to `None`).
    #[prost(message, optional, tag = "4")]
    outcome: Option<StoredCycleOutcome>,
}

/// Storage message of a [`CycleOutcome`].
#[derive(Clone, PartialEq, Message)]
struct StoredCycleOutcome {
    #[prost(sint32, tag = "1")]
    window_start: i32,
    #[prost(sint32, tag = "2")]
    ends_on: i32,
    #[prost(string, tag = "3")]
    unit_name: String,
    #[prost(int64, tag = "4")]
    required: i64,
    #[prost(int64, tag = "5")]
    earned: i64,
    #[prost(message, repeated, tag = "6")]
    categories: Vec<StoredCategoryProgress>,
    #[prost(enumeration = "StoredStatus", tag = "7")]
    status: i32,
    #[prost(message, repeated, tag = "8")]
    counted: Vec<StoredCountedCourse>,
}

/// Storage message of a [`CategoryProgress`] in a closed cycle.
#[derive(Clone, PartialEq, Message)]
struct StoredCategoryProgress {
    #[prost(string, tag = "1")]
    category: String,
    #[prost(int64, tag = "2")]
    required: i64,
    #[prost(int64, tag = "3")]
    earned: i64,
}

/// Storage message of a [`CountedCourse`].
#[derive(Clone, PartialEq, Message)]
struct StoredCountedCourse {
    #[prost(uint64, tag = "1")]
    course_id: u64,
    #[prost(int64, tag = "2")]
    amount: i64,
    #[prost(bool, tag = "3")]
    capped: bool,
}

/// Stored numbers of a [`Status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredStatus {
    Unset = 0,
    Met = 1,
    OnTrack = 2,
    AtRisk = 3,
    InGrace = 4,
    Expired = 5,
}

impl From<Status> for StoredStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Met => StoredStatus::Met,
            Status::OnTrack => StoredStatus::OnTrack,
            Status::AtRisk => StoredStatus::AtRisk,
            Status::InGrace => StoredStatus::InGrace,
            Status::Expired => StoredStatus::Expired,
        }
    }
}

/// The status a stored number names.
fn status(field: &'static str, value: i32) -> Result<Status, Invalid> {
    Ok(match known(field, value)? {
        StoredStatus::Unset => return Err(Invalid::Missing(field)),
        StoredStatus::Met => Status::Met,
        StoredStatus::OnTrack => Status::OnTrack,
        StoredStatus::AtRisk => Status::AtRisk,
        StoredStatus::InGrace => Status::InGrace,
        StoredStatus::Expired => Status::Expired,
    })
}

impl From<&CycleOutcome> for StoredCycleOutcome {
    fn from(outcome: &CycleOutcome) -> Self {
        let CycleOutcome {
            window_start,
            ends_on,
            unit_name,
            required,
            earned,
            categories,
            status,
            counted,
        } = outcome;
        StoredCycleOutcome {
            window_start: days(*window_start),
            ends_on: days(*ends_on),
            unit_name: unit_name.clone(),
            required: required.0,
            earned: earned.0,
            categories: categories
                .iter()
                .map(|c| {
                    let CategoryProgress {
                        category,
                        required,
                        earned,
                    } = c;
                    StoredCategoryProgress {
                        category: category.clone(),
                        required: required.0,
                        earned: earned.0,
                    }
                })
                .collect(),
            status: StoredStatus::from(*status).into(),
            counted: counted
                .iter()
                .map(|c| {
                    let CountedCourse {
                        course_id,
                        amount,
                        capped,
                    } = c;
                    StoredCountedCourse {
                        course_id: *course_id,
                        amount: amount.0,
                        capped: *capped,
                    }
                })
                .collect(),
        }
    }
}

impl TryFrom<StoredCycleOutcome> for CycleOutcome {
    type Error = Invalid;

    fn try_from(stored: StoredCycleOutcome) -> Result<Self, Invalid> {
        let StoredCycleOutcome {
            window_start,
            ends_on,
            unit_name,
            required,
            earned,
            categories,
            status: status_number,
            counted,
        } = stored;
        Ok(CycleOutcome {
            window_start: date("history.outcome.window_start", window_start)?,
            ends_on: date("history.outcome.ends_on", ends_on)?,
            unit_name,
            required: Credits(required),
            earned: Credits(earned),
            categories: categories
                .into_iter()
                .map(|c| {
                    let StoredCategoryProgress {
                        category,
                        required,
                        earned,
                    } = c;
                    CategoryProgress {
                        category,
                        required: Credits(required),
                        earned: Credits(earned),
                    }
                })
                .collect(),
            status: status("history.outcome.status", status_number)?,
            counted: counted
                .into_iter()
                .map(|c| {
                    let StoredCountedCourse {
                        course_id,
                        amount,
                        capped,
                    } = c;
                    CountedCourse {
                        course_id,
                        amount: Credits(amount),
                        capped,
                    }
                })
                .collect(),
        })
    }
}

impl From<&PastCycle> for StoredPastCycle {
    fn from(cycle: &PastCycle) -> Self {
        let PastCycle {
            issued_on,
            expires_on,
            renewed_on,
            outcome,
        } = cycle;
        StoredPastCycle {
            issued_on: issued_on.map(days),
            expires_on: days(*expires_on),
            renewed_on: days(*renewed_on),
            outcome: outcome.as_ref().map(StoredCycleOutcome::from),
        }
    }
}

impl TryFrom<StoredPastCycle> for PastCycle {
    type Error = Invalid;

    fn try_from(stored: StoredPastCycle) -> Result<Self, Invalid> {
        let StoredPastCycle {
            issued_on,
            expires_on,
            renewed_on,
            outcome,
        } = stored;
        Ok(PastCycle {
            issued_on: optional_date("history.issued_on", issued_on)?,
            expires_on: date("history.expires_on", expires_on)?,
            renewed_on: date("history.renewed_on", renewed_on)?,
            outcome: outcome.map(CycleOutcome::try_from).transpose()?,
        })
    }
}

impl Stored for Credential {
    type Message = StoredCredential;
    type V1 = legacy_v1::Credential;

    fn to_message(&self) -> StoredCredential {
        let Credential {
            id,
            holder_id,
            program,
            number,
            issued_on,
            expires_on,
            history,
            verifications,
        } = self;
        StoredCredential {
            id: *id,
            holder_id: *holder_id,
            program: program.clone(),
            number: number.clone(),
            issued_on: issued_on.map(days),
            expires_on: days(*expires_on),
            history: history.iter().map(StoredPastCycle::from).collect(),
            verifications: verifications.iter().map(StoredVerification::from).collect(),
        }
    }

    fn from_message(message: StoredCredential) -> Result<Self, Invalid> {
        let StoredCredential {
            id,
            holder_id,
            program,
            number,
            issued_on,
            expires_on,
            history,
            verifications,
        } = message;
        Ok(Credential {
            id,
            holder_id,
            program,
            number,
            issued_on: optional_date("issued_on", issued_on)?,
            expires_on: date("expires_on", expires_on)?,
            history: history
                .into_iter()
                .map(PastCycle::try_from)
                .collect::<Result<_, _>>()?,
            verifications: verifications
                .into_iter()
                .map(Verification::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

// ---- Course ----

/// Stored numbers of a [`Unit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredUnit {
    Unset = 0,
    Hours = 1,
    Ceu = 2,
    Point = 3,
    NhaCredit = 4,
    SemesterHour = 5,
    QuarterHour = 6,
}

impl From<Unit> for StoredUnit {
    fn from(unit: Unit) -> Self {
        match unit {
            Unit::Hours => StoredUnit::Hours,
            Unit::Ceu => StoredUnit::Ceu,
            Unit::Point => StoredUnit::Point,
            Unit::NhaCredit => StoredUnit::NhaCredit,
            Unit::SemesterHour => StoredUnit::SemesterHour,
            Unit::QuarterHour => StoredUnit::QuarterHour,
        }
    }
}

/// The unit a stored number names.
fn unit(field: &'static str, value: i32) -> Result<Unit, Invalid> {
    Ok(match known(field, value)? {
        StoredUnit::Unset => return Err(Invalid::Missing(field)),
        StoredUnit::Hours => Unit::Hours,
        StoredUnit::Ceu => Unit::Ceu,
        StoredUnit::Point => Unit::Point,
        StoredUnit::NhaCredit => Unit::NhaCredit,
        StoredUnit::SemesterHour => Unit::SemesterHour,
        StoredUnit::QuarterHour => Unit::QuarterHour,
    })
}

/// Stored numbers of a [`Format`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredFormat {
    Unset = 0,
    Live = 1,
    Online = 2,
    HomeStudy = 3,
    Academic = 4,
}

impl From<Format> for StoredFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Live => StoredFormat::Live,
            Format::Online => StoredFormat::Online,
            Format::HomeStudy => StoredFormat::HomeStudy,
            Format::Academic => StoredFormat::Academic,
        }
    }
}

/// The format a stored number names.
fn format(field: &'static str, value: i32) -> Result<Format, Invalid> {
    Ok(match known(field, value)? {
        StoredFormat::Unset => return Err(Invalid::Missing(field)),
        StoredFormat::Live => Format::Live,
        StoredFormat::Online => Format::Online,
        StoredFormat::HomeStudy => Format::HomeStudy,
        StoredFormat::Academic => Format::Academic,
    })
}

/// The stored number of a format.
fn format_number(format: Format) -> i32 {
    StoredFormat::from(format).into()
}

/// Storage message of a [`Course`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredCourse {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint64, tag = "2")]
    holder_id: u64,
    #[prost(string, tag = "3")]
    title: String,
    #[prost(string, tag = "4")]
    provider: String,
    #[prost(string, tag = "5")]
    accreditation: String,
    #[prost(sint32, tag = "6")]
    completed_on: i32,
    /// Hundredths of `unit`.
    #[prost(int64, tag = "7")]
    amount: i64,
    #[prost(enumeration = "StoredUnit", tag = "8")]
    unit: i32,
    #[prost(string, repeated, tag = "9")]
    categories: Vec<String>,
    #[prost(enumeration = "StoredFormat", optional, tag = "10")]
    format: Option<i32>,
    #[prost(uint64, repeated, tag = "11")]
    credential_ids: Vec<u64>,
    #[prost(string, tag = "12")]
    evidence: String,
}

impl Stored for Course {
    type Message = StoredCourse;
    type V1 = legacy_v1::Course;

    fn to_message(&self) -> StoredCourse {
        let Course {
            id,
            holder_id,
            title,
            provider,
            accreditation,
            completed_on,
            amount: Credits(amount),
            unit,
            categories,
            format,
            credential_ids,
            evidence,
        } = self;
        StoredCourse {
            id: *id,
            holder_id: *holder_id,
            title: title.clone(),
            provider: provider.clone(),
            accreditation: accreditation.clone(),
            completed_on: days(*completed_on),
            amount: *amount,
            unit: StoredUnit::from(*unit).into(),
            categories: categories.clone(),
            format: format.map(format_number),
            credential_ids: credential_ids.clone(),
            evidence: evidence.clone(),
        }
    }

    fn from_message(message: StoredCourse) -> Result<Self, Invalid> {
        let StoredCourse {
            id,
            holder_id,
            title,
            provider,
            accreditation,
            completed_on,
            amount,
            unit: unit_number,
            categories,
            format: format_number,
            credential_ids,
            evidence,
        } = message;
        Ok(Course {
            id,
            holder_id,
            title,
            provider,
            accreditation,
            completed_on: date("completed_on", completed_on)?,
            amount: Credits(amount),
            unit: unit("unit", unit_number)?,
            categories,
            format: format_number.map(|f| format("format", f)).transpose()?,
            credential_ids,
            evidence,
        })
    }
}

// ---- Program ----

/// Stored numbers of a [`Confidence`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredConfidence {
    Unset = 0,
    Confirmed = 1,
    Uncertain = 2,
}

impl From<Confidence> for StoredConfidence {
    fn from(confidence: Confidence) -> Self {
        match confidence {
            Confidence::Confirmed => StoredConfidence::Confirmed,
            Confidence::Uncertain => StoredConfidence::Uncertain,
        }
    }
}

/// The confidence a stored number names.
fn confidence(field: &'static str, value: i32) -> Result<Confidence, Invalid> {
    Ok(match known(field, value)? {
        StoredConfidence::Unset => return Err(Invalid::Missing(field)),
        StoredConfidence::Confirmed => Confidence::Confirmed,
        StoredConfidence::Uncertain => Confidence::Uncertain,
    })
}

/// Storage message of a [`CategoryMinimum`].
#[derive(Clone, PartialEq, Message)]
struct StoredCategoryMinimum {
    #[prost(string, tag = "1")]
    category: String,
    /// Hundredths of the program's unit.
    #[prost(int64, tag = "2")]
    minimum: i64,
}

impl From<&CategoryMinimum> for StoredCategoryMinimum {
    fn from(minimum: &CategoryMinimum) -> Self {
        let CategoryMinimum {
            category,
            minimum: Credits(minimum),
        } = minimum;
        StoredCategoryMinimum {
            category: category.clone(),
            minimum: *minimum,
        }
    }
}

impl From<StoredCategoryMinimum> for CategoryMinimum {
    fn from(stored: StoredCategoryMinimum) -> Self {
        let StoredCategoryMinimum { category, minimum } = stored;
        CategoryMinimum {
            category,
            minimum: Credits(minimum),
        }
    }
}

/// Storage message of a [`Cap`]: one scope and one limit.
#[derive(Clone, PartialEq, Message)]
struct StoredCap {
    #[prost(oneof = "StoredCapScope", tags = "1, 2")]
    scope: Option<StoredCapScope>,
    #[prost(oneof = "StoredCapLimit", tags = "3, 4")]
    limit: Option<StoredCapLimit>,
}

/// Storage of a [`CapScope`].
#[derive(Clone, PartialEq, prost::Oneof)]
enum StoredCapScope {
    #[prost(string, tag = "1")]
    Category(String),
    #[prost(enumeration = "StoredFormat", tag = "2")]
    Format(i32),
}

/// Storage of a [`CapLimit`].
#[derive(Clone, PartialEq, prost::Oneof)]
enum StoredCapLimit {
    #[prost(uint32, tag = "3")]
    Percent(u32),
    /// Hundredths of the program's unit.
    #[prost(int64, tag = "4")]
    Amount(i64),
}

/// The stored form of a scope (of a cap or an activity limit).
fn stored_scope(scope: &CapScope) -> StoredCapScope {
    match scope {
        CapScope::Category(category) => StoredCapScope::Category(category.clone()),
        CapScope::Format(format) => StoredCapScope::Format(format_number(*format)),
    }
}

/// The scope a stored one names; `field` and `format_field` name it in errors.
fn scope_of(
    field: &'static str,
    format_field: &'static str,
    stored: Option<StoredCapScope>,
) -> Result<CapScope, Invalid> {
    Ok(match stored.ok_or(Invalid::Missing(field))? {
        StoredCapScope::Category(category) => CapScope::Category(category),
        StoredCapScope::Format(f) => CapScope::Format(format(format_field, f)?),
    })
}

impl From<&Cap> for StoredCap {
    fn from(cap: &Cap) -> Self {
        let Cap { scope, limit } = cap;
        StoredCap {
            scope: Some(stored_scope(scope)),
            limit: Some(match *limit {
                CapLimit::Percent(percent) => StoredCapLimit::Percent(percent),
                CapLimit::Amount(Credits(amount)) => StoredCapLimit::Amount(amount),
            }),
        }
    }
}

impl TryFrom<StoredCap> for Cap {
    type Error = Invalid;

    fn try_from(stored: StoredCap) -> Result<Self, Invalid> {
        let StoredCap { scope, limit } = stored;
        Ok(Cap {
            scope: scope_of("caps.scope", "caps.scope.format", scope)?,
            limit: match limit.ok_or(Invalid::Missing("caps.limit"))? {
                StoredCapLimit::Percent(percent) => CapLimit::Percent(percent),
                StoredCapLimit::Amount(amount) => CapLimit::Amount(Credits(amount)),
            },
        })
    }
}

/// Stored numbers of a [`RuleField`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredRuleField {
    Unset = 0,
    CycleMonths = 1,
    CycleAnchor = 2,
    CeWindowMonths = 3,
    CeWindowYearsBefore = 4,
    UnitHours = 5,
    Required = 6,
    FirstCyclePerMonth = 7,
    CategoryMinimums = 8,
    ExclusiveCategories = 9,
    Caps = 10,
    ActivityLimits = 11,
    Alternatives = 12,
    AccreditationMinimums = 13,
    GraceDays = 14,
    SharesCourses = 15,
    AcceptedAccreditations = 16,
    AccreditationRequired = 17,
    Dues = 18,
    Unspecified = 19,
}

impl From<RuleField> for StoredRuleField {
    fn from(field: RuleField) -> Self {
        match field {
            RuleField::CycleMonths => StoredRuleField::CycleMonths,
            RuleField::CycleAnchor => StoredRuleField::CycleAnchor,
            RuleField::CeWindowMonths => StoredRuleField::CeWindowMonths,
            RuleField::CeWindowYearsBefore => StoredRuleField::CeWindowYearsBefore,
            RuleField::UnitHours => StoredRuleField::UnitHours,
            RuleField::Required => StoredRuleField::Required,
            RuleField::FirstCyclePerMonth => StoredRuleField::FirstCyclePerMonth,
            RuleField::CategoryMinimums => StoredRuleField::CategoryMinimums,
            RuleField::ExclusiveCategories => StoredRuleField::ExclusiveCategories,
            RuleField::Caps => StoredRuleField::Caps,
            RuleField::ActivityLimits => StoredRuleField::ActivityLimits,
            RuleField::Alternatives => StoredRuleField::Alternatives,
            RuleField::AccreditationMinimums => StoredRuleField::AccreditationMinimums,
            RuleField::GraceDays => StoredRuleField::GraceDays,
            RuleField::SharesCourses => StoredRuleField::SharesCourses,
            RuleField::AcceptedAccreditations => StoredRuleField::AcceptedAccreditations,
            RuleField::AccreditationRequired => StoredRuleField::AccreditationRequired,
            RuleField::Dues => StoredRuleField::Dues,
            RuleField::Unspecified => StoredRuleField::Unspecified,
        }
    }
}

/// The rule field a stored number names. A number this build does not know (a field a later
/// build flags) still says that some rule is uncertain: it reads as
/// [`RuleField::Unspecified`] rather than making the program unreadable.
fn rule_field(value: i32) -> RuleField {
    match StoredRuleField::try_from(value) {
        Ok(StoredRuleField::CycleMonths) => RuleField::CycleMonths,
        Ok(StoredRuleField::CycleAnchor) => RuleField::CycleAnchor,
        Ok(StoredRuleField::CeWindowMonths) => RuleField::CeWindowMonths,
        Ok(StoredRuleField::CeWindowYearsBefore) => RuleField::CeWindowYearsBefore,
        Ok(StoredRuleField::UnitHours) => RuleField::UnitHours,
        Ok(StoredRuleField::Required) => RuleField::Required,
        Ok(StoredRuleField::FirstCyclePerMonth) => RuleField::FirstCyclePerMonth,
        Ok(StoredRuleField::CategoryMinimums) => RuleField::CategoryMinimums,
        Ok(StoredRuleField::ExclusiveCategories) => RuleField::ExclusiveCategories,
        Ok(StoredRuleField::Caps) => RuleField::Caps,
        Ok(StoredRuleField::ActivityLimits) => RuleField::ActivityLimits,
        Ok(StoredRuleField::Alternatives) => RuleField::Alternatives,
        Ok(StoredRuleField::AccreditationMinimums) => RuleField::AccreditationMinimums,
        Ok(StoredRuleField::GraceDays) => RuleField::GraceDays,
        Ok(StoredRuleField::SharesCourses) => RuleField::SharesCourses,
        Ok(StoredRuleField::AcceptedAccreditations) => RuleField::AcceptedAccreditations,
        Ok(StoredRuleField::AccreditationRequired) => RuleField::AccreditationRequired,
        Ok(StoredRuleField::Dues) => RuleField::Dues,
        Ok(StoredRuleField::Unspecified | StoredRuleField::Unset) | Err(_) => {
            RuleField::Unspecified
        }
    }
}

/// The flags of `uncertain` as stored next to the program's overall confidence (tag 15).
/// "Uncertain, not saying which" alone is the overall confidence with no flags, as every
/// program stored before per-field flags existed; anything else is the list itself.
fn stored_uncertain(uncertain: &[RuleField]) -> Vec<i32> {
    if uncertain == [RuleField::Unspecified] {
        return Vec::new();
    }
    uncertain
        .iter()
        .map(|&f| StoredRuleField::from(f).into())
        .collect()
}

/// The flags a stored program says: its list, or, for a program stored without one, what its
/// overall confidence says.
fn uncertain_fields(overall: Confidence, stored: Vec<i32>) -> Vec<RuleField> {
    match (overall, stored.is_empty()) {
        (Confidence::Confirmed, true) => Vec::new(),
        (Confidence::Uncertain, true) => vec![RuleField::Unspecified],
        (_, false) => stored.into_iter().map(rule_field).collect(),
    }
}

/// Storage message of a [`CycleAnchor`]; absent is [`CycleAnchor::Issue`].
#[derive(Clone, PartialEq, Message)]
struct StoredCycleAnchor {
    #[prost(oneof = "StoredAnchor", tags = "1, 2")]
    anchor: Option<StoredAnchor>,
}

/// Storage of the anchors other than the issue date.
#[derive(Clone, PartialEq, prost::Oneof)]
enum StoredAnchor {
    #[prost(message, tag = "1")]
    Fixed(StoredMonthDay),
    #[prost(bool, tag = "2")]
    Birthday(bool),
}

/// Storage message of a [`MonthDay`].
#[derive(Clone, PartialEq, Message)]
struct StoredMonthDay {
    #[prost(int32, tag = "1")]
    month: i32,
    #[prost(int32, tag = "2")]
    day: i32,
}

/// The stored form of an anchor: none for the issue date.
fn stored_anchor(anchor: CycleAnchor) -> Option<StoredCycleAnchor> {
    let anchor = match anchor {
        CycleAnchor::Issue => return None,
        CycleAnchor::Fixed(MonthDay { month, day }) => StoredAnchor::Fixed(StoredMonthDay {
            month: month.into(),
            day: day.into(),
        }),
        CycleAnchor::Birthday => StoredAnchor::Birthday(true),
    };
    Some(StoredCycleAnchor {
        anchor: Some(anchor),
    })
}

/// The anchor a stored one names.
fn cycle_anchor(stored: Option<StoredCycleAnchor>) -> Result<CycleAnchor, Invalid> {
    let small = |field: &'static str, value: i32| {
        i8::try_from(value).map_err(|_| Invalid::Unknown { field, value })
    };
    Ok(match stored.and_then(|s| s.anchor) {
        None | Some(StoredAnchor::Birthday(false)) => CycleAnchor::Issue,
        Some(StoredAnchor::Birthday(true)) => CycleAnchor::Birthday,
        Some(StoredAnchor::Fixed(StoredMonthDay { month, day })) => CycleAnchor::Fixed(MonthDay {
            month: small("cycle_anchor.month", month)?,
            day: small("cycle_anchor.day", day)?,
        }),
    })
}

/// Storage message of an [`ActivityLimit`].
#[derive(Clone, PartialEq, Message)]
struct StoredActivityLimit {
    #[prost(oneof = "StoredCapScope", tags = "1, 2")]
    scope: Option<StoredCapScope>,
    #[prost(uint32, tag = "3")]
    once_every_years: u32,
}

impl From<&ActivityLimit> for StoredActivityLimit {
    fn from(limit: &ActivityLimit) -> Self {
        let ActivityLimit {
            scope,
            once_every_years,
        } = limit;
        StoredActivityLimit {
            scope: Some(stored_scope(scope)),
            once_every_years: *once_every_years,
        }
    }
}

impl TryFrom<StoredActivityLimit> for ActivityLimit {
    type Error = Invalid;

    fn try_from(stored: StoredActivityLimit) -> Result<Self, Invalid> {
        let StoredActivityLimit {
            scope,
            once_every_years,
        } = stored;
        Ok(ActivityLimit {
            scope: scope_of(
                "activity_limits.scope",
                "activity_limits.scope.format",
                scope,
            )?,
            once_every_years,
        })
    }
}

/// Storage message of an [`Alternative`].
#[derive(Clone, PartialEq, Message)]
struct StoredAlternative {
    /// Hundredths of the program's unit.
    #[prost(int64, tag = "1")]
    required: i64,
    #[prost(string, tag = "2")]
    work_category: String,
    /// Hundredths of an hour.
    #[prost(int64, tag = "3")]
    work_hours: i64,
}

impl From<&Alternative> for StoredAlternative {
    fn from(alternative: &Alternative) -> Self {
        let Alternative {
            required: Credits(required),
            work_category,
            work_hours: Credits(work_hours),
        } = alternative;
        StoredAlternative {
            required: *required,
            work_category: work_category.clone(),
            work_hours: *work_hours,
        }
    }
}

impl From<StoredAlternative> for Alternative {
    fn from(stored: StoredAlternative) -> Self {
        let StoredAlternative {
            required,
            work_category,
            work_hours,
        } = stored;
        Alternative {
            required: Credits(required),
            work_category,
            work_hours: Credits(work_hours),
        }
    }
}

/// Storage message of an [`AccreditationMinimum`].
#[derive(Clone, PartialEq, Message)]
struct StoredAccreditationMinimum {
    #[prost(string, tag = "1")]
    accreditation: String,
    /// Hundredths of the program's unit.
    #[prost(int64, tag = "2")]
    minimum: i64,
}

impl From<&AccreditationMinimum> for StoredAccreditationMinimum {
    fn from(minimum: &AccreditationMinimum) -> Self {
        let AccreditationMinimum {
            accreditation,
            minimum: Credits(minimum),
        } = minimum;
        StoredAccreditationMinimum {
            accreditation: accreditation.clone(),
            minimum: *minimum,
        }
    }
}

impl From<StoredAccreditationMinimum> for AccreditationMinimum {
    fn from(stored: StoredAccreditationMinimum) -> Self {
        let StoredAccreditationMinimum {
            accreditation,
            minimum,
        } = stored;
        AccreditationMinimum {
            accreditation,
            minimum: Credits(minimum),
        }
    }
}

/// Storage message of [`Dues`].
#[derive(Clone, PartialEq, Message)]
struct StoredDues {
    #[prost(uint32, tag = "1")]
    amount_cents: u32,
    #[prost(uint32, tag = "2")]
    every_months: u32,
    #[prost(sint32, tag = "3")]
    month_offset: i32,
}

impl From<&Dues> for StoredDues {
    fn from(dues: &Dues) -> Self {
        let Dues {
            amount_cents,
            every_months,
            month_offset,
        } = dues;
        StoredDues {
            amount_cents: *amount_cents,
            every_months: *every_months,
            month_offset: *month_offset,
        }
    }
}

impl From<StoredDues> for Dues {
    fn from(stored: StoredDues) -> Self {
        let StoredDues {
            amount_cents,
            every_months,
            month_offset,
        } = stored;
        Dues {
            amount_cents,
            every_months,
            month_offset,
        }
    }
}

/// Storage message of a [`Program`].
///
/// Tags 17 to 26 came with the rules of the completed catalog (issue 13); a program stored
/// before them reads with each at its default: no flags beyond its overall confidence, the
/// cycle ending on the expiry date, no further window, no pro-rata, no exclusive categories,
/// limits, alternatives or accreditation rules, and no dues.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredProgram {
    #[prost(string, tag = "1")]
    slug: String,
    #[prost(string, tag = "2")]
    body: String,
    #[prost(string, tag = "3")]
    name: String,
    #[prost(uint32, tag = "4")]
    cycle_months: u32,
    #[prost(uint32, tag = "5")]
    ce_window_months: u32,
    #[prost(string, tag = "6")]
    unit_name: String,
    /// Hundredths of a contact hour per program unit.
    #[prost(int64, tag = "7")]
    unit_hours: i64,
    /// Hundredths of the program's unit.
    #[prost(int64, tag = "8")]
    required: i64,
    #[prost(message, repeated, tag = "9")]
    category_minimums: Vec<StoredCategoryMinimum>,
    #[prost(message, repeated, tag = "10")]
    caps: Vec<StoredCap>,
    #[prost(uint32, tag = "11")]
    grace_days: u32,
    #[prost(bool, tag = "12")]
    shares_courses: bool,
    #[prost(string, repeated, tag = "13")]
    accepted_accreditations: Vec<String>,
    #[prost(string, repeated, tag = "14")]
    sources: Vec<String>,
    /// The overall confidence: uncertain if any rule is (what builds before tag 17 read).
    #[prost(enumeration = "StoredConfidence", tag = "15")]
    confidence: i32,
    #[prost(string, tag = "16")]
    notes: String,
    #[prost(enumeration = "StoredRuleField", repeated, tag = "17")]
    uncertain: Vec<i32>,
    #[prost(message, optional, tag = "18")]
    cycle_anchor: Option<StoredCycleAnchor>,
    #[prost(uint32, tag = "19")]
    ce_window_years_before: u32,
    /// Hundredths of the program's unit per month.
    #[prost(int64, tag = "20")]
    first_cycle_per_month: i64,
    #[prost(bool, tag = "21")]
    exclusive_categories: bool,
    #[prost(message, repeated, tag = "22")]
    activity_limits: Vec<StoredActivityLimit>,
    #[prost(message, repeated, tag = "23")]
    alternatives: Vec<StoredAlternative>,
    #[prost(message, repeated, tag = "24")]
    accreditation_minimums: Vec<StoredAccreditationMinimum>,
    #[prost(bool, tag = "25")]
    accreditation_required: bool,
    #[prost(message, optional, tag = "26")]
    dues: Option<StoredDues>,
    /// The rules a partial override of a built-in program overrides (absent before
    /// `program edit`: a full override, or a custom program).
    #[prost(enumeration = "StoredRuleField", repeated, tag = "27")]
    local_fields: Vec<i32>,
    /// Absent before reinstatement rules were program fields: no rule.
    #[prost(message, optional, tag = "28")]
    reinstatement: Option<StoredReinstatement>,
}

/// Storage message of a [`Reinstatement`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredReinstatement {
    #[prost(uint32, tag = "1")]
    within_months: u32,
    /// Hundredths of a contact hour.
    #[prost(int64, tag = "2")]
    ce_hours: i64,
    #[prost(string, tag = "3")]
    note: String,
    #[prost(string, repeated, tag = "4")]
    sources: Vec<String>,
}

impl From<&Reinstatement> for StoredReinstatement {
    fn from(r: &Reinstatement) -> Self {
        let Reinstatement {
            within_months,
            ce_hours: Credits(ce_hours),
            note,
            sources,
        } = r;
        StoredReinstatement {
            within_months: *within_months,
            ce_hours: *ce_hours,
            note: note.clone(),
            sources: sources.clone(),
        }
    }
}

impl From<StoredReinstatement> for Reinstatement {
    fn from(r: StoredReinstatement) -> Self {
        let StoredReinstatement {
            within_months,
            ce_hours,
            note,
            sources,
        } = r;
        Reinstatement {
            within_months,
            ce_hours: Credits(ce_hours),
            note,
            sources,
        }
    }
}

impl Stored for Program {
    type Message = StoredProgram;
    type V1 = legacy_v1::Program;

    fn to_message(&self) -> StoredProgram {
        let Program {
            slug,
            body,
            name,
            cycle_months,
            cycle_anchor,
            ce_window_months,
            ce_window_years_before,
            unit_name,
            unit_hours: Credits(unit_hours),
            required: Credits(required),
            first_cycle_per_month: Credits(first_cycle_per_month),
            category_minimums,
            exclusive_categories,
            caps,
            activity_limits,
            alternatives,
            accreditation_minimums,
            grace_days,
            shares_courses,
            accepted_accreditations,
            accreditation_required,
            dues,
            sources,
            uncertain,
            notes,
            local_fields,
            reinstatement,
        } = self;
        StoredProgram {
            slug: slug.clone(),
            body: body.clone(),
            name: name.clone(),
            cycle_months: *cycle_months,
            ce_window_months: *ce_window_months,
            unit_name: unit_name.clone(),
            unit_hours: *unit_hours,
            required: *required,
            category_minimums: category_minimums
                .iter()
                .map(StoredCategoryMinimum::from)
                .collect(),
            caps: caps.iter().map(StoredCap::from).collect(),
            grace_days: *grace_days,
            shares_courses: *shares_courses,
            accepted_accreditations: accepted_accreditations.clone(),
            sources: sources.clone(),
            confidence: StoredConfidence::from(self.confidence()).into(),
            notes: notes.clone(),
            uncertain: stored_uncertain(uncertain),
            cycle_anchor: stored_anchor(*cycle_anchor),
            ce_window_years_before: *ce_window_years_before,
            first_cycle_per_month: *first_cycle_per_month,
            exclusive_categories: *exclusive_categories,
            activity_limits: activity_limits
                .iter()
                .map(StoredActivityLimit::from)
                .collect(),
            alternatives: alternatives.iter().map(StoredAlternative::from).collect(),
            accreditation_minimums: accreditation_minimums
                .iter()
                .map(StoredAccreditationMinimum::from)
                .collect(),
            accreditation_required: *accreditation_required,
            dues: dues.as_ref().map(StoredDues::from),
            local_fields: local_fields
                .iter()
                .map(|&f| StoredRuleField::from(f).into())
                .collect(),
            reinstatement: reinstatement.as_ref().map(StoredReinstatement::from),
        }
    }

    fn from_message(message: StoredProgram) -> Result<Self, Invalid> {
        let StoredProgram {
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
            confidence: confidence_number,
            notes,
            uncertain,
            cycle_anchor: anchor,
            ce_window_years_before,
            first_cycle_per_month,
            exclusive_categories,
            activity_limits,
            alternatives,
            accreditation_minimums,
            accreditation_required,
            dues,
            local_fields,
            reinstatement,
        } = message;
        let overall = confidence("confidence", confidence_number)?;
        Ok(Program {
            slug,
            body,
            name,
            cycle_months,
            cycle_anchor: cycle_anchor(anchor)?,
            ce_window_months,
            ce_window_years_before,
            unit_name,
            unit_hours: Credits(unit_hours),
            required: Credits(required),
            first_cycle_per_month: Credits(first_cycle_per_month),
            category_minimums: category_minimums.into_iter().map(Into::into).collect(),
            exclusive_categories,
            caps: caps
                .into_iter()
                .map(Cap::try_from)
                .collect::<Result<_, _>>()?,
            activity_limits: activity_limits
                .into_iter()
                .map(ActivityLimit::try_from)
                .collect::<Result<_, _>>()?,
            alternatives: alternatives.into_iter().map(Into::into).collect(),
            accreditation_minimums: accreditation_minimums.into_iter().map(Into::into).collect(),
            grace_days,
            shares_courses,
            accepted_accreditations,
            accreditation_required,
            dues: dues.map(Into::into),
            sources,
            uncertain: uncertain_fields(overall, uncertain),
            notes,
            // A field a later build overrides and this one does not know is read from the
            // built-in program instead.
            local_fields: local_fields
                .into_iter()
                .map(rule_field)
                .filter(|&f| f != RuleField::Unspecified)
                .collect(),
            reinstatement: reinstatement.map(Into::into),
        })
    }
}

// ---- Channel ----

/// Stored numbers of a [`ChannelKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredChannelKind {
    Unset = 0,
    Webhook = 1,
    Email = 2,
}

impl From<ChannelKind> for StoredChannelKind {
    fn from(kind: ChannelKind) -> Self {
        match kind {
            ChannelKind::Webhook => StoredChannelKind::Webhook,
            ChannelKind::Email => StoredChannelKind::Email,
        }
    }
}

/// The channel kind a stored number names.
fn channel_kind(field: &'static str, value: i32) -> Result<ChannelKind, Invalid> {
    Ok(match known(field, value)? {
        StoredChannelKind::Unset => return Err(Invalid::Missing(field)),
        StoredChannelKind::Webhook => ChannelKind::Webhook,
        StoredChannelKind::Email => ChannelKind::Email,
    })
}

/// Storage message of a [`Channel`]. No `Debug`: it holds the webhook secret.
#[derive(Clone, PartialEq, Message)]
#[prost(skip_debug)]
pub(crate) struct StoredChannel {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint64, tag = "2")]
    holder_id: u64,
    #[prost(enumeration = "StoredChannelKind", tag = "3")]
    kind: i32,
    #[prost(string, tag = "4")]
    target: String,
    #[prost(string, tag = "5")]
    secret: String,
    #[prost(uint64, tag = "6")]
    team_id: u64,
}

impl Stored for Channel {
    type Message = StoredChannel;
    type V1 = legacy_v1::Channel;

    fn to_message(&self) -> StoredChannel {
        let Channel {
            id,
            holder_id,
            kind,
            target,
            secret,
            team_id,
        } = self;
        StoredChannel {
            id: *id,
            holder_id: *holder_id,
            kind: StoredChannelKind::from(*kind).into(),
            target: target.clone(),
            secret: secret.clone(),
            team_id: *team_id,
        }
    }

    fn from_message(message: StoredChannel) -> Result<Self, Invalid> {
        let StoredChannel {
            id,
            holder_id,
            kind,
            target,
            secret,
            team_id,
        } = message;
        Ok(Channel {
            id,
            holder_id,
            kind: channel_kind("kind", kind)?,
            target,
            secret,
            team_id,
        })
    }
}

// ---- Alert ----

/// Stored numbers of a [`DeliveryState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredDeliveryState {
    Unset = 0,
    Pending = 1,
    Delivered = 2,
    Failed = 3,
}

impl From<DeliveryState> for StoredDeliveryState {
    fn from(state: DeliveryState) -> Self {
        match state {
            DeliveryState::Pending => StoredDeliveryState::Pending,
            DeliveryState::Delivered => StoredDeliveryState::Delivered,
            DeliveryState::Failed => StoredDeliveryState::Failed,
        }
    }
}

/// The delivery state a stored number names.
fn delivery_state(field: &'static str, value: i32) -> Result<DeliveryState, Invalid> {
    Ok(match known(field, value)? {
        StoredDeliveryState::Unset => return Err(Invalid::Missing(field)),
        StoredDeliveryState::Pending => DeliveryState::Pending,
        StoredDeliveryState::Delivered => DeliveryState::Delivered,
        StoredDeliveryState::Failed => DeliveryState::Failed,
    })
}

/// Stored numbers of a [`Mark`]'s variant; its days or weeks are a field of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredMark {
    Unset = 0,
    Before = 1,
    ExpiryDay = 2,
    GraceWeek = 3,
    Lapsed = 4,
}

/// Storage message of a [`Delivery`].
#[derive(Clone, PartialEq, Message)]
struct StoredDelivery {
    #[prost(uint64, tag = "1")]
    channel_id: u64,
    #[prost(enumeration = "StoredChannelKind", tag = "2")]
    kind: i32,
    #[prost(string, tag = "3")]
    target: String,
    #[prost(uint32, tag = "4")]
    attempts: u32,
    #[prost(string, tag = "5")]
    last_error: String,
    #[prost(enumeration = "StoredDeliveryState", tag = "6")]
    state: i32,
    #[prost(message, optional, tag = "7")]
    next_attempt_at: Option<StoredInstant>,
}

impl From<&Delivery> for StoredDelivery {
    fn from(delivery: &Delivery) -> Self {
        let Delivery {
            channel_id,
            kind,
            target,
            attempts,
            last_error,
            state,
            next_attempt_at,
        } = delivery;
        StoredDelivery {
            channel_id: *channel_id,
            kind: StoredChannelKind::from(*kind).into(),
            target: target.clone(),
            attempts: *attempts,
            last_error: last_error.clone(),
            state: StoredDeliveryState::from(*state).into(),
            next_attempt_at: next_attempt_at.map(StoredInstant::from),
        }
    }
}

impl TryFrom<StoredDelivery> for Delivery {
    type Error = Invalid;

    fn try_from(stored: StoredDelivery) -> Result<Self, Invalid> {
        let StoredDelivery {
            channel_id,
            kind,
            target,
            attempts,
            last_error,
            state,
            next_attempt_at,
        } = stored;
        Ok(Delivery {
            channel_id,
            kind: channel_kind("deliveries.kind", kind)?,
            target,
            attempts,
            last_error,
            state: delivery_state("deliveries.state", state)?,
            next_attempt_at: next_attempt_at
                .map(|at| instant("deliveries.next_attempt_at", at))
                .transpose()?,
        })
    }
}

/// Storage message of an [`Alert`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredAlert {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint64, tag = "2")]
    holder_id: u64,
    #[prost(uint64, tag = "3")]
    credential_id: u64,
    #[prost(string, tag = "4")]
    program: String,
    #[prost(sint32, tag = "5")]
    expires_on: i32,
    #[prost(enumeration = "StoredMark", tag = "6")]
    mark: i32,
    /// Days of `Before`, weeks of `GraceWeek`, 0 for the other marks.
    #[prost(uint32, tag = "7")]
    mark_count: u32,
    #[prost(sint64, tag = "8")]
    threshold_days: i64,
    #[prost(sint32, tag = "9")]
    due_on: i32,
    #[prost(string, tag = "10")]
    title: String,
    #[prost(string, tag = "11")]
    body: String,
    #[prost(bool, tag = "12")]
    met: bool,
    #[prost(string, tag = "13")]
    compliance_status: String,
    #[prost(message, optional, tag = "14")]
    created_at: Option<StoredInstant>,
    #[prost(sint32, optional, tag = "15")]
    snoozed_until: Option<i32>,
    #[prost(bool, tag = "16")]
    acknowledged: bool,
    #[prost(bool, tag = "17")]
    cancelled: bool,
    #[prost(message, repeated, tag = "18")]
    deliveries: Vec<StoredDelivery>,
    /// The subject's kind; absent (0) in records written before subjects: a credential.
    #[prost(enumeration = "StoredSubject", tag = "19")]
    subject: i32,
    /// A competency's skill.
    #[prost(string, tag = "20")]
    skill: String,
    /// Dues' amount in cents.
    #[prost(uint32, tag = "21")]
    amount_cents: u32,
    /// A digest's team.
    #[prost(uint64, tag = "22")]
    team_id: u64,
}

/// Stored numbers of an [`AlertSubject`]'s kind; its fields are fields of the alert's message.
/// 0 is what every alert written before subjects existed holds: a credential's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredSubject {
    Credential = 0,
    Competency = 1,
    Dues = 2,
    Digest = 3,
}

impl Stored for Alert {
    type Message = StoredAlert;
    type V1 = legacy_v1::Alert;

    fn to_message(&self) -> StoredAlert {
        let Alert {
            id,
            holder_id,
            subject,
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
        } = self;
        let (mark, mark_count) = match *mark {
            Mark::Before(days) => (StoredMark::Before, days),
            Mark::ExpiryDay => (StoredMark::ExpiryDay, 0),
            Mark::GraceWeek(weeks) => (StoredMark::GraceWeek, weeks),
            Mark::Lapsed => (StoredMark::Lapsed, 0),
        };
        let (stored_subject, skill, amount_cents, team_id) = match subject {
            AlertSubject::Credential => (StoredSubject::Credential, String::new(), 0, 0),
            AlertSubject::Competency { skill } => (StoredSubject::Competency, skill.clone(), 0, 0),
            AlertSubject::Dues { amount_cents } => {
                (StoredSubject::Dues, String::new(), *amount_cents, 0)
            }
            AlertSubject::Digest { team_id } => (StoredSubject::Digest, String::new(), 0, *team_id),
        };
        StoredAlert {
            id: *id,
            holder_id: *holder_id,
            credential_id: *credential_id,
            program: program.clone(),
            expires_on: days(*expires_on),
            mark: mark.into(),
            mark_count,
            threshold_days: *threshold_days,
            due_on: days(*due_on),
            title: title.clone(),
            body: body.clone(),
            met: *met,
            compliance_status: compliance_status.clone(),
            created_at: Some(StoredInstant::from(*created_at)),
            snoozed_until: snoozed_until.map(days),
            acknowledged: *acknowledged,
            cancelled: *cancelled,
            deliveries: deliveries.iter().map(StoredDelivery::from).collect(),
            subject: stored_subject.into(),
            skill,
            amount_cents,
            team_id,
        }
    }

    fn from_message(message: StoredAlert) -> Result<Self, Invalid> {
        let StoredAlert {
            id,
            holder_id,
            credential_id,
            program,
            expires_on,
            mark,
            mark_count,
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
            subject,
            skill,
            amount_cents,
            team_id,
        } = message;
        let subject = match known("subject", subject)? {
            StoredSubject::Credential => AlertSubject::Credential,
            StoredSubject::Competency => AlertSubject::Competency { skill },
            StoredSubject::Dues => AlertSubject::Dues { amount_cents },
            StoredSubject::Digest => AlertSubject::Digest { team_id },
        };
        let mark = match known("mark", mark)? {
            StoredMark::Unset => return Err(Invalid::Missing("mark")),
            StoredMark::Before => Mark::Before(mark_count),
            StoredMark::ExpiryDay => Mark::ExpiryDay,
            StoredMark::GraceWeek => Mark::GraceWeek(mark_count),
            StoredMark::Lapsed => Mark::Lapsed,
        };
        Ok(Alert {
            id,
            holder_id,
            subject,
            credential_id,
            program,
            expires_on: date("expires_on", expires_on)?,
            mark,
            threshold_days,
            due_on: date("due_on", due_on)?,
            title,
            body,
            met,
            compliance_status,
            created_at: instant(
                "created_at",
                created_at.ok_or(Invalid::Missing("created_at"))?,
            )?,
            snoozed_until: optional_date("snoozed_until", snoozed_until)?,
            acknowledged,
            cancelled,
            deliveries: deliveries
                .into_iter()
                .map(Delivery::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

// ---- AlertSettings ----

/// Storage message of [`AlertSettings`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredAlertSettings {
    /// Absent for the defaults; present and possibly empty when set.
    #[prost(message, optional, tag = "1")]
    thresholds: Option<StoredThresholds>,
    #[prost(bool, tag = "2")]
    muted: bool,
}

/// Thresholds in days before expiry, wrapped so that "set to none" differs from "not set".
#[derive(Clone, PartialEq, Message)]
struct StoredThresholds {
    #[prost(uint32, repeated, tag = "1")]
    days: Vec<u32>,
}

impl Stored for AlertSettings {
    type Message = StoredAlertSettings;
    type V1 = legacy_v1::AlertSettings;

    fn to_message(&self) -> StoredAlertSettings {
        let AlertSettings { thresholds, muted } = self;
        StoredAlertSettings {
            thresholds: thresholds
                .as_ref()
                .map(|days| StoredThresholds { days: days.clone() }),
            muted: *muted,
        }
    }

    fn from_message(message: StoredAlertSettings) -> Result<Self, Invalid> {
        let StoredAlertSettings { thresholds, muted } = message;
        Ok(AlertSettings {
            thresholds: thresholds.map(|StoredThresholds { days }| days),
            muted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::{decode, encode, id_key};
    use super::super::{
        ALERT_SETTINGS, ALERTS, CHANNELS, COURSES, CREDENTIALS, HOLDERS, PROGRAMS, SettingsScope,
        SledStore as Store, StoreOptions,
    };
    use super::*;
    use jiff::civil::date;
    use std::fmt::Debug;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn holder() -> Holder {
        Holder {
            id: 7,
            name: "Dana Ruiz".into(),
            email: "dana@example.org".into(),
            time_zone: "America/Chicago".into(),
            hired_on: None,
            competencies: Vec::new(),
        }
    }

    /// A credential with every optional set (and a history entry without an issue date).
    fn credential() -> Credential {
        Credential {
            id: 12,
            holder_id: 7,
            program: "nha-cpt".into(),
            number: "CPT-0042".into(),
            issued_on: Some(date(2025, 3, 1)),
            expires_on: date(2027, 3, 1),
            history: vec![
                PastCycle {
                    issued_on: None,
                    expires_on: date(2023, 3, 1),
                    renewed_on: date(2023, 2, 20),
                    outcome: None,
                },
                PastCycle {
                    issued_on: Some(date(2023, 3, 1)),
                    expires_on: date(2025, 3, 1),
                    renewed_on: date(2025, 2, 14),
                    outcome: None,
                },
            ],
            verifications: Vec::new(),
        }
    }

    /// [`credential`] with a verification of every result (field 8; [`credential`]'s bytes,
    /// written before it, decode with none).
    fn verified_credential() -> Credential {
        let mut c = credential();
        for (n, result) in VerificationResult::ALL.into_iter().enumerate() {
            c.verifications.push(Verification {
                checked_on: date(2026, 1, 1 + n as i8),
                result,
                source: if n == 0 {
                    String::new()
                } else {
                    "https://registry.example/x".into()
                },
                checked_by: "Sam Lead".into(),
                cycle_expires_on: date(2027, 3, 1),
            });
        }
        c
    }

    /// [`credential`] whose last closed cycle kept its outcome (field 4 of the past cycle;
    /// [`credential`]'s bytes, written before it, decode with `outcome: None`).
    fn closed_credential() -> Credential {
        let mut c = credential();
        c.history[1].outcome = Some(CycleOutcome {
            window_start: date(2023, 3, 2),
            ends_on: date(2025, 3, 1),
            unit_name: "NHA CE credit".into(),
            required: Credits(1000),
            earned: Credits(850),
            categories: vec![CategoryProgress {
                category: "safety".into(),
                required: Credits(100),
                earned: Credits(50),
            }],
            status: Status::AtRisk,
            counted: vec![
                CountedCourse {
                    course_id: 4,
                    amount: Credits(800),
                    capped: false,
                },
                CountedCourse {
                    course_id: 9,
                    amount: Credits(50),
                    capped: true,
                },
            ],
        });
        c
    }

    /// A credential with every optional unset.
    fn bare_credential() -> Credential {
        Credential {
            id: 13,
            holder_id: 7,
            program: "ascp-mls".into(),
            number: String::new(),
            issued_on: None,
            expires_on: date(1969, 12, 31),
            history: Vec::new(),
            verifications: Vec::new(),
        }
    }

    /// A typical course: what the daemon logs most.
    fn course() -> Course {
        Course {
            id: 40,
            holder_id: 7,
            title: "Venipuncture update".into(),
            provider: "County Hospital".into(),
            accreditation: "P.A.C.E.".into(),
            completed_on: date(2026, 3, 1),
            amount: Credits(150),
            unit: Unit::Hours,
            categories: vec!["safety".into(), "phlebotomy".into()],
            format: Some(Format::Online),
            credential_ids: vec![12, 13],
            evidence: "cert-889".into(),
        }
    }

    /// A course with every optional unset.
    fn bare_course() -> Course {
        Course {
            id: 41,
            holder_id: 7,
            title: "Lab safety".into(),
            provider: String::new(),
            accreditation: String::new(),
            completed_on: date(2026, 1, 10),
            amount: Credits(1),
            unit: Unit::Ceu,
            categories: Vec::new(),
            format: None,
            credential_ids: Vec::new(),
            evidence: String::new(),
        }
    }

    /// A program as stored before the rules of the completed catalog: each of them at its
    /// default, and "uncertain" without saying which rule.
    fn program() -> Program {
        Program {
            local_fields: Vec::new(),
            reinstatement: None,
            slug: "local-cpt".into(),
            body: "NHA".into(),
            name: "Certified Phlebotomy Technician (local)".into(),
            cycle_months: 24,
            cycle_anchor: CycleAnchor::Issue,
            ce_window_months: 24,
            ce_window_years_before: 0,
            unit_name: "NHA CE credit".into(),
            unit_hours: Credits(200),
            required: Credits(1000),
            first_cycle_per_month: Credits::ZERO,
            category_minimums: vec![CategoryMinimum {
                category: "safety".into(),
                minimum: Credits(100),
            }],
            exclusive_categories: false,
            caps: vec![
                Cap {
                    scope: CapScope::Category("self-study".into()),
                    limit: CapLimit::Percent(50),
                },
                Cap {
                    scope: CapScope::Format(Format::HomeStudy),
                    limit: CapLimit::Amount(Credits(400)),
                },
            ],
            activity_limits: Vec::new(),
            alternatives: Vec::new(),
            accreditation_minimums: Vec::new(),
            grace_days: 30,
            shares_courses: false,
            accepted_accreditations: vec!["P.A.C.E.".into()],
            accreditation_required: false,
            dues: None,
            sources: vec!["https://www.nhanow.com/".into()],
            uncertain: vec![RuleField::Unspecified],
            notes: "Verify the cycle length.".into(),
        }
    }

    /// A program with every rule of the completed catalog set.
    fn rules_program() -> Program {
        Program {
            cycle_anchor: CycleAnchor::Fixed(MonthDay { month: 11, day: 30 }),
            ce_window_years_before: 1,
            first_cycle_per_month: Credits(50),
            exclusive_categories: true,
            activity_limits: vec![
                ActivityLimit {
                    scope: CapScope::Category("employer-training".into()),
                    once_every_years: 5,
                },
                ActivityLimit {
                    scope: CapScope::Format(Format::Online),
                    once_every_years: 2,
                },
            ],
            alternatives: vec![Alternative {
                required: Credits(500),
                work_category: "work-hours".into(),
                work_hours: Credits(208_000),
            }],
            accreditation_minimums: vec![AccreditationMinimum {
                accreditation: "AAMA".into(),
                minimum: Credits(300),
            }],
            accreditation_required: true,
            dues: Some(Dues {
                amount_cents: 5000,
                every_months: 12,
                month_offset: -1,
            }),
            uncertain: vec![RuleField::UnitHours, RuleField::GraceDays],
            ..program()
        }
    }

    /// An alert with every optional set, two deliveries (one pending, one delivered).
    fn alert() -> Alert {
        Alert {
            id: 3,
            holder_id: 7,
            subject: crate::domain::AlertSubject::Credential,
            credential_id: 12,
            program: "nha-cpt".into(),
            expires_on: date(2027, 3, 1),
            mark: Mark::GraceWeek(2),
            threshold_days: -14,
            due_on: date(2027, 3, 15),
            title: "NHA CPT: grace week 2".into(),
            body: "Your credential expired on 2027-03-01.".into(),
            met: false,
            compliance_status: "at_risk".into(),
            created_at: at("2027-03-15T14:00:00.123456789Z"),
            snoozed_until: Some(date(2027, 3, 20)),
            acknowledged: false,
            cancelled: true,
            deliveries: vec![
                Delivery {
                    channel_id: 5,
                    kind: ChannelKind::Webhook,
                    target: "https://hooks.example.org/recert".into(),
                    attempts: 2,
                    last_error: "HTTP 503".into(),
                    state: DeliveryState::Pending,
                    next_attempt_at: Some(at("2027-03-15T14:05:00Z")),
                },
                Delivery {
                    channel_id: 6,
                    kind: ChannelKind::Email,
                    target: "dana@example.org".into(),
                    attempts: 1,
                    last_error: String::new(),
                    state: DeliveryState::Delivered,
                    next_attempt_at: None,
                },
            ],
        }
    }

    /// An alert with every optional unset and no deliveries.
    fn bare_alert() -> Alert {
        Alert {
            id: 4,
            holder_id: 7,
            subject: crate::domain::AlertSubject::Credential,
            credential_id: 12,
            program: "nha-cpt".into(),
            expires_on: date(2027, 3, 1),
            mark: Mark::Before(30),
            threshold_days: 30,
            due_on: date(2027, 1, 30),
            title: "NHA CPT: 30 days".into(),
            body: String::new(),
            met: true,
            compliance_status: "met".into(),
            created_at: at("1969-07-20T20:17:40Z"),
            snoozed_until: None,
            acknowledged: true,
            cancelled: false,
            deliveries: Vec::new(),
        }
    }

    fn channel() -> Channel {
        Channel {
            id: 5,
            holder_id: 7,
            kind: ChannelKind::Webhook,
            target: "https://hooks.example.org/recert".into(),
            secret: "s3cret".into(),
            team_id: 0,
        }
    }

    fn settings() -> AlertSettings {
        AlertSettings {
            thresholds: Some(vec![60, 30, 7]),
            muted: false,
        }
    }

    fn bare_settings() -> AlertSettings {
        AlertSettings {
            thresholds: None,
            muted: true,
        }
    }

    fn empty_thresholds() -> AlertSettings {
        AlertSettings {
            thresholds: Some(Vec::new()),
            muted: false,
        }
    }

    /// Every variant of every enum a record holds, in the record that holds it.
    fn variants() -> (Vec<Course>, Vec<Program>, Vec<Alert>, Vec<Channel>) {
        let formats = [
            Format::Live,
            Format::Online,
            Format::HomeStudy,
            Format::Academic,
        ];
        let courses = Unit::ALL
            .into_iter()
            .flat_map(|unit| {
                [None]
                    .into_iter()
                    .chain(formats.map(Some))
                    .map(move |format| Course {
                        unit,
                        format,
                        ..course()
                    })
            })
            .collect();
        let programs = vec![
            Program {
                caps: formats
                    .map(|f| Cap {
                        scope: CapScope::Format(f),
                        limit: CapLimit::Percent(100),
                    })
                    .to_vec(),
                uncertain: Vec::new(),
                ..program()
            },
            Program {
                category_minimums: Vec::new(),
                caps: vec![Cap {
                    scope: CapScope::Category(String::new()),
                    limit: CapLimit::Amount(Credits::ZERO),
                }],
                grace_days: 0,
                shares_courses: true,
                accepted_accreditations: Vec::new(),
                sources: Vec::new(),
                notes: String::new(),
                ..program()
            },
            Program {
                caps: Vec::new(),
                ..program()
            },
            rules_program(),
            // Every flag, and "unspecified" next to named ones.
            Program {
                uncertain: RuleField::ALL.to_vec(),
                ..rules_program()
            },
            Program {
                cycle_anchor: CycleAnchor::Birthday,
                dues: Some(Dues {
                    amount_cents: 0,
                    every_months: 1,
                    month_offset: 0,
                }),
                ..rules_program()
            },
        ];
        let marks = [
            Mark::Before(1),
            Mark::ExpiryDay,
            Mark::GraceWeek(1),
            Mark::Lapsed,
        ];
        let states = [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ];
        let alerts = marks
            .into_iter()
            .zip(states.into_iter().cycle())
            .map(|(mark, state)| {
                let mut a = alert();
                a.mark = mark;
                a.deliveries[0].state = state;
                a
            })
            .collect();
        let channels = vec![
            channel(),
            Channel {
                kind: ChannelKind::Email,
                target: "dana@example.org".into(),
                secret: String::new(),
                ..channel()
            },
        ];
        (courses, programs, alerts, channels)
    }

    fn round_trip<T: super::super::keys::Record + PartialEq + Debug>(value: &T) {
        let bytes = encode(value);
        assert_eq!(bytes[0], 2, "{value:?}");
        assert_eq!(bytes.len(), bytes.capacity(), "{value:?}");
        assert_eq!(&decode::<T>(&bytes).unwrap(), value);
    }

    #[test]
    fn every_kind_round_trips_with_every_optional_set_and_unset() {
        round_trip(&holder());
        round_trip(&Holder {
            id: 0,
            name: String::new(),
            email: String::new(),
            time_zone: String::new(),
            hired_on: None,
            competencies: Vec::new(),
        });
        round_trip(&credential());
        round_trip(&closed_credential());
        round_trip(&verified_credential());
        round_trip(&bare_credential());
        round_trip(&course());
        round_trip(&bare_course());
        round_trip(&program());
        round_trip(&alert());
        round_trip(&bare_alert());
        round_trip(&channel());
        round_trip(&settings());
        round_trip(&bare_settings());
        round_trip(&empty_thresholds());
        round_trip(&AlertSettings::default());
        let (courses, programs, alerts, channels) = variants();
        courses.iter().for_each(round_trip);
        programs.iter().for_each(round_trip);
        alerts.iter().for_each(round_trip);
        channels.iter().for_each(round_trip);
    }

    #[test]
    fn extreme_values_round_trip() {
        for day in [Date::MIN, Date::MAX, date(1970, 1, 1), date(1969, 12, 31)] {
            round_trip(&Course {
                completed_on: day,
                ..course()
            });
        }
        round_trip(&Course {
            id: u64::MAX,
            holder_id: u64::MAX,
            amount: Credits(i64::MIN),
            credential_ids: vec![0, u64::MAX],
            ..course()
        });
        round_trip(&Course {
            amount: Credits(i64::MAX),
            ..course()
        });
        let moments = [
            Timestamp::MIN,
            Timestamp::MAX,
            Timestamp::UNIX_EPOCH,
            at("1969-12-31T23:59:59.5Z"),
            at("2027-03-15T14:00:00.000000001Z"),
        ];
        for moment in moments {
            let mut a = alert();
            a.created_at = moment;
            a.deliveries[0].next_attempt_at = Some(moment);
            round_trip(&a);
        }
        for (mark, threshold_days) in [
            (Mark::Before(u32::MAX), i64::MAX),
            (Mark::GraceWeek(u32::MAX), i64::MIN),
        ] {
            round_trip(&Alert {
                mark,
                threshold_days,
                expires_on: Date::MIN,
                due_on: Date::MAX,
                snoozed_until: Some(Date::MIN),
                ..alert()
            });
        }
        round_trip(&Program {
            local_fields: vec![RuleField::UnitHours, RuleField::GraceDays],
            ..program()
        });
        round_trip(&Program {
            cycle_months: u32::MAX,
            unit_hours: Credits(i64::MIN),
            required: Credits(i64::MAX),
            caps: vec![Cap {
                scope: CapScope::Category("x".into()),
                limit: CapLimit::Percent(u32::MAX),
            }],
            ..program()
        });
        round_trip(&Program {
            cycle_anchor: CycleAnchor::Fixed(MonthDay {
                month: i8::MIN,
                day: i8::MAX,
            }),
            ce_window_years_before: u32::MAX,
            first_cycle_per_month: Credits(i64::MIN),
            alternatives: vec![Alternative {
                required: Credits(i64::MAX),
                work_category: String::new(),
                work_hours: Credits(i64::MIN),
            }],
            dues: Some(Dues {
                amount_cents: u32::MAX,
                every_months: u32::MAX,
                month_offset: i32::MIN,
            }),
            ..rules_program()
        });
    }

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    // Format-1 values, produced by `keys::encode` (postcard of the domain structs) at commit
    // faa0746, before format 2 existed, from the samples above. They must keep reading as those
    // samples: if a domain struct gains a field, the sample gains it with the value a format-1
    // record is given for it.
    /// `holder()` in format 1.
    const V1_HOLDER: &str = concat!(
        "01070944616e61205275697a1064616e61406578616d706c652e6f72670f416d",
        "65726963612f4368696361676f",
    );
    /// `credential()` in format 1.
    const V1_CREDENTIAL: &str = concat!(
        "010c07076e68612d637074084350542d30303432010a323032352d30332d3031",
        "0a323032372d30332d303102000a323032332d30332d30310a323032332d3032",
        "2d3230010a323032332d30332d30310a323032352d30332d30310a323032352d",
        "30322d3134",
    );
    /// `bare_credential()` in format 1.
    const V1_BARE_CREDENTIAL: &str = "010d0708617363702d6d6c7300000a313936392d31322d333100";
    /// `course()` in format 1.
    const V1_COURSE: &str = concat!(
        "0128071356656e6970756e6374757265207570646174650f436f756e74792048",
        "6f73706974616c08502e412e432e452e0a323032362d30332d3031ac02000206",
        "7361666574790a70686c65626f746f6d790101020c0d08636572742d383839",
    );
    /// `bare_course()` in format 1.
    const V1_BARE_COURSE: &str = concat!(
        "0129070a4c61622073616665747900000a323032362d30312d31300201000000",
        "00",
    );
    /// `program()` in format 1.
    const V1_PROGRAM: &str = concat!(
        "01096c6f63616c2d637074034e4841274365727469666965642050686c65626f",
        "746f6d7920546563686e696369616e20286c6f63616c2918180d4e4841204345",
        "206372656469749003d00f0106736166657479c80102000a73656c662d737475",
        "64790032010201a0061e000108502e412e432e452e011768747470733a2f2f77",
        "77772e6e68616e6f772e636f6d2f011856657269667920746865206379636c65",
        "206c656e6774682e",
    );
    /// `alert()` in format 1.
    const V1_ALERT: &str = concat!(
        "0103070c076e68612d6370740a323032372d30332d303102021b0a323032372d",
        "30332d3135154e4841204350543a206772616365207765656b203226596f7572",
        "2063726564656e7469616c2065787069726564206f6e20323032372d30332d30",
        "312e000761745f7269736b1e323032372d30332d31355431343a30303a30302e",
        "3132333435363738395a010a323032372d30332d323000010205002068747470",
        "733a2f2f686f6f6b732e6578616d706c652e6f72672f72656365727402084854",
        "545020353033000114323032372d30332d31355431343a30353a30305a060110",
        "64616e61406578616d706c652e6f726701000100",
    );
    /// `bare_alert()` in format 1.
    const V1_BARE_ALERT: &str = concat!(
        "0104070c076e68612d6370740a323032372d30332d3031001e3c0a323032372d",
        "30312d3330104e4841204350543a20333020646179730001036d657414313936",
        "392d30372d32305432303a31373a34305a00010000",
    );
    /// `channel()` in format 1.
    const V1_CHANNEL: &str = concat!(
        "010507002068747470733a2f2f686f6f6b732e6578616d706c652e6f72672f72",
        "656365727406733363726574",
    );
    /// `settings()` in format 1.
    const V1_SETTINGS: &str = "0101033c1e0700";
    /// `bare_settings()` in format 1.
    const V1_BARE_SETTINGS: &str = "010001";
    /// `empty_thresholds()` in format 1.
    const V1_EMPTY_THRESHOLDS: &str = "01010000";

    #[test]
    fn format_1_values_written_before_format_2_still_read() {
        fn reads<T: super::super::keys::Record + PartialEq + Debug>(hex: &str, want: T) {
            let bytes = unhex(hex);
            assert_eq!(bytes[0], 1);
            assert_eq!(decode::<T>(&bytes).unwrap(), want);
        }
        reads(V1_HOLDER, holder());
        reads(V1_CREDENTIAL, credential());
        reads(V1_BARE_CREDENTIAL, bare_credential());
        reads(V1_COURSE, course());
        reads(V1_BARE_COURSE, bare_course());
        reads(V1_PROGRAM, program());
        reads(V1_ALERT, alert());
        reads(V1_BARE_ALERT, bare_alert());
        reads(V1_CHANNEL, channel());
        reads(V1_SETTINGS, settings());
        reads(V1_BARE_SETTINGS, bare_settings());
        reads(V1_EMPTY_THRESHOLDS, empty_thresholds());
    }

    #[test]
    fn format_1_enum_variants_keep_their_positions() {
        // postcard of each domain enum value at commit faa0746: the variant's index, then its
        // payload. The records above hold only some variants; these pin every one.
        fn reads<V: serde::de::DeserializeOwned + Into<T>, T: PartialEq + Debug>(
            cases: &[(&str, T)],
        ) {
            for (hex, want) in cases {
                let got: T = postcard::from_bytes::<V>(&unhex(hex)).unwrap().into();
                assert_eq!(&got, want, "{hex}");
            }
        }
        reads::<legacy_v1::Unit, _>(&[
            ("00", Unit::Hours),
            ("01", Unit::Ceu),
            ("02", Unit::Point),
            ("03", Unit::NhaCredit),
            ("04", Unit::SemesterHour),
            ("05", Unit::QuarterHour),
        ]);
        reads::<legacy_v1::Format, _>(&[
            ("00", Format::Live),
            ("01", Format::Online),
            ("02", Format::HomeStudy),
            ("03", Format::Academic),
        ]);
        reads::<legacy_v1::Confidence, _>(&[
            ("00", Confidence::Confirmed),
            ("01", Confidence::Uncertain),
        ]);
        reads::<legacy_v1::ChannelKind, _>(&[
            ("00", ChannelKind::Webhook),
            ("01", ChannelKind::Email),
        ]);
        reads::<legacy_v1::DeliveryState, _>(&[
            ("00", DeliveryState::Pending),
            ("01", DeliveryState::Delivered),
            ("02", DeliveryState::Failed),
        ]);
        reads::<legacy_v1::Mark, _>(&[
            ("001e", Mark::Before(30)),
            ("01", Mark::ExpiryDay),
            ("0202", Mark::GraceWeek(2)),
            ("03", Mark::Lapsed),
        ]);
        reads::<legacy_v1::CapScope, _>(&[
            ("000178", CapScope::Category("x".into())),
            ("0103", CapScope::Format(Format::Academic)),
        ]);
        reads::<legacy_v1::CapLimit, _>(&[
            ("0032", CapLimit::Percent(50)),
            ("01a006", CapLimit::Amount(Credits(400))),
        ]);
    }

    #[tokio::test]
    async fn a_store_of_format_1_records_reads_them_and_rewrites_them_in_format_2() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let put = |tree: usize, key: &[u8], hex: &str| {
            store.tree(tree).insert(key, unhex(hex)).unwrap();
        };
        put(HOLDERS, &id_key(7), V1_HOLDER);
        put(CREDENTIALS, &id_key(12), V1_CREDENTIAL);
        put(CREDENTIALS, &id_key(13), V1_BARE_CREDENTIAL);
        put(COURSES, &id_key(40), V1_COURSE);
        put(COURSES, &id_key(41), V1_BARE_COURSE);
        put(PROGRAMS, b"local-cpt", V1_PROGRAM);
        put(ALERTS, &id_key(3), V1_ALERT);
        put(ALERTS, &id_key(4), V1_BARE_ALERT);
        put(CHANNELS, &id_key(5), V1_CHANNEL);
        put(ALERT_SETTINGS, b"h/7", V1_SETTINGS);
        // The raw puts skipped the indexes and counters; repair derives them from the records.
        store.repair().unwrap();
        let report = store.check().unwrap();
        assert!(report.ok(), "{:?}", report.problems);

        assert_eq!(store.holder(7).unwrap(), holder());
        assert_eq!(
            store.credentials_of(7).unwrap(),
            [credential(), bare_credential()]
        );
        assert_eq!(store.courses_of(7).unwrap(), [course(), bare_course()]);
        assert_eq!(store.local_program("local-cpt").unwrap(), Some(program()));
        assert_eq!(store.alert(3).unwrap(), alert());
        assert_eq!(store.alert(4).unwrap(), bare_alert());
        assert_eq!(store.channel(5).unwrap(), channel());
        assert_eq!(
            store.alert_settings(&SettingsScope::Holder(7)).unwrap(),
            settings()
        );

        let renamed = store
            .update_holder(
                Holder {
                    name: "Dana R.".into(),
                    ..holder()
                },
                false,
            )
            .await
            .unwrap();
        let raw = store.tree(HOLDERS).get(id_key(7)).unwrap().unwrap();
        assert_eq!(raw[0], 2);
        assert_eq!(store.holder(7).unwrap(), renamed);
        store.close().await.unwrap();
    }

    /// `StoredCourse` as a build before tags 11 and 12 existed would have written it.
    #[derive(Clone, PartialEq, Message)]
    struct CourseBeforeTag11 {
        #[prost(uint64, tag = "1")]
        id: u64,
        #[prost(uint64, tag = "2")]
        holder_id: u64,
        #[prost(string, tag = "3")]
        title: String,
        #[prost(string, tag = "4")]
        provider: String,
        #[prost(string, tag = "5")]
        accreditation: String,
        #[prost(sint32, tag = "6")]
        completed_on: i32,
        #[prost(int64, tag = "7")]
        amount: i64,
        #[prost(enumeration = "StoredUnit", tag = "8")]
        unit: i32,
        #[prost(string, repeated, tag = "9")]
        categories: Vec<String>,
        #[prost(enumeration = "StoredFormat", optional, tag = "10")]
        format: Option<i32>,
    }

    /// `StoredDelivery` as a build before tag 7 existed would have written it.
    #[derive(Clone, PartialEq, Message)]
    struct DeliveryBeforeTag7 {
        #[prost(uint64, tag = "1")]
        channel_id: u64,
        #[prost(enumeration = "StoredChannelKind", tag = "2")]
        kind: i32,
        #[prost(string, tag = "3")]
        target: String,
        #[prost(uint32, tag = "4")]
        attempts: u32,
        #[prost(string, tag = "5")]
        last_error: String,
        #[prost(enumeration = "StoredDeliveryState", tag = "6")]
        state: i32,
    }

    /// `StoredAlert` as a build before tags 15 to 17 existed, and before `StoredDelivery`
    /// had tag 7, would have written it.
    #[derive(Clone, PartialEq, Message)]
    struct AlertBeforeTag15 {
        #[prost(uint64, tag = "1")]
        id: u64,
        #[prost(uint64, tag = "2")]
        holder_id: u64,
        #[prost(uint64, tag = "3")]
        credential_id: u64,
        #[prost(string, tag = "4")]
        program: String,
        #[prost(sint32, tag = "5")]
        expires_on: i32,
        #[prost(enumeration = "StoredMark", tag = "6")]
        mark: i32,
        #[prost(uint32, tag = "7")]
        mark_count: u32,
        #[prost(sint64, tag = "8")]
        threshold_days: i64,
        #[prost(sint32, tag = "9")]
        due_on: i32,
        #[prost(string, tag = "10")]
        title: String,
        #[prost(string, tag = "11")]
        body: String,
        #[prost(bool, tag = "12")]
        met: bool,
        #[prost(string, tag = "13")]
        compliance_status: String,
        #[prost(message, optional, tag = "14")]
        created_at: Option<StoredInstant>,
        #[prost(message, repeated, tag = "18")]
        deliveries: Vec<DeliveryBeforeTag7>,
    }

    fn format_2(message: &impl Message) -> Vec<u8> {
        let mut bytes = vec![2];
        message.encode(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn a_record_written_before_a_field_was_added_still_reads() {
        let c = course();
        let old = CourseBeforeTag11 {
            id: c.id,
            holder_id: c.holder_id,
            title: c.title.clone(),
            provider: c.provider.clone(),
            accreditation: c.accreditation.clone(),
            completed_on: days(c.completed_on),
            amount: c.amount.0,
            unit: StoredUnit::Hours.into(),
            categories: c.categories.clone(),
            format: Some(StoredFormat::Online.into()),
        };
        assert_eq!(
            decode::<Course>(&format_2(&old)).unwrap(),
            Course {
                credential_ids: Vec::new(),
                evidence: String::new(),
                ..course()
            }
        );

        let a = alert();
        let old = AlertBeforeTag15 {
            id: a.id,
            holder_id: a.holder_id,
            credential_id: a.credential_id,
            program: a.program.clone(),
            expires_on: days(a.expires_on),
            mark: StoredMark::GraceWeek.into(),
            mark_count: 2,
            threshold_days: a.threshold_days,
            due_on: days(a.due_on),
            title: a.title.clone(),
            body: a.body.clone(),
            met: a.met,
            compliance_status: a.compliance_status.clone(),
            created_at: Some(a.created_at.into()),
            deliveries: a
                .deliveries
                .iter()
                .map(|d| DeliveryBeforeTag7 {
                    channel_id: d.channel_id,
                    kind: StoredChannelKind::from(d.kind).into(),
                    target: d.target.clone(),
                    attempts: d.attempts,
                    last_error: d.last_error.clone(),
                    state: StoredDeliveryState::from(d.state).into(),
                })
                .collect(),
        };
        let mut want = Alert {
            snoozed_until: None,
            acknowledged: false,
            cancelled: false,
            ..alert()
        };
        for d in &mut want.deliveries {
            d.next_attempt_at = None;
        }
        let decoded = decode::<Alert>(&format_2(&old)).unwrap();
        assert_eq!(decoded, want);
        // Written before subjects existed: about a credential's cycle, keyed as it was.
        assert_eq!(decoded.subject, AlertSubject::Credential);
        assert_eq!(decoded.key(), "cr12/2027-03-01/-14");
        // The current message without its subject tags (19-22) reads the same way.
        let mut current = alert().to_message();
        current.subject = 0;
        assert_eq!(
            decode::<Alert>(&format_2(&current)).unwrap().subject,
            AlertSubject::Credential
        );
    }

    #[test]
    fn every_alert_subject_round_trips_and_keys_apart() {
        let subjects = [
            AlertSubject::Credential,
            AlertSubject::Competency {
                skill: "Glucose / POC".into(),
            },
            AlertSubject::Dues { amount_cents: 5000 },
            AlertSubject::Digest { team_id: 3 },
        ];
        let mut keys = std::collections::HashSet::new();
        for subject in subjects {
            let a = Alert {
                subject: subject.clone(),
                ..alert()
            };
            round_trip(&a);
            assert!(keys.insert(super::super::keys::dedupe_index_key(&a.dedupe_key())));
        }
        let unknown = StoredAlert {
            subject: 9,
            ..alert().to_message()
        };
        let err = decode::<Alert>(&format_2(&unknown)).unwrap_err();
        assert!(err.contains("subject 9"), "{err}");
    }

    /// Per-field flags are stored next to the overall confidence (tag 15) builds before them
    /// read; "uncertain, not saying which" alone is the overall flag with no list, as before.
    #[test]
    fn per_field_flags_keep_the_overall_confidence_older_builds_read() {
        let stored = rules_program().to_message();
        assert_eq!(stored.confidence, StoredConfidence::Uncertain as i32);
        assert_eq!(
            stored.uncertain,
            [
                StoredRuleField::UnitHours as i32,
                StoredRuleField::GraceDays as i32
            ]
        );
        let confirmed = Program {
            uncertain: Vec::new(),
            ..rules_program()
        }
        .to_message();
        assert_eq!(confirmed.confidence, StoredConfidence::Confirmed as i32);
        assert!(confirmed.uncertain.is_empty());
        let unspecified = program().to_message();
        assert_eq!(unspecified.confidence, StoredConfidence::Uncertain as i32);
        assert!(unspecified.uncertain.is_empty());

        // A flag a later build knows and this one does not still says "uncertain".
        let mut later = rules_program().to_message();
        later.uncertain = vec![StoredRuleField::Dues as i32, 99];
        assert_eq!(
            decode::<Program>(&format_2(&later)).unwrap().uncertain,
            [RuleField::Dues, RuleField::Unspecified]
        );
    }

    /// `StoredProgram` as a build before tags 17 to 26 wrote it.
    #[test]
    fn a_program_written_before_the_newer_rules_reads_with_them_at_their_defaults() {
        let mut old = rules_program().to_message();
        old.uncertain = Vec::new();
        old.cycle_anchor = None;
        old.ce_window_years_before = 0;
        old.first_cycle_per_month = 0;
        old.exclusive_categories = false;
        old.activity_limits = Vec::new();
        old.alternatives = Vec::new();
        old.accreditation_minimums = Vec::new();
        old.accreditation_required = false;
        old.dues = None;
        // Tags 1 to 16 only: exactly the bytes of the format-2 sample written before them.
        assert_eq!(format_2(&old), format_2(&program().to_message()));
        assert_eq!(decode::<Program>(&format_2(&old)).unwrap(), program());
    }

    /// `StoredAlertSettings` as a later build might write it, with a field of its own at
    /// each level.
    #[derive(Clone, PartialEq, Message)]
    struct LaterSettings {
        #[prost(message, optional, tag = "1")]
        thresholds: Option<LaterThresholds>,
        #[prost(bool, tag = "2")]
        muted: bool,
        #[prost(string, tag = "3")]
        quiet_hours: String,
    }

    #[derive(Clone, PartialEq, Message)]
    struct LaterThresholds {
        #[prost(uint32, repeated, tag = "1")]
        days: Vec<u32>,
        #[prost(uint32, tag = "2")]
        repeat_every: u32,
    }

    #[test]
    fn a_record_written_with_fields_this_build_does_not_know_still_reads() {
        let mut bytes = encode(&course());
        prost::encoding::uint64::encode(99, &5, &mut bytes);
        prost::encoding::string::encode(100, &"later".to_string(), &mut bytes);
        prost::encoding::fixed64::encode(101, &7, &mut bytes);
        prost::encoding::fixed32::encode(102, &9, &mut bytes);
        prost::encoding::message::encode(103, &StoredInstant::default(), &mut bytes);
        assert_eq!(decode::<Course>(&bytes).unwrap(), course());

        let later = LaterSettings {
            thresholds: Some(LaterThresholds {
                days: vec![60, 30, 7],
                repeat_every: 3,
            }),
            muted: false,
            quiet_hours: "22-07".into(),
        };
        assert_eq!(
            decode::<AlertSettings>(&format_2(&later)).unwrap(),
            settings()
        );
    }

    fn error<T: super::super::keys::Record + Debug>(bytes: &[u8]) -> String {
        decode::<T>(bytes).unwrap_err()
    }

    #[test]
    fn values_no_record_has_are_errors_that_name_the_kind() {
        assert_eq!(error::<Course>(&[]), "course record is empty");
        assert_eq!(
            error::<Course>(&[9, 1, 2]),
            "course record has unknown format version 9"
        );
        let mut c = course().to_message();
        c.unit = 9;
        assert_eq!(
            error::<Course>(&format_2(&c)),
            "course record does not decode: unit 9 is not a known value"
        );
        c.unit = 0;
        assert_eq!(
            error::<Course>(&format_2(&c)),
            "course record does not decode: unit is missing"
        );
        let mut c = course().to_message();
        c.format = Some(0);
        assert!(error::<Course>(&format_2(&c)).contains("format is missing"));
        c.format = Some(-1);
        assert!(error::<Course>(&format_2(&c)).contains("format -1 is not a known value"));
        let mut c = course().to_message();
        c.completed_on = i32::MAX;
        assert_eq!(
            error::<Course>(&format_2(&c)),
            "course record does not decode: completed_on 2147483647 (days since 1970-01-01) is not a date"
        );

        let mut a = alert().to_message();
        a.created_at = None;
        assert_eq!(
            error::<Alert>(&format_2(&a)),
            "alert record does not decode: created_at is missing"
        );
        let mut a = alert().to_message();
        a.created_at = Some(StoredInstant {
            seconds: 1,
            nanos: 1_000_000_000,
        });
        assert!(error::<Alert>(&format_2(&a)).contains("created_at 1s 1000000000ns"));
        let mut a = alert().to_message();
        a.mark = 5;
        assert!(error::<Alert>(&format_2(&a)).contains("mark 5 is not a known value"));
        let mut a = alert().to_message();
        a.deliveries[1].state = 0;
        assert!(error::<Alert>(&format_2(&a)).contains("deliveries.state is missing"));
        a.deliveries[1].state = 1;
        a.deliveries[1].kind = 3;
        assert!(error::<Alert>(&format_2(&a)).contains("deliveries.kind 3"));
        let mut a = alert().to_message();
        a.deliveries[0].next_attempt_at = Some(StoredInstant {
            seconds: i64::MAX,
            nanos: 0,
        });
        assert!(error::<Alert>(&format_2(&a)).contains("deliveries.next_attempt_at"));

        let mut p = program().to_message();
        p.caps[0].scope = None;
        assert!(error::<Program>(&format_2(&p)).contains("caps.scope is missing"));
        let mut p = program().to_message();
        p.caps[1].limit = None;
        assert!(error::<Program>(&format_2(&p)).contains("caps.limit is missing"));
        let mut p = program().to_message();
        p.caps[1].scope = Some(StoredCapScope::Format(7));
        assert!(error::<Program>(&format_2(&p)).contains("caps.scope.format 7"));
        let mut p = program().to_message();
        p.confidence = 0;
        assert!(error::<Program>(&format_2(&p)).contains("confidence is missing"));
        let mut p = rules_program().to_message();
        p.activity_limits[0].scope = None;
        assert!(error::<Program>(&format_2(&p)).contains("activity_limits.scope is missing"));
        let mut p = rules_program().to_message();
        p.activity_limits[1].scope = Some(StoredCapScope::Format(9));
        assert!(error::<Program>(&format_2(&p)).contains("activity_limits.scope.format 9"));
        let mut p = rules_program().to_message();
        p.cycle_anchor = Some(StoredCycleAnchor {
            anchor: Some(StoredAnchor::Fixed(StoredMonthDay { month: 300, day: 1 })),
        });
        assert!(error::<Program>(&format_2(&p)).contains("cycle_anchor.month 300"));

        let mut ch = channel().to_message();
        ch.kind = 0;
        assert!(error::<Channel>(&format_2(&ch)).contains("channel record does not decode"));
        let mut cr = credential().to_message();
        cr.history[0].renewed_on = i32::MIN;
        assert!(error::<Credential>(&format_2(&cr)).contains("history.renewed_on"));

        let not_utf8 = [2, 0x12, 2, 0xff, 0xfe];
        assert!(error::<Holder>(&not_utf8).starts_with("holder record does not decode: "));
        assert!(
            error::<Holder>(&[2, 0xff, 0xff, 0xff]).starts_with("holder record does not decode")
        );
        assert!(error::<Holder>(&[1, 7]).starts_with("holder record does not decode: format 1"));
    }

    /// Decodes every prefix of `bytes`: none may panic, and cutting its last byte, which always
    /// leaves a field unfinished, is an error.
    fn cut<T: super::super::keys::Record + Debug>(bytes: &[u8]) {
        for len in 0..bytes.len() {
            let _ = decode::<T>(&bytes[..len]);
        }
        assert!(decode::<T>(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode::<T>(bytes).is_ok());
    }

    #[test]
    fn truncated_values_are_errors_not_panics() {
        cut::<Holder>(&encode(&holder()));
        cut::<Credential>(&encode(&credential()));
        cut::<Course>(&encode(&course()));
        cut::<Course>(&encode(&bare_course()));
        cut::<Program>(&encode(&program()));
        cut::<Program>(&encode(&rules_program()));
        cut::<Alert>(&encode(&alert()));
        cut::<Channel>(&encode(&channel()));
        cut::<AlertSettings>(&encode(&settings()));
        cut::<AlertSettings>(&encode(&bare_settings()));
        for (hex, all_prefixes) in [
            (V1_HOLDER, cut::<Holder> as fn(&[u8])),
            (V1_CREDENTIAL, cut::<Credential>),
            (V1_COURSE, cut::<Course>),
            (V1_PROGRAM, cut::<Program>),
            (V1_ALERT, cut::<Alert>),
            (V1_CHANNEL, cut::<Channel>),
            (V1_SETTINGS, cut::<AlertSettings>),
        ] {
            all_prefixes(&unhex(hex));
        }
        // postcard is positional: every strict prefix of a format-1 value is an error.
        let v1 = unhex(V1_ALERT);
        for len in 0..v1.len() {
            assert!(decode::<Alert>(&v1[..len]).is_err(), "{len}");
        }
    }

    // Format-2 values as the first build that wrote format 2 wrote them, from the samples
    // above. They stand for records already on disk, so they must keep reading as those samples
    // whatever the messages become; and this build still writes exactly these bytes, which
    // catches a renumbered tag or a changed field type, which a round trip cannot. (The typical
    // `course()` is 98 bytes here against 95 in format 1.)
    /// `holder()` in format 2.
    const V2_HOLDER: &str = concat!(
        "020807120944616e61205275697a1a1064616e61406578616d706c652e6f7267",
        "220f416d65726963612f4368696361676f",
    );
    /// `credential()` in format 2.
    const V2_CREDENTIAL: &str = concat!(
        "02080c10071a076e68612d63707422084350542d3030343228e8ba02309cc602",
        "3a0810b2af0218a0af023a0c08b2af0210e8ba0218caba02",
    );
    /// `bare_credential()` in format 2.
    const V2_BARE_CREDENTIAL: &str = "02080d10071a08617363702d6d6c733001";
    /// `course()` in format 2.
    const V2_COURSE: &str = concat!(
        "02082810071a1356656e6970756e637475726520757064617465220f436f756e",
        "747920486f73706974616c2a08502e412e432e452e30c2c00238960140014a06",
        "7361666574794a0a70686c65626f746f6d7950025a020c0d6208636572742d38",
        "3839",
    );
    /// `bare_course()` in format 2.
    const V2_BARE_COURSE: &str = "02082910071a0a4c61622073616665747930debf0238014002";
    /// `program()` in format 2.
    const V2_PROGRAM: &str = concat!(
        "020a096c6f63616c2d63707412034e48411a274365727469666965642050686c",
        "65626f746f6d7920546563686e696369616e20286c6f63616c2920182818320d",
        "4e48412043452063726564697438c80140e8074a0a0a06736166657479106452",
        "0e0a0a73656c662d7374756479183252051003209003581e6a08502e412e432e",
        "452e721768747470733a2f2f7777772e6e68616e6f772e636f6d2f7802820118",
        "56657269667920746865206379636c65206c656e6774682e",
    );
    /// `alert()` in format 2.
    const V2_ALERT: &str = concat!(
        "0208031007180c22076e68612d637074289cc60230033802401b48b8c6025215",
        "4e4841204350543a206772616365207765656b20325a26596f75722063726564",
        "656e7469616c2065787069726564206f6e20323032372d30332d30312e6a0761",
        "745f7269736b720b08c0bbbfb90d10aab4de7578c2c60288010192013c080510",
        "011a2068747470733a2f2f686f6f6b732e6578616d706c652e6f72672f726563",
        "65727420022a08485454502035303330013a060898c0bfb90d92011a08061002",
        "1a1064616e61406578616d706c652e6f726720013002",
    );
    /// `bare_alert()` in format 2.
    const V2_BARE_ALERT: &str = concat!(
        "0208041007180c22076e68612d637074289cc6023001381e403c48e0c5025210",
        "4e4841204350543a203330206461797360016a036d6574720508b7a8c30d8001",
        "01",
    );
    /// `channel()` in format 2.
    const V2_CHANNEL: &str = concat!(
        "02080510071801222068747470733a2f2f686f6f6b732e6578616d706c652e6f",
        "72672f7265636572742a06733363726574",
    );
    /// `settings()` in format 2.
    const V2_SETTINGS: &str = "020a050a033c1e07";
    /// `bare_settings()` in format 2.
    const V2_BARE_SETTINGS: &str = "021001";
    /// `empty_thresholds()` in format 2.
    const V2_EMPTY_THRESHOLDS: &str = "020a00";

    #[test]
    fn format_2_values_keep_reading_and_are_still_written_byte_for_byte() {
        fn reads<T: super::super::keys::Record + PartialEq + Debug>(hex: &str, want: T) {
            let bytes = unhex(hex);
            assert_eq!(decode::<T>(&bytes).unwrap(), want);
            assert_eq!(encode(&want), bytes, "{want:?}");
        }
        reads(V2_HOLDER, holder());
        reads(V2_CREDENTIAL, credential());
        reads(V2_BARE_CREDENTIAL, bare_credential());
        reads(V2_COURSE, course());
        reads(V2_BARE_COURSE, bare_course());
        reads(V2_PROGRAM, program());
        reads(V2_ALERT, alert());
        reads(V2_BARE_ALERT, bare_alert());
        reads(V2_CHANNEL, channel());
        reads(V2_SETTINGS, settings());
        reads(V2_BARE_SETTINGS, bare_settings());
        reads(V2_EMPTY_THRESHOLDS, empty_thresholds());
    }
}

// ---- Tokens and teams (format 2 only) ----

/// The format-1 layout of a kind that format 1 never had: nothing decodes as it.
#[derive(serde::Deserialize)]
pub(crate) enum NeverV1 {}

impl From<NeverV1> for Token {
    fn from(never: NeverV1) -> Self {
        match never {}
    }
}

impl From<NeverV1> for Team {
    fn from(never: NeverV1) -> Self {
        match never {}
    }
}

/// Stored numbers of a [`Role`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
enum StoredRole {
    Unset = 0,
    Admin = 1,
    Supervisor = 2,
    Holder = 3,
}

/// Storage message of a [`Token`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredToken {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(enumeration = "StoredRole", tag = "3")]
    role: i32,
    #[prost(uint64, optional, tag = "4")]
    holder_id: Option<u64>,
    #[prost(bytes = "vec", tag = "5")]
    hash: Vec<u8>,
    #[prost(message, optional, tag = "6")]
    created_at: Option<StoredInstant>,
    #[prost(message, optional, tag = "7")]
    expires_at: Option<StoredInstant>,
    #[prost(message, optional, tag = "8")]
    revoked_at: Option<StoredInstant>,
}

impl Stored for Token {
    type Message = StoredToken;
    type V1 = NeverV1;

    fn to_message(&self) -> StoredToken {
        let Token {
            id,
            name,
            role,
            holder_id,
            hash,
            created_at,
            expires_at,
            revoked_at,
        } = self;
        StoredToken {
            id: *id,
            name: name.clone(),
            role: match role {
                Role::Admin => StoredRole::Admin,
                Role::Supervisor => StoredRole::Supervisor,
                Role::Holder => StoredRole::Holder,
            }
            .into(),
            holder_id: *holder_id,
            hash: hash.to_vec(),
            created_at: Some((*created_at).into()),
            expires_at: expires_at.map(Into::into),
            revoked_at: revoked_at.map(Into::into),
        }
    }

    fn from_message(message: StoredToken) -> Result<Self, Invalid> {
        let StoredToken {
            id,
            name,
            role,
            holder_id,
            hash,
            created_at,
            expires_at,
            revoked_at,
        } = message;
        Ok(Token {
            id,
            name,
            role: match known("role", role)? {
                StoredRole::Unset => return Err(Invalid::Missing("role")),
                StoredRole::Admin => Role::Admin,
                StoredRole::Supervisor => Role::Supervisor,
                StoredRole::Holder => Role::Holder,
            },
            holder_id,
            hash: hash.try_into().map_err(|_| Invalid::Missing("hash"))?,
            created_at: instant(
                "created_at",
                created_at.ok_or(Invalid::Missing("created_at"))?,
            )?,
            expires_at: expires_at.map(|at| instant("expires_at", at)).transpose()?,
            revoked_at: revoked_at.map(|at| instant("revoked_at", at)).transpose()?,
        })
    }
}

/// Storage message of a [`Team`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredTeam {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(uint64, repeated, tag = "3")]
    members: Vec<u64>,
    #[prost(uint64, repeated, tag = "4")]
    leads: Vec<u64>,
}

impl Stored for Team {
    type Message = StoredTeam;
    type V1 = NeverV1;

    fn to_message(&self) -> StoredTeam {
        let Team {
            id,
            name,
            members,
            leads,
        } = self;
        StoredTeam {
            id: *id,
            name: name.clone(),
            members: members.clone(),
            leads: leads.clone(),
        }
    }

    fn from_message(message: StoredTeam) -> Result<Self, Invalid> {
        let StoredTeam {
            id,
            name,
            members,
            leads,
        } = message;
        Ok(Team {
            id,
            name,
            members,
            leads,
        })
    }
}

// ---- Competency programs (format 2 only) ----

impl From<NeverV1> for CompetencyProgram {
    fn from(never: NeverV1) -> Self {
        match never {}
    }
}

/// Storage message of a lab's [`CompetencyProgram`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredCompetencyProgram {
    #[prost(string, tag = "1")]
    slug: String,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, repeated, tag = "3")]
    elements: Vec<String>,
    #[prost(uint32, repeated, tag = "4")]
    initial_months: Vec<u32>,
    #[prost(uint32, tag = "5")]
    every_months: u32,
    #[prost(uint32, tag = "6")]
    remediate_days: u32,
    #[prost(string, repeated, tag = "7")]
    sources: Vec<String>,
    #[prost(string, tag = "8")]
    notes: String,
}

impl Stored for CompetencyProgram {
    type Message = StoredCompetencyProgram;
    type V1 = NeverV1;

    fn to_message(&self) -> StoredCompetencyProgram {
        let CompetencyProgram {
            slug,
            name,
            elements,
            initial_months,
            every_months,
            remediate_days,
            sources,
            notes,
        } = self;
        StoredCompetencyProgram {
            slug: slug.clone(),
            name: name.clone(),
            elements: elements.clone(),
            initial_months: initial_months.clone(),
            every_months: *every_months,
            remediate_days: *remediate_days,
            sources: sources.clone(),
            notes: notes.clone(),
        }
    }

    fn from_message(message: StoredCompetencyProgram) -> Result<Self, Invalid> {
        let StoredCompetencyProgram {
            slug,
            name,
            elements,
            initial_months,
            every_months,
            remediate_days,
            sources,
            notes,
        } = message;
        if slug.is_empty() {
            return Err(Invalid::Missing("competency program slug"));
        }
        Ok(CompetencyProgram {
            slug,
            name,
            elements,
            initial_months,
            every_months,
            remediate_days,
            sources,
            notes,
        })
    }
}

// ---- History entries (format 2 only) ----

impl From<NeverV1> for HistoryEntry {
    fn from(never: NeverV1) -> Self {
        match never {}
    }
}

/// Storage message of a [`HistoryEntry`].
#[derive(Clone, PartialEq, Message)]
pub(crate) struct StoredHistoryEntry {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(message, optional, tag = "2")]
    at: Option<StoredInstant>,
    #[prost(uint64, optional, tag = "3")]
    token_id: Option<u64>,
    #[prost(string, tag = "4")]
    actor: String,
    #[prost(string, tag = "5")]
    action: String,
    #[prost(string, tag = "6")]
    kind: String,
    #[prost(string, tag = "7")]
    record: String,
    #[prost(uint64, optional, tag = "8")]
    holder_id: Option<u64>,
    #[prost(string, optional, tag = "9")]
    before: Option<String>,
    #[prost(string, optional, tag = "10")]
    after: Option<String>,
}

impl Stored for HistoryEntry {
    type Message = StoredHistoryEntry;
    type V1 = NeverV1;

    fn to_message(&self) -> StoredHistoryEntry {
        let HistoryEntry {
            id,
            at,
            token_id,
            actor,
            action,
            kind,
            record,
            holder_id,
            before,
            after,
        } = self;
        StoredHistoryEntry {
            id: *id,
            at: Some((*at).into()),
            token_id: *token_id,
            actor: actor.clone(),
            action: action.clone(),
            kind: kind.clone(),
            record: record.clone(),
            holder_id: *holder_id,
            before: before.clone(),
            after: after.clone(),
        }
    }

    fn from_message(message: StoredHistoryEntry) -> Result<Self, Invalid> {
        let StoredHistoryEntry {
            id,
            at,
            token_id,
            actor,
            action,
            kind,
            record,
            holder_id,
            before,
            after,
        } = message;
        Ok(HistoryEntry {
            id,
            at: instant("at", at.ok_or(Invalid::Missing("at"))?)?,
            token_id,
            actor,
            action,
            kind,
            record,
            holder_id,
            before,
            after,
        })
    }
}
