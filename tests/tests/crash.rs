//! SIGKILL under concurrent writers, 30 times: nothing acknowledged is lost, nothing is
//! half-applied, indexes agree with records, compliance matches the model. Longer runs:
//! `cargo run -p recert-tests --bin recert-crash -- --cycles 500`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_kills_lose_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let figures = recert_tests::crash::run(&dir.path().join("data"), 30, 8, 0x5eed).await;
    eprintln!(
        "crash test: cycles {} writes acknowledged {} lost {}",
        figures.cycles, figures.acknowledged, figures.lost
    );
    assert_eq!(figures.cycles, 30);
    assert!(
        figures.acknowledged > 30,
        "the writers did write: {figures:?}"
    );
    assert_eq!(figures.lost, 0, "{figures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_load_loses_no_acknowledged_write() {
    use recert_tests::crash::{Stop, run_with};
    let dir = tempfile::tempdir().unwrap();
    let figures = run_with(&dir.path().join("data"), 5, 8, 0x7e57, Stop::Term).await;
    eprintln!(
        "graceful: cycles {} writes acknowledged {} lost {}",
        figures.cycles, figures.acknowledged, figures.lost
    );
    assert!(figures.acknowledged > 5, "{figures:?}");
    assert_eq!(figures.lost, 0, "{figures:?}");
}
