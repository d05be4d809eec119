/*
 * seawall built-in rules: full-featured webshells told by what they can do (file manager,
 * command runner, database client, registry browser, port scanner, tunnel, sniffer) rather
 * than by their names, and pages dressed up as something else. Written for seawall (Apache-2.0).
 */

rule SW_Multi_Capability_Page
{
    meta:
        id = "SW-YARA-CAPABILITY-1"
        // Low: names alone co-occur in installers and component reports that list ProgIDs to try;
        // the capability verdict (SW-WEBSHELL-CAPABILITIES) judges the same APIs by use.
        severity = "low"
        confidence = "medium"
        description = "One page that can browse drives, delete files, run commands, query databases, read the registry or open sockets: a full webshell (ASPXSpy class)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $exec = /ProcessStartInfo|Process\s*\.\s*Start\s*\(|cmd\.exe|WScript\s*\.\s*Shell|Shell\s*\.\s*Application|72C24DD5-D70A-438B-8A42-98424B88AFB8/ nocase ascii wide
        $drives = /GetLogicalDrives|DriveInfo\b|\.Drives\b|GetDrive\s*\(|DriveType/ nocase ascii wide
        $delete = /(File|Directory)\s*\.\s*(Delete|Move)\s*\(|\.DeleteFile\b|\.DeleteFolder\b/ nocase ascii wide
        $sql = /\b(SqlConnection|OleDbConnection|OdbcConnection|MySqlConnection)\b|ADODB\s*\.\s*Connection|\bexec(ute)?\s+(master\s*\.\s*(dbo)?\s*\.\s*)?xp_cmdshell/ nocase ascii wide
        $registry = /Registry\s*\.\s*(LocalMachine|CurrentUser|ClassesRoot|Users|CurrentConfig)|RegistryKey\b|\.RegRead\b/ nocase ascii wide
        $socket = /new\s+(System\s*\.\s*Net\s*\.\s*Sockets\s*\.\s*)?(Socket|TcpClient|TcpListener)\s*\(|SocketType\s*\.\s*(Raw|Stream)/ nocase ascii wide
        $upload = /\.SaveAs\s*\(|ADODB\s*\.\s*Stream|PostedFile\b/ nocase ascii wide
        $accounts = /WindowsIdentity\b|LogonUser\b|DirectoryEntry\s*\(|WinNT:\/\/|IIS:\/\/|net\s+user(\s+[^|\s]|["'&])|Win32_Process/ nocase ascii wide
        $timestomp = /\.(CreationTime|LastWriteTime|LastAccessTime)\s*=|SetCreationTime|SetLastWriteTime/ nocase ascii wide
        $attributes = /FileAttributes\s*\.\s*(Hidden|System)|\.Attributes\s*=/ nocase ascii wide
        $fso = /Scripting\s*\.\s*FileSystemObject|0D43FE01-F093-11CF-8940-00A0C9054228/ nocase ascii wide
    condition:
        filesize < 4MB and sw_server_code and sw_request_input and 4 of them
}

rule SW_Socket_Tunnel_Page
{
    meta:
        id = "SW-YARA-TUNNEL-1"
        severity = "high"
        confidence = "high"
        description = "Page relays TCP connections to a host and port named in the request (reGeorg/Neo-reGeorg/Tunna class tunnel)"
        reference = "https://github.com/sensepost/reGeorg"
    strings:
        $socket = /new\s+(System\s*\.\s*Net\s*\.\s*Sockets\s*\.\s*)?(Socket|TcpClient)\s*\(/ nocase ascii wide
        $connect = /\.\s*(Connect|BeginConnect)\s*\(/ ascii wide
        $target = /IPAddress\s*\.\s*Parse\s*\(|Dns\s*\.\s*(GetHostEntry|GetHostAddresses|Resolve)\s*\(|new\s+IPEndPoint\s*\(/ ascii wide
        $session = /Session\s*(\.\s*Add\s*\(|\[)\s*["'][^"']{0,20}["']/ ascii wide
        $relay = /\.\s*(Send|Receive)\s*\(|GetStream\s*\(/ ascii wide
    condition:
        sw_server_code and sw_request_input and $socket and $connect and $target and $relay and $session
}

rule SW_Raw_Socket_Sniffer
{
    meta:
        id = "SW-YARA-SNIFFER-1"
        severity = "high"
        confidence = "high"
        description = "Page opens a raw socket in promiscuous mode (web sniffer)"
        reference = "https://learn.microsoft.com/en-us/windows/win32/winsock/sio-rcvall"
    strings:
        $raw = /SocketType\s*\.\s*Raw/ ascii wide
        $ioctl = /IOControl\s*\(|SIO_RCVALL|IOControlCode\s*\.\s*ReceiveAll/ ascii wide
    condition:
        sw_server_code and $raw and $ioctl
}

rule SW_Script_Behind_Image_Header
{
    meta:
        id = "SW-YARA-DISGUISE-1"
        severity = "high"
        confidence = "high"
        description = "Server page that starts with an image header (GIF/PNG/JPEG/BMP magic) to pass upload filters"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $directive = /<\s*%\s*@\s*(Page|WebHandler|WebService)\b/ nocase ascii
        $script = /<script[^>]{0,160}runat\s*=\s*[^A-Za-z>]{0,3}server/ nocase ascii
        $asp = /<%\s*(eval|execute|response|if|set|dim|=)/ nocase ascii
    condition:
        (uint32be(0) == 0x47494638 or uint32be(0) == 0x89504E47 or uint16be(0) == 0xFFD8 or uint16be(0) == 0x424D)
        and ($directive in (0..1024) or $script in (0..4096) or $asp in (0..1024))
}

rule SW_Writable_Folder_Scanner
{
    meta:
        id = "SW-YARA-RECON-1"
        severity = "high"
        confidence = "medium"
        description = "Page walks the disk testing where it can write (privilege-escalation recon from a webshell)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $walk = /GetDirectories\s*\(|GetLogicalDrives|SubFolders\b/ nocase ascii wide
        $probe = /File\s*\.\s*Create\s*\([^;]{0,80}\)\s*\.\s*(Close|CanWrite)|CreateTextFile\s*\(/ nocase ascii wide
        $recurse = /\b(Scan\w*|Check\w*|Find\w*)\s*\(\s*(new\s+DirectoryInfo|item|dir|folder|sub)/ nocase ascii wide
    condition:
        sw_server_code and $walk and $probe and $recurse
}

rule SW_Registry_Browser_Page
{
    meta:
        id = "SW-YARA-REGISTRY-1"
        severity = "medium"
        confidence = "medium"
        description = "Page that browses the registry: every root hive, or subkeys under a path taken from the request"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $h1 = /Registry\s*\.\s*LocalMachine\b/ ascii wide
        $h2 = /Registry\s*\.\s*ClassesRoot\b/ ascii wide
        $h3 = /Registry\s*\.\s*Users\b/ ascii wide
        $h4 = /Registry\s*\.\s*CurrentConfig\b/ ascii wide
        $h5 = /Registry\s*\.\s*CurrentUser\b/ ascii wide
        $open = /OpenSubKey\s*\(/ ascii wide
        $enum = /GetSubKeyNames\s*\(|GetValueNames\s*\(/ ascii wide
    condition:
        sw_server_code and $enum and (4 of ($h*) or ($open and sw_request_input and any of ($h*)))
}

rule SW_Webshell_Family_Markers
{
    meta:
        id = "SW-YARA-FAMILY-1"
        severity = "high"
        confidence = "high"
        description = "Server page naming a public webshell family in its own text (ASPXSpy, AntSword/caidao customize server, antak, reGeorg)"
        reference = "https://github.com/tennc/webshell"
    strings:
        $f1 = "ASPXSpy" nocase ascii wide
        $f2 = /\bBin_(Button|List|Action|Request|Login)\w*/ ascii wide
        $f3 = "Georg says, 'All seems fine'" ascii wide
        $f4 = "Antak" ascii wide fullword
        $f6 = /\[WebMethod\][^{]{0,200}\b(Chopper|caidao|antsword)\s*\(/ nocase ascii wide
    condition:
        sw_server_code and any of them
}

rule SW_Precompiled_Shell_Stub
{
    meta:
        id = "SW-YARA-STUB-1"
        severity = "high"
        confidence = "medium"
        description = "Tiny server page whose only code creates an object from a custom assembly with a 16-hex-digit key (stub of a precompiled webshell)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $stub = /=\s*new\s+[A-Za-z_][\w]{0,40}(\.[A-Za-z_]\w{0,40}){1,4}\s*\(\s*"[0-9a-f]{16}"\s*\)/ ascii wide
    condition:
        filesize < 2KB and sw_server_code and $stub
}
