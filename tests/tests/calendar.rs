//! `recert deadlines --ics` read back with an independent iCalendar parser (the `ical`
//! crate): one all-day event per expiry, and a reminder at each alert threshold recertd
//! applies to that credential (its own, its holder's, its program's or the defaults).

use std::collections::BTreeMap;

use ical::parser::ical::component::{IcalAlarm, IcalEvent};
use ical::property::Property;
use recert_tests::Daemon;
use serde_json::Value;

/// 2026-11-24, 09:00 in Chicago.
const NOW: &str = "2026-11-24T15:00:00Z";

fn property<'a>(properties: &'a [Property], name: &str) -> &'a Property {
    properties
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} in {properties:#?}"))
}

fn value<'a>(properties: &'a [Property], name: &str) -> &'a str {
    property(properties, name)
        .value
        .as_deref()
        .unwrap_or_default()
}

/// A TEXT value with RFC 5545's escapes undone (`\,` `\;` `\n` `\\`); the parser leaves
/// them as written.
fn unescaped(properties: &[Property], name: &str) -> String {
    let mut out = String::new();
    let mut chars = value(properties, name).chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Days before the event's start of a `TRIGGER` such as `-P30D`, `-P4W` or `-PT86400S`.
fn days_before(alarm: &IcalAlarm) -> u32 {
    let trigger = value(&alarm.properties, "TRIGGER");
    let duration = trigger
        .strip_prefix("-P")
        .unwrap_or_else(|| panic!("not a duration before the start: {trigger}"));
    let (mut seconds, mut number) = (0u64, String::new());
    for c in duration.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' => {}
            unit => {
                let n: u64 = std::mem::take(&mut number).parse().unwrap();
                seconds += n * match unit {
                    'W' => 7 * 86_400,
                    'D' => 86_400,
                    'H' => 3_600,
                    'M' => 60,
                    'S' => 1,
                    other => panic!("unit {other} in {trigger}"),
                };
            }
        }
    }
    assert_eq!(seconds % 86_400, 0, "{trigger} is not whole days");
    u32::try_from(seconds / 86_400).unwrap()
}

/// Adds a credential for `holder` and returns its id.
fn credential(d: &Daemon, holder: &str, program: &str, expires: &str) -> String {
    let c = d.json(&[
        "--holder",
        holder,
        "cert",
        "add",
        program,
        "--expires",
        expires,
    ]);
    c["id"].as_str().unwrap().to_owned()
}

fn program(d: &Daemon, slug: &str) -> Value {
    d.json(&["program", "show", slug])
}

