//! What seawall runs of a Sigma rule, what it refuses with a reason, and the rewrites that
//! make rsigma 0.23 match as the specification says.

use base64::Engine as _;
use regex::RegexBuilder;
use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, SelectorPattern, SigmaRule, SigmaString, SigmaValue,
    SpecialChar, StringPart, detection_name_matches,
};

use crate::UnsupportedKind;

/// Compiled size allowed for a rule's regular expression (the regex crate never backtracks;
/// this bounds memory and the per-byte cost on hostile evidence).
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Longest value a rule may hold.
const MAX_VALUE_LEN: usize = 64 * 1024;

/// Why a rule is not run.
pub(crate) type Refusal = (UnsupportedKind, String);

/// Refuse what seawall would run wrongly or never match.
pub(crate) fn check(rule: &SigmaRule) -> Result<(), Refusal> {
    if rule.detection.conditions.is_empty() {
        return Err((UnsupportedKind::Invalid, "the rule has no condition".into()));
    }
    // By name: `named` is a HashMap, and the reason given must not change from run to run.
    let mut named: Vec<(&String, &Detection)> = rule.detection.named.iter().collect();
    named.sort_unstable_by_key(|(name, _)| *name);
    for (name, detection) in named {
        check_detection(name, detection)?;
    }
    for condition in &rule.detection.conditions {
        check_condition(condition, rule)?;
    }
    Ok(())
}

fn check_detection(name: &str, detection: &Detection) -> Result<(), Refusal> {
    match detection {
        Detection::AllOf(items) => items.iter().try_for_each(|item| check_item(name, item)),
        Detection::AnyOf(parts) | Detection::And(parts) => parts.iter().try_for_each(|p| check_detection(name, p)),
        Detection::Keywords(values) => values.iter().try_for_each(|v| check_value(name, v)),
        Detection::ArrayMatch { .. } | Detection::Conditional { .. } => Err((
            UnsupportedKind::ArrayMatch,
            format!(
                "detection {name}: array object scopes (`field[any]`) need nested events; seawall's records are flat"
            ),
        )),
    }
}

fn check_item(name: &str, item: &DetectionItem) -> Result<(), Refusal> {
    let field = item.field.name.as_deref().unwrap_or("keyword");
    for modifier in &item.field.modifiers {
        let refusal = match modifier {
            Modifier::Expand => Some("expand: placeholders need values from a processing pipeline"),
            Modifier::Minute | Modifier::Hour | Modifier::Day | Modifier::Week | Modifier::Month | Modifier::Year => {
                Some("timestamp-part modifiers are not supported")
            }
            _ => None,
        };
        if let Some(reason) = refusal {
            return Err((UnsupportedKind::Modifier, format!("detection {name}, field {field}: {reason}")));
        }
    }
    if item.field.modifiers.contains(&Modifier::Re) {
        for value in &item.values {
            let SigmaValue::String(s) = value else { continue };
            RegexBuilder::new(&s.original).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| {
                (UnsupportedKind::Regex, format!("detection {name}, field {field}: regular expression refused: {e}"))
            })?;
        }
    }
    item.values.iter().try_for_each(|v| check_value(name, v))
}

fn check_value(name: &str, value: &SigmaValue) -> Result<(), Refusal> {
    if let SigmaValue::String(s) = value
        && s.original.len() > MAX_VALUE_LEN
    {
        return Err((UnsupportedKind::Invalid, format!("detection {name}: a value over {MAX_VALUE_LEN} bytes")));
    }
    Ok(())
}

fn check_condition(expr: &ConditionExpr, rule: &SigmaRule) -> Result<(), Refusal> {
    match expr {
        ConditionExpr::And(parts) | ConditionExpr::Or(parts) => parts.iter().try_for_each(|p| check_condition(p, rule)),
        ConditionExpr::Not(inner) => check_condition(inner, rule),
        ConditionExpr::Identifier(name) if rule.detection.named.contains_key(name) => Ok(()),
        ConditionExpr::Identifier(name) => {
            Err((UnsupportedKind::Invalid, format!("the condition names {name:?}, which is not a detection")))
        }
        ConditionExpr::Selector { pattern: SelectorPattern::Them, .. } => Ok(()),
        ConditionExpr::Selector { pattern: SelectorPattern::Pattern(p), .. } => {
            if rule.detection.named.keys().any(|name| detection_name_matches(p, name)) {
                Ok(())
            } else {
                Err((UnsupportedKind::Invalid, format!("the selector `of {p}` matches no detection")))
            }
        }
    }
}

/// The rule as rsigma should compile it:
/// - a keyword list under `|all` searches values for each keyword (rsigma would compare whole
///   values, so `'|all': [...]` in SigmaHQ's Exchange rules would never match);
/// - `base64offset` is expanded as pySigma does (see [`rewrite_base64offset`]);
/// - values with wildcards become regular expressions in which `*` and `?` span line breaks too
///   (rsigma's `.` stops at a newline, so `*foo*` missed script blocks and command lines with
///   several lines).
pub(crate) fn rewrite(rule: &SigmaRule) -> SigmaRule {
    let mut rule = rule.clone();
    for detection in rule.detection.named.values_mut() {
        rewrite_detection(detection);
    }
    rule
}

