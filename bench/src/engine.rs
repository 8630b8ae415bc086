//! What sled itself can do for recert's writes, outside the daemon: the cost of one
//! course-shaped transaction over all 17 trees (as `Store::write` runs it) against one over
//! only the trees a course touches, with a flush after each or after every 64 (a group commit
//! that does not group, and one that does), the latency of a durable `flush`, and the rate a
//! batched write path (one transaction and one flush per thousand courses) would reach.
//!
//! This is the one place outside recertd's `store/` that names sled, on purpose: it measures
//! the engine underneath the store to show what bounds the store's write rate and what a
//! store-level batch API would gain. Keys and values are laid out as `store/keys.rs` lays
//! them out (big-endian ids, a format byte before postcard).

use crate::latency::Latency;
use crate::{BenchError, Result};
use jiff::civil::Date;
use recertd::domain::{Course, Credits, Format, Holder, Unit};
use serde::Serialize;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

// recertd's trees, in index order: a transaction over all of them is what every store write
// ran before writes spanned only the trees they touch.
use recertd::store::TREE_NAMES;
const HOLDERS: usize = 0;
const COURSES: usize = 2;
const COURSE_BY_HOLDER: usize = 5;
const META: usize = 7;
const NEXT_COURSE_ID: &[u8] = b"next_id/course";
/// Holders the courses are spread over.
const HOLDER_COUNT: u64 = 1000;

/// How much to measure.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Courses written one transaction each, per variant.
    pub single: u64,
    /// Courses written in batches.
    pub batched: u64,
    /// Courses per batch.
    pub batch: usize,
    /// Durable flushes timed after one small write each.
    pub flushes: usize,
    /// sled's page cache, in MiB.
    pub cache_mib: u64,
}

/// A rate measured over a number of operations.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rate {
    /// Operations.
    pub ops: u64,
    /// Seconds taken.
    pub secs: f64,
    /// Operations per second.
    pub per_s: f64,
    /// Microseconds per operation.
    pub us_per_op: f64,
}

impl Rate {
    /// The rate of `ops` operations done since `started`.
    pub fn of(ops: u64, started: Instant) -> Rate {
        let secs = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
        Rate {
            ops,
            secs,
            per_s: ops as f64 / secs,
            us_per_op: secs * 1e6 / ops.max(1) as f64,
        }
    }
}

/// What sled does with course-shaped writes.
#[derive(Debug, Clone, Serialize)]
pub struct EngineReport {
    /// One course per transaction over all 17 trees (the store's shape), no flush.
    pub txn_all_trees: Rate,
    /// One course per transaction over the 3 trees it touches, no flush.
    pub txn_touched_trees: Rate,
    /// One course per 17-tree transaction, each followed by `flush()`: a group commit that
    /// never groups.
    pub txn_flush_each: Rate,
    /// One course per 17-tree transaction, `flush()` after every 64: a group commit that
    /// groups 64 writers.
    pub txn_flush_per_64: Rate,
    /// One small write then `flush()`: the durability floor of one group commit.
    pub flush: Latency,
    /// Courses per transaction in the batched run.
    pub batch: usize,
    /// Batches of `batch` courses, one 3-tree transaction and one `flush()` each.
    pub batched_durable: Rate,
    /// Batches of `batch` courses as plain per-tree `apply_batch` calls (no cross-tree
    /// transaction) and one `flush()` each: sled's ingest floor.
    pub batched_plain: Rate,
}

fn course(i: u64) -> Course {
    Course {
        id: 0,
        holder_id: 1 + i % HOLDER_COUNT,
        title: format!("Venipuncture update {i}"),
        provider: "County Hospital".into(),
        accreditation: "P.A.C.E.".into(),
        completed_on: Date::constant(2026, 3, 1),
        amount: Credits(100),
        unit: Unit::Hours,
        categories: vec!["safety".into()],
        format: Some(Format::Online),
        credential_ids: Vec::new(),
        evidence: String::new(),
    }
}

