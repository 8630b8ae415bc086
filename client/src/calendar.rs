//! `recert deadlines --ics`: deadlines as an RFC 5545 calendar, one all-day event per expiry
//! with a reminder (VALARM) at each alert threshold in effect for its credential.

use chrono::{Duration, NaiveDate};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Property, Trigger};

use crate::model::Deadline;
use crate::render::amount;

/// One expiry to put in the calendar.
#[derive(Debug, Clone)]
pub struct Expiry<'a> {
    /// The deadline as ListDeadlines reported it.
    pub deadline: &'a Deadline,
    /// The program's full name, e.g. "Certified Phlebotomy Technician (CPT)".
    pub program_name: &'a str,
    /// Days before expiry at which recertd alerts (empty when the credential is muted).
    pub reminders: &'a [u32],
}

/// recertd's default alert thresholds for a cycle of `cycle_months` months, used when
/// neither the credential, its holder nor its program has thresholds of its own.
///
/// No RPC reports the defaults (GetAlertSettings returns a scope's own thresholds only), so
/// this mirrors recertd's `domain::default_thresholds`; the end-to-end calendar test
/// compares the two.
pub fn default_thresholds(cycle_months: i32) -> Vec<u32> {
    match cycle_months {
        ..=12 => vec![60, 30, 14, 7, 1],
        13..=24 => vec![90, 60, 30, 14, 7, 1],
        _ => vec![180, 90, 60, 30, 14, 7, 1],
    }
}

/// The calendar, as text with CRLF line ends. A date that is not `YYYY-MM-DD` (which
/// recertd never sends) is returned as the error.
pub fn render(expiries: &[Expiry<'_>]) -> Result<String, String> {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//recert//deadlines//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "PUBLISH"))
        .name("recert deadlines");
    for expiry in expiries {
        calendar.push(event(expiry)?);
    }
    Ok(calendar.to_string())
}

/// The all-day event of one expiry. Its UID is the credential and the cycle's expiry date,
/// so importing a newer calendar updates the event instead of adding a second one, and a
/// renewal (a new expiry) is a new event.
fn event(expiry: &Expiry<'_>) -> Result<Event, String> {
    let d = expiry.deadline;
    let date = NaiveDate::parse_from_str(&d.expires_on, "%Y-%m-%d")
        .map_err(|_| format!("recertd sent {:?} as an expiry date", d.expires_on))?;
    let name = expiry.program_name;
    // A dues row is its own event: its own UID, and its summary names the amount.
    let (uid, what) = match d.dues_amount_cents.filter(|_| d.is_dues()) {
        Some(cents) => (
            format!("{}-dues-{}@recert", d.credential_id, d.expires_on),
            format!("dues of {} due", crate::render::dollars(cents)),
        ),
        None => (
            format!("{}-{}@recert", d.credential_id, d.expires_on),
            "expires".to_string(),
        ),
    };
    let mut event = Event::new();
    event
        .uid(&uid)
        .summary(&format!("{}: {name} {what}", d.holder_name))
        .description(&description(expiry))
        .starts(date)
        .ends(date + Duration::days(1));
    let mut reminders = expiry.reminders.to_vec();
    reminders.sort_unstable_by(|a, b| b.cmp(a));
    reminders.dedup();
    for days in reminders {
        let when = match days {
            1 => "tomorrow".to_owned(),
            n => format!("in {n} days"),
        };
        let mut alarm = Alarm::display(
            &format!("{}: {name} {what} {when}", d.holder_name),
            Trigger::before_start(Duration::days(i64::from(days))),
        );
        // The crate writes the duration in seconds (-PT2592000S); calendars show days best.
        alarm.append_property(
            Property::new("TRIGGER", format!("-P{days}D"))
                .add_parameter("RELATED", "START")
                .done(),
        );
        event.alarm(alarm);
    }
    Ok(event.done())
}

/// What the event says: whose credential, what is still needed, where it stood.
fn description(expiry: &Expiry<'_>) -> String {
    let d = expiry.deadline;
    if let Some(cents) = d.dues_amount_cents.filter(|_| d.is_dues()) {
        return format!(
            "{} ({}) of {} ({}): dues of {} due by {}.\nPay them to the certifying body.",
            expiry.program_name,
            d.credential_id,
            d.holder_name,
            d.holder_id,
            crate::render::dollars(cents),
            d.expires_on,
        );
    }
    let needed = if d.remaining.hundredths() == 0 {
        "Nothing is missing: apply for renewal.".to_owned()
    } else {
        format!("Still needed: {}.", amount(d.remaining, &d.unit))
    };
    format!(
        "{} ({}) of {} ({}) expires on {}.\n{needed}\nStatus when exported: {}.\n\
         Details: recert --holder {} status",
        expiry.program_name,
        d.credential_id,
        d.holder_name,
        d.holder_id,
        d.expires_on,
        d.status.label(),
        d.holder_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credits::Credits;
    use crate::model::ComplianceStatus;

    fn deadline() -> Deadline {
        Deadline {
            credential_id: "cr1".into(),
            holder_id: "h1".into(),
            holder_name: "Dana Reyes".into(),
            program: "nha-cpt".into(),
            expires_on: "2027-04-24".into(),
            days_left: 151,
            status: ComplianceStatus::AtRisk,
            unit: "NHA CE credit".into(),
            remaining: Credits::from_hundredths(500),
            kind: "expiry".into(),
            dues_amount_cents: None,
            dues_every_months: 0,
        }
    }

    #[test]
    fn one_all_day_event_with_an_alarm_per_threshold() {
        let d = deadline();
        let text = render(&[Expiry {
            deadline: &d,
            program_name: "NHA CPT",
            reminders: &[30, 90, 30, 1],
        }])
        .unwrap();
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.contains("DTSTART;VALUE=DATE:20270424\r\n"), "{text}");
        assert!(text.contains("DTEND;VALUE=DATE:20270425\r\n"), "{text}");
        assert!(text.contains("UID:cr1-2027-04-24@recert\r\n"), "{text}");
        assert!(
            text.contains("SUMMARY:Dana Reyes: NHA CPT expires\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("BEGIN:VALARM").count(), 3, "{text}");
        for days in [90, 30, 1] {
            let trigger = format!("TRIGGER;RELATED=START:-P{days}D\r\n");
            assert!(text.contains(&trigger), "{trigger} missing in {text}");
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(
            unfolded.contains("Still needed: 5 NHA CE credits."),
            "{text}"
        );
    }

    #[test]
    fn defaults_scale_with_the_cycle() {
        assert_eq!(default_thresholds(12), [60, 30, 14, 7, 1]);
        assert_eq!(default_thresholds(24), [90, 60, 30, 14, 7, 1]);
        assert_eq!(default_thresholds(36), [180, 90, 60, 30, 14, 7, 1]);
    }
}
