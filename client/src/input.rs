//! Parsers for command-line values (dates, spans like `90d`, `CAT=X` rules), used by clap so
//! a bad value is a usage error naming the flag.

use jiff::civil::Date;

use crate::credits::{Credits, parse_credits};
use crate::model::{CapLimit, CapRule, CategoryMinimum, CourseFormat};

/// Parses a civil date written exactly `YYYY-MM-DD` and checks that it exists.
pub fn parse_date(input: &str) -> Result<Date, String> {
    let text = input.trim();
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(format!("'{input}' is not a date; expected YYYY-MM-DD"));
    }
    text.parse::<Date>()
        .map_err(|_| format!("'{input}' is not a real calendar date"))
}

/// Parses one alert threshold in days; blanks around it are ignored, so `"120, 60, 30"`
/// reads as `120,60,30`.
pub fn parse_threshold(input: &str) -> Result<u32, String> {
    let text = input.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{input}' is not a number of days; expected e.g. 120,60,30"
        ));
    }
    text.parse()
        .map_err(|_| format!("'{input}' is too many days"))
}

/// Parses a look-ahead span into days: `90d`, `12w`, `6m` (a month counts as 30 days), `2y` (365 days) or a
/// plain number of days.
pub fn parse_within(input: &str) -> Result<i32, String> {
    let text = input.trim().to_ascii_lowercase();
    let (digits, days_per_unit) = match text.char_indices().last() {
        Some((i, 'd')) => (&text[..i], 1),
        Some((i, 'w')) => (&text[..i], 7),
        Some((i, 'm')) => (&text[..i], 30),
        Some((i, 'y')) => (&text[..i], 365),
        _ => (text.as_str(), 1),
    };
    let invalid = || format!("'{input}' is not a span; expected e.g. 90d, 12w, 6m, 2y or 90");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let count: i32 = digits.parse().map_err(|_| "span is too long".to_owned())?;
    let days = count
        .checked_mul(days_per_unit)
        .ok_or_else(|| "span is too long".to_owned())?;
    if days == 0 {
        return Err("span must be at least one day".to_owned());
    }
    Ok(days)
}

/// Parses a token's expiry: a span from now (`90d`, see [`parse_within`]) or an RFC 3339
/// instant.
pub fn parse_expiry(input: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(at) = input.trim().parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    let days = parse_within(input)
        .map_err(|_| format!("'{input}' is neither a span (90d, 12w) nor an RFC 3339 instant"))?;
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(i64::from(days) * 24))
        .map_err(|_| "span is too long".to_owned())
}

/// Parses `CATEGORY=AMOUNT`, a minimum number of credits in one category.
pub fn parse_category_minimum(input: &str) -> Result<CategoryMinimum, String> {
    let (category, amount) = split_rule(input, "CATEGORY=AMOUNT, e.g. safety=1")?;
    let minimum = parse_credits(amount).map_err(|e| format!("amount '{amount}' {e}"))?;
    Ok(CategoryMinimum {
        category: category.to_owned(),
        minimum,
    })
}

/// Parses a category cap, `CATEGORY=PCT%` or `CATEGORY=AMOUNT`.
pub fn parse_category_cap(input: &str) -> Result<CapRule, String> {
    let (category, limit) = split_rule(input, "CATEGORY=PCT% or CATEGORY=AMOUNT")?;
    Ok(CapRule {
        category: Some(category.to_owned()),
        format: None,
        limit: parse_cap_limit(limit)?,
    })
}

/// Parses a format cap, `FORMAT=PCT%` or `FORMAT=AMOUNT`, where FORMAT is a course format.
pub fn parse_format_cap(input: &str) -> Result<CapRule, String> {
    let (format, limit) = split_rule(input, "FORMAT=PCT% or FORMAT=AMOUNT, e.g. online=50%")?;
    let format = CourseFormat::from_name(format).ok_or_else(|| {
        format!("unknown format '{format}'; expected live, online, home-study or academic")
    })?;
    Ok(CapRule {
        category: None,
        format: Some(format.as_str().to_owned()),
        limit: parse_cap_limit(limit)?,
    })
}

/// Parses competency element numbers: `1,2,6` (sorted, without repeats).
pub fn parse_elements(input: &str) -> Result<crate::cli::Elements, String> {
    let mut out = Vec::new();
    for part in input.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u32>() {
            Ok(n) if n > 0 => out.push(n),
            _ => return Err(format!("{part:?} is not an element number (e.g. 1,2,6)")),
        }
    }
    if out.is_empty() {
        return Err("give at least one element number, e.g. 1,2,6".into());
    }
    out.sort_unstable();
    out.dedup();
    Ok(crate::cli::Elements(out))
}

/// Checks an IANA time zone name against the bundled tz database.
pub fn parse_time_zone(input: &str) -> Result<String, String> {
    let name = input.trim();
    jiff::tz::TimeZone::get(name)
        .map(|_| name.to_owned())
        .map_err(|_| {
            format!("unknown time zone '{input}'; expected an IANA name such as America/Chicago")
        })
}

