//! Competency assessments: which skills a holder is assessed on, logging an assessment, and
//! where each skill stands (the schedule itself is `domain::CompetencyProgram::next_due`).

use super::{Caller, HolderRef, Service, ServiceError, ServiceResult};
use crate::catalog;
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

/// The competency program for `slug`, or "not found" naming the field.
pub fn competency_program(slug: &str) -> ServiceResult<&'static CompetencyProgram> {
    catalog::competency(slug.trim()).ok_or_else(|| {
        let known: Vec<&str> = catalog::competencies()
            .iter()
            .map(|c| c.slug.as_str())
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

/// Every skill of `holder` as it stands on `today`.
pub fn standings_of(holder: &Holder, today: Date) -> Vec<SkillStanding> {
    holder
        .competencies
        .iter()
        .map(|skill| {
            let next_due = catalog::competency(&skill.program)
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

    /// The built-in competency programs.
    pub fn competency_programs(&self) -> &'static [CompetencyProgram] {
        catalog::competencies()
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
        let program = competency_program(program)?;
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
        self.skill_standing(&record, &program.slug, skill)
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
        let program = competency_program(&new.program)?;
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
        self.skill_standing(&record, &program.slug, skill)
    }

    /// Every tracked skill of the holders asked for, on each holder's today.
    pub async fn competency_status(
        &self,
        caller: &Caller,
        holders: &[u64],
    ) -> ServiceResult<Vec<SkillStanding>> {
        let mut rows = Vec::new();
        for id in holders {
            let holder = self.holder(caller, *id).await?;
            rows.extend(standings_of(&holder, self.today(&holder)));
        }
        Ok(rows)
    }

    fn skill_standing(
        &self,
        holder: &Holder,
        program: &str,
        skill: &str,
    ) -> ServiceResult<SkillStanding> {
        standings_of(holder, self.today(holder))
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
