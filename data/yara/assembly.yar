/*
 * seawall built-in rules: pages that load .NET assemblies from request data (Behinder,
 * Godzilla, AntSword "ant" payloads, memory-shell loaders). Written for seawall (Apache-2.0).
 */

rule SW_Assembly_Load_Request
{
    meta:
        id = "SW-YARA-ASSEMBLY-LOAD-1"
        severity = "critical"
        confidence = "high"
        description = "Page loads a .NET assembly from decoded or decrypted request bytes (Behinder/Godzilla/AntSword class)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $load = /Assembly\s*\.\s*Load\s*\(/ nocase ascii wide
        // Godzilla hides the call behind reflection: typeof(Assembly).GetMethod("Load", ...)
        $load_reflect = /GetMethod\s*\(\s*["']Load["']/ nocase ascii wide
        $decode1 = /FromBase64String\s*\(/ nocase ascii wide
        $decode2 = /CreateDecryptor\s*\(/ nocase ascii wide
        $decode3 = /TransformFinalBlock\s*\(/ nocase ascii wide
        $decode4 = /BinaryRead\s*\(/ nocase ascii wide
        $decode5 = /GZipStream|DeflateStream/ ascii wide
    condition:
        sw_server_code and sw_request_input and ($load or $load_reflect) and any of ($decode*)
}

rule SW_Assembly_Load_Instance
{
    meta:
        id = "SW-YARA-ASSEMBLY-LOAD-2"
        severity = "high"
        confidence = "medium"
        description = "Page loads an assembly from bytes and instantiates a type from it with the page or context as argument"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $load = /Assembly\s*\.\s*Load\s*\(/ nocase ascii wide
        $load_reflect = /GetMethod\s*\(\s*["']Load["']/ nocase ascii wide
        $instance = /CreateInstance\s*\([^;]{0,120}\)\s*\.\s*Equals\s*\(|\.CreateInstance\s*\(\s*["'][A-Za-z]{1,3}["']/ nocase ascii wide
        $entry = /\.EntryPoint\s*\.\s*Invoke\s*\(/ nocase ascii wide
    condition:
        sw_server_code and ($load or $load_reflect) and ($instance or $entry)
}

rule SW_CodeDom_Compile_Request
{
    meta:
        id = "SW-YARA-CODEDOM-1"
        severity = "high"
        confidence = "high"
        description = "Page compiles source code it receives (CodeDom compiler fed with request data)"
        reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    strings:
        $compile = /CompileAssemblyFrom(Source|Dom)\s*\(/ nocase ascii wide
        $provider = /CSharpCodeProvider|VBCodeProvider|CodeDomProvider\s*\.\s*CreateProvider/ nocase ascii wide
    condition:
        sw_server_code and sw_request_input and $compile and $provider
}
