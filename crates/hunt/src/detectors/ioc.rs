//! IOC addresses and user agents in web logs as a detector: one finding per
//! indicator and file, with the number of lines that carried it.

use crate::detector::{Detector, FileDetector, Found, Subject};
use crate::ioc_match::{IocHits, LogIocs};

pub(crate) struct IocDetector<'a> {
    pub(crate) iocs: &'a LogIocs,
}

impl Detector for IocDetector<'_> {
    fn stage(&self) -> crate::stages::Stage {
        crate::stages::Stage::Ioc
    }

    fn for_file<'d>(&'d self, family: &str, path: &str) -> Option<Box<dyn FileDetector + 'd>> {
        // Indicators are addresses and user agents: text logs carry them, event logs rarely do.
        (family != "evtx" && family != "entra").then(|| {
            Box::new(IocInFile { iocs: self.iocs, path: path.to_owned(), hits: IocHits::default() })
                as Box<dyn FileDetector + 'd>
        })
    }

    fn gate_literals(&self) -> Vec<String> {
        self.iocs.literals().to_vec()
    }
}

struct IocInFile<'a> {
    iocs: &'a LogIocs,
    path: String,
    hits: IocHits,
}

impl FileDetector for IocInFile<'_> {
    fn gated(&self) -> bool {
        true
    }

    fn wants(&mut self, raw: &[u8]) -> bool {
        self.iocs.may_match(raw)
    }

    fn check(&mut self, subject: Subject<'_>, _found: &mut Found) {
        let Some(record) = subject.record() else { return };
        for (ioc, seen) in self.iocs.matches(record) {
            self.hits.record(ioc, &seen, record, &self.path);
        }
    }

    fn finish(self: Box<Self>, found: &mut Found) {
        for finding in self.hits.into_findings() {
            found.push(finding, None);
        }
    }
}
