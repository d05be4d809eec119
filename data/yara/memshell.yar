/*
 * seawall built-in rules: ASP.NET memory-shell injectors. A page, requested once, registers
 * a route, filter, virtual path provider, module or HTTP listener that keeps serving the
 * attacker after the page file is deleted. Written for seawall (Apache-2.0).
 */

private rule sw_page_payload
{
    meta:
        description = "What an injected component does for the attacker: run commands, load assemblies, read request data"
    strings:
        $exec = /ProcessStartInfo|Process\s*\.\s*Start|cmd\.exe|\.StartInfo\b/ nocase ascii wide
        $load = /Assembly\s*\.\s*Load\s*\(|GetMethod\s*\(\s*["']Load["']/ nocase ascii wide
        $input = /\.Request\s*(\.\s*(Form|QueryString|Params|Headers|Item|Cookies))?\s*[\[\(\.]/ ascii wide
    condition:
        any of them
}

rule SW_Memshell_VirtualPathProvider
{
    meta:
        id = "SW-YARA-MEMSHELL-VPP-1"
        severity = "critical"
        confidence = "high"
        description = "Page registers a VirtualPathProvider at run time (ASP.NET memory shell injector)"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.web.hosting.hostingenvironment.registervirtualpathprovider"
    strings:
        $register = /RegisterVirtualPathProvider(Internal)?/ ascii wide
        $provider = /:\s*(System\s*\.\s*Web\s*\.\s*Hosting\s*\.\s*)?VirtualPathProvider\b/ ascii wide
    condition:
        sw_server_code and $register and $provider and sw_page_payload
}

rule SW_Memshell_Route
{
    meta:
        id = "SW-YARA-MEMSHELL-ROUTE-1"
        severity = "critical"
        confidence = "high"
        description = "Page inserts its own route or route handler into the application's route table (ASP.NET memory shell injector)"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.web.routing.routetable.routes"
    strings:
        $class = /:\s*(System\s*\.\s*Web\s*\.\s*Routing\s*\.\s*)?(RouteBase|IRouteHandler)\b/ ascii wide
        $insert = /\bRoutes\s*\.\s*(Insert|Add)\s*\(|\broutes\s*\.\s*(Insert|Add)\s*\(/ ascii wide
        $page = /<\s*%\s*@\s*(Page|WebHandler|WebService)\b/ nocase ascii wide
    condition:
        $page and $class and $insert and sw_page_payload
}

rule SW_Memshell_Filter
{
    meta:
        id = "SW-YARA-MEMSHELL-FILTER-1"
        severity = "critical"
        confidence = "high"
        description = "Page adds an MVC global filter of its own (ASP.NET memory shell injector)"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.web.mvc.globalfilters"
    strings:
        $filters = /GlobalFilters\s*\.\s*Filters|GlobalFilterCollection/ ascii wide
        $add = /\.\s*Add\s*\(\s*new\s+\w+/ ascii wide
        $class = /:\s*(System\s*\.\s*Web\s*\.\s*Mvc\s*\.\s*)?(IAuthorizationFilter|IActionFilter|IResultFilter|IExceptionFilter|ActionFilterAttribute)\b/ ascii wide
        $page = /<\s*%\s*@\s*(Page|WebHandler|WebService)\b/ nocase ascii wide
    condition:
        $page and $filters and $add and $class and sw_page_payload
}

rule SW_Memshell_HttpListener
{
    meta:
        id = "SW-YARA-MEMSHELL-LISTENER-1"
        severity = "critical"
        confidence = "high"
        description = "Page starts an HttpListener of its own that runs commands or code (listener backdoor started from a page)"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/system.net.httplistener"
    strings:
        $listener = /new\s+(System\s*\.\s*Net\s*\.\s*)?HttpListener\s*\(/ ascii wide
        $prefix = /Prefixes\s*\.\s*Add\s*\(/ ascii wide
        $exec = /ProcessStartInfo|Process\s*\.\s*Start|cmd\.exe|\.StartInfo\b|Assembly\s*\.\s*Load\s*\(/ nocase ascii wide
    condition:
        sw_server_code and $listener and $prefix and $exec
}

rule SW_Memshell_Module
{
    meta:
        id = "SW-YARA-MEMSHELL-MODULE-1"
        severity = "critical"
        confidence = "high"
        description = "Page registers an HTTP module or handler at run time, directly or by reflection into ASP.NET internals"
        reference = "https://learn.microsoft.com/en-us/dotnet/api/microsoft.web.infrastructure.dynamicmodulehelper.dynamicmoduleutility.registermodule"
    strings:
        $register = /DynamicModuleUtility\s*\.\s*RegisterModule|HttpApplication\s*\.\s*RegisterModule|_moduleCollection|_handlerMapping|"_theRuntime"|PipelineModuleStepContainer/ ascii wide
        $page = /<\s*%\s*@\s*(Page|WebHandler|WebService)\b/ nocase ascii wide
    condition:
        $page and $register and sw_page_payload
}
