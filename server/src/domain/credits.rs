//! Fixed-point credit amounts and the units courses are awarded in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in hundredths (of a contact hour, or of a program's unit), never a float.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Credits(pub i64);

impl Credits {
    /// Zero credits.
    pub const ZERO: Credits = Credits(0);

    /// Whole units, e.g. `Credits::whole(10)` is 10.00.
    pub const fn whole(n: i64) -> Self {
        Credits(n * 100)
    }

    /// The amount in hundredths.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// `self - other`, never below zero.
    pub fn saturating_sub(self, other: Credits) -> Credits {
        Credits((self.0 - other.0).max(0))
    }

    /// `percent` % of this amount, rounded down to a hundredth.
    pub fn percent(self, percent: u32) -> Credits {
        Credits(self.0 * i64::from(percent) / 100)
    }
}

impl std::ops::Add for Credits {
    type Output = Credits;
    fn add(self, rhs: Credits) -> Credits {
        Credits(self.0 + rhs.0)
    }
}

impl std::ops::AddAssign for Credits {
    fn add_assign(&mut self, rhs: Credits) {
        self.0 += rhs.0;
    }
}

impl std::iter::Sum for Credits {
    fn sum<I: Iterator<Item = Credits>>(iter: I) -> Credits {
        Credits(iter.map(|c| c.0).sum())
    }
}

impl fmt::Display for Credits {
    /// Prints `2.5`, `10`, `0.25`: no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 100, abs % 100);
        match frac {
            0 => write!(f, "{sign}{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{sign}{whole}.{}", f10 / 10),
            _ => write!(f, "{sign}{whole}.{frac:02}"),
        }
    }
}

/// A unit a course's credits are awarded in, with its rate in contact hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// One contact hour (50-60 minutes of instruction).
    Hours,
    /// Continuing Education Unit: 10 contact hours.
    Ceu,
    /// ASCP / AMT point: 1 contact hour.
    Point,
    /// NHA CE credit: 2 hours of CE, as NHA states on two of its pages (see the catalog).
    NhaCredit,
    /// Academic semester hour: 15 contact hours (ASCP).
    SemesterHour,
    /// Academic quarter hour: 10 contact hours (ASCP).
    QuarterHour,
}

impl Unit {
    /// Every unit, in the order they are listed to users.
    pub const ALL: [Unit; 6] = [
        Unit::Hours,
        Unit::Ceu,
        Unit::Point,
        Unit::NhaCredit,
        Unit::SemesterHour,
        Unit::QuarterHour,
    ];

    /// Contact hours per unit, in hundredths.
    pub const fn hours_per_unit(self) -> Credits {
        match self {
            Unit::Hours | Unit::Point => Credits(100),
            Unit::Ceu | Unit::QuarterHour => Credits(1000),
            Unit::NhaCredit => Credits(200),
            Unit::SemesterHour => Credits(1500),
        }
    }

