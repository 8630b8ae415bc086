//! Competency assessments (CLIA 42 CFR 493.1451(b)(8), 493.1413(b)(8); CAP): the programs
//! that say which elements an assessment covers and when it is due, the assessments a holder
//! has had, and the schedule that follows from the hire date and the last results.

use super::limits::MAX_SOURCES;
use super::validate::{FieldError, MAX_NAME_LEN, MAX_TEXT_LEN};
use jiff::ToSpan;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A competency program: the elements an assessment checks and its schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetencyProgram {
    /// Short name, e.g. `clia-testing`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The elements, numbered from 1 in this order (`--elements 1,2,6`).
    pub elements: Vec<String>,
    /// Months after hire at which the first assessments are due, in order (CLIA: 6, 12).
    pub initial_months: Vec<u32>,
    /// Months from the last passed assessment to the next one, once the initial ones are done.
    pub every_months: u32,
    /// Days after a `remediate` result until the skill is due again.
    pub remediate_days: u32,
    /// Where the rules come from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Why the schedule is what it is, and what is uncertain.
    #[serde(default)]
    pub notes: String,
}

/// The outcome of one assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssessmentResult {
    /// The person performed competently.
    Pass,
    /// The person needs retraining and a new assessment within the program's remediation time.
    Remediate,
}

impl AssessmentResult {
    /// The name users type and read: `pass` or `remediate`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssessmentResult::Pass => "pass",
            AssessmentResult::Remediate => "remediate",
        }
    }

    /// Parses what a user typed for `field`.
    pub fn parse(field: &str, value: &str) -> Result<AssessmentResult, FieldError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "pass" => Ok(AssessmentResult::Pass),
            "remediate" => Ok(AssessmentResult::Remediate),
            _ => Err(FieldError::new(
                field,
                format!("{field} {value:?} is not one of: pass, remediate"),
            )),
        }
    }
}

/// One assessment of one skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The day it took place.
    pub assessed_on: Date,
    /// Who assessed (a qualified technical consultant, supervisor or delegate).
    pub assessor: String,
    /// The program's elements it covered, numbered from 1, ascending, no repeats.
    pub elements: Vec<u32>,
    /// The result.
    pub result: AssessmentResult,
    /// Free text; empty for none.
    pub note: String,
}

/// A skill (a test system, or a task such as venipuncture) a holder is assessed on under a
/// program, with every assessment of it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompetencySkill {
    /// The program's slug.
    pub program: String,
    /// The skill, as the lab names it.
    pub skill: String,
    /// Assessments in date order (ties keep the order they were logged in).
    pub assessments: Vec<Assessment>,
}

/// Where a skill stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompetencyStatus {
    /// The next assessment is more than 30 days away.
    Current,
    /// The next assessment is due within 30 days.
    DueSoon,
    /// The due date has passed.
    Overdue,
    /// Nothing to count from: no hire date and no assessment yet.
    Unscheduled,
}

impl CompetencyStatus {
    /// The name shown and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CompetencyStatus::Current => "current",
            CompetencyStatus::DueSoon => "due_soon",
            CompetencyStatus::Overdue => "overdue",
            CompetencyStatus::Unscheduled => "unscheduled",
        }
    }
}

/// Days before the due date from which a skill is `due_soon`.
pub const DUE_SOON_DAYS: i64 = 30;

impl CompetencyProgram {
    /// The day the next assessment of `skill` is due, for a holder hired on `hired_on`.
    ///
    /// A `remediate` as the latest result makes it due `remediate_days` after it. Otherwise
    /// the passed assessments count off the initial dues one each (CLIA: at 6 and at 12 months
    /// after hire, each assessed whenever it happened), and after them it is due `every_months`
    /// after the last pass. Without a hire date, the initial dues are skipped: it is due
    /// `every_months` after the last pass, and unknown before any assessment.
    pub fn next_due(&self, hired_on: Option<Date>, skill: &CompetencySkill) -> Option<Date> {
        let latest = skill.assessments.last();
        if let Some(last) = latest
            && last.result == AssessmentResult::Remediate
        {
            return last
                .assessed_on
                .checked_add(i64::from(self.remediate_days).days())
                .ok();
        }
        let passes = skill
            .assessments
            .iter()
            .filter(|a| a.result == AssessmentResult::Pass)
            .count();
        let last_pass = skill
            .assessments
            .iter()
            .rev()
            .find(|a| a.result == AssessmentResult::Pass)
            .map(|a| a.assessed_on);
        if let Some(hired) = hired_on
            && let Some(months) = self.initial_months.get(passes)
        {
            return hired.checked_add(i64::from(*months).months()).ok();
        }
        last_pass.and_then(|d| d.checked_add(i64::from(self.every_months).months()).ok())
    }

