//! The self-contained HTML report: one file, no request leaves it. Data is
//! embedded as JSON that script renders with `textContent` only; charts are
//! SVG drawn here with every text escaped; a Content-Security-Policy allows
//! only the report's own script (by hash) and no network at all.

mod charts;
mod page;
mod summary;

use std::io::Write;

use seawall_model::Record;

use crate::{FindingSink, SinkError};

pub use page::render;
pub use summary::{ExchangeRow, HourBucket, Summary, shows_compromise};

/// Collects a run's records and writes the report when the run ends.
#[derive(Debug)]
pub struct HtmlSink<W: Write> {
    out: W,
    records: Vec<Record>,
    title: String,
}

impl<W: Write> HtmlSink<W> {
    pub fn new(out: W, title: impl Into<String>) -> Self {
        HtmlSink { out, records: Vec::new(), title: title.into() }
    }
}

impl<W: Write> FindingSink for HtmlSink<W> {
    fn record(&mut self, record: &Record) -> Result<(), SinkError> {
        self.records.push(record.clone());
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let html = render(&self.title, &self.records);
        self.out.write_all(html.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }
}

/// Text safe inside HTML element content and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push_str(&format!("&#x{:x};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script type="application/json">` element: no `<`, `>`
/// or `&` survive, so no `</script>` or `<!--` can close or confuse it.
pub fn json_for_script(value: &serde_json::Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_markup_and_controls() {
        assert_eq!(
            escape_html("<script>alert('x')</script>&\u{1b}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#x1b;"
        );
    }

    #[test]
    fn script_json_cannot_close_its_element() {
        let v = serde_json::json!({"x": "</script><script>alert(1)</script><!--"});
        let text = json_for_script(&v);
        assert!(!text.contains('<') && !text.contains('>'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, v);
    }
}
