//! Literal prefilters: for each rule (as read through one field set), a set of literals such
//! that a record the rule matches holds at least one of them in its stored bytes. Records
//! holding none are never turned into events for that rule.
//!
//! A literal is a piece of a value the rule must find: the longest run of a plain part that
//! stays byte-identical however the record stores it (no quote, backslash, control or
//! non-ASCII character, which JSON and CSV escape or which fold to ASCII under Unicode
//! lower-casing; no character a mapping rewrites or joins on). Anything that cannot promise a
//! literal (negation, regular expressions, encodings, numbers compared by size, null, field
//! existence) makes its branch unfilterable, and an unfilterable rule is evaluated on every
//! record of its sources.

use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaRule, SigmaValue, StringPart,
    detection_name_matches,
};

use crate::mapping::{FieldRef, FieldSet};

/// Shortest literal worth a prefilter entry.
const MIN_LITERAL: usize = 3;

/// What a record must hold for a branch of a rule to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    /// Nothing known: the branch may match any record.
    Any,
    /// At least one of these (ASCII, lower-cased) literals.
    OneOf(Vec<String>),
}

impl Need {
    fn score(&self) -> Option<(usize, std::cmp::Reverse<usize>)> {
        match self {
            Need::Any => None,
            Need::OneOf(literals) => {
                Some((literals.iter().map(String::len).min().unwrap_or(0), std::cmp::Reverse(literals.len())))
            }
        }
    }

    /// Both must hold: the more selective requirement is enough.
    fn and(self, other: Need) -> Need {
        match (self.score(), other.score()) {
            (None, _) => other,
            (_, None) => self,
            (Some(a), Some(b)) => {
                if b > a {
                    other
                } else {
                    self
                }
            }
        }
    }

    /// Either may hold: both requirements together.
    fn or(self, other: Need) -> Need {
        match (self, other) {
            (Need::OneOf(mut a), Need::OneOf(b)) => {
                for literal in b {
                    if !a.contains(&literal) {
                        a.push(literal);
                    }
                }
                Need::OneOf(a)
            }
            _ => Need::Any,
        }
    }
}

/// The requirement of a whole rule read through `fields`.
pub(crate) fn rule_need(rule: &SigmaRule, fields: &FieldSet) -> Need {
    let mut need: Option<Need> = None;
    for condition in &rule.detection.conditions {
        let this = condition_need(condition, rule, fields);
        need = Some(match need {
            None => this,
            Some(previous) => previous.or(this),
        });
    }
    need.unwrap_or(Need::Any)
}

fn condition_need(expr: &ConditionExpr, rule: &SigmaRule, fields: &FieldSet) -> Need {
    match expr {
        ConditionExpr::And(parts) => parts.iter().map(|p| condition_need(p, rule, fields)).fold(Need::Any, Need::and),
        ConditionExpr::Or(parts) => {
            let mut needs = parts.iter().map(|p| condition_need(p, rule, fields));
            match needs.next() {
                Some(first) => needs.fold(first, Need::or),
                None => Need::Any,
            }
        }
        ConditionExpr::Not(_) => Need::Any,
        ConditionExpr::Identifier(name) => match rule.detection.named.get(name) {
            Some(detection) => detection_need(detection, fields),
            None => Need::Any,
        },
        ConditionExpr::Selector { quantifier, pattern } => {
            let mut names: Vec<&String> = rule
                .detection
                .named
                .keys()
                .filter(|name| match pattern {
                    SelectorPattern::Them => !name.starts_with('_'),
                    SelectorPattern::Pattern(p) => detection_name_matches(p, name),
                })
                .collect();
            names.sort();
            let mut needs =
                names.iter().filter_map(|n| rule.detection.named.get(*n)).map(|d| detection_need(d, fields));
            match quantifier {
                Quantifier::All => needs.fold(Need::Any, Need::and),
                // `N of` needs at least one of them when N >= 1.
                Quantifier::Any | Quantifier::Count(_) => match needs.next() {
                    Some(first) => needs.fold(first, Need::or),
                    None => Need::Any,
                },
            }
        }
    }
}

