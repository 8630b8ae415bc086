//! Programs: the built-in catalog, custom programs and local overrides of built-in ones, and
//! which of them is in force for a slug.

use super::{Caller, Service, ServiceError, ServiceResult};
use crate::catalog;
use crate::domain::{FieldError, Program};
use crate::store::{Cursor, Page, Store, StoreError};

/// Where the program in force for a slug comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The built-in catalog, unchanged.
    BuiltIn,
    /// A local program with no built-in one of that slug.
    Custom,
    /// A local program replacing the built-in one of that slug.
    Override,
}

/// A program in force, with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramEntry {
    /// The program.
    pub program: Program,
    /// Where it comes from.
    pub origin: Origin,
}

impl ProgramEntry {
    fn new(program: Program, local: bool) -> Self {
        let builtin = catalog::find(&program.slug).is_some();
        let origin = match (builtin, local) {
            (true, false) => Origin::BuiltIn,
            (true, true) => Origin::Override,
            (false, _) => Origin::Custom,
        };
        ProgramEntry { program, origin }
    }
}

/// Validates `program`, and that only an override of a built-in program names local fields.
fn check_local_fields(program: &Program) -> ServiceResult<()> {
    program.validate()?;
    if !program.local_fields.is_empty() && catalog::find(&program.slug).is_none() {
        return Err(ServiceError::Invalid(vec![FieldError::new(
            "program.local_fields",
            format!(
                "program.local_fields: {} is not a built-in program; only an override of one \
                 names local fields",
                program.slug
            ),
        )]));
    }
    Ok(())
}

impl<S: Store> Service<S> {
    /// The program in force for `slug`, with where it comes from.
    pub async fn get_program(&self, _caller: &Caller, slug: &str) -> ServiceResult<ProgramEntry> {
        let local = self.store.local_program(slug).await?;
        let program = self.program(slug).await?;
        Ok(ProgramEntry::new(program, local.is_some()))
    }

    /// Every program in force, by slug (local ones replace built-in ones), after the slug
    /// `after` holds.
    pub async fn list_programs(
        &self,
        _caller: &Caller,
        after: Option<&Cursor>,
        limit: usize,
    ) -> ServiceResult<Page<ProgramEntry>> {
        // Program pages continue after a slug, which is all their cursor holds; any other
        // bytes are a cursor this server did not issue.
        let after = after
            .map(|c| String::from_utf8(c.bytes().to_vec()).map_err(|_| StoreError::BadCursor))
            .transpose()?;
        let local = self.store.local_programs().await?;
        let builtin: Vec<ProgramEntry> = catalog::builtin()
            .iter()
            .filter(|b| !local.iter().any(|l| l.slug == b.slug))
            .map(|b| ProgramEntry::new(b.clone(), false))
            .collect();
        let mut all: Vec<ProgramEntry> = builtin
            .into_iter()
            .chain(
                local
                    .into_iter()
                    .map(|l| ProgramEntry::new(catalog::in_force(l), true)),
            )
            .filter(|p| after.as_deref().is_none_or(|a| p.program.slug.as_str() > a))
            .collect();
        all.sort_by(|a, b| a.program.slug.cmp(&b.program.slug));
        let more = all.len() > limit;
        all.truncate(limit);
        let next = if more {
            all.last()
                .map(|p| Cursor::new(p.program.slug.clone().into_bytes()))
        } else {
            None
        };
        Ok(Page { items: all, next })
    }

    /// Creates a local program: a custom one, or an override of a built-in one.
    pub async fn create_program(
        &self,
        caller: &Caller,
        program: Program,
    ) -> ServiceResult<ProgramEntry> {
        caller.require_admin("adding a program")?;
        check_local_fields(&program)?;
        let stored = self.store_as(caller).put_program(program, true).await?;
        tracing::info!(program = %stored.slug, by = %caller.who(), "local program created");
        Ok(ProgramEntry::new(catalog::in_force(stored), true))
    }

    /// Replaces a local program.
    pub async fn update_program(
        &self,
        caller: &Caller,
        program: Program,
    ) -> ServiceResult<ProgramEntry> {
        caller.require_admin("changing a program")?;
        check_local_fields(&program)?;
        let stored = self.store_as(caller).put_program(program, false).await?;
        tracing::info!(program = %stored.slug, by = %caller.who(), "local program changed");
        Ok(ProgramEntry::new(catalog::in_force(stored), true))
    }

    /// Deletes a local program. A custom one is refused while credentials use it; deleting an
    /// override puts the built-in program back in force, so it may go at any time.
    pub async fn delete_program(&self, caller: &Caller, slug: &str) -> ServiceResult<()> {
        caller.require_admin("deleting a program")?;
        let custom = catalog::find(slug).is_none();
        Ok(self.store_as(caller).delete_program(slug, custom).await?)
    }
}
