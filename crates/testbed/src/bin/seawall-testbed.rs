//! `seawall-testbed serve`: runs a fleet on loopback for the benchmark script and manual tries.
//! Prints one line per host (`ip:port<TAB>kind<TAB>build`) once every host listens, then serves
//! until Ctrl-C.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use seawall_testbed::{Fleet, HostSpec, Hostile, bench_fleet, nth_address, standard_fleet};

#[derive(Debug, Parser)]
#[command(name = "seawall-testbed", version, about = "Emulated Exchange servers, decoys and hostile hosts on loopback")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a fleet, list its hosts, serve until Ctrl-C.
    Serve {
        #[arg(long, value_enum, default_value_t = FleetKind::Standard)]
        fleet: FleetKind,
        /// Number of hosts of the bench fleet.
        #[arg(long, default_value_t = 100)]
        count: usize,
        /// First address; hosts take consecutive addresses from it (must stay in 127.0.0.0/8).
        #[arg(long, default_value = "127.77.0.10")]
        base: Ipv4Addr,
        #[arg(long, default_value_t = 8443)]
        port: u16,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FleetKind {
    /// Every Exchange variant, decoy and hostile kind once.
    Standard,
    /// `--count` Exchange hosts with varied builds.
    Bench,
    /// `--count` hosts that trickle their answer a byte every 2 s: connections stay in flight.
    Slow,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let Command::Serve { fleet, count, base, port } = cli.command;
    let specs = match fleet {
        FleetKind::Standard => standard_fleet(base, port),
        FleetKind::Bench => bench_fleet(base, port, count),
        FleetKind::Slow => (0..count)
            .map(|n| HostSpec::hostile(format!("slow-{n}.seawall.test"), nth_address(base, n), port, Hostile::Trickle))
            .collect(),
    };
    let fleet = Fleet::start(specs).await.context("starting the fleet")?;
    {
        let mut out = io::stdout().lock();
        for host in fleet.hosts() {
            let build = host.spec.kind.build().unwrap_or("-");
            writeln!(out, "{}\t{}\t{}", host.addr, host.spec.kind.label(), build)?;
        }
        out.flush()?;
    }
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    fleet.shutdown().await;
    Ok(())
}
