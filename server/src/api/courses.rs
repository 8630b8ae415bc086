//! `recert.v1.CourseService`: completed CE activities.

use super::convert::{self, at_top_level};
use super::{Api, ApiError, caller};
use crate::domain::IdKind;
use crate::service::NewCourse;
use crate::store::Store;
use recert_proto::v1 as pb;
use recert_proto::v1::course_service_server::CourseService;
use tonic::{Request, Response, Status};

/// Courses: completed continuing-education activities.
#[derive(Debug, Clone)]
pub struct CourseApi<S>(pub Api<S>);

#[tonic::async_trait]
impl<S: Store> CourseService for CourseApi<S> {
    async fn get_course(
        &self,
        request: Request<pb::GetCourseRequest>,
    ) -> Result<Response<pb::Course>, Status> {
        let caller = caller(&request)?;
        let id = convert::id(IdKind::Course, "id", &request.get_ref().id)?;
        let course = self.0.service().get_course(&caller, id).await?;
        Ok(Response::new((&course).into()))
    }

    async fn list_courses(
        &self,
        request: Request<pb::ListCoursesRequest>,
    ) -> Result<Response<pb::ListCoursesResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let holder = convert::holder_ref("holder_id", &req.holder_id)?;
        let size = convert::page_size(req.page_size)?;
        let after = convert::page_token(&req.page_token)?;
        let page = self
            .0
            .service()
            .list_courses(&caller, holder, after.as_ref(), size)
            .await?;
        Ok(Response::new(pb::ListCoursesResponse {
            courses: page.items.iter().map(pb::Course::from).collect(),
            next_page_token: convert::encode_token(page.next),
        }))
    }

    async fn create_course(
        &self,
        request: Request<pb::CreateCourseRequest>,
    ) -> Result<Response<pb::Course>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut new: NewCourse = request
            .course
            .ok_or_else(|| ApiError::invalid("course", "course is required"))?
            .try_into()?;
        new.allow_duplicate = request.allow_duplicate;
        let created = self.0.service().create_course(&caller, new).await?;
        Ok(Response::new((&created).into()))
    }

    async fn create_courses(
        &self,
        request: Request<pb::CreateCoursesRequest>,
    ) -> Result<Response<pb::CreateCoursesResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut course = request
            .course
            .ok_or_else(|| ApiError::invalid("course", "course is required"))?;
        // The holders come from holder_ids and team.
        course.holder_id = "default".into();
        let mut new: NewCourse = course.try_into()?;
        new.allow_duplicate = request.allow_duplicate;
        let holders = request
            .holder_ids
            .iter()
            .map(|h| convert::holder_ref("holder_ids", h))
            .collect::<Result<Vec<_>, _>>()?;
        let team = Some(request.team.trim()).filter(|t| !t.is_empty());
        let created = self
            .0
            .service()
            .create_courses(&caller, holders, team, new)
            .await?;
        Ok(Response::new(pb::CreateCoursesResponse {
            courses: created.iter().map(Into::into).collect(),
        }))
    }

    async fn update_course(
        &self,
        request: Request<pb::UpdateCourseRequest>,
    ) -> Result<Response<pb::Course>, Status> {
        let caller = caller(&request)?;
        let (id, patch) = convert::course_update(request.into_inner())?;
        let updated = self
            .0
            .service()
            .update_course(&caller, id, patch)
            .await
            .map_err(|e| at_top_level(e, "course"))?;
        Ok(Response::new((&updated).into()))
    }

    async fn delete_course(
        &self,
        request: Request<pb::DeleteCourseRequest>,
    ) -> Result<Response<pb::DeleteCourseResponse>, Status> {
        let caller = caller(&request)?;
        let id = convert::id(IdKind::Course, "id", &request.get_ref().id)?;
        self.0.service().delete_course(&caller, id).await?;
        Ok(Response::new(pb::DeleteCourseResponse {}))
    }
}
