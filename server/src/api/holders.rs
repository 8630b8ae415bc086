//! `recert.v1.HolderService`.

use super::convert::{self, at_top_level};
use super::{Api, ApiError, caller};
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::holder_service_server::HolderService;
use tonic::{Request, Response, Status};

/// Holders: the people who hold credentials.
#[derive(Debug, Clone)]
pub struct HolderApi<S>(pub Api<S>);

#[tonic::async_trait]
impl<S: Store> HolderService for HolderApi<S> {
    async fn get_holder(
        &self,
        request: Request<pb::GetHolderRequest>,
    ) -> Result<Response<pb::Holder>, Status> {
        let caller = caller(&request)?;
        let holder = convert::holder_ref("id", &request.get_ref().id)?;
        let entry = self.0.service().get_holder(&caller, holder).await?;
        Ok(Response::new((&entry).into()))
    }

    async fn list_holders(
        &self,
        request: Request<pb::ListHoldersRequest>,
    ) -> Result<Response<pb::ListHoldersResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let page = self
            .0
            .service()
            .list_holders(&caller, after.as_ref(), size)
            .await?;
        Ok(Response::new(pb::ListHoldersResponse {
            holders: page.items.iter().map(pb::Holder::from).collect(),
            next_page_token: convert::encode_token(page.next),
        }))
    }

    async fn create_holder(
        &self,
        request: Request<pb::CreateHolderRequest>,
    ) -> Result<Response<pb::Holder>, Status> {
        let caller = caller(&request)?;
        let holder = request
            .into_inner()
            .holder
            .ok_or_else(|| ApiError::invalid("holder", "holder is required"))?;
        let created = self
            .0
            .service()
            .create_holder(&caller, holder.try_into()?)
            .await?;
        Ok(Response::new((&created).into()))
    }

    async fn update_holder(
        &self,
        request: Request<pb::UpdateHolderRequest>,
    ) -> Result<Response<pb::Holder>, Status> {
        let caller = caller(&request)?;
        let (holder, patch) = convert::holder_update(request.into_inner())?;
        let updated = self
            .0
            .service()
            .update_holder(&caller, holder, patch)
            .await
            .map_err(|e| at_top_level(e, "holder"))?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_holder(
        &self,
        request: Request<pb::DeleteHolderRequest>,
    ) -> Result<Response<pb::DeleteHolderResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let holder = convert::holder_ref("id", &req.id)?;
        self.0
            .service()
            .delete_holder(&caller, holder, req.force)
            .await?;
        Ok(Response::new(pb::DeleteHolderResponse {}))
    }
}
