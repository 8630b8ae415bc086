//! Holders, credentials and courses: the records a user creates.

use super::competency::CompetencySkill;
use super::compliance::{CategoryProgress, CountedCourse, Status};
use super::credits::{Credits, Unit};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// A person who holds credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Store-assigned id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// E-mail address for alerts; empty for none.
    pub email: String,
    /// IANA time zone name.
    pub time_zone: String,
    /// Hire date, from which competency assessments are scheduled; `None` when not known.
    pub hired_on: Option<Date>,
    /// The skills the holder is assessed on, with their assessments. Held on the holder:
    /// a handful per person, always read with them, moved by their change version.
    pub competencies: Vec<CompetencySkill>,
}

impl Holder {
    /// The holder's time zone, whose dates decide what is due and when alerts fire.
    pub fn zone(&self) -> TimeZone {
        zone(&self.time_zone)
    }
}

/// The time zone named `name`, or UTC if there is none by that name.
///
/// Validation refuses unknown names, so UTC is only reached by records written by hand or
/// zones a newer tz database renamed away; an alert at the wrong hour beats no alert.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// One completed cycle of a credential, kept when it is renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastCycle {
    /// Issue date of that cycle, if known.
    pub issued_on: Option<Date>,
    /// Expiry date of that cycle.
    pub expires_on: Date,
    /// When it was renewed.
    pub renewed_on: Date,
    /// What the cycle required and counted, frozen when it was closed; `None` for a cycle
    /// closed before recert kept outcomes (its courses are then known only by their dates).
    pub outcome: Option<CycleOutcome>,
}

/// What a closed cycle required and counted, as computed on its last day when it was renewed.
///
/// Frozen: later edits to courses or to the program do not change it, and the courses it
/// counted never count again in a later cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleOutcome {
    /// First day of the cycle's CE window.
    pub window_start: Date,
    /// Last day of the cycle (the expiry, or the fixed calendar day of the program).
    pub ends_on: Date,
    /// Unit of the amounts, e.g. `NHA CE credit`.
    pub unit_name: String,
    /// Required, in that unit.
    pub required: Credits,
    /// Counted after caps, in that unit.
    pub earned: Credits,
    /// Progress per category minimum.
    pub categories: Vec<CategoryProgress>,
    /// The status on the cycle's last day (`met`, or `at_risk` when renewed with CE missing).
    pub status: Status,
    /// The courses counted, with the amount each counted after caps, in counting order.
    pub counted: Vec<CountedCourse>,
}

impl PastCycle {
    /// Ids of the courses this cycle counted (none when its outcome was not kept).
    pub fn counted_course_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.outcome
            .iter()
            .flat_map(|o| o.counted.iter().map(|c| c.course_id))
    }
}

/// A program held by a holder; its current cycle ends on `expires_on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Store-assigned id.
    pub id: u64,
    /// The holder.
    pub holder_id: u64,
    /// The program's slug.
    pub program: String,
    /// Certificate number; empty if unknown.
    pub number: String,
    /// Issue date of the current cycle, if known.
    pub issued_on: Option<Date>,
    /// Expiry date of the current cycle.
    pub expires_on: Date,
    /// Completed cycles, oldest first.
    pub history: Vec<PastCycle>,
    /// Checks against the issuing body's registry, oldest first (at most
    /// [`MAX_VERIFICATIONS`]; the oldest leave first, the audit trail keeps them all).
    pub verifications: Vec<Verification>,
}

/// How many verifications a credential keeps.
pub const MAX_VERIFICATIONS: usize = 100;

impl Credential {
    /// The latest verification, if any (by date, then the order recorded).
    pub fn last_verification(&self) -> Option<&Verification> {
        self.verifications.last()
    }

    /// Whether the current cycle has been checked and found active: the latest verification
    /// saw `active` for the cycle ending on the current expiry. A credential renewed (or its
    /// expiry edited) since, never checked, or last seen not-found, expired or mismatched is
    /// unverified.
    pub fn verified(&self) -> bool {
        self.last_verification().is_some_and(|v| {
            v.result == VerificationResult::Active && v.cycle_expires_on == self.expires_on
        })
    }

    /// Adds a verification in date order, dropping the oldest past [`MAX_VERIFICATIONS`].
    pub fn record_verification(&mut self, verification: Verification) {
        let at = self
            .verifications
            .partition_point(|v| v.checked_on <= verification.checked_on);
        self.verifications.insert(at, verification);
        if self.verifications.len() > MAX_VERIFICATIONS {
            let extra = self.verifications.len() - MAX_VERIFICATIONS;
            self.verifications.drain(..extra);
        }
    }
}

/// What a person saw when they checked a credential with its issuing body's registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationResult {
    /// Listed and in good standing.
    Active,
    /// Not listed.
    NotFound,
    /// Listed as expired or lapsed.
    Expired,
    /// Listed, but with a different name, number or dates.
    Mismatch,
}

impl VerificationResult {
    /// Every result, in wire order.
    pub const ALL: [VerificationResult; 4] = [
        VerificationResult::Active,
        VerificationResult::NotFound,
        VerificationResult::Expired,
        VerificationResult::Mismatch,
    ];

    /// The name used on the command line, in JSON and in dumps.
    pub const fn name(self) -> &'static str {
        match self {
            VerificationResult::Active => "active",
            VerificationResult::NotFound => "not-found",
            VerificationResult::Expired => "expired",
            VerificationResult::Mismatch => "mismatch",
        }
    }

    /// Parses a result name (`not_found` is accepted for `not-found`).
    pub fn parse(s: &str) -> Option<VerificationResult> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// One check of a credential against its issuing body's registry: who looked, when, where,
