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
            // dedupe key's index, a handful each, whatever the holder's history.
            let mut credentials = Vec::new();
            let mut any_open = false;
            for credential in view.credentials_of(holder.id).await? {
                let program = match view.local_program(&credential.program).await? {
                    Some(p) => p,
                    None => match catalog::find(&credential.program) {
                        Some(p) => p.clone(),
                        // A credential of a program gone: no standing to judge by.
                        None => continue,
                    },
                };
                if !any_open {
                    let ends_on = program.cycle_end(credential.expires_on, None);
                    any_open = view
                        .cycle_alerts(credential.id, ends_on)
                        .await?
                        .iter()
                        .any(open);
                }
                credentials.push((credential, program));
            }
            if !any_open {
                return Ok(Vec::new());
            }
            let courses = view.courses_of(holder.id).await?;
            let today = standing::today(&holder, self.clock.now());
            let answers = compliance_all(&credentials, &courses, today);
            let mut moot = Vec::new();
            for ((credential, _), answer) in credentials.iter().zip(answers) {
                if answer.remaining.0 != 0 {
                    continue;
                }
                // Through the cycle's own alerts, not all of the holder's (issue 12 point 5).
                for mut alert in view.cycle_alerts(credential.id, answer.expires_on).await? {
                    if open(&alert) {
                        alert.cancel();
                        moot.push(alert);
                    }
                }
            }
            Ok(moot)
        })
    }
}
