#!/usr/bin/env python3
"""A week of IIS logs from a busy, never-attacked Exchange server, and (with --attacks)
attack traffic per documented class, for the hunt's false-alarm and detection tests.

Usage: gen-busy-week.py DIR [--users N] [--days D] [--seed S] [--attacks]

Clean traffic, written from how the clients behave (not from any one server's logs):
- Outlook over MAPI/HTTP and Autodiscover with Negotiate/NTLM: every request starts with
  the anonymous leg (401 sub-status 2, user "-"), then the NTLM negotiate leg (401.1, win32
  2148074254, user "-"), then the authenticated 200 (Microsoft: IIS status codes; MS-NLMP).
- EWS clients (Mac Outlook, ExchangeServicesClient), ActiveSync devices (Basic: 401.2 then
  200 with the user), one device that keeps its old password after a password change
  (401.1 win32 1326 with the user every few minutes, from the office NAT beside the user's
  working Outlook part of the day).
- OWA users who mistype once (POST /owa/auth.owa, 302, GET logon.aspx?...reason=2, then a
  successful logon).
- Load-balancer health checks (GET */healthcheck.htm), Exchange's own managed-availability
  probes (HealthMailbox accounts, AMProbe user agents, from the server itself).
- Internet scanners and vulnerability scanners (zgrab, masscan, nuclei, Nmap NSE) probing
  ProxyLogon/ProxyShell/ProxyNotShell paths and webshell names, answered 400/401/403/404 by a
  patched server.
- The front end's HttpProxy logs of the authenticated requests (ServerInfo~ anchors for
  managed availability's probes, always with a user).
- Admin activity: ECP and remote PowerShell (clientApplication=ManagementShell,
  "Microsoft WinRM Client").

With --attacks, DIR/attacks/<class>/ gets one log per attack class and DIR/attacks/expected.tsv
lists, per class, the rule id and outcome a correct hunt reports. The attack lines follow the
request shapes of the advisories cited in data/detections/*.toml (different addresses, names
and variants than the test fixtures).
"""
import argparse
import os
import random
import uuid

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--users", type=int, default=500)
p.add_argument("--days", type=int, default=7)
p.add_argument("--seed", type=int, default=11)
p.add_argument("--attacks", action="store_true")
args = p.parse_args()
rnd = random.Random(args.seed)

FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
          "cs(Referer) sc-status sc-substatus sc-win32-status time-taken")
SERVER = "10.0.0.5"
DOMAIN = "example.org"
OUTLOOK = "Microsoft+Office/16.0+(Windows+NT+10.0;+Microsoft+Outlook+16.0.17328;+Pro)"
MAC_OUTLOOK = "MacOutlook/16.83.24031120+(Intelx64+Mac+OS+X+14.4.1+(Build+23E224))"
EWS_APP = "ExchangeServicesClient/15.00.0913.015"
BROWSER = "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/124.0.0.0+Safari/537.36"
PHONES = ["Apple-iPhone15C2/2104.63", "Outlook-iOS/2.0", "Android-SAMSUNG-SM-S918B/101.10000"]
WINRM = "Microsoft+WinRM+Client"
PROBE_AGENTS = ["AMProbe/Local/ClientAccess", "ACTIVEMONITORING", "Exchange+BackEnd+Probes"]
SCANNERS = ["Mozilla/5.0+zgrab/0.x", "masscan/1.3+(https://github.com/robertdavidgraham/masscan)",
            "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/120.0.0.0+Safari/537.36+Nuclei",
            "Mozilla/5.0+(compatible;+Nmap+Scripting+Engine;+https://nmap.org/book/nse.html)",
            "Expanse,+a+Palo+Alto+Networks+company,+searches+across+the+global+IPv4+space+multiple+times+per+day"]
