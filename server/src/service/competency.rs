//! Competency assessments: which skills a holder is assessed on, logging an assessment, and
//! where each skill stands (the schedule itself is `domain::CompetencyProgram::next_due`).

use super::{Caller, HolderRef, Service, ServiceError, ServiceResult};
use crate::catalog::{self, Competencies, CompetencyOrigin};
use crate::domain::{
    Assessment, CompetencyProgram, CompetencySkill, CompetencyStatus, FieldError, Holder, Role,
    validate_skill,
};
use crate::store::Store;
use jiff::civil::Date;

/// Where one skill of one holder stands on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillStanding {
    /// The holder's id.
    pub holder_id: u64,
    /// The holder's name.
    pub holder_name: String,
    /// The program's slug.
    pub program: String,
    /// The skill.
    pub skill: String,
    /// The latest assessment, if any.
    pub last: Option<Assessment>,
    /// How many assessments the skill has.
    pub assessments: usize,
    /// When the next one is due; `None` when unscheduled.
    pub next_due: Option<Date>,
    /// Its status on the holder's today.
    pub status: CompetencyStatus,
}

/// An assessment as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssessment {
    /// The program's slug.
    pub program: String,
    /// The skill assessed.
    pub skill: String,
    /// The day; `None` for the holder's today.
    pub assessed_on: Option<Date>,
    /// The rest of the assessment (its date is replaced by `assessed_on`).
    pub assessment: Assessment,
}

/// The competency program in force for `slug` among `competencies`, or an invalid `program`
/// naming the ones there are.
pub fn competency_program<'a>(
    competencies: &'a Competencies,
    slug: &str,
) -> ServiceResult<&'a CompetencyProgram> {
    competencies.find(slug.trim()).ok_or_else(|| {
        let known: Vec<&str> = competencies
            .in_force()
            .iter()
            .map(|(c, _)| c.slug.as_str())
            .collect();
        ServiceError::Invalid(vec![FieldError::new(
            "program",
            format!(
                "program {:?} is not a competency program (one of: {})",
                slug.trim(),
                known.join(", ")
            ),
        )])
    })
}

/// Every skill of `holder` as it stands on `today`, under the competency programs in force.
pub fn standings_of(
    holder: &Holder,
    today: Date,
    competencies: &Competencies,
) -> Vec<SkillStanding> {
    holder
        .competencies
        .iter()
        .map(|skill| {
            let next_due = competencies
                .find(&skill.program)
                .and_then(|p| p.next_due(holder.hired_on, skill));
            SkillStanding {
                holder_id: holder.id,
                holder_name: holder.name.clone(),
                program: skill.program.clone(),
                skill: skill.skill.clone(),
                last: skill.assessments.last().cloned(),
                assessments: skill.assessments.len(),
                next_due,
                status: CompetencyProgram::status(next_due, today),
            }
        })
        .collect()
}

/// A competency program in force, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetencyEntry {
    /// The program.
    pub program: CompetencyProgram,
    /// Built in, or stored by the lab.
    pub origin: CompetencyOrigin,
    /// Whether a built-in program of its slug ships (a stored one then replaces it).
    pub overrides_builtin: bool,
}

impl CompetencyEntry {
    fn new(program: CompetencyProgram, origin: CompetencyOrigin) -> Self {
        let overrides_builtin =
            origin == CompetencyOrigin::Local && catalog::competency(&program.slug).is_some();
        CompetencyEntry {
            program,
            origin,
            overrides_builtin,
        }
    }
}

/// Trims what a person typed into a program's text fields.
fn tidy(mut program: CompetencyProgram) -> CompetencyProgram {
    program.slug = program.slug.trim().to_string();
    program.name = program.name.trim().to_string();
    program.notes = program.notes.trim().to_string();
    for e in &mut program.elements {
        *e = e.trim().to_string();
    }
    for s in &mut program.sources {
        *s = s.trim().to_string();
    }
    program
}

