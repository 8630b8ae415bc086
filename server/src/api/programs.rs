//! `recert.v1.ProgramService`: built-in programs, custom ones and local overrides.

use super::convert;
use super::{Api, ApiError, caller};
use crate::domain::Program;
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::program_service_server::ProgramService;
use tonic::{Request, Response, Status};

/// Programs: credential types and their renewal rules.
#[derive(Debug, Clone)]
pub struct ProgramApi<S>(pub Api<S>);

/// The program a create or update request carries.
fn program(program: Option<pb::Program>) -> Result<Program, ApiError> {
    program
        .ok_or_else(|| ApiError::invalid("program", "program is required"))?
        .try_into()
}

#[tonic::async_trait]
impl<S: Store> ProgramService for ProgramApi<S> {
    async fn get_program(
        &self,
        request: Request<pb::GetProgramRequest>,
    ) -> Result<Response<pb::Program>, Status> {
        let caller = caller(&request)?;
        let slug = convert::slug(&request.get_ref().slug)?;
        let entry = self.0.service().get_program(&caller, slug).await?;
        Ok(Response::new((&entry).into()))
    }

    async fn list_programs(
        &self,
        request: Request<pb::ListProgramsRequest>,
    ) -> Result<Response<pb::ListProgramsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let page = self
            .0
            .service()
            .list_programs(&caller, after.as_ref(), size)
            .await?;
        Ok(Response::new(pb::ListProgramsResponse {
            programs: page.items.iter().map(pb::Program::from).collect(),
            next_page_token: convert::encode_token(page.next),
        }))
    }

    async fn create_program(
        &self,
        request: Request<pb::CreateProgramRequest>,
    ) -> Result<Response<pb::Program>, Status> {
        let caller = caller(&request)?;
        let program = program(request.into_inner().program)?;
        let created = self.0.service().create_program(&caller, program).await?;
        Ok(Response::new((&created).into()))
    }

    async fn update_program(
        &self,
        request: Request<pb::UpdateProgramRequest>,
    ) -> Result<Response<pb::Program>, Status> {
        let caller = caller(&request)?;
        let program = program(request.into_inner().program)?;
        let updated = self.0.service().update_program(&caller, program).await?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_program(
        &self,
        request: Request<pb::DeleteProgramRequest>,
    ) -> Result<Response<pb::DeleteProgramResponse>, Status> {
        let caller = caller(&request)?;
        let slug = convert::slug(&request.get_ref().slug)?;
        self.0.service().delete_program(&caller, slug).await?;
        Ok(Response::new(pb::DeleteProgramResponse {}))
    }
}
