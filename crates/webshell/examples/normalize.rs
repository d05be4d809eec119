//! Print a page as the webshell rules see it after normalisation.
//!
//! ```text
//! normalize [--capabilities] FILE
//! ```
//!
//! With `--capabilities`, the capabilities the engine sees are listed on stderr.

use std::io::Write as _;

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let capabilities = args.first().is_some_and(|a| a == "--capabilities");
    if capabilities {
        args.remove(0);
    }
    let Some(path) = args.first().cloned() else {
        let _ = writeln!(std::io::stderr(), "usage: normalize [--capabilities] FILE");
        return std::process::ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "normalize: {path}: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    if capabilities {
        match seawall_webshell::capabilities_of(&bytes, &path) {
            Ok(shown) => {
                for (id, weight, evidence) in shown {
                    let _ = writeln!(std::io::stderr(), "capability {id} (+{weight}): {evidence}");
                }
            }
            Err(err) => {
                let _ = writeln!(std::io::stderr(), "normalize: {err}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    match seawall_webshell::normalized_page(&bytes) {
        Some(text) => {
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
        None => {
            let _ = writeln!(std::io::stderr(), "normalize: {path}: no server code");
        }
    }
    std::process::ExitCode::SUCCESS
}
