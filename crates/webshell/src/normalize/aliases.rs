//! Names that stand for a method or a type, so calls through them read as the calls they make.
//!
//! - Delegates: `Func<byte[], Assembly> ld = Assembly.Load;` then `ld(raw)` calls
//!   `Assembly.Load(raw)`; VB.NET writes `Dim ld As Func(Of Byte(), Assembly) = AddressOf
//!   Assembly.Load`.
//! - Names for types: `Type t = Type.GetType("System.Diagnostics.Process")`, then
//!   `t.GetMethod("Start")...` reflects on that type (reflection's own calls are folded by
//!   `fold`'s late-binding rules once the type is written in).
//! - Method handles: `MethodInfo m = x.GetMethod("Name")` then `m.Invoke(target, new
//!   object[]{args})` calls `target.Name(args)` (the type's, for a static call).

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// At most this many aliases of each kind are read per page.
pub(crate) const MAX_ALIASES: usize = 32;

/// `Func<...> name = Type.Method;`, `Action<...> name = new Action<...>(Type.Method);`,
/// `var name = (Func<...>)Type.Method;`, VB `... name As Func(Of ...) = AddressOf Type.Method`
/// (the name, the method: a dotted name, not called).
static ALIAS: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r"(?:\b(?:Func|Action|Converter|Predicate)<[^=;\n]*>|\bvar|\bdynamic)\s*([A-Za-z_]\w*)\s*=\s*(?:\((?:Func|Action|Converter|Predicate)<[^;\n]*>\)\s*|new\s+(?:Func|Action|Converter|Predicate)<[^(;\n]*>\(\s*)?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\s*\)?\s*(?:;|$)|(?i)\b([A-Za-z_]\w*)\s+As\s+(?:Func|Action)\(Of[^=\n]*\)\s*=\s*AddressOf\s+([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)",
    )
});

/// `class Name` (C#) / `Class Name` (VB): the classes a page declares.
pub(crate) static CLASS: LazyLock<Regex> = LazyLock::new(|| crate::pattern::builtin(r"(?i)\bclass\s+([A-Za-z_]\w*)"));

/// `t = [x.]GetType("N.T[, assembly]")` / `t = typeof(N.T)` (the name, the type).
static TYPE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r#"\b([A-Za-z_]\w*)\s*=\s*(?:[A-Za-z_][\w.]*(?:\(\))?\.)?(?:GetType\(\s*"([A-Za-z_][\w.]*)(?:,[^"\n]*)?"\s*(?:,\s*(?:true|false))?\)|typeof\(\s*([A-Za-z_][\w.]*)\s*\))\s*;"#,
    )
});

/// `m = receiver.GetMethod("Name"[, types])` (the handle, the receiver, the method's name).
static METHOD_HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    crate::pattern::builtin(
        r#"\b([A-Za-z_]\w*)\s*=\s*([A-Za-z_][\w.]*(?:\([^()\n]*\))?)\.GetMethod\(\s*"([A-Za-z_]\w*)"[^;\n]*\)\s*;"#,
    )
});

/// Compile the patterns now (see `normalize::warm`): by reading a small page.
pub(crate) fn warm() {
    let page = "Func<byte[],Assembly>l=Assembly.Load;\nType t=Type.GetType(\"N.T\");\nMethodInfo m=t.GetMethod(\"M\");\n\
                m.Invoke(null,new object[]{l(b)});";
    let _ = Aliases::of([page].into_iter()).apply(page);
}

/// The aliases of a page's code regions.
#[derive(Debug, Default)]
pub(crate) struct Aliases {
    /// A call through a delegate, and the method.
    delegates: Vec<(Regex, String)>,
    /// `t.GetMethod(` and the like on a name for a type, and what names the type.
    types: Vec<(Regex, String)>,
    /// `m.Invoke(target, new object[]{args})` on a method handle, the method's name, and the
    /// type for a static call when the page names it.
    handles: Vec<(Regex, String, Option<String>)>,
    /// More aliases were defined than [`MAX_ALIASES`].
    pub(crate) capped: bool,
}

