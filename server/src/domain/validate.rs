//! Validation of user-supplied records: every rule a user would expect, reported per field.

use super::credits::Credits;
use super::program::{CapLimit, CapScope, Program};
use super::records::{Course, Credential, Holder};
use jiff::civil::Date;

/// Longest name or title, in characters.
pub const MAX_NAME_LEN: usize = 200;
/// Longest free text (notes, evidence, provider), in characters.
pub const MAX_TEXT_LEN: usize = 2000;
/// Most contact hours one course may award (a 4-credit semester course is 60 hours).
pub const MAX_COURSE_HOURS: Credits = Credits::whole(200);
/// Longest category name.
const MAX_CATEGORY_LEN: usize = 64;
/// Most categories on one course or minimums on one program.
const MAX_CATEGORIES: usize = 16;

/// One invalid field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as named on the wire (e.g. `course.credits_hundredths`).
    pub field: String,
    /// What is wrong, in words a user understands.
    pub message: String,
}

impl FieldError {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects field errors.
#[derive(Default)]
struct Check(Vec<FieldError>);

impl Check {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn text(&mut self, field: &str, value: &str, required: bool, max: usize) {
        let len = value.chars().count();
        if required && value.trim().is_empty() {
            self.fail(field, format!("{field} must not be empty"));
        } else if len > max {
            self.fail(field, format!("{field} must be at most {max} characters (got {len})"));
        } else if value.chars().any(char::is_control) {
            self.fail(field, format!("{field} must not contain control characters"));
        }
    }

    fn categories(&mut self, field: &str, categories: &[String]) {
        if categories.len() > MAX_CATEGORIES {
            self.fail(field, format!("{field} may hold at most {MAX_CATEGORIES} entries"));
        }
        for c in categories {
            if c.trim().is_empty() || c.chars().count() > MAX_CATEGORY_LEN {
                self.fail(field, format!("{field} entries must be 1 to {MAX_CATEGORY_LEN} characters"));
                break;
            }
        }
    }

    fn done(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// Normalises a category name: trimmed, lowercase.
pub fn normalize_category(c: &str) -> String {
    c.trim().to_lowercase()
}

impl Holder {
    /// Checks name, e-mail and time zone.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("holder.name", &self.name, true, MAX_NAME_LEN);
        check.text("holder.email", &self.email, false, 254);
        if !self.email.is_empty() {
            let ok = self
                .email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.'))
                && !self.email.chars().any(char::is_whitespace);
            if !ok {
                check.fail("holder.email", format!("holder.email {:?} is not an e-mail address", self.email));
            }
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            check.fail(
                "holder.time_zone",
                format!("holder.time_zone {:?} is not an IANA time zone (e.g. America/Chicago)", self.time_zone),
            );
        }
        check.done()
    }
}

impl Program {
    /// Checks the slug, cycle, window, amounts, minimums and caps.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        let slug_ok = !self.slug.is_empty()
            && self.slug.len() <= 48
            && self.slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !self.slug.starts_with('-');
        if !slug_ok {
            check.fail(
                "program.slug",
                "program.slug must be 1 to 48 characters of a-z, 0-9 and '-', not starting with '-'",
            );
        }
        check.text("program.body", &self.body, true, MAX_NAME_LEN);
        check.text("program.name", &self.name, true, MAX_NAME_LEN);
        check.text("program.unit", &self.unit_name, true, 64);
        check.text("program.notes", &self.notes, false, MAX_TEXT_LEN);
        if !(1..=120).contains(&self.cycle_months) {
            check.fail("program.cycle_months", "program.cycle_months must be between 1 and 120");
        }
        if !(1..=120).contains(&self.ce_window_months) {
            check.fail("program.ce_window_months", "program.ce_window_months must be between 1 and 120");
        }
        if self.unit_hours <= Credits::ZERO || self.unit_hours > Credits::whole(100) {
            check.fail(
                "program.unit_hours_hundredths",
                "program.unit_hours_hundredths must be above 0 and at most 10000 (100 hours per unit)",
            );
        }
        if self.required <= Credits::ZERO || self.required > Credits::whole(10_000) {
            check.fail(
                "program.required_hundredths",
                "program.required_hundredths must be above 0 and at most 1000000",
            );
        }
        if self.grace_days > 3650 {
            check.fail("program.grace_days", "program.grace_days must be at most 3650");
        }
        check.categories(
            "program.category_minimums",
            &self.category_minimums.iter().map(|m| m.category.clone()).collect::<Vec<_>>(),
        );
        for m in &self.category_minimums {
            if m.minimum <= Credits::ZERO || m.minimum > self.required {
                check.fail(
                    "program.category_minimums",
                    format!("minimum of category {:?} must be above 0 and at most the required credits", m.category),
                );
            }
        }
        for cap in &self.caps {
            if let CapScope::Category(c) = &cap.scope {
                if c.trim().is_empty() {
                    check.fail("program.caps", "a cap needs a category or a format");
                }
            }
            match cap.limit {
                CapLimit::Percent(p) if !(1..=100).contains(&p) => {
                    check.fail("program.caps", "cap max_percent must be between 1 and 100")
                }
                CapLimit::Amount(a) if a <= Credits::ZERO => {
                    check.fail("program.caps", "cap max_hundredths must be above 0")
                }
                _ => {}
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            if !(s.starts_with("https://") || s.starts_with("http://")) || s.len() > 500 {
                check.fail("program.sources", format!("program.sources[{i}] must be an http(s) URL"));
            }
        }
        check.done()
    }
}

impl Credential {
    /// Checks the number and dates.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("credential.number", &self.number, false, 64);
        if let Some(issued) = self.issued_on {
            if issued >= self.expires_on {
                check.fail(
                    "credential.expires_on",
                    format!("credential.expires_on ({}) must be after issued_on ({issued})", self.expires_on),
                );
            }
        }
        if self.expires_on.year() < 1950 || self.expires_on.year() > 2200 {
            check.fail("credential.expires_on", "credential.expires_on must be between 1950 and 2200");
        }
        check.done()
    }
}

impl Course {
    /// Checks title, amount, date (not after `today`), categories and texts.
    pub fn validate(&self, today: Date) -> Result<(), Vec<FieldError>> {
        let mut check = Check::default();
        check.text("course.title", &self.title, true, MAX_NAME_LEN);
        check.text("course.provider", &self.provider, false, MAX_NAME_LEN);
        check.text("course.accreditation", &self.accreditation, false, MAX_NAME_LEN);
        check.text("course.evidence", &self.evidence, false, MAX_TEXT_LEN);
        if self.amount <= Credits::ZERO {
            check.fail("course.credits_hundredths", "course.credits_hundredths must be above 0");
        } else if self.hours() > MAX_COURSE_HOURS {
            check.fail(
                "course.credits_hundredths",
                format!(
                    "course.credits_hundredths: {} {} is {} contact hours, above the maximum of {} per course",
                    self.amount,
                    self.unit.name(),
                    self.hours(),
                    MAX_COURSE_HOURS
                ),
            );
        }
        if self.completed_on > today {
            check.fail(
                "course.completed_on",
                format!("course.completed_on ({}) is in the future (today is {today})", self.completed_on),
            );
        }
        if self.completed_on.year() < 1950 {
            check.fail("course.completed_on", "course.completed_on must be 1950 or later");
        }
        check.categories("course.categories", &self.categories);
        check.done()
    }
}
