//! `*` and `?` wildcards, matched without backtracking blow-up.

/// Whether `text` matches `pattern` (`*` any run, `?` one character), ASCII case-insensitively unless `cased`.
pub(crate) fn glob_match(pattern: &str, text: &str, cased: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| if cased { a == b } else { a.eq_ignore_ascii_case(&b) };
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn wildcards() {
        assert!(glob_match("ServerInfo~*/*", "serverinfo~a]@srv:444/ecp/x.ecp?#", false));
        assert!(!glob_match("ServerInfo~*/*", "ServerInfo~localhost", false));
        assert!(glob_match(
            "ServerInfo~*/*Reset*VirtualDirectory#",
            "ServerInfo~a]@x:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory#",
            false
        ));
        assert!(glob_match("a?c", "abc", true));
        assert!(!glob_match("A?c", "abc", true));
        assert!(glob_match("*", "", false));
    }
}
