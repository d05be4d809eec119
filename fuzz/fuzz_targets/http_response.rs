#![no_main]
//! The scanner's HTTP/1.1 response reader (crates/scan/src/protocols/http/wire.rs) over hostile bytes:
//! head parsing with 1xx skipping, then the body framed by Content-Length, chunked encoding or
//! close. The module is compiled into this target from its source file, since it is private to
//! seawall-scan; the first input byte picks the limits so small caps are exercised too.

use std::time::Duration;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/scan/src/protocols/http/wire.rs"]
mod wire;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, stream)) = data.split_first() else { return };
    let max_head = [64usize, 512, 8192, 65536][usize::from(knobs & 3)];
    let max_headers = [1usize, 4, 32, 100][usize::from((knobs >> 2) & 3)];
    let cap = [0usize, 16, 1024, 1 << 20][usize::from((knobs >> 4) & 3)];
    let head_only = knobs & 0x40 != 0;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build();
    let Ok(runtime) = runtime else { return };
    runtime.block_on(async {
        let mut reader = stream;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let Ok(mut head) = wire::read_head(&mut reader, max_head, max_headers, deadline).await else { return };
        assert!(head.headers.len() <= max_headers);
        let body = wire::read_body(&mut reader, &mut head, head_only, cap, Duration::from_secs(5)).await;
        assert!(body.bytes.len() <= cap, "body {} over cap {cap}", body.bytes.len());
        assert!(!(body.truncated && body.reusable));
        if head_only {
            assert!(body.bytes.is_empty());
        }
    });
});
