//! The detectors the record loop feeds: seawall's log rules, Sigma rules,
//! IOC addresses and user agents, and the authentication detector (`crate::spray`); and the
//! catalog of the hunt's code detectors' metadata ([`catalog`]).

mod attribution;
pub mod catalog;
mod ioc;
mod rules;
mod sigma;

pub(crate) use attribution::Attribution;
pub(crate) use ioc::IocDetector;
pub(crate) use rules::RulesDetector;
pub(crate) use sigma::SigmaDetector;
