//! Packs the built-in YARA rules of `data/yara/*.yar` into one gzip blob that
//! the crate embeds: the rules stay out of the binary's plain strings (no
//! scanner flags seawall itself) and take a third of the space.
//!
//! Layout before compression, repeated per file in name order:
//! `u32 LE name length, name, u32 LE text length, text`. The gzip header
//! carries no time or name, so the blob is the same on every build.

use std::io::Write as _;
use std::path::PathBuf;

use flate2::Compression;
use flate2::GzBuilder;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let rules_dir = manifest.join("../../data/yara");
    println!("cargo:rerun-if-changed={}", rules_dir.display());

    let mut files: Vec<PathBuf> = match std::fs::read_dir(&rules_dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yar"))
            .collect(),
        Err(err) => panic!("cannot read {}: {err}", rules_dir.display()),
    };
    files.sort();

    let mut packed = Vec::new();
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        packed.extend_from_slice(&u32::try_from(name.len()).unwrap_or(u32::MAX).to_le_bytes());
        packed.extend_from_slice(name.as_bytes());
        packed.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
        packed.extend_from_slice(&text);
    }

    let mut encoder = GzBuilder::new().mtime(0).write(Vec::new(), Compression::best());
    encoder.write_all(&packed).unwrap_or_else(|err| panic!("gzip: {err}"));
    let blob = encoder.finish().unwrap_or_else(|err| panic!("gzip: {err}"));

    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("builtin-rules.bin.gz");
    std::fs::write(&out, blob).unwrap_or_else(|err| panic!("cannot write {}: {err}", out.display()));
}
