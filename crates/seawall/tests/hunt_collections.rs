//! `seawall hunt` on evidence as responders collect it: a Velociraptor offline-collector zip,
//! a KAPE target folder zipped, a tar.gz of the same, and the unpacked folders all give the
//! findings of the plain tree, at the original Windows paths; the Timesketch export carries
//! every finding with the fields Timesketch requires.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn seawall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_seawall"))
}

fn hunt(path: &Path, format: &str) -> Vec<Value> {
    let out = seawall()
        .args(["hunt", path.to_str().expect("utf-8"), "--format", format, "--threads", "2"])
        .output()
        .expect("seawall hunt");
    assert!(matches!(out.status.code(), Some(0..=1)), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSONL line")).collect()
}

/// A finding as a comparable key: rule, the path below the drive root (forward slashes, lower
/// case), line or record, and the evidence texts.
fn keys(records: &[Value], root_prefix: &str) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r["type"] == "finding")
        .map(|r| {
            let data = &r["data"];
            let path = data["location"]["path"].as_str().unwrap_or("").replace('\\', "/");
            let below = path.strip_prefix(root_prefix).unwrap_or(&path).trim_start_matches('/').to_ascii_lowercase();
            let evidence: Vec<String> = data["evidence"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .filter(|x| x["source"] != "path" && x["source"] != "collection")
                        .map(|x| {
                            // Folded findings name their lines by path: compare those below the root too.
                            let text = x["excerpt"].as_str().unwrap_or_default().replace('\\', "/");
                            let text = if root_prefix == "C:" { text } else { text.replace(root_prefix, "") };
                            text.to_ascii_lowercase().replace("c:/", "/")
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{} {} {} {} {}",
                data["rule"]["id"],
                below,
                data["location"]["line"],
                data["location"]["record"],
                evidence.join("|")
            )
        })
        .collect()
}

fn paths(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["type"] == "finding")
        .filter_map(|r| r["data"]["location"]["path"].as_str().map(str::to_owned))
        .collect()
}

/// Every file under `dir`, stored in a zip under `prefix` (relative paths, `/` separated).
fn zip_dir(dir: &Path, prefix: &str, out: &Path) {
    let mut writer = zip::ZipWriter::new(File::create(out).expect("create zip"));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for file in files_under(dir) {
        let relative = file.strip_prefix(dir).expect("below").to_str().expect("utf-8").replace('\\', "/");
        writer.start_file(format!("{prefix}{relative}"), options).expect("start");
        writer.write_all(&std::fs::read(&file).expect("read")).expect("write");
    }
    writer.finish().expect("finish");
}

fn tar_gz_dir(dir: &Path, out: &Path) {
    let gz = flate2::write::GzEncoder::new(File::create(out).expect("create"), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for file in files_under(dir) {
        let relative = file.strip_prefix(dir).expect("below");
        builder.append_path_with_name(&file, relative).expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() { stack.push(path) } else { out.push(path) }
        }
    }
    out.sort();
    out
}

