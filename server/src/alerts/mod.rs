//! The alert engine: cron-scheduled ticks that find due reminders through the expiry index,
//! a durable outbox with one entry per (credential, cycle, threshold), and delivery to each
//! holder's channels with persisted retries.
//!
//! Everything takes "now" as an argument ([`AlertEngine::run_due`],
//! [`AlertEngine::dispatch_due`]); only [`AlertEngine::run`] reads the clock, so tests can
//! live through a year with a manual clock.

pub mod delivery;
pub mod digest;
pub mod schedule;
mod team;

use crate::catalog;
use crate::clock::Clock;
use crate::domain::{
    self, Alert, AlertSettings, AlertSubject, AttemptOutcome, Channel, ChannelKind, Compliance,
    Credential, CycleAnchor, Delivery, DeliveryState, HOLDER_EMAIL, Holder, IdKind, MonthDay,
    Program, WAITING_FOR_RELAY, alert_text, due_mark, scan_windows, thresholds_for,
};
use crate::service::standing::{self, Standing, StandingError};
use crate::store::{SettingsScope, Store, StoreError};
use delivery::{AlertPayload, DeliveryError, Mailer, WebhookClient, WebhookTarget};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use schedule::TickSchedule;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

/// Dirty marks cleared per durable write after a tick.
const CLEAR_DIRTY_CHUNK: usize = 10_000;

/// How far back the first tick of a zone looks for crossed marks.
const FIRST_TICK_LOOKBACK_DAYS: i64 = 400;
/// The engine re-checks at least this often (clock jumps, suspend).
const MAX_IDLE: SignedDuration = SignedDuration::from_secs(3600);
/// The shortest wait between two passes that did not fill a page of due deliveries: what
/// is stored (a retry time in the past that an attempt does not move, a clock that stands
/// still) can never make the loop spin.
const MIN_WAIT: SignedDuration = SignedDuration::from_millis(250);
/// The wait after a pass that failed (the store is unreachable, a record unreadable).
const AFTER_FAILURE: SignedDuration = SignedDuration::from_secs(5);
/// Due alerts read per dispatch pass; a full page means more may be due at once.
const DISPATCH_PAGE: usize = 256;
/// How often one channel may be sent a test alert (`alerts test`): often enough to try a
/// fix, too seldom to relay mail or scan with it.
pub const TEST_INTERVAL: SignedDuration = SignedDuration::from_secs(60);

/// Why an engine step failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A holder's standing could not be computed.
    #[error(transparent)]
    Standing(#[from] StandingError),
    /// The delivery setup is wrong (SMTP URL, HTTP client).
    #[error("alert delivery setup: {0}")]
    Setup(String),
}

/// The engine's settings.
#[derive(Clone)]
pub struct AlertConfig {
    /// When ticks fire, on each holder's wall clock.
    pub schedule: TickSchedule,
    /// When the leads' digest fires, on each lead's wall clock (`--digest-schedule`); it
    /// goes out with the first alert tick at or after the fire.
    pub digest_schedule: TickSchedule,
    /// SMTP relay URL (`smtp://127.0.0.1:2525`, `smtp+starttls://...`, `smtps://...`).
    pub smtp_url: Option<String>,
    /// The From address of alert e-mails.
    pub smtp_from: String,
    /// The password of the SMTP URL's user (`--smtp-password-file`, `RECERT_SMTP_PASSWORD`);
    /// `Debug` hides it.
    pub smtp_password: Option<String>,
    /// Internal ranges webhooks may reach all the same (`--webhook-allow-net`).
    pub webhook_allow_nets: Vec<ipnet::IpNet>,
}

// By hand: `smtp_url` may carry `user:pass@`.
impl std::fmt::Debug for AlertConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertConfig")
            .field("schedule", &self.schedule)
            .field("digest_schedule", &self.digest_schedule)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("webhook_allow_nets", &self.webhook_allow_nets)
            .finish()
    }
}

/// `url` with the password of its `user:pass@` part, if any, replaced by `***`:
/// `smtp://user:pass@host` becomes `smtp://user:***@host`. For `Debug` of SMTP relay URLs;
/// it lives here, not in `config`, because `config` sits above `alerts`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority = rest.find(['/', '?', '#']).map_or(rest, |end| &rest[..end]);
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!(
        "{}***{}",
        &url[..scheme_end + colon + 1],
        &url[scheme_end + at..]
    )
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            schedule: TickSchedule::parse(schedule::DEFAULT_SCHEDULE)
                .expect("the default schedule parses"),
            digest_schedule: TickSchedule::parse(digest::DEFAULT_DIGEST_SCHEDULE)
                .expect("the default digest schedule parses"),
            smtp_url: None,
            smtp_from: delivery::DEFAULT_FROM.to_string(),
            smtp_password: None,
            webhook_allow_nets: Vec::new(),
        }
    }
}

/// Candidate credentials a tick evaluates per batch of reads.
const TICK_PAGE: usize = 512;

/// What [`AlertEngine::evaluate_page`] found.
#[derive(Default)]
struct EvaluatedPage {
    /// The alerts due, in credential order.
    due: Vec<Alert>,
    /// The candidates evaluated in the tick's zone, as read.
    settled: Vec<Credential>,
    /// The candidates gone from the store.
    gone: Vec<u64>,
    /// (credential, holder) of the candidates in the tick's zone.
    holders: Vec<(u64, u64)>,
}

/// Each holder's standing on the tick's day, computed once per tick.
type Standings = HashMap<u64, Vec<(Credential, Compliance, Program)>>;

/// The alert engine. Cheap to clone.
#[derive(Clone)]
pub struct AlertEngine<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    store: S,
    clock: Arc<dyn Clock>,
    schedule: TickSchedule,
    digest_schedule: TickSchedule,
    webhook: WebhookClient,
    mailer: Option<Mailer>,
    events: broadcast::Sender<Alert>,
    wake: Arc<Notify>,
    last_tick: std::sync::Mutex<TickTimings>,
    /// When each channel of each holder (the holder's own address too) was last sent a test alert.
    last_test: std::sync::Mutex<HashMap<(u64, u64), Timestamp>>,
    /// By zone, the latest digest fire whose digests went out between two alert ticks, so
    /// the next tick does not compute them again (lost on restart: that tick then does, and
    /// the digests' dedupe keys keep each to one).
    digested: std::sync::Mutex<HashMap<String, Timestamp>>,
}

/// Where the time of the last [`AlertEngine::tick_zone`] went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TickTimings {
    /// Finding candidates: expiry-index windows and the changed credentials.
    pub scan: std::time::Duration,
    /// Reading and evaluating each candidate.
    pub evaluate: std::time::Duration,
    /// Writing the due alerts durably (one transaction, one flush).
    pub enqueue: std::time::Duration,
    /// Clearing the settled change marks.
    pub clear_dirty: std::time::Duration,
}

