//! Web servers that are not Exchange, including ones built to look like it: a scanner must
//! not call them Exchange, and must not report a build for them.

use bytes::Bytes;

use crate::http::{ConnInfo, Request, Response, Site};
use crate::pages;
use crate::spec::Decoy;

/// The OWA clone claims 2016 CU9, the version of the logon page honeypots and phishing kits
/// commonly copy (joda32/owa-honeypot serves a saved 15.1.1466 page).
const CLONED_PATH_VERSION: &str = "15.1.1466";
const CLONE_SERVER: &str = "Apache/2.4.41 (Ubuntu)";

pub(crate) struct DecoySite {
    decoy: Decoy,
    clone_page: Bytes,
}

impl DecoySite {
    pub(crate) fn new(name: &str, decoy: Decoy) -> DecoySite {
        let clone_page = match decoy {
            Decoy::PhishingClone => pages::owa_logon(Some(CLONED_PATH_VERSION), false, name).into(),
            Decoy::IisDefault | Decoy::Nginx | Decoy::CatchAll200 => Bytes::new(),
        };
        DecoySite { decoy, clone_page }
    }
}

impl Site for DecoySite {
    fn respond(&self, request: &Request, _conn: &ConnInfo) -> Response {
        let root = matches!(request.path(), "/" | "");
        match self.decoy {
            Decoy::IisDefault => {
                let response = Response::new(if root { 200 } else { 404 })
                    .header("Server", "Microsoft-IIS/10.0")
                    .header("X-Powered-By", "ASP.NET");
                if root {
                    response.header("Accept-Ranges", "bytes").body("text/html", pages::IIS_START)
                } else {
                    response.body("text/html", pages::IIS_404)
                }
            }
            Decoy::Nginx => {
                let response = Response::new(if root { 200 } else { 404 }).header("Server", pages::NGINX_VERSION);
                if root {
                    response.body("text/html", pages::NGINX_WELCOME)
                } else {
                    response.body("text/html", pages::nginx_404())
                }
            }
            // Every path gets the page, with none of the headers a real front end adds.
            Decoy::PhishingClone => Response::new(200)
                .header("Server", CLONE_SERVER)
                .header("Vary", "Accept-Encoding")
                .body("text/html; charset=UTF-8", self.clone_page.clone()),
            Decoy::CatchAll200 => {
                Response::new(200).header("Server", "openresty").body("text/html; charset=utf-8", pages::CATCH_ALL)
            }
        }
    }
}
