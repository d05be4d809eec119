/*
 * seawall built-in rules: pages that start processes or run shell commands from request
 * data. Written for seawall (Apache-2.0).
 */

rule SW_Exec_Process_From_Page
{
    meta:
        id = "SW-YARA-EXEC-1"
        severity = "high"
        confidence = "high"
        description = "Page code starts a command interpreter with input from the request or a form field"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $p1 = "ProcessStartInfo" nocase ascii wide
        $p2 = /Process\s*\.\s*Start\s*\(/ nocase ascii wide
        $p3 = /\.StartInfo\s*\.\s*(FileName|Arguments)\b/ nocase ascii wide
        $p4 = /new\s+(System\s*\.\s*Diagnostics\s*\.\s*)?Process\s*\(/ nocase ascii wide
        $c1 = /cmd\.exe|["']cmd["']/ nocase ascii wide
        $c2 = /["']\s*\/c\s/ nocase ascii wide
        $c3 = "powershell" nocase ascii wide
        $in1 = /\.\s*Text\b/ nocase ascii wide
        $in2 = /\bRequest\b/ nocase ascii wide
    condition:
        // A command interpreter: applications run their own tools (an encoder, a converter) with
        // output redirected too.
        sw_server_code and any of ($p*) and any of ($c*) and any of ($in*)
}

rule SW_Exec_Shell_Object
{
    meta:
        id = "SW-YARA-EXEC-2"
        severity = "high"
        confidence = "high"
        description = "Page runs commands through WScript.Shell or Shell.Application with request data"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $shell1 = /WScript\s*\.\s*Shell|Shell\s*\.\s*Application/ nocase ascii wide
        $shell2 = /72C24DD5-D70A-438B-8A42-98424B88AFB8|13709620-C279-11CE-A49E-444553540000/ nocase ascii wide
        $run = /\.\s*(exec|run|ShellExecute)\s*[\( ]/ nocase ascii wide
        $request = /\brequest\b/ nocase ascii wide
    condition:
        sw_server_code and ($shell1 or $shell2) and $run and $request
}

rule SW_Exec_SQL_Shell
{
    meta:
        id = "SW-YARA-EXEC-3"
        severity = "high"
        confidence = "medium"
        description = "Page that logs in to a database server the visitor names and runs what the visitor picks (SQL client webshell, xp_cmdshell)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $client = /\b(SqlConnection|OleDbConnection|OdbcConnection|MySqlConnection|NpgsqlConnection)\b/ ascii wide
        // the credentials come from the visitor: "Password=" + txtPassword.Text, Password={2} with Session/Request values
        $pwd_field = /(Password|Pwd)\s*=\s*["']?\s*\+\s*[A-Za-z_][\w\.\[\]"']{0,60}(\.\s*Text\b|Request\b|Session\b)/ nocase ascii wide
        $pwd_format = /(Password|Pwd)\s*=\s*\{\d\}/ nocase ascii wide
        $conn_input = /ConnectionString\s*=\s*([A-Za-z_]\w{0,40}\s*\.\s*Text|Request)\b/ nocase ascii wide
        $session_or_request = /\b(Session|Request)\s*\[\s*"/ ascii wide
        // and so does what runs
        $cmd_input = /new\s+(Sql|OleDb|Odbc|MySql|Npgsql)Command\s*\(\s*[A-Za-z_][\w\.]{0,60}(\.\s*Text\b|\.\s*Value\b|Request\b)|CommandText\s*=\s*[A-Za-z_][\w\.]{0,60}(\.\s*Text\b|Request\b)/ nocase ascii wide
        // run, not listed: security filters keep "xp_cmdshell|exec master|..." as words to block
        $xp = /\bexec(ute)?\s+(master\s*\.\s*(dbo)?\s*\.\s*)?xp_cmdshell/ nocase ascii wide
        $adodb = /ADODB\s*\.\s*Connection/ nocase ascii wide
        $adodb_exec = /\.\s*Execute\s*\(?\s*request\s*\(/ nocase ascii wide
    condition:
        sw_server_code and (
            ($client and ($pwd_field or ($pwd_format and $session_or_request) or $conn_input) and $cmd_input) or
            ($xp and sw_request_input) or
            ($adodb and $adodb_exec))
}

rule SW_Visitor_Credentials_DB_Client
{
    meta:
        id = "SW-YARA-EXEC-4"
        severity = "medium"
        confidence = "low"
        description = "Page that connects to a database with a host and password the visitor supplies and runs commands built at run time (database manager webshell; also how installers look)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $client = /\b(SqlConnection|OleDbConnection|OdbcConnection|MySqlConnection|NpgsqlConnection)\b/ ascii wide
        $pwd_format = /(Password|Pwd)\s*=\s*\{\d\}/ nocase ascii wide
        $pwd_field = /(Password|Pwd)\s*=\s*["']?\s*\+\s*[A-Za-z_][\w\.\[\]"']{0,60}(\.\s*(Text|Value)\b|Request\b|Session\b)/ nocase ascii wide
        $host_format = /(Host|Server|Data\s*Source)\s*=\s*\{\d\}/ nocase ascii wide
        $host_field = /(Host|Server|Data\s*Source)\s*=\s*["']?\s*\+\s*[A-Za-z_][\w\.\[\]"']{0,60}(\.\s*(Text|Value)\b|Request\b|Session\b)/ nocase ascii wide
        $visitor = /\b(Session|Request)\s*\[\s*"|\.\s*(Text|Value)\s*\.\s*Trim\s*\(/ ascii wide
        $dynamic_cmd = /new\s+(Sql|OleDb|Odbc|MySql|Npgsql)Command\s*\(\s*[A-Za-z_]\w{0,40}\s*,/ ascii wide
    condition:
        sw_server_code and $client and $visitor and ($pwd_format or $pwd_field) and ($host_format or $host_field) and $dynamic_cmd
}