impl<S: Store> Service<S> {
    /// The holder a value names: `"default"`, an id, or an exact name (unique among the
    /// holders the caller may see).
    pub async fn holder_named(
        &self,
        caller: &Caller,
        field: &str,
        value: &str,
    ) -> ServiceResult<u64> {
        if let Ok(holder) = HolderRef::parse(field, value) {
            return self.resolve_holder(caller, holder).await;
        }
        let wanted = value.trim();
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_holders(caller, after.as_ref(), 1000).await?;
            found.extend(
                page.items
                    .iter()
                    .filter(|e| e.holder.name.eq_ignore_ascii_case(wanted))
                    .map(|e| e.holder.id),
            );
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        match found.as_slice() {
            [id] => Ok(*id),
            [] => Err(ServiceError::NotFound(format!(
                "holder {wanted:?} not found (see: recert holder list)"
            ))),
            _ => Err(ServiceError::Invalid(vec![FieldError::new(
                field,
                format!("{field} {wanted:?} names several holders; use the id"),
            )])),
        }
    }

    /// The competency programs in force: the built-in ones with the lab's stored ones over
    /// them (read from the store, so every daemon on one database agrees).
    pub async fn competencies(&self) -> ServiceResult<Competencies> {
        Ok(Competencies::new(self.store.competency_programs().await?))
    }

    /// Every competency program in force, by slug, each marked built-in or local.
    pub async fn list_competency_programs(
        &self,
        _caller: &Caller,
    ) -> ServiceResult<Vec<CompetencyEntry>> {
        let competencies = self.competencies().await?;
        Ok(competencies
            .in_force()
            .into_iter()
            .map(|(p, origin)| CompetencyEntry::new(p.clone(), origin))
            .collect())
    }

    /// Stores a lab's competency program (admin): a new slug adds one, a built-in slug
    /// replaces the built-in program (an edit of it). The competency index of every holder
    /// with a skill on it is rewritten in the same transaction, so the next alert moves.
    pub async fn create_competency_program(
        &self,
        caller: &Caller,
        program: CompetencyProgram,
    ) -> ServiceResult<CompetencyEntry> {
        caller.require_admin("adding a competency program")?;
        let program = tidy(program);
        program.validate()?;
        let stored = self
            .store_as(caller)
            .put_competency_program(program, true)
            .await?;
        tracing::info!(program = %stored.slug, by = %caller.who(), "competency program stored");
        self.wake_alerts();
        Ok(CompetencyEntry::new(stored, CompetencyOrigin::Local))
    }

    /// Replaces a stored competency program (admin); as [`Service::create_competency_program`].
    pub async fn update_competency_program(
        &self,
        caller: &Caller,
        program: CompetencyProgram,
    ) -> ServiceResult<CompetencyEntry> {
        caller.require_admin("changing a competency program")?;
        let program = tidy(program);
        program.validate()?;
        let stored = self
            .store_as(caller)
            .put_competency_program(program, false)
            .await?;
        tracing::info!(program = %stored.slug, by = %caller.who(), "competency program changed");
        self.wake_alerts();
        Ok(CompetencyEntry::new(stored, CompetencyOrigin::Local))
    }

    /// Deletes a stored competency program (admin). A lab's own is refused while holders have
    /// skills on it; deleting an edit of a built-in program puts the built-in one back in
    /// force, so it may go at any time.
    pub async fn delete_competency_program(
        &self,
        caller: &Caller,
        slug: &str,
    ) -> ServiceResult<()> {
        caller.require_admin("deleting a competency program")?;
        let slug = slug.trim();
        let custom = catalog::competency(slug).is_none();
        self.store_as(caller)
            .delete_competency_program(slug, custom)
            .await?;
        tracing::info!(program = %slug, by = %caller.who(), "competency program deleted");
        self.wake_alerts();
        Ok(())
    }