fn rewrite_detection(detection: &mut Detection) {
    match detection {
        Detection::AllOf(items) => items.iter_mut().for_each(rewrite_item),
        Detection::AnyOf(parts) | Detection::And(parts) => parts.iter_mut().for_each(rewrite_detection),
        Detection::Keywords(values) => {
            if values.iter().any(has_wildcard) && values.iter().all(|v| matches!(v, SigmaValue::String(_))) {
                let mut item = DetectionItem {
                    field: rsigma_parser::FieldSpec::new(None, vec![Modifier::Contains]),
                    values: std::mem::take(values),
                };
                rewrite_item(&mut item);
                *detection = Detection::AllOf(vec![item]);
            }
        }
        Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {}
    }
}

fn has_wildcard(value: &SigmaValue) -> bool {
    matches!(value, SigmaValue::String(s) if s.contains_wildcards())
}

/// `base64offset` as pySigma defines it: the three encodings of the value at byte offsets 0, 1
/// and 2, each trimmed of the characters that depend on the bytes around the value. rsigma
/// 0.23 keeps the last partial group, which then only matches when the value ends the encoded
/// text, so `|base64offset|contains` missed two thirds of the encoded commands.
fn rewrite_base64offset(item: &mut DetectionItem) {
    let modifiers = &item.field.modifiers;
    if !modifiers.contains(&Modifier::Base64Offset)
        || !item.values.iter().all(|v| matches!(v, SigmaValue::String(s) if s.is_plain()))
    {
        return;
    }
    let encode = |text: &str| -> Vec<u8> {
        if modifiers.contains(&Modifier::Wide) {
            text.encode_utf16().flat_map(u16::to_le_bytes).collect()
        } else if modifiers.contains(&Modifier::Utf16be) {
            text.encode_utf16().flat_map(u16::to_be_bytes).collect()
        } else if modifiers.contains(&Modifier::Utf16) {
            [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
        } else {
            text.as_bytes().to_vec()
        }
    };
    let contains = modifiers.contains(&Modifier::Contains);
    let (anchor_start, anchor_end) = (
        !contains && !modifiers.contains(&Modifier::EndsWith),
        !contains && !modifiers.contains(&Modifier::StartsWith),
    );
    for value in &mut item.values {
        let SigmaValue::String(s) = value else { continue };
        let bytes = encode(&s.as_plain().unwrap_or_default());
        let mut variants = Vec::new();
        for offset in 0..3usize {
            let mut padded = vec![b' '; offset];
            padded.extend_from_slice(&bytes);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&padded);
            let start = [0, 2, 3][offset];
            let trim_end = [0, 3, 2][(bytes.len() + offset) % 3];
            if let Some(piece) = encoded.get(start..encoded.len().saturating_sub(trim_end))
                && !piece.is_empty()
            {
                variants.push(regex::escape(piece));
            }
        }
        let mut pattern = String::new();
        if anchor_start {
            pattern.push('^');
        }
        pattern.push_str(&format!("(?:{})", variants.join("|")));
        if anchor_end {
            pattern.push('$');
        }
        *value = SigmaValue::String(SigmaString::from_raw(&pattern));
    }
    let all = item.field.modifiers.contains(&Modifier::All);
    item.field.modifiers.clear();
    item.field.modifiers.push(Modifier::Re);
    if all {
        item.field.modifiers.push(Modifier::All);
    }
}

fn rewrite_item(item: &mut DetectionItem) {
    rewrite_base64offset(item);
    let modifiers = &mut item.field.modifiers;
    let positional = [Modifier::Contains, Modifier::StartsWith, Modifier::EndsWith];
    let other_matcher =
        modifiers.iter().any(|m| !positional.contains(m) && !matches!(m, Modifier::All | Modifier::Cased));
    if item.field.name.is_none() && !other_matcher && !modifiers.iter().any(|m| positional.contains(m)) {
        modifiers.push(Modifier::Contains);
    }
    if other_matcher
        || !item.values.iter().any(has_wildcard)
        || !item.values.iter().all(|v| matches!(v, SigmaValue::String(_)))
    {
        return;
    }
    let contains = modifiers.contains(&Modifier::Contains);
    let anchor_start = !contains && !modifiers.contains(&Modifier::EndsWith);
    let anchor_end = !contains && !modifiers.contains(&Modifier::StartsWith);
    let flags = if modifiers.contains(&Modifier::Cased) { "(?s)" } else { "(?is)" };
    for value in &mut item.values {
        if let SigmaValue::String(s) = value {
            let mut pattern = String::from(flags);
            if anchor_start {
                pattern.push('^');
            }
            for part in &s.parts {
                match part {
                    StringPart::Plain(text) => pattern.push_str(&regex::escape(text)),
                    StringPart::Special(SpecialChar::WildcardMulti) => pattern.push_str(".*"),
                    StringPart::Special(SpecialChar::WildcardSingle) => pattern.push('.'),
                }
            }
            if anchor_end {
                pattern.push('$');
            }
            *value = SigmaValue::String(SigmaString::from_raw(&pattern));
        }
    }
    let all = modifiers.contains(&Modifier::All);
    modifiers.clear();
    modifiers.push(Modifier::Re);
    if all {
        modifiers.push(Modifier::All);
    }
}
