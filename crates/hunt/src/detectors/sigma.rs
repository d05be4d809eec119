//! Community Sigma rules (`--sigma DIR`) as a detector.

use seawall_sigma::{SigmaEngine, SigmaHit, SigmaRecord, SigmaScratch};

use crate::detector::{Detector, FileDetector, Found, Subject};
use crate::finding::from_sigma;

pub(crate) struct SigmaDetector<'a> {
    pub(crate) engine: &'a SigmaEngine,
}

impl Detector for SigmaDetector<'_> {
    fn stage(&self) -> crate::stages::Stage {
        crate::stages::Stage::Sigma
    }

    fn for_file<'d>(&'d self, family: &str, path: &str) -> Option<Box<dyn FileDetector + 'd>> {
        self.engine.reads(family).then(|| {
            // Correlation matches name the file they were read in; the scratch hands them to the
            // engine's run state when it is dropped at the end of the file.
            let mut scratch = SigmaScratch::default();
            scratch.set_origin(path);
            Box::new(SigmaInFile {
                engine: self.engine,
                family: family.to_owned(),
                path: path.to_owned(),
                scratch,
                hits: Vec::new(),
            }) as Box<dyn FileDetector + 'd>
        })
    }
}

/// Sigma's working memory for one file.
struct SigmaInFile<'a> {
    engine: &'a SigmaEngine,
    family: String,
    path: String,
    scratch: SigmaScratch,
    hits: Vec<SigmaHit>,
}

impl FileDetector for SigmaInFile<'_> {
    fn wants(&mut self, raw: &[u8]) -> bool {
        // EVTX events are prefiltered on their field values by `scan_evtx`, not on their JSON.
        self.family == "evtx" || self.engine.prefilter(&self.family, [raw], &mut self.scratch)
    }

    fn check(&mut self, subject: Subject<'_>, found: &mut Found) {
        self.hits.clear();
        let record = match subject {
            Subject::Evtx(event) => {
                self.engine.scan_evtx(event, &mut self.scratch, &mut self.hits);
                event as &dyn seawall_sources::Record
            }
            Subject::Line(record) => {
                self.engine.evaluate(SigmaRecord::Line(record), &mut self.scratch, &mut self.hits);
                record
            }
            Subject::SignIn(_) => return,
        };
        for hit in &self.hits {
            found.push(from_sigma(self.engine, hit, record, &self.path), Some(record));
        }
    }

    fn finish(self: Box<Self>, _found: &mut Found) {}
}
