//! Credentials: programs held by holders, and renewing them into the next cycle.
//!
//! The rules across records: the holder and the program must exist when a credential is
//! created, a holder holds a program once (the store refuses a second one with a
//! [`crate::store::Conflict`]), and deleting a credential unpins it from its courses (the
//! store does it in the same write; only with `force` when courses are pinned to it). A
//! renewal freezes what the closed cycle counted and is refused while the cycle is unmet or
//! the credential has lapsed, unless forced; the last renewal can be undone exactly. After
//! every write the holder's alerts are re-checked.

use super::holders::HolderRef;
use super::{Caller, Service, ServiceError, ServiceResult};
use crate::domain::{
    Credential, Credits, CycleOutcome, IdKind, PastCycle, Role, Status, Verification,
    VerificationResult,
};
use crate::store::{Cursor, Page, Store};
use jiff::ToSpan;
use jiff::civil::Date;

/// A credential to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// Who holds it.
    pub holder: HolderRef,
    /// The program's slug.
    pub program: String,
    /// Certificate number; empty if unknown.
    pub number: String,
    /// Issue date of the current cycle, if known.
    pub issued_on: Option<Date>,
    /// Expiry date of the current cycle.
    pub expires_on: Date,
}

/// Changes to a credential: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialPatch {
    /// New certificate number (empty for none).
    pub number: Option<String>,
    /// New issue date (`Some(None)` clears it).
    pub issued_on: Option<Option<Date>>,
    /// New expiry date.
    pub expires_on: Option<Date>,
}

/// A renewal into the next cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renewal {
    /// When it was renewed; `None` is the holder's today.
    pub renewed_on: Option<Date>,
    /// The new expiry; `None` is one program cycle after the current one.
    pub expires_on: Option<Date>,
    /// Renew even though the cycle is unmet or the credential has lapsed.
    pub force: bool,
}

/// A check against the issuing body's registry, as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVerification {
    /// What the registry showed.
    pub result: VerificationResult,
    /// Where it was checked; empty if not given.
    pub source: String,
    /// Who checked; `None` for the caller (the token's name, else its holder's name).
    pub by: Option<String>,
    /// The day of the check; `None` for the holder's today.
    pub on: Option<Date>,
}

/// "1 contact hour", "8 NHA CE credits".
fn amount(amount: Credits, unit: &str) -> String {
    if amount == Credits::whole(1) || unit.ends_with('s') {
        format!("{amount} {unit}")
    } else {
        format!("{amount} {unit}s")
    }
}

impl<S: Store> Service<S> {
    /// Creates a credential for an existing holder and program.
    pub async fn create_credential(
        &self,
        caller: &Caller,
        new: NewCredential,
    ) -> ServiceResult<Credential> {
        let holder_id = self.resolve_holder(caller, new.holder).await?;
        let credential = Credential {
            id: 0,
            holder_id,
            program: new.program,
            number: new.number,
            issued_on: new.issued_on,
            expires_on: new.expires_on,
            history: Vec::new(),
            verifications: Vec::new(),
        };
        credential.validate()?;
        self.holder(caller, holder_id).await?;
        self.program(&credential.program).await?;
        let created = self.store_as(caller).create_credential(credential).await?;
        self.after_change(holder_id).await;
        tracing::info!(credential = %IdKind::Credential.format(created.id), program = %created.program, "credential created");
        Ok(created)
    }

    /// A credential by id.
    pub async fn get_credential(&self, caller: &Caller, id: u64) -> ServiceResult<Credential> {
        let credential = self.store.credential(id).await?;
        self.visible(caller, IdKind::Credential, id, credential.holder_id)?;
        Ok(credential)
    }

    /// A page of an existing holder's credentials, in id order.
    pub async fn list_credentials(
        &self,
        caller: &Caller,
        holder: HolderRef,
        after: Option<&Cursor>,
        limit: usize,
    ) -> ServiceResult<Page<Credential>> {
        let holder = self.find_holder(caller, holder).await?;
        Ok(self.store.list_credentials(holder.id, after, limit).await?)
    }

    /// Changes a credential's number or dates.
    pub async fn update_credential(
        &self,
        caller: &Caller,
        id: u64,
        patch: CredentialPatch,
    ) -> ServiceResult<Credential> {
        let mut credential = self.get_credential(caller, id).await?;
        if let Some(number) = patch.number {
            credential.number = number;
        }
        if let Some(issued_on) = patch.issued_on {
            credential.issued_on = issued_on;
        }
        if let Some(expires_on) = patch.expires_on {
            credential.expires_on = expires_on;
        }
        credential.validate()?;
        // Trial 2.5: moving the expiry back onto a closed cycle left a "past" cycle that
        // overlaps the current one. Taking back a renewal is `renew --undo`.
        if let Some(last) = credential.history.last()
            && credential.expires_on <= last.expires_on
        {
            return Err(ServiceError::invalid(
                "credential.expires_on",
                format!(
                    "credential.expires_on ({}) must be after {}, the end of the cycle closed on {}; to take back that renewal, undo it",
                    credential.expires_on, last.expires_on, last.renewed_on
                ),
            ));
        }
        let updated = self.store_as(caller).update_credential(credential).await?;
        self.after_change(updated.holder_id).await;
        Ok(updated)
    }

