#![no_main]
//! The hunt's splitter of big text logs into pieces (crates/hunt/src/chunks.rs): whatever the
//! bytes, the pieces cover the file exactly, start at line starts (or at 0), carry the line
//! number and the `#Fields:` directive in force where they start. The module is compiled into
//! this target from its source file, since it is private to seawall-hunt.

use std::io::Write;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/hunt/src/chunks.rs"]
mod chunks;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, text)) = data.split_first() else { return };
    let Ok(mut file) = tempfile::NamedTempFile::new() else { return };
    if file.write_all(text).and_then(|()| file.flush()).is_err() {
        return;
    }
    let size = text.len() as u64;
    let pieces = u64::from(knobs % 16) + 1;
    let Ok(plan) = chunks::plan(file.path(), size, pieces) else { return };
    assert_eq!(plan.first().map(|p| p.offset), Some(0));
    assert_eq!(plan.iter().map(|p| p.len).sum::<u64>(), size, "pieces cover the file");
    let mut end = 0;
    for piece in &plan {
        assert_eq!(piece.offset, end, "pieces are contiguous");
        end = piece.offset + piece.len;
        let at = piece.offset as usize;
        assert!(at == 0 || text[at - 1] == b'\n', "piece at {at} starts inside a line");
        let before = &text[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        assert_eq!(piece.first_line, line);
        let directive = before
            .windows(8)
            .enumerate()
            .filter(|(i, w)| *w == b"#Fields:" && (*i == 0 || before[i - 1] == b'\n'))
            .map(|(i, _)| i)
            .last();
        let expected = directive.map(|i| {
            let rest = &text[i + 8..];
            let rest = &rest[..rest.len().min(64 * 1024)];
            let mut line = rest[..rest.iter().position(|b| *b == b'\n').map_or(rest.len(), |n| n + 1)].to_vec();
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            line
        });
        assert_eq!(piece.fields, expected, "schema in force at {at}");
    }
});
