//! Certification programs: a credential type and its renewal rules.

use super::credits::Credits;
use super::records::Format;
use serde::{Deserialize, Serialize};

/// How sure we are of a program's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Stated on the certifying body's or regulator's own page.
    #[default]
    Confirmed,
    /// Secondary or dated sources only, or sources disagree.
    Uncertain,
}

/// A minimum amount in one category, in hundredths of the program's unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryMinimum {
    /// Category name, lowercase (e.g. "safety").
    pub category: String,
    /// Minimum in the program's unit.
    pub minimum: Credits,
}

/// What a cap applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapScope {
    /// Courses tagged with this category.
    Category(String),
    /// Courses of this format.
    Format(Format),
}

/// How much a cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapLimit {
    /// At most this percentage (1..=100) of the required credits.
    Percent(u32),
    /// At most this amount, in the program's unit.
    Amount(Credits),
}

/// A cap on how much of one kind of activity counts toward a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// What the cap applies to.
    pub scope: CapScope,
    /// How much it allows.
    pub limit: CapLimit,
}

/// A credential type and its renewal rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// Short lowercase id, e.g. `nha-cpt`.
    pub slug: String,
    /// Certifying body, e.g. `NHA`.
    pub body: String,
    /// Full name of the credential.
    pub name: String,
    /// Length of a certification cycle in months.
    pub cycle_months: u32,
    /// Length of the CE window that ends on the expiry date, in months.
    pub ce_window_months: u32,
    /// Name of the program's unit, e.g. `NHA CE credit`.
    pub unit_name: String,
    /// Contact hours per program unit (hundredths: 100 = 1 hour).
    pub unit_hours: Credits,
    /// Credits required per cycle, in the program's unit.
    pub required: Credits,
    /// Minimums per category.
    #[serde(default)]
    pub category_minimums: Vec<CategoryMinimum>,
    /// Caps by category or format.
    #[serde(default)]
    pub caps: Vec<Cap>,
    /// Days after expiry during which renewal is still possible.
    #[serde(default)]
    pub grace_days: u32,
    /// Whether a course may count toward this and another credential at once.
    #[serde(default = "yes")]
    pub shares_courses: bool,
    /// Accepted accreditations (case-insensitive); empty accepts any.
    #[serde(default)]
    pub accepted_accreditations: Vec<String>,
    /// Where the numbers come from.
    #[serde(default)]
    pub sources: Vec<String>,
    /// How sure we are of the numbers.
    #[serde(default)]
    pub confidence: Confidence,
    /// Free-form notes shown with the program.
    #[serde(default)]
    pub notes: String,
}

fn yes() -> bool {
    true
}

impl Program {
    /// Converts an amount in this program's unit to contact hours (saturating, as
    /// [`Unit::to_hours`](super::Unit::to_hours)).
    pub fn to_hours(&self, amount: Credits) -> Credits {
        Credits(amount.0.saturating_mul(self.unit_hours.0) / 100)
    }

    /// Converts contact hours to this program's unit, rounding down to a hundredth.
    pub fn from_hours(&self, hours: Credits) -> Credits {
        if self.unit_hours.0 <= 0 {
            return Credits::ZERO;
        }
        Credits(hours.0.saturating_mul(100) / self.unit_hours.0)
    }

    /// Whether a course with this accreditation is accepted.
    pub fn accepts_accreditation(&self, accreditation: &str) -> bool {
        self.accepted_accreditations.is_empty()
            || self
                .accepted_accreditations
                .iter()
                .any(|a| a.eq_ignore_ascii_case(accreditation.trim()))
    }

    /// The caution shown with an uncertain program, e.g. "verify with NHA".
    pub fn caution(&self) -> Option<String> {
        (self.confidence == Confidence::Uncertain).then(|| format!("verify with {}", self.body))
    }
}
