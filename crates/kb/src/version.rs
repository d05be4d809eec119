//! Exchange version strings as people and servers write them.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use thiserror::Error;

/// A four-part build number, ordered numerically (`15.2.858.10 > 15.2.858.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildNumber {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    pub revision: u32,
}

impl BuildNumber {
    pub const fn new(major: u32, minor: u32, build: u32, revision: u32) -> BuildNumber {
        BuildNumber { major, minor, build, revision }
    }

    /// The `major.minor.build` that names a cumulative update.
    pub fn cu_key(self) -> (u32, u32, u32) {
        (self.major, self.minor, self.build)
    }
}

impl fmt::Display for BuildNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}.{}", self.major, self.minor, self.build, self.revision)
    }
}

impl Serialize for BuildNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for BuildNumber {
    type Err = ParseBuildError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let query = BuildQuery::parse(s)?;
        match query.revision {
            Some(revision) => Ok(BuildNumber::new(query.major, query.minor, query.build, revision)),
            None => Err(ParseBuildError::new(s, "a four-part build is needed here")),
        }
    }
}

/// A build as asked about: the revision may be unknown (`15.2.858`, or the
/// `/owa/auth/15.2.858/` path of a logon page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BuildQuery {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    pub revision: Option<u32>,
}

impl BuildQuery {
    /// Accepts `15.2.858.5`, `15.2.858`, the zero-padded file version
    /// `15.02.0858.005` and the admin-center form `Version 15.2 (Build 858.5)`.
    pub fn parse(input: &str) -> Result<BuildQuery, ParseBuildError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ParseBuildError::new(input, "empty version"));
        }
        let dotted = match text.strip_prefix("Version ") {
            Some(rest) => admin_display_to_dotted(input, rest)?,
            None => text.to_owned(),
        };
        let mut numbers = Vec::with_capacity(4);
        for (index, part) in dotted.split('.').enumerate() {
            if part.is_empty() || part.len() > 9 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseBuildError::new(input, format!("part {} ({part:?}) is not a number", index + 1)));
            }
            numbers.push(part.parse::<u32>().map_err(|e| ParseBuildError::new(input, e.to_string()))?);
        }
        match numbers.as_slice() {
            [major, minor, build] => Ok(BuildQuery { major: *major, minor: *minor, build: *build, revision: None }),
            [major, minor, build, revision] => {
                Ok(BuildQuery { major: *major, minor: *minor, build: *build, revision: Some(*revision) })
            }
            _ => Err(ParseBuildError::new(
                input,
                format!("expected 3 or 4 dot-separated numbers, found {}", numbers.len()),
            )),
        }
    }

    /// The lowest build this query can stand for.
    pub fn lowest(self) -> BuildNumber {
        BuildNumber::new(self.major, self.minor, self.build, self.revision.unwrap_or(0))
    }

    pub fn cu_key(self) -> (u32, u32, u32) {
        (self.major, self.minor, self.build)
    }
}

impl fmt::Display for BuildQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)?;
        if let Some(revision) = self.revision {
            write!(f, ".{revision}")?;
        }
        Ok(())
    }
}

/// `15.2 (Build 858.5)` → `15.2.858.5`.
fn admin_display_to_dotted(input: &str, rest: &str) -> Result<String, ParseBuildError> {
    let (major_minor, tail) =
        rest.split_once(" (Build ").ok_or_else(|| ParseBuildError::new(input, "expected `Version M.m (Build B.R)`"))?;
    let build = tail.strip_suffix(')').ok_or_else(|| ParseBuildError::new(input, "missing `)` after the build"))?;
    Ok(format!("{major_minor}.{build}"))
}

/// A version string that is not a build number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not an Exchange build number: {input:?}: {reason}")]
pub struct ParseBuildError {
    pub input: String,
    pub reason: String,
}

impl ParseBuildError {
    fn new(input: &str, reason: impl Into<String>) -> ParseBuildError {
        let shown: String = input.chars().take(80).collect();
        ParseBuildError { input: shown, reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_documented_form() {
        let four = BuildQuery::parse("15.2.858.5");
        assert_eq!(four, Ok(BuildQuery { major: 15, minor: 2, build: 858, revision: Some(5) }));
        assert_eq!(BuildQuery::parse("15.02.0858.005"), four);
        assert_eq!(BuildQuery::parse("Version 15.2 (Build 858.5)"), four);
        assert_eq!(BuildQuery::parse(" 15.2.858 "), Ok(BuildQuery { major: 15, minor: 2, build: 858, revision: None }));
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        for bad in ["", "15.2", "15.2.858.5.1", "15.2.x.5", "15..858", "Version 15.2 Build 858.5", "1.2.3.99999999999"]
        {
            let err = BuildQuery::parse(bad);
            assert!(err.is_err(), "{bad:?} should be rejected");
        }
        let err = BuildQuery::parse("15.2.x.5").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("part 3"), "{err}");
    }

    #[test]
    fn builds_order_numerically_not_lexically() {
        let a: BuildNumber = "15.2.858.10".parse().unwrap_or(BuildNumber::new(0, 0, 0, 0));
        let b: BuildNumber = "15.2.858.5".parse().unwrap_or(BuildNumber::new(9, 9, 9, 9));
        assert!(a > b);
    }
}