    /// Renews a credential: the current cycle goes into its history and the next one starts
    /// where it ended, by default one program cycle long.
    pub async fn renew_credential(
        &self,
        caller: &Caller,
        id: u64,
        renewal: Renewal,
    ) -> ServiceResult<Credential> {
        let mut credential = self.get_credential(caller, id).await?;
        let program = self.program(&credential.program).await?;
        let holder = self.holder(caller, credential.holder_id).await?;
        let renewed_on = renewal.renewed_on.unwrap_or_else(|| self.today(&holder));
        let expires_on = match renewal.expires_on {
            Some(d) => d,
            None => credential
                .expires_on
                .checked_add(i64::from(program.cycle_months).months())
                .map_err(|_| {
                    ServiceError::invalid("expires_on", "the next expiry date is out of range")
                })?,
        };
        if expires_on <= credential.expires_on {
            return Err(ServiceError::invalid(
                "expires_on",
                format!(
                    "expires_on ({expires_on}) must be after the current expiry ({})",
                    credential.expires_on
                ),
            ));
        }
        let closing = self
            .standing(
                &holder,
                Some(program.cycle_end(credential.expires_on, None)),
            )
            .await?
            .iter()
            .find(|(c, _, _)| c.id == id)
            .map(|(_, c, _)| c.clone())
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "credential {} not found",
                    IdKind::Credential.format(id)
                ))
            })?;
        let before = credential.clone();
        credential.history.push(PastCycle {
            issued_on: credential.issued_on,
            expires_on: credential.expires_on,
            renewed_on,
            outcome: Some(CycleOutcome {
                window_start: closing.window_start,
                ends_on: closing.expires_on,
                unit_name: program.unit_name.clone(),
                required: closing.required,
                earned: closing.earned,
                categories: closing.categories.clone(),
                status: closing.status,
                counted: closing.counted.clone(),
            }),
        });
        credential.issued_on = Some(credential.expires_on);
        credential.expires_on = expires_on;
        credential.validate()?;
        if !renewal.force {
            self.check_renewable(&holder, &before, &program, &closing)
                .await?;
        }
        let renewed = self.store_as(caller).update_credential(credential).await?;
        self.after_change(renewed.holder_id).await;
        tracing::info!(credential = %IdKind::Credential.format(id), expires_on = %renewed.expires_on, "credential renewed");
        Ok(renewed)
    }

    /// Refuses a renewal while the closing cycle's requirements are unmet (saying what is
    /// missing) or the credential has lapsed (naming the reinstatement rule the catalog
    /// knows).
    async fn check_renewable(
        &self,
        holder: &crate::domain::Holder,
        credential: &Credential,
        program: &crate::domain::Program,
        closing: &crate::domain::Compliance,
    ) -> ServiceResult<()> {
        let name = IdKind::Credential.format(credential.id);
        let now = self
            .standing(holder, None)
            .await?
            .iter()
            .find(|(c, _, _)| c.id == credential.id)
            .map(|(_, c, _)| c.status);
        if now == Some(Status::Expired) {
            let lapsed_on = closing
                .expires_on
                .checked_add(i64::from(program.grace_days + 1).days())
                .unwrap_or(closing.expires_on);
            let rule = match &program.reinstatement {
                Some(r) if r.sources.is_empty() => {
                    format!("; reinstatement: {}", r.describe(program))
                }
                Some(r) => format!(
                    "; reinstatement: {} ({})",
                    r.describe(program),
                    r.sources.join(", ")
                ),
                None => String::new(),
            };
            return Err(ServiceError::FailedPrecondition(format!(
                "{name} ({}) lapsed on {lapsed_on}{rule}; renew anyway with force",
                program.slug
            )));
        }
        if closing.remaining > Credits::ZERO && !program.requirement_unknown() {
            let categories: Vec<String> = closing
                .categories
                .iter()
                .filter(|c| c.earned < c.required)
                .map(|c| format!("{} {}", c.category, c.required.saturating_sub(c.earned)))
                .collect();
            let detail = if categories.is_empty() {
                String::new()
            } else {
                format!(" (including {})", categories.join(", "))
            };
            return Err(ServiceError::FailedPrecondition(format!(
                "{name} ({}) still needs {}{detail} for the cycle ending {}; renew anyway with force",
                program.slug,
                amount(closing.remaining, &program.unit_name),
                closing.expires_on
            )));
        }
        Ok(())
    }

    /// Records a check of a credential against its issuing body's registry (admin, or a
    /// supervisor of the holder's team; not the holder, and not a supervisor for their own
    /// credential: a check one makes of oneself vouches for nothing). The check vouches for
    /// the cycle current when it is recorded; a renewal leaves the credential unverified.
    pub async fn verify_credential(
        &self,
        caller: &Caller,
        id: u64,
        new: NewVerification,
    ) -> ServiceResult<Credential> {
        let mut credential = self.get_credential(caller, id).await?;
        if let Caller::Token(p) = caller {
            if p.role == Role::Holder {
                return Err(ServiceError::PermissionDenied(
                    "recording a verification needs a supervisor or admin token".into(),
                ));
            }
            if p.role != Role::Admin && p.holder_id == Some(credential.holder_id) {
                return Err(ServiceError::PermissionDenied(format!(
                    "{} is your own credential: its verification is recorded by another supervisor or an admin",
                    IdKind::Credential.format(id)
                )));
            }
        }
        let holder = self.holder(caller, credential.holder_id).await?;
        let today = self.today(&holder);
        let checked_by = match new.by {
            Some(by) => by.trim().to_string(),
            None => self.caller_name(caller).await,
        };
        let verification = Verification {
            checked_on: new.on.unwrap_or(today),
            result: new.result,
            source: new.source.trim().to_string(),
            checked_by,
            cycle_expires_on: credential.expires_on,
        };
        verification.validate(today)?;
        credential.record_verification(verification);
        let verified = self.store_as(caller).update_credential(credential).await?;
        self.after_change(verified.holder_id).await;
        tracing::info!(credential = %IdKind::Credential.format(id), result = new.result.name(), "verification recorded");
        Ok(verified)
    }

    /// Who the caller is, for a record that names them: the token's name, else the name of
    /// the holder it acts for, else the token's id.
    async fn caller_name(&self, caller: &Caller) -> String {
        match caller {
            Caller::Token(p) if !p.token_name.trim().is_empty() => p.token_name.trim().to_string(),
            Caller::Token(p) => match p.holder_id {
                Some(h) => match self.store.holder(h).await {
                    Ok(holder) => holder.name,
                    Err(_) => caller.who(),
                },
                None => caller.who(),
            },
            Caller::LocalOperator => caller.who(),
        }
    }

    /// Reverts the last renewal exactly: the closed cycle's dates come back and its entry,
    /// with the outcome frozen for it, leaves the history.
    pub async fn undo_renewal(&self, caller: &Caller, id: u64) -> ServiceResult<Credential> {
        let mut credential = self.get_credential(caller, id).await?;
        let Some(last) = credential.history.pop() else {
            return Err(ServiceError::FailedPrecondition(format!(
                "{} has no renewal to undo",
                IdKind::Credential.format(id)
            )));
        };
        credential.issued_on = last.issued_on;
        credential.expires_on = last.expires_on;
        credential.validate()?;
        let reverted = self.store_as(caller).update_credential(credential).await?;
        self.after_change(reverted.holder_id).await;
        tracing::info!(credential = %IdKind::Credential.format(id), expires_on = %reverted.expires_on, "renewal undone");
        Ok(reverted)
    }

    /// Deletes a credential; the store unpins it from the holder's courses and drops its
    /// alert settings in the same write. Courses pinned to it only with `force`: unpinned,
    /// they count toward the holder's other credentials.
    pub async fn delete_credential(
        &self,
        caller: &Caller,
        id: u64,
        force: bool,
    ) -> ServiceResult<()> {
        let credential = self.get_credential(caller, id).await?;
        if !force {
            let pinned: Vec<String> = self
                .store
                .courses_of(credential.holder_id)
                .await?
                .iter()
                .filter(|c| c.credential_ids.contains(&id))
                .map(|c| {
                    let rest = c.credential_ids.iter().filter(|&&p| p != id).count();
                    let after = if rest == 0 {
                        "then counts toward every eligible credential"
                    } else {
                        "stays pinned to the others"
                    };
                    format!("{} ({after})", IdKind::Course.format(c.id))
                })
                .collect();
            if !pinned.is_empty() {
                let (courses, are) = if pinned.len() == 1 {
                    ("course is", "it")
                } else {
                    ("courses are", "them")
                };
                return Err(ServiceError::FailedPrecondition(format!(
                    "{} {courses} pinned to {}: {}; removing it unpins {are}; remove anyway with force",
                    pinned.len(),
                    IdKind::Credential.format(id),
                    pinned.join(", ")
                )));
            }
        }
        self.store_as(caller).delete_credential(id).await?;
        self.after_change(credential.holder_id).await;
        Ok(())
    }
}
