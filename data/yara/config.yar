/*
 * seawall built-in rules: IIS configuration that makes files run as script. A web.config
 * uploaded into a folder can map extensions no page has (.cer, .cdx, .asa, images, text,
 * .config itself) to the classic ASP engine or to ASP.NET's page handlers, so an uploaded
 * "image" runs, and can take back the protections IIS ships (the denied .asa extension, the
 * hidden web.config segment). Written for seawall (Apache-2.0).
 */

rule SW_Config_Script_Mapping
{
    meta:
        id = "SW-YARA-CONFIG-1"
        severity = "high"
        confidence = "high"
        description = "IIS configuration maps an extension no page has (.cer, .cdx, .asa, .config, images, text) to the ASP engine or ASP.NET page handling, or unhides web.config"
        reference = "https://learn.microsoft.com/en-us/iis/configuration/system.webserver/handlers/add"
    strings:
        $config = /<configuration\b/ nocase ascii wide
        // <add ... path="*.cer" ... scriptProcessor="...asp.dll"> in either order of attributes
        $map_path_first = /<add\b[^>]{0,400}\bpath\s*=\s*["']\*?\.(cer|cdx|asa|config|txt|jpe?g|png|gif|bmp|ico|css|js|html?|xml|json|pdf|log|dat|svg)["'][^>]{0,400}(asp\.dll|PageHandlerFactory|SimpleHandlerFactory|WebServiceHandlerFactory)/ nocase ascii wide
        $map_engine_first = /<add\b[^>]{0,400}(asp\.dll|PageHandlerFactory|SimpleHandlerFactory|WebServiceHandlerFactory)[^>]{0,400}\bpath\s*=\s*["']\*?\.(cer|cdx|asa|config|txt|jpe?g|png|gif|bmp|ico|css|js|html?|xml|json|pdf|log|dat|svg)["']/ nocase ascii wide
        // <buildProviders><add extension=".jpg" type="System.Web.Compilation.PageBuildProvider"/>
        $build = /<add\b[^>]{0,200}\bextension\s*=\s*["']\.(cer|cdx|asa|config|txt|jpe?g|png|gif|bmp|ico|css|js|html?|xml|json|pdf|log|dat|svg)["'][^>]{0,200}PageBuildProvider/ nocase ascii wide
        // <hiddenSegments><remove segment="web.config"/>: the file that configures the folder served
        $unhide = /<remove\s+segment\s*=\s*["']web\.config["']/ nocase ascii wide
        // The server's own applicationHost.config lists IIS's default mappings (*.cer and *.cdx
        // to asp.dll among them); a folder's web.config has none of them.
        $server_config = /<system\.applicationHost\b/ nocase ascii wide
    condition:
        $config and not $server_config and any of ($map_path_first, $map_engine_first, $build, $unhide)
}