fn detection_need(detection: &Detection, fields: &FieldSet) -> Need {
    match detection {
        Detection::AllOf(items) => items.iter().map(|item| item_need(item, fields)).fold(Need::Any, Need::and),
        Detection::AnyOf(parts) => {
            let mut needs = parts.iter().map(|p| detection_need(p, fields));
            match needs.next() {
                Some(first) => needs.fold(first, Need::or),
                None => Need::Any,
            }
        }
        Detection::Keywords(values) => values_need(values, false, &Splitters::default()),
        Detection::And(parts) => parts.iter().map(|p| detection_need(p, fields)).fold(Need::Any, Need::and),
        Detection::ArrayMatch { .. } | Detection::Conditional { .. } => Need::Any,
    }
}

/// Characters a literal must not span, beyond those no stored form keeps as is.
#[derive(Debug, Default)]
struct Splitters {
    chars: Vec<char>,
    /// Spaces are stored as `+` (IIS header values).
    plus_as_space: bool,
}

fn item_need(item: &DetectionItem, fields: &FieldSet) -> Need {
    let modifiers = &item.field.modifiers;
    let opaque = modifiers.iter().any(|m| {
        matches!(
            m,
            Modifier::Re
                | Modifier::Cidr
                | Modifier::Exists
                | Modifier::Gt
                | Modifier::Gte
                | Modifier::Lt
                | Modifier::Lte
                | Modifier::Neq
                | Modifier::FieldRef
                | Modifier::Base64
                | Modifier::Base64Offset
                | Modifier::Wide
                | Modifier::Utf16
                | Modifier::Utf16be
                | Modifier::Expand
                | Modifier::Minute
                | Modifier::Hour
                | Modifier::Day
                | Modifier::Week
                | Modifier::Month
                | Modifier::Year
        )
    });
    if opaque {
        return Need::Any;
    }
    let mut splitters = Splitters::default();
    if modifiers.contains(&Modifier::WindAsh) {
        // windash rewrites a leading '-' as '/' or a dash of another kind.
        splitters.chars.extend(['-', '/']);
    }
    if let Some(name) = &item.field.name {
        match fields.resolve(name) {
            None => return Need::Any,
            Some(FieldRef::Name(_)) => {}
            Some(FieldRef::PlusAsSpace(_)) => splitters.plus_as_space = true,
            Some(FieldRef::Join { separator, .. }) => splitters.chars.extend(separator.chars()),
        }
    }
    values_need(&item.values, modifiers.contains(&Modifier::All), &splitters)
}

fn values_need(values: &[SigmaValue], all: bool, splitters: &Splitters) -> Need {
    let literals: Vec<Option<String>> = values.iter().map(|v| value_literal(v, splitters)).collect();
    if all {
        // Every value must be found: the longest one is enough.
        let best = literals.into_iter().flatten().max_by(|a, b| a.len().cmp(&b.len()).then_with(|| b.cmp(a)));
        return best.map_or(Need::Any, |literal| Need::OneOf(vec![literal]));
    }
    let mut out: Vec<String> = Vec::new();
    for literal in literals {
        let Some(literal) = literal else { return Need::Any };
        if !out.contains(&literal) {
            out.push(literal);
        }
    }
    if out.is_empty() { Need::Any } else { Need::OneOf(out) }
}

/// The longest piece of a value that any matching field holds byte for byte.
fn value_literal(value: &SigmaValue, splitters: &Splitters) -> Option<String> {
    let text = match value {
        SigmaValue::String(s) => {
            let mut best: Option<String> = None;
            for part in &s.parts {
                if let StringPart::Plain(plain) = part
                    && let Some(piece) = longest_piece(plain, splitters)
                    && best.as_ref().is_none_or(|b| piece.len() > b.len())
                {
                    best = Some(piece);
                }
            }
            return best;
        }
        SigmaValue::Integer(n) => n.to_string(),
        SigmaValue::Float(_) | SigmaValue::Bool(_) | SigmaValue::Null => return None,
    };
    longest_piece(&text, splitters)
}

