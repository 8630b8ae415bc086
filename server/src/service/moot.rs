//! Which alerts a change makes moot: the rule the store runs inside the change's own write
//! (see [`crate::store::Store::with_alerts_after`]), so a course that closes a shortfall and
//! the cancelling of the shortfall's pending alerts commit together.

use super::standing;
use crate::catalog;
use crate::clock::Clock;
use crate::domain::{Alert, compliance_all};
use crate::store::{AlertsAfter, StoreError, TxFuture, TxView};
use std::sync::Arc;

/// Pending shortfall alerts whose credential is met once the change is written are
/// cancelled. Alerts acknowledged or delivered meanwhile are left alone (the rule runs on the
/// alerts as the write sees them).
#[derive(Debug)]
pub(super) struct MootAlerts {
    /// Tells the holder's today.
    pub(super) clock: Arc<dyn Clock>,
}

/// Whether `alert` still waits to be delivered for a shortfall.
fn open(alert: &Alert) -> bool {
    !alert.met && alert.next_attempt().is_some()
}

impl AlertsAfter for MootAlerts {
    fn moot<'a>(&'a self, view: &'a dyn TxView, holder: u64) -> TxFuture<'a, Vec<Alert>> {
        Box::pin(async move {
            let holder = match view.holder(holder).await {
                Ok(h) => h,
                Err(StoreError::NotFound { .. }) => return Ok(Vec::new()),
                Err(e) => return Err(e),
            };
            // Most writes find no open shortfall alert: then the holder's courses are not
            // read. The probe reads each credential's current cycle's alerts through the
            // dedupe key's index, a handful each, whatever the holder's history: the
            // credentials with their programs in one read, every cycle's alerts in one more
            // (one query each on PostgreSQL).
            let mut credentials = Vec::new();
            let mut cycles = Vec::new();
            for (credential, local) in view.credentials_with_programs(holder.id).await? {
                let program = match local {
                    Some(p) => p,
                    None => match catalog::find(&credential.program) {
                        Some(p) => p.clone(),
                        // A credential of a program gone: no standing to judge by.
                        None => continue,
                    },
                };
                cycles.push((
                    credential.id,
                    program.cycle_end(credential.expires_on, None),
                ));
                credentials.push((credential, program));
            }
            if !view.cycles_alerts(&cycles).await?.iter().any(open) {
                return Ok(Vec::new());
            }
            let courses = view.courses_of(holder.id).await?;
            let today = standing::today(&holder, self.clock.now());
            let answers = compliance_all(&credentials, &courses, today);
            // Through the cycles' own alerts, not all of the holder's (issue 12 point 5).
            let met: Vec<(u64, jiff::civil::Date)> = credentials
                .iter()
                .zip(answers)
                .filter(|(_, answer)| answer.remaining.0 == 0)
                .map(|((credential, _), answer)| (credential.id, answer.expires_on))
                .collect();
            let mut moot = Vec::new();
            for mut alert in view.cycles_alerts(&met).await? {
                if open(&alert) {
                    alert.cancel();
                    moot.push(alert);
                }
            }
            Ok(moot)
        })
    }
}