/// and what they saw. recert does not look itself; it records what a person checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The day of the check.
    pub checked_on: Date,
    /// What the registry showed.
    pub result: VerificationResult,
    /// Where it was checked (a URL or a registry's name); empty if not given.
    pub source: String,
    /// Who checked.
    pub checked_by: String,
    /// The credential's expiry when the check was recorded: the cycle it vouches for.
    pub cycle_expires_on: Date,
}

/// How a course was delivered; caps can apply per format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// In-person or live webinar.
    Live,
    /// Self-paced online.
    Online,
    /// Home study (printed or recorded material).
    HomeStudy,
    /// Academic coursework at a college or university.
    Academic,
}

impl Format {
    /// The name used on the command line and the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Live => "live",
            Format::Online => "online",
            Format::HomeStudy => "home-study",
            Format::Academic => "academic",
        }
    }

    /// Parses a format name.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "live" => Format::Live,
            "online" => Format::Online,
            "home-study" | "homestudy" => Format::HomeStudy,
            "academic" => Format::Academic,
            _ => return None,
        })
    }
}

/// A completed continuing-education activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Course {
    /// Store-assigned id.
    pub id: u64,
    /// The holder who completed it.
    pub holder_id: u64,
    /// Title of the activity.
    pub title: String,
    /// Provider; empty if unknown.
    pub provider: String,
    /// Accreditation, e.g. `P.A.C.E.`; empty if unknown.
    pub accreditation: String,
    /// Completion date.
    pub completed_on: Date,
    /// Amount as awarded, in `unit`.
    pub amount: Credits,
    /// The unit `amount` is in.
    pub unit: Unit,
    /// Categories, lowercase.
    pub categories: Vec<String>,
    /// Delivery format, if known.
    pub format: Option<Format>,
    /// When non-empty, the course counts only toward these credentials.
    pub credential_ids: Vec<u64>,
    /// Certificate reference; empty if none.
    pub evidence: String,
}

impl Course {
    /// Whether `other` looks like the same course logged twice: same holder, title (ignoring
    /// case and surrounding blanks), date and amount in the same unit.
    pub fn same_as(&self, other: &Course) -> bool {
        self.holder_id == other.holder_id
            && self.title.trim().to_lowercase() == other.title.trim().to_lowercase()
            && self.completed_on == other.completed_on
            && self.amount == other.amount
            && self.unit == other.unit
    }

    /// The amount in contact hours.
    pub fn hours(&self) -> Credits {
        self.unit.to_hours(self.amount)
    }

    /// Whether the course is tagged with `category` (categories are stored lowercase).
    pub fn has_category(&self, category: &str) -> bool {
        self.categories.iter().any(|c| c == category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holders_zone_falls_back_to_utc() {
        let holder = |time_zone: &str| Holder {
            id: 1,
            name: "Ana Ruiz".into(),
            email: String::new(),
            time_zone: time_zone.into(),
            hired_on: None,
            competencies: Vec::new(),
        };
        assert_eq!(
            holder("America/Chicago").zone(),
            TimeZone::get("America/Chicago").unwrap()
        );
        assert_eq!(holder("Mars/Olympus").zone(), TimeZone::UTC);
        assert_eq!(holder("").zone(), TimeZone::UTC);
        assert_eq!(
            zone("Pacific/Auckland").iana_name(),
            Some("Pacific/Auckland")
        );
    }

    #[test]
    fn a_credential_is_verified_only_by_an_active_check_of_its_current_cycle() {
        let day = |s: &str| s.parse::<Date>().unwrap();
        let mut c = Credential {
            id: 1,
            holder_id: 1,
            program: "nha-cpt".into(),
            number: String::new(),
            issued_on: None,
            expires_on: day("2026-12-31"),
            history: Vec::new(),
            verifications: Vec::new(),
        };
        assert!(!c.verified(), "never checked");
        let check = |on: &str, result, cycle: &str| Verification {
            checked_on: day(on),
            result,
            source: String::new(),
            checked_by: "Sam".into(),
            cycle_expires_on: day(cycle),
        };
        c.record_verification(check(
            "2026-06-01",
            VerificationResult::Active,
            "2026-12-31",
        ));
        assert!(c.verified());
        // Recorded later but dated earlier: not the latest.
        c.record_verification(check(
            "2026-05-01",
            VerificationResult::Mismatch,
            "2026-12-31",
        ));
        assert_eq!(c.last_verification().unwrap().checked_on, day("2026-06-01"));
        assert!(c.verified());
        c.expires_on = day("2028-12-31");
        assert!(!c.verified(), "renewed since");
        c.record_verification(check(
            "2026-07-01",
            VerificationResult::Expired,
            "2028-12-31",
        ));
        assert!(!c.verified(), "last seen expired");
        for n in 0..MAX_VERIFICATIONS {
            c.record_verification(check(
                "2026-07-02",
                VerificationResult::Active,
                "2028-12-31",
            ));
            assert!(c.verifications.len() <= MAX_VERIFICATIONS, "{n}");
        }
        assert_eq!(c.verifications.len(), MAX_VERIFICATIONS);
        assert!(
            c.verifications
                .iter()
                .all(|v| v.checked_on == day("2026-07-02")),
            "the three oldest left first"
        );
        assert!(c.verified());
    }
}
