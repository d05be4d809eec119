//! Bodies the emulated hosts serve. All HTML here is our own; only the markers scanners key on
//! (comments, titles, resource paths, the noscript sentence) follow what real Exchange pages carry,
//! as recorded in shared/research/exchange-network.md §2-§3.

/// Where the logon page's themes and scripts live. Exchange 2013 and later put the 3-part
/// CU version under /owa/auth/; 2007/2010 put the 4-part version under /owa/. Without a version
/// the page points at the version-less `Current` folder, as a customised page might.
pub(crate) fn owa_resource_root(path_version: Option<&str>) -> String {
    match path_version {
        Some(version) if version.split('.').count() >= 4 => format!("/owa/{version}"),
        Some(version) => format!("/owa/auth/{version}"),
        None => "/owa/auth/Current".to_owned(),
    }
}

/// The OWA forms-based logon page. `legacy_title` picks 2010's "Outlook Web App".
pub(crate) fn owa_logon(path_version: Option<&str>, legacy_title: bool, host_name: &str) -> String {
    let root = owa_resource_root(path_version);
    let title = if legacy_title { "Outlook Web App" } else { "Outlook" };
    format!(
        r#"<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<!-- OwaPage = ASP.auth_logon_aspx -->

<!-- {{57A118C6-2DA9-419d-BE9A-F92B0F9A418B}} -->
<html>
<head>
<meta http-equiv="X-UA-Compatible" content="IE=10" />
<link rel="shortcut icon" href="{root}/themes/resources/favicon.ico" type="image/x-icon">
<meta http-equiv="Content-Type" content="text/html; CHARSET=utf-8">
<meta name="Robots" content="NOINDEX, NOFOLLOW">
<title>{title}</title>
<style>
@font-face {{
    font-family: "owa_sans_regular";
    src: url("{root}/themes/resources/segoeui-regular.ttf") format("truetype");
}}
@font-face {{
    font-family: "owa_sans_light";
    src: url("{root}/themes/resources/segoeui-semilight.ttf") format("truetype");
}}
body.signInBg {{ margin: 0; background: #ffffff; font-family: "owa_sans_regular", Tahoma, Arial, sans-serif; }}
.signInHeader {{ font-family: "owa_sans_light", Tahoma, sans-serif; font-size: 42px; color: #0072c6; margin: 24px 0; }}
.signInInputLabel {{ display: block; font-size: 13px; color: #333333; margin-top: 12px; }}
.signInInputText {{ width: 280px; height: 28px; border: 1px solid #bababa; padding: 0 6px; }}
.signInCheckBoxText {{ font-size: 12px; color: #666666; }}
.signinbutton {{ display: inline-block; margin-top: 18px; cursor: pointer; color: #0072c6; font-size: 22px; }}
.logonContainer {{ position: absolute; top: 20%; left: 30%; width: 420px; }}
#dvErr {{ background: #fff4ce; border: 1px solid #e0c060; padding: 8px; font-size: 13px; }}
</style>
<link rel="stylesheet" type="text/css" href="{root}/themes/resources/logon.css">
<script type="text/javascript" src="{root}/scripts/premium/flogon.js"></script>
<script type="text/javascript">
    // Only browsers that run scripts get the full client; the rest see the noscript notice.
    function IsOwaPremiumBrowser() {{
        return typeof window.addEventListener === "function";
    }}
    function clkLgn() {{
        var form = document.forms["logonForm"];
        if (form.username.value.length === 0) {{ form.username.focus(); return; }}
        form.submit();
    }}
    function onKeyPress(e) {{
        if ((e || window.event).keyCode === 13) {{ clkLgn(); }}
    }}
</script>
</head>
<body class="signInBg">
<noscript>
    <div id="dvErr">
        <table cellpadding="0" cellspacing="0"><tr>
            <td><img src="{root}/themes/resources/warn.png" alt=""></td>
            <td>To use Outlook, browser settings must allow scripts to run. For more information, or to learn how to change your browser settings, contact your administrator.</td>
        </tr></table>
    </div>
</noscript>
<form action="/owa/auth.owa" method="POST" name="logonForm" enctype="application/x-www-form-urlencoded" autocomplete="off">
    <input type="hidden" name="destination" value="https://{host_name}/owa/">
    <input type="hidden" name="flags" value="4">
    <input type="hidden" name="forcedownlevel" value="0">
    <div class="logonContainer">
        <div class="signInHeader">{title}</div>
        <label class="signInInputLabel" for="username">Domain\user name:</label>
        <input class="signInInputText" id="username" name="username" type="text" placeholder="domain\user name" onkeypress="onKeyPress(event)">
        <label class="signInInputLabel" for="password">Password:</label>
        <input class="signInInputText" id="password" name="password" type="password" onkeypress="onKeyPress(event)">
        <div class="signInCheckBoxText">
            <input type="checkbox" id="chkPrvt" name="trusted" value="0"> <label for="chkPrvt">This is a private computer</label>
        </div>
        <div class="signinbutton" role="button" tabindex="0" onclick="clkLgn()">
            <img src="{root}/themes/resources/signin_arrow.png" alt=""> <span class="signinTxt">sign in</span>
        </div>
    </div>
</form>
</body>
</html>
"#
    )
}

/// The ECP export tool's ClickOnce deployment manifest. Two assemblyIdentity elements carry the
/// version: the deployment's (`...exporttool.application`) and the tool's own, which is the one
/// Metasploit's pattern (`name="microsoft.exchange.ediscovery.exporttool" version=`) reads.
pub(crate) fn exporttool_manifest(version: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<asmv1:assembly xsi:schemaLocation="urn:schemas-microsoft-com:asm.v1 assembly.adaptive.xsd" manifestVersion="1.0" xmlns:asmv1="urn:schemas-microsoft-com:asm.v1" xmlns="urn:schemas-microsoft-com:asm.v2" xmlns:asmv2="urn:schemas-microsoft-com:asm.v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:co.v1="urn:schemas-microsoft-com:clickonce.v1">
  <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="{version}" publicKeyToken="b03f5f7f11d50a3a" language="neutral" processorArchitecture="msil" xmlns="urn:schemas-microsoft-com:asm.v1" />
  <description asmv2:publisher="Microsoft Corporation" co.v1:suiteName="Microsoft Exchange" asmv2:product="Microsoft Exchange eDiscovery PST Export Tool" xmlns="urn:schemas-microsoft-com:asm.v1" />
  <deployment install="false" mapFileExtensions="true" trustURLParameters="true" />
  <dependency>
    <dependentAssembly dependencyType="install" codebase="{version}\microsoft.exchange.ediscovery.exporttool.exe.manifest" size="18213">
      <assemblyIdentity name="microsoft.exchange.ediscovery.exporttool" version="{version}" publicKeyToken="b03f5f7f11d50a3a" language="neutral" processorArchitecture="msil" type="win32" />
    </dependentAssembly>
  </dependency>
</asmv1:assembly>
"#
    )
}

/// What the MAPI virtual directory says to an anonymous SSRF'd request on a ProxyShell-vulnerable
/// server: the page nuclei's CVE-2021-34473 template keys on.
pub(crate) fn mapi_endpoint(version: &str, server: &str) -> String {
    format!(
        "<html>\r\n<head>\r\n<title>Exchange MAPI/HTTP Connectivity Endpoint</title>\r\n</head>\r\n<body>\r\n\
         <p>Exchange MAPI/HTTP Connectivity Endpoint<br><br>Version: {version}<br>Vdir Path: /mapi/nspi/<br><br></p>\r\n\
         <p><b>User:</b> NT AUTHORITY\\SYSTEM<br><b>UPN:</b> <br><b>SID:</b> S-1-5-18<br>\
         <b>Organization:</b> <br><b>Authentication:</b> Kerberos<br></p>\r\n\
         <p><b>Cafe:</b> {server}<br><b>Mailbox:</b> {server}<br></p>\r\n</body>\r\n</html>\r\n"
    )
}

/// What a dropped ASPX shell typically renders: a bare command form.
pub(crate) const WEBSHELL: &str = "<html>\r\n<head><title></title></head>\r\n<body>\r\n\
<form method=\"post\" action=\"\">\r\n<input type=\"text\" name=\"c\" size=\"80\" />\r\n\
<input type=\"submit\" value=\"Run\" />\r\n</form>\r\n<pre></pre>\r\n</body>\r\n</html>\r\n";

/// IIS's custom-error page for a missing file (title as IIS words it).
pub(crate) const IIS_404: &str = r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>404 - File or directory not found.</title>
<style type="text/css">
body { margin: 0; font-size: .7em; font-family: Verdana, Arial, Helvetica, sans-serif; background: #eeeeee; }
fieldset { padding: 0 15px 10px 15px; }
h1 { font-size: 2.4em; margin: 0; color: #ffffff; }
#header { width: 96%; margin: 0 0 0 0; padding: 6px 2% 6px 2%; background-color: #555555; }
</style>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <fieldset><h2>404 - File or directory not found.</h2>
 <h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>
 </fieldset>
</div>
</body>
</html>
"#;

/// What IIS URL Rewrite's custom response gives for the ProxyNotShell mitigation rule.
pub(crate) const IIS_403: &str = "<!DOCTYPE html>\r\n<html>\r\n<head><title>403 - Forbidden: Access is denied.</title></head>\r\n\
<body>\r\n<h2>403 - Forbidden: Access is denied.</h2>\r\n\
<h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3>\r\n\
</body>\r\n</html>\r\n";

/// The stock IIS welcome page (iisstart.htm): a title and one picture.
pub(crate) const IIS_START: &str = r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />
<title>IIS Windows Server</title>
<style type="text/css">
body { color: #000000; background-color: #0072c6; margin: 0; }
#container { margin-left: auto; margin-right: auto; text-align: center; }
</style>
</head>
<body>
<div id="container"><img src="iisstart.png" alt="IIS" width="960" height="600" /></div>
</body>
</html>
"#;

/// nginx's default welcome page, in our words, with its well-known title and heading.
pub(crate) const NGINX_WELCOME: &str = "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n\
<style>\nbody { width: 35em; margin: 0 auto; font-family: Tahoma, Verdana, Arial, sans-serif; }\n</style>\n\
</head>\n<body>\n<h1>Welcome to nginx!</h1>\n\
<p>The web server is installed and answering. No site has been configured yet.</p>\n\
<p><em>Thank you for using nginx.</em></p>\n</body>\n</html>\n";

pub(crate) const NGINX_VERSION: &str = "nginx/1.24.0";

/// nginx's built-in 404 body.
pub(crate) fn nginx_404() -> String {
    format!(
        "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n\
         <hr><center>{NGINX_VERSION}</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// A parked-domain style page returned for any path by catch-all hosts.
pub(crate) const CATCH_ALL: &str = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
<title>Coming soon</title>\n</head>\n<body>\n<h1>Coming soon</h1>\n\
<p>This site is being set up. Please check back later.</p>\n</body>\n</html>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logon_page_carries_markers_and_version_paths() {
        let page = owa_logon(Some("15.2.858"), false, "mail.example.test");
        for marker in [
            "<!-- OwaPage = ASP.auth_logon_aspx -->",
            "<!-- {57A118C6-2DA9-419d-BE9A-F92B0F9A418B} -->",
            "<title>Outlook</title>",
            "/owa/auth/15.2.858/themes/resources/favicon.ico",
            "/owa/auth/15.2.858/scripts/premium/flogon.js",
            "To use Outlook, browser settings must allow scripts to run",
            "action=\"/owa/auth.owa\"",
            "name=\"password\"",
        ] {
            assert!(page.contains(marker), "missing {marker}");
        }
        assert!((3_000..8_000).contains(&page.len()), "a few KB: {}", page.len());

        let legacy = owa_logon(Some("14.3.123.3"), true, "mail.example.test");
        assert!(legacy.contains("<title>Outlook Web App</title>"));
        assert!(legacy.contains("/owa/14.3.123.3/themes/resources/favicon.ico"));
        assert!(!legacy.contains("/owa/auth/14."));

        let bare = owa_logon(None, false, "mail.example.test");
        assert!(!bare.contains("/owa/auth/15") && bare.contains("/owa/auth/Current/themes/"));
    }

    #[test]
    fn manifest_names_the_version_twice() {
        let xml = exporttool_manifest("15.2.858.5");
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
        assert!(xml.contains(
            "<assemblyIdentity name=\"microsoft.exchange.ediscovery.exporttool.application\" version=\"15.2.858.5\" \
             publicKeyToken=\"b03f5f7f11d50a3a\""
        ));
        assert!(xml.contains("name=\"microsoft.exchange.ediscovery.exporttool\" version=\"15.2.858.5\""));
    }
}
