//! Inline SVG charts: no script, no fonts, no network; every label escaped.

use super::escape_html;

/// Horizontal bars, one per item (label, value, CSS colour).
pub(super) fn bars(items: &[(String, u64, &str)], empty: &str) -> String {
    if items.is_empty() {
        return format!("<p class=\"muted\">{}</p>", escape_html(empty));
    }
    let max = items.iter().map(|i| i.1).max().unwrap_or(1).max(1);
    let row = 30;
    let height = items.len() * row + 8;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 640 {height}\" width=\"100%\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (label, value, colour)) in items.iter().enumerate() {
        let y = i * row + 4;
        let width = (*value as f64 / max as f64 * 330.0).max(2.0);
        let shown: String = label.chars().take(46).collect();
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" class=\"label\">{}</text><rect x=\"270\" y=\"{}\" width=\"{width:.1}\" height=\"22\" fill=\"{colour}\" rx=\"3\"/><text x=\"{:.1}\" y=\"{}\" class=\"value\">{value}</text>",
            y + 16,
            escape_html(&shown),
            y,
            275.0 + width,
            y + 16
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Exploitation attempts per hour as columns, successes stacked on top in red.
pub(super) fn timeline(buckets: &[super::summary::HourBucket]) -> String {
    if buckets.is_empty() {
        return "<p class=\"muted\">No timed exploitation findings.</p>".into();
    }
    let max = buckets.iter().map(|b| b.attempts + b.successes).max().unwrap_or(1).max(1);
    let width = 640.0;
    let column = (width - 40.0) / buckets.len() as f64;
    let mut svg = String::from(
        "<svg class=\"chart\" viewBox=\"0 0 640 220\" width=\"100%\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">",
    );
    for (i, b) in buckets.iter().enumerate() {
        let x = 30.0 + i as f64 * column;
        let total = (b.attempts + b.successes) as f64 / max as f64 * 160.0;
        let success = b.successes as f64 / max as f64 * 160.0;
        let w = (column * 0.8).max(1.0);
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#f0a202\"><title>{}: {} attempts, {} successes</title></rect>",
            180.0 - total,
            total - success,
            escape_html(&b.hour),
            b.attempts,
            b.successes
        ));
        if b.successes > 0 {
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{success:.1}\" fill=\"#c0392b\"/>",
                180.0 - success
            ));
        }
    }
    let first = buckets.first().map(|b| escape_html(&b.hour)).unwrap_or_default();
    let last = buckets.last().map(|b| escape_html(&b.hour)).unwrap_or_default();
    svg.push_str(&format!(
        "<text x=\"30\" y=\"205\" class=\"label\">{first}</text><text x=\"610\" y=\"205\" class=\"label\" text-anchor=\"end\">{last}</text><text x=\"0\" y=\"24\" class=\"label\">{max}</text></svg>"
    ));
    svg
}
