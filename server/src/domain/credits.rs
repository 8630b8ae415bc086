//! Fixed-point credit amounts and the units courses are awarded in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in hundredths (of a contact hour, or of a program's unit), never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
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
    /// NHA CE credit. NHA states 1 credit per 2 hours of CE (uncertain, see the catalog).
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
    pub fn to_hours(self, amount: Credits) -> Credits {
        Credits(amount.0 * self.hours_per_unit().0 / 100)
    }
}
