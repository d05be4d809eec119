/*
 * seawall built-in rules: China Chopper and the other "one-liner" webshells that evaluate
 * request data, with the obfuscations seen on ASP.NET and classic ASP servers.
 * Written for seawall (Apache-2.0).
 */

rule SW_Chopper_Eval_Request
{
    meta:
        id = "SW-YARA-CHOPPER-1"
        severity = "critical"
        confidence = "high"
        description = "Code evaluation of request data (China Chopper style one-liner)"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
        reference2 = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
    strings:
        // JScript.NET / C# handlers: eval(Request.Item["x"], "unsafe"), eval(context.Request["x"])
        $js = /\beval\s*\(\s*([A-Za-z_]\w{0,40}\s*\.\s*){0,3}Request\b/ ascii wide
        // classic ASP: eval request("x"), execute(request("x")), ExecuteGlobal request(...)
        $vb = /\b(eval|execute|executeglobal)\s*[\( ]\s*request\s*\(/ nocase ascii wide
        // JScript.NET evaluator called directly from C#
        $vsa = /JScriptEvaluate\s*\(\s*([A-Za-z_]\w{0,40}\s*\.\s*){0,3}Request\b/ nocase ascii wide
    condition:
        any of them
}

rule SW_Chopper_JScript_Eval
{
    meta:
        id = "SW-YARA-CHOPPER-2"
        severity = "high"
        confidence = "high"
        description = "Server-side JScript page that evals request data, or evals with the \"unsafe\" (full trust) option: the China Chopper server and its obfuscated forms"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
    strings:
        // eval alone is how older JScript parses JSON; request data in its argument, or the
        // JScript .NET "unsafe" option, is what runs the visitor's code
        $eval = /\beval\s*\(/ nocase ascii wide
        $eval_request = /\beval\s*\([^;\n]{0,100}\bRequest\b/ nocase ascii wide
        $unsafe = /["']unsafe["']/ nocase ascii wide
    condition:
        filesize < 2MB and sw_jscript_server_code and ($eval_request or ($eval and $unsafe))
}

rule SW_Chopper_Unsafe_Eval_Obfuscated
{
    meta:
        id = "SW-YARA-CHOPPER-3"
        severity = "critical"
        confidence = "high"
        description = "JScript eval with the \"unsafe\" switch spelt out to hide it (escapes, concatenation, base64)"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
    strings:
        $hex_unsafe = /\\x75\\x6e\\x73\\x61|\\u0075\\u006e\\u0073/ nocase ascii wide
        $split_unsafe = /["']u["']\s*\+\s*["']n|["']uns["']\s*\+|["']un["']\s*\+\s*["']sa|\+\s*["']ns["']\s*\+/ nocase ascii wide
        $b64_request_item = "UmVxdWVzdC5JdGVtW" ascii wide
        $b64_eval_request = "ZXZhbChSZXF1ZXN0" ascii wide
        $eval = /\beval\s*\(/ nocase ascii wide
    condition:
        $eval and any of ($hex_unsafe, $split_unsafe, $b64_request_item, $b64_eval_request)
}

rule SW_Chopper_VsaEngine
{
    meta:
        id = "SW-YARA-CHOPPER-4"
        severity = "high"
        confidence = "high"
        description = "C# page running JScript through Microsoft.JScript's evaluator (Chopper server in C#)"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
    strings:
        $eval = "JScriptEvaluate" ascii wide
        $engine = /VsaEngine\s*\.\s*CreateEngine|Vsa\.VsaEngine/ ascii wide
    condition:
        sw_server_code and $eval and $engine
}

rule SW_ASP_Execute_Obfuscated
{
    meta:
        id = "SW-YARA-ASP-OBFUSCATED-1"
        severity = "high"
        confidence = "high"
        description = "Classic ASP executing decoded text: reversed, character-built or number-encoded code handed to Execute/Eval"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        // "tseuqer" is "request" reversed; "lave" and "etucexe" reversed eval and execute
        $reversed = /tseuqer|\blave\s*\(|\(\s*etucexe/ nocase ascii wide
        $exec_reverse = /\b(execute|executeglobal|eval)\s*[\( ]\s*StrReverse\s*\(/ nocase ascii wide
        // "e"&"v"&"a"&"l" : code built one character at a time
        $char_concat = /"[a-z(]"\s*&\s*"[a-z(]"\s*&\s*"[a-z(]"\s*&\s*"[a-z(]"\s*&\s*"[a-z(]"/ nocase ascii wide
        // Execute(DeAsc("%119%136..."))
        $exec_numeric = /\b(execute|executeglobal|eval)\s*[\( ]\s*\w{1,40}\s*\(\s*"[%0-9,;|\s]{30,}/ nocase ascii wide
        $exec_call = /\b(execute|executeglobal)\s*[\( ]\s*[A-Za-z_]\w{1,40}\s*\(/ nocase ascii wide
        $strreverse = "StrReverse" nocase ascii wide
        $any_exec = /\b(eval|execute|executeglobal)\b/ nocase ascii wide
    condition:
        ($reversed and ($strreverse or $exec_call)) or $exec_reverse or ($char_concat and $any_exec) or $exec_numeric
}

rule SW_ASP_ScriptControl_Eval
{
    meta:
        id = "SW-YARA-ASP-SCRIPTCONTROL-1"
        severity = "high"
        confidence = "high"
        description = "Page that runs code through the MSScriptControl COM object with request data"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $control = "ScriptControl" nocase ascii wide
        $run = /\.(ExecuteStatement|Eval|AddCode|Run)\b/ nocase ascii wide
        $request = "request" nocase ascii wide
    condition:
        $control and $run and $request
}

rule SW_Classic_ASP_Encoded
{
    meta:
        id = "SW-YARA-ASP-ENCODED-1"
        // low: commercial ASP applications shipped encoded; the decoded page is judged by
        // the other rules and the capability verdict (the normalising stage decodes it)
        severity = "low"
        confidence = "medium"
        description = "Server page hidden with the Windows Script Encoder (VBScript.Encode / JScript.Encode)"
        reference = "https://learn.microsoft.com/en-us/previous-versions/visualstudio/visual-studio-6.0/aa291852(v=vs.60)"
    strings:
        $start = /#@~\^[A-Za-z0-9+\/]{6}==/ ascii wide
        $end = /==\^#~@/ ascii wide
        $lang = /language\s*=\s*["']?(VBScript|JScript)\.Encode/ nocase ascii wide
    condition:
        ($start and $end and sw_server_code) or ($lang and $start)
}

rule SW_PHP_Eval_Request
{
    meta:
        id = "SW-YARA-PHP-EVAL-1"
        severity = "high"
        confidence = "high"
        description = "PHP code evaluating request data (found hidden in ASP pages and error pages)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $eval = /\b(eval|assert|create_function|system|passthru|shell_exec|popen|proc_open)\s*\(\s*[^;]{0,60}\$_(POST|GET|REQUEST|COOKIE|SERVER)\b/ nocase ascii wide
        $preg_e = /preg_replace\s*\(\s*["'][^"']{0,60}\/e[a-z]{0,4}["']\s*,\s*[^;]{0,60}\$_(POST|GET|REQUEST|COOKIE)/ nocase ascii wide
    condition:
        any of them
}
