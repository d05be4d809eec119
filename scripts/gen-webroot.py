#!/usr/bin/env python3
"""A web root of the shapes an Exchange server's disks carry, for scripts/bench-hunt: the
Exchange front end's OWA/ECP static files (scripts, style sheets, images, fonts, resources)
under a versioned folder, the ASP.NET client scripts under inetpub, compiled assemblies, and
an ordinary ASP.NET application (Web Forms pages, handlers, user controls, web.config).

Contents are synthetic (seeded, reproducible), sized like the real files: JavaScript and CSS
as text, images and assemblies with their real magic bytes and random bodies, pages with
directives, server controls and code-behind references. No webshell is written.

usage: scripts/gen-webroot.py OUT_DIR [--files N] [--seed S]
"""
import argparse
import os
import random

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--files", type=int, default=6000)
p.add_argument("--seed", type=int, default=7)
args = p.parse_args()
rnd = random.Random(args.seed)

V15 = os.path.join("Program Files", "Microsoft", "Exchange Server", "V15")
OWA = os.path.join(V15, "FrontEnd", "HttpProxy", "owa", "auth", "15.2.1544.4")
ECP = os.path.join(V15, "ClientAccess", "ecp", "15.2.1544.4")
APP = os.path.join("inetpub", "wwwroot", "intranet")
WORDS = ("mail folder item calendar contact task message view pane list grid button dialog "
         "reading compose attachment search people settings theme culture resource").split()


def ident():
    return rnd.choice(WORDS) + rnd.choice(WORDS).capitalize() + str(rnd.randrange(100))


def javascript(size):
    out = []
    while sum(map(len, out)) < size:
        name = ident()
        out.append(f"function {name}(a,b){{var c=a||{{}};if(b){{c.{rnd.choice(WORDS)}=b;}}"
                   f"return _g.{ident()}(c,\"{rnd.choice(WORDS)}\");}}\n")
    return "".join(out)


def css(size):
    out = []
    while sum(map(len, out)) < size:
        out.append(f".{ident()}{{margin:{rnd.randrange(20)}px;color:#{rnd.randrange(1 << 24):06x};}}\n")
    return "".join(out)


def binary(magic, size):
    return magic + rnd.randbytes(max(size - len(magic), 0))


def page(kind):
    control = ident()
    if kind == ".aspx":
        return (f'<%@ Page Language="C#" AutoEventWireup="true" CodeBehind="{control}.aspx.cs" '
                f'Inherits="Intranet.{control}" %>\n<!DOCTYPE html>\n<html><head runat="server"><title>{control}</title></head>\n'
                f'<body><form id="form1" runat="server">\n<asp:Label ID="lbl{control}" runat="server" />\n'
                f'<asp:GridView ID="grid" runat="server" AutoGenerateColumns="true" />\n'
                f'<%: DateTime.Now.ToShortDateString() %>\n</form></body></html>\n')
    if kind == ".ascx":
        return (f'<%@ Control Language="C#" AutoEventWireup="true" CodeBehind="{control}.ascx.cs" '
                f'Inherits="Intranet.Controls.{control}" %>\n<div class="{control}"><asp:Literal ID="text" runat="server" /></div>\n')
    if kind == ".ashx":
        return (f'<%@ WebHandler Language="C#" Class="Intranet.{control}" %>\nusing System.Web;\nnamespace Intranet {{\n'
                f'public class {control} : IHttpHandler {{\n public bool IsReusable {{ get {{ return true; }} }}\n'
                f' public void ProcessRequest(HttpContext context) {{\n  context.Response.ContentType = "application/json";\n'
                f'  context.Response.Write("{{\\"status\\":\\"ok\\"}}");\n }}\n}}\n}}\n')
    return (f'<?xml version="1.0"?>\n<configuration><system.web><compilation debug="false" targetFramework="4.8" />'
            f'<customErrors mode="RemoteOnly" /></system.web></configuration>\n')


def write(rel, data):
    path = os.path.join(args.out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# Shares of a real front end's files: mostly static assets, few pages.
SHAPES = [
    (0.30, lambda i: (os.path.join(OWA, "scripts", rnd.choice(["premium", "light", "microsoft.owa"]), f"{ident()}{i}.js"),
                      javascript(rnd.randrange(2_000, 120_000)))),
    (0.10, lambda i: (os.path.join(OWA, "themes", "resources", f"{ident()}{i}.css"), css(rnd.randrange(1_000, 40_000)))),
    (0.25, lambda i: (os.path.join(OWA, "themes", "resources", f"{ident()}{i}.png"),
                      binary(b"\x89PNG\r\n\x1a\n", rnd.randrange(200, 20_000)))),
    (0.10, lambda i: (os.path.join(ECP, "themes", "default", f"{ident()}{i}.gif"), binary(b"GIF89a", rnd.randrange(100, 5_000)))),
    (0.05, lambda i: (os.path.join(ECP, "fonts", f"{ident()}{i}.woff"), binary(b"wOFF", rnd.randrange(10_000, 60_000)))),
    (0.05, lambda i: (os.path.join(V15, "Bin", f"Microsoft.Exchange.{ident()}{i}.dll"),
                      binary(b"MZ\x90\x00", rnd.randrange(20_000, 400_000)))),
    (0.03, lambda i: (os.path.join("inetpub", "wwwroot", "aspnet_client", "system_web", "4_0_30319", f"{ident()}{i}.js"),
                      javascript(rnd.randrange(1_000, 20_000)))),
    (0.07, lambda i: (os.path.join(APP, rnd.choice(["", "admin", "reports"]), f"{ident()}{i}.aspx"), page(".aspx"))),
    (0.03, lambda i: (os.path.join(APP, "Controls", f"{ident()}{i}.ascx"), page(".ascx"))),
    (0.02, lambda i: (os.path.join(APP, "handlers", f"{ident()}{i}.ashx"), page(".ashx"))),
]

total = 0
for i in range(args.files):
    pick = rnd.random()
    for share, make in SHAPES:
        pick -= share
        if pick <= 0:
            break
    rel, data = make(i)
    write(rel, data)
    total += len(data)
write(os.path.join(APP, "web.config"), page(".config"))
print(f"{args.files + 1} files, {total / 1e6:.1f} MB under {args.out}")
