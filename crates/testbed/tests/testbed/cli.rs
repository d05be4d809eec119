//! The `seawall-testbed serve` binary the bench script drives.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::common::slot;

#[tokio::test]
async fn serve_lists_every_host_and_serves_them() {
    let (ip, port) = slot(60);
    let mut child = Command::new(env!("CARGO_BIN_EXE_seawall-testbed"))
        .args(["serve", "--fleet", "bench", "--count", "3", "--base", &ip.to_string(), "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn seawall-testbed");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut listed = Vec::new();
    for _ in 0..3 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("a line in time")
            .expect("read")
            .expect("a line");
        listed.push(line);
    }
    let first: Vec<&str> = listed[0].split('\t').collect();
    assert_eq!(first.len(), 3, "{listed:?}");
    assert_eq!(first[0], format!("{ip}:{port}"));
    assert_eq!(first[1], "exchange");
    assert!(first[2].starts_with("14.") || first[2].starts_with("15."), "{listed:?}");
    for line in &listed {
        let addr = line.split('\t').next().expect("address");
        assert!(TcpStream::connect(addr).await.is_ok(), "{addr} not listening");
    }
    child.kill().await.expect("kill the child we started");
}