impl<S> std::fmt::Debug for AlertEngine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertEngine")
            .field("schedule", &self.inner.schedule.as_str())
            .finish_non_exhaustive()
    }
}

/// The occurrences of `day` from `from` to `to` (inclusive).
fn fixed_days_within(day: MonthDay, from: Date, to: Date) -> Vec<Date> {
    (from.year()..=to.year())
        .filter_map(|year| day.in_year(year))
        .filter(|d| (from..=to).contains(d))
        .collect()
}

/// The holder's local midnight starting `date`; `None` when that instant cannot be
/// represented (a date at the end of time in a zone west of UTC).
fn start_of(date: Date, zone: &str) -> Option<Timestamp> {
    date.to_zoned(domain::zone(zone))
        .ok()
        .map(|z| z.timestamp())
}

impl<S: Store> AlertEngine<S> {
    /// An engine over `store`.
    pub fn new(store: S, clock: Arc<dyn Clock>, config: &AlertConfig) -> Result<Self, AlertError> {
        let policy = domain::DestinationPolicy::new(config.webhook_allow_nets.clone());
        let webhook = WebhookClient::new(policy).map_err(|e| AlertError::Setup(e.to_string()))?;
        let mailer = match &config.smtp_url {
            Some(url) => Some(
                Mailer::from_url(url, &config.smtp_from, config.smtp_password.as_deref())
                    .map_err(|e| AlertError::Setup(e.to_string()))?,
            ),
            None => None,
        };
        let (events, _) = broadcast::channel(1024);
        Ok(AlertEngine {
            inner: Arc::new(Inner {
                store,
                clock,
                schedule: config.schedule.clone(),
                digest_schedule: config.digest_schedule.clone(),
                webhook,
                mailer,
                events,
                wake: Arc::new(Notify::new()),
                last_tick: std::sync::Mutex::new(TickTimings::default()),
                last_test: std::sync::Mutex::new(HashMap::new()),
                digested: std::sync::Mutex::new(HashMap::new()),
            }),
        })
    }

    /// New alerts as they are enqueued (for `WatchAlerts`).
    pub fn subscribe(&self) -> broadcast::Receiver<Alert> {
        self.inner.events.subscribe()
    }

    /// Asks the background loop to look again now (data changed).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Whether e-mail can be sent: recertd has an SMTP relay (`--smtp-url`).
    pub fn can_email(&self) -> bool {
        self.inner.mailer.is_some()
    }

    /// Where webhooks may be delivered, for the service to check new channels against.
    pub fn destinations(&self) -> &domain::DestinationPolicy {
        self.inner.webhook.policy()
    }

    /// The notify that wakes the loop, for the service layer to signal changes through.
    pub fn waker(&self) -> Arc<Notify> {
        self.inner.wake.clone()
    }

    fn store(&self) -> &S {
        &self.inner.store
    }

