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
