//! `recert.v1.ComplianceService`: where credentials stand, and upcoming deadlines.

use super::convert::{self, compliance_to_pb, status_to_pb};
use super::{Api, ApiError, ApiResult};
use crate::domain::{Compliance, Holder, IdKind, Program};
use crate::service::standing::Standing;
use crate::store::Store;
use jiff::ToSpan;
use jiff::civil::Date;
use recert_proto::v1 as pb;
use recert_proto::v1::compliance_service_server::ComplianceService;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Longest grace period considered when looking for credentials still in grace.
const MAX_GRACE_DAYS: i64 = 3650;

/// Compliance: what is still missing, and by when.
#[derive(Debug, Clone)]
pub struct ComplianceApi<S>(pub Api<S>);

impl<S: Store> ComplianceApi<S> {
    /// Compliance of every credential of `holder` on `as_of` (or the holder's today).
    async fn of_holder(&self, holder: &Holder, as_of: Option<Date>) -> ApiResult<Arc<Standing>> {
        self.0.service.standing(holder, as_of).await
    }

    async fn get(&self, req: &pb::GetComplianceRequest) -> ApiResult<pb::Compliance> {
        let id = convert::id(IdKind::Credential, "credential_id", &req.credential_id)?;
        let as_of = convert::optional_date("as_of", &req.as_of)?;
        let credential = self.0.store.credential(id).await?;
        let holder = self.0.store.holder(credential.holder_id).await?;
        self.of_holder(&holder, as_of)
            .await?
            .iter()
            .find(|(_, c, _)| c.credential_id == id)
            .map(|(_, c, p)| compliance_to_pb(c, holder.id, p))
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "credential {} not found",
                    IdKind::Credential.format(id)
                ))
            })
    }

    async fn list(&self, req: &pb::ListComplianceRequest) -> ApiResult<pb::ListComplianceResponse> {
        let holder_id = self.0.holder_id("holder_id", &req.holder_id).await?;
        let as_of = convert::optional_date("as_of", &req.as_of)?;
        let holder = self.0.store.holder(holder_id).await?;
        let standing = self.of_holder(&holder, as_of).await?;
        let mut rows: Vec<(&Compliance, &Program)> =
            standing.iter().map(|(_, c, p)| (c, p)).collect();
        rows.sort_by(|(a, _), (b, _)| {
            (a.expires_on, a.credential_id).cmp(&(b.expires_on, b.credential_id))
        });
        Ok(pb::ListComplianceResponse {
            compliance: rows
                .iter()
                .map(|(c, p)| compliance_to_pb(c, holder.id, p))
                .collect(),
        })
    }

    async fn deadlines(
        &self,
        req: &pb::ListDeadlinesRequest,
    ) -> ApiResult<pb::ListDeadlinesResponse> {
        let within = match req.within_days {
            0 => 90,
            d @ 1..=3660 => i64::from(d),
            _ => {
                return Err(ApiError::invalid(
                    "within_days",
                    "within_days must be between 0 and 3660",
                ));
            }
        };
        let only_holder = if req.holder_id.trim().is_empty() {
            None
        } else {
            let id = self.0.holder_id("holder_id", &req.holder_id).await?;
            self.0.store.holder(id).await?;
            Some(id)
        };
        let as_of = convert::optional_date("as_of", &req.as_of)?;
        let size = convert::page_size(req.page_size)?;
        let mut cursor = convert::page_token(&req.page_token)?;
        // Scan by UTC date with a day of slack either side; each holder's own today decides.
        let utc_today =
            as_of.unwrap_or_else(|| self.0.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date());
        let from = utc_today
            .checked_sub(MAX_GRACE_DAYS.days())
            .unwrap_or(Date::MIN);
        let to = utc_today
            .checked_add((within + 1).days())
            .unwrap_or(Date::MAX);

        let mut deadlines = Vec::new();
        let mut holders: HashMap<u64, Holder> = HashMap::new();
        let mut status_cache: HashMap<u64, Arc<Standing>> = HashMap::new();
        let next = loop {
            let page = self
                .0
                .store
                .expiring(from, to, cursor.as_ref(), size.max(64))
                .await?;
            let mut consumed_all = true;
            for credential in &page.items {
                cursor = Some(self.0.store.expiry_cursor(credential));
                if only_holder.is_some_and(|h| h != credential.holder_id) {
                    continue;
                }
                let holder = match holders.entry(credential.holder_id) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => e.insert(self.0.store.holder(credential.holder_id).await?),
                };
                let answers = match status_cache.entry(holder.id) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => e.insert(self.of_holder(holder, as_of).await?),
                };
                let Some((_, c, program)) = answers
                    .iter()
                    .find(|(_, c, _)| c.credential_id == credential.id)
                else {
                    continue;
                };
                if c.days_left > within || c.days_left < -i64::from(program.grace_days) {
                    continue;
                }
                deadlines.push(pb::Deadline {
                    credential_id: IdKind::Credential.format(credential.id),
                    holder_id: IdKind::Holder.format(holder.id),
                    holder_name: holder.name.clone(),
                    program: credential.program.clone(),
                    expires_on: credential.expires_on.to_string(),
                    days_left: c.days_left,
                    status: status_to_pb(c.status).into(),
                    unit: program.unit_name.clone(),
                    remaining_hundredths: c.remaining.0,
                });
                if deadlines.len() == size {
                    consumed_all = false;
                    break;
                }
            }
            if !consumed_all {
                break cursor;
            }
            if page.next.is_none() {
                break None;
            }
        };
        Ok(pb::ListDeadlinesResponse {
            deadlines,
            next_page_token: convert::encode_token(next),
        })
    }
}

#[tonic::async_trait]
impl<S: Store> ComplianceService for ComplianceApi<S> {
    async fn get_compliance(
        &self,
        request: Request<pb::GetComplianceRequest>,
    ) -> Result<Response<pb::Compliance>, Status> {
        Ok(Response::new(self.get(request.get_ref()).await?))
    }

    async fn list_compliance(
        &self,
        request: Request<pb::ListComplianceRequest>,
    ) -> Result<Response<pb::ListComplianceResponse>, Status> {
        Ok(Response::new(self.list(request.get_ref()).await?))
    }

    async fn list_deadlines(
        &self,
        request: Request<pb::ListDeadlinesRequest>,
    ) -> Result<Response<pb::ListDeadlinesResponse>, Status> {
        Ok(Response::new(self.deadlines(request.get_ref()).await?))
    }
}