# Probes answered by a patched server: (method, stem, query, status, substatus, win32).
PROBES = [
    ("GET", "/", "-", 200, 0, 0),
    ("GET", "/owa/auth/logon.aspx", "replaceCurrent=1&url=https%3a%2f%2fmail%2fowa%2f", 200, 0, 0),
    ("GET", "/owa/auth/x.js", "-", 404, 0, 2),
    ("POST", "/ecp/y.js", "-", 404, 0, 2),
    ("GET", "/ecp/default.flt", "-", 404, 0, 2),
    ("GET", "/autodiscover/autodiscover.json", "@test.com/owa/?&Email=autodiscover/autodiscover.json%3F@test.com", 400, 0, 0),
    ("GET", "/autodiscover/autodiscover.json", "@test.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@test.com", 400, 0, 0),
    ("GET", "/autodiscover/autodiscover.json", "a@foo.var/owa/?&Email=autodiscover/autodiscover.json?a@foo.var&Protocol=XYZ&FooProtocol=Powershell", 401, 0, 0),
    ("GET", "/aspnet_client/system_web/shell.aspx", "-", 404, 0, 2),
    ("GET", "/aspnet_client/discover.aspx", "-", 404, 0, 2),
    ("GET", "/owa/auth/errorEE.aspx", "-", 404, 0, 2),
    ("GET", "/.env", "-", 404, 0, 2),
    ("GET", "/wp-login.php", "-", 404, 0, 2),
    ("GET", "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", "-", 404, 0, 2),
]