#[test]
fn every_expiry_is_an_all_day_event_with_the_reminders_in_effect() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&dir.path().join("data"), Some(NOW));
    d.json(&["holder", "add", "Dana Reyes", "--tz", "America/Chicago"]);
    d.json(&["holder", "add", "Ben Okafor", "--tz", "UTC"]);
    d.json(&[
        "holder",
        "add",
        "Carmen Diaz",
        "--tz",
        "America/Los_Angeles",
    ]);

    // Dana: the defaults for a 2-year cycle, and her own setting for one credential.
    let nha = credential(&d, "h1", "nha-cpt", "2027-04-24");
    let pbt = credential(&d, "h1", "ascp-pbt", "2028-06-30");
    d.json(&["alerts", "thresholds", "45,10", "--credential", &pbt]);
    // Ben: his holder setting.
    let rpt = credential(&d, "h2", "amt-rpt", "2027-03-01");
    d.json(&["--holder", "h2", "alerts", "thresholds", "20"]);
    // Carmen: the program's setting, and a muted credential.
    let ca = credential(&d, "h3", "ca-cpt1", "2027-08-31");
    d.json(&["alerts", "thresholds", "50,5", "--program", "ca-cpt1"]);
    let ncct = credential(&d, "h3", "ncct-ncpt", "2027-01-31");
    d.json(&["--holder", "h3", "alerts", "mute", &ncct]);

    let nha_cycle =
        u32::try_from(program(&d, "nha-cpt")["cycle_months"].as_i64().unwrap()).unwrap();
    let expected: BTreeMap<&str, (&str, &str, &str, Vec<u32>)> = BTreeMap::from([
        (
            nha.as_str(),
            (
                "Dana Reyes",
                "nha-cpt",
                "20270424",
                recertd::domain::default_thresholds(nha_cycle),
            ),
        ),
        (
            pbt.as_str(),
            ("Dana Reyes", "ascp-pbt", "20280630", vec![45, 10]),
        ),
        (
            rpt.as_str(),
            ("Ben Okafor", "amt-rpt", "20270301", vec![20]),
        ),
        (
            ca.as_str(),
            ("Carmen Diaz", "ca-cpt1", "20270831", vec![50, 5]),
        ),
        (
            ncct.as_str(),
            ("Carmen Diaz", "ncct-ncpt", "20270131", vec![]),
        ),
    ]);

    // --ics wins over --output json: a calendar is what was asked for.
    let out = d.cli(&["-o", "json", "deadlines", "--within", "5y", "--ics"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    let calendars: Vec<_> = ical::IcalParser::new(text.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("not a calendar ({e}):\n{text}"));
    assert_eq!(calendars.len(), 1, "{text}");
    let calendar = &calendars[0];
    assert_eq!(value(&calendar.properties, "VERSION"), "2.0");
    assert!(!value(&calendar.properties, "PRODID").is_empty());

    // Ben's AMT dues (issue 13.6): no issue date, so the anniversary is the expiry's month;
    // the next dues are due by 2027-03-31, an event of their own at his thresholds.
    let (dues, expiries): (Vec<&IcalEvent>, Vec<&IcalEvent>) = calendar
        .events
        .iter()
        .partition(|e| value(&e.properties, "UID").contains("-dues-"));
    assert_eq!(dues.len(), 1, "one dues event:\n{text}");
    let event = dues[0];
    assert_eq!(
        value(&event.properties, "UID"),
        format!("{rpt}-dues-2027-03-31@recert")
    );
    assert_eq!(value(&event.properties, "DTSTART"), "20270331");
    let rpt_name = program(&d, "amt-rpt")["name"].as_str().unwrap().to_owned();
    assert_eq!(
        unescaped(&event.properties, "SUMMARY"),
        format!("Ben Okafor: {rpt_name} dues of $50.00 due")
    );
    assert_eq!(
        event.alarms.iter().map(days_before).collect::<Vec<_>>(),
        [20],
        "Ben's own thresholds:\n{text}"
    );
    let events: BTreeMap<String, &IcalEvent> = expiries
        .iter()
        .copied()
        .map(|e| {
            let uid = value(&e.properties, "UID");
            let id = uid.split('-').next().unwrap().to_owned();
            (id, e)
        })
        .collect();
    assert_eq!(
        expiries.len(),
        expected.len(),
        "one event per expiry:\n{text}"
    );
    for (id, (holder, slug, date, reminders)) in &expected {
        let event = events
            .get(*id)
            .unwrap_or_else(|| panic!("no event for {id}:\n{text}"));
        let start = property(&event.properties, "DTSTART");
        assert_eq!(start.value.as_deref(), Some(*date), "{id}");
        let params = start.params.clone().unwrap_or_default();
        assert!(
            params.contains(&("VALUE".to_owned(), vec!["DATE".to_owned()])),
            "{id}: an all-day event, got {params:?}"
        );
        let name = program(&d, slug)["name"].as_str().unwrap().to_owned();
        assert_eq!(
            unescaped(&event.properties, "SUMMARY"),
            format!("{holder}: {name} expires"),
            "{id}"
        );
        let description = unescaped(&event.properties, "DESCRIPTION");
        assert!(
            description.contains(&format!("{name} ({id}) of {holder}")),
            "{id}: {description}"
        );
        let mut triggers: Vec<u32> = event.alarms.iter().map(days_before).collect();
        triggers.sort_unstable_by(|a, b| b.cmp(a));
        let mut want = reminders.clone();
        want.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(triggers, want, "{id} ({slug}) reminders:\n{text}");
        for alarm in &event.alarms {
            assert_eq!(value(&alarm.properties, "ACTION"), "DISPLAY", "{id}");
            assert!(!value(&alarm.properties, "DESCRIPTION").is_empty(), "{id}");
        }
    }

    // Same deadlines as the table: --holder narrows the calendar too.
    let out = d.cli(&["--holder", "h2", "deadlines", "--within", "5y", "--ics"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let calendar = ical::IcalParser::new(text.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(calendar.events.len(), 2, "his expiry and his dues:\n{text}");

    // The table and JSON list the dues too, marked as dues, after the expiries.
    let rows = d.json(&["--holder", "h2", "deadlines", "--within", "5y"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(rows[0]["kind"], "expiry");
    assert_eq!(rows[0]["dues_amount_cents"], Value::Null);
    assert_eq!(
        (
            &rows[1]["kind"],
            &rows[1]["credential_id"],
            &rows[1]["expires_on"],
            &rows[1]["dues_amount_cents"]
        ),
        (
            &Value::from("dues"),
            &Value::from(rpt.as_str()),
            &Value::from("2027-03-31"),
            &Value::from(5000)
        ),
        "{rows:#?}"
    );
    let table = d.cli(&["--holder", "h2", "deadlines", "--within", "5y"]);
    let table = String::from_utf8_lossy(&table.stdout);
    let line = table
        .lines()
        .find(|l| l.contains("amt-rpt dues"))
        .unwrap_or_else(|| panic!("no dues row:\n{table}"));
    assert!(
        line.contains("2027-03-31") && line.contains("$50.00"),
        "{table}"
    );
    // Another holder's dues are not theirs to see: Dana's own token lists none of Ben's,
    // and naming Ben is "not found".
    let made = d.json(&["token", "create", "--role", "holder", "--holder", "h1"]);
    let dana = made["token"].as_str().unwrap().to_string();
    let hers = d.json_as(&dana, &["deadlines", "--within", "5y"]);
    assert!(
        hers.as_array()
            .unwrap()
            .iter()
            .all(|r| r["holder_id"] == "h1" && r["kind"] == "expiry"),
        "{hers:#}"
    );
    let out = d.cli_as(
        Some(&dana),
        &["--holder", "h2", "deadlines", "--within", "5y"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Dues further off than the window are not listed.
    let soon = d.json(&["--holder", "h2", "deadlines", "--within", "30d"]);
    assert!(
        soon.as_array().unwrap().iter().all(|r| r["kind"] != "dues"),
        "{soon:#}"
    );
}
