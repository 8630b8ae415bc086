//! The values in a store that steer the alert engine (the last tick per zone, snooze dates,
//! next delivery attempts), checked against now by `recertd check` on either engine and
//! clamped by `--repair`. A store written before the import limits, or by hand, may hold a
//! last tick in 9999 (the zone's alerts would wait for it) or a snooze to 9999-12-31.

use super::{Result, Store};
use crate::domain::{IdKind, limits};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The latest snooze date accepted at `now`.
pub fn latest_snooze(now: Timestamp) -> Date {
    now.to_zoned(TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(limits::MAX_SNOOZE_DAYS))
        .unwrap_or(Date::MAX)
}

/// The latest next delivery attempt accepted at `now`.
pub fn latest_attempt(now: Timestamp) -> Timestamp {
    now.checked_add(jiff::SignedDuration::from_hours(
        24 * limits::MAX_NEXT_ATTEMPT_DAYS,
    ))
    .unwrap_or(Timestamp::MAX)
}

/// Checks every steering value against `now`; with `repair`, clamps each bad one (a last
/// tick to now, a snooze to the latest allowed date, a next attempt to now) and answers no
/// problem for it. Answers the problems found (none after a repair).
pub async fn check_steering<S: Store>(
    store: &S,
    now: Timestamp,
    repair: bool,
) -> Result<Vec<String>> {
    let dump = store.dump().await?;
    let mut problems = Vec::new();
    for (zone, at) in &dump.last_ticks {
        if *at > now {
            if repair {
                store.set_last_tick(zone, now).await?;
                tracing::warn!(%zone, %at, %now, "a last tick after now was set to now");
            } else {
                problems.push(format!(
                    "the last tick of {zone} is {at}, after now ({now}): the zone's alerts would wait for it (--repair sets it to now)"
                ));
            }
        }
    }
    let snooze_limit = latest_snooze(now);
    let attempt_limit = latest_attempt(now);
    let bad_attempt = move |at: Timestamp| {
        at > attempt_limit || !limits::year_in_range(at.to_zoned(TimeZone::UTC).year())
    };
    for alert in &dump.alerts {
        let id = IdKind::Alert.format(alert.id);
        let far_snooze = alert.snoozed_until.filter(|d| *d > snooze_limit);
        let attempts: Vec<Timestamp> = alert
            .deliveries
            .iter()
            .filter_map(|d| d.next_attempt_at)
            .filter(|at| bad_attempt(*at))
            .collect();
        if far_snooze.is_none() && attempts.is_empty() {
            continue;
        }
        if repair {
            let _ = store
                .modify_alert(alert.id, |a| {
                    if a.snoozed_until.is_some_and(|d| d > snooze_limit) {
                        a.snoozed_until = Some(snooze_limit);
                    }
                    for d in &mut a.deliveries {
                        if d.next_attempt_at.is_some_and(bad_attempt) {
                            d.next_attempt_at = Some(now);
                        }
                    }
                    Ok::<(), std::convert::Infallible>(())
                })
                .await?;
            tracing::warn!(alert = %id, "an alert's snooze or next attempt was clamped");
            continue;
        }
        if let Some(until) = far_snooze {
            problems.push(format!(
                "alert {id} is snoozed until {until}, more than {} days ahead (--repair sets {snooze_limit})",
                limits::MAX_SNOOZE_DAYS
            ));
        }
        for at in attempts {
            problems.push(format!(
                "alert {id} has a delivery attempt scheduled at {at}, outside now to {} days ahead (--repair sets it to now)",
                limits::MAX_NEXT_ATTEMPT_DAYS
            ));
        }
    }
    Ok(problems)
}
