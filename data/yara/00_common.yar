/*
 * seawall built-in rules: shared private rules.
 *
 * Written for seawall (Apache-2.0). All built-in rule files load into one namespace, so the
 * private rules here can be used by every other file. A private rule never makes a finding.
 */

private rule sw_server_code
{
    meta:
        description = "Server-side page code IIS runs: ASP.NET directives, server script blocks, classic ASP delimiters, XSLT script"
    strings:
        $directive = /<\s*%\s*@\s*(Page|WebHandler|WebService|Control|Master|Application|Import|Assembly)\b/ nocase ascii wide
        $script_tag = /<script[^>]{0,160}runat\s*=\s*[^A-Za-z>]{0,3}server/ nocase ascii wide
        $asp_block = "<%" ascii wide
        $xslt_script = "msxsl:script" nocase ascii wide
        $handler_using = /\bIHttpHandler\b/ ascii wide
    condition:
        any of them
}

private rule sw_jscript_server_code
{
    meta:
        description = "Server-side JScript (JScript.NET page, classic ASP JScript block, XSLT msxsl:script)"
    strings:
        $page = /<\s*%\s*@\s*(Page|WebHandler|WebService|Control)\b[^>]{0,160}Language\s*=\s*[^A-Za-z>]{0,4}J(ava)?S(cript)?\b/ nocase ascii wide
        $tag1 = /<script[^>]{0,160}runat\s*=\s*[^A-Za-z>]{0,3}server[^>]{0,160}language\s*=\s*[^A-Za-z>]{0,3}J(ava)?S(cript)?\b/ nocase ascii wide
        $tag2 = /<script[^>]{0,160}language\s*=\s*[^A-Za-z>]{0,3}J(ava)?S(cript)?\b[^>]{0,160}runat\s*=\s*[^A-Za-z>]{0,3}server/ nocase ascii wide
        $xslt = /msxsl:script[^>]{0,80}language\s*=\s*["']?J(ava)?S(cript)?\b/ nocase ascii wide
    condition:
        any of them
}

private rule sw_request_input
{
    meta:
        description = "Reads attacker-controlled request data"
    strings:
        $req = /\bRequest\s*(\.\s*(Form|QueryString|Item|Params|Headers|Cookies|ServerVariables))?\s*[\[\(]/ nocase ascii wide
        $req_get = /\bRequest\s*\.\s*(Form|QueryString|Headers|Params)\s*\.\s*Get\s*\(/ nocase ascii wide
        $body = /\b(BinaryRead|InputStream)\b/ ascii wide
    condition:
        any of them
}