users = ["user%03d" % i for i in range(args.users)]
admins = users[:max(1, args.users // 100)]
office_nat = ["198.51.100.%d" % i for i in range(20, 24)]
desks = {u: "10.%d.%d.%d" % (1 + i // 60000, i // 250 % 240, 1 + i % 250) for i, u in enumerate(users)}
mailbox = {u: str(uuid.UUID(int=rnd.getrandbits(128))) for u in users}
phone_ip = {u: "100.%d.%d.%d" % (64 + rnd.randint(0, 60), rnd.randint(0, 255), rnd.randint(1, 254)) for u in users}
phone_ua = {u: rnd.choice(PHONES) for u in users}
ews_users = set(rnd.sample(users, max(1, args.users // 8)))
stale_user = users[-1]
stale_from_day = min(2, args.days - 1)


def line(t, method, stem, query, user, ip, agent, status, sub=0, win32=0):
    day, rest = divmod(int(t), 86400)
    return (day, "2024-05-%02d %02d:%02d:%02d %s %s %s %s 443 %s %s %s - %d %d %d %d\n" % (
        6 + day, rest // 3600, rest // 60 % 60, rest % 60, SERVER, method, stem, query or "-", user or "-",
        ip, agent, status, sub, win32, rnd.randint(1, 400)))


def negotiate(t, method, stem, query, user, ip, agent, ok=200):
    """Anonymous leg, NTLM negotiate leg, authenticated request."""
    return [line(t, method, stem, query, None, ip, agent, 401, 2, 5),
            line(t, method, stem, query, None, ip, agent, 401, 1, 2148074254),
            line(t + 0.2, method, stem, query, "%s@%s" % (user, DOMAIN), ip, agent, ok)]


def workday(day):
    return (day + 0) % 7 not in (5, 6)  # 2024-05-06 is a Monday


out = []
for day in range(args.days):
    base = day * 86400
    for u in users:
        ip = desks[u] if rnd.random() < 0.8 else rnd.choice(office_nat)
        if workday(day) or rnd.random() < 0.15:
            start = base + rnd.randint(7 * 3600, 9 * 3600)
            end = start + rnd.randint(7 * 3600, 10 * 3600)
            out += negotiate(start, "POST", "/autodiscover/autodiscover.xml", None, u, ip, OUTLOOK)
            t = start
            while t < end:
                q = "MailboxId=%s@%s&CorrelationID=<empty>;&cafeReqId=%s;" % (mailbox[u], DOMAIN, uuid.UUID(int=rnd.getrandbits(128)))
                out += negotiate(t, "POST", "/mapi/emsmdb/", q, u, ip, OUTLOOK)
                if rnd.random() < 0.1:
                    out += negotiate(t + 1, "POST", "/mapi/nspi/", q, u, ip, OUTLOOK)
                if u in ews_users:
                    agent = MAC_OUTLOOK if hash(u) % 2 else EWS_APP
                    out += negotiate(t + 2, "POST", "/EWS/Exchange.asmx", None, u, ip, agent)
                t += rnd.randint(120, 600)
            # OWA in a browser, one user in twenty mistyping once.
            if rnd.random() < 0.3:
                t = start + rnd.randint(600, 3 * 3600)
                who = "%s@%s" % (u, DOMAIN)
                if rnd.random() < 0.05:
                    out.append(line(t, "POST", "/owa/auth.owa", None, who, ip, BROWSER, 302))
                    out.append(line(t + 1, "GET", "/owa/auth/logon.aspx", "url=https%3a%2f%2fmail.example.org%2fowa%2f&reason=2", None, ip, BROWSER, 200))
                    t += 15
                out.append(line(t, "POST", "/owa/auth.owa", None, who, ip, BROWSER, 302))
                if rnd.random() < 0.1:
                    out.append(line(t + 900, "GET", "/owa/auth/logoff.aspx", "Cmd=logoff&src=exch", who, ip, BROWSER, 200))
                for k in range(rnd.randint(3, 30)):
                    out.append(line(t + 2 + k * 40, "POST", "/owa/service.svc", "action=GetItem&EP=1&ID=-%d&AC=1" % k, who, ip, BROWSER, 200))
        # ActiveSync around the clock.
        stale = u == stale_user and day >= stale_from_day
        t = base + rnd.randint(0, 900)
        while t < base + 86400:
            query = "Cmd=Ping&User=%s%%40%s&DeviceId=%s&DeviceType=%s" % (u, DOMAIN, mailbox[u][:12].upper(), "iPhone")
            pip = phone_ip[u] if not (stale and (t - base) // 3600 in range(8, 17)) else office_nat[0]
            if stale:
                out.append(line(t, "POST", "/Microsoft-Server-ActiveSync/default.eas", query, u + "@" + DOMAIN, pip, phone_ua[u], 401, 1, 1326))
                t += rnd.randint(240, 600)
            else:
                out.append(line(t, "POST", "/Microsoft-Server-ActiveSync/default.eas", query, None, pip, phone_ua[u], 401, 2, 5))
                out.append(line(t + 0.1, "POST", "/Microsoft-Server-ActiveSync/default.eas", query, u + "@" + DOMAIN, pip, phone_ua[u], 200))
                t += rnd.randint(900, 1800)
    if stale_from_day <= day:
        # The stale user's Outlook on the office NAT during the day.
        for k in range(8 * 6):
            out += negotiate(base + 8 * 3600 + k * 600, "POST", "/mapi/emsmdb/", "MailboxId=%s@%s" % (mailbox[stale_user], DOMAIN), stale_user, office_nat[0], OUTLOOK)
    # Load balancers, every minute, each virtual directory.
    for lb in ("10.0.0.2", "10.0.0.3"):
        for minute in range(0, 1440):
            stem = ["/owa/healthcheck.htm", "/ews/healthcheck.htm", "/mapi/healthcheck.htm", "/Microsoft-Server-ActiveSync/healthcheck.htm", "/autodiscover/healthcheck.htm"][minute % 5]
            out.append(line(base + minute * 60 + (lb == "10.0.0.3") * 7, "GET", stem, None, None, lb, "-", 200))
    # Managed availability: HealthMailbox probes from the server itself.
    for k in range(0, 86400, 300):
        hm = "HealthMailbox%s@%s" % (uuid.UUID(int=rnd.getrandbits(128)).hex[:32], DOMAIN)
        agent = PROBE_AGENTS[k // 300 % len(PROBE_AGENTS)]
        stem = ["/owa/", "/EWS/Exchange.asmx", "/mapi/emsmdb/", "/Microsoft-Server-ActiveSync/default.eas", "/ecp/"][k // 300 % 5]
        out += negotiate(base + k, "GET" if stem in ("/owa/", "/ecp/") else "POST", stem, None, hm.split("@")[0], "127.0.0.1", agent)
    # Internet and vulnerability scanners against a patched server.
    for k in range(rnd.randint(200, 400)):
        ip = "%d.%d.%d.%d" % (rnd.choice([45, 80, 91, 147, 162, 167, 185, 194]), rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(1, 254))
        agent = rnd.choice(SCANNERS)
        t = base + rnd.randint(0, 86000)
        for method, stem, query, status, sub, win32 in rnd.sample(PROBES, rnd.randint(1, 5)):
            out.append(line(t, method, stem, query, None, ip, agent, status, sub, win32))
            t += rnd.randint(0, 3)
    # Admins: ECP and remote PowerShell.
    if workday(day):
        for a in admins:
            t = base + rnd.randint(9 * 3600, 16 * 3600)
            out += negotiate(t, "GET", "/ecp/", None, a, desks[a], BROWSER)
            for k in range(rnd.randint(2, 12)):
                out += negotiate(t + 10 + k * 30, "POST", "/ecp/DDI/DDIService.svc/GetList", "schema=MailboxService&msExchEcpCanary=%s" % uuid.UUID(int=rnd.getrandbits(128)).hex, a, desks[a], BROWSER)
            # The ECP session times out: Exchange's own page in ecp/auth answers.
            out.append(line(t + 3600, "GET", "/ecp/auth/TimeoutLogout.aspx", "url=https%3a%2f%2fmail.example.org%2fecp%2f", None, desks[a], BROWSER, 200))
            q = "serializationLevel=Full;ExchClientVer=15.2.1544.4;clientApplication=ManagementShell;TargetServer=;PSVersion=5.1.19041.4291"
            for k in range(rnd.randint(3, 20)):
                out += negotiate(t + 600 + k * 5, "POST", "/powershell", q, a, desks[a], WINRM)

out.sort(key=lambda x: x[1][:19])
folder = os.path.join(args.out, "clean", "inetpub", "logs", "LogFiles", "W3SVC1")
os.makedirs(folder, exist_ok=True)
for day in range(args.days):
    with open(os.path.join(folder, "u_ex2405%02d.log" % (6 + day)), "w") as f:
        f.write("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2024-05-%02d 00:00:00\n#Fields: %s\n" % (6 + day, FIELDS))
        f.writelines(l for d, l in out if d == day)
# The same authenticated requests as the front end's HttpProxy logs record them (one log per
# protocol and day): AnchorMailbox SMTP:/MailboxGuid~ for users, ServerInfo~<server>/ for
# managed availability's probes, which always carry an authenticated user.
HP_FIELDS = ("DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,"
             "UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,"
             "UserAgent,ClientIpAddress,ServerHostName,FrontEndIpAddress,HttpStatus,BackEndStatus,ErrorCode,Method")
PROTOCOLS = {"/mapi/": "Mapi", "/ews/": "Ews", "/microsoft-server-activesync": "Eas", "/owa/": "Owa", "/ecp/": "Ecp", "/autodiscover/": "Autodiscover"}
proxy = {}
for day, text in out:
    f = text.split(" ")
    status, user, stem = f[11], f[7], f[4].lower()
    if user == "-" or not status.startswith("2"):
        continue
    protocol = next((p for prefix, p in PROTOCOLS.items() if stem.startswith(prefix)), None)
    if protocol is None or rnd.random() > 0.3:
        continue
    name = user.split("@")[0]
    anchor = ("ServerInfo~EX01.corp.example.org%s" % stem) if name.startswith("HealthMailbox") else \
        ("MailboxGuid~%s@%s" % (mailbox[name], DOMAIN) if name in mailbox and protocol == "Mapi" else "SMTP:%s" % user)
    proxy.setdefault((protocol, day), []).append(
        "%sT%s.%03dZ,%s,15,2,1544,11,,%s,mail.example.org,%s,,Negotiate,True,CORP\\%s,,%s,%s,%s,EX01,%s,%s,%s,,%s\n" % (
            f[0], f[1], rnd.randint(0, 999), uuid.UUID(int=rnd.getrandbits(128)), protocol, f[4], name, anchor,
            f[9].replace("+", " "), f[8], SERVER, status, status, f[3]))
for (protocol, day), lines in proxy.items():
    folder = os.path.join(args.out, "clean", "Exchange Server", "V15", "Logging", "HttpProxy", protocol)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "HttpProxy_2024%02d%02d00-1.LOG" % (5, 6 + day)), "w") as f:
        f.write("#Software: Microsoft Exchange Server\n#Version: 15.02.1544.011\n#Log-type: HttpProxy Logs\n"
                "#Date: 2024-05-%02dT00:00:00.000Z\n#Fields: %s\n" % (6 + day, HP_FIELDS))
        f.writelines(lines)
print("clean: %d users, %d days, %d IIS lines, %d HttpProxy lines" % (
    args.users, args.days, len(out), sum(len(v) for v in proxy.values())))

if args.attacks:
    # One folder per attack class; request shapes from the advisories cited in the rules.
    attacks = {}
    A = lambda t, m, s, q, u, ip, ua, st, sub=0, w=0: line(t, m, s, q, u, ip, ua, st, sub, w)[1]
    t0 = 3 * 86400 + 2 * 3600
    ip = "45.77.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    attacks["proxyshell-success"] = ([
        A(t0, "GET", "/autodiscover/autodiscover.json", "@x.org/autodiscover/autodiscover.xml?&Email=autodiscover/autodiscover.json%3f@x.org", None, ip, "python-requests/2.31.0", 302),
        A(t0 + 5, "POST", "/autodiscover/autodiscover.json", "@x.org/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@x.org", None, ip, "python-requests/2.31.0", 200),
        A(t0 + 9, "POST", "/autodiscover/autodiscover.json", "@x.org/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3f@x.org", None, ip, "python-requests/2.31.0", 200),
    ], [("SW-LOG-PROXYSHELL", "success")])
    ip = "5.181.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    attacks["proxyshell-attempt"] = ([
        A(t0, "GET", "/autodiscover/autodiscover.json", "@zdi.local/EWS/exchange.asmx?&Email=autodiscover/autodiscover.json%3f@zdi.local", None, ip, "Mozilla/5.0", 400),
    ], [("SW-LOG-PROXYSHELL", "attempt")])
    ip = "137.184.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    attacks["proxynotshell-success"] = ([
        A(t0, "POST", "/autodiscover/autodiscover.json", "@evil.org/powershell/?&Email=autodiscover/autodiscover.json%3f@evil.org&Protocol=PowerShell", "user042@" + DOMAIN, ip, "python-requests/2.28.1", 200),
    ], [("SW-LOG-PROXYNOTSHELL", "success")])
    attacks["proxynotshell-check"] = ([
        A(t0, "GET", "/autodiscover/autodiscover.json", "@evil.com/owa/&Email=autodiscover/autodiscover.json%3f@evil.com&Protocol=XYZ&FooProtocol=Powershell", None, "58.237.%d.6" % rnd.randint(0, 255), "Mozilla/5.0+zgrab/0.x", 302),
    ], [("SW-LOG-PROXYNOTSHELL-CHECK", "attempt")])
    ip = "104.248.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    attacks["owassrf"] = ([
        A(t0, "POST", "/owa/mastermailbox%40outlook.com/powershell", "-", "user007@" + DOMAIN, ip, "python-requests/2.28.1", 200),
    ], [("SW-LOG-OWASSRF", "success")])
    attacks["proxytoken"] = ([
        A(t0, "POST", "/ecp/user007@example.org/RulesEditor/InboxRules.svc/NewObject", "msExchEcpCanary=x&SecurityToken=1", None, "194.165.16.%d" % rnd.randint(1, 254), "python-requests/2.26.0", 500),
    ], [("SW-LOG-PROXYTOKEN", "success")])
    attacks["proxylogon-post"] = ([
        A(t0, "POST", "/ecp/abc.js", "-", None, "165.232.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254)), "ExchangeServicesClient/0.0.0.0", 200),
    ], [("SW-LOG-PROXYLOGON-IIS-POST", "success")])
    ip = "89.44.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    attacks["webshell-exists"] = ([
        A(t0, "GET", "/aspnet_client/system_web/4_0_30319/errorpage.aspx", "-", None, ip, "curl/8.4.0", 200),
    ], [("SW-LOG-WEBSHELL-EXISTS", "")])
    attacks["webshell-use"] = ([
        A(t0, "POST", "/owa/auth/OutlookEN.aspx", "-", None, ip, "Mozilla/5.0", 200),
    ], [("SW-LOG-WEBSHELL-POST", "success")])
    ip = "185.220.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    spray = []
    for k, u in enumerate(rnd.sample(users, min(len(users), 25))):
        spray.append(A(t0 + k * 7, "POST", "/EWS/Exchange.asmx", None, u + "@" + DOMAIN, ip, "fasthttp", 401, 1, 1326))
    victim = users[3]
    spray.append(A(t0 + 200, "POST", "/EWS/Exchange.asmx", None, victim + "@" + DOMAIN, ip, "fasthttp", 401, 1, 1326))
    spray.append(A(t0 + 230, "POST", "/EWS/Exchange.asmx", None, victim + "@" + DOMAIN, ip, "fasthttp", 200))
    attacks["password-spray"] = (spray, [("SW-LOG-PASSWORD-SPRAY", "success"), ("SW-LOG-SUCCESS-AFTER-FAILURES", "success")])
    ip = "193.35.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    attacks["brute-force"] = ([
        A(t0 + k * 5, "POST", "/Microsoft-Server-ActiveSync/default.eas", "Cmd=Sync&User=administrator&DeviceId=X&DeviceType=Android", "administrator", ip, "python-requests/2.31.0", 401, 1, 1326)
        for k in range(60)
    ], [("SW-LOG-BRUTE-FORCE", "attempt")])
    # ProxyLogon's SSRF as the front end logs it: an unauthenticated request routed by a
    # ServerInfo~ anchor (X-BEResource cookie) to the backend's ECP (HAFNIUM blog, Test-ProxyLogon).
    ip = "149.28.%d.%d" % (rnd.randint(0, 255), rnd.randint(1, 254))
    ssrf = ["%s,%s,15,2,1544,11,,Ecp,mail.example.org,/ecp/%s.js,,,False,,,ServerInfo~EX01.corp.example.org:444/ecp/DDI/DDIService.svc/GetList?schema=VirtualDirectory&msExchEcpCanary=x#,python-requests/2.25.1,%s,EX01,%s,%s,%s,,POST\n" % (
        "2024-05-09T02:00:%02d.000Z" % k, uuid.UUID(int=rnd.getrandbits(128)), "xyz"[k % 3], ip, SERVER, status, status)
        for k, status in enumerate(["200", "241"])]
    proxylogon_folder = os.path.join(args.out, "attacks", "proxylogon-ssrf")
    os.makedirs(proxylogon_folder, exist_ok=True)
    with open(os.path.join(proxylogon_folder, "HttpProxy_2024050902-1.LOG"), "w") as f:
        f.write("#Software: Microsoft Exchange Server\n#Version: 15.02.1544.011\n#Log-type: HttpProxy Logs\n"
                "#Date: 2024-05-09T02:00:00.000Z\n#Fields: %s\n" % HP_FIELDS)
        f.writelines(ssrf)
    with open(os.path.join(args.out, "expected.tsv"), "w") as manifest:
        manifest.write("proxylogon-ssrf\tSW-LOG-PROXYLOGON-26855\tsuccess\n")
        for name, (lines, expected) in attacks.items():
            folder = os.path.join(args.out, "attacks", name)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "u_ex240509.log"), "w") as f:
                f.write("#Software: Microsoft Internet Information Services 10.0\n#Fields: %s\n" % FIELDS)
                f.writelines(lines)
            for rule, outcome in expected:
                manifest.write("%s\t%s\t%s\n" % (name, rule, outcome))
    print("attacks: %d classes" % (len(attacks) + 1))
