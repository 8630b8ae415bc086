//! `recert.v1.CredentialService`: credentials, and renewing them into the next cycle.

use super::convert::{self, credential_to_pb};
use super::{Api, ApiError, ApiResult};
use crate::domain::{Credential, IdKind, PastCycle};
use crate::store::Store;
use jiff::ToSpan;
use recert_proto::v1 as pb;
use recert_proto::v1::credential_service_server::CredentialService;
use tonic::{Request, Response, Status};

/// Credentials: programs held by holders.
#[derive(Debug, Clone)]
pub struct CredentialApi<S>(pub Api<S>);

impl<S: Store> CredentialApi<S> {
    async fn create(&self, req: pb::CreateCredentialRequest) -> ApiResult<pb::Credential> {
        let c = req
            .credential
            .ok_or_else(|| ApiError::invalid("credential", "credential is required"))?;
        let holder_id = self
            .0
            .holder_id("credential.holder_id", &c.holder_id)
            .await?;
        let slug = c.program.trim();
        if slug.is_empty() {
            return Err(ApiError::invalid(
                "credential.program",
                "credential.program is required",
            ));
        }
        let credential = Credential {
            id: 0,
            holder_id,
            program: slug.to_string(),
            number: c.number.trim().to_string(),
            issued_on: convert::optional_date("credential.issued_on", &c.issued_on)?,
            expires_on: convert::date("credential.expires_on", &c.expires_on)?,
            history: Vec::new(),
        };
        credential.validate()?;
        self.0.store.holder(holder_id).await?;
        self.0.program(slug).await?;
        let created = self.0.store.create_credential(credential).await?;
        self.0.changed(holder_id).await;
        tracing::info!(credential = %IdKind::Credential.format(created.id), program = %created.program, "credential created");
        Ok(credential_to_pb(&created))
    }

    async fn update(&self, req: pb::UpdateCredentialRequest) -> ApiResult<pb::Credential> {
        let id = convert::id(IdKind::Credential, "id", &req.id)?;
        let mut credential = self.0.store.credential(id).await?;
        if let Some(number) = req.number {
            credential.number = number.trim().to_string();
        }
        if let Some(issued) = req.issued_on {
            credential.issued_on = convert::optional_date("issued_on", &issued)?;
        }
        if let Some(expires) = req.expires_on {
            credential.expires_on = convert::date("expires_on", &expires)?;
        }
        credential
            .validate()
            .map_err(|e| convert::top_level(e, "credential"))?;
        Ok(credential_to_pb(
            &self.0.store.update_credential(credential).await?,
        ))
    }

    async fn renew(&self, req: pb::RenewCredentialRequest) -> ApiResult<pb::Credential> {
        let id = convert::id(IdKind::Credential, "id", &req.id)?;
        let mut credential = self.0.store.credential(id).await?;
        let program = self.0.program(&credential.program).await?;
        let holder = self.0.store.holder(credential.holder_id).await?;
        let renewed_on = convert::optional_date("renewed_on", &req.renewed_on)?
            .unwrap_or_else(|| self.0.today(&holder));
        let expires_on = match convert::optional_date("expires_on", &req.expires_on)? {
            Some(d) => d,
            None => credential
                .expires_on
                .checked_add(i64::from(program.cycle_months).months())
                .map_err(|_| {
                    ApiError::invalid("expires_on", "the next expiry date is out of range")
                })?,
        };
        if expires_on <= credential.expires_on {
            return Err(ApiError::invalid(
                "expires_on",
                format!(
                    "expires_on ({expires_on}) must be after the current expiry ({})",
                    credential.expires_on
                ),
            ));
        }
        credential.history.push(PastCycle {
            issued_on: credential.issued_on,
            expires_on: credential.expires_on,
            renewed_on,
        });
        credential.issued_on = Some(credential.expires_on);
        credential.expires_on = expires_on;
        credential
            .validate()
            .map_err(|e| convert::top_level(e, "credential"))?;
        let renewed = self.0.store.update_credential(credential).await?;
        self.0.changed(renewed.holder_id).await;
        tracing::info!(credential = %IdKind::Credential.format(id), expires_on = %renewed.expires_on, "credential renewed");
        Ok(credential_to_pb(&renewed))
    }

    async fn list(
        &self,
        req: &pb::ListCredentialsRequest,
    ) -> ApiResult<pb::ListCredentialsResponse> {
        let holder = self.0.holder_id("holder_id", &req.holder_id).await?;
        self.0.store.holder(holder).await?;
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let page = self
            .0
            .store
            .list_credentials(holder, after.as_ref(), size)
            .await?;
        Ok(pb::ListCredentialsResponse {
            credentials: page.items.iter().map(credential_to_pb).collect(),
            next_page_token: convert::encode_token(page.next),
        })
    }
}

#[tonic::async_trait]
impl<S: Store> CredentialService for CredentialApi<S> {
    async fn get_credential(
        &self,
        request: Request<pb::GetCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        let id = convert::id(IdKind::Credential, "id", &request.get_ref().id)?;
        let credential = self.0.store.credential(id).await.map_err(ApiError::from)?;
        Ok(Response::new(credential_to_pb(&credential)))
    }

    async fn list_credentials(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        Ok(Response::new(self.list(request.get_ref()).await?))
    }

    async fn create_credential(
        &self,
        request: Request<pb::CreateCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }

    async fn update_credential(
        &self,
        request: Request<pb::UpdateCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn delete_credential(
        &self,
        request: Request<pb::DeleteCredentialRequest>,
    ) -> Result<Response<pb::DeleteCredentialResponse>, Status> {
        let id = convert::id(IdKind::Credential, "id", &request.get_ref().id)?;
        self.0
            .store
            .delete_credential(id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::DeleteCredentialResponse {}))
    }

    async fn renew_credential(
        &self,
        request: Request<pb::RenewCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        Ok(Response::new(self.renew(request.into_inner()).await?))
    }
}
