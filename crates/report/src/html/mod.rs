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

pub use page::{Embedded, MAX_EMBEDDED_FINDINGS, MAX_LISTED_ERRORS, render};
pub use summary::{ExchangeRow, HourBucket, Summary, SummaryBuilder, shows_compromise};

/// Streams a run's records into a bounded summary and the capped set of findings and errors
/// the page embeds; the report is written when the run ends. Memory stays bounded whatever
/// the number of records: beyond [`MAX_EMBEDDED_FINDINGS`] findings and [`MAX_LISTED_ERRORS`]
/// errors the page counts them and says so.
#[derive(Debug)]
pub struct HtmlSink<W: Write> {
    out: W,
    summary: SummaryBuilder,
    embedded: Embedded,
    title: String,
}

impl<W: Write> HtmlSink<W> {
    pub fn new(out: W, title: impl Into<String>) -> Self {
        HtmlSink { out, summary: SummaryBuilder::default(), embedded: Embedded::default(), title: title.into() }
    }
}

impl<W: Write> FindingSink for HtmlSink<W> {
    fn record(&mut self, record: &Record) -> Result<(), SinkError> {
        self.summary.add(record);
        self.embedded.add(record);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let summary = std::mem::take(&mut self.summary).finish();
        let html = page::render_page(&self.title, &summary, &self.embedded);
        self.out.write_all(html.as_bytes())?;
        self.out.flush()?;
        Ok(())
    }
}

/// Text safe inside HTML element content and double-quoted attributes, every character
/// shown as itself: markup is escaped, controls and bidi or invisible format characters
/// become visible `\u{..}` escapes (a numeric reference would still reorder the text).
pub fn escape_html(text: &str) -> String {
    let text = crate::escape::visible(text, true);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
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
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;\\u{1b}"
        );
        assert_eq!(escape_html("invoice\u{202e}gpj.exe"), "invoice\\u{202e}gpj.exe");
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
