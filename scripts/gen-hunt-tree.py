#!/usr/bin/env python3
"""Write a synthetic Exchange evidence tree for the hunt benchmark: IIS W3C logs and
HttpProxy logs of realistic benign traffic, with a few attacks mixed in.
Usage: gen-hunt-tree.py DIR SIZE_MB"""
import os
import random
import sys

out, size_mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
IIS_HDR = ("#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n#Date: 2024-05-01 00:00:00\r\n"
           "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) "
           "sc-status sc-substatus sc-win32-status time-taken\r\n")
HP_HDR = ("#Software: Microsoft Exchange Server\r\n#Version: 15.02.1544.011\r\n#Log-type: HttpProxy Logs\r\n#Date: 2024-05-01T00:00:00.000Z\r\n"
          "#Fields: DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,"
          "ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,"
          "ServerHostName,FrontEndIpAddress,HttpStatus,BackEndStatus,ErrorCode,Method\r\n")
BENIGN = [
    ("POST", "/mapi/emsmdb/", "MailboxId=9f2c1e7a-1b2c-4d5e-8f90-a1b2c3d4e5f6@example.org&CorrelationID=<empty>;&cafeReqId=3c9e0a4b-5d6f-4a7b-8c9d-0e1f2a3b4c5d;", "Microsoft+Office/16.0+(Windows+NT+10.0;+Microsoft+Outlook+16.0.17328;+Pro)", "200"),
    ("POST", "/EWS/Exchange.asmx", "&CorrelationID=<empty>;&cafeReqId=12d62000-56b5-0000-a9f7-a9e934ecb2d5;", "ExchangeServicesClient/15.20.7452.28", "200"),
    ("POST", "/Microsoft-Server-ActiveSync/default.eas", "Cmd=Sync&User=alice%40example.org&DeviceId=ABC123&DeviceType=iPhone", "Apple-iPhone15C2/2104.63", "200"),
    ("GET", "/owa/", "-", "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/124.0.0.0+Safari/537.36", "200"),
    ("POST", "/autodiscover/autodiscover.xml", "&CorrelationID=<empty>;", "Microsoft+Office/16.0+(Windows+NT+10.0;+Microsoft+Outlook+16.0.17328;+Pro)", "200"),
    ("GET", "/owa/service.svc", "action=GetAccessTokenforResource&UA=0&app=Mail", "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36", "200"),
    ("POST", "/rpc/rpcproxy.dll", "ex01.example.org:6001", "MSRPC", "200"),
]
ATTACKS = [
    ("GET", "/autodiscover/autodiscover.json", "@evil.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3f@evil.com", "python-requests/2.26.0", "200"),
    ("POST", "/ecp/y.js", "-", "python-requests/2.25.1", "200"),
    ("POST", "/aspnet_client/system_web/log.aspx", "-", "antSword/v2.1", "200"),
]
users = [f"user{i:03d}@example.org" for i in range(300)]


def iis_line(t, attack):
    m, stem, q, ua, st = rnd.choice(ATTACKS) if attack else rnd.choice(BENIGN)
    user = "-" if attack else rnd.choice(users)
    ip = "203.0.113.%d" % rnd.randint(1, 254) if attack else "10.%d.%d.%d" % (rnd.randint(0, 3), rnd.randint(0, 255), rnd.randint(1, 254))
    return "2024-05-01 %02d:%02d:%02d 10.0.0.5 %s %s %s 443 %s %s %s - %s 0 0 %d\r\n" % (
        t // 3600 % 24, t // 60 % 60, t % 60, m, stem, q, user, ip, ua, st, rnd.randint(1, 900))


def hp_line(t, attack):
    anchor = "ServerInfo~a]@ex01.corp.local:444/ecp/proxyLogon.ecp?#" if attack else "SMTP:" + rnd.choice(users)
    user = "" if attack else "CORP\\" + rnd.choice(users).split("@")[0]
    return ("2024-05-01T%02d:%02d:%02d.%03dZ,%08x-1b2c-4d5e-8f90-a1b2c3d4e5f6,15,2,1544,11,,Mapi,mail.example.org,/mapi/emsmdb/,,Negotiate,true,%s,,%s,"
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro),10.1.2.3,EX01,10.0.0.5,200,200,,POST\r\n") % (
        t // 3600 % 24, t // 60 % 60, t % 60, rnd.randint(0, 999), rnd.getrandbits(32), user, anchor)


target = size_mb * 1024 * 1024
written = 0
files = 0
while written < target:
    iis = files % 3 != 2
    folder = os.path.join(out, "inetpub/logs/LogFiles/W3SVC1" if iis else "Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/Mapi")
    os.makedirs(folder, exist_ok=True)
    name = "u_ex2405%02d%02d.log" % (1 + files // 24 % 28, files % 24) if iis else "HttpProxy_2024050100-%d.LOG" % files
    chunk = []
    size = 0
    t = 0
    while size < 64 * 1024 * 1024 and written + size < target:
        attack = rnd.random() < 0.00002
        line = iis_line(t, attack) if iis else hp_line(t, attack)
        chunk.append(line)
        size += len(line)
        t += 1
    with open(os.path.join(folder, name), "w") as f:
        f.write(IIS_HDR if iis else HP_HDR)
        f.write("".join(chunk))
    written += size
    files += 1
print("%d files, %d MB" % (files, written // (1024 * 1024)))
