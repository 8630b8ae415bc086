//! Conversions between `recert.v1` credential messages and the domain.

use super::super::{ApiError, ApiResult};
use super::{date, holder_ref, id, optional_date};
use crate::domain::{Credential, IdKind, PastCycle, Verification, VerificationResult};
use crate::service::{CredentialPatch, NewCredential, NewVerification, Renewal};
use jiff::civil::Date;
use recert_proto::v1 as pb;

fn date_string(d: Option<Date>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

impl From<&Credential> for pb::Credential {
    fn from(c: &Credential) -> Self {
        pb::Credential {
            id: IdKind::Credential.format(c.id),
            holder_id: IdKind::Holder.format(c.holder_id),
            program: c.program.clone(),
            number: c.number.clone(),
            issued_on: date_string(c.issued_on),
            expires_on: c.expires_on.to_string(),
            history: c
                .history
                .iter()
                .map(|h: &PastCycle| pb::PastCycle {
                    issued_on: date_string(h.issued_on),
                    expires_on: h.expires_on.to_string(),
                    renewed_on: h.renewed_on.to_string(),
                    outcome: h.outcome.as_ref().map(|o| pb::CycleOutcome {
                        window_start: o.window_start.to_string(),
                        ends_on: o.ends_on.to_string(),
                        unit: o.unit_name.clone(),
                        required_hundredths: o.required.0,
                        earned_hundredths: o.earned.0,
                        categories: o
                            .categories
                            .iter()
                            .map(|p| pb::CategoryProgress {
                                category: p.category.clone(),
                                required_hundredths: p.required.0,
                                earned_hundredths: p.earned.0,
                            })
                            .collect(),
                        status: pb::ComplianceStatus::from(o.status).into(),
                        counted: o.counted.iter().map(Into::into).collect(),
                    }),
                })
                .collect(),
            last_verification: c.last_verification().map(pb::Verification::from),
            verified: c.verified(),
        }
    }
}

impl From<&Verification> for pb::Verification {
    fn from(v: &Verification) -> Self {
        pb::Verification {
            result: v.result.name().into(),
            source: v.source.clone(),
            checked_by: v.checked_by.clone(),
            checked_on: v.checked_on.to_string(),
            cycle_expires_on: v.cycle_expires_on.to_string(),
        }
    }
}

/// The credential a verification names, and what was seen.
pub fn verification(req: &pb::VerifyCredentialRequest) -> ApiResult<(u64, NewVerification)> {
    let id = id(IdKind::Credential, "id", &req.id)?;
    let result = VerificationResult::parse(&req.result).ok_or_else(|| {
        ApiError::invalid(
            "result",
            format!(
                "result {:?} is not one of active, not-found, expired, mismatch",
                req.result.trim()
            ),
        )
    })?;
    let by = req.checked_by.trim();
    Ok((
        id,
        NewVerification {
            result,
            source: req.source.trim().to_string(),
            by: (!by.is_empty()).then(|| by.to_string()),
            on: optional_date("checked_on", &req.checked_on)?,
        },
    ))
}

/// A credential to create, parsed and trimmed; the program is required.
impl TryFrom<pb::Credential> for NewCredential {
    type Error = ApiError;

    fn try_from(c: pb::Credential) -> ApiResult<NewCredential> {
        let holder = holder_ref("credential.holder_id", &c.holder_id)?;
        let program = c.program.trim();
        if program.is_empty() {
            return Err(ApiError::invalid(
                "credential.program",
                "credential.program is required",
            ));
        }
        Ok(NewCredential {
            holder,
            program: program.to_string(),
            number: c.number.trim().to_string(),
            issued_on: optional_date("credential.issued_on", &c.issued_on)?,
            expires_on: date("credential.expires_on", &c.expires_on)?,
        })
    }
}

/// The credential an update names, and the changes.
pub fn credential_update(req: pb::UpdateCredentialRequest) -> ApiResult<(u64, CredentialPatch)> {
    Ok((
        id(IdKind::Credential, "id", &req.id)?,
        CredentialPatch {
            number: req.number.map(|n| n.trim().to_string()),
            issued_on: req
                .issued_on
                .map(|d| optional_date("issued_on", &d))
                .transpose()?,
            expires_on: req.expires_on.map(|d| date("expires_on", &d)).transpose()?,
        },
    ))
}

/// The credential a renewal names, and its dates (empty ones are the defaults).
pub fn renewal(req: &pb::RenewCredentialRequest) -> ApiResult<(u64, Renewal)> {
    Ok((
        id(IdKind::Credential, "id", &req.id)?,
        Renewal {
            renewed_on: optional_date("renewed_on", &req.renewed_on)?,
            expires_on: optional_date("expires_on", &req.expires_on)?,
            force: req.force,
        },
    ))
}