    /// Starts tracking `skill` under `program` for a holder (admin, or a supervisor of one of
    /// the holder's teams); a skill already tracked is left as it is.
    pub async fn assign_competency(
        &self,
        caller: &Caller,
        holder: u64,
        program: &str,
        skill: &str,
    ) -> ServiceResult<SkillStanding> {
        let _edit = self.holder_edits.lock().await;
        let mut record = self.holder(caller, holder).await?;
        require_assessor(caller)?;
        let competencies = self.competencies().await?;
        let program = competency_program(&competencies, program)?;
        validate_skill(skill)?;
        let skill = skill.trim();
        if find_skill(&record, &program.slug, skill).is_none() {
            record.competencies.push(CompetencySkill {
                program: program.slug.clone(),
                skill: skill.to_string(),
                assessments: Vec::new(),
            });
            record = self.store_as(caller).update_holder(record, false).await?;
            self.wake_alerts();
        }
        self.skill_standing(&record, &program.slug, skill, &competencies)
    }

    /// Logs one assessment (admin, or a supervisor of one of the holder's teams).
    pub async fn log_assessment(
        &self,
        caller: &Caller,
        holder: u64,
        new: NewAssessment,
    ) -> ServiceResult<SkillStanding> {
        // Read, append, write back under the lock: two assessments logged at once both stay.
        let _edit = self.holder_edits.lock().await;
        let mut record = self.holder(caller, holder).await?;
        require_assessor(caller)?;
        let competencies = self.competencies().await?;
        let program = competency_program(&competencies, &new.program)?;
        let mut errors = Vec::new();
        if let Err(e) = validate_skill(&new.skill) {
            errors.push(e);
        }
        let mut assessment = new.assessment;
        assessment.assessed_on = new.assessed_on.unwrap_or_else(|| self.today(&record));
        assessment.assessor = assessment.assessor.trim().to_string();
        if let Err(e) = assessment.validate(program) {
            errors.extend(e);
        }
        if !errors.is_empty() {
            return Err(ServiceError::Invalid(errors));
        }
        let skill = new.skill.trim();
        let index = match find_skill(&record, &program.slug, skill) {
            Some(i) => i,
            None => {
                record.competencies.push(CompetencySkill {
                    program: program.slug.clone(),
                    skill: skill.to_string(),
                    assessments: Vec::new(),
                });
                record.competencies.len() - 1
            }
        };
        let list = &mut record.competencies[index].assessments;
        let at = list.partition_point(|a| a.assessed_on <= assessment.assessed_on);
        list.insert(at, assessment);
        let record = self.store_as(caller).update_holder(record, false).await?;
        self.wake_alerts();
        self.skill_standing(&record, &program.slug, skill, &competencies)
    }

    /// Every tracked skill of the holders asked for, on each holder's today.
    pub async fn competency_status(
        &self,
        caller: &Caller,
        holders: &[u64],
    ) -> ServiceResult<Vec<SkillStanding>> {
        let competencies = self.competencies().await?;
        let mut rows = Vec::new();
        for id in holders {
            let holder = self.holder(caller, *id).await?;
            rows.extend(standings_of(&holder, self.today(&holder), &competencies));
        }
        Ok(rows)
    }

    fn skill_standing(
        &self,
        holder: &Holder,
        program: &str,
        skill: &str,
        competencies: &Competencies,
    ) -> ServiceResult<SkillStanding> {
        standings_of(holder, self.today(holder), competencies)
            .into_iter()
            .find(|s| s.program == program && s.skill.eq_ignore_ascii_case(skill))
            .ok_or_else(|| ServiceError::NotFound(format!("skill {skill:?} not found")))
    }
}

/// Assessments are recorded by admins and supervisors, not by the person assessed.
fn require_assessor(caller: &Caller) -> ServiceResult<()> {
    match caller {
        Caller::Token(p) if p.role == Role::Holder => Err(ServiceError::PermissionDenied(
            "recording a competency assessment needs a supervisor or admin token".into(),
        )),
        _ => Ok(()),
    }
}

fn find_skill(holder: &Holder, program: &str, skill: &str) -> Option<usize> {
    holder
        .competencies
        .iter()
        .position(|c| c.program == program && c.skill.eq_ignore_ascii_case(skill))
}
