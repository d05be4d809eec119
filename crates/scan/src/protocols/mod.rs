//! The protocol speakers: HTTP(S) for Exchange, SMTP, IMAP and POP3 (with one STARTTLS
//! helper), and the rsync daemon. Each module documents the exact bytes it sends; all
//! connect through [`crate::net`] and speak TLS through [`crate::tls`].

mod conn;
pub mod http;
pub mod imap;
pub mod mail;
pub mod pop3;
pub mod rsync;
pub mod smtp;
mod starttls;
