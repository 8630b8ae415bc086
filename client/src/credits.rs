//! Credit amounts as exact hundredths: parsed from and printed as decimals, never floats.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// An amount of credits (or hours, or units) in hundredths, as on the wire: 250 is 2.5.
///
/// Parsing goes through the decimal string so "0.1" is exactly 10 hundredths; printing drops
/// trailing zeros ("2.5", "10", "0.25"); JSON gets a number with the same digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credits(i64);

impl Credits {
    /// Wraps an amount the server sent in hundredths.
    pub fn from_hundredths(hundredths: i64) -> Self {
        Self(hundredths)
    }

    /// The amount in hundredths, as the wire wants it.
    pub fn hundredths(self) -> i64 {
        self.0
    }
}

/// Why a user's amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseCreditsError {
    /// Empty input.
    #[error("expected a number such as 1, 2.5 or 0.25")]
    Empty,
    /// A minus sign: amounts are never negative.
    #[error("must be positive")]
    Negative,
    /// Anything but digits with at most one decimal point.
    #[error("'{0}' is not a number such as 1, 2.5 or 0.25")]
    NotANumber(String),
    /// A third decimal place, which hundredths cannot hold.
    #[error("at most 2 decimal places are allowed")]
    TooPrecise,
    /// Zero: an activity or rule worth nothing is a mistake.
    #[error("must be greater than zero")]
    Zero,
    /// More than fits in 64-bit hundredths.
    #[error("is too large")]
    TooLarge,
}

impl FromStr for Credits {
    type Err = ParseCreditsError;

    /// Parses `DIGITS[.D[D]]` (a leading `.5` or trailing `5.` is accepted too) into
    /// hundredths; refuses signs, exponents, a third decimal and zero.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ParseCreditsError::Empty);
        }
        if text.starts_with('-') {
            return Err(ParseCreditsError::Negative);
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction)
        {
            return Err(ParseCreditsError::NotANumber(input.to_owned()));
        }
        if fraction.len() > 2 {
            return Err(ParseCreditsError::TooPrecise);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| ParseCreditsError::TooLarge)?
        };
        let fraction: i64 = match fraction.len() {
            0 => 0,
            1 => i64::from(fraction.as_bytes()[0] - b'0') * 10,
            _ => fraction.parse().map_err(|_| ParseCreditsError::TooLarge)?,
        };
        let hundredths = whole
            .checked_mul(100)
            .and_then(|h| h.checked_add(fraction))
            .ok_or(ParseCreditsError::TooLarge)?;
        if hundredths == 0 {
            return Err(ParseCreditsError::Zero);
        }
        Ok(Self(hundredths))
    }
}

impl fmt::Display for Credits {
    /// Prints the shortest exact decimal: 250 -> "2.5", 1000 -> "10", 25 -> "0.25".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, fraction) = (abs / 100, abs % 100);
        let text = match fraction {
            0 => format!("{sign}{whole}"),
            f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
            f => format!("{sign}{whole}.{f:02}"),
        };
        f.pad(&text)
    }
}

impl Serialize for Credits {
    /// A JSON number with exactly the printed digits (2.5, 10, 0.25), not a string.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let number = serde_json::Number::from_str(&self.to_string())
            .map_err(<S::Error as serde::ser::Error>::custom)?;
        number.serialize(serializer)
    }
}

/// Parses a credit amount for clap, with the reason in the message.
pub fn parse_credits(input: &str) -> Result<Credits, String> {
    input.parse().map_err(|e: ParseCreditsError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<i64, ParseCreditsError> {
        text.parse::<Credits>().map(Credits::hundredths)
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse("2.5"), Ok(250));
        assert_eq!(parse("1"), Ok(100));
        assert_eq!(parse("0.25"), Ok(25));
        assert_eq!(parse("0.1"), Ok(10));
        assert_eq!(parse("0.01"), Ok(1));
        assert_eq!(parse("12.05"), Ok(1205));
        assert_eq!(parse(".5"), Ok(50));
        assert_eq!(parse("3."), Ok(300));
        assert_eq!(parse(" 7 "), Ok(700));
        assert_eq!(parse("007.50"), Ok(750));
    }

    #[test]
    fn refuses_bad_amounts() {
        assert_eq!(parse("1.255"), Err(ParseCreditsError::TooPrecise));
        assert_eq!(parse("-1"), Err(ParseCreditsError::Negative));
        assert_eq!(parse("0"), Err(ParseCreditsError::Zero));
        assert_eq!(parse("0.00"), Err(ParseCreditsError::Zero));
        assert_eq!(parse(""), Err(ParseCreditsError::Empty));
        assert_eq!(parse("."), Err(ParseCreditsError::NotANumber(".".into())));
        assert_eq!(
            parse("1e3"),
            Err(ParseCreditsError::NotANumber("1e3".into()))
        );
        assert_eq!(parse("+1"), Err(ParseCreditsError::NotANumber("+1".into())));
        assert_eq!(
            parse("1.2.3"),
            Err(ParseCreditsError::NotANumber("1.2.3".into()))
        );
        assert_eq!(
            parse("1,5"),
            Err(ParseCreditsError::NotANumber("1,5".into()))
        );
        assert_eq!(
            parse("99999999999999999999"),
            Err(ParseCreditsError::TooLarge)
        );
        assert_eq!(parse("92233720368547758.07"), Ok(i64::MAX));
        assert_eq!(
            parse("92233720368547758.08"),
            Err(ParseCreditsError::TooLarge)
        );
    }

    #[test]
    fn prints_without_trailing_zeros() {
        let show = |h| Credits::from_hundredths(h).to_string();
        assert_eq!(show(250), "2.5");
        assert_eq!(show(1000), "10");
        assert_eq!(show(25), "0.25");
        assert_eq!(show(5), "0.05");
        assert_eq!(show(0), "0");
        assert_eq!(show(-150), "-1.5");
        assert_eq!(show(-5), "-0.05");
        assert_eq!(format!("{:>5}|", Credits::from_hundredths(250)), "  2.5|");
    }

    #[test]
    fn serializes_as_json_numbers() {
        let json = |h| serde_json::to_string(&Credits::from_hundredths(h)).unwrap();
        assert_eq!(json(250), "2.5");
        assert_eq!(json(1000), "10");
        assert_eq!(json(25), "0.25");
        assert_eq!(json(123_456_789), "1234567.89");
        assert_eq!(json(-150), "-1.5");
    }

    #[test]
    fn round_trips_every_small_amount() {
        for h in 1..=10_000 {
            let text = Credits::from_hundredths(h).to_string();
            assert_eq!(parse(&text), Ok(h), "{text}");
        }
    }
}
