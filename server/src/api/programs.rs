//! `recert.v1.ProgramService`: built-in programs, custom ones and local overrides.

use super::convert::{self, program_from_pb, program_to_pb};
use super::{Api, ApiError, ApiResult};
use crate::catalog;
use crate::domain::Program;
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::program_service_server::ProgramService;
use tonic::{Request, Response, Status};

/// Programs: credential types and their renewal rules.
#[derive(Debug, Clone)]
pub struct ProgramApi<S>(pub Api<S>);

/// A program as clients see it: flags whether it is built in or overrides a built-in one.
fn to_pb(p: &Program, local: bool) -> pb::Program {
    let builtin = catalog::find(&p.slug).is_some();
    program_to_pb(p, builtin && !local, builtin && local)
}

impl<S: Store> ProgramApi<S> {
    /// Every program in force, by slug: local ones replace built-in ones.
    async fn all(&self) -> ApiResult<Vec<pb::Program>> {
        let local = self.0.store.local_programs().await?;
        let mut out: Vec<pb::Program> = catalog::builtin()
            .iter()
            .filter(|b| !local.iter().any(|l| l.slug == b.slug))
            .map(|b| to_pb(b, false))
            .chain(local.iter().map(|l| to_pb(l, true)))
            .collect();
        out.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(out)
    }

    async fn list(&self, req: &pb::ListProgramsRequest) -> ApiResult<pb::ListProgramsResponse> {
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?
            .map(|c| String::from_utf8(c.bytes().to_vec()).map_err(|_| convert::bad_page_token()))
            .transpose()?;
        let all = self.all().await?;
        let rest: Vec<pb::Program> = all
            .into_iter()
            .filter(|p| after.as_deref().is_none_or(|a| p.slug.as_str() > a))
            .collect();
        let more = rest.len() > size;
        let programs: Vec<pb::Program> = rest.into_iter().take(size).collect();
        let next = if more {
            programs
                .last()
                .map(|p| crate::store::Cursor::new(p.slug.clone().into_bytes()))
        } else {
            None
        };
        Ok(pb::ListProgramsResponse {
            programs,
            next_page_token: convert::encode_token(next),
        })
    }

    async fn create(&self, req: pb::CreateProgramRequest) -> ApiResult<pb::Program> {
        let p = req
            .program
            .ok_or_else(|| ApiError::invalid("program", "program is required"))?;
        let program = program_from_pb(p)?;
        let stored = self.0.store.put_program(program, true).await?;
        tracing::info!(program = %stored.slug, "local program created");
        Ok(to_pb(&stored, true))
    }

    async fn update(&self, req: pb::UpdateProgramRequest) -> ApiResult<pb::Program> {
        let p = req
            .program
            .ok_or_else(|| ApiError::invalid("program", "program is required"))?;
        let program = program_from_pb(p)?;
        let stored = self.0.store.put_program(program, false).await?;
        Ok(to_pb(&stored, true))
    }
}

fn slug_field(slug: &str) -> ApiResult<&str> {
    let slug = slug.trim();
    if slug.is_empty() {
        return Err(ApiError::invalid("slug", "slug is required"));
    }
    Ok(slug)
}

#[tonic::async_trait]
impl<S: Store> ProgramService for ProgramApi<S> {
    async fn get_program(
        &self,
        request: Request<pb::GetProgramRequest>,
    ) -> Result<Response<pb::Program>, Status> {
        let slug = slug_field(&request.get_ref().slug)?;
        let local = self
            .0
            .store
            .local_program(slug)
            .await
            .map_err(ApiError::from)?;
        let program = self.0.program(slug).await?;
        Ok(Response::new(to_pb(&program, local.is_some())))
    }

    async fn list_programs(
        &self,
        request: Request<pb::ListProgramsRequest>,
    ) -> Result<Response<pb::ListProgramsResponse>, Status> {
        Ok(Response::new(self.list(request.get_ref()).await?))
    }

    async fn create_program(
        &self,
        request: Request<pb::CreateProgramRequest>,
    ) -> Result<Response<pb::Program>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }

    async fn update_program(
        &self,
        request: Request<pb::UpdateProgramRequest>,
    ) -> Result<Response<pb::Program>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn delete_program(
        &self,
        request: Request<pb::DeleteProgramRequest>,
    ) -> Result<Response<pb::DeleteProgramResponse>, Status> {
        let slug = slug_field(&request.get_ref().slug)?;
        let custom = catalog::find(slug).is_none();
        self.0
            .store
            .delete_program(slug, custom)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::DeleteProgramResponse {}))
    }
}
