//! `recert.v1.CompetencyService`: competency programs, assessments and where each skill
//! stands.

use super::convert;
use super::{Api, ApiError, caller};
use crate::catalog::CompetencyOrigin;
use crate::domain::{Assessment, AssessmentResult, CompetencyProgram, IdKind};
use crate::service::competency::{CompetencyEntry, NewAssessment, SkillStanding};
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::competency_service_server::CompetencyService;
use tonic::{Request, Response, Status};

/// Competency assessments (CLIA, CAP).
#[derive(Debug, Clone)]
pub struct CompetencyApi<S>(pub Api<S>);

impl From<&SkillStanding> for pb::CompetencyStatus {
    fn from(s: &SkillStanding) -> Self {
        pb::CompetencyStatus {
            holder_id: IdKind::Holder.format(s.holder_id),
            holder_name: s.holder_name.clone(),
            program: s.program.clone(),
            skill: s.skill.clone(),
            last_assessed_on: s
                .last
                .as_ref()
                .map(|a| a.assessed_on.to_string())
                .unwrap_or_default(),
            last_result: s
                .last
                .as_ref()
                .map(|a| a.result.as_str().to_string())
                .unwrap_or_default(),
            next_due: s.next_due.map(|d| d.to_string()).unwrap_or_default(),
            status: s.status.as_str().to_string(),
            assessments: s.assessments as u32,
        }
    }
}

impl From<&CompetencyEntry> for pb::CompetencyProgram {
    fn from(e: &CompetencyEntry) -> Self {
        let p = &e.program;
        pb::CompetencyProgram {
            slug: p.slug.clone(),
            name: p.name.clone(),
            elements: p.elements.clone(),
            initial_months: p.initial_months.clone(),
            every_months: p.every_months,
            remediate_days: p.remediate_days,
            sources: p.sources.clone(),
            notes: p.notes.clone(),
            builtin: e.origin == CompetencyOrigin::BuiltIn,
            overrides_builtin: e.overrides_builtin,
        }
    }
}

/// The program a create or update request carries (its read-only marks ignored).
fn program(program: Option<pb::CompetencyProgram>) -> Result<CompetencyProgram, ApiError> {
    let p = program.ok_or_else(|| ApiError::invalid("program", "program is required"))?;
    Ok(CompetencyProgram {
        slug: p.slug,
        name: p.name,
        elements: p.elements,
        initial_months: p.initial_months,
        every_months: p.every_months,
        remediate_days: p.remediate_days,
        sources: p.sources,
        notes: p.notes,
    })
}

#[tonic::async_trait]
impl<S: Store> CompetencyService for CompetencyApi<S> {
    async fn list_competency_programs(
        &self,
        request: Request<pb::ListCompetencyProgramsRequest>,
    ) -> Result<Response<pb::ListCompetencyProgramsResponse>, Status> {
        let caller = caller(&request)?;
        let programs = self
            .0
            .service()
            .list_competency_programs(&caller)
            .await?
            .iter()
            .map(pb::CompetencyProgram::from)
            .collect();
        Ok(Response::new(pb::ListCompetencyProgramsResponse {
            programs,
        }))
    }

    async fn create_competency_program(
        &self,
        request: Request<pb::CreateCompetencyProgramRequest>,
    ) -> Result<Response<pb::CompetencyProgram>, Status> {
        let caller = caller(&request)?;
        let program = program(request.into_inner().program)?;
        let entry = self
            .0
            .service()
            .create_competency_program(&caller, program)
            .await?;
        Ok(Response::new((&entry).into()))
    }

    async fn update_competency_program(
        &self,
        request: Request<pb::UpdateCompetencyProgramRequest>,
    ) -> Result<Response<pb::CompetencyProgram>, Status> {
        let caller = caller(&request)?;
        let program = program(request.into_inner().program)?;
        let entry = self
            .0
            .service()
            .update_competency_program(&caller, program)
            .await?;
        Ok(Response::new((&entry).into()))
    }

    async fn delete_competency_program(
        &self,
        request: Request<pb::DeleteCompetencyProgramRequest>,
    ) -> Result<Response<pb::DeleteCompetencyProgramResponse>, Status> {
        let caller = caller(&request)?;
        let slug = convert::slug(&request.get_ref().slug)?;
        self.0
            .service()
            .delete_competency_program(&caller, slug)
            .await?;
        Ok(Response::new(pb::DeleteCompetencyProgramResponse {}))
    }

    async fn assign_competency(
        &self,
        request: Request<pb::AssignCompetencyRequest>,
    ) -> Result<Response<pb::CompetencyStatus>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let service = self.0.service();
        let holder = service.holder_named(&caller, "holder", &req.holder).await?;
        let standing = service
            .assign_competency(&caller, holder, &req.program, &req.skill)
            .await?;
        Ok(Response::new((&standing).into()))
    }

    async fn log_assessment(
        &self,
        request: Request<pb::LogAssessmentRequest>,
    ) -> Result<Response<pb::CompetencyStatus>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let service = self.0.service();
        let holder = service.holder_named(&caller, "holder", &req.holder).await?;
        let assessed_on = convert::optional_date("assessed_on", &req.assessed_on)?;
        let result = AssessmentResult::parse("result", &req.result)
            .map_err(|e| super::ApiError::Invalid(vec![e]))?;
        let mut elements = req.elements;
        elements.sort_unstable();
        let new = NewAssessment {
            program: req.program,
            skill: req.skill,
            assessed_on,
            assessment: Assessment {
                assessed_on: jiff::civil::Date::MIN,
                assessor: req.assessor,
                elements,
                result,
                note: req.note.trim().to_string(),
            },
        };
        let standing = service.log_assessment(&caller, holder, new).await?;
        Ok(Response::new((&standing).into()))
    }

    async fn list_competency_status(
        &self,
        request: Request<pb::ListCompetencyStatusRequest>,
    ) -> Result<Response<pb::ListCompetencyStatusResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let service = self.0.service();
        let holders = if !req.team.trim().is_empty() {
            let team = service.team(&caller, &req.team).await?;
            team.members
                .into_iter()
                .filter(|h| caller.sees(*h))
                .collect()
        } else {
            let named = if req.holder.trim().is_empty() {
                "default"
            } else {
                &req.holder
            };
            vec![service.holder_named(&caller, "holder", named).await?]
        };
        let rows = service.competency_status(&caller, &holders).await?;
        Ok(Response::new(pb::ListCompetencyStatusResponse {
            rows: rows.iter().map(pb::CompetencyStatus::from).collect(),
        }))
    }
}
