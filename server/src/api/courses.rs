//! `recert.v1.CourseService`: completed CE activities.

use super::convert::{self, course_to_pb};
use super::{Api, ApiError, ApiResult};
use crate::domain::{Course, Credits, IdKind};
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::course_service_server::CourseService;
use tonic::{Request, Response, Status};

/// Courses: completed continuing-education activities.
#[derive(Debug, Clone)]
pub struct CourseApi<S>(pub Api<S>);

impl<S: Store> CourseApi<S> {
    async fn create(&self, req: pb::CreateCourseRequest) -> ApiResult<pb::Course> {
        let c = req
            .course
            .ok_or_else(|| ApiError::invalid("course", "course is required"))?;
        let holder_id = self.0.holder_id("course.holder_id", &c.holder_id).await?;
        let holder = self.0.store.holder(holder_id).await?;
        let today = self.0.today(&holder);
        let course = Course {
            id: 0,
            holder_id,
            title: c.title.trim().to_string(),
            provider: c.provider.trim().to_string(),
            accreditation: c.accreditation.trim().to_string(),
            completed_on: convert::optional_date("course.completed_on", &c.completed_on)?
                .unwrap_or(today),
            amount: Credits(c.credits_hundredths),
            unit: convert::unit("course.unit", &c.unit)?,
            categories: convert::categories(&c.categories),
            format: convert::format("course.format", &c.format)?,
            credential_ids: convert::credential_ids("course.credential_ids", &c.credential_ids)?,
            evidence: c.evidence.trim().to_string(),
        };
        course.validate(today)?;
        let created = self.0.store.create_course(course).await?;
        tracing::debug!(course = %IdKind::Course.format(created.id), holder = %IdKind::Holder.format(holder_id), "course logged");
        self.0.changed(holder_id).await;
        Ok(course_to_pb(&created))
    }

    async fn update(&self, req: pb::UpdateCourseRequest) -> ApiResult<pb::Course> {
        let id = convert::id(IdKind::Course, "id", &req.id)?;
        let mut course = self.0.store.course(id).await?;
        let holder = self.0.store.holder(course.holder_id).await?;
        if let Some(v) = req.title {
            course.title = v.trim().to_string();
        }
        if let Some(v) = req.provider {
            course.provider = v.trim().to_string();
        }
        if let Some(v) = req.accreditation {
            course.accreditation = v.trim().to_string();
        }
        if let Some(v) = req.completed_on {
            course.completed_on = convert::date("completed_on", &v)?;
        }
        if let Some(v) = req.credits_hundredths {
            course.amount = Credits(v);
        }
        if let Some(v) = req.unit {
            course.unit = convert::unit("unit", &v)?;
        }
        if req.set_categories {
            course.categories = convert::categories(&req.categories);
        }
        if let Some(v) = req.format {
            course.format = convert::format("format", &v)?;
        }
        if req.set_credential_ids {
            course.credential_ids = convert::credential_ids("credential_ids", &req.credential_ids)?;
        }
        if let Some(v) = req.evidence {
            course.evidence = v.trim().to_string();
        }
        course
            .validate(self.0.today(&holder))
            .map_err(|e| convert::top_level(e, "course"))?;
        let updated = self.0.store.update_course(course).await?;
        self.0.changed(holder.id).await;
        Ok(course_to_pb(&updated))
    }

    async fn list(&self, req: &pb::ListCoursesRequest) -> ApiResult<pb::ListCoursesResponse> {
        let holder = self.0.holder_id("holder_id", &req.holder_id).await?;
        self.0.store.holder(holder).await?;
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let page = self
            .0
            .store
            .list_courses(holder, after.as_ref(), size)
            .await?;
        Ok(pb::ListCoursesResponse {
            courses: page.items.iter().map(course_to_pb).collect(),
            next_page_token: convert::encode_token(page.next),
        })
    }
}

#[tonic::async_trait]
impl<S: Store> CourseService for CourseApi<S> {
    async fn get_course(
        &self,
        request: Request<pb::GetCourseRequest>,
    ) -> Result<Response<pb::Course>, Status> {
        let id = convert::id(IdKind::Course, "id", &request.get_ref().id)?;
        let course = self.0.store.course(id).await.map_err(ApiError::from)?;
        Ok(Response::new(course_to_pb(&course)))
    }

    async fn list_courses(
        &self,
        request: Request<pb::ListCoursesRequest>,
    ) -> Result<Response<pb::ListCoursesResponse>, Status> {
        Ok(Response::new(self.list(request.get_ref()).await?))
    }

    async fn create_course(
        &self,
        request: Request<pb::CreateCourseRequest>,
    ) -> Result<Response<pb::Course>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }

    async fn update_course(
        &self,
        request: Request<pb::UpdateCourseRequest>,
    ) -> Result<Response<pb::Course>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn delete_course(
        &self,
        request: Request<pb::DeleteCourseRequest>,
    ) -> Result<Response<pb::DeleteCourseResponse>, Status> {
        let id = convert::id(IdKind::Course, "id", &request.get_ref().id)?;
        self.0
            .store
            .delete_course(id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::DeleteCourseResponse {}))
    }
}