/// Checks `--evidence`: a URL (anything with `://`) is kept as typed; a file must exist and
/// is stored as its absolute path, so the record still finds it from another directory.
/// `""` (which removes the evidence in `course edit`) passes through.
pub fn parse_evidence(input: &str) -> Result<String, String> {
    let text = input.trim();
    if text.is_empty() || text.contains("://") {
        return Ok(text.to_owned());
    }
    let path = std::path::Path::new(text);
    match path.canonicalize() {
        Ok(absolute) if absolute.is_file() => absolute
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("'{input}': the path is not valid UTF-8")),
        Ok(_) => Err(format!(
            "'{input}' is not a file; give a certificate file or a URL"
        )),
        Err(e) => Err(format!(
            "cannot find '{input}' ({e}); give an existing certificate file or a URL"
        )),
    }
}

/// Splits `KEY=VALUE` with both sides non-empty.
fn split_rule<'a>(input: &'a str, expected: &str) -> Result<(&'a str, &'a str), String> {
    match input.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
            Ok((key.trim(), value.trim()))
        }
        _ => Err(format!("'{input}' is not a rule; expected {expected}")),
    }
}

/// Parses `PCT%` (a whole percentage, 1..=100) or an amount of credits.
fn parse_cap_limit(text: &str) -> Result<CapLimit, String> {
    match text.strip_suffix('%') {
        Some(percent) => match percent.trim().parse::<i32>() {
            Ok(p) if (1..=100).contains(&p) => Ok(CapLimit::Percent(p)),
            _ => Err(format!(
                "percentage '{text}' must be a whole number from 1% to 100%"
            )),
        },
        None => text
            .parse::<Credits>()
            .map(CapLimit::Amount)
            .map_err(|e| format!("amount '{text}' {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_real_and_iso() {
        assert_eq!(parse_date("2025-02-28"), Ok(jiff::civil::date(2025, 2, 28)));
        assert_eq!(parse_date("2024-02-29"), Ok(jiff::civil::date(2024, 2, 29)));
        assert!(parse_date("2025-02-29").unwrap_err().contains("not a real"));
        assert!(parse_date("2025-13-01").unwrap_err().contains("not a real"));
        assert!(parse_date("2025-1-01").unwrap_err().contains("YYYY-MM-DD"));
        assert!(
            parse_date("2025-01-01T00:00")
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(parse_date("20250101").unwrap_err().contains("YYYY-MM-DD"));
        assert!(parse_date("yesterday").unwrap_err().contains("YYYY-MM-DD"));
    }

    #[test]
    fn spans_convert_to_days() {
        assert_eq!(parse_within("90d"), Ok(90));
        assert_eq!(parse_within("90"), Ok(90));
        assert_eq!(parse_within("12w"), Ok(84));
        assert_eq!(parse_within("6m"), Ok(180));
        assert_eq!(parse_within("6M"), Ok(180));
        assert_eq!(parse_within("1d"), Ok(1));
        assert!(parse_within("0d").unwrap_err().contains("at least one day"));
        assert!(parse_within("d").unwrap_err().contains("expected"));
        assert!(parse_within("-5d").unwrap_err().contains("expected"));
        assert_eq!(parse_within("3y"), Ok(1095));
        assert!(parse_within("3q").unwrap_err().contains("expected"));
        assert!(parse_within("1.5w").unwrap_err().contains("expected"));
        assert!(
            parse_within("99999999999m")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse_within("999999999m").unwrap_err().contains("too long"));
    }

    #[test]
    fn rules_parse_into_typed_limits() {
        let min = parse_category_minimum("safety=1.5").unwrap();
        assert_eq!(min.category, "safety");
        assert_eq!(min.minimum.hundredths(), 150);

        let cap = parse_category_cap("management = 25%").unwrap();
        assert_eq!(cap.category.as_deref(), Some("management"));
        assert_eq!(cap.format, None);
        assert_eq!(cap.limit, CapLimit::Percent(25));

        let cap = parse_format_cap("Home-Study=6").unwrap();
        assert_eq!(cap.category, None);
        assert_eq!(cap.format.as_deref(), Some("home-study"));
        assert_eq!(cap.limit, CapLimit::Amount(Credits::from_hundredths(600)));

        assert!(
            parse_format_cap("video=10%")
                .unwrap_err()
                .contains("unknown format")
        );
        assert!(
            parse_category_cap("safety=0%")
                .unwrap_err()
                .contains("1% to 100%")
        );
        assert!(
            parse_category_cap("safety=101%")
                .unwrap_err()
                .contains("1% to 100%")
        );
        assert!(
            parse_category_cap("safety=2.5%")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            parse_category_minimum("safety")
                .unwrap_err()
                .contains("expected")
        );
        assert!(
            parse_category_minimum("=1")
                .unwrap_err()
                .contains("expected")
        );
        assert!(
            parse_category_minimum("safety=0")
                .unwrap_err()
                .contains("greater than zero")
        );
    }

    #[test]
    fn time_zones_come_from_the_tz_database() {
        assert_eq!(
            parse_time_zone("America/Chicago"),
            Ok("America/Chicago".to_owned())
        );
        assert!(
            parse_time_zone("Mars/Olympus")
                .unwrap_err()
                .contains("unknown time zone")
        );
    }
}
