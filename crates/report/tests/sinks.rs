//! Every sink keeps hostile evidence inert for its medium.

use seawall_model::{
    Confidence, ErrorRecord, Evidence, Finding, Location, Record, RuleRef, RuleSource, RunEnd, Severity,
};
use seawall_report::{CSV_COLUMNS, CsvSink, FindingSink, JsonlSink, TextSink};

const TERMINAL_ATTACK: &str = "\u{1b}]0;owned\u{7}\u{1b}[31mred\u{1b}[0m\r\nfake line";
const FORMULA_ATTACK: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";
const HTML_ATTACK: &str = "<script>alert(1)</script>";

fn hostile_records() -> Vec<Record> {
    let mut finding = Finding::new(
        RuleRef { id: "SW-TEST-1".into(), title: FORMULA_ATTACK.into(), source: RuleSource::Native },
        Severity::High,
        Confidence::Medium,
        Location::File { path: format!("C:\\inetpub\\{TERMINAL_ATTACK}.aspx"), line: Some(3), record: None },
        vec![
            Evidence::text("request", TERMINAL_ATTACK),
            Evidence::text("ua", HTML_ATTACK),
            Evidence::bytes("raw", b"\xff\xfe\x1b[2J"),
        ],
        &["k"],
    );
    finding.remediation = Some("-2+3".into());
    vec![
        Record::Finding(finding),
        Record::Error(ErrorRecord {
            source: "@evil".into(),
            message: TERMINAL_ATTACK.into(),
            position: Some("line 9".into()),
        }),
        Record::RunEnd(RunEnd { errors: 1, duration_ms: 1200, ..RunEnd::default() }),
    ]
}

fn run<S: FindingSink>(mut sink: S) -> S {
    for record in hostile_records() {
        sink.record(&record).expect("write");
    }
    sink.finish().expect("finish");
    sink
}

#[test]
fn text_output_carries_no_control_characters() {
    let out = run(TextSink::new(Vec::new())).into_inner();
    let text = String::from_utf8(out).expect("utf-8");
    for line in text.lines() {
        assert!(!line.chars().any(|c| c.is_control()), "control character in {line:?}");
    }
    assert!(text.contains("\\u{1b}]0;owned"), "escaped form is shown: {text}");
    assert!(text.contains("[HIGH]"));
    assert!(text.contains("1 errors"));
}

#[test]
fn jsonl_round_trips_every_record_byte_for_byte() {
    let out = run(JsonlSink::new(Vec::new())).into_inner();
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "one line per record, no raw newline from evidence");
    let back: Vec<Record> = lines.iter().map(|l| Record::from_json_line(l).expect("parses")).collect();
    assert_eq!(back, hostile_records());
    assert!(!text.contains('\u{1b}'), "JSON escapes control characters");
}

#[test]
fn csv_cells_never_start_a_formula() {
    let mut buffer = Vec::new();
    {
        let mut sink = CsvSink::new(&mut buffer);
        for record in hostile_records() {
            sink.record(&record).expect("write");
        }
        sink.finish().expect("finish");
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(buffer.as_slice());
    let headers = reader.headers().expect("header").clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), CSV_COLUMNS.to_vec());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 2, "finding and error rows; run_end is not a row");
    for row in &rows {
        for cell in row.iter() {
            assert!(!matches!(cell.chars().next(), Some('=' | '+' | '-' | '@')), "formula cell {cell:?}");
        }
    }
    assert_eq!(&rows[0][5], &format!("'{FORMULA_ATTACK}"));
    assert_eq!(&rows[0][12], "'-2+3");
    assert_eq!(&rows[1][0], "error");
}

#[test]
fn csv_profiles_are_data_and_pick_their_columns() {
    use seawall_report::CsvProfile;
    let profiles = CsvProfile::embedded().expect("profiles load");
    assert!(profiles.iter().any(|p| p.name == "notification"));
    let timeline = CsvProfile::named("timeline").expect("timeline");
    let mut buffer = Vec::new();
    {
        let mut sink = CsvSink::with_profile(&mut buffer, &timeline);
        for record in hostile_records() {
            sink.record(&record).expect("write");
        }
        sink.finish().expect("finish");
    }
    let mut reader = csv::ReaderBuilder::new().from_reader(buffer.as_slice());
    let headers: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    assert_eq!(headers, timeline.columns);
    let first = reader.records().next().expect("a row").expect("row");
    assert_eq!(&first[5], "C:\\inetpub\\\u{1b}]0;owned\u{7}\u{1b}[31mred\u{1b}[0m\r\nfake line.aspx", "path column");
    assert!(CsvProfile::named("nope").is_err());
}
