//! Conversions between `recert.v1` course messages and the domain.

use super::super::{ApiError, ApiResult};
use super::{categories, credential_ids, date, format, holder_ref, id, optional_date, unit};
use crate::domain::{Course, Credits, IdKind};
use crate::service::{CoursePatch, NewCourse};
use recert_proto::v1 as pb;

impl From<&Course> for pb::Course {
    fn from(c: &Course) -> Self {
        pb::Course {
            id: IdKind::Course.format(c.id),
            holder_id: IdKind::Holder.format(c.holder_id),
            title: c.title.clone(),
            provider: c.provider.clone(),
            accreditation: c.accreditation.clone(),
            completed_on: c.completed_on.to_string(),
            credits_hundredths: c.amount.0,
            unit: c.unit.name().to_string(),
            hours_hundredths: c.hours().0,
            categories: c.categories.clone(),
            format: c.format.map(|f| f.name().to_string()).unwrap_or_default(),
            credential_ids: c
                .credential_ids
                .iter()
                .map(|&id| IdKind::Credential.format(id))
                .collect(),
            evidence: c.evidence.clone(),
        }
    }
}

/// A course to log, parsed and trimmed; an empty date is left to the service (the holder's
/// today).
impl TryFrom<pb::Course> for NewCourse {
    type Error = ApiError;

    fn try_from(c: pb::Course) -> ApiResult<NewCourse> {
        Ok(NewCourse {
            holder: holder_ref("course.holder_id", &c.holder_id)?,
            title: c.title.trim().to_string(),
            provider: c.provider.trim().to_string(),
            accreditation: c.accreditation.trim().to_string(),
            completed_on: optional_date("course.completed_on", &c.completed_on)?,
            amount: Credits(c.credits_hundredths),
            unit: unit("course.unit", &c.unit)?,
            categories: categories(&c.categories),
            format: format("course.format", &c.format)?,
            credential_ids: credential_ids("course.credential_ids", &c.credential_ids)?,
            evidence: c.evidence.trim().to_string(),
            allow_duplicate: false,
        })
    }
}

/// The course an update names, and the changes.
pub fn course_update(req: pb::UpdateCourseRequest) -> ApiResult<(u64, CoursePatch)> {
    let trimmed = |v: Option<String>| v.map(|v| v.trim().to_string());
    Ok((
        id(IdKind::Course, "id", &req.id)?,
        CoursePatch {
            title: trimmed(req.title),
            provider: trimmed(req.provider),
            accreditation: trimmed(req.accreditation),
            completed_on: req
                .completed_on
                .map(|v| date("completed_on", &v))
                .transpose()?,
            amount: req.credits_hundredths.map(Credits),
            unit: req.unit.map(|v| unit("unit", &v)).transpose()?,
            categories: req.set_categories.then(|| categories(&req.categories)),
            format: req.format.map(|v| format("format", &v)).transpose()?,
            credential_ids: if req.set_credential_ids {
                Some(credential_ids("credential_ids", &req.credential_ids)?)
            } else {
                None
            },
            evidence: trimmed(req.evidence),
        },
    ))
}