    /// The status of a skill due on `next_due`, on `today`.
    pub fn status(next_due: Option<Date>, today: Date) -> CompetencyStatus {
        match next_due {
            None => CompetencyStatus::Unscheduled,
            Some(due) if due < today => CompetencyStatus::Overdue,
            Some(due) if (due - today).get_days() <= DUE_SOON_DAYS as i32 => {
                CompetencyStatus::DueSoon
            }
            Some(_) => CompetencyStatus::Current,
        }
    }

    /// Checks a program's own fields, sizes first (so an oversized list is refused before
    /// its entries are read): the slug's shape, the name, 1..=[`MAX_COMPETENCY_ELEMENTS`]
    /// elements each non-empty and bounded, the schedule within sane bounds, the sources.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| errors.push(FieldError::new(field, message));
        let sizes = [
            (
                "competency.elements",
                self.elements.len(),
                MAX_COMPETENCY_ELEMENTS,
            ),
            (
                "competency.initial_months",
                self.initial_months.len(),
                MAX_INITIAL_DUES,
            ),
            ("competency.sources", self.sources.len(), MAX_SOURCES),
        ];
        let mut oversized = false;
        for (field, len, max) in sizes {
            if len > max {
                fail(field, format!("{field} may hold at most {max} entries"));
                oversized = true;
            }
        }
        if oversized {
            return Err(errors);
        }
        let slug_ok = !self.slug.is_empty()
            && self.slug.len() <= 48
            && self
                .slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.slug.starts_with('-');
        if !slug_ok {
            fail(
                "competency.slug",
                "competency.slug must be 1 to 48 characters of a-z, 0-9 and '-', not starting with '-'"
                    .into(),
            );
        }
        if let Some(message) = text_problem("competency.name", &self.name, true, MAX_NAME_LEN) {
            fail("competency.name", message);
        }
        if let Some(message) = text_problem("competency.notes", &self.notes, false, MAX_TEXT_LEN) {
            fail("competency.notes", message);
        }
        if self.elements.is_empty() {
            fail(
                "competency.elements",
                "competency.elements needs at least one element".into(),
            );
        }
        for (i, element) in self.elements.iter().enumerate() {
            let field = format!("competency.elements[{}]", i + 1);
            if let Some(message) = text_problem(&field, element, true, MAX_ELEMENT_LEN) {
                fail("competency.elements", message);
            }
        }
        if self
            .initial_months
            .iter()
            .any(|m| !(1..=MAX_MONTHS).contains(m))
            || self.initial_months.windows(2).any(|w| w[0] >= w[1])
        {
            fail(
                "competency.initial_months",
                format!(
                    "competency.initial_months must be ascending months after hire, each 1..={MAX_MONTHS}"
                ),
            );
        }
        if !(1..=MAX_MONTHS).contains(&self.every_months) {
            fail(
                "competency.every_months",
                format!("competency.every_months must be 1..={MAX_MONTHS}"),
            );
        }
        if !(1..=MAX_REMEDIATE_DAYS).contains(&self.remediate_days) {
            fail(
                "competency.remediate_days",
                format!("competency.remediate_days must be 1..={MAX_REMEDIATE_DAYS}"),
            );
        }
        for source in &self.sources {
            let ok = (source.starts_with("https://") || source.starts_with("http://"))
                && source.len() <= 2000
                && !has_control(source);
            if !ok {
                fail(
                    "competency.sources",
                    "competency.sources entries must be http(s) URLs of at most 2000 bytes without control characters"
                        .into(),
                );
                break;
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Elements a competency program may list.
pub const MAX_COMPETENCY_ELEMENTS: usize = 32;
/// Initial dues (months after hire) a competency program may list.
pub const MAX_INITIAL_DUES: usize = 12;
/// Characters of one element's description.
pub const MAX_ELEMENT_LEN: usize = 500;
/// Longest interval, in months, of a competency schedule (10 years).
pub const MAX_MONTHS: u32 = 120;
/// Longest time, in days, a `remediate` result may give until the skill is due again.
pub const MAX_REMEDIATE_DAYS: u32 = 365;

/// What is wrong with a text field, if anything: empty when required, too long, or with
/// control characters.
fn text_problem(field: &str, value: &str, required: bool, max: usize) -> Option<String> {
    let len = value.chars().count();
    if required && value.trim().is_empty() {
        Some(format!("{field} must not be empty"))
    } else if len > max {
        Some(format!(
            "{field} must be at most {max} characters (got {len})"
        ))
    } else if has_control(value) {
        Some(format!("{field} must not contain control characters"))
    } else {
        None
    }
}

impl Assessment {
    /// Checks an assessment against its program: assessor present, elements known.
    pub fn validate(&self, program: &CompetencyProgram) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let assessor = self.assessor.trim();
        if assessor.is_empty() {
            errors.push(FieldError::new("assessor", "assessor is required"));
        } else if assessor.chars().count() > MAX_NAME_LEN || has_control(assessor) {
            errors.push(FieldError::new(
                "assessor",
                format!(
                    "assessor must be 1..={MAX_NAME_LEN} characters without control characters"
                ),
            ));
        }
        if self.note.chars().count() > MAX_TEXT_LEN || has_control(&self.note) {
            errors.push(FieldError::new(
                "note",
                format!(
                    "note must be at most {MAX_TEXT_LEN} characters without control characters"
                ),
            ));
        }
        let count = program.elements.len() as u32;
        if self.elements.is_empty() {
            errors.push(FieldError::new(
                "elements",
                format!("elements needs at least one element number (1..={count})"),
            ));
        }
        for e in &self.elements {
            if *e == 0 || *e > count {
                errors.push(FieldError::new(
                    "elements",
                    format!(
                        "elements: {e} is not an element of {} (1..={count})",
                        program.slug
                    ),
                ));
            }
        }
        if self.elements.windows(2).any(|w| w[0] >= w[1]) && errors.is_empty() {
            errors.push(FieldError::new(
                "elements",
                "elements must not repeat an element",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Checks a skill name as typed.
pub fn validate_skill(skill: &str) -> Result<(), FieldError> {
    let skill = skill.trim();
    if skill.is_empty() {
        return Err(FieldError::new("skill", "skill is required"));
    }
    if skill.chars().count() > MAX_NAME_LEN || has_control(skill) {
        return Err(FieldError::new(
            "skill",
            format!("skill must be 1..={MAX_NAME_LEN} characters without control characters"),
        ));
    }
    Ok(())
}

/// Parses `--elements 1,2,6` into sorted, unique element numbers.
pub fn parse_elements(field: &str, value: &str) -> Result<Vec<u32>, FieldError> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let n: u32 = part.parse().map_err(|_| {
            FieldError::new(
                field,
                format!("{field}: {part:?} is not an element number (e.g. 1,2,6)"),
            )
        })?;
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn clia() -> CompetencyProgram {
        CompetencyProgram {
            slug: "clia-testing".into(),
            name: "CLIA".into(),
            elements: (1..=6).map(|n| format!("element {n}")).collect(),
            initial_months: vec![6, 12],
            every_months: 12,
            remediate_days: 30,
            sources: vec![],
            notes: String::new(),
        }
    }

    fn skill(assessments: &[(Date, AssessmentResult)]) -> CompetencySkill {
        CompetencySkill {
            program: "clia-testing".into(),
            skill: "glucose".into(),
            assessments: assessments
                .iter()
                .map(|(d, r)| Assessment {
                    assessed_on: *d,
                    assessor: "T. C.".into(),
                    elements: vec![1, 2, 3, 4, 5, 6],
                    result: *r,
                    note: String::new(),
                })
                .collect(),
        }
    }

    use AssessmentResult::{Pass, Remediate};

    #[test]
    fn clia_is_due_at_six_and_twelve_months_after_hire_then_yearly() {
        let p = clia();
        let hired = Some(date(2026, 1, 15));
        assert_eq!(p.next_due(hired, &skill(&[])), Some(date(2026, 7, 15)));
        let six = skill(&[(date(2026, 7, 15), Pass)]);
        assert_eq!(p.next_due(hired, &six), Some(date(2027, 1, 15)));
        let twelve = skill(&[(date(2026, 7, 15), Pass), (date(2027, 1, 10), Pass)]);
        assert_eq!(p.next_due(hired, &twelve), Some(date(2028, 1, 10)));
        let third = skill(&[
            (date(2026, 7, 15), Pass),
            (date(2027, 1, 10), Pass),
            (date(2028, 1, 5), Pass),
        ]);
        assert_eq!(p.next_due(hired, &third), Some(date(2029, 1, 5)));
    }

    #[test]
    fn remediate_makes_it_due_again_in_thirty_days_and_a_pass_resumes_the_schedule() {
        let p = clia();
        let hired = Some(date(2026, 1, 15));
        let remediate = skill(&[(date(2026, 7, 1), Remediate)]);
        assert_eq!(p.next_due(hired, &remediate), Some(date(2026, 7, 31)));
        let passed = skill(&[(date(2026, 7, 1), Remediate), (date(2026, 7, 20), Pass)]);
        assert_eq!(p.next_due(hired, &passed), Some(date(2027, 1, 15)));
    }

    #[test]
    fn without_a_hire_date_the_schedule_starts_at_the_first_pass() {
        let p = clia();
        assert_eq!(p.next_due(None, &skill(&[])), None);
        let one = skill(&[(date(2026, 3, 1), Pass)]);
        assert_eq!(p.next_due(None, &one), Some(date(2027, 3, 1)));
    }

    #[test]
    fn status_by_days_left() {
        let today = date(2026, 6, 1);
        let status = CompetencyProgram::status;
        assert_eq!(status(None, today), CompetencyStatus::Unscheduled);
        assert_eq!(
            status(Some(date(2026, 5, 31)), today),
            CompetencyStatus::Overdue
        );
        assert_eq!(status(Some(today), today), CompetencyStatus::DueSoon);
        assert_eq!(
            status(Some(date(2026, 7, 1)), today),
            CompetencyStatus::DueSoon
        );
        assert_eq!(
            status(Some(date(2026, 7, 2)), today),
            CompetencyStatus::Current
        );
    }

    #[test]
    fn a_lab_program_is_checked_sizes_first_naming_each_field() {
        assert_eq!(clia().validate(), Ok(()));
        let fields = |p: CompetencyProgram| -> Vec<String> {
            p.validate()
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        // Too many elements: refused on the count alone, before the other fields are read.
        let mut big = clia();
        big.elements = vec![String::new(); MAX_COMPETENCY_ELEMENTS + 1];
        big.slug = "Bad Slug".into();
        assert_eq!(fields(big), ["competency.elements"]);
        let mut bad = clia();
        bad.slug = "-x".into();
        bad.name = " ".into();
        bad.elements = vec!["ok".into(), "".into()];
        bad.initial_months = vec![12, 6];
        bad.every_months = 0;
        bad.remediate_days = 0;
        bad.sources = vec!["ftp://x".into()];
        assert_eq!(
            fields(bad),
            [
                "competency.slug",
                "competency.name",
                "competency.elements",
                "competency.initial_months",
                "competency.every_months",
                "competency.remediate_days",
                "competency.sources",
            ]
        );
        let mut long = clia();
        long.elements[0] = "x".repeat(MAX_ELEMENT_LEN + 1);
        long.every_months = MAX_MONTHS + 1;
        assert_eq!(
            fields(long),
            ["competency.elements", "competency.every_months"]
        );
    }

    #[test]
    fn assessments_name_the_field_that_is_wrong() {
        let p = clia();
        let mut a = skill(&[(date(2026, 1, 1), Pass)]).assessments.remove(0);
        assert!(a.validate(&p).is_ok());
        a.elements = vec![1, 7];
        let errors = a.validate(&p).unwrap_err();
        assert_eq!(errors[0].field, "elements");
        assert!(
            errors[0].message.contains("7 is not an element"),
            "{errors:?}"
        );
        a.elements = vec![1];
        a.assessor = " ".into();
        assert_eq!(a.validate(&p).unwrap_err()[0].field, "assessor");
        assert_eq!(
            parse_elements("elements", "6, 1,2,2").unwrap(),
            vec![1, 2, 6]
        );
        assert_eq!(
            parse_elements("elements", "1,x").unwrap_err().field,
            "elements"
        );
        assert_eq!(
            AssessmentResult::parse("result", "fail").unwrap_err().field,
            "result"
        );
    }
}
