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
    // Controls are shown as escapes (issue 14); the line break inside the cell stays, quoted.
    assert_eq!(
        &first[5], "C:\\inetpub\\\\u{1b}]0;owned\\u{7}\\u{1b}[31mred\\u{1b}[0m\\u{d}\nfake line.aspx",
        "path column"
    );
    assert!(CsvProfile::named("nope").is_err());
}

// See: issue 14 (bidi overrides reordered evidence in the HTML report; CSV kept raw ESC/BEL/bidi).
#[test]
fn html_and_csv_show_bidi_overrides_and_controls_as_escapes() {
    let mut finding = Finding::new(
        RuleRef {
            id: "SW-TEST-2".into(),
            title: "upload of invoice\u{202e}xcod.exe".into(),
            source: RuleSource::Sigma,
        },
        Severity::High,
        Confidence::Medium,
        Location::File { path: "C:\\inetpub\\a\u{2067}b.aspx".into(), line: Some(1), record: None },
        vec![Evidence::text("request", "GET /\u{202e}gpj.aspx \u{7}\u{1b}[2J\u{200b}")],
        &["k"],
    );
    finding.remediation = Some("remove \u{202d}it".into());
    let records = [Record::Finding(finding)];
    let html = seawall_report::html::render("t\u{202e}", &records);
    let hidden: Vec<char> =
        html.chars().filter(|c| seawall_report::escape::is_hidden_or_reordering(*c) && *c != '\n').collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    assert!(html.contains("\\\\u{202e}gpj.aspx"), "the JSON data shows the escape");
    let mut csv = Vec::new();
    {
        let mut sink = CsvSink::new(&mut csv);
        sink.record(&records[0]).expect("write");
        sink.finish().expect("finish");
    }
    let csv = String::from_utf8(csv).expect("utf-8");
    assert!(!csv.chars().any(|c| seawall_report::escape::is_hidden_or_reordering(c) && c != '\n'), "{csv:?}");
    assert!(csv.contains("\\u{202e}gpj.aspx"), "{csv}");
}

// See: issue 14 (3 M findings as --format html reached 18.7 GB: every record cloned and embedded).
#[test]
fn html_embeds_at_most_its_cap_and_says_how_many_there_were() {
    use seawall_report::html::{HtmlSink, MAX_EMBEDDED_FINDINGS};
    let total = MAX_EMBEDDED_FINDINGS + 25;
    let mut out = Vec::new();
    {
        let mut sink = HtmlSink::new(&mut out, "flood");
        for i in 0..total {
            let finding = Finding::new(
                RuleRef { id: "SW-TEST-3".into(), title: "probe".into(), source: RuleSource::Native },
                Severity::Medium,
                Confidence::Medium,
                Location::File { path: "u_ex.log".into(), line: Some(i as u64 + 1), record: None },
                vec![Evidence::text("request", "GET /owa/")],
                &["k"],
            );
            sink.record(&Record::Finding(finding)).expect("record");
        }
        sink.finish().expect("finish");
    }
    let html = String::from_utf8(out).expect("utf-8");
    let embedded = html.matches("\"rule\":\"SW-TEST-3\"").count();
    assert_eq!(embedded, MAX_EMBEDDED_FINDINGS);
    assert!(html.contains(&format!("\"total\":{total}")));
    assert!(html.contains("id=\"findings-capped\""), "a visible note");
    assert!(html.contains(&format!("of {total} findings")));
    assert!(html.contains(&format!("<b>{total}</b>findings")), "the card counts every finding");
}
