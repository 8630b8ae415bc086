//! Courses: completed continuing-education activities.
//!
//! The rules across records: a course belongs to an existing holder, is dated no later than
//! the holder's today in their own time zone (and, undated, on that day), and may be pinned
//! only to the holder's own credentials (the store checks that in the write, so a
//! credential deleted meanwhile cannot slip through). After every write the holder's
//! alerts are re-checked.

use super::holders::HolderRef;
use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{Course, Credits, Format, IdKind, Unit};
use crate::store::{Conflict, Cursor, Page, Store, StoreError};
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
    /// Log it even though the holder has a course with the same title, date and amount.
    pub allow_duplicate: bool,
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
    /// Logs a course for an existing holder; the same course twice only with
    /// `allow_duplicate`.
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
        // The twin check runs in the store's write, so two identical logs at the same
        // instant cannot both pass it.
        let store = self.store_as(caller);
        let created = if new.allow_duplicate {
            store.create_course(course).await?
        } else {
            store.create_distinct_course(course).await?
        };
        tracing::debug!(course = %IdKind::Course.format(created.id), holder = %IdKind::Holder.format(holder.id), "course logged");
        self.after_change(holder.id).await;
        Ok(created)
    }

    /// Logs one course (an in-service) for several holders, `holders` and the members of
    /// `team`, in one transaction: all or nothing. Each is checked as [`Service::create_course`]
    /// checks one (a holder the caller may not see is "not found"); `new.holder` is ignored,
    /// and a course for several people cannot be pinned to credentials.
    pub async fn create_courses(
        &self,
        caller: &Caller,
        holders: Vec<HolderRef>,
        team: Option<&str>,
        new: NewCourse,
    ) -> ServiceResult<Vec<Course>> {
        if !new.credential_ids.is_empty() {
            return Err(ServiceError::invalid(
                "course.credential_ids",
                "a course logged for several holders cannot be pinned to credentials",
            ));
        }
        let mut ids: Vec<u64> = Vec::new();
        for holder in holders {
            ids.push(self.resolve_holder(caller, holder).await?);
        }
        if let Some(team) = team {
            ids.extend(self.team(caller, team).await?.members);
        }
        let mut seen = std::collections::BTreeSet::new();
        ids.retain(|id| seen.insert(*id));
        if ids.is_empty() {
            return Err(ServiceError::invalid(
                "holder_ids",
                "name at least one holder, or a team with members",
            ));
        }
        let mut courses = Vec::with_capacity(ids.len());
        for id in &ids {
            let holder = self.holder(caller, *id).await?;
            let today = self.today(&holder);
            let course = Course {
                id: 0,
                holder_id: holder.id,
                title: new.title.clone(),
                provider: new.provider.clone(),
                accreditation: new.accreditation.clone(),
                completed_on: new.completed_on.unwrap_or(today),
                amount: new.amount,
                unit: new.unit,
                categories: new.categories.clone(),
                format: new.format,
                credential_ids: Vec::new(),
                evidence: new.evidence.clone(),
            };
            course.validate(today)?;
            courses.push(course);
        }
        // The twin check runs in the store's write (as for one course), so two identical
        // group logs at the same instant cannot both pass it.
        let created = match self
            .store_as(caller)
            .create_courses(courses, !new.allow_duplicate)
            .await
        {
            Ok(created) => created,
            Err(StoreError::Conflict(Conflict::DuplicateCourse { twin })) => {
                return Err(self.twin_refusal(twin).await);
            }
            Err(e) => return Err(e.into()),
        };
        tracing::debug!(courses = created.len(), "group course logged");
        for id in ids {
            self.after_change(id).await;
        }
        Ok(created)
    }

    /// The refusal of a group log because a holder has course `twin` (same title, date and
    /// amount), naming the holder; 0: the group named one holder twice with the same course.
    async fn twin_refusal(&self, twin: u64) -> ServiceError {
        let holder = match self.store.course(twin).await {
            Ok(c) => self.store.holder(c.holder_id).await.ok(),
            Err(_) => None,
        };
        match holder {
            Some(h) => ServiceError::AlreadyExists(format!(
                "{} ({}) has {} (same title, date and amount); log it anyway with allow_duplicate",
                h.name,
                IdKind::Holder.format(h.id),
                IdKind::Course.format(twin)
            )),
            None => StoreError::Conflict(Conflict::DuplicateCourse { twin }).into(),
        }
    }

    /// A course by id.
    pub async fn get_course(&self, caller: &Caller, id: u64) -> ServiceResult<Course> {
        let course = self.store.course(id).await?;
        self.visible(caller, IdKind::Course, id, course.holder_id)?;
        Ok(course)
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
        let updated = self.store_as(caller).update_course(course).await?;
        self.after_change(holder.id).await;
        Ok(updated)
    }

    /// Deletes a course.
    pub async fn delete_course(&self, caller: &Caller, id: u64) -> ServiceResult<()> {
        let course = self.get_course(caller, id).await?;
        self.store_as(caller).delete_course(id).await?;
        self.after_change(course.holder_id).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::service::{NewCredential, NewHolder, ServiceError};
    use crate::store::{SledStore, StoreOptions};
    use jiff::civil::date;
    use std::sync::Arc;
    use tokio::sync::Notify;

    fn service(dir: &std::path::Path, now: &str) -> Service<SledStore> {
        let store = SledStore::open(dir, &StoreOptions::default()).unwrap();
        let clock = Arc::new(ManualClock::new(now.parse().unwrap()));
        Service::new(store, clock, Arc::new(Notify::new()))
    }

    async fn holder(service: &Service<SledStore>, name: &str, zone: &str) -> u64 {
        let new = NewHolder {
            name: name.into(),
            email: String::new(),
            time_zone: Some(zone.into()),
            hired_on: None,
        };
        let entry = service.create_holder(&Caller::LocalOperator, new).await;
        entry.unwrap().holder.id
    }

    fn course(holder: u64, completed_on: Option<Date>, pins: Vec<u64>) -> NewCourse {
        NewCourse {
            holder: HolderRef::Id(holder),
            title: "Sharps safety".into(),
            provider: String::new(),
            accreditation: String::new(),
            completed_on,
            amount: Credits(100),
            unit: Unit::Hours,
            categories: vec!["safety".into()],
            format: None,
            credential_ids: pins,
            evidence: String::new(),
            allow_duplicate: false,
        }
    }

    #[tokio::test]
    async fn an_undated_course_is_dated_the_holders_today_in_their_zone() {
        let dir = tempfile::tempdir().unwrap();
        // 03:00 UTC on 1 March is still 28 February in Chicago.
        let service = service(dir.path(), "2025-03-01T03:00:00Z");
        let chicago = holder(&service, "Ana Ruiz", "America/Chicago").await;
        let utc = holder(&service, "Ben Okafor", "UTC").await;
        let caller = Caller::LocalOperator;

        let logged = service.create_course(&caller, course(chicago, None, vec![]));
        assert_eq!(logged.await.unwrap().completed_on, date(2025, 2, 28));
        let logged = service.create_course(&caller, course(utc, None, vec![]));
        assert_eq!(logged.await.unwrap().completed_on, date(2025, 3, 1));

        // The same day is "the future" for one holder and not for the other.
        let err = service
            .create_course(&caller, course(chicago, Some(date(2025, 3, 1)), vec![]))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "course.completed_on (2025-03-01) is in the future (today is 2025-02-28)"
        );
        assert!(matches!(err, ServiceError::Invalid(_)));
    }

    #[tokio::test]
    async fn a_course_pinned_to_another_holders_credential_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path(), "2025-03-01T12:00:00Z");
        let ana = holder(&service, "Ana Ruiz", "UTC").await;
        let ben = holder(&service, "Ben Okafor", "UTC").await;
        let caller = Caller::LocalOperator;
        let bens = service
            .create_credential(
                &caller,
                NewCredential {
                    holder: HolderRef::Id(ben),
                    program: "nha-cpt".into(),
                    number: String::new(),
                    issued_on: None,
                    expires_on: date(2026, 6, 30),
                },
            )
            .await
            .unwrap();

        let err = service
            .create_course(&caller, course(ana, None, vec![bens.id]))
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::FailedPrecondition(_)));
        assert_eq!(
            err.to_string(),
            format!(
                "credential {} belongs to another holder",
                IdKind::Credential.format(bens.id)
            )
        );
        // Nothing was written; Ben's own course may be pinned to it.
        let page = service.list_courses(&caller, HolderRef::Id(ana), None, 10);
        assert!(page.await.unwrap().items.is_empty());
        let pinned = service.create_course(&caller, course(ben, None, vec![bens.id]));
        assert_eq!(pinned.await.unwrap().credential_ids, vec![bens.id]);
    }

    #[tokio::test]
    async fn a_credential_needs_a_program_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path(), "2025-03-01T12:00:00Z");
        let ana = holder(&service, "Ana Ruiz", "UTC").await;
        let err = service
            .create_credential(
                &Caller::LocalOperator,
                NewCredential {
                    holder: HolderRef::Default,
                    program: "no-such-program".into(),
                    number: String::new(),
                    issued_on: None,
                    expires_on: date(2026, 6, 30),
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::NotFound(_)));
        assert_eq!(
            err.to_string(),
            "program \"no-such-program\" not found (see: recert program list)"
        );
        let page = service.list_credentials(&Caller::LocalOperator, HolderRef::Id(ana), None, 10);
        assert!(page.await.unwrap().items.is_empty());
    }
}
