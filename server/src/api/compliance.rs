//! `recert.v1.ComplianceService`: where credentials stand, and upcoming deadlines. Each
//! handler parses the request, calls the service and converts the answer.

use super::{Api, caller, convert};
use crate::domain::IdKind;
use crate::service::TeamFilter;
use crate::service::compliance::DeadlineQuery;
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::compliance_service_server::ComplianceService;
use tonic::{Request, Response, Status};

/// Compliance: what is still missing, and by when.
#[derive(Debug, Clone)]
pub struct ComplianceApi<S>(pub Api<S>);

#[tonic::async_trait]
impl<S: Store> ComplianceService for ComplianceApi<S> {
    async fn get_compliance(
        &self,
        request: Request<pb::GetComplianceRequest>,
    ) -> Result<Response<pb::Compliance>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let id = convert::id(IdKind::Credential, "credential_id", &req.credential_id)?;
        let as_of = convert::optional_date("as_of", &req.as_of)?;
        let answer = self.0.service.compliance(&caller, id, as_of).await?;
        Ok(Response::new(pb::Compliance::from(&answer)))
    }

    async fn list_compliance(
        &self,
        request: Request<pb::ListComplianceRequest>,
    ) -> Result<Response<pb::ListComplianceResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let service = &self.0.service;
        let holder = service
            .holder_id(&caller, "holder_id", &req.holder_id)
            .await?;
        let as_of = convert::optional_date("as_of", &req.as_of)?;
        // Converted and encoded once per version of the holder's records, then kept beside
        // its cached standing.
        let encoded = service
            .holder_compliance_answer(&caller, holder, as_of, |rows| {
                let answer = pb::ListComplianceResponse::new(
                    rows.iter().map(pb::Compliance::from).collect(),
                );
                let bytes = prost::bytes::Bytes::from(prost::Message::encode_to_vec(&answer));
                let size = bytes.len();
                (bytes, size)
            })
            .await?;
        Ok(Response::new(pb::ListComplianceResponse::encoded(
            (*encoded).clone(),
        )))
    }

    async fn list_deadlines(
        &self,
        request: Request<pb::ListDeadlinesRequest>,
    ) -> Result<Response<pb::ListDeadlinesResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let service = &self.0.service;
        let within_days = convert::within_days(req.within_days)?;
        let holder = if req.holder_id.trim().is_empty() {
            None
        } else {
            Some(
                service
                    .holder_id(&caller, "holder_id", &req.holder_id)
                    .await?,
            )
        };
        let query = DeadlineQuery {
            holder,
            within_days,
            as_of: convert::optional_date("as_of", &req.as_of)?,
            size: convert::page_size(req.page_size)?,
            after: convert::page_token(&req.page_token)?,
        };
        let page = service.deadlines(&caller, query).await?;
        Ok(Response::new(pb::ListDeadlinesResponse {
            deadlines: page.items.iter().map(pb::Deadline::from).collect(),
            next_page_token: convert::encode_token(page.next),
        }))
    }

    async fn team_status(
        &self,
        request: Request<pb::TeamStatusRequest>,
    ) -> Result<Response<pb::TeamStatusResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let filter = TeamFilter {
            statuses: convert::statuses("statuses", &req.statuses)?,
            program: Some(req.program.trim())
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            within_days: convert::team_within_days(req.within_days)?,
            as_of: convert::optional_date("as_of", &req.as_of)?,
        };
        let team = Some(req.team.trim()).filter(|t| !t.is_empty());
        let rows = self.0.service.team_status(&caller, team, &filter).await?;
        let competencies = if filter.program.is_some() {
            Vec::new()
        } else {
            self.0
                .service
                .team_competencies(&caller, team, filter.as_of)
                .await?
        };
        Ok(Response::new(pb::TeamStatusResponse {
            rows: rows.iter().map(pb::TeamStatusRow::from).collect(),
            competencies: competencies
                .iter()
                .map(pb::CompetencyStatus::from)
                .collect(),
        }))
    }
}