impl Aliases {
    pub(crate) fn of<'a>(regions: impl Iterator<Item = &'a str>) -> Aliases {
        let mut aliases = Aliases::default();
        for region in regions {
            if region.contains("GetType(") || region.contains("typeof(") || region.contains("GetMethod(") {
                aliases.read_reflection(region);
            }
            if region.contains("Func") || region.contains("Action") || region.contains("AddressOf") {
                aliases.read_delegates(region);
            }
        }
        aliases
    }

    fn read_delegates(&mut self, region: &str) {
        // A delegate kept in a field of a class the page declares is called through that
        // class (`Parser.Parse(x)` for `static Func<string, object> Parse = XamlReader.Parse;`).
        let mut declared = CLASS.captures_iter(region);
        let classes: Vec<String> =
            declared.by_ref().take(MAX_ALIASES).map(|c| regex::escape(&c[1])).chain(["this".to_owned()]).collect();
        // More classes than that: calls through the others' fields are not followed.
        self.capped |= declared.next().is_some();
        let qualifier = format!("(?:(?:{})\\.)?", classes.join("|"));
        for c in ALIAS.captures_iter(region) {
            let (Some(name), Some(method)) = (c.get(1).or_else(|| c.get(3)), c.get(2).or_else(|| c.get(4))) else {
                continue;
            };
            if self.delegates.len() == MAX_ALIASES {
                self.capped = true;
                return;
            }
            let Ok(call) = Regex::new(&format!(r"(^|[^.\w$]){qualifier}{}\(", regex::escape(name.as_str()))) else {
                continue;
            };
            self.delegates.push((call, method.as_str().to_owned()));
        }
    }

    fn read_reflection(&mut self, region: &str) {
        let mut types: Vec<(String, String)> = Vec::new();
        for c in TYPE_NAME.captures_iter(region) {
            let (Some(name), Some(ty)) = (c.get(1), c.get(2).or_else(|| c.get(3))) else { continue };
            if self.types.len() + types.len() == MAX_ALIASES {
                self.capped = true;
                break;
            }
            types.push((name.as_str().to_owned(), ty.as_str().to_owned()));
        }
        for (name, ty) in &types {
            let pattern =
                format!(r"(^|[^.\w$]){}\.(GetMethod|GetProperty|GetField|InvokeMember)\(", regex::escape(name));
            if let Ok(on) = Regex::new(&pattern) {
                self.types.push((on, format!("Type.GetType(\"{ty}\")")));
            }
        }
        for c in METHOD_HANDLE.captures_iter(region) {
            if self.handles.len() == MAX_ALIASES {
                self.capped = true;
                break;
            }
            let (name, receiver, method) = (&c[1], &c[2], &c[3]);
            // A static call runs on the type the receiver names.
            let ty = types
                .iter()
                .find(|(n, _)| n == receiver)
                .map(|(_, t)| t.clone())
                .or_else(|| receiver.strip_prefix("typeof(").and_then(|r| r.strip_suffix(')')).map(str::to_owned));
            let pattern = format!(
                r"(^|[^.\w$]){}\.Invoke\(\s*([A-Za-z_][\w.]*)\s*,\s*(?:new\s+object\[\]\s*\{{((?:[^{{}}\n]|\{{[^{{}}\n]*\}})*)\}}|null)\s*\)",
                regex::escape(name)
            );
            if let Ok(invoke) = Regex::new(&pattern) {
                self.handles.push((invoke, method.to_owned(), ty));
            }
        }
    }

    /// `code` with calls through aliases written as the calls they make.
    pub(crate) fn apply(&self, code: &str) -> Option<String> {
        let mut current: Option<String> = None;
        for (call, method) in &self.delegates {
            let text = current.as_deref().unwrap_or(code);
            if call.is_match(text) {
                current = Some(call.replace_all(text, |c: &Captures<'_>| format!("{}{method}(", &c[1])).into_owned());
            }
        }
        for (on, ty) in &self.types {
            let text = current.as_deref().unwrap_or(code);
            if on.is_match(text) {
                current =
                    Some(on.replace_all(text, |c: &Captures<'_>| format!("{}{ty}.{}(", &c[1], &c[2])).into_owned());
            }
        }
        for (invoke, method, ty) in &self.handles {
            let text = current.as_deref().unwrap_or(code);
            if !invoke.is_match(text) {
                continue;
            }
            let replaced = invoke.replace_all(text, |c: &Captures<'_>| {
                let args = c.get(3).map_or("", |a| a.as_str());
                match (&c[2], ty) {
                    ("null" | "Nothing", Some(ty)) => format!("{}{ty}.{method}({args})", &c[1]),
                    ("null" | "Nothing", None) => c[0].to_owned(),
                    (target, _) => format!("{}{target}.{method}({args})", &c[1]),
                }
            });
            if replaced != text {
                current = Some(replaced.into_owned());
            }
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(code: &str) -> Option<String> {
        Aliases::of([code].into_iter()).apply(code)
    }

    #[test]
    fn calls_through_a_delegate_are_calls_of_its_method() {
        let code = "private static readonly Func<byte[],Assembly>Ld=Assembly.Load;\nAssembly a=Ld(raw);\nx.Ld(y);";
        assert_eq!(
            applied(code).as_deref(),
            Some(
                "private static readonly Func<byte[],Assembly>Ld=Assembly.Load;\nAssembly a=Assembly.Load(raw);\nx.Ld(y);"
            )
        );
        let vb = "Dim st As Func(Of String,Process)=AddressOf Process.Start\nst(c)";
        assert!(applied(vb).is_some_and(|t| t.ends_with("Process.Start(c)")));
        let wrapped = "Action<string>w=new Action<string>(Response.Write);\nw(s);";
        assert!(applied(wrapped).is_some_and(|t| t.ends_with("Response.Write(s);")));
        // A lambda or a called method is no alias.
        let field = "static class P\n{\npublic static Func<string,object>Parse=XamlReader.Parse;\n}\nr=P.Parse(d);\nq=x.Parse(d);";
        assert_eq!(
            applied(field).as_deref(),
            Some(
                "static class P\n{\npublic static Func<string,object>Parse=XamlReader.Parse;\n}\nr=XamlReader.Parse(d);\nq=x.Parse(d);"
            )
        );
        let lambda = "Func<string,object>mk=n=>Activator.CreateInstance(n);\nmk(a);\nFunc<int>g=F.Get();\ng();";
        assert_eq!(applied(lambda), None);
    }

    #[test]
    fn reflection_through_names_reads_as_the_call() {
        let handle = "MethodInfo build=prov.GetType().GetMethod(\"CompileAssemblyFromSource\");\n\
                      var r=(CompilerResults)build.Invoke(prov,new object[]{opts,new string[]{layout}});";
        assert!(applied(handle).is_some_and(|t| {
            t.ends_with("var r=(CompilerResults)prov.CompileAssemblyFromSource(opts,new string[]{layout});")
        }));
        let statics = "Type pt=sys.GetType(\"System.Diagnostics.Process\");\n\
                       object p=pt.GetMethod(\"Start\",new Type[]{it}).Invoke(null,new object[]{si});";
        let text = applied(statics).unwrap_or_default();
        assert!(
            text.ends_with(
                "object p=Type.GetType(\"System.Diagnostics.Process\").GetMethod(\"Start\",new Type[]{it}).Invoke(null,new object[]{si});"
            ),
            "{text}"
        );
        let handled = "Type t=typeof(Helper);\nMethodInfo m=t.GetMethod(\"Run\");\nm.Invoke(null,new object[]{x});";
        assert!(applied(handled).is_some_and(|t| t.ends_with("Helper.Run(x);")), "{:?}", applied(handled));
        assert_eq!(applied("MethodInfo m=t.GetMethod(\"Run\");\nm.Invoke(null,null);"), None, "a type not named");
    }
}
