//! Conversions between `recert.v1` compliance messages and the domain: compliance answers,
//! statuses, deadlines, and the deadline window of a request.

use crate::api::{ApiError, ApiResult};
use crate::domain::{CountedCourse, IdKind, Status};
use crate::service::TeamRow;
use crate::service::compliance::{CredentialCompliance, Deadline};
use recert_proto::v1 as pb;

/// The deadline window when a request leaves it at 0.
const DEFAULT_WITHIN_DAYS: i64 = 90;
/// The widest deadline window a request may ask for (ten years and change).
const MAX_WITHIN_DAYS: i32 = 3660;

impl From<Status> for pb::ComplianceStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Met => pb::ComplianceStatus::Met,
            Status::OnTrack => pb::ComplianceStatus::OnTrack,
            Status::AtRisk => pb::ComplianceStatus::AtRisk,
            Status::InGrace => pb::ComplianceStatus::InGrace,
            Status::Expired => pb::ComplianceStatus::Expired,
        }
    }
}

impl From<&CountedCourse> for pb::CountedCourse {
    fn from(c: &CountedCourse) -> Self {
        pb::CountedCourse {
            course_id: IdKind::Course.format(c.course_id),
            amount_hundredths: c.amount.0,
            capped: c.capped,
        }
    }
}

impl From<&CredentialCompliance> for pb::Compliance {
    fn from(row: &CredentialCompliance) -> Self {
        let (c, program) = (&row.compliance, &row.program);
        pb::Compliance {
            credential_id: IdKind::Credential.format(c.credential_id),
            holder_id: IdKind::Holder.format(row.holder_id),
            program: c.program.clone(),
            program_name: program.name.clone(),
            unit: program.unit_name.clone(),
            expires_on: c.expires_on.to_string(),
            window_start: c.window_start.to_string(),
            required_hundredths: c.required.0,
            earned_hundredths: c.earned.0,
            remaining_hundredths: c.remaining.0,
            categories: c
                .categories
                .iter()
                .map(|p| pb::CategoryProgress {
                    category: p.category.clone(),
                    required_hundredths: p.required.0,
                    earned_hundredths: p.earned.0,
                })
                .collect(),
            days_left: c.days_left,
            status: pb::ComplianceStatus::from(c.status).into(),
            as_of: c.as_of.to_string(),
            caution: program.caution().unwrap_or_default(),
            counted: c.counted.iter().map(Into::into).collect(),
            // The counted ids are the CE courses of `counted`, then the work hours.
            counted_work_ids: c
                .counted_course_ids
                .get(c.counted.len()..)
                .unwrap_or_default()
                .iter()
                .map(|&id| IdKind::Course.format(id))
                .collect(),
            not_counted: c
                .not_counted
                .iter()
                .map(|n| pb::NotCountedCourse {
                    course_id: IdKind::Course.format(n.course_id),
                    reason: n.reason.name().into(),
                    detail: n.detail.clone(),
                })
                .collect(),
            status_reason: c.reason.clone(),
        }
    }
}

impl From<&Deadline> for pb::Deadline {
    fn from(d: &Deadline) -> Self {
        pb::Deadline {
            credential_id: IdKind::Credential.format(d.credential.id),
            holder_id: IdKind::Holder.format(d.credential.holder_id),
            holder_name: d.holder_name.clone(),
            program: d.credential.program.clone(),
            expires_on: d
                .dues
                .map_or(d.credential.expires_on, |x| x.due_on)
                .to_string(),
            days_left: d.dues.map_or(d.compliance.days_left, |x| x.days_left),
            status: pb::ComplianceStatus::from(d.compliance.status).into(),
            unit: d.program.unit_name.clone(),
            remaining_hundredths: if d.dues.is_some() {
                0
            } else {
                d.compliance.remaining.0
            },
            kind: if d.dues.is_some() { "dues" } else { "expiry" }.to_string(),
            dues_amount_cents: d.dues.map_or(0, |x| x.amount_cents),
            dues_every_months: d
                .dues
                .and_then(|_| d.program.dues.map(|x| x.every_months))
                .unwrap_or(0),
        }
    }
}

impl From<&TeamRow> for pb::TeamStatusRow {
    fn from(row: &TeamRow) -> Self {
        let c = row.compliance();
        pb::TeamStatusRow {
            holder_id: IdKind::Holder.format(row.holder.id),
            holder_name: row.holder.name.clone(),
            credential_id: IdKind::Credential.format(row.credential().id),
            program: row.credential().program.clone(),
            unit: row.program().unit_name.clone(),
            expires_on: c.expires_on.to_string(),
            days_left: c.days_left,
            required_hundredths: c.required.0,
            earned_hundredths: c.earned.0,
            remaining_hundredths: c.remaining.0,
            categories: c
                .categories
                .iter()
                .map(|p| pb::CategoryProgress {
                    category: p.category.clone(),
                    required_hundredths: p.required.0,
                    earned_hundredths: p.earned.0,
                })
                .collect(),
            status: pb::ComplianceStatus::from(c.status).into(),
            status_reason: c.reason.clone(),
            as_of: c.as_of.to_string(),
            last_verified_on: row
                .credential()
                .last_verification()
                .map(|v| v.checked_on.to_string())
                .unwrap_or_default(),
            unverified: !row.credential().verified(),
        }
    }
}

/// Parses the statuses a request filters by; an unknown or unspecified one is refused.
pub fn statuses(field: &str, values: &[i32]) -> ApiResult<Vec<Status>> {
    values
        .iter()
        .map(|&v| match pb::ComplianceStatus::try_from(v) {
            Ok(pb::ComplianceStatus::Met) => Ok(Status::Met),
            Ok(pb::ComplianceStatus::OnTrack) => Ok(Status::OnTrack),
            Ok(pb::ComplianceStatus::AtRisk) => Ok(Status::AtRisk),
            Ok(pb::ComplianceStatus::InGrace) => Ok(Status::InGrace),
            Ok(pb::ComplianceStatus::Expired) => Ok(Status::Expired),
            _ => Err(ApiError::invalid(
                field,
                format!("{field} holds {v}, which is not a compliance status"),
            )),
        })
        .collect()
}

/// Checks a board's window: 0 means no limit.
pub fn team_within_days(value: i32) -> ApiResult<Option<i64>> {
    match value {
        0 => Ok(None),
        d @ 1..=MAX_WITHIN_DAYS => Ok(Some(i64::from(d))),
        _ => Err(ApiError::invalid(
            "within_days",
            "within_days must be between 0 and 3660",
        )),
    }
}

/// Checks a deadline window: 0 means the default of 90 days.
pub fn within_days(value: i32) -> ApiResult<i64> {
    match value {
        0 => Ok(DEFAULT_WITHIN_DAYS),
        d @ 1..=MAX_WITHIN_DAYS => Ok(i64::from(d)),
        _ => Err(ApiError::invalid(
            "within_days",
            "within_days must be between 0 and 3660",
        )),
    }
}