#[test]
fn collections_hunt_to_the_findings_of_the_tree_at_windows_paths() {
    let dir = tempfile::tempdir().expect("dir");
    let plain = dir.path().join("plain");
    seawall_testbed::evidence::write_demo_tree(&plain).expect("evidence");
    let reference = hunt(&plain, "jsonl");
    let expected = keys(&reference, &plain.to_str().expect("utf-8").replace('\\', "/"));
    assert!(expected.len() >= 5, "the demo tree gives findings: {expected:?}");

    // Velociraptor: uploads/auto/C%3A/<drive root>, URL-encoded names, a collection folder on top.
    let velociraptor = dir.path().join("velociraptor");
    let drive = velociraptor.join("uploads/auto/C%3A");
    seawall_testbed::evidence::write_demo_tree(&drive).expect("evidence");
    std::fs::write(velociraptor.join("uploads.json"), b"[]").expect("uploads.json");
    let velociraptor_zip = dir.path().join("Collection-EXCH01-2026-12-06T10_00_00Z.zip");
    zip_dir(&velociraptor, "", &velociraptor_zip);

    // KAPE: the drive letter as a folder under a timestamped target destination.
    let kape = dir.path().join("kape");
    seawall_testbed::evidence::write_demo_tree(&kape.join("C")).expect("evidence");
    let kape_zip = dir.path().join("kape.zip");
    zip_dir(&kape, "2026-12-06T101010_SeawallExchange/", &kape_zip);
    let kape_tgz = dir.path().join("kape.tar.gz");
    tar_gz_dir(&kape, &kape_tgz);

    for (name, input) in [
        ("velociraptor zip", &velociraptor_zip),
        ("velociraptor folder", &velociraptor),
        ("kape zip", &kape_zip),
        ("kape tar.gz", &kape_tgz),
        ("kape folder", &kape),
    ] {
        let records = hunt(input, "jsonl");
        let got = keys(&records, "C:");
        let missing: Vec<_> = expected.difference(&got).collect();
        let extra: Vec<_> = got.difference(&expected).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{name}: missing {missing:#?}\nextra {extra:#?}");
        for path in paths(&records) {
            assert!(path.starts_with(r"C:\"), "{name}: {path} is not the original Windows path");
        }
        assert!(
            !records.iter().any(|r| r["type"] == "error"),
            "{name}: {:?}",
            records.iter().filter(|r| r["type"] == "error").collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_timesketch_export_has_an_event_per_finding_with_the_required_fields() {
    let dir = tempfile::tempdir().expect("dir");
    let tree = dir.path().join("tree");
    seawall_testbed::evidence::write_demo_tree(&tree).expect("evidence");
    let findings = hunt(&tree, "jsonl").iter().filter(|r| r["type"] == "finding").count();
    let events = hunt(&tree, "timesketch");
    assert_eq!(events.len(), findings, "one event per finding, nothing else");
    for event in &events {
        for required in ["message", "datetime", "timestamp_desc"] {
            assert!(event[required].as_str().is_some_and(|v| !v.is_empty()), "{required} missing: {event}");
        }
        let datetime = event["datetime"].as_str().unwrap_or_default();
        assert!(datetime.parse::<jiff::Timestamp>().is_ok(), "datetime {datetime} is not ISO 8601");
        assert!(event["timestamp"].as_i64().is_some_and(|t| t > 1_000_000_000_000_000), "microseconds");
    }
}

#[test]
fn a_bomb_in_a_collection_is_an_error_and_the_rest_is_still_hunted() {
    let dir = tempfile::tempdir().expect("dir");
    let kape = dir.path().join("kape");
    seawall_testbed::evidence::write_demo_tree(&kape.join("C")).expect("evidence");
    // A log header, then 64 MiB of one byte: it deflates past 1000:1, which no real log does.
    let mut bomb =
        b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-uri-stem\n".to_vec();
    bomb.resize(64 << 20, b'A');
    std::fs::write(kape.join("C/inetpub/logs/LogFiles/W3SVC1/u_ex210304.log"), bomb).expect("bomb");
    let zip = dir.path().join("kape.zip");
    zip_dir(&kape, "", &zip);
    assert!(std::fs::metadata(&zip).expect("zip").len() < 4 << 20, "the bomb is small on disk");
    let out =
        seawall().args(["hunt", zip.to_str().expect("utf-8"), "--format", "jsonl"]).output().expect("seawall hunt");
    assert!(matches!(out.status.code(), Some(1 | 2)), "findings or errors: {:?}", out.status);
    let records: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSONL")).collect();
    let bomb = records
        .iter()
        .find(|r| {
            r["type"] == "error" && r["data"]["message"].as_str().is_some_and(|m| m.contains("decompression bomb"))
        })
        .expect("the bomb is reported");
    assert!(bomb["data"]["source"].as_str().is_some_and(|s| s.ends_with(r"W3SVC1\u_ex210304.log")), "{bomb}");
    let rules: BTreeSet<&str> =
        records.iter().filter(|r| r["type"] == "finding").filter_map(|r| r["data"]["rule"]["id"].as_str()).collect();
    assert!(rules.contains("SW-LOG-PROXYLOGON-26855") && rules.contains("SW-FILE-ASPNET-CLIENT-ASPX"), "{rules:?}");
}

#[test]
fn pages_read_only_in_part_by_the_normalising_stage_are_counted() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().join("wwwroot");
    std::fs::create_dir_all(&root).expect("dir");
    std::fs::write(root.join("small.aspx"), "<%@ Page Language=\"C#\" %><% Response.Write(\"hi\"); %>").expect("page");
    // Over the stage's 1 MiB input bound: normalised in part, scanned in full as written.
    let mut big = b"<%@ Page Language=\"C#\" %><% var x = 1; %>".to_vec();
    big.resize(1200 * 1024, b' ');
    std::fs::write(root.join("big.aspx"), big).expect("page");
    let records = hunt(&root, "jsonl");
    let end = records.iter().find(|r| r["type"] == "run_end").expect("end record");
    assert_eq!(end["data"]["stats"]["files_normalisation_limited"], 1, "{end}");
}
