//! Conversions between `recert.v1` holder messages and the domain.

use super::super::ApiResult;
use super::holder_ref;
use crate::domain::IdKind;
use crate::service::{HolderEntry, HolderPatch, HolderRef, NewHolder};
use recert_proto::v1 as pb;

impl From<&HolderEntry> for pb::Holder {
    fn from(entry: &HolderEntry) -> Self {
        let h = &entry.holder;
        pb::Holder {
            id: IdKind::Holder.format(h.id),
            name: h.name.clone(),
            email: h.email.clone(),
            time_zone: h.time_zone.clone(),
            is_default: entry.is_default,
            hired_on: h.hired_on.map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

/// A holder to create, trimmed; an empty time zone is the default one.
impl TryFrom<pb::Holder> for NewHolder {
    type Error = super::super::ApiError;

    fn try_from(h: pb::Holder) -> ApiResult<Self> {
        let time_zone = h.time_zone.trim();
        Ok(NewHolder {
            name: h.name.trim().to_string(),
            email: h.email.trim().to_string(),
            time_zone: (!time_zone.is_empty()).then(|| time_zone.to_string()),
            hired_on: super::optional_date("holder.hired_on", &h.hired_on)?,
        })
    }
}

/// The holder an update names, and the changes, trimmed.
pub fn holder_update(req: pb::UpdateHolderRequest) -> ApiResult<(HolderRef, HolderPatch)> {
    let trimmed = |v: Option<String>| v.map(|v| v.trim().to_string());
    Ok((
        holder_ref("id", &req.id)?,
        HolderPatch {
            name: trimmed(req.name),
            email: trimmed(req.email),
            time_zone: trimmed(req.time_zone),
            make_default: req.make_default,
            hired_on: req
                .hired_on
                .as_deref()
                .map(|d| super::date("hired_on", d))
                .transpose()?,
        },
    ))
}