    /// The name used on the command line and the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Unit::Hours => "hours",
            Unit::Ceu => "ceu",
            Unit::Point => "point",
            Unit::NhaCredit => "nha-credit",
            Unit::SemesterHour => "semester-hour",
            Unit::QuarterHour => "quarter-hour",
        }
    }

    /// Parses a unit name; accepts a few common spellings.
    pub fn parse(s: &str) -> Option<Unit> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "" | "hours" | "hour" | "contact-hours" | "contact-hour" | "h" => Unit::Hours,
            "ceu" | "ceus" => Unit::Ceu,
            "point" | "points" => Unit::Point,
            "nha-credit" | "nha-credits" => Unit::NhaCredit,
            "semester-hour" | "semester-hours" => Unit::SemesterHour,
            "quarter-hour" | "quarter-hours" => Unit::QuarterHour,
            _ => return None,
        })
    }

    /// Converts an amount in this unit to contact hours (hundredths), exactly.
    ///
    /// Saturates rather than overflows, so an absurd amount from the wire stays absurd (and
    /// fails validation) instead of wrapping to a small or negative number.
    pub fn to_hours(self, amount: Credits) -> Credits {
        Credits(amount.0.saturating_mul(self.hours_per_unit().0) / 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::program::{CycleAnchor, Program};

    #[test]
    fn display_drops_trailing_zeros() {
        let shown: Vec<String> = [250, 1000, 25, -150, 0, 5, 1, 199, -5, 100_050]
            .into_iter()
            .map(|h| Credits(h).to_string())
            .collect();
        assert_eq!(
            shown,
            [
                "2.5", "10", "0.25", "-1.5", "0", "0.05", "0.01", "1.99", "-0.05", "1000.5"
            ]
        );
        assert_eq!(Credits(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn arithmetic() {
        assert_eq!(Credits::whole(10), Credits(1000));
        assert_eq!(Credits::whole(3).hundredths(), 300);
        assert_eq!(Credits(300).saturating_sub(Credits(500)), Credits::ZERO);
        assert_eq!(Credits(500).saturating_sub(Credits(300)), Credits(200));
        assert_eq!(Credits(150) + Credits(75), Credits(225));
        let mut c = Credits(1);
        c += Credits(2);
        assert_eq!(c, Credits(3));
        assert_eq!(
            [Credits(1), Credits(2), Credits(3)]
                .into_iter()
                .sum::<Credits>(),
            Credits(6)
        );
        assert_eq!(
            std::iter::empty::<Credits>().sum::<Credits>(),
            Credits::ZERO
        );
    }

    #[test]
    fn percent_rounds_down_to_a_hundredth() {
        assert_eq!(Credits(900).percent(50), Credits(450));
        assert_eq!(Credits(999).percent(50), Credits(499));
        assert_eq!(Credits(1).percent(99), Credits::ZERO);
        assert_eq!(Credits(700).percent(100), Credits(700));
    }

    #[test]
    fn units_convert_to_contact_hours_exactly() {
        let one = Credits::whole(1);
        assert_eq!(Unit::Hours.to_hours(one), Credits::whole(1));
        assert_eq!(Unit::Point.to_hours(one), Credits::whole(1));
        assert_eq!(Unit::Ceu.to_hours(one), Credits::whole(10));
        assert_eq!(Unit::NhaCredit.to_hours(one), Credits::whole(2));
        assert_eq!(Unit::SemesterHour.to_hours(one), Credits::whole(15));
        assert_eq!(Unit::QuarterHour.to_hours(one), Credits::whole(10));
        assert_eq!(Unit::Ceu.to_hours(Credits(15)), Credits(150)); // 0.15 CEU = 1.5 hours
        assert_eq!(Unit::NhaCredit.to_hours(Credits(1)), Credits(2));
    }

    #[test]
    fn conversion_of_absurd_amounts_saturates_instead_of_wrapping() {
        assert_eq!(
            Unit::Ceu.to_hours(Credits(i64::MAX)),
            Credits(i64::MAX / 100)
        );
        assert!(Unit::SemesterHour.to_hours(Credits(i64::MAX / 10)) > Credits::ZERO);
    }

    #[test]
    fn unit_names_round_trip() {
        for unit in Unit::ALL {
            assert_eq!(Unit::parse(unit.name()), Some(unit));
        }
        assert_eq!(Unit::parse(""), Some(Unit::Hours));
        assert_eq!(Unit::parse(" CEUs "), Some(Unit::Ceu));
        assert_eq!(Unit::parse("Contact-Hours"), Some(Unit::Hours));
        assert_eq!(Unit::parse("semester-hours"), Some(Unit::SemesterHour));
        assert_eq!(Unit::parse("minutes"), None);
    }

    fn per_unit(unit_hours: i64) -> Program {
        Program {
            local_fields: Vec::new(),
            reinstatement: None,
            slug: "p".into(),
            body: "Body".into(),
            name: "Program".into(),
            cycle_months: 24,
            cycle_anchor: CycleAnchor::Issue,
            ce_window_months: 24,
            ce_window_years_before: 0,
            unit_name: "unit".into(),
            unit_hours: Credits(unit_hours),
            required: Credits::whole(10),
            first_cycle_per_month: Credits::ZERO,
            category_minimums: vec![],
            exclusive_categories: false,
            caps: vec![],
            activity_limits: vec![],
            alternatives: vec![],
            accreditation_minimums: vec![],
            grace_days: 0,
            shares_courses: true,
            accepted_accreditations: vec![],
            accreditation_required: false,
            dues: None,
            sources: vec![],
            uncertain: vec![],
            notes: String::new(),
        }
    }

    #[test]
    fn program_units_round_down_to_a_hundredth() {
        let nha = per_unit(200);
        assert_eq!(nha.from_hours(Credits::whole(3)), Credits(150)); // 3 hours = 1.5 credits
        assert_eq!(nha.from_hours(Credits(1)), Credits::ZERO); // 0.005 credits
        assert_eq!(nha.from_hours(Credits(3)), Credits(1)); // 0.015 credits
        assert_eq!(nha.to_hours(Credits::whole(10)), Credits::whole(20));

        let ascp = per_unit(100);
        let semester = Unit::SemesterHour.to_hours(Credits::whole(1));
        assert_eq!(ascp.from_hours(semester), Credits::whole(15)); // 1 semester hour = 15 points

        let thirds = per_unit(300);
        assert_eq!(thirds.from_hours(Credits::whole(1)), Credits(33));
        assert_eq!(thirds.from_hours(Credits::whole(3)), Credits::whole(1));

        assert_eq!(per_unit(0).from_hours(Credits::whole(5)), Credits::ZERO);
    }

    #[test]
    fn program_conversion_saturates() {
        let p = per_unit(1000);
        assert_eq!(p.to_hours(Credits(i64::MAX)), Credits(i64::MAX / 100));
        assert!(per_unit(1).from_hours(Credits(i64::MAX)) > Credits::ZERO);
    }
}
