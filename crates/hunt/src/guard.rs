//! The per-file boundary: a panic while reading one file (a reader's bug met by hostile
//! bytes) becomes that file's error record, and the hunt goes on with the next file.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use seawall_model::ErrorRecord;

use crate::dispatch::FileOutcome;

/// Run `read` for the file shown as `display`; a panic becomes an error record of that file.
pub(crate) fn read_guarded(display: &str, read: impl FnOnce() -> Vec<FileOutcome>) -> Vec<FileOutcome> {
    // The outcome being built is dropped with the panic, so nothing half-written is used.
    catch_unwind(AssertUnwindSafe(read)).unwrap_or_else(|payload| {
        vec![FileOutcome {
        kind: "failed".into(),
        source: display.to_owned(),
        errors: vec![ErrorRecord {
            source: display.to_owned(),
            message: format!(
                "internal error while reading this file (a seawall bug, please report it): {}; the file's results are lost",
                panic_message(payload.as_ref())
            ),
            position: None,
        }],
        ..FileOutcome::default()
    }]
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: issue 14 (a panic in a reader lost the file without a record).
    #[test]
    fn a_panic_becomes_the_files_error_record() {
        let path = "/evidence/u_ex210303.log";
        let outcome = read_guarded(path, || {
            let bytes: &[u8] = "é".as_bytes();
            let _ = std::str::from_utf8(&bytes[..1]).map(|s| s.len()).unwrap_or_else(|_| panic!("byte 1 of {bytes:?}"));
            vec![FileOutcome::default()]
        });
        let outcome = &outcome[0];
        assert_eq!(outcome.kind, "failed");
        assert_eq!(outcome.errors.len(), 1);
        assert_eq!(outcome.errors[0].source, "/evidence/u_ex210303.log");
        assert!(outcome.errors[0].message.contains("byte 1 of [195, 169]"), "{:?}", outcome.errors);
        let fine = read_guarded(path, || vec![FileOutcome { events: 3, ..FileOutcome::default() }]);
        assert_eq!((fine[0].events, fine[0].errors.len()), (3, 0));
    }
}
