//! The page: summary cards, charts, the findings table, what to install.

use base64::Engine as _;
use seawall_model::{Finding, Record, Severity};
use sha2::{Digest, Sha256};

use super::charts::{bars, timeline};
use super::summary::Summary;
use super::{escape_html, json_for_script};
use crate::escape::visible;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#12344d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.8}
main{padding:18px 28px;max-width:1400px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:18px}.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:150px;box-shadow:0 1px 3px #0002}
.card b{display:block;font-size:26px}.card.bad b{color:#c0392b}.card.warn b{color:#d35400}
section{background:#fff;border-radius:8px;padding:12px 18px;margin-bottom:18px;box-shadow:0 1px 3px #0002}
h2{font-size:17px;margin:4px 0 10px}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:18px}
.chart .label{font-size:15px;fill:#333}.chart .value{font-size:15px;fill:#555}.muted{color:#777}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e7eb;vertical-align:top}
th{cursor:pointer;background:#eef2f5;position:sticky;top:0}td.ev{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all;max-width:520px}
.sev{font-weight:600;border-radius:4px;padding:1px 6px;color:#fff}.sev-critical{background:#8e1b10}.sev-high{background:#c0392b}.sev-medium{background:#d35400}.sev-low{background:#7f8c8d}.sev-info{background:#95a5a6}
.st-vulnerable{color:#c0392b;font-weight:600}.st-outdated{color:#d35400}.st-current{color:#27ae60}
.controls{display:flex;gap:10px;margin-bottom:8px}input,select{padding:4px 8px;font:inherit}
"#;

const SCRIPT: &str = r#"(function(){
var data=JSON.parse(document.getElementById('seawall-data').textContent);
var rank={info:0,low:1,medium:2,high:3,critical:4};
var body=document.querySelector('#findings tbody');
var filter=document.getElementById('filter');var minimum=document.getElementById('minimum');
var key='severity',dir=-1;
function td(tr,text,cls){var c=document.createElement('td');c.textContent=text;if(cls){c.className=cls;}tr.appendChild(c);return c;}
function value(f,k){if(k==='severity'){return rank[f.severity];}return (f[k]||'').toString().toLowerCase();}
function draw(){
 var q=filter.value.toLowerCase();var min=rank[minimum.value]||0;
 var rows=data.findings.filter(function(f){return rank[f.severity]>=min&&(!q||f.search.indexOf(q)>=0);});
 rows.sort(function(a,b){var x=value(a,key),y=value(b,key);return x<y?-dir:x>y?dir:0;});
 body.replaceChildren();
 rows.forEach(function(f){var tr=document.createElement('tr');
  var s=td(tr,'');var span=document.createElement('span');span.className='sev sev-'+f.severity;span.textContent=f.severity;s.appendChild(span);
  td(tr,f.rule+'\n'+f.title);td(tr,f.location);td(tr,f.time||'');td(tr,f.outcome||'');td(tr,f.cves);td(tr,f.evidence,'ev');td(tr,f.remediation||'');
  body.appendChild(tr);});
 document.getElementById('count').textContent=rows.length+' of '+data.findings.length+' findings';
}
Array.prototype.forEach.call(document.querySelectorAll('#findings th'),function(th){th.addEventListener('click',function(){var k=th.getAttribute('data-key');dir=(k===key)?-dir:1;key=k;draw();});});
filter.addEventListener('input',draw);minimum.addEventListener('change',draw);draw();
})();"#;

fn colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#8e1b10",
        Severity::High => "#c0392b",
        Severity::Medium => "#d35400",
        Severity::Low => "#7f8c8d",
        Severity::Info => "#95a5a6",
    }
}

/// Findings embedded in a page at most; a busy hunt's full list is in its JSONL output.
pub const MAX_EMBEDDED_FINDINGS: usize = 10_000;
/// Error lines listed in a page at most.
pub const MAX_LISTED_ERRORS: usize = 500;

/// What a page embeds of a run's records: the first findings (as script-safe JSON) and
/// error lines, and how many there were in all.
#[derive(Debug, Default)]
pub struct Embedded {
    findings: Vec<String>,
    findings_total: u64,
    errors: Vec<String>,
    errors_total: u64,
}

impl Embedded {
    pub fn add(&mut self, record: &Record) {
        match record {
            Record::Finding(f) => {
                self.findings_total += 1;
                if self.findings.len() < MAX_EMBEDDED_FINDINGS {
                    self.findings.push(json_for_script(&finding_json(f)));
                }
            }
            Record::Error(e) => {
                self.errors_total += 1;
                if self.errors.len() < MAX_LISTED_ERRORS {
                    self.errors.push(format!(
                        "{}{}: {}",
                        e.source,
                        e.position.as_ref().map(|p| format!(" ({p})")).unwrap_or_default(),
                        e.message
                    ));
                }
            }
            _ => {}
        }
    }
}

/// One finding as the page's script reads it; every string shows each character as itself.
fn finding_json(f: &Finding) -> serde_json::Value {
    let shown = |text: &str| visible(text, true).into_owned();
    let evidence: Vec<String> = f.evidence.iter().map(|e| format!("{}: {}", e.source, e.display_text())).collect();
    let evidence = evidence.join("\n");
    let cves = f.cves.join(" ");
    let search =
        format!("{} {} {} {} {} {}", f.rule.id, f.rule.title, f.location.key(), cves, f.actors.join(" "), evidence)
            .to_lowercase();
    serde_json::json!({
        "severity": f.severity.as_str(),
        "rule": shown(&f.rule.id),
        "title": shown(&f.rule.title),
        "location": shown(&f.location.key()),
        "time": f.time.as_deref().map(shown),
        "outcome": f.outcome.as_deref().map(shown),
        "cves": shown(&cves),
        "evidence": shown(&evidence),
        "remediation": f.remediation.as_deref().map(shown),
        "search": shown(&search),
    })
}

fn card(label: &str, value: impl std::fmt::Display, class: &str) -> String {
    format!("<div class=\"card {class}\"><b>{}</b>{}</div>", escape_html(&value.to_string()), escape_html(label))
}

/// The whole report of `records` as one HTML document.
pub fn render(title: &str, records: &[Record]) -> String {
    let mut embedded = Embedded::default();
    records.iter().for_each(|r| embedded.add(r));
    render_page(title, &Summary::from_records(records), &embedded)
}

/// The page of a summary and what it embeds.
pub(crate) fn render_page(title: &str, summary: &Summary, embedded: &Embedded) -> String {
    let script_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let findings_total: u64 = summary.by_severity.values().sum();
    let vulnerable = summary.exchange.iter().filter(|e| e.status == "vulnerable").count();
    let mut html = String::with_capacity(64 * 1024);
    html.push_str(&format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; img-src data:; base-uri 'none'; form-action 'none'\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape_html(title)
    ));
    html.push_str(&format!(
        "<header><h1>{}</h1><p>{}</p></header><main>",
        escape_html(title),
        escape_html(&summary.commands.join(" · "))
    ));
    html.push_str("<div class=\"cards\">");
    html.push_str(&card("services seen", summary.services, ""));
    html.push_str(&card("Exchange servers", summary.exchange.len(), ""));
    html.push_str(&card("with an exploited CVE open", vulnerable, if vulnerable > 0 { "bad" } else { "" }));
    html.push_str(&card(
        "showing compromise",
        summary.compromised.len(),
        if summary.compromised.is_empty() { "" } else { "bad" },
    ));
    html.push_str(&card("evidence files read", summary.files, ""));
    html.push_str(&card("findings", findings_total, ""));
    html.push_str(&card("errors", summary.errors, if summary.errors > 0 { "warn" } else { "" }));
    html.push_str("</div>");

    if !summary.compromised.is_empty() {
        html.push_str("<section><h2>Signs of compromise</h2><table><tr><th>where</th><th>what</th></tr>");
        for (place, what) in &summary.compromised {
            html.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", escape_html(place), escape_html(what)));
        }
        html.push_str("</table>");
        if summary.compromise_not_shown > 0 {
            html.push_str(&format!(
                "<p class=\"muted\">{} more findings showing compromise in places not listed (at most 1,000 places).</p>",
                summary.compromise_not_shown
            ));
        }
        html.push_str("</section>");
    }

    html.push_str("<div class=\"grid\">");
    let versions: Vec<(String, u64, &str)> =
        summary.by_version.iter().map(|(n, c)| (n.clone(), *c, "#2e86c1")).collect();
    html.push_str(&format!(
        "<section><h2>Exchange servers by build</h2>{}</section>",
        bars(&versions, "No Exchange server was scanned.")
    ));
    let severities: Vec<(String, u64, &str)> = Severity::ALL
        .iter()
        .rev()
        .map(|s| (s.as_str().to_owned(), summary.by_severity.get(s).copied().unwrap_or(0), colour(*s)))
        .collect();
    html.push_str(&format!("<section><h2>Findings by severity</h2>{}</section>", bars(&severities, "No findings.")));
    let cves: Vec<(String, u64, &str)> =
        summary.exploited_cves.iter().take(15).map(|(c, n)| (c.clone(), *n, "#c0392b")).collect();
    html.push_str(&format!(
        "<section><h2>Open known-exploited CVEs (servers)</h2>{}</section>",
        bars(&cves, "No known-exploited CVE is open on a scanned server.")
    ));
    html.push_str(&format!(
        "<section><h2>Exploitation per hour (orange: attempts, red: successes)</h2>{}</section>",
        timeline(&summary.timeline)
    ));
    if summary.timeline_not_shown > 0 {
        html.push_str(&format!(
            "<p class=\"muted\">{} timed findings fall outside the 10,000 hours charted.</p>",
            summary.timeline_not_shown
        ));
    }
    html.push_str("</div>");

    if !summary.exchange.is_empty() {
        html.push_str("<section><h2>What to install, per server</h2><table><tr><th>server</th><th>build</th><th>status</th><th>install</th></tr>");
        for row in &summary.exchange {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}<br><span class=\"muted\">{}</span></td><td class=\"st-{}\">{}</td><td>{}</td></tr>",
                escape_html(&row.endpoint),
                escape_html(&row.version_name),
                escape_html(&row.version),
                row.status,
                row.status,
                escape_html(row.install.as_deref().unwrap_or("nothing known"))
            ));
        }
        html.push_str("</table></section>");
    }

    if !summary.top_rules.is_empty() {
        html.push_str("<section><h2>Top findings</h2><table><tr><th>severity</th><th>rule</th><th>count</th></tr>");
        for (id, title, severity, count) in &summary.top_rules {
            html.push_str(&format!(
                "<tr><td><span class=\"sev sev-{0}\">{0}</span></td><td>{1}<br><span class=\"muted\">{2}</span></td><td>{3}</td></tr>",
                severity.as_str(),
                escape_html(id),
                escape_html(title),
                count
            ));
        }
        html.push_str("</table></section>");
    }

    html.push_str(
        "<section><h2>Findings</h2><div class=\"controls\"><input id=\"filter\" placeholder=\"filter: host, rule, CVE, text\" size=\"40\">\
<select id=\"minimum\"><option value=\"info\">all severities</option><option value=\"low\">low and above</option><option value=\"medium\">medium and above</option><option value=\"high\">high and above</option><option value=\"critical\">critical</option></select>\
<span id=\"count\" class=\"muted\"></span></div><table id=\"findings\"><thead><tr><th data-key=\"severity\">severity</th><th data-key=\"rule\">rule</th>\
<th data-key=\"location\">where</th><th data-key=\"time\">time</th><th data-key=\"outcome\">outcome</th><th data-key=\"cves\">CVEs</th><th data-key=\"evidence\">evidence</th>\
<th data-key=\"remediation\">what to do</th></tr></thead><tbody></tbody></table><noscript>The table needs JavaScript; the JSONL output has every finding.</noscript>",
    );
    if embedded.findings_total > embedded.findings.len() as u64 {
        html.push_str(&format!(
            "<p class=\"card warn\" id=\"findings-capped\">This report embeds the first {} of {} findings (at most {MAX_EMBEDDED_FINDINGS}); \
the counts and charts above cover all of them, the JSONL output has every one.</p>",
            embedded.findings.len(),
            embedded.findings_total
        ));
    }
    html.push_str("</section>");
    if !embedded.errors.is_empty() {
        html.push_str("<section><h2>Errors</h2><ul>");
        for e in &embedded.errors {
            html.push_str(&format!("<li>{}</li>", escape_html(e)));
        }
        html.push_str("</ul>");
        if embedded.errors_total > embedded.errors.len() as u64 {
            html.push_str(&format!(
                "<p class=\"muted\" id=\"errors-capped\">The first {} of {} errors are listed; the JSONL output has every one.</p>",
                embedded.errors.len(),
                embedded.errors_total
            ));
        }
        html.push_str("</section>");
    }
    html.push_str(&format!(
        "</main><script type=\"application/json\" id=\"seawall-data\">{}</script><script>{SCRIPT}</script></body></html>\n",
        findings_data(embedded)
    ));
    html
}

/// The embedded data: `{"findings": [...], "total": N}`, already safe inside a script element.
fn findings_data(embedded: &Embedded) -> String {
    let mut data = String::from("{\"findings\":[");
    for (i, finding) in embedded.findings.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str(finding);
    }
    data.push_str(&format!("],\"total\":{}}}", embedded.findings_total));
    data
}