/// A value as the store writes it: format byte 1, then postcard.
fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend(postcard::to_stdvec(value).expect("postcard serialises plain data"));
    out
}

fn pair_key(parent: u64, child: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&parent.to_be_bytes());
    k[8..].copy_from_slice(&child.to_be_bytes());
    k
}

fn next_id(meta: &sled::Tree) -> Result<u64> {
    Ok(meta
        .get(NEXT_COURSE_ID)?
        .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(1))
}

type Ops = Vec<(usize, Vec<u8>, Vec<u8>)>;

/// Applies `ops` in one transaction over `trees`, as `Store::write` does.
fn apply(trees: &[sled::Tree], ops: &Ops) -> Result<()> {
    trees
        .transaction(|t: &Vec<TransactionalTree>| {
            for (tree, key, value) in ops {
                t[*tree].insert(key.as_slice(), value.as_slice())?;
            }
            Ok::<(), ConflictableTransactionError<()>>(())
        })
        .map_err(|e| BenchError::Engine(format!("{e:?}")))
}

/// Writes `count` courses, one transaction each over `trees`, checking the holder and taking
/// the next id first under a lock, like `Store::create_course`; with `flush_every`, flushes
/// after every that many. `index` maps store tree positions to positions in `trees`.
fn single_writes(
    all: &[sled::Tree],
    trees: &[sled::Tree],
    index: impl Fn(usize) -> usize,
    count: u64,
    flush_every: Option<(&sled::Db, u64)>,
) -> Result<Rate> {
    let lock = Mutex::new(());
    let started = Instant::now();
    for i in 0..count {
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let c = course(i);
        if all[HOLDERS].get(c.holder_id.to_be_bytes())?.is_none() {
            return Err(BenchError::Check(format!("holder {} missing", c.holder_id)));
        }
        let id = next_id(&all[META])?;
        let ops: Ops = vec![
            (index(COURSES), id.to_be_bytes().to_vec(), encode(&c)),
            (
                index(COURSE_BY_HOLDER),
                pair_key(c.holder_id, id).to_vec(),
                Vec::new(),
            ),
            (
                index(META),
                NEXT_COURSE_ID.to_vec(),
                (id + 1).to_be_bytes().to_vec(),
            ),
        ];
        apply(trees, &ops)?;
        if let Some((db, every)) = flush_every
            && (i + 1).is_multiple_of(every.max(1))
        {
            db.flush()?;
        }
    }
    Ok(Rate::of(count, started))
}

