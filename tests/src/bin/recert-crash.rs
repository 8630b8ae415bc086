//! `recert-crash --cycles N [--writers W] [--seed S]`: the crash test for longer runs than CI's.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name} takes a number"))
            })
            .unwrap_or(default)
    };
    let cycles = u32::try_from(flag("--cycles", 100)).unwrap_or(u32::MAX);
    let writers = flag("--writers", 8);
    let seed = flag("--seed", 0x5eed);
    let dir = tempfile_dir();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let figures = runtime.block_on(recert_tests::crash::run(
        &dir.join("data"),
        cycles,
        writers,
        seed,
    ));
    println!(
        "cycles {} writes acknowledged {} lost {}",
        figures.cycles, figures.acknowledged, figures.lost
    );
    let _ = std::fs::remove_dir_all(&dir);
    if figures.lost == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// A fresh directory under the system temp dir.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("recert-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}
