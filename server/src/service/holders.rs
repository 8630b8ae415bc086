//! Holders: creating, reading, changing and deleting the people who hold credentials, and
//! resolving the holder a request names (`"default"` or an id).

use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{FieldError, Holder, IdKind, parse_id};
use crate::store::{Cursor, Page, Store};
use jiff::civil::Date;

/// The holder a request names: the default holder, or one by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderRef {
    /// The default holder (the first one created, unless another was made the default).
    Default,
    /// A holder by id.
    Id(u64),
}

impl HolderRef {
    /// Parses what a user typed for `field`: `"default"`, or a holder id.
    pub fn parse(field: &str, value: &str) -> Result<HolderRef, FieldError> {
        if value.trim() == "default" {
            return Ok(HolderRef::Default);
        }
        parse_id(IdKind::Holder, field, value).map(HolderRef::Id)
    }
}

/// A holder as the edges show it: the record, and whether it is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderEntry {
    /// The holder.
    pub holder: Holder,
    /// Whether requests naming `"default"` mean this holder.
    pub is_default: bool,
}

/// A holder to create, as given (trimmed by the edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHolder {
    /// Display name.
    pub name: String,
    /// E-mail address for alerts; empty for none.
    pub email: String,
    /// IANA time zone; `None` is UTC.
    pub time_zone: Option<String>,
    /// Hire date, for competency schedules.
    pub hired_on: Option<Date>,
}

/// Changes to a holder: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolderPatch {
    /// New display name.
    pub name: Option<String>,
    /// New e-mail address (empty for none).
    pub email: Option<String>,
    /// New time zone.
    pub time_zone: Option<String>,
    /// New hire date.
    pub hired_on: Option<Date>,
    /// Makes the holder the default one.
    pub make_default: bool,
}

impl<S: Store> Service<S> {
    /// The id of the holder `holder` names; `"default"` needs a holder to exist.
    /// For a holder or supervisor token, `"default"` is the token's own holder; a holder the
    /// caller may not see is "not found", as if absent.
    pub async fn resolve_holder(&self, caller: &Caller, holder: HolderRef) -> ServiceResult<u64> {
        match holder {
            HolderRef::Id(id) => {
                self.visible(caller, IdKind::Holder, id, id)?;
                Ok(id)
            }
            HolderRef::Default if caller.own_holder().is_some() => {
                Ok(caller.own_holder().unwrap_or_default())
            }
            HolderRef::Default => self.store.default_holder_id().await?.ok_or_else(|| {
                ServiceError::NotFound(
                    "no holder exists yet; create one first (recert holder add NAME)".into(),
                )
            }),
        }
    }

    /// An existing holder, by reference.
    pub async fn find_holder(&self, caller: &Caller, holder: HolderRef) -> ServiceResult<Holder> {
        let id = self.resolve_holder(caller, holder).await?;
        self.holder(caller, id).await
    }

    /// Creates a holder (the first one becomes the default); the alert engine re-plans.
    pub async fn create_holder(
        &self,
        caller: &Caller,
        new: NewHolder,
    ) -> ServiceResult<HolderEntry> {
        caller.require_admin("adding a holder")?;
        let holder = Holder {
            id: 0,
            name: new.name,
            email: new.email,
            time_zone: new.time_zone.unwrap_or_else(|| "UTC".into()),
            hired_on: new.hired_on,
            competencies: Vec::new(),
        };
        holder.validate()?;
        let created = self.store_as(caller).create_holder(holder).await?;
        self.wake_alerts();
        self.entry(created).await
    }

    /// A holder, with whether it is the default.
    pub async fn get_holder(
        &self,
        caller: &Caller,
        holder: HolderRef,
    ) -> ServiceResult<HolderEntry> {
        let holder = self.find_holder(caller, holder).await?;
        self.entry(holder).await
    }

    /// A page of holders in id order, after `after`.
    /// Only the holders the caller may see are listed.
    pub async fn list_holders(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: usize,
    ) -> ServiceResult<Page<HolderEntry>> {
        let default = self.store.default_holder_id().await?;
        let entry = |holder: Holder| HolderEntry {
            is_default: default == Some(holder.id),
            holder,
        };
        if caller.sees_all() {
            let page = self.store.list_holders(after, limit).await?;
            return Ok(Page {
                items: page.items.into_iter().map(entry).collect(),
                next: page.next,
            });
        }
        let mut after = after.cloned();
        let mut items = Vec::new();
        loop {
            let page = self.store.list_holders(after.as_ref(), limit).await?;
            for holder in page.items {
                after = Some(self.store.id_cursor(holder.id));
                if caller.sees(holder.id) {
                    items.push(entry(holder));
                    if items.len() == limit {
                        return Ok(Page { items, next: after });
                    }
                }
            }
            if page.next.is_none() {
                return Ok(Page { items, next: None });
            }
        }
    }

    /// Changes a holder; a new time zone moves their alert times, so the engine re-plans.
    pub async fn update_holder(
        &self,
        caller: &Caller,
        holder: HolderRef,
        patch: HolderPatch,
    ) -> ServiceResult<HolderEntry> {
        // The same lock as competency logging: an edit must not drop an assessment logged
        // between its read and its write.
        let _edit = self.holder_edits.lock().await;
        let mut holder = self.find_holder(caller, holder).await?;
        if patch.make_default {
            caller.require_admin("choosing the default holder")?;
        }
        if let Some(name) = patch.name {
            holder.name = name;
        }
        if let Some(email) = patch.email {
            holder.email = email;
        }
        if let Some(time_zone) = patch.time_zone {
            holder.time_zone = time_zone;
        }
        if let Some(hired_on) = patch.hired_on {
            holder.hired_on = Some(hired_on);
        }
        holder.validate()?;
        let updated = self
            .store_as(caller)
            .update_holder(holder, patch.make_default)
            .await?;
        self.reach_holder_address(&updated).await?;
        self.wake_alerts();
        self.entry(updated).await
    }

    /// Deletes a holder; with `force` everything of theirs goes too (the store cascades),
    /// else it is refused while they have credentials or courses.
    pub async fn delete_holder(
        &self,
        caller: &Caller,
        holder: HolderRef,
        force: bool,
    ) -> ServiceResult<()> {
        let id = self.resolve_holder(caller, holder).await?;
        caller.require_admin("deleting a holder")?;
        self.store_as(caller).delete_holder(id, force).await?;
        self.forget_holder_in_teams(caller, id).await?;
        tracing::info!(holder = %IdKind::Holder.format(id), by = %caller.who(), "holder deleted");
        Ok(())
    }

    async fn entry(&self, holder: Holder) -> ServiceResult<HolderEntry> {
        let default = self.store.default_holder_id().await?;
        Ok(HolderEntry {
            is_default: default == Some(holder.id),
            holder,
        })
    }
}
