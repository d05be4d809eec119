//! Print a page as the webshell rules see it after normalisation.
//!
//! ```text
//! normalize FILE
//! ```

use std::io::Write as _;

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        let _ = writeln!(std::io::stderr(), "usage: normalize FILE");
        return std::process::ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "normalize: {path}: {err}");
            return std::process::ExitCode::from(2);
        }
    };
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