    /// Runs the tick of every zone whose schedule fired in `(last tick, now]`: exactly one
    /// tick per zone, at its latest missed fire, so a long outage catches up once. A zone seen
    /// for the first time starts its schedule at `now`. Returns the alerts enqueued.
    ///
    /// A stored last tick later than `now` (imported, or written by a clock that ran ahead)
    /// would silence the zone until then: it is taken back to `now`, with a warning. One
    /// older than the first tick's look-back is taken as that far back (the marks in between
    /// coalesce anyway). A zone whose tick fails is logged and retried at its next fire; the
    /// other zones still tick, and the first error is returned after them.
    pub async fn run_due(&self, now: Timestamp) -> Result<Vec<Alert>, AlertError> {
        let mut enqueued = Vec::new();
        let mut failed = None;
        for zone in self.store().holder_zones().await? {
            match self.run_zone(&zone, now).await {
                Ok(alerts) => enqueued.extend(alerts),
                Err(e) => {
                    tracing::error!(%zone, error = %e, "alert tick of a zone failed");
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(enqueued),
        }
    }

    /// The tick of `zone` if its schedule fired in `(last tick, now]` (see [`Self::run_due`]).
    async fn run_zone(&self, zone: &str, now: Timestamp) -> Result<Vec<Alert>, AlertError> {
        let tz = domain::zone(zone);
        let Some(mut last) = self.store().last_tick(zone).await? else {
            self.store().set_last_tick(zone, now).await?;
            return Ok(Vec::new());
        };
        if last > now {
            tracing::warn!(%zone, last_tick = %last, %now, "the zone's last alert tick is in the future; taking it back to now so its alerts are not silenced");
            self.store().set_last_tick(zone, now).await?;
            return Ok(Vec::new());
        }
        let earliest = now
            .checked_sub(SignedDuration::from_hours(24 * FIRST_TICK_LOOKBACK_DAYS))
            .unwrap_or(now);
        last = last.max(earliest);
        // Digests already sent since the last tick are not looked for again.
        let digested = self
            .inner
            .digested
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(zone)
            .copied();
        let digests_after = digested.map_or(last, |d| d.max(last));
        let Some(fire) = self.inner.schedule.latest_in(&tz, last, now) else {
            // A digest fire between two alert ticks: its digests go out at their own time.
            let Some(digest_fire) = self
                .inner
                .digest_schedule
                .latest_in(&tz, digests_after, now)
            else {
                return Ok(Vec::new());
            };
            let enqueued = self
                .zone_digests(zone, &tz, digests_after, digest_fire)
                .await?;
            self.inner
                .digested
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(zone.to_string(), digest_fire);
            return Ok(enqueued);
        };
        let today = fire.to_zoned(tz.clone()).date();
        let since = last.to_zoned(tz.clone()).date();
        let missed = since.until(today).map(|s| s.get_days()).unwrap_or(0);
        if missed > 1 {
            tracing::info!(%zone, %since, %today, "catching up on missed alert ticks");
        }
        let mut enqueued = self.tick_zone(zone, today, Some(since), fire).await?;
        enqueued.extend(self.zone_digests(zone, &tz, digests_after, fire).await?);
        self.store().set_last_tick(zone, fire).await?;
        Ok(enqueued)
    }

    /// One tick for the holders of `zone` on their local date `today`, covering marks
    /// crossed after `since`. Asks the expiry index only for credentials that can have a mark
    /// in `(since, today]`, plus credentials changed since the last tick.
    pub async fn tick_zone(
        &self,
        zone: &str,
        today: Date,
        since: Option<Date>,
        now: Timestamp,
    ) -> Result<Vec<Alert>, AlertError> {
        let store = self.store();
        let started = std::time::Instant::now();
        let since = since.unwrap_or_else(|| {
            today
                .checked_sub(FIRST_TICK_LOOKBACK_DAYS.days())
                .unwrap_or(today)
        });
        // The reads that need nothing read before them, all at once: on PostgreSQL each is a
        // round trip (pipelined here on the pool's connections), on sled a ready future.
        let (local, thresholds, dirty, dirty_holders, competency_programs) = tokio::try_join!(
            store.local_programs(),
            store.thresholds_in_use(),
            store.dirty_credentials(),
            store.dirty_holders(),
            store.competency_programs(),
        )?;
        let local: Vec<Program> = local.into_iter().map(catalog::in_force).collect();
        let mut graces: Vec<u32> = catalog::builtin().iter().map(|p| p.grace_days).collect();
        graces.extend(local.iter().map(|p| p.grace_days));
        // Programs whose cycle ends on a fixed calendar day, by slug (a local one overrides).
        let mut anchored: HashMap<&str, MonthDay> = HashMap::new();
        for p in catalog::builtin().iter().chain(&local) {
            match p.cycle_anchor {
                CycleAnchor::Fixed(day) => anchored.insert(&p.slug, day),
                CycleAnchor::Issue | CycleAnchor::Birthday => anchored.remove(p.slug.as_str()),
            };
        }
        let days: BTreeSet<MonthDay> = anchored.values().copied().collect();
        let windows = scan_windows(since, today, &thresholds, &graces);
        // Competencies and dues: the holders the competency and dues indexes find due in the
        // windows (both are reminded without grace), the holders written since their last
        // tick, and the holders of changed credentials (a new or edited credential moves its
        // dues days).
        let holder_windows = scan_windows(since, today, &thresholds, &[0]);
        // Every window in one read of the expiry index, beside the holder indexes' reads.
        let (expiring, competencies_due, dues_holders) = tokio::try_join!(
            store.expiring_ids(&windows),
            store.competencies_due(&holder_windows),
            standing::dues_holders(store, &local, &holder_windows),
        )?;
        let mut candidates: BTreeSet<u64> = expiring.into_iter().collect();
        for &(from, to) in &windows {
            // A fixed-day cycle ends up to a year before its expiry: on the rare ticks where
            // such a day D falls in the window, read the credentials expiring within a year
            // of D and keep those of a program that ends on D.
            for &day in &days {
                for ends_on in fixed_days_within(day, from, to) {
                    let until = ends_on.checked_add(366.days()).unwrap_or(Date::MAX);
                    candidates.extend(
                        store
                            .expiring(ends_on, until, None, usize::MAX)
                            .await?
                            .items
                            .iter()
                            .filter(|c| anchored.get(c.program.as_str()) == Some(&day))
                            .map(|c| c.id),
                    );
                }
            }
        }
        let dirty: std::collections::HashSet<u64> = dirty.into_iter().collect();
        candidates.extend(&dirty);
        let scanned = started.elapsed();

        let mut enqueued = Vec::new();
        let mut due = Vec::new();
        let mut settled_dirty: Vec<Credential> = Vec::new();
        let mut gone_dirty: Vec<u64> = Vec::new();
        let mut holder_ids: BTreeSet<u64> = competencies_due.into_iter().collect();
        holder_ids.extend(dues_holders);
        let dirty_holders: std::collections::HashSet<u64> = dirty_holders.into_iter().collect();
        holder_ids.extend(&dirty_holders);
        let candidates: Vec<u64> = candidates.into_iter().collect();
        for page in candidates.chunks(TICK_PAGE) {
            let evaluated = self.evaluate_page(page, zone, today, now, &local).await?;
            settled_dirty.extend(
                evaluated
                    .settled
                    .into_iter()
                    .filter(|c| dirty.contains(&c.id)),
            );
            gone_dirty.extend(evaluated.gone.into_iter().filter(|id| dirty.contains(id)));
            due.extend(evaluated.due);
            holder_ids.extend(
                evaluated
                    .holders
                    .iter()
                    .filter(|(credential, _)| dirty.contains(credential))
                    .map(|&(_, holder)| holder),
            );
        }
        // Programs with dues by slug (`None`: none, or no dues), read once per tick.
        let mut programs: HashMap<String, Option<Program>> = HashMap::new();
        // In pages, with one batch read per kind of record per page (see `evaluate_page`).
        let holder_ids: Vec<u64> = holder_ids.into_iter().collect();
        let mut settled_holders: Vec<Holder> = Vec::new();
        let mut gone_holders: Vec<u64> = Vec::new();
        // The competency programs in force, read once per tick (with the first reads).
        let competencies = catalog::Competencies::new(competency_programs);
        for page in holder_ids.chunks(TICK_PAGE) {
            let mut holders = store.holders_by_id(page).await?;
            let elsewhere: std::collections::HashSet<u64> = holders
                .iter()
                .filter(|h| h.time_zone != zone)
                .map(|h| h.id)
                .collect();
            holders.retain(|h| h.time_zone == zone);
            holders.sort_unstable_by_key(|h| h.id);
            let ids: Vec<u64> = holders.iter().map(|h| h.id).collect();
            let credentials = store.credentials_of_many(&ids).await?;
            for (holder, credentials) in holders.iter().zip(credentials) {
                due.extend(
                    self.competency_alerts(holder, today, now, &competencies)
                        .await?,
                );
                due.extend(
                    self.dues_alerts(holder, credentials, since, today, now, &mut programs)
                        .await?,
                );
            }
            // A dirty holder evaluated here, or gone, is settled; one of another zone waits
            // for its own zone's tick.
            let here: std::collections::HashSet<u64> = ids.iter().copied().collect();
            gone_holders.extend(page.iter().copied().filter(|id| {
                dirty_holders.contains(id) && !elsewhere.contains(id) && !here.contains(id)
            }));
            settled_holders.extend(
                holders
                    .iter()
                    .filter(|h| dirty_holders.contains(&h.id))
                    .cloned(),
            );
        }
        let evaluated = started.elapsed();
        // One transaction and one flush for the whole tick.
        for stored in store.enqueue_alerts(due).await? {
            tracing::info!(alert = %IdKind::Alert.format(stored.id), key = %stored.key(), "alert enqueued");
            let _ = self.inner.events.send(stored.clone());
            enqueued.push(stored);
        }
        // A credential written since this tick read it keeps its mark (the store compares
        // what it holds with what was read): the next tick evaluates what was written.
        let settled = settled_dirty;
        // In chunks: after a bulk load every credential is dirty, and one transaction of a
        // million removals costs far more than a hundred of ten thousand. A crash between
        // chunks leaves some marked, which only means they are evaluated again.
        let wrote = started.elapsed();
        for chunk in settled.chunks(CLEAR_DIRTY_CHUNK) {
            store.clear_dirty(chunk, &[]).await?;
        }
        for chunk in gone_dirty.chunks(CLEAR_DIRTY_CHUNK) {
            store.clear_dirty(&[], chunk).await?;
        }
        // A competency program changed while this tick evaluated the holders under the ones
        // it read: the change marked its holders for the next tick, and their records are
        // unchanged, so clearing them as evaluated would forget a due day the new schedule
        // moved to where no window reaches (a day already past). They stay marked.
        if catalog::Competencies::new(store.competency_programs().await?) != competencies {
            settled_holders.clear();
        }
        if !settled_holders.is_empty() || !gone_holders.is_empty() {
            for chunk in settled_holders.chunks(CLEAR_DIRTY_CHUNK) {
                store.clear_dirty_holders(chunk, &[]).await?;
            }
            store.clear_dirty_holders(&[], &gone_holders).await?;
        }
        let timings = TickTimings {
            scan: scanned,
            evaluate: evaluated - scanned,
            enqueue: wrote - evaluated,
            clear_dirty: started.elapsed() - wrote,
        };
        tracing::debug!(zone, %today, enqueued = enqueued.len(), ?timings, "alert tick done");
        if let Ok(mut last) = self.inner.last_tick.lock() {
            *last = timings;
        }
        Ok(enqueued)
    }

    /// Where the time of the last `tick_zone` went.
    pub fn last_tick_timings(&self) -> TickTimings {
        self.inner.last_tick.lock().map(|t| *t).unwrap_or_default()
    }

    /// The alerts due on `today` for a page of candidate credentials (ascending ids) of
    /// `zone` that were never enqueued, in id order, and the candidates settled (gone, or
    /// evaluated in this zone). Reads in batches, one call per kind of record for the whole
    /// page (credentials, holders, alert settings, dedupe keys, the due holders' records and
    /// channels), so an engine with a round trip per query pays a few per page instead of
    /// several per candidate. `local` holds the local programs, read once per tick.
    async fn evaluate_page(
        &self,
        ids: &[u64],
        zone: &str,
        today: Date,
        now: Timestamp,
        local: &[Program],
    ) -> Result<EvaluatedPage, AlertError> {
        let store = self.store();
        let mut page = EvaluatedPage::default();
        let mut credentials = store.credentials_by_id(ids).await?;
        credentials.sort_unstable_by_key(|c| c.id);
        let found: std::collections::HashSet<u64> = credentials.iter().map(|c| c.id).collect();
        page.gone
            .extend(ids.iter().copied().filter(|id| !found.contains(id)));
        let mut holder_ids: Vec<u64> = credentials.iter().map(|c| c.holder_id).collect();
        holder_ids.sort_unstable();
        holder_ids.dedup();
        // The settings of every candidate's scopes are read beside its holder (a candidate of
        // another zone costs a few keys, not a round trip).
        let mut scopes: Vec<SettingsScope> = Vec::with_capacity(credentials.len() * 3);
        for credential in &credentials {
            if let Some(program) = standing::program_among(local, &credential.program) {
                scopes.push(SettingsScope::Credential(credential.id));
                scopes.push(SettingsScope::Holder(credential.holder_id));
                scopes.push(SettingsScope::Program(program.slug));
            }
        }
        scopes.sort();
        scopes.dedup();
        let (holders, settings) = tokio::try_join!(
            store.holders_by_id(&holder_ids),
            store.alert_settings_many(&scopes),
        )?;
        let holders: HashMap<u64, Holder> = holders.into_iter().map(|h| (h.id, h)).collect();
        let settings: BTreeMap<SettingsScope, AlertSettings> =
            scopes.iter().cloned().zip(settings).collect();
        // (credential, holder, program in force) of the zone's candidates.
        let mut in_zone: Vec<(Credential, &Holder, Program)> = Vec::new();
        for credential in credentials {
            let holder = holders
                .get(&credential.holder_id)
                .ok_or_else(|| StoreError::not_found(IdKind::Holder, credential.holder_id))?;
            if holder.time_zone != zone {
                continue;
            }
            page.settled.push(credential.clone());
            page.holders.push((credential.id, holder.id));
            if let Some(program) = standing::program_among(local, &credential.program) {
                in_zone.push((credential, holder, program));
            }
        }
        // The candidates with a mark due: (credential, holder, program, mark, cycle end).
        let mut marked = Vec::new();
        for (credential, holder, program) in in_zone {
            let setting = |scope: SettingsScope| settings.get(&scope).cloned().unwrap_or_default();
            let own = setting(SettingsScope::Credential(credential.id));
            if own.muted {
                continue;
            }
            let thresholds = thresholds_for(
                &own,
                &setting(SettingsScope::Holder(holder.id)),
                &setting(SettingsScope::Program(program.slug.clone())),
                &program,
            );
            // The cycle's last day: the expiry, or the program's fixed calendar day before it.
            let ends_on = program.cycle_end(credential.expires_on, None);
            if let Some(mark) = due_mark(ends_on, &thresholds, program.grace_days, today) {
                marked.push((credential, holder, program, mark, ends_on));
            }
        }
        let keys: Vec<domain::DedupeKey> = marked
            .iter()
            .map(|(c, _, p, mark, ends_on)| domain::DedupeKey::Credential {
                credential_id: c.id,
                expires_on: *ends_on,
                threshold_days: mark.threshold_days(p.grace_days),
            })
            .collect();
        let enqueued = store.alerts_enqueued(&keys).await?;
        let mut fresh = Vec::with_capacity(marked.len());
        for (m, enqueued) in marked.into_iter().zip(enqueued) {
            if !enqueued {
                fresh.push(m);
            }
        }
        let marked = fresh;
        if marked.is_empty() {
            return Ok(page);
        }
        let mut due_holders: Vec<u64> = marked.iter().map(|m| m.1.id).collect();
        due_holders.sort_unstable();
        due_holders.dedup();
        let (records, channels, teams) = tokio::try_join!(
            async { Ok::<_, AlertError>(store.records_of(&due_holders).await?) },
            async { Ok::<_, AlertError>(store.channels_of_many(&due_holders).await?) },
            team::TeamChannels::read(store),
        )?;
        let mut standings: HashMap<u64, (Result<Standing, StandingError>, Vec<Channel>)> =
            HashMap::with_capacity(due_holders.len());
        for (&h, (records, channels)) in due_holders.iter().zip(records.into_iter().zip(channels)) {
            standings.insert(h, (standing::from_records(records, local, today), channels));
        }
        for (credential, holder, program, mark, ends_on) in marked {
            let Some((standing, channels)) = standings.get_mut(&holder.id) else {
                continue;
            };
            let standing = match standing {
                Ok(standing) => standing,
                // One holder's unreadable standing must not silence the zone's other holders.
                Err(e) => {
                    tracing::warn!(credential = %IdKind::Credential.format(credential.id), error = %e, "no alert for this credential: its standing cannot be computed");
                    continue;
                }
            };
            let Some((_, compliance, _)) = standing.iter().find(|(c, _, _)| c.id == credential.id)
            else {
                continue;
            };
            let caution = program.caution();
            let reinstatement = program.reinstatement.as_ref().map(|r| r.describe(&program));
            let text = alert_text(
                &holder.name,
                &program.name,
                &program.unit_name,
                mark,
                compliance,
                caution.as_deref(),
                program.grace_days,
                reinstatement.as_deref(),
            );
            let mut deliveries = deliveries_for(channels, holder, now);
            teams.add_deliveries(holder.id, &mut deliveries, now);
            page.due.push(Alert {
                id: 0,
                holder_id: holder.id,
                subject: AlertSubject::Credential,
                credential_id: credential.id,
                program: program.slug.clone(),
                expires_on: ends_on,
                mark,
                threshold_days: mark.threshold_days(program.grace_days),
                due_on: today,
                title: text.title,
                body: text.body,
                met: text.met,
                compliance_status: compliance.status.name().to_string(),
                created_at: now,
                snoozed_until: None,
                acknowledged: false,
                cancelled: false,
                deliveries,
            });
        }
        page.due.sort_by_key(|a| a.credential_id);
        Ok(page)
    }

    /// The competency reminders due for `holder` on `today` and never enqueued: one per
    /// (skill, due date, mark), at the same thresholds as a credential (the holder's, else the
    /// defaults for the program's interval), crossed marks coalescing; a day after the due
    /// date the skill is overdue (the "lapsed" mark).
    async fn competency_alerts(
        &self,
        holder: &Holder,
        today: Date,
        now: Timestamp,
        competencies: &catalog::Competencies,
    ) -> Result<Vec<Alert>, AlertError> {
        if holder.competencies.is_empty() {
            return Ok(Vec::new());
        }
        let store = self.store();
        let settings = store
            .alert_settings(&SettingsScope::Holder(holder.id))
            .await?;
        let mut out = Vec::new();
        let mut channels = None;
        for skill in &holder.competencies {
            let Some(program) = competencies.find(&skill.program) else {
                continue;
            };
            let Some(due_on) = program.next_due(holder.hired_on, skill) else {
                continue;
            };
            let thresholds = settings
                .thresholds
                .clone()
                .unwrap_or_else(|| domain::default_thresholds(program.every_months));
            let Some(mark) = due_mark(due_on, &thresholds, 0, today) else {
                continue;
            };
            let text = domain::competency_alert_text(
                &holder.name,
                &program.slug,
                &program.name,
                &skill.skill,
                due_on,
                today,
            );
            let alert = Alert {
                id: 0,
                holder_id: holder.id,
                subject: AlertSubject::Competency {
                    skill: skill.skill.clone(),
                },
                credential_id: 0,
                program: program.slug.clone(),
                expires_on: due_on,
                mark,
                threshold_days: mark.threshold_days(0),
                due_on: today,
                title: text.title,
                body: text.body,
                met: false,
                compliance_status: domain::CompetencyProgram::status(Some(due_on), today)
                    .as_str()
                    .to_string(),
                created_at: now,
                snoozed_until: None,
                acknowledged: false,
                cancelled: false,
                deliveries: Vec::new(),
            };
            self.keep_if_new(alert, holder, now, &mut channels, &mut out)
                .await?;
        }
        Ok(out)
    }

    /// Adds `alert` to `out` with its deliveries unless one was enqueued under its dedupe key;
    /// the holder's channels are read once, by the first alert kept (`channels`).
    async fn keep_if_new(
        &self,
        mut alert: Alert,
        holder: &Holder,
        now: Timestamp,
        channels: &mut Option<Vec<Channel>>,
        out: &mut Vec<Alert>,
    ) -> Result<(), AlertError> {
        let store = self.store();
        if store.alert_enqueued(&alert.dedupe_key()).await? {
            return Ok(());
        }
        if channels.is_none() {
            *channels = Some(store.channels_of(holder.id).await?);
        }
        alert.deliveries = deliveries_for(channels.as_deref().unwrap_or(&[]), holder, now);
        team::TeamChannels::of_holder(store, holder.id)
            .await?
            .add_deliveries(holder.id, &mut alert.deliveries, now);
        out.push(alert);
        Ok(())
    }

    /// The dues reminders due for `holder`'s credentials on `today` and never enqueued: for
    /// each credential whose program has dues (AMT: $50 a year, by the end of the anniversary
    /// month), one per (credential, due date, mark) at the credential's, holder's or
    /// program's thresholds, else the defaults for the dues' interval. The first due date
    /// after the last tick counts (a tick missed across a due date still reminds once),
    /// though not one more than 30 days past, since recert cannot know whether it was paid.
    async fn dues_alerts(
        &self,
        holder: &Holder,
        credentials: Vec<Credential>,
        since: Date,
        today: Date,
        now: Timestamp,
        programs: &mut HashMap<String, Option<Program>>,
    ) -> Result<Vec<Alert>, AlertError> {
        let store = self.store();
        let mut out = Vec::new();
        let mut channels = None;
        let mut holder_settings = None;
        let from = since
            .tomorrow()
            .unwrap_or(today)
            .max(today.checked_sub(30.days()).unwrap_or(today))
            .min(today);
        for credential in credentials {
            let program = match programs.get(&credential.program) {
                Some(p) => p.clone(),
                None => {
                    // Only programs with dues are kept: the others are skipped at no cost.
                    let p = standing::program(store, &credential.program)
                        .await?
                        .filter(|p| p.dues.is_some());
                    programs.insert(credential.program.clone(), p.clone());
                    p
                }
            };
            let Some(program) = program else {
                continue;
            };
            let Some(dues) = program.dues else {
                continue;
            };
            let Some(due_on) = program.next_dues_on(&credential, from) else {
                continue;
            };
            let own = store
                .alert_settings(&SettingsScope::Credential(credential.id))
                .await?;
            if own.muted {
                continue;
            }
            if holder_settings.is_none() {
                holder_settings = Some(
                    store
                        .alert_settings(&SettingsScope::Holder(holder.id))
                        .await?,
                );
            }
            let of_program = store
                .alert_settings(&SettingsScope::Program(program.slug.clone()))
                .await?;
            let thresholds = [&own, holder_settings.as_ref().unwrap_or(&own), &of_program]
                .into_iter()
                .find_map(|s| s.thresholds.clone())
                .unwrap_or_else(|| domain::default_thresholds(dues.every_months));
            let Some(mark) = due_mark(due_on, &thresholds, 0, today) else {
                continue;
            };
            let text = domain::dues_alert_text(
                &holder.name,
                &program.name,
                dues.amount_cents,
                dues.every_months,
                due_on,
                today,
            );
            let alert = Alert {
                id: 0,
                holder_id: holder.id,
                subject: AlertSubject::Dues {
                    amount_cents: dues.amount_cents,
                },
                credential_id: credential.id,
                program: program.slug.clone(),
                expires_on: due_on,
                mark,
                threshold_days: mark.threshold_days(0),
                due_on: today,
                title: text.title,
                body: text.body,
                met: false,
                compliance_status: if due_on < today { "overdue" } else { "due" }.to_string(),
                created_at: now,
                snoozed_until: None,
                acknowledged: false,
                cancelled: false,
                deliveries: Vec::new(),
            };
            self.keep_if_new(alert, holder, now, &mut channels, &mut out)
                .await?;
        }
        Ok(out)
    }

    /// Attempts every delivery due at `now`; returns how many attempts were made.
    ///
    /// Each attempt's result is applied to the alert as stored when the attempt ends, so an
    /// acknowledgement, snooze or cancellation made while it was in flight stands: the attempt
    /// is counted but not retried, and nothing more is sent for that alert.
    ///
    /// Every alert it reads leaves the pass no longer due at `now`: attempted (and retried
    /// later), held until its snooze ends, cancelled, or, when the engine cannot say when to
    /// try it (a snooze that ends past the representable instants in the holder's zone, a
    /// holder that is gone, a standing that cannot be computed), given up with the reason
    /// and logged once. So what is stored cannot make the loop spin.
    pub async fn dispatch_due(&self, now: Timestamp) -> Result<usize, AlertError> {
        Ok(self.dispatch_page(now).await?.attempts)
    }

    /// One page of [`Self::dispatch_due`], saying whether the page was full.
    async fn dispatch_page(&self, now: Timestamp) -> Result<Dispatched, AlertError> {
        let mut attempts = 0;
        let mut standings: Standings = HashMap::new();
        let page = self.store().alerts_due(now, DISPATCH_PAGE).await?;
        let full_page = page.len() == DISPATCH_PAGE;
        for due in page {
            let holder = match self.store().holder(due.holder_id).await {
                Ok(h) => h,
                Err(StoreError::NotFound { .. }) => {
                    self.give_up(due.id, "its holder no longer exists").await?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            // Earlier alerts' deliveries took time: start from the alert as stored now.
            let Some(mut alert) = self.current(due.id).await?.filter(Alert::is_open) else {
                continue;
            };
            let today = standing::today(&holder, now);
            if let Some(until) = alert.snoozed_until.filter(|u| *u > today) {
                match start_of(until, &holder.time_zone).filter(|at| *at > now) {
                    Some(at) => {
                        self.modify(alert.id, |a| {
                            if a.is_open() && a.snoozed_until == Some(until) {
                                a.hold_until(at);
                            }
                        })
                        .await?;
                    }
                    None => {
                        let reason = format!(
                            "cannot be scheduled: its snooze ends on {until}, a day that cannot be represented in {}",
                            holder.time_zone
                        );
                        self.modify(alert.id, |a| {
                            if a.is_open() && a.snoozed_until == Some(until) {
                                a.snoozed_until = None;
                                a.give_up(&reason);
                            }
                        })
                        .await?;
                        tracing::warn!(alert = %IdKind::Alert.format(alert.id), %until, zone = %holder.time_zone, "alert given up: its snooze end cannot be represented");
                    }
                }
                continue;
            }
            // A shortfall reminder whose shortfall is gone (CE logged since, a program
            // override, an import) is cancelled instead of sent: checked here, at send time,
            // so it holds however and wherever the change was written.
            let met = match self.settled(&alert, &holder, today, &mut standings).await {
                Ok(met) => met,
                Err(AlertError::Standing(e @ StandingError::UnknownProgram(_))) => {
                    self.give_up(alert.id, &format!("cannot be sent: {e}"))
                        .await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !alert.met && met {
                self.modify(alert.id, |a| {
                    if a.is_open() && !a.met {
                        a.cancel();
                    }
                })
                .await?;
                tracing::info!(alert = %IdKind::Alert.format(alert.id), "alert cancelled at send time: what it reminds of is done (CE met, competency assessed)");
                continue;
            }
            let mut payload = payload(&alert, false);
            payload.holder_name = Some(holder.name.clone());
            for channel_id in alert.due_channels(now) {
                // As the last attempt left it: once closed or snoozed, nothing more is sent.
                if !alert.due_channels(now).contains(&channel_id) {
                    continue;
                }
                let channel = if channel_id == HOLDER_EMAIL {
                    let target = alert
                        .deliveries
                        .iter()
                        .find(|d| d.channel_id == HOLDER_EMAIL)
                        .map(|d| d.target.clone())
                        .unwrap_or_default();
                    let address = holder.email.trim();
                    Ok(Channel {
                        id: HOLDER_EMAIL,
                        holder_id: holder.id,
                        kind: ChannelKind::Email,
                        target: if address.is_empty() {
                            target
                        } else {
                            address.to_string()
                        },
                        secret: String::new(),
                        team_id: 0,
                    })
                } else {
                    self.store().channel(channel_id).await
                };
                // No relay: the e-mail waits (no attempt counted) and is looked at again
                // within the hour, so a relay configured later delivers it.
                if self.inner.mailer.is_none()
                    && matches!(&channel, Ok(c) if c.kind == ChannelKind::Email)
                {
                    let until = now.saturating_add(MAX_IDLE).unwrap_or(Timestamp::MAX);
                    if let Some(current) = self
                        .modify(alert.id, |a| {
                            a.wait(channel_id, now, until, WAITING_FOR_RELAY);
                        })
                        .await?
                    {
                        alert = current;
                    }
                    continue;
                }
                let result = match channel {
                    Ok(channel) => {
                        self.send(&channel, &team::for_channel(&payload, &channel), now)
                            .await
                    }
                    Err(StoreError::NotFound { .. }) => {
                        Err(DeliveryError::permanent("the channel was removed"))
                    }
                    Err(e) => return Err(e.into()),
                };
                attempts += 1;
                let outcome = AttemptOutcome::from(result);
                let mut recorded = false;
                let Some(current) = self
                    .modify(alert.id, |a| {
                        recorded = a.record_attempt(channel_id, &outcome, now);
                    })
                    .await?
                else {
                    break; // deleted with its holder meanwhile
                };
                alert = current;
                if let Some(d) = alert.deliveries.iter().find(|d| d.channel_id == channel_id) {
                    tracing::info!(
                        alert = %IdKind::Alert.format(alert.id),
                        channel = %IdKind::Channel.format(channel_id),
                        state = ?d.state,
                        attempts = d.attempts,
                        error = %d.last_error,
                        recorded,
                        open = alert.is_open(),
                        "alert delivery attempt"
                    );
                }
            }
        }
        Ok(Dispatched {
            attempts,
            full_page,
        })
    }

    /// Gives up the open alert `id` with `reason` (see [`Alert::give_up`]) and logs it; the
    /// alert is then never due again, so this is logged once.
    async fn give_up(&self, id: u64, reason: &str) -> Result<(), AlertError> {
        let changed = self
            .modify(id, |a| {
                if a.is_open() {
                    a.give_up(reason);
                }
            })
            .await?;
        if changed.is_some() {
            tracing::warn!(alert = %IdKind::Alert.format(id), reason, "alert given up");
        }
        Ok(())
    }

    /// Whether what `alert` reminds of is done by now, so it is cancelled instead of sent: a
    /// credential's cycle with nothing left to earn ([`Self::now_met`]), a competency assessed
    /// since (its skill is no longer due on the alert's date, or is gone). Dues and digests
    /// are never settled: recert does not know of payments, and a digest is a report.
    async fn settled(
        &self,
        alert: &Alert,
        holder: &Holder,
        today: Date,
        standings: &mut Standings,
    ) -> Result<bool, AlertError> {
        match &alert.subject {
            AlertSubject::Credential => self.now_met(alert, holder, today, standings).await,
            AlertSubject::Competency { skill } => {
                let competencies =
                    catalog::Competencies::new(self.store().competency_programs().await?);
                Ok(holder
                    .competencies
                    .iter()
                    .find(|s| s.program == alert.program && &s.skill == skill)
                    .and_then(|s| {
                        competencies
                            .find(&s.program)
                            .and_then(|p| p.next_due(holder.hired_on, s))
                    })
                    != Some(alert.expires_on))
            }
            AlertSubject::Dues { .. } | AlertSubject::Digest { .. } => Ok(false),
        }
    }

    /// Whether the credential `alert` is about, in the same cycle, has nothing left to earn
    /// on `today` (its holder's standing is computed once per dispatch).
    async fn now_met(
        &self,
        alert: &Alert,
        holder: &Holder,
        today: Date,
        standings: &mut Standings,
    ) -> Result<bool, AlertError> {
        let standing = match standings.entry(holder.id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(standing::of_holder(self.store(), holder, today).await?),
        };
        Ok(standing.iter().any(|(c, answer, _)| {
            c.id == alert.credential_id
                && answer.expires_on == alert.expires_on
                && answer.remaining.0 == 0
        }))
    }

    /// The alert `id` as stored now; `None` if it was deleted (with its holder).
    async fn current(&self, id: u64) -> Result<Option<Alert>, AlertError> {
        match self.store().alert(id).await {
            Ok(a) => Ok(Some(a)),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `change` to the alert `id` as stored now, in one write; `None` if the alert
    /// was deleted (with its holder).
    async fn modify(
        &self,
        id: u64,
        change: impl FnOnce(&mut Alert) + Send,
    ) -> Result<Option<Alert>, AlertError> {
        let applied = self
            .store()
            .modify_alert(id, |a| {
                change(a);
                Ok::<(), Infallible>(())
            })
            .await;
        match applied {
            Ok(Ok(a)) => Ok(Some(a)),
            Ok(Err(never)) => match never {},
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Sends one payload through one channel.
    async fn send(
        &self,
        channel: &Channel,
        payload: &AlertPayload,
        now: Timestamp,
    ) -> Result<(), DeliveryError> {
        match channel.kind {
            ChannelKind::Webhook => {
                let target = WebhookTarget {
                    url: channel.target.clone(),
                    secret: (!channel.secret.is_empty()).then(|| channel.secret.clone()),
                };
                delivery::send_webhook(&self.inner.webhook, &target, payload, now).await
            }
            ChannelKind::Email => match &self.inner.mailer {
                Some(mailer) => delivery::send_email(mailer, &channel.target, payload).await,
                None => Err(DeliveryError::permanent(
                    "no SMTP relay is configured (recertd --smtp-url)",
                )),
            },
        }
    }

    /// Sends a test alert through each of the holder's channels now, without storing it.
    pub async fn send_test(&self, holder_id: u64) -> Result<Vec<Delivery>, AlertError> {
        let now = self.inner.clock.now();
        let holder = self.store().holder(holder_id).await?;
        let today = standing::today(&holder, now);
        let payload = AlertPayload {
            idempotency_key: format!(
                "test/{}/{}",
                IdKind::Holder.format(holder_id),
                now.as_millisecond()
            ),
            alert_id: None,
            holder_id: IdKind::Holder.format(holder_id),
            credential_id: None,
            program: None,
            threshold_days: None,
            due_on: today,
            expires_on: None,
            title: "recert test alert".into(),
            body: format!(
                "This is a test alert for {}. If you can read it, this channel works.",
                holder.name
            ),
            status: "test".into(),
            test: true,
            subject: "test".into(),
            skill: None,
            amount_cents: None,
            team_id: None,
            holder_name: Some(holder.name.clone()),
        };
        let mut channels = self.store().channels_of(holder_id).await?;
        // As real alerts do: the holder's own address when they have no e-mail channel.
        if let Some(address) = domain::holder_address(&channels, &holder) {
            channels.push(Channel {
                id: HOLDER_EMAIL,
                holder_id,
                kind: ChannelKind::Email,
                target: address.to_string(),
                secret: String::new(),
                team_id: 0,
            });
        }
        Ok(self.send_tests(holder_id, channels, &payload, now).await)
    }

    /// Sends a test alert through each channel of `team` now, without storing it: what the
    /// team's channels would get of a member's alert, naming the team and no holder.
    pub async fn send_team_test(&self, team: &domain::Team) -> Result<Vec<Delivery>, AlertError> {
        let now = self.inner.clock.now();
        let payload = AlertPayload {
            idempotency_key: format!("test/{}/{}", domain::team_id(team.id), now.as_millisecond()),
            alert_id: None,
            holder_id: String::new(),
            credential_id: None,
            program: None,
            threshold_days: None,
            due_on: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
            expires_on: None,
            title: format!("recert test alert for team {}", team.name),
            body: format!(
                "This is a test alert for the channels of team {}, which get every member's alerts. If you can read it, this channel works.",
                team.name
            ),
            status: "test".into(),
            test: true,
            subject: "test".into(),
            skill: None,
            amount_cents: None,
            team_id: Some(domain::team_id(team.id)),
            holder_name: None,
        };
        let channels = self.store().team_channels(team.id).await?;
        // Channel ids are unique, so holder 0 keys a team channel's rate limit apart.
        Ok(self.send_tests(0, channels, &payload, now).await)
    }

    /// Sends `payload` through each of `channels` (of `holder`, or 0 for a team's), at most
    /// once per channel per [`TEST_INTERVAL`], and reports what each did.
    async fn send_tests(
        &self,
        holder_id: u64,
        channels: Vec<Channel>,
        payload: &AlertPayload,
        now: Timestamp,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        for channel in channels {
            let result = match self.test_allowed(holder_id, channel.id, now) {
                Ok(()) => self.send(&channel, payload, now).await,
                Err(next) => Err(DeliveryError::transient(format!(
                    "not sent: this channel was tested less than {} s ago; try again at {next}",
                    TEST_INTERVAL.as_secs()
                ))),
            };
            let mut d = Delivery {
                channel_id: channel.id,
                kind: channel.kind,
                target: channel.target.clone(),
                attempts: 0,
                last_error: String::new(),
                state: DeliveryState::Pending,
                next_attempt_at: None,
            };
            d.record_attempt(&AttemptOutcome::from(result), now, 0, false);
            if d.state == DeliveryState::Pending {
                d.state = DeliveryState::Failed;
            }
            out.push(d);
        }
        out
    }

    /// Whether `channel` may be sent a test alert at `now` (and if so, notes it); else when
    /// it may next.
    fn test_allowed(&self, holder: u64, channel: u64, now: Timestamp) -> Result<(), Timestamp> {
        let channel = (holder, channel);
        let mut last = self
            .inner
            .last_test
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&at) = last.get(&channel) {
            let next = at.saturating_add(TEST_INTERVAL).unwrap_or(Timestamp::MAX);
            if now < next {
                return Err(next);
            }
        }
        last.retain(|_, at| now < at.saturating_add(TEST_INTERVAL).unwrap_or(Timestamp::MAX));
        last.insert(channel, now);
        Ok(())
    }

    /// When the loop must next wake: the earliest retry, or zone fire of the alert tick or
    /// the leads' digest, after `now` (each fire is strictly after `now`).
    async fn next_wake(&self, now: Timestamp) -> Result<Option<Timestamp>, AlertError> {
        let mut next = self.store().next_retry_at().await?;
        for zone in self.store().holder_zones().await? {
            let tz = domain::zone(&zone);
            for schedule in [&self.inner.schedule, &self.inner.digest_schedule] {
                if let Some(fire) = schedule.next_after(&tz, now) {
                    next = Some(next.map_or(fire, |n| n.min(fire)));
                }
            }
        }
        Ok(next)
    }

    /// The background loop: ticks and deliveries until `shutdown`. Runs a catch-up at once.
    ///
    /// The wait between passes is at most [`MAX_IDLE`] and at least [`MIN_WAIT`] (none when
    /// the last pass filled a page of due deliveries, [`AFTER_FAILURE`] when it failed),
    /// whatever the store holds; data changes still wake it at once.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(schedule = %self.inner.schedule.as_str(), "alert engine started");
        loop {
            let now = self.inner.clock.now();
            let mut failed = false;
            if let Err(e) = self.run_due(now).await {
                tracing::error!(error = %e, "alert tick failed");
                failed = true;
            }
            let more = match self.dispatch_page(now).await {
                Ok(d) => d.full_page,
                Err(e) => {
                    tracing::error!(error = %e, "alert delivery failed");
                    failed = true;
                    false
                }
            };
            let now = self.inner.clock.now();
            let planned = match self.next_wake(now).await {
                Ok(Some(at)) => at.duration_since(now).min(MAX_IDLE),
                Ok(None) => MAX_IDLE,
                Err(e) => {
                    tracing::error!(error = %e, "cannot plan the next alert tick");
                    failed = true;
                    MAX_IDLE
                }
            };
            let wait = next_wait(planned, failed, more);
            let wait =
                std::time::Duration::try_from(wait).unwrap_or(std::time::Duration::from_secs(1));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.inner.wake.notified() => {}
                () = shutdown.cancelled() => break,
            }
        }
        tracing::info!("alert engine stopped");
    }
}

/// What one dispatch pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dispatched {
    /// Delivery attempts made.
    attempts: usize,
    /// The pass read a full page of due alerts: more may be due now.
    full_page: bool,
}

/// How long the loop sleeps given the `planned` wait (the next fire or retry, at most
/// [`MAX_IDLE`]): at least [`MIN_WAIT`] unless more is due at once (`more`), and at least
/// [`AFTER_FAILURE`] after a failed pass.
fn next_wait(planned: SignedDuration, failed: bool, more: bool) -> SignedDuration {
    let floor = if failed {
        AFTER_FAILURE
    } else if more {
        SignedDuration::ZERO
    } else {
        MIN_WAIT
    };
    planned.clamp(floor, MAX_IDLE.max(floor))
}

/// The deliveries of a new alert of `holder`: one per channel, and one to the holder's own
/// e-mail address ([`HOLDER_EMAIL`]) when they have one and no e-mail channel. Empty when
/// nothing can reach anyone: the alert is then undeliverable until a channel is added.
pub fn deliveries_for(channels: &[Channel], holder: &Holder, now: Timestamp) -> Vec<Delivery> {
    let mut deliveries: Vec<Delivery> = channels
        .iter()
        .map(|c| Delivery::new(c.id, c.kind, c.target.clone(), now))
        .collect();
    if let Some(address) = domain::holder_address(channels, holder) {
        deliveries.push(Delivery::new(
            HOLDER_EMAIL,
            ChannelKind::Email,
            address.to_string(),
            now,
        ));
    }
    deliveries
}

/// What receivers get for an alert.
pub fn payload(alert: &Alert, test: bool) -> AlertPayload {
    let (skill, amount_cents, team_id) = match &alert.subject {
        AlertSubject::Credential => (None, None, None),
        AlertSubject::Competency { skill } => (Some(skill.clone()), None, None),
        AlertSubject::Dues { amount_cents } => (None, Some(*amount_cents), None),
        AlertSubject::Digest { team_id } => (None, None, Some(domain::team_id(*team_id))),
    };
    AlertPayload {
        idempotency_key: alert.key(),
        alert_id: Some(IdKind::Alert.format(alert.id)),
        holder_id: IdKind::Holder.format(alert.holder_id),
        credential_id: (alert.credential_id != 0)
            .then(|| IdKind::Credential.format(alert.credential_id)),
        program: (!alert.program.is_empty()).then(|| alert.program.clone()),
        threshold_days: Some(alert.threshold_days),
        due_on: alert.due_on,
        expires_on: Some(alert.expires_on),
        title: alert.title.clone(),
        body: alert.body.clone(),
        status: alert.compliance_status.clone(),
        test,
        subject: alert.subject.kind().to_string(),
        skill,
        amount_cents,
        team_id,
        holder_name: None,
    }
}

#[cfg(test)]
mod wait_tests {
    use super::*;

    #[test]
    fn the_wait_is_bounded_whatever_is_planned() {
        let past = SignedDuration::from_secs(-1_000_000);
        assert_eq!(next_wait(past, false, false), MIN_WAIT);
        assert_eq!(next_wait(past, true, false), AFTER_FAILURE);
        assert_eq!(next_wait(past, false, true), SignedDuration::ZERO);
        assert_eq!(next_wait(SignedDuration::MAX, false, false), MAX_IDLE);
        let soon = SignedDuration::from_secs(2);
        assert_eq!(next_wait(soon, false, false), soon);
        assert_eq!(next_wait(soon, true, false), AFTER_FAILURE);
    }
}
