//! `recert.v1.HolderService`.

use super::convert::{self, holder_to_pb};
use super::{Api, ApiError, ApiResult};
use crate::domain::{Holder, IdKind};
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::holder_service_server::HolderService;
use tonic::{Request, Response, Status};

/// Holders: the people who hold credentials.
#[derive(Debug, Clone)]
pub struct HolderApi<S>(pub Api<S>);

impl<S: Store> HolderApi<S> {
    async fn to_pb(&self, h: &Holder) -> ApiResult<pb::Holder> {
        let default = self.0.store.default_holder_id().await?;
        Ok(holder_to_pb(h, default == Some(h.id)))
    }

    async fn create(&self, req: pb::CreateHolderRequest) -> ApiResult<pb::Holder> {
        let h = req
            .holder
            .ok_or_else(|| ApiError::invalid("holder", "holder is required"))?;
        let holder = Holder {
            id: 0,
            name: h.name.trim().to_string(),
            email: h.email.trim().to_string(),
            time_zone: if h.time_zone.trim().is_empty() {
                "UTC".into()
            } else {
                h.time_zone.trim().to_string()
            },
        };
        holder.validate()?;
        let created = self.0.store.create_holder(holder).await?;
        self.0.alerts.wake();
        self.to_pb(&created).await
    }

    async fn update(&self, req: pb::UpdateHolderRequest) -> ApiResult<pb::Holder> {
        let id = self.0.holder_id("id", &req.id).await?;
        let mut holder = self.0.store.holder(id).await?;
        if let Some(name) = req.name {
            holder.name = name.trim().to_string();
        }
        if let Some(email) = req.email {
            holder.email = email.trim().to_string();
        }
        if let Some(tz) = req.time_zone {
            holder.time_zone = tz.trim().to_string();
        }
        holder
            .validate()
            .map_err(|e| convert::top_level(e, "holder"))?;
        let updated = self.0.store.update_holder(holder, req.make_default).await?;
        self.0.alerts.wake();
        self.to_pb(&updated).await
    }

    async fn list(&self, req: &pb::ListHoldersRequest) -> ApiResult<pb::ListHoldersResponse> {
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let page = self.0.store.list_holders(after.as_ref(), size).await?;
        let mut holders = Vec::with_capacity(page.items.len());
        for h in &page.items {
            holders.push(self.to_pb(h).await?);
        }
        Ok(pb::ListHoldersResponse {
            holders,
            next_page_token: convert::encode_token(page.next),
        })
    }
}

#[tonic::async_trait]
impl<S: Store> HolderService for HolderApi<S> {
    async fn get_holder(
        &self,
        request: Request<pb::GetHolderRequest>,
    ) -> Result<Response<pb::Holder>, Status> {
        let id = self.0.holder_id("id", &request.get_ref().id).await?;
        let holder = self.0.store.holder(id).await.map_err(ApiError::from)?;
        Ok(Response::new(self.to_pb(&holder).await?))
    }

    async fn list_holders(
        &self,
        request: Request<pb::ListHoldersRequest>,
    ) -> Result<Response<pb::ListHoldersResponse>, Status> {
        Ok(Response::new(self.list(request.get_ref()).await?))
    }

    async fn create_holder(
        &self,
        request: Request<pb::CreateHolderRequest>,
    ) -> Result<Response<pb::Holder>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }

    async fn update_holder(
        &self,
        request: Request<pb::UpdateHolderRequest>,
    ) -> Result<Response<pb::Holder>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn delete_holder(
        &self,
        request: Request<pb::DeleteHolderRequest>,
    ) -> Result<Response<pb::DeleteHolderResponse>, Status> {
        let req = request.into_inner();
        let id = self.0.holder_id("id", &req.id).await?;
        self.0
            .store
            .delete_holder(id, req.force)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(holder = %IdKind::Holder.format(id), "holder deleted");
        Ok(Response::new(pb::DeleteHolderResponse {}))
    }
}