fn longest_piece(text: &str, splitters: &Splitters) -> Option<String> {
    let mut best = "";
    let breaks =
        |c: char| !c.is_ascii() || c.is_ascii_control() || c == '"' || c == '\\' || splitters.chars.contains(&c);
    for piece in text.split(breaks) {
        if piece.len() > best.len() {
            best = piece;
        }
    }
    if best.len() < MIN_LITERAL {
        return None;
    }
    let literal = best.to_ascii_lowercase();
    Some(if splitters.plus_as_space { literal.replace(' ', "+") } else { literal })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Mappings;

    fn need(yaml_detection: &str, field_set: &str) -> Need {
        let yaml = format!("title: t\nlogsource: {{category: webserver}}\ndetection:\n{yaml_detection}");
        let collection = rsigma_parser::parse_sigma_yaml(&yaml).expect("parses");
        assert!(collection.errors.is_empty(), "{:?}", collection.errors);
        let mappings = Mappings::embedded().expect("mappings");
        let set = mappings.field_sets.iter().find(|s| s.name == field_set).expect("field set");
        rule_need(&collection.rules[0], set)
    }

    fn one_of(literals: &[&str]) -> Need {
        Need::OneOf(literals.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn and_keeps_the_most_selective_side_or_unites() {
        let detection = "  a:\n    cs-method: GET\n  b:\n    cs-uri-stem|contains: ['/ecp/Default.aspx', '/owa/auth/x.js']\n  condition: a and b\n";
        assert_eq!(need(detection, "iis"), one_of(&["/ecp/default.aspx", "/owa/auth/x.js"]));
        let detection = "  a:\n    cs-method: POST\n  b:\n    cs-uri-stem|endswith: '.aspx'\n  condition: a or b\n";
        assert_eq!(need(detection, "iis"), one_of(&["post", ".aspx"]));
    }

    #[test]
    fn negation_regex_and_short_values_are_unfilterable() {
        assert_eq!(need("  a:\n    cs-method: GET\n  condition: not a\n", "iis"), Need::Any);
        assert_eq!(need("  a:\n    cs-uri-stem|re: 'abc.*def'\n  condition: a\n", "iis"), Need::Any);
        assert_eq!(need("  a:\n    cs-uri-stem|contains: ['/x', 'longer']\n  condition: a\n", "iis"), Need::Any);
    }

    #[test]
    fn wildcards_escapes_and_stored_forms_split_literals() {
        let detection = "  a:\n    Image: '*\\\\Windows\\\\System32\\\\cmd.exe'\n  condition: a\n";
        assert_eq!(need(detection, "evtx"), one_of(&["system32"]));
        let detection = "  a:\n    cs-user-agent|contains: 'Nmap Scripting Engine'\n  condition: a\n";
        assert_eq!(need(detection, "iis"), one_of(&["nmap+scripting+engine"]));
        // The IIS cs-uri-query is stem '?' query: a literal never spans the '?'.
        let detection = "  a:\n    cs-uri-query|contains: 'a.aspx?cmd=whoami'\n  condition: a\n";
        assert_eq!(need(detection, "iis"), one_of(&["cmd=whoami"]));
        let detection = "  a:\n    CommandLine|windash|contains: ' -accepteula '\n  condition: a\n";
        assert_eq!(need(detection, "evtx"), one_of(&["accepteula "]));
    }

    #[test]
    fn selectors_and_all_modifier() {
        let detection = "  sel_a:\n    CommandLine|contains|all: ['lsass', 'minidump']\n  sel_b:\n    Image|endswith: '\\rundll32.exe'\n  condition: all of sel_*\n";
        assert_eq!(need(detection, "evtx"), one_of(&["rundll32.exe"]));
        let detection = "  sel_a:\n    CommandLine|contains: 'lsass'\n  sel_b:\n    Image|endswith: 'procdump.exe'\n  condition: 1 of them\n";
        assert_eq!(need(detection, "evtx"), one_of(&["lsass", "procdump.exe"]));
    }
}
