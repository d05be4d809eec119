/*
 * seawall built-in rules: webshells of Exchange intrusions (ProxyLogon, ProxyShell) and the
 * tools found with them. Written for seawall (Apache-2.0).
 */

import "math"

rule SW_ProxyShell_Mailbox_Export_Webshell
{
    meta:
        id = "SW-YARA-PROXYSHELL-PST-1"
        severity = "critical"
        confidence = "high"
        description = "Mailbox exported as PST into a web folder with a server script block inside (ProxyShell New-MailboxExportRequest webshell)"
        reference = "https://www.zerodayinitiative.com/blog/2021/8/17/from-pwn2own-2021-a-new-attack-surface-on-microsoft-exchange-proxyshell"
        reference2 = "https://blog.orange.tw/posts/2021-08-proxyshell-a-new-attack-surface-on-ms-exchange-part-3/"
    strings:
        $script = /<script[^>]{0,160}runat\s*=\s*[^A-Za-z>]{0,3}server/ nocase ascii wide
        $asp = /<%\s*(@|=|eval|execute|if|var|response)/ nocase ascii wide
    condition:
        uint32(0) == 0x4E444221 and ($script or $asp)
}

rule SW_ProxyShell_Binary_Page
{
    meta:
        id = "SW-YARA-PROXYSHELL-PST-2"
        severity = "high"
        confidence = "medium"
        description = "Page that is mostly binary (NUL-laden mail-store data) around a server script block: an exported mailbox item used as a webshell"
        reference = "https://www.zerodayinitiative.com/blog/2021/8/17/from-pwn2own-2021-a-new-attack-surface-on-microsoft-exchange-proxyshell"
    strings:
        $script = /<script[^>]{0,160}runat\s*=\s*[^A-Za-z>]{0,3}server[^>]{0,80}>/ nocase ascii
    condition:
        $script and extension matches /^\.(aspx|ashx|asmx|asp)$/i and
        not (uint16(0) == 0xFEFF or uint16(0) == 0xFFFE) and
        math.count(0x00, 0, filesize) > filesize \ 8
}

