#![no_main]
//! The whole fingerprint over hostile answers: headers and bodies split from the input.

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use seawall_scan::exchange::fingerprint::{Answer, fingerprint};
use seawall_scan::exchange::parse;
use seawall_scan::protocols::http::HttpResponse;

const IDS: [&str; 6] = ["owa", "logon", "ews", "exporttool", "baseline", "root"];

fuzz_target!(|data: &[u8]| {
    let answers: Vec<Answer> = data
        .split(|b| *b == 0)
        .take(IDS.len())
        .enumerate()
        .map(|(i, chunk)| {
            let (head, body) = chunk.split_at(chunk.len().min(64));
            let headers = head
                .split(|b| *b == b'\n')
                .filter_map(|line| {
                    let text = String::from_utf8_lossy(line);
                    let (name, value) = text.split_once(':')?;
                    Some((name.trim().to_ascii_lowercase(), Bytes::copy_from_slice(value.trim().as_bytes())))
                })
                .collect();
            let status = [200, 302, 401, 404][i % 4];
            let response = HttpResponse {
                status,
                headers,
                body: Bytes::copy_from_slice(body),
                body_truncated: false,
                body_timed_out: false,
            };
            Answer { id: IDS[i].into(), method: "GET".into(), path: "/".into(), response: Some(response) }
        })
        .collect();
    let fp = fingerprint(&answers);
    let _ = fp.chosen.map(|v| v.query.to_string());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse::owa_version_header(text);
        let _ = parse::looks_like_exo_server_name(text);
    }
});
