//! What machine a run happened on: cores, CPU model, memory, load, and the disk under the
//! data dir, read from /proc and /sys so the report says where its figures come from.

use serde::Serialize;
use std::path::Path;

/// The machine a run happened on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Cores this process may use.
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// MemTotal, in MiB.
    pub mem_total_mib: u64,
    /// /proc/loadavg's 1, 5 and 15 minute averages when asked: above `nproc` means busy.
    pub load_average: [f64; 3],
    /// The kernel release.
    pub kernel: String,
    /// The disk under the measured directory: device, file system and whether sysfs calls
    /// it rotational (virtual disks often say yes whatever backs them).
    pub disk: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The current /proc/loadavg.
pub fn load_average() -> [f64; 3] {
    let text = read("/proc/loadavg");
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(0.0));
    [
        fields.next().unwrap_or(0.0),
        fields.next().unwrap_or(0.0),
        fields.next().unwrap_or(0.0),
    ]
}

/// The mount holding `dir` (longest mount-point prefix in /proc/self/mountinfo): its
/// source device and file system type.
fn mount_of(dir: &Path) -> Option<(String, String)> {
    let dir = dir.canonicalize().ok()?;
    let info = read("/proc/self/mountinfo");
    let mut best: Option<(usize, String, String)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mount_point), Some(fs), Some(source)) =
            (fields.get(4), fields.get(dash + 1), fields.get(dash + 2))
        else {
            continue;
        };
        if dir.starts_with(mount_point) && best.as_ref().is_none_or(|b| mount_point.len() > b.0) {
            best = Some((mount_point.len(), source.to_string(), fs.to_string()));
        }
    }
    best.map(|(_, source, fs)| (source, fs))
}

/// Describes this machine, and the disk under `dir`.
pub fn describe(dir: &Path) -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mem_total_mib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024);
    let disk = match mount_of(dir) {
        Some((source, fs)) => {
            let name = source.rsplit('/').next().unwrap_or_default().to_string();
            let base: String = name
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string();
            let rotational = [&name, &base]
                .iter()
                .map(|n| read(&format!("/sys/block/{n}/queue/rotational")))
                .find(|r| !r.is_empty())
                .map_or("unknown", |r| if r.trim() == "1" { "yes" } else { "no" });
            format!("{source} ({fs}), rotational per sysfs: {rotational}")
        }
        None => "unknown".into(),
    };
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model,
        mem_total_mib,
        load_average: load_average(),
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        disk,
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c] = self.load_average;
        writeln!(
            f,
            "machine: {} cores, {}, {} MiB, kernel {}",
            self.nproc, self.cpu_model, self.mem_total_mib, self.kernel
        )?;
        writeln!(f, "disk: {}", self.disk)?;
        write!(f, "load average at start: {a:.2} {b:.2} {c:.2}")?;
        if a > self.nproc as f64 * 0.5 {
            write!(f, " (the machine was busy: figures are noisier)")?;
        }
        Ok(())
    }
}

/// CPU seconds (user + system) process `pid` has used so far, from /proc/PID/stat, or
/// `None` if it cannot be read. /proc counts in ticks of 10 ms, so
/// use it over intervals of a second or more.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ')'.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // /proc reports in USER_HZ, which Linux fixes at 100 on every architecture it ships.
    Some((utime + stime) as f64 / 100.0)
}

/// CPU time (user + system) this process has used so far, in seconds, with the kernel's
/// microsecond resolution (`getrusage`), or `None` if it cannot be read.
pub fn own_cpu_secs() -> Option<f64> {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).ok()?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Some(secs(usage.user_time()) + secs(usage.system_time()))
}