rule SW_HAFNIUM_SecChecker
{
    meta:
        id = "SW-YARA-SECCHECKER-1"
        severity = "high"
        confidence = "medium"
        description = "Page that reports which endpoint security products are installed (SecChecker, seen with HAFNIUM's Exchange intrusions)"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
        actor = "HAFNIUM"
    strings:
        $exists = /File\s*\.\s*Exists\s*\(|FileExists\s*\(/ nocase ascii wide
        $edr1 = "xagt.exe" nocase ascii wide
        $edr2 = "csfalconservice.exe" nocase ascii wide
        $edr3 = "cb.exe" nocase ascii wide
        $edr4 = "SentinelAgent.exe" nocase ascii wide
        $edr5 = "CylanceSvc.exe" nocase ascii wide
        $edr6 = "MsSense.exe" nocase ascii wide
        $edr7 = "ekrn.exe" nocase ascii wide
        $edr8 = "RepMgr.exe" nocase ascii wide
        $edr9 = "elastic-endpoint.exe" nocase ascii wide
    condition:
        sw_server_code and $exists and 2 of ($edr*)
}

rule SW_Exchange_Page_Writes_Request
{
    meta:
        id = "SW-YARA-WRITER-1"
        severity = "high"
        confidence = "high"
        description = "Page writes a file whose path or content comes straight from the request (uploader / dropper webshell)"
        reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
    strings:
        $saveas = /\.SaveAs\s*\(\s*(Server\s*\.\s*MapPath\s*\(\s*)?(Path\s*\.\s*Combine\s*\(\s*)?([A-Za-z_]\w*\s*\.\s*){0,2}Request\b/ nocase ascii wide
        $writer = /new\s+(System\s*\.\s*IO\s*\.\s*)?(StreamWriter|FileStream)\s*\(\s*(Server\s*\.\s*MapPath\s*\(\s*)?([A-Za-z_]\w*\s*\.\s*){0,2}Request\b/ nocase ascii wide
        $file = /File\s*\.\s*(WriteAllText|WriteAllBytes|AppendAllText|Create|CreateText|OpenWrite)\s*\(\s*(Server\s*\.\s*MapPath\s*\(\s*)?([A-Za-z_]\w*\s*\.\s*){0,2}Request\b/ nocase ascii wide
        $write_form = /\.Write\s*\(\s*([A-Za-z_]\w*\s*\.\s*){0,2}Request\s*\.\s*(Form|Item|QueryString)\s*[\[\(]/ nocase ascii wide
        $uploaded = /Request\s*\.\s*Files\s*[\[\(]\s*0\s*[\]\)]\s*\.\s*SaveAs/ nocase ascii wide
        $mappath_request = /MapPath\s*\(\s*([A-Za-z_]\w*\s*\.\s*){0,2}Request\b/ nocase ascii wide
    condition:
        sw_server_code and ($saveas or $writer or $file or ($uploaded and $mappath_request) or ($write_form and ($writer or $file or $mappath_request)))
}

rule SW_Textbox_File_Writer
{
    meta:
        id = "SW-YARA-WRITER-2"
        severity = "medium"
        confidence = "medium"
        description = "Page writes a file at a path typed into a form field, with content typed into another (file-writer webshell)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $path_from_field = /(FileInfo|StreamWriter|File\s*\.\s*(WriteAllText|CreateText|Create|AppendAllText|OpenWrite))\s*\(\s*[A-Za-z_]\w{0,40}\s*\.\s*Text\s*[\),]/ nocase ascii wide
        $write_field = /\.\s*Write(Line)?\s*\(\s*[A-Za-z_]\w{0,40}\s*\.\s*Text\s*\)/ nocase ascii wide
    condition:
        sw_server_code and $path_from_field and $write_field
}

rule SW_Classic_ASP_File_Writer
{
    meta:
        id = "SW-YARA-WRITER-3"
        severity = "high"
        confidence = "medium"
        description = "Classic ASP page writing a file at a path and with content taken from request parameters (ASP uploader/writer webshell)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $object = /Scripting\s*\.\s*FileSystemObject|ADODB\s*\.\s*Stream/ nocase ascii wide
        $create_var = /\.\s*(CreateTextFile|SaveToFile|OpenTextFile)\s*[\( ]\s*[A-Za-z_]\w{0,30}\s*[,)\r\n]/ nocase ascii wide
        $create_req = /\.\s*(CreateTextFile|SaveToFile|OpenTextFile)\s*[\( ]\s*(server\s*\.\s*mappath\s*\(\s*)?request\s*[\(\.]/ nocase ascii wide
        // A request parameter written out; not `Request.BinaryRead`, which every upload class
        // of an ordinary application loads into its in-memory stream before parsing the form.
        $write_req = /\.\s*(write|writetext|writeline)\s*[\( ]\s*request\s*(\(|\.\s*(form|querystring|item|cookies)\b)/ nocase ascii wide
    condition:
        // (two request assignments near a variable path is how upload classes of ordinary
        // applications look too; the capability verdict follows the data instead)
        sw_server_code and $object and ($create_req or ($create_var and $write_req))
}

rule SW_Classic_ASP_File_Manager
{
    meta:
        id = "SW-YARA-FILEMANAGER-1"
        severity = "medium"
        confidence = "medium"
        description = "Classic ASP page driving FileSystemObject/ADODB.Stream file operations from request parameters (file-manager webshell)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $object = /Scripting\s*\.\s*FileSystemObject|ADODB\s*\.\s*Stream/ nocase ascii wide
        $op1 = /\.\s*DeleteFile\b/ nocase ascii wide
        $op2 = /\.\s*DeleteFolder\b/ nocase ascii wide
        $op3 = /\.\s*(MoveFile|MoveFolder|CopyFile|CopyFolder)\b/ nocase ascii wide
        $op4 = /\.\s*CreateFolder\b/ nocase ascii wide
        $op5 = /\.\s*(CreateTextFile|OpenTextFile|SaveToFile)\b/ nocase ascii wide
        $op6 = /\.\s*(SubFolders|Drives|GetFolder)\b/ nocase ascii wide
        $request_path = /request\s*(\.\s*querystring\s*)?\(\s*"(path|file|folder|f|dir|filename|foldername)"\s*\)/ nocase ascii wide
    condition:
        sw_server_code and $object and $request_path and 4 of ($op*)
}

rule SW_Classic_ASP_Execute_Decoded
{
    meta:
        id = "SW-YARA-ASP-OBFUSCATED-2"
        // low: template engines of ordinary classic-ASP applications (Dvbbs, CMS ubb code)
        // decode and Execute text the same way; the normalised page and the capability
        // verdict judge what is executed
        severity = "low"
        confidence = "low"
        description = "Classic ASP page that decodes a large embedded text character by character and executes the result"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $exec_var = /\bexecute(global)?\s*[\( ]\s*[A-Za-z_]\w{0,30}\s*\)?\s*(:|\r|\n)/ nocase ascii wide
        $mid = /\bmid\s*\(/ nocase ascii wide
        $instr = /\binstr\s*\(/ nocase ascii wide
        $chr = /\b(chr|chrw|asc|ascw)\s*\(/ nocase ascii wide
    condition:
        filesize > 16KB and sw_server_code and $exec_var and $mid and $instr and $chr
}
