//! What the bearer-token check costs next to the request it guards (issue 11: "the auth
//! check costs under 5% of the compliance read rate"), measured in-process on a real sled
//! store: the compliance use case (`holder_id` + `holder_compliance`, the standings warm in
//! the cache, as under load) timed with and without the `Service::authenticate` call the
//! auth layer makes before it, and `authenticate` alone. No daemon: the auth layer runs the
//! same service call, so this is its cost without the transport's noise. Set the figure
//! against the daemon's CPU per compliance request from `recert-bench load` in the same
//! window to get its share of a served request.

use crate::{BenchError, Result};
use jiff::ToSpan;
use recertd::clock::{Clock, SystemClock};
use recertd::domain::{Course, Credential, Credits, Holder, Unit};
use recertd::service::{Caller, Service};
use recertd::store::{SledStore, StoreOptions};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What to measure.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// Holders read (each with two credentials).
    pub holders: u64,
    /// Courses per holder.
    pub courses_per_holder: u64,
    /// Timed calls per measurement.
    pub calls: u64,
    /// Times each measurement is repeated, alternating (the figures are medians).
    pub rounds: usize,
}

/// Per-call times, in microseconds (medians over the rounds).
#[derive(Debug, Clone, Serialize)]
pub struct AuthReport {
    /// Holders read.
    pub holders: u64,
    /// Timed calls per round.
    pub calls: u64,
    /// Rounds.
    pub rounds: usize,
    /// `Service::authenticate` of an admin token alone.
    pub authenticate_us: f64,
    /// The compliance use case with the caller resolved once beforehand.
    pub compliance_us: f64,
    /// The same with `authenticate` before each call, as the auth layer runs it.
    pub compliance_with_auth_us: f64,
    /// `authenticate_us / compliance_with_auth_us`: the share of the use case's time that
    /// is the check (an upper bound on the rate it costs a served request, whose transport
    /// and encoding come on top).
    pub auth_share: f64,
    /// Every round's (authenticate, compliance, compliance with auth), µs per call.
    pub per_round: Vec<(f64, f64, f64)>,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn failed(e: impl std::fmt::Display) -> BenchError {
    BenchError::Task(e.to_string())
}

/// Seeds `dir` and times the three calls.
pub async fn run(dir: &Path, options: &AuthOptions) -> Result<AuthReport> {
    let store = SledStore::open(dir, &StoreOptions::default()).map_err(failed)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let service = Service::new(store.clone(), clock.clone(), Arc::default());
    let secret = recertd::service::access::new_secret().map_err(failed)?;
    service
        .create_admin_token(&secret, "bench")
        .await
        .map_err(failed)?;
    let today = clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut holders = Vec::new();
    for i in 0..options.holders {
        let holder = store
            .create_holder(Holder {
                id: 0,
                name: format!("Auth Bench {i}"),
                email: String::new(),
                time_zone: "UTC".into(),
                hired_on: None,
                competencies: Vec::new(),
            })
            .await
            .map_err(failed)?;
        for program in ["nha-cpt", "ascp-pbt"] {
            store
                .create_credential(Credential {
                    id: 0,
                    holder_id: holder.id,
                    program: program.into(),
                    number: String::new(),
                    issued_on: None,
                    expires_on: today.saturating_add((200 + i as i64 % 500).days()),
                    history: Vec::new(),
                    verifications: Vec::new(),
                })
                .await
                .map_err(failed)?;
        }
        for k in 0..options.courses_per_holder {
            store
                .create_course(Course {
                    id: 0,
                    holder_id: holder.id,
                    title: format!("Course {k}"),
                    provider: String::new(),
                    accreditation: String::new(),
                    completed_on: today.saturating_sub((1 + k as i64 * 7 % 600).days()),
                    amount: Credits::whole(1),
                    unit: Unit::Hours,
                    categories: Vec::new(),
                    format: None,
                    credential_ids: Vec::new(),
                    evidence: String::new(),
                })
                .await
                .map_err(failed)?;
        }
        holders.push(recertd::domain::IdKind::Holder.format(holder.id));
    }
    let header = format!("Bearer {secret}");
    let caller = service.authenticate(Some(&header)).await.map_err(failed)?;
    let compliance = |caller: Caller, holder: String| {
        let service = &service;
        async move {
            let id = service
                .holder_id(&caller, "holder_id", &holder)
                .await
                .map_err(failed)?;
            service
                .holder_compliance(&caller, id, None)
                .await
                .map_err(failed)
                .map(|rows| rows.len())
        }
    };
    // Warm the standing cache (the load's read holders are warm too).
    for holder in &holders {
        compliance(caller.clone(), holder.clone()).await?;
    }
    let per_call = |start: Instant| start.elapsed().as_secs_f64() * 1e6 / options.calls as f64;
    let mut per_round = Vec::new();
    for _ in 0..options.rounds {
        let start = Instant::now();
        for _ in 0..options.calls {
            std::hint::black_box(service.authenticate(Some(&header)).await.map_err(failed)?);
        }
        let auth = per_call(start);
        let start = Instant::now();
        for i in 0..options.calls {
            let holder = holders[i as usize % holders.len()].clone();
            std::hint::black_box(compliance(caller.clone(), holder).await?);
        }
        let plain = per_call(start);
        let start = Instant::now();
        for i in 0..options.calls {
            let holder = holders[i as usize % holders.len()].clone();
            let caller = service.authenticate(Some(&header)).await.map_err(failed)?;
            std::hint::black_box(compliance(caller, holder).await?);
        }
        let with_auth = per_call(start);
        per_round.push((auth, plain, with_auth));
    }
    store.close().await.map_err(failed)?;
    let authenticate_us = median(per_round.iter().map(|r| r.0).collect());
    let compliance_us = median(per_round.iter().map(|r| r.1).collect());
    let compliance_with_auth_us = median(per_round.iter().map(|r| r.2).collect());
    Ok(AuthReport {
        holders: options.holders,
        calls: options.calls,
        rounds: options.rounds,
        authenticate_us,
        compliance_us,
        compliance_with_auth_us,
        auth_share: authenticate_us / compliance_with_auth_us,
        per_round,
    })
}

impl std::fmt::Display for AuthReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "auth check in-process, {} holders, {} calls x {} rounds (medians, µs per call):",
            self.holders, self.calls, self.rounds
        )?;
        writeln!(
            f,
            "  authenticate alone:          {:8.2}",
            self.authenticate_us
        )?;
        writeln!(
            f,
            "  compliance use case:         {:8.2}",
            self.compliance_us
        )?;
        writeln!(
            f,
            "  compliance with authenticate: {:8.2}",
            self.compliance_with_auth_us
        )?;
        write!(
            f,
            "  the check's share of the guarded use case: {:.1}%",
            self.auth_share * 100.0
        )
    }
}
