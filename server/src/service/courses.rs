//! Courses: completed continuing-education activities.
//!
//! The rules across records: a course belongs to an existing holder, is dated no later than
//! the holder's today in their own time zone (and, undated, on that day), and may be pinned
//! only to the holder's own credentials (the store checks that in the write, so a
//! credential deleted meanwhile cannot slip through). After every write the holder's
//! alerts are re-checked.

use super::holders::HolderRef;
use super::{Caller, Service, ServiceResult};
use crate::domain::{Course, Credits, Format, IdKind, Unit};
use crate::store::{Cursor, Page, Store};
use jiff::civil::Date;

/// A course to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCourse {
    /// Who completed it.
    pub holder: HolderRef,
    /// Title of the activity.
    pub title: String,
    /// Provider; empty if unknown.
    pub provider: String,
    /// Accreditation; empty if unknown.
    pub accreditation: String,
    /// Completion date; `None` is the holder's today.
    pub completed_on: Option<Date>,
    /// Amount as awarded, in `unit`.
    pub amount: Credits,
    /// The unit `amount` is in.
    pub unit: Unit,
    /// Categories, normalised.
    pub categories: Vec<String>,
    /// Delivery format, if known.
    pub format: Option<Format>,
    /// When non-empty, the course counts only toward these credentials of the holder.
    pub credential_ids: Vec<u64>,
    /// Certificate reference; empty if none.
    pub evidence: String,
}

/// Changes to a course: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoursePatch {
    /// New title.
    pub title: Option<String>,
    /// New provider.
    pub provider: Option<String>,
    /// New accreditation.
    pub accreditation: Option<String>,
    /// New completion date.
    pub completed_on: Option<Date>,
    /// New amount.
    pub amount: Option<Credits>,
    /// New unit.
    pub unit: Option<Unit>,
    /// New categories (`Some(vec![])` clears them).
    pub categories: Option<Vec<String>>,
    /// New format (`Some(None)` clears it).
    pub format: Option<Option<Format>>,
    /// New pins (`Some(vec![])` unpins).
    pub credential_ids: Option<Vec<u64>>,
    /// New certificate reference.
    pub evidence: Option<String>,
}

impl<S: Store> Service<S> {
    /// Logs a course for an existing holder.
    pub async fn create_course(&self, caller: &Caller, new: NewCourse) -> ServiceResult<Course> {
        let holder = self.find_holder(caller, new.holder).await?;
        let today = self.today(&holder);
        let course = Course {
            id: 0,
            holder_id: holder.id,
            title: new.title,
            provider: new.provider,
            accreditation: new.accreditation,
            completed_on: new.completed_on.unwrap_or(today),
            amount: new.amount,
            unit: new.unit,
            categories: new.categories,
            format: new.format,
            credential_ids: new.credential_ids,
            evidence: new.evidence,
        };
        course.validate(today)?;
        let created = self.store.create_course(course).await?;
        tracing::debug!(course = %IdKind::Course.format(created.id), holder = %IdKind::Holder.format(holder.id), "course logged");
        self.after_change(holder.id).await;
        Ok(created)
    }

    /// A course by id.
    pub async fn get_course(&self, _caller: &Caller, id: u64) -> ServiceResult<Course> {
        Ok(self.store.course(id).await?)
    }

    /// A page of an existing holder's courses, in id order.
    pub async fn list_courses(
        &self,
        caller: &Caller,
        holder: HolderRef,
        after: Option<&Cursor>,
        limit: usize,
    ) -> ServiceResult<Page<Course>> {
        let holder = self.find_holder(caller, holder).await?;
        Ok(self.store.list_courses(holder.id, after, limit).await?)
    }

    /// Changes a course.
    pub async fn update_course(
        &self,
        caller: &Caller,
        id: u64,
        patch: CoursePatch,
    ) -> ServiceResult<Course> {
        let mut course = self.get_course(caller, id).await?;
        let holder = self.holder(caller, course.holder_id).await?;
        if let Some(v) = patch.title {
            course.title = v;
        }
        if let Some(v) = patch.provider {
            course.provider = v;
        }
        if let Some(v) = patch.accreditation {
            course.accreditation = v;
        }
        if let Some(v) = patch.completed_on {
            course.completed_on = v;
        }
        if let Some(v) = patch.amount {
            course.amount = v;
        }
        if let Some(v) = patch.unit {
            course.unit = v;
        }
        if let Some(v) = patch.categories {
            course.categories = v;
        }
        if let Some(v) = patch.format {
            course.format = v;
        }
        if let Some(v) = patch.credential_ids {
            course.credential_ids = v;
        }
        if let Some(v) = patch.evidence {
            course.evidence = v;
        }
        course.validate(self.today(&holder))?;
        let updated = self.store.update_course(course).await?;
        self.after_change(holder.id).await;
        Ok(updated)
    }

    /// Deletes a course.
    pub async fn delete_course(&self, caller: &Caller, id: u64) -> ServiceResult<()> {
        let course = self.get_course(caller, id).await?;
        self.store.delete_course(id).await?;
        self.after_change(course.holder_id).await;
        Ok(())
    }
}
