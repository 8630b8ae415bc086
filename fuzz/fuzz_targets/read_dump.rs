//! Feeds arbitrary bytes, cut into arbitrary chunks, to the import reader (`backup::Reader`),
//! the code that reads an uploaded dump before anything is written: nothing may panic, the
//! answer must not depend on where the stream was cut, and a dump it accepts holds only what
//! the import rules allow (dates and instants in 1900..=2200, no last tick after now, no
//! snooze or next attempt beyond their limits, no control characters in alert text).

#![no_main]

use arbitrary::Arbitrary;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;
use recertd::backup::Reader;
use recertd::domain::limits;

#[derive(Arbitrary, Debug)]
struct Input {
    /// Where to cut the stream (each a length, taken modulo what is left).
    cuts: Vec<u16>,
    /// Start from a valid header and end line around `body`, so that record lines are read.
    framed: bool,
    body: Vec<u8>,
}

const HEADER: &str = r#"{"format":"recert-export","version":1,"schema":2,"exported_at":"2026-11-25T15:00:00Z","secrets":true}"#;

fn now() -> Timestamp {
    "2026-11-25T15:00:00Z".parse().expect("a valid instant")
}

/// Reads `data` pushed in `cuts`; the outcome as text (the records read, or the errors).
fn read(data: &[u8], cuts: &[u16]) -> Result<recertd::service::import::ParsedDump, Vec<String>> {
    let mut reader = Reader::new();
    let mut rest = data;
    for &cut in cuts {
        if rest.is_empty() {
            break;
        }
        let n = usize::from(cut) % (rest.len() + 1);
        let (piece, tail) = rest.split_at(n);
        reader.push(piece);
        rest = tail;
    }
    reader.push(rest);
    reader
        .finish(now(), |_| Some("UTC".to_string()))
        .map_err(|errors| errors.iter().map(|e| format!("{e:?}")).collect())
}

fn in_range(at: Timestamp) -> bool {
    limits::year_in_range(at.to_zoned(TimeZone::UTC).year())
}

fn no_controls(text: &str, lines: bool) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !(lines && c == '\n'))
}

fuzz_target!(|input: Input| {
    let data = if input.framed {
        let mut data = format!("{HEADER}\n").into_bytes();
        data.extend_from_slice(&input.body);
        let records = input.body.iter().filter(|&&b| b == b'\n').count();
        data.extend_from_slice(
            format!("\n{{\"kind\":\"end\",\"records\":{records}}}\n").as_bytes(),
        );
        data
    } else {
        input.body
    };
    let whole = read(&data, &[]);
    let cut = read(&data, &input.cuts);
    match (&whole, &cut) {
        (Ok(_), Ok(_)) => {}
        (Err(a), Err(b)) => assert_eq!(a, b, "the errors depend on where the stream was cut"),
        _ => panic!("the outcome depends on where the stream was cut: {whole:?} / {cut:?}"),
    }
    let Ok(dump) = whole else { return };
    for l in &dump.last_ticks {
        assert!(l.record.1 <= now() && in_range(l.record.1), "{l:?}");
    }
    let latest_snooze = now()
        .to_zoned(TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(limits::MAX_SNOOZE_DAYS))
        .expect("in range");
    for l in &dump.alerts {
        let a = &l.record;
        assert!(a.snoozed_until.is_none_or(|d| d <= latest_snooze), "{a:?}");
        assert!(in_range(a.created_at), "{a:?}");
        assert!(
            no_controls(&a.title, false) && no_controls(&a.body, true),
            "{a:?}"
        );
        for d in &a.deliveries {
            assert!(no_controls(&d.target, false) && no_controls(&d.last_error, false));
            if let Some(at) = d.next_attempt_at {
                assert!(in_range(at), "{d:?}");
            }
        }
    }
    for l in &dump.programs {
        let p = &l.record;
        assert!(p.caps.len() <= limits::MAX_CAPS);
        assert!(p.accepted_accreditations.len() <= limits::MAX_ACCREDITATIONS);
        assert!(p.sources.len() <= limits::MAX_SOURCES);
    }
});
