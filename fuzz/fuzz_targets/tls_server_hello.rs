#![no_main]
//! The legacy-TLS probe's parser of a server's first flight (records, ServerHello, Certificate, alerts),
//! fed whole and in every prefix as it arrives off the network.

use libfuzzer_sys::fuzz_target;
use seawall_scan::tls::legacy::{ServerAnswer, parse_server_flight, suite_name};

fuzz_target!(|data: &[u8]| {
    let whole = parse_server_flight(data);
    if let Some(ServerAnswer::Hello { suite, chain, .. }) = &whole.answer {
        let _ = suite_name(*suite);
        for der in chain {
            let _ = seawall_scan::tls::cert::describe_certificate(der);
        }
    }
    // Bytes arrive in pieces: every prefix must parse too.
    for cut in (0..data.len()).step_by(7) {
        let _ = parse_server_flight(&data[..cut]);
    }
});