/// Runs the engine measurements in a scratch sled database under `dir`.
pub fn measure(dir: &Path, options: &EngineOptions) -> Result<EngineReport> {
    let scratch = tempfile::tempdir_in(dir).map_err(BenchError::io("create a scratch dir"))?;
    let db = sled::Config::new()
        .path(scratch.path().join("db"))
        .cache_capacity(options.cache_mib * 1024 * 1024)
        .open()?;
    let all: Vec<sled::Tree> = TREE_NAMES
        .iter()
        .map(|n| db.open_tree(n))
        .collect::<Result<_, _>>()?;
    for id in 1..=HOLDER_COUNT {
        let holder = Holder {
            id,
            name: format!("Holder {id}"),
            email: String::new(),
            time_zone: "UTC".into(),
            hired_on: None,
            competencies: Vec::new(),
        };
        all[HOLDERS].insert(id.to_be_bytes(), encode(&holder))?;
    }
    db.flush()?;

    let txn_all_trees = single_writes(&all, &all, |t| t, options.single, None)?;
    let touched = vec![
        all[COURSES].clone(),
        all[COURSE_BY_HOLDER].clone(),
        all[META].clone(),
    ];
    let position = |t: usize| match t {
        COURSES => 0,
        COURSE_BY_HOLDER => 1,
        _ => 2,
    };
    let txn_touched_trees = single_writes(&all, &touched, position, options.single, None)?;
    db.flush()?;
    let flushed = options.single.min(20_000);
    let txn_flush_each = single_writes(&all, &all, |t| t, flushed, Some((&db, 1)))?;
    let txn_flush_per_64 = single_writes(&all, &all, |t| t, flushed, Some((&db, 64)))?;

    // Write out what the unflushed runs above left, so the probe times one small write each.
    db.flush()?;
    let mut flushes = Vec::with_capacity(options.flushes);
    for i in 0..options.flushes {
        all[META].insert(b"flush_probe", &(i as u64).to_be_bytes())?;
        let t = Instant::now();
        db.flush()?;
        flushes.push(t.elapsed());
    }

    let batch = options.batch.max(1);
    let started = Instant::now();
    let mut written = 0u64;
    while written < options.batched {
        let n = (options.batched - written).min(batch as u64);
        let first = next_id(&all[META])?;
        let mut ops: Ops = Vec::with_capacity(2 * n as usize + 1);
        for k in 0..n {
            let c = course(written + k);
            let id = first + k;
            ops.push((0, id.to_be_bytes().to_vec(), encode(&c)));
            ops.push((1, pair_key(c.holder_id, id).to_vec(), Vec::new()));
        }
        ops.push((
            2,
            NEXT_COURSE_ID.to_vec(),
            (first + n).to_be_bytes().to_vec(),
        ));
        apply(&touched, &ops)?;
        db.flush()?;
        written += n;
    }
    let batched_durable = Rate::of(written, started);

    let started = Instant::now();
    let mut written = 0u64;
    while written < options.batched {
        let n = (options.batched - written).min(batch as u64);
        let first = next_id(&all[META])?;
        let mut courses = sled::Batch::default();
        let mut index = sled::Batch::default();
        for k in 0..n {
            let c = course(written + k);
            let id = first + k;
            courses.insert(&id.to_be_bytes()[..], encode(&c));
            index.insert(&pair_key(c.holder_id, id)[..], &[][..]);
        }
        all[COURSES].apply_batch(courses)?;
        all[COURSE_BY_HOLDER].apply_batch(index)?;
        all[META].insert(NEXT_COURSE_ID, &(first + n).to_be_bytes())?;
        db.flush()?;
        written += n;
    }
    let batched_plain = Rate::of(written, started);
    Ok(EngineReport {
        txn_all_trees,
        txn_touched_trees,
        txn_flush_each,
        txn_flush_per_64,
        flush: Latency::of(&flushes),
        batch,
        batched_durable,
        batched_plain,
    })
}

impl std::fmt::Display for EngineReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "sled alone (scratch db, same key/value layout as the store):"
        )?;
        writeln!(
            f,
            "  1 course/txn over all 17 trees (Store::write's shape), no flush: {:>9.0}/s  {:>7.1} µs/txn",
            self.txn_all_trees.per_s, self.txn_all_trees.us_per_op
        )?;
        writeln!(
            f,
            "  1 course/txn over the 3 trees it touches, no flush:            {:>9.0}/s  {:>7.1} µs/txn",
            self.txn_touched_trees.per_s, self.txn_touched_trees.us_per_op
        )?;
        writeln!(
            f,
            "  1 course/txn over 17 trees, flush() after each:                {:>9.0}/s  {:>7.1} µs/course",
            self.txn_flush_each.per_s, self.txn_flush_each.us_per_op
        )?;
        writeln!(
            f,
            "  1 course/txn over 17 trees, flush() after every 64:            {:>9.0}/s  {:>7.1} µs/course",
            self.txn_flush_per_64.per_s, self.txn_flush_per_64.us_per_op
        )?;
        writeln!(f, "  small write + flush(): {}", self.flush)?;
        write!(
            f,
            "  {} courses/txn + flush() per batch (a batch API's path):     {:>9.0}/s  ({} courses in {:.2} s)",
            self.batch,
            self.batched_durable.per_s,
            self.batched_durable.ops,
            self.batched_durable.secs
        )?;
        write!(
            f,
            "\n  {} courses per apply_batch per tree + flush() (no transaction):  {:>9.0}/s  ({} courses in {:.2} s)",
            self.batch, self.batched_plain.per_s, self.batched_plain.ops, self.batched_plain.secs
        )
    }
}
