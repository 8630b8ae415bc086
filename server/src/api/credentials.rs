//! `recert.v1.CredentialService`: credentials, and renewing them into the next cycle.

use super::convert::{self, at_top_level};
use super::{Api, ApiError, caller};
use crate::domain::IdKind;
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::credential_service_server::CredentialService;
use tonic::{Request, Response, Status};

/// Credentials: programs held by holders.
#[derive(Debug, Clone)]
pub struct CredentialApi<S>(pub Api<S>);

#[tonic::async_trait]
impl<S: Store> CredentialService for CredentialApi<S> {
    async fn get_credential(
        &self,
        request: Request<pb::GetCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        let caller = caller(&request)?;
        let id = convert::id(IdKind::Credential, "id", &request.get_ref().id)?;
        let credential = self.0.service().get_credential(&caller, id).await?;
        Ok(Response::new((&credential).into()))
    }

    async fn list_credentials(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let holder = convert::holder_ref("holder_id", &req.holder_id)?;
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let page = self
            .0
            .service()
            .list_credentials(&caller, holder, after.as_ref(), size)
            .await?;
        Ok(Response::new(pb::ListCredentialsResponse {
            credentials: page.items.iter().map(pb::Credential::from).collect(),
            next_page_token: convert::encode_token(page.next),
        }))
    }

    async fn create_credential(
        &self,
        request: Request<pb::CreateCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        let caller = caller(&request)?;
        let new = request
            .into_inner()
            .credential
            .ok_or_else(|| ApiError::invalid("credential", "credential is required"))?
            .try_into()?;
        let created = self.0.service().create_credential(&caller, new).await?;
        Ok(Response::new((&created).into()))
    }

    async fn update_credential(
        &self,
        request: Request<pb::UpdateCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        let caller = caller(&request)?;
        let (id, patch) = convert::credential_update(request.into_inner())?;
        let updated = self
            .0
            .service()
            .update_credential(&caller, id, patch)
            .await
            .map_err(|e| at_top_level(e, "credential"))?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_credential(
        &self,
        request: Request<pb::DeleteCredentialRequest>,
    ) -> Result<Response<pb::DeleteCredentialResponse>, Status> {
        let caller = caller(&request)?;
        let id = convert::id(IdKind::Credential, "id", &request.get_ref().id)?;
        let force = request.get_ref().force;
        self.0
            .service()
            .delete_credential(&caller, id, force)
            .await?;
        Ok(Response::new(pb::DeleteCredentialResponse {}))
    }

    async fn renew_credential(
        &self,
        request: Request<pb::RenewCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        let caller = caller(&request)?;
        let (id, renewal) = convert::renewal(request.get_ref())?;
        let renewed = self
            .0
            .service()
            .renew_credential(&caller, id, renewal)
            .await
            .map_err(|e| at_top_level(e, "credential"))?;
        Ok(Response::new((&renewed).into()))
    }

    async fn undo_renewal(
        &self,
        request: Request<pb::UndoRenewalRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        let caller = caller(&request)?;
        let id = convert::id(IdKind::Credential, "id", &request.get_ref().id)?;
        let reverted = self.0.service().undo_renewal(&caller, id).await?;
        Ok(Response::new((&reverted).into()))
    }

    async fn verify_credential(
        &self,
        request: Request<pb::VerifyCredentialRequest>,
    ) -> Result<Response<pb::Credential>, Status> {
        let caller = caller(&request)?;
        let (id, new) = convert::verification(request.get_ref())?;
        let verified = self
            .0
            .service()
            .verify_credential(&caller, id, new)
            .await
            .map_err(|e| at_top_level(e, "verification"))?;
        Ok(Response::new((&verified).into()))
    }
}
